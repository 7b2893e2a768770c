//! [`ExporterConfig`]: the queue, batching, retry and fallback-file options of
//! [`crate::QueueExporter`], with Weave's defaults.

use std::path::PathBuf;
use std::time::Duration;

/// Weave's request size limit (32 MiB minus 1 MiB), used as the default batch size limit.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 31 * 1024 * 1024;

/// Where items that could not be exported are written, as in Weave's Python client
/// (defined with the other default paths in `weave_core::settings`).
pub use weave_core::settings::DEFAULT_FALLBACK_PATH;

/// The fallback file is rotated when it would grow past this size (512 MiB, as in Weave).
pub const DEFAULT_FALLBACK_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// Options of the background exporter. `Default` gives Weave's values.
///
/// ```
/// use std::time::Duration;
/// let config = weave_exporter::ExporterConfig {
///     max_batch_delay: Duration::from_millis(50),
///     ..Default::default()
/// };
/// assert_eq!(config.max_queue_size, 100_000);
/// ```
#[derive(Debug, Clone)]
pub struct ExporterConfig {
    /// Items the queue holds before new ones are dropped (and written to the fallback
    /// file). `0` means unbounded. Weave's `WEAVE_MAX_CALLS_QUEUE_SIZE`, default 100 000.
    pub max_queue_size: usize,
    /// Items in one batch handed to the sink (default 1000, as Weave).
    pub max_batch_items: usize,
    /// Estimated bytes in one batch (default 31 MiB, Weave's request limit). A single
    /// larger item still makes a batch of its own.
    pub max_batch_bytes: usize,
    /// How long the worker waits for more items to fill a batch after the first one
    /// arrives (default 200 ms). `0` writes whatever is queued at once.
    pub max_batch_delay: Duration,
    /// The timeout used when the exporter is dropped without an explicit shutdown
    /// (default 30 s).
    pub flush_timeout: Duration,
    /// The fallback file: items dropped or failed are appended to it as JSON lines.
    pub fallback_path: PathBuf,
    /// Whether dropped and failed items are written to the fallback file (Weave's
    /// `WEAVE_ENABLE_DISK_FALLBACK`, default true). When false they are only counted.
    pub enable_disk_fallback: bool,
    /// The fallback file is rotated past this size (default 512 MiB), keeping
    /// [`crate::fallback::KEPT_ROTATED_FILES`] older files. A rotation past them deletes
    /// the oldest: the items it held are counted as lost (and in
    /// [`weave_core::export::FlushReport::rotated_out`]) and warned about; raise this to
    /// keep more.
    pub fallback_max_bytes: u64,
    /// What happens to dropped calls when the fallback file cannot keep up (its writer
    /// thread is a whole queue's worth behind): `false` (the default) drops them too and
    /// counts them as [`weave_core::export::FlushReport::lost`], so the application never
    /// waits for the disk; `true` writes them on the application thread, so none is lost
    /// and the application is slowed down to the disk's pace.
    pub write_inline_when_fallback_behind: bool,
    /// Retries of a batch after a retryable sink error (default 3).
    pub max_retries: u32,
    /// The wait before the first retry; it doubles for each next one, with jitter
    /// (default 250 ms).
    pub retry_initial_backoff: Duration,
    /// The longest wait between two retries (default 8 s).
    pub retry_max_backoff: Duration,
}

impl Default for ExporterConfig {
    fn default() -> Self {
        ExporterConfig {
            max_queue_size: 100_000,
            max_batch_items: 1000,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            max_batch_delay: Duration::from_millis(200),
            flush_timeout: Duration::from_secs(30),
            fallback_path: PathBuf::from(DEFAULT_FALLBACK_PATH),
            enable_disk_fallback: true,
            fallback_max_bytes: DEFAULT_FALLBACK_MAX_BYTES,
            write_inline_when_fallback_behind: false,
            max_retries: 3,
            retry_initial_backoff: Duration::from_millis(250),
            retry_max_backoff: Duration::from_secs(8),
        }
    }
}
