//! Posting batches (`{"batch": [...]}`) to the trace server: chunks of at most
//! `max_items` items and `max_bytes` bytes; a 413 splits a chunk in halves, a 400/422
//! splits it until the bad items are alone (and refused) while the others go through;
//! any other 4xx refuses the chunk's items; a retryable failure stops (what was
//! delivered before stays delivered).
//!
//! Items carry an `owner` (the index of the work item they belong to; a legacy call is
//! two items, start and end); the [`Outcome`] says which owners went through and which
//! were refused.

use super::client::{Failure, FailureKind, HttpClient};
use super::routes::{batch_body, batch_overhead};

/// The `error_code` a server sends when only `calls/complete` is accepted.
pub(crate) const CALLS_COMPLETE_MODE_REQUIRED: &str = "CALLS_COMPLETE_MODE_REQUIRED";

/// One encoded item of a batch.
pub(crate) struct Encoded {
    /// The work item it belongs to.
    pub(crate) owner: usize,
    /// Its JSON.
    pub(crate) bytes: Vec<u8>,
}

/// What a batch post achieved.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Owners whose items were all accepted (an owner may repeat).
    pub(crate) delivered: Vec<usize>,
    /// Owners with a refused item, and why.
    pub(crate) refused: Vec<(usize, String)>,
}

/// Why a batch post stopped before the end.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A retryable failure: try the rest later.
    Retry(Failure),
    /// The route does not exist on this server (404).
    RouteMissing(Failure),
    /// The server wants the `calls/complete` path (legacy route refused).
    CompleteModeRequired,
}

/// Limits of one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Items per request.
    pub(crate) max_items: usize,
    /// Bytes per request body.
    pub(crate) max_bytes: usize,
}

/// Posts `items` to `path` in chunks within `limits`, recording the outcome in `out`.
pub(crate) fn post_batches(
    client: &HttpClient,
    path: &str,
    items: &[Encoded],
    limits: Limits,
    out: &mut Outcome,
) -> Result<(), Stop> {
    let mut start = 0;
    while start < items.len() {
        let mut end = start;
        let mut bytes = batch_overhead(0);
        while end < items.len() && end - start < limits.max_items.max(1) {
            let next = items[end].bytes.len() + 1;
            if end > start && bytes + next > limits.max_bytes {
                break;
            }
            bytes += next;
            end += 1;
        }
        if end - start == 1 && bytes > limits.max_bytes {
            weave_core::warn!(
                "weave: one item of {} bytes is over the request limit of {} bytes; sending it anyway",
                items[start].bytes.len(),
                limits.max_bytes
            );
        }
        post_chunk(client, path, &items[start..end], out)?;
        start = end;
    }
    Ok(())
}

fn post_chunk(client: &HttpClient, path: &str, chunk: &[Encoded], out: &mut Outcome) -> Result<(), Stop> {
    if chunk.is_empty() {
        return Ok(());
    }
    let body = batch_body(chunk.iter().map(|e| e.bytes.as_slice()));
    let failure = match client.post_json(path, &body, &[]) {
        Ok(_) => {
            out.delivered.extend(chunk.iter().map(|e| e.owner));
            return Ok(());
        }
        Err(failure) => failure,
    };
    match failure.kind {
        FailureKind::Retryable => Err(Stop::Retry(failure)),
        FailureKind::NotFound => Err(Stop::RouteMissing(failure)),
        FailureKind::Invalid if failure.error_code.as_deref() == Some(CALLS_COMPLETE_MODE_REQUIRED) => {
            Err(Stop::CompleteModeRequired)
        }
        FailureKind::TooLarge | FailureKind::Invalid if chunk.len() > 1 => {
            let (left, right) = chunk.split_at(chunk.len() / 2);
            post_chunk(client, path, left, out)?;
            post_chunk(client, path, right, out)
        }
        FailureKind::Unauthorized => {
            let message = format!("{} (check WANDB_API_KEY)", failure.message);
            out.refused.extend(chunk.iter().map(|e| (e.owner, message.clone())));
            Ok(())
        }
        _ => {
            out.refused.extend(chunk.iter().map(|e| (e.owner, failure.message.clone())));
            Ok(())
        }
    }
}
