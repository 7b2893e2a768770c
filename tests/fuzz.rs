//! Fuzzing, bounded in time: runs `fuzz/run.sh`, which builds the cargo fuzz targets for
//! what weave-rs reads from outside (environment values, server responses, the fallback
//! file on replay) and runs each for `FUZZ_SECONDS` (20 by default here). A crash fails
//! the test; its input is left in `fuzz/artifacts/`. The first run installs cargo-fuzz
//! into `target/tools` (about half a minute) and builds the targets (about two minutes).

#[cfg(target_os = "linux")]
#[test]
fn the_fuzz_targets_find_no_crash() {
    let root = env!("CARGO_MANIFEST_DIR");
    let seconds = std::env::var("FUZZ_SECONDS").unwrap_or_else(|_| "20".to_string());
    let output = std::process::Command::new("bash")
        .arg(format!("{root}/fuzz/run.sh"))
        .env("FUZZ_SECONDS", &seconds)
        .output()
        .expect("bash runs fuzz/run.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "fuzzing failed:\n{stdout}\n{stderr}");
    assert_eq!(stdout.matches(", exit status 0").count(), 3, "all three targets ran:\n{stdout}");
    println!("{stdout}");
}
