//! The SDK's warnings on standard error, written without std's stderr lock.
//!
//! `eprintln!` takes a process-wide lock. A forked child inherits that lock as it was at
//! the fork: held, if another thread of the parent was printing, and then never released,
//! so a child that warns (a flush that timed out, dropped calls) would wait forever. These
//! warnings go to their own handle on standard error instead (`/dev/stderr`, opened when a
//! client is installed), one `write` per line; where it cannot be opened they fall back to
//! `eprint!`.

use std::fs::File;
use std::io::Write;
use std::sync::OnceLock;

static STDERR: OnceLock<Option<File>> = OnceLock::new();

/// Opens the handle now (a client is being installed), so that no fork finds it half
/// opened.
pub(crate) fn prepare() {
    handle();
}

fn handle() -> Option<&'static File> {
    STDERR.get_or_init(|| std::fs::OpenOptions::new().append(true).open("/dev/stderr").ok()).as_ref()
}

/// Writes one warning line (use [`crate::warn!`]).
#[doc(hidden)]
pub fn write_line(args: std::fmt::Arguments<'_>) {
    let line = format!("{args}\n");
    match handle() {
        Some(mut file) => {
            let _ = file.write_all(line.as_bytes());
        }
        None => eprint!("{line}"),
    }
}

/// `eprintln!` for the SDK's warnings, without std's stderr lock (see the module).
#[macro_export]
#[doc(hidden)]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::diagnostics::write_line(format_args!($($arg)*))
    };
}
