//! The Weave trace server sink: [`WeaveServerSink`] writes calls, ops, objects and
//! feedback to a Weave trace server over HTTP, wire-compatible with the Python SDK
//! (`weave==0.54`), configured by a [`ServerConfig`] (usually
//! [`ServerConfig::from_env`]).
//!
//! - `config`: URLs, API key, headers, timeouts, from the environment.
//! - `client`: the blocking HTTP client (rustls), auth, retries honouring `Retry-After`.
//! - `routes`: routes and wire forms.
//! - `startup`: `/server_info` and the W&B GraphQL project check.
//! - `batch`: batched posts with 413 halving and 400/422 isolation.
//! - `objects`: saving ops and objects.
//! - `sink`: the [`Sink`](crate::Sink) tying these together.
//!
//! ```no_run
//! use weave_exporter::credentials::Secret;
//! use weave_exporter::http::{ServerConfig, WeaveServerSink};
//! use weave_exporter::{ExporterConfig, QueueExporter};
//!
//! let config = ServerConfig::for_urls(Secret::new("my-key"), "http://127.0.0.1:8080", None);
//! let sink = WeaveServerSink::new(config, "my-team/my-project");
//! let exporter = QueueExporter::start(Box::new(sink), ExporterConfig::default());
//! # drop(exporter);
//! ```

mod batch;
pub(crate) mod client;
mod config;
mod objects;
mod routes;
mod sink;
pub(crate) mod startup;

pub use config::{
    app_url, default_trace_url, parse_custom_headers, ServerConfig, DEFAULT_BASE_URL, DEFAULT_HTTP_TIMEOUT,
    PUBLIC_TRACE_URL,
};
pub use sink::{WeaveServerSink, MAX_BATCH_ITEMS};
pub use startup::{default_entity, ServerInfo};
