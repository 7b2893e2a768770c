//! Replaying the fallback file: items that could not be delivered (queue full, server
//! unreachable until shutdown, refused) are kept in `./.weave_client_dropped_items_log.jsonl`;
//! [`replay_fallback`] sends them where `weave::init` would send calls now (the same choice:
//! `WEAVE_JSONL_PATH`, an explicit `WEAVE_LOCAL_STORE_PATH`, the trace server when an API
//! key is found, else the local store). Run it from a program, or with
//! `cargo run --example replay_fallback -- [PATH]`.

use crate::destination;
use std::path::Path;
use weave_core::settings::Settings;
use weave_exporter::fallback::{replay, FallbackEntry, ReplayReport};
use weave_exporter::Sink;

pub use weave_exporter::DEFAULT_FALLBACK_PATH;

/// Why a replay could not run.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplayError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The destination could not be opened.
    Sink(String),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Io(e) => write!(f, "could not read the fallback file: {e}"),
            ReplayError::Sink(e) => write!(f, "could not open the destination: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Sends the items of the fallback file at `path` where `weave::init` would send calls,
/// given the environment: JSON lines to `WEAVE_JSONL_PATH`; the local store named by
/// `WEAVE_LOCAL_STORE_PATH`; the trace server when an API key is found; else the local
/// store `.weave/weave.db` (JSON lines in `.weave/calls.jsonl` without the `local-store`
/// feature). The file is left in place:
/// remove it once the report shows every item replayed. A missing file replays nothing.
///
/// Runs on a thread of its own, so it can be called from async code too.
pub fn replay_fallback(path: impl AsRef<Path>) -> Result<ReplayReport, ReplayError> {
    let path = path.as_ref().to_path_buf();
    std::thread::Builder::new()
        .name("weave-replay".to_string())
        .spawn(move || {
            let Some(project_id) = first_project(&path)? else { return Ok(ReplayReport::default()) };
            let mut sink = destination(&project_id)?;
            replay(&path, &mut sink).map_err(ReplayError::Io)
        })
        .map_err(|e| ReplayError::Sink(format!("could not start a thread: {e}")))?
        .join()
        .unwrap_or_else(|_| Err(ReplayError::Sink("the replay panicked".to_string())))
}

/// Sends the items of the fallback file at `path` to `sink`.
pub fn replay_fallback_into(path: impl AsRef<Path>, sink: &mut dyn Sink) -> Result<ReplayReport, ReplayError> {
    replay(path, sink).map_err(ReplayError::Io)
}

fn destination(project_id: &str) -> Result<Box<dyn Sink>, ReplayError> {
    let target = destination::from_env(&Settings::from_env());
    let (sink, _) = destination::open(target, project_id).map_err(|e| ReplayError::Sink(e.to_string()))?;
    Ok(sink)
}

/// The project of the first readable entry (`None` for a missing or empty file).
fn first_project(path: &Path) -> Result<Option<String>, ReplayError> {
    use std::io::BufRead;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReplayError::Io(e)),
    };
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.map_err(ReplayError::Io)?;
        if let Ok(entry) = serde_json::from_slice::<FallbackEntry>(&line) {
            return Ok(Some(entry.project_id));
        }
    }
    Ok(None)
}
