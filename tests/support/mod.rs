//! Helpers shared by the integration tests that run a scenario in a child process (the
//! environment and `std::process::exit` are process-wide): the test binary runs itself,
//! filtered to one entry test, with `WEAVE_TEST_SCENARIO` set.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The variable that tells the child which scenario to run.
pub const SCENARIO_VAR: &str = "WEAVE_TEST_SCENARIO";

/// The scenario this process should run, when it is a child.
pub fn scenario() -> Option<String> {
    std::env::var(SCENARIO_VAR).ok()
}

/// Runs `entry_test` of this test binary in a child process in `dir`, with `scenario`, a
/// clean Weave environment (no key, no server, no netrc: tests never reach a real account)
/// and `envs`. Returns its output, whatever its exit status.
pub fn run_scenario(entry_test: &str, scenario: &str, dir: &Path, envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["--exact", entry_test, "--nocapture", "--test-threads=1"])
        .current_dir(dir)
        .env(SCENARIO_VAR, scenario);
    clean_weave_environment(&mut command);
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("the child runs")
}

/// Removes the Weave settings of this environment from `command`'s, and any way to find a
/// real API key (no key variable, no netrc).
pub fn clean_weave_environment(command: &mut Command) {
    command.env("NETRC", "/dev/null");
    for var in [
        "WEAVE_DISABLED",
        "WANDB_API_KEY",
        "WANDB_BASE_URL",
        "WF_TRACE_SERVER_URL",
        "WEAVE_PROJECT",
        "WEAVE_CAPTURE_CODE",
        "WANDB_RUN_ID",
        "WEAVE_JSONL_PATH",
        "WEAVE_LOCAL_STORE_PATH",
    ] {
        command.env_remove(var);
    }
}

/// Panics with the child's output unless it exited with `code`.
pub fn assert_exit_code(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: unexpected exit status\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
