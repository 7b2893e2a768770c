//! Compile-time behaviour of `#[op]`: the forms it accepts (`tests/ui/pass`, each also
//! run) and the errors a user sees (`tests/ui/fail`, with the expected `.stderr`).
//! Diagnostics drift between rustc versions: regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --test ui` after a toolchain update, and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
