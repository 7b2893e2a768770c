//! A progress line on stderr while an evaluation runs: rows done / total, errors,
//! elapsed time. Redrawn at most ten times a second; off when stderr is not a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const REDRAW_EVERY: Duration = Duration::from_millis(100);

pub(crate) struct Progress {
    label: String,
    total: usize,
    done: usize,
    errors: usize,
    started: Instant,
    last_draw: Option<Instant>,
    enabled: bool,
}

impl Progress {
    /// A progress line for `total` rows; `show` forces it on or off (default: on when
    /// stderr is a terminal).
    pub(crate) fn new(label: &str, total: usize, show: Option<bool>) -> Progress {
        let enabled = show.unwrap_or_else(|| std::io::stderr().is_terminal()) && total > 0;
        Progress {
            label: label.to_string(),
            total,
            done: 0,
            errors: 0,
            started: Instant::now(),
            last_draw: None,
            enabled,
        }
    }

    /// One more row done (with an error when `error`).
    pub(crate) fn row_done(&mut self, error: bool) {
        self.done += 1;
        self.errors += usize::from(error);
        let due = self.last_draw.is_none_or(|t| t.elapsed() >= REDRAW_EVERY);
        if self.enabled && (due || self.done == self.total) {
            self.draw();
        }
    }

    /// Ends the line.
    pub(crate) fn finish(&mut self) {
        if self.enabled {
            self.draw();
            let _ = writeln!(std::io::stderr());
            self.enabled = false;
        }
    }

    fn draw(&mut self) {
        self.last_draw = Some(Instant::now());
        let _ = write!(std::io::stderr(), "\r\x1b[2K{}", self.line());
        let _ = std::io::stderr().flush();
    }

    pub(crate) fn line(&self) -> String {
        const WIDTH: usize = 24;
        let filled = (self.done * WIDTH).checked_div(self.total).unwrap_or(WIDTH).min(WIDTH);
        let errors = match self.errors {
            0 => String::new(),
            1 => ", 1 error".to_string(),
            n => format!(", {n} errors"),
        };
        format!(
            "{} [{}{}] {}/{} rows{} ({:.1}s)",
            self.label,
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            self.done,
            self.total,
            errors,
            self.started.elapsed().as_secs_f64()
        )
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

    #[test]
    fn the_line_counts_rows_and_errors() {
        let mut progress = Progress::new("eval", 4, Some(false));
        progress.row_done(false);
        progress.row_done(true);
        let line = progress.line();
        assert!(line.starts_with("eval [############------------] 2/4 rows, 1 error ("), "{line}");
    }
}
