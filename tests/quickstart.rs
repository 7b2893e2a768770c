//! The quickstart example, run as a user runs it: it prints a correct nested tree and the
//! store holds every call; with `WEAVE_DISABLED=true` it records nothing.

mod support;

use std::path::PathBuf;
use std::process::Command;
use weave::store::{CallQuery, LocalStore};

fn quickstart_binary() -> PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>/examples/quickstart
    let exe = std::env::current_exe().expect("test binary");
    let profile_dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
    profile_dir.join("examples").join(format!("quickstart{}", std::env::consts::EXE_SUFFIX))
}

fn run_quickstart(envs: &[(&str, &str)]) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(quickstart_binary());
    command.current_dir(dir.path());
    // Never reach a real W&B account from tests: no key from the environment or a netrc.
    support::clean_weave_environment(&mut command);
    command.envs(envs.iter().copied());
    let output = command.output().expect("cargo builds examples before running tests");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    (String::from_utf8_lossy(&output.stdout).into_owned(), dir)
}

#[test]
fn quickstart_prints_the_tree_and_stores_every_call() {
    let (stdout, dir) = run_quickstart(&[("WEAVE_PROJECT", "demo/quickstart")]);
    let tree: Vec<&str> = stdout.lines().filter(|l| l.trim_start().starts_with(['✓', '✗'])).collect();
    assert_eq!(tree.len(), 8, "{stdout}");
    assert!(tree[0].starts_with("✓ answer"), "{stdout}");
    assert!(tree.iter().any(|l| l.starts_with("  ✗ web_search") && l.contains("offline")), "{stdout}");
    assert!(tree.iter().any(|l| l.starts_with("    ✓ chat_completion")), "{stdout}");
    assert!(stdout.contains("stored in .weave/weave.db"), "{stdout}");

    let store = LocalStore::open(dir.path().join(".weave/weave.db")).unwrap();
    let calls = store.calls(&CallQuery::default()).unwrap();
    assert_eq!(calls.len(), 8);
    assert!(calls.iter().all(|c| c.project_id == "demo/quickstart"));
    let root = calls.iter().find(|c| c.op_base_name == "answer").unwrap();
    assert_eq!(root.summary["status_counts"], serde_json::json!({"success": 7, "error": 1}));
    assert_eq!(root.summary["usage"]["gpt-4o-mini"]["requests"], 2);
    assert_eq!(root.summary["usage"]["gpt-4o"]["requests"], 1);
    assert_eq!(root.summary["weave"]["status"], "descendant_error");
    for call in &calls {
        assert_eq!(call.trace_id, root.trace_id);
        assert!(call.ended_at.is_some());
    }
    assert_eq!(store.ops(None).unwrap().len(), 5);
}

#[test]
fn quickstart_with_weave_disabled_records_nothing() {
    let (stdout, dir) = run_quickstart(&[("WEAVE_DISABLED", "true")]);
    assert!(stdout.contains("answer:"), "{stdout}");
    assert!(!dir.path().join(".weave").exists());
}
