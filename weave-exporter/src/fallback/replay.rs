//! Reading the fallback file back into a sink: [`replay`].

use super::entry::FallbackEntry;
use crate::sink::{Sink, SinkError};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// What [`replay`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Non-empty lines read.
    pub lines: u64,
    /// Items the sink accepted.
    pub replayed: u64,
    /// Lines that are not fallback entries (garbage, or a last line cut short by a
    /// crash): skipped.
    pub skipped: u64,
    /// Items the sink refused (after retries for retryable errors).
    pub failed: u64,
    /// The last sink error, if any.
    pub last_error: Option<SinkError>,
}

/// Items handed to the sink at once by [`replay`].
const REPLAY_BATCH: usize = 1000;
/// Attempts of one replay batch on retryable errors.
const REPLAY_ATTEMPTS: u32 = 3;

/// Reads the fallback file at `path` and writes its items to `sink` (through
/// [`Sink::replay_batch`]), in batches, in file order. Lines that do not parse are
/// skipped and counted; a missing file replays nothing. The file is left in place:
/// remove it once the report shows what you expect.
pub fn replay<S: Sink + ?Sized>(path: impl AsRef<Path>, sink: &mut S) -> io::Result<ReplayReport> {
    let file = match File::open(path.as_ref()) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ReplayReport::default()),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut report = ReplayReport::default();
    let mut batch = Vec::with_capacity(REPLAY_BATCH);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        report.lines += 1;
        match serde_json::from_slice::<FallbackEntry>(&line) {
            Ok(entry) => batch.push(entry),
            Err(_) => report.skipped += 1,
        }
        if batch.len() >= REPLAY_BATCH {
            replay_one_batch(sink, &mut batch, &mut report);
        }
    }
    if !batch.is_empty() {
        replay_one_batch(sink, &mut batch, &mut report);
    }
    if let Err(e) = sink.flush() {
        report.last_error = Some(e);
    }
    Ok(report)
}

fn replay_one_batch<S: Sink + ?Sized>(sink: &mut S, batch: &mut Vec<FallbackEntry>, report: &mut ReplayReport) {
    let mut attempt = 1;
    loop {
        match sink.replay_batch(batch) {
            Ok(()) => {
                let rejected = sink.take_rejected();
                report.replayed += (batch.len() - rejected.len().min(batch.len())) as u64;
                report.failed += rejected.len() as u64;
                if let Some((_, error)) = rejected.into_iter().last() {
                    report.last_error = Some(error);
                }
                break;
            }
            Err(e) if e.retryable && attempt < REPLAY_ATTEMPTS => {
                std::thread::sleep(std::time::Duration::from_millis(100 << attempt));
                attempt += 1;
            }
            Err(e) => {
                report.failed += batch.len() as u64;
                report.last_error = Some(e);
                break;
            }
        }
    }
    batch.clear();
}
