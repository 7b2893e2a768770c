//! A progress bar on stderr while an evaluation runs (an [`indicatif`] bar): the run's
//! display name, rows done / total, errors, elapsed time and ETA. Drawn when stderr is a
//! terminal (or when forced on with `EvaluationBuilder::progress(true)`), hidden otherwise:
//! a hidden bar writes nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// How often the bar is redrawn at most, and ticks (so the elapsed time moves while a
/// slow row runs): ten times a second.
const REFRESH_HZ: u8 = 10;
const TICK_EVERY: Duration = Duration::from_millis(100);

/// The bar's layout: `label [########----------------] 2/4 rows, 1 error (3s, ETA 3s)`.
const TEMPLATE: &str = "{prefix} [{bar:24}] {pos}/{len} rows{msg} ({elapsed}, ETA {eta})";

pub(crate) struct Progress {
    bar: ProgressBar,
    errors: usize,
    /// Forced on with stderr not a terminal: no terminal wraps the line after the last
    /// draw, so `finish` ends it.
    newline_at_finish: bool,
}

impl Progress {
    /// A progress bar for `total` rows; `show` forces it on or off (default: on when
    /// stderr is a terminal that can draw it). No rows: no bar.
    pub(crate) fn new(label: &str, total: usize, show: Option<bool>) -> Progress {
        let forced_off_a_terminal = show == Some(true) && total > 0 && !std::io::stderr().is_terminal();
        let target = match show {
            _ if total == 0 => ProgressDrawTarget::hidden(),
            Some(false) => ProgressDrawTarget::hidden(),
            // Forced on: drawn to stderr even when it is not a terminal (indicatif's
            // `stderr()` target hides itself then).
            Some(true) => ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::buffered_stderr()), REFRESH_HZ),
            None => ProgressDrawTarget::stderr_with_hz(REFRESH_HZ),
        };
        let mut progress = Progress::with_target(label, total, target);
        progress.newline_at_finish = forced_off_a_terminal;
        progress
    }

    fn with_target(label: &str, total: usize, target: ProgressDrawTarget) -> Progress {
        let style = ProgressStyle::with_template(TEMPLATE)
            .map(|style| style.progress_chars("#-"))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = ProgressBar::with_draw_target(Some(total as u64), target)
            .with_style(style)
            .with_prefix(label.to_string())
            // Ended early (an error, a panic, a dropped future): the bar stays where it was,
            // not shown as complete.
            .with_finish(ProgressFinish::Abandon);
        if !bar.is_hidden() {
            bar.enable_steady_tick(TICK_EVERY);
        }
        Progress { bar, errors: 0, newline_at_finish: false }
    }

    /// One more row done (with an error when `error`).
    pub(crate) fn row_done(&mut self, error: bool) {
        if error {
            self.errors += 1;
            self.bar.set_message(match self.errors {
                1 => ", 1 error".to_string(),
                n => format!(", {n} errors"),
            });
        }
        self.bar.inc(1);
    }

    /// Ends the bar: drawn one last time as it stands, and left on its line.
    pub(crate) fn finish(&mut self) {
        if !self.bar.is_finished() {
            self.bar.abandon();
            if self.newline_at_finish {
                let _ = writeln!(std::io::stderr());
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;
    use std::io;
    use std::sync::{Arc, Mutex};

    /// A terminal that keeps what is written to it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl Screen {
        fn text(&self) -> String {
            self.0.lock().map(|s| s.clone()).unwrap_or_default()
        }

        fn write(&self, s: &str) -> io::Result<()> {
            self.0.lock().map_err(|_| io::Error::other("poisoned"))?.push_str(s);
            Ok(())
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.write(s)?;
            self.write("\n")
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.write(s)
        }
        fn clear_line(&self) -> io::Result<()> {
            self.write("\r")
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_bar_counts_rows_and_errors() {
        let screen = Screen::default();
        let mut progress = Progress::with_target("eval", 4, ProgressDrawTarget::term_like(Box::new(screen.clone())));
        progress.row_done(false);
        progress.row_done(true);
        assert_eq!((progress.bar.position(), progress.bar.length()), (2, Some(4)));
        assert_eq!(progress.errors, 1);
        progress.row_done(true);
        assert_eq!(progress.bar.message(), ", 2 errors");
        progress.finish();
        assert!(progress.bar.is_finished());
        // Ended early: three rows of four, not shown as complete.
        assert_eq!(progress.bar.position(), 3);
        let text = screen.text();
        let last = text.rsplit('\r').find(|line| !line.trim().is_empty()).unwrap_or_default();
        assert!(last.starts_with("eval [##################------] 3/4 rows, 2 errors ("), "{text:?}");
        assert!(last.contains(", ETA "), "{text:?}");
    }

    #[test]
    fn hidden_when_asked_or_when_there_are_no_rows() {
        let mut progress = Progress::new("eval", 2, Some(false));
        assert!(progress.bar.is_hidden());
        progress.row_done(true);
        assert_eq!(progress.bar.position(), 1);
        drop(progress);
        assert!(Progress::new("eval", 0, Some(true)).bar.is_hidden());
    }

    /// What a child process (this test binary, running one test) writes to stderr, which
    /// is a pipe there: not a terminal.
    fn child_stderr(show: &str) -> String {
        let Ok(exe) = std::env::current_exe() else { panic!("no test binary") };
        let output = std::process::Command::new(exe)
            .args(["--exact", "progress::tests::child_draws_a_bar", "--nocapture", "--test-threads=1"])
            .env("WEAVE_TEST_PROGRESS_CHILD", show)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the test binary runs");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// In a child of `nothing_is_printed_when_hidden_and_a_forced_bar_is`: a bar of three
    /// rows, one with an error, shown as the parent asks.
    #[test]
    fn child_draws_a_bar() {
        let show = match std::env::var("WEAVE_TEST_PROGRESS_CHILD").as_deref() {
            Ok("default") => None,
            Ok("on") => Some(true),
            Ok("off") => Some(false),
            _ => return,
        };
        let mut progress = Progress::new("child run", 3, show);
        for error in [false, true, false] {
            progress.row_done(error);
        }
        progress.finish();
    }

    #[test]
    fn nothing_is_printed_when_hidden_and_a_forced_bar_is() {
        assert_eq!(child_stderr("default"), "");
        assert_eq!(child_stderr("off"), "");
        let forced = child_stderr("on");
        assert!(forced.contains("child run [########################] 3/3 rows, 1 error ("), "{forced:?}");
        assert!(forced.ends_with('\n'), "{forced:?}");
    }
}
