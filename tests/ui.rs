//! Compile-time behaviour of `#[op]`: the forms it accepts (`tests/ui/pass`, each also
//! run) and the errors a user sees (`tests/ui/fail`, with the expected `.stderr`).
//! Diagnostics drift between rustc versions: regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --test ui` after a toolchain update, and read the diff.

#[test]
fn ui() {
    // trybuild builds its own copy of the crate and all its dev-dependencies (under
    // `target/tests/trybuild`), which takes no profile from this workspace. These programs
    // need no debug information: without it, that copy takes a fraction of the disk.
    // (This test binary has this one test, so no other thread reads the environment.)
    std::env::set_var("CARGO_PROFILE_DEV_DEBUG", "false");
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
