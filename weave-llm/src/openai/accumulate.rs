//! How a stream's items are gathered into the output a streamed call records.

use serde_json::Value;

/// Gathers the items of a stream of `T` into one output (the chat completion of its
/// chunks, the response of its events). Implemented for async-openai's chat chunks
/// ([`ChatAccumulator`](super::ChatAccumulator)) and response events
/// ([`ResponseAccumulator`](super::ResponseAccumulator)).
pub trait Accumulate<T>: Send {
    /// Adds one item (called as it arrives, before the caller gets it).
    fn add(&mut self, item: &T);

    /// True when `item` carries content (for the time to first token); false for all
    /// items of streams whose calls record no time to first token.
    fn has_content(&self, item: &T) -> bool;

    /// True for an item the caller did not ask for and does not get: the usage-only
    /// chunk of a chat stream whose usage the wrapper requested.
    fn is_extra(&self, item: &T) -> bool;

    /// The output so far.
    fn output(&self) -> Value;
}
