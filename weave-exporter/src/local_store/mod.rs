//! The embedded local store, the default sink: a SQLite database (`.weave/weave.db`
//! under the working directory by default) with tables shaped like Weave's `calls`,
//! `objects` and `files`, written in WAL mode so several processes can write to it at
//! once, and queried with [`LocalStore::calls`], [`LocalStore::trace`],
//! [`LocalStore::render_tree`] and friends.
//!
//! Writers do not insert calls into `calls` one row at a time: each batch's calls go into
//! one row of an append-only log (`call_log`, see the `log` module), which is indexed
//! into `calls` in bounded steps (see the `index` module):
//!
//! - while writing: after a batch, when the log holds more than
//!   [`DEFAULT_MAX_BACKLOG`] entries, the writer indexes about half of them, unless the
//!   exporter is behind (another batch already waits, see
//!   [`Sink::set_waiting_items`](crate::Sink::set_waiting_items)): under sustained load
//!   the log stays a few batches behind, and a burst faster than the indexing is written
//!   at full speed (nothing waits in memory for the indexing) and indexed right after;
//! - when the exporter's worker is idle ([`Sink::idle`](crate::Sink::idle)), a few
//!   entries at a time (the rest of a burst);
//! - by a query, before it reads, within an [`IndexBudget`] (16 entries or 100 ms by
//!   default): a query never does unbounded work, and a reader sees every call written
//!   (by any process) unless a larger backlog was left, e.g. by a writer that stopped
//!   early; [`LocalStore::index_backlog`] says how far behind the `calls` table is, and
//!   [`LocalStore::index_some`] or [`LocalStore::index_calls`] catch up.
//!
//! Flushing and shutting down do not wait for indexing (once a shutdown has started the
//! writer does not index): the log is as durable as the tables. A store whose file
//! cannot be written (or one opened with [`LocalStore::open_read_only`]) is never
//! written: a query reads the unindexed log's entries (within the same budget) into the
//! connection's memory, where they show on top of the `calls` table
//! ([`show_unindexed_calls`] does it for a connection of your own).
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
mod index;
mod log;
mod overlay;
mod query;
mod schema;
mod store;
mod tree;
mod write;

pub use error::{StoreError, StoreErrorKind};
pub use index::{IndexBacklog, IndexBudget};
pub use overlay::show_unindexed_calls;
pub use query::{CallQuery, Status, StoredCall, StoredOp, CALL_COLUMNS, CALL_COLUMNS_BRIEF};
pub use store::{LocalStore, DEFAULT_MAX_BACKLOG, DEFAULT_PATH};
pub use tree::{TraceTree, TreeLine};
