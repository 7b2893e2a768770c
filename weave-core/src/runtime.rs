//! A client's lifecycle: [`install`] makes a client the one every op records to (shutting
//! down the one it replaces), [`uninstall`] takes it away, and a client taken away writes
//! the calls still open on it as unfinished (the sync calls on every thread's stack and the
//! async and manual calls it lists) before its exporter shuts down; [`flush`].
//!
//! The client itself ([`Client`]) and the switch every op checks ([`is_enabled`],
//! [`current_client`]) sit below the running calls, which hold them; they are re-exported
//! here, where users find them.

pub use crate::client::{CallLinkFn, Client};
pub use crate::switch::{current_client, is_enabled};

use crate::call::CallRecord;
use crate::export::{ExportItem, FlushReport};
use std::sync::Arc;
use std::time::Duration;

/// Makes `client` the current client: ops start recording. Returns it.
pub fn install(client: Client) -> Arc<Client> {
    crate::panic::install_hook();
    crate::diagnostics::prepare();
    let client = Arc::new(client);
    if let Some(previous) = crate::switch::set_installed(Arc::clone(&client)) {
        shutdown_client(&previous, previous.settings().flush_timeout);
    }
    client
}

/// Removes the current client (ops become plain calls again), writes its open calls as
/// unfinished and shuts its exporter down within `timeout`.
pub fn uninstall(timeout: Duration) -> Option<FlushReport> {
    crate::switch::take_installed().map(|client| shutdown_client(&client, timeout))
}

/// Uninstalls `client` if it is still the current one.
pub fn uninstall_if_current(client: &Arc<Client>, timeout: Duration) -> Option<FlushReport> {
    if crate::switch::is_installed(client) {
        uninstall(timeout)
    } else {
        None
    }
}

fn shutdown_client(client: &Client, timeout: Duration) -> FlushReport {
    export_open_calls(client);
    let report = client.exporter().shutdown(timeout);
    if !report.completed {
        crate::warn!(
            "weave: flush did not complete within {:.1} s; undelivered calls are in the fallback file",
            timeout.as_secs_f64()
        );
    }
    report
}

/// Writes every call of `client` still open as unfinished (so it is not lost at shutdown):
/// the sync calls on every thread's stack and the others.
fn export_open_calls(client: &Client) {
    let mut open = crate::call_stack::running_starts(client.key());
    open.extend(client.drain_open_calls());
    for start in open {
        client.exporter().export(ExportItem::CallUnfinished(Box::new(CallRecord { start, end: None })));
    }
}

/// Flushes the current client's exporter.
pub fn flush(timeout: Duration) -> Option<FlushReport> {
    let client = crate::switch::installed()?;
    Some(client.exporter().flush(timeout))
}
