//! `weave`: the command line and the local web viewer (`weave ui`) for the traces and
//! evaluations in weave-rs's embedded local store (`.weave/weave.db`).
//!
//! - [`store`]: reading the store (calls through the exporter's `LocalStore`, the rest
//!   with read-only SQL), and the one write, feedback.
//! - [`query`]: the row query language of evaluation comparisons.
//! - [`compare`]: comparing evaluation runs (metrics, deltas, the row table).
//! - [`cli`]: the commands.
//! - [`server`]: the viewer's HTTP server, its pages and JSON API.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cli;
pub mod compare;
pub mod diff;
pub mod query;
pub mod server;
pub mod store;
