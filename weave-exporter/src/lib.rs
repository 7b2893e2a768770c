//! The way out of weave-rs: a bounded queue in front of one background worker that
//! writes batches of calls to a [`Sink`].
//!
//! - [`QueueExporter`] implements the runtime's [`Exporter`](weave_core::export::Exporter):
//!   `export` never blocks (a full queue drops the item, counts it and writes it to the
//!   [fallback file](fallback)); `flush` and `shutdown` wait with a timeout.
//! - Sinks: [`JsonlSink`] (one wire call per line), [`MemorySink`] (tests) and
//!   [`DiscardSink`] (benchmarks), always; behind cargo features (both on by default):
//!   - `local-store`: the embedded SQLite store, `local_store::LocalStore` (rusqlite,
//!     SQLite bundled);
//!   - `server`: `http::WeaveServerSink`, which writes to a Weave trace server, and
//!     `credentials` (reqwest with rustls).
//! - [`fallback::replay`] writes what the fallback file holds into a sink.
//!
//! The queue, the worker, the fallback file and the always-present sinks need neither
//! feature. Settings and default paths come from `weave_core::settings`.
//!
//! ```
//! use std::time::Duration;
//! use weave_core::export::Exporter;
//! use weave_exporter::{ExporterConfig, JsonlSink, QueueExporter};
//!
//! let dir = tempfile::tempdir()?;
//! let sink = JsonlSink::file(dir.path().join("calls.jsonl"), "my-team/my-project")?;
//! let exporter = QueueExporter::start(Box::new(sink), ExporterConfig::default());
//! // The runtime calls exporter.export(item) for every call.
//! assert!(exporter.shutdown(Duration::from_secs(5)).completed);
//! # Ok::<(), std::io::Error>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
#[cfg(feature = "server")]
#[path = "fuzz_entry.rs"]
pub mod __fuzz;
mod config;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod credentials;
pub mod fallback;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod http;
mod item;
mod jsonl;
#[cfg(feature = "local-store")]
#[cfg_attr(docsrs, doc(cfg(feature = "local-store")))]
pub mod local_store;
mod queue;
mod sink;
mod spill;
mod thread_buffer;
mod warnings;
mod worker;

pub use config::{ExporterConfig, DEFAULT_FALLBACK_MAX_BYTES, DEFAULT_FALLBACK_PATH, DEFAULT_MAX_BATCH_BYTES};
pub use item::{estimated_bytes, record_of, ItemKind};
pub use jsonl::JsonlSink;
pub use queue::QueueExporter;
pub use sink::{DiscardSink, MemoryHandle, MemoryItem, MemorySink, Sink, SinkError};
