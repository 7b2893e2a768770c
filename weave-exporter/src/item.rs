//! What the exporter reads off an [`ExportItem`]: its kind (as written in the fallback
//! file), its call record, and an estimate of its encoded size for batching.

use serde::{Deserialize, Serialize};
use weave_core::call::{CallEnd, CallRecord, CallStart};
use weave_core::export::ExportItem;

/// The kind of an exported item, spelled as in the fallback file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// An eager call start (the call is running).
    CallStarted,
    /// A finished call.
    CallFinished,
    /// A call still open at shutdown.
    CallUnfinished,
    /// A published object version (`item` is the `/obj/create` object).
    Object,
    /// Feedback on a call (`item` is the `/feedback/batch/create` item).
    Feedback,
    /// A table (`item` is `{project_id, digest, rows}`).
    Table,
    /// An op objects refer to (`item` is `{name, digest}`; the entry's `op` has its file).
    Op,
}

impl ItemKind {
    /// The kind of an item (`None` for item kinds this version does not know).
    pub fn of(item: &ExportItem) -> Option<ItemKind> {
        match item {
            ExportItem::CallStarted(_) => Some(ItemKind::CallStarted),
            ExportItem::CallFinished(_) => Some(ItemKind::CallFinished),
            ExportItem::CallUnfinished(_) => Some(ItemKind::CallUnfinished),
            ExportItem::Object(_) => Some(ItemKind::Object),
            ExportItem::Feedback(_) => Some(ItemKind::Feedback),
            ExportItem::Table(_) => Some(ItemKind::Table),
            ExportItem::Op(_) => Some(ItemKind::Op),
            _ => None,
        }
    }

    /// `call_started`, `call_finished`, `call_unfinished`, `object`, `feedback`, `table`
    /// or `op`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::CallStarted => "call_started",
            ItemKind::CallFinished => "call_finished",
            ItemKind::CallUnfinished => "call_unfinished",
            ItemKind::Object => "object",
            ItemKind::Feedback => "feedback",
            ItemKind::Table => "table",
            ItemKind::Op => "op",
        }
    }

    /// True for the three kinds of call items.
    pub fn is_call(self) -> bool {
        matches!(self, ItemKind::CallStarted | ItemKind::CallFinished | ItemKind::CallUnfinished)
    }
}

/// The call record an item carries (`None` for item kinds this version does not know).
pub fn record_of(item: &ExportItem) -> Option<&CallRecord> {
    match item {
        ExportItem::CallStarted(r) | ExportItem::CallFinished(r) | ExportItem::CallUnfinished(r) => Some(r),
        _ => None,
    }
}

/// Empties `items`, giving the boxes of its call records back for the calls to come
/// ([`weave_core::export::recycle_records`]), once they are written or set aside.
pub(crate) fn recycle_records(items: &mut Vec<ExportItem>) {
    weave_core::export::recycle_records(call_records(items));
}

/// Empties `items`, which the calling thread exported and keeps (they were dropped, or it
/// wrote them itself), giving the boxes of its call records to its own next calls
/// ([`weave_core::export::keep_records_here`]).
pub(crate) fn keep_records_here(items: &mut Vec<ExportItem>) {
    weave_core::export::keep_records_here(call_records(items));
}

/// Empties `items` into the boxes of its call records (dropping the other items).
fn call_records(items: &mut Vec<ExportItem>) -> impl Iterator<Item = Box<CallRecord>> + '_ {
    items.drain(..).filter_map(|item| match item {
        ExportItem::CallStarted(record) | ExportItem::CallFinished(record) | ExportItem::CallUnfinished(record) => {
            Some(record)
        }
        _ => None,
    })
}

/// Fixed part of an encoded call: ids, timestamps, field names, the op ref, attributes.
const CALL_OVERHEAD_BYTES: usize = 768;

/// An estimate of the item's size as wire JSON, without encoding it: the captured JSON
/// texts plus a fixed overhead. Used to keep batches under
/// [`crate::ExporterConfig::max_batch_bytes`].
pub fn estimated_bytes(item: &ExportItem) -> usize {
    let record = match item {
        ExportItem::Object(object) => return CALL_OVERHEAD_BYTES + json_bytes(&object.value),
        ExportItem::Feedback(feedback) => return CALL_OVERHEAD_BYTES + 64 * feedback.payload.len(),
        ExportItem::Table(table) => {
            return CALL_OVERHEAD_BYTES + table.rows.iter().map(|row| 64 + json_bytes(row)).sum::<usize>()
        }
        ExportItem::Op(op) => return CALL_OVERHEAD_BYTES + op.op.source_file().len(),
        other => match record_of(other) {
            Some(record) => record,
            None => return CALL_OVERHEAD_BYTES,
        },
    };
    estimated_call_bytes(&record.start, record.end.as_ref())
}

/// [`estimated_bytes`] of a call item made of `start` and `end`.
pub fn estimated_call_bytes(start: &CallStart, end: Option<&CallEnd>) -> usize {
    let mut bytes = CALL_OVERHEAD_BYTES + start.inputs.len();
    bytes += start.display_name.as_deref().map_or(0, str::len);
    if let Some(user) = &start.attributes.user {
        bytes += 64 * user.len();
    }
    if let Some(end) = end {
        bytes += end.output.as_ref().map_or(0, |o| o.len());
        // Not encoded yet (this runs on the application's thread): estimated.
        bytes += end.exception.as_ref().map_or(0, |e| e.estimated_len());
        bytes += end.summary.rest.as_ref().map_or(0, |r| 128 * r.len());
    }
    bytes
}

/// The length of a value's compact JSON text.
fn json_bytes(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// A small item for the exporter's unit tests (a note on a call).
#[cfg(test)]
pub(crate) fn test_item() -> ExportItem {
    ExportItem::Feedback(Box::new(weave_core::feedback::FeedbackItem {
        id: weave_core::ids::Id::new_v7(0),
        project_id: "e/p".to_string(),
        call_id: weave_core::ids::Id::new_v7(0),
        feedback_type: "wandb.note.1".to_string(),
        payload: Default::default(),
        runnable_ref: None,
        call_ref: None,
    }))
}
