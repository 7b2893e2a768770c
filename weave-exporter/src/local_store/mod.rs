//! The embedded local store, the default sink: a SQLite database (`.weave/weave.db`
//! under the working directory by default) with tables shaped like Weave's `calls`,
//! `objects` and `files`, written in WAL mode so several processes can write to it at
//! once, and queried with [`LocalStore::calls`], [`LocalStore::trace`],
//! [`LocalStore::render_tree`] and friends.
//!
//! ```no_run
//! use weave_exporter::local_store::{CallQuery, LocalStore};
//!
//! let store = LocalStore::open(".weave/weave.db")?;
//! for root in store.calls(&CallQuery { roots_only: true, newest_first: true, limit: Some(5), ..Default::default() })? {
//!     print!("{}", store.render_tree(&root.trace_id)?);
//! }
//! # Ok::<(), weave_exporter::local_store::StoreError>(())
//! ```

mod error;
mod query;
mod schema;
mod tree;
mod write;

pub use error::{StoreError, StoreErrorKind};
pub use query::{CallQuery, Status, StoredCall, StoredOp};
pub use tree::{TraceTree, TreeLine};

use crate::fallback::FallbackEntry;
use crate::sink::{Sink, SinkError};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use weave_core::export::ExportItem;

/// The default location of the local store, relative to the working directory.
pub const DEFAULT_PATH: &str = ".weave/weave.db";

/// A connection to the local store: a [`Sink`] when made with [`LocalStore::create`],
/// and the query API either way.
pub struct LocalStore {
    conn: Connection,
    path: PathBuf,
    project_id: Option<String>,
    writer: write::Writer,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore").field("path", &self.path).field("project_id", &self.project_id).finish()
    }
}

impl LocalStore {
    /// Opens the store at `path` for writing calls of `project_id` (`entity/project`),
    /// creating the file (permissions `0o600` on unix), its parent directories and its
    /// tables when needed.
    pub fn create(path: impl AsRef<Path>, project_id: impl Into<String>) -> Result<LocalStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_for_writing(&path)?;
        Ok(LocalStore { conn, path, project_id: Some(project_id.into()), writer: write::Writer::new() })
    }

    /// Opens an existing store to query it (or to replay a fallback file into it).
    pub fn open(path: impl AsRef<Path>) -> Result<LocalStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_existing(&path)?;
        Ok(LocalStore { conn, path, project_id: None, writer: write::Writer::new() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Sink for LocalStore {
    fn write_batch(&mut self, batch: &[ExportItem]) -> Result<(), SinkError> {
        let Some(project_id) = &self.project_id else {
            return Err(SinkError::permanent(format!(
                "the local store {} was opened for reading; use LocalStore::create to write calls",
                self.path.display()
            )));
        };
        self.writer.write_batch(&mut self.conn, project_id, batch)
    }

    fn describe(&self) -> String {
        format!("local store at {}", self.path.display())
    }

    fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    fn replay_batch(&mut self, batch: &[FallbackEntry]) -> Result<(), SinkError> {
        self.writer.replay_batch(&mut self.conn, batch)
    }
}
