//! Leaving the process: with the guard, `weave::exit`, or the `finish_at_exit` handler,
//! every call recorded before the exit is in the store; `std::process::exit` alone skips
//! the guard (what is lost then is documented on `weave::exit`).

mod support;

use std::path::Path;
use weave::store::{CallQuery, LocalStore};

const CALLS: u64 = 5_000;

#[weave::op]
fn step(i: u64) -> u64 {
    i * 2
}

/// Exits the process from inside an op: the call is still open.
#[weave::op]
fn exits_inside(code: i32) {
    std::process::exit(code);
}

fn make_calls() {
    for i in 0..CALLS {
        assert_eq!(step(i), i * 2);
    }
}

fn init(finish_at_exit: bool) -> weave::Weave {
    // A long batching delay: without a flush nothing would be written before the exit.
    let exporter =
        weave::export::ExporterConfig { max_batch_delay: std::time::Duration::from_secs(60), ..Default::default() };
    let builder = weave::builder().project("exit-tests").exporter_config(exporter);
    let builder = if finish_at_exit { builder.finish_at_exit() } else { builder };
    builder.init().expect("init")
}

#[test]
fn exit_scenario_entry() {
    match support::scenario().as_deref() {
        Some("guard") => {
            let _weave = init(false);
            make_calls();
        }
        Some("weave_exit") => {
            let _weave = init(false);
            make_calls();
            weave::exit(3);
        }
        Some("finish_at_exit") => {
            let _weave = init(true);
            make_calls();
            exits_inside(4);
        }
        Some("process_exit") => {
            let _weave = init(false);
            make_calls();
            std::process::exit(5);
        }
        #[cfg(unix)]
        Some("fork") => fork_while_threads_make_calls(),
        #[cfg(unix)]
        Some("fork_finish") => forked_child_finishes(),
        _ => {}
    }
}

/// Forks 20 times while two threads make calls as fast as they can (so that, at some fork,
/// one of them holds a lock of the exporter or of its call stack: a lock that no thread of
/// the child will ever release). Each child flushes and ends; the parent waits at most 20 s
/// for it. Exits 0 when every child ended in time, else 1.
#[cfg(unix)]
fn fork_while_threads_make_calls() {
    let weave = weave::builder().project("fork-tests").init().expect("init");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    step(i);
                    i += 1;
                }
            })
        })
        .collect();
    let mut hung = 0;
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        // SAFETY (test only): the child calls weave and then `_exit`, never returning
        // into the test harness.
        #[allow(unsafe_code)]
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let _ = weave::flush();
            step(1);
            // SAFETY: ends the child without running the parent's exit handlers.
            #[allow(unsafe_code)]
            unsafe {
                libc::_exit(0)
            };
        }
        if !child_ended_within(pid, std::time::Duration::from_secs(20)) {
            hung += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    drop(weave);
    eprintln!("forked children that did not end within 20 s: {hung} of 20");
    std::process::exit(if hung == 0 { 0 } else { 1 });
}

/// Calls overflow a queue of one item, so the fallback file's thread starts; then a
/// forked child makes a call and finishes weave: its shutdown must not wait for the
/// exporter's worker or that thread, which stayed in the parent. Exits 0 when the child
/// ended within 20 s, else 1.
#[cfg(unix)]
fn forked_child_finishes() {
    let weave = weave::builder().project("fork-tests").init().expect("init");
    for i in 0..1_000 {
        step(i);
    }
    let _ = weave::flush();
    // SAFETY (test only): the child calls weave and then `_exit`, never returning into the
    // test harness.
    #[allow(unsafe_code)]
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        step(1);
        weave.finish();
        // SAFETY: ends the child without running the parent's exit handlers.
        #[allow(unsafe_code)]
        unsafe {
            libc::_exit(0)
        };
    }
    let ended = child_ended_within(pid, std::time::Duration::from_secs(20));
    drop(weave);
    eprintln!("the forked child ended within 20 s: {ended}");
    std::process::exit(if ended { 0 } else { 1 });
}

/// Waits at most `limit` for the child `pid` to end, and kills it if it has not: whether
/// it ended.
#[cfg(unix)]
fn child_ended_within(pid: libc::pid_t, limit: std::time::Duration) -> bool {
    let until = std::time::Instant::now() + limit;
    let mut status = 0;
    loop {
        // SAFETY: waits for the child just forked, without blocking.
        #[allow(unsafe_code)]
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            return true;
        }
        if std::time::Instant::now() > until {
            // SAFETY: kills the child just forked.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGKILL)
            };
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn run(scenario: &str, code: i32) -> (u64, tempfile::TempDir) {
    let dir = run_in_temp_dir(scenario, code, &[]);
    (stored_steps(&dir.path().join("weave.db")), dir)
}

/// Runs `scenario` in a child process, in a new temporary directory with its store (and
/// `extra` settings), and checks its exit code.
fn run_in_temp_dir(scenario: &str, code: i32, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let store_var = dir.path().join("weave.db").to_string_lossy().into_owned();
    let mut envs = vec![("WEAVE_LOCAL_STORE_PATH", store_var.as_str()), ("WEAVE_PRINT_CALL_LINK", "false")];
    envs.extend_from_slice(extra);
    let output = support::run_scenario("exit_scenario_entry", scenario, dir.path(), &envs);
    support::assert_exit_code(&output, code, scenario);
    dir
}

fn stored_steps(store: &Path) -> u64 {
    let store = LocalStore::open(store).expect("the store exists");
    // Every call the process wrote, indexed (a query alone indexes a bounded amount).
    store.index_calls().expect("index the call log");
    let query = CallQuery { op_name: Some("step".into()), limit: None, ..Default::default() };
    store.calls(&query).expect("query").len() as u64
}

#[test]
fn with_the_guard_every_call_is_written() {
    assert_eq!(run("guard", 0).0, CALLS);
}

#[test]
fn weave_exit_flushes_then_exits_with_the_code() {
    assert_eq!(run("weave_exit", 3).0, CALLS);
}

#[test]
fn finish_at_exit_flushes_on_std_process_exit_and_writes_the_open_call_as_unfinished() {
    let (steps, dir) = run("finish_at_exit", 4);
    assert_eq!(steps, CALLS);
    let store = LocalStore::open(dir.path().join("weave.db")).expect("the store");
    store.index_calls().expect("index the call log");
    let query = CallQuery { op_name: Some("exits_inside".into()), ..Default::default() };
    let open = store.calls(&query).expect("query");
    assert_eq!(open.len(), 1, "the op that called exit is recorded");
    assert!(open[0].ended_at.is_none(), "as unfinished");
}

#[test]
fn std_process_exit_alone_skips_the_flush() {
    // With a 60 s batching delay and no flush, the calls are still queued when the
    // process ends: this is what `weave::exit` and `finish_at_exit` are for.
    let (stored, _dir) = run("process_exit", 5);
    assert!(stored < CALLS, "all {CALLS} calls were written without a flush");
}

#[cfg(unix)]
#[test]
fn a_forked_child_flushes_and_ends_within_its_flush_timeout() {
    run_in_temp_dir("fork", 0, &[("WEAVE_FLUSH_TIMEOUT", "1")]);
}

#[cfg(unix)]
#[test]
fn a_forked_child_finishes_without_waiting_for_the_parents_threads() {
    run_in_temp_dir("fork_finish", 0, &[("WEAVE_FLUSH_TIMEOUT", "1"), ("WEAVE_MAX_CALLS_QUEUE_SIZE", "1")]);
}
