//! The call log's blob format: every call item of one batch in one compact binary blob
//! (one `call_log` row), so the write path costs one SQLite row per batch instead of one
//! per call with five B-trees. [`super::index`] decodes the blobs into `calls` rows later.
//!
//! Layout (integers are LEB128 varints unless said otherwise; a string is a varint byte
//! length then UTF-8 bytes; `#n` is an index into the string table):
//!
//! ```text
//! blob    = version:u8 (= 1)  table_offset:u32 LE  call*  table
//! table   = call_count  string_count  string*          (starts at table_offset)
//! call    = kind:u8 (1 started, 2 finished, 3 unfinished)  flags:u8
//!           id:16  trace_id:16  [parent_id:16]  [turn_id:16]        (u128 LE)
//!           #project_id  #op_name  #op_base_name  #attributes
//!           [#thread_id]  [#wb_run_id]  [display_name:string]
//!           started_at_us:i64 LE  inputs:string
//!           finished only: ended_at_us - started_at_us (zigzag varint)  #summary
//!                          [output:string]  [exception:string]
//! ```
//!
//! The flags say which optional fields follow ([`flags`]). Strings that most calls of a
//! batch share (project, op ref and name, attributes, summary, thread, run) are stored once
//! per blob in the table. Decoding checks everything (version, flags, bounds, UTF-8, string
//! indexes, the call count) and says what is wrong rather than guessing.

use crate::item::ItemKind;
use std::collections::HashMap;
use weave_core::ids::Id;

/// The first byte of every blob this version writes.
pub(crate) const FORMAT_VERSION: u8 = 1;

/// Bytes before the first call: the version and the table offset.
const HEADER_BYTES: usize = 5;

/// Which optional fields a call has.
mod flags {
    pub(super) const PARENT: u8 = 1;
    pub(super) const TURN: u8 = 1 << 1;
    pub(super) const THREAD: u8 = 1 << 2;
    pub(super) const RUN: u8 = 1 << 3;
    pub(super) const DISPLAY_NAME: u8 = 1 << 4;
    pub(super) const OUTPUT: u8 = 1 << 5;
    pub(super) const EXCEPTION: u8 = 1 << 6;
    pub(super) const ALL: u8 = (1 << 7) - 1;
    /// Flags only a finished call may have.
    pub(super) const END_ONLY: u8 = OUTPUT | EXCEPTION;
}

/// One call item as logged: what one row of `calls` gets, before ids and timestamps are
/// formatted as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoggedCall<'a> {
    /// [`ItemKind::CallStarted`], [`ItemKind::CallFinished`] or [`ItemKind::CallUnfinished`].
    pub(crate) kind: ItemKind,
    pub(crate) project_id: &'a str,
    pub(crate) id: Id,
    pub(crate) trace_id: Id,
    pub(crate) parent_id: Option<Id>,
    pub(crate) op_name: &'a str,
    pub(crate) op_base_name: &'a str,
    pub(crate) display_name: Option<&'a str>,
    pub(crate) thread_id: Option<&'a str>,
    pub(crate) turn_id: Option<Id>,
    pub(crate) started_at_us: i64,
    pub(crate) attributes: &'a str,
    pub(crate) inputs: &'a str,
    pub(crate) wb_run_id: Option<&'a str>,
    /// Present exactly for finished calls.
    pub(crate) end: Option<LoggedEnd<'a>>,
}

/// The end of a finished call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoggedEnd<'a> {
    pub(crate) ended_at_us: i64,
    pub(crate) output: Option<&'a str>,
    pub(crate) exception: Option<&'a str>,
    pub(crate) summary: &'a str,
}

/// Builds one blob at a time; reuses its buffers across blobs.
#[derive(Default)]
pub(crate) struct Encoder {
    out: Vec<u8>,
    calls: u64,
    table: StringTable,
}

/// The string table's slots, one per kind of shared string: each remembers its last
/// string, so a run of calls sharing it costs a comparison, not a hash lookup.
#[derive(Clone, Copy)]
enum Slot {
    Project,
    OpName,
    OpBaseName,
    Attributes,
    Thread,
    Run,
    Summary,
}

const SLOTS: usize = 7;

#[derive(Default)]
struct StringTable {
    /// The strings, concatenated.
    text: String,
    /// Each string's range in `text`.
    ranges: Vec<(usize, usize)>,
    index: HashMap<Box<str>, u32>,
    last: [Option<u32>; SLOTS],
}

impl StringTable {
    fn clear(&mut self) {
        self.text.clear();
        self.ranges.clear();
        self.index.clear();
        self.last = [None; SLOTS];
    }

    fn get(&self, i: u32) -> &str {
        let (start, end) = self.ranges[i as usize];
        &self.text[start..end]
    }

    fn intern(&mut self, slot: Slot, s: &str) -> u32 {
        if let Some(i) = self.last[slot as usize] {
            if self.get(i) == s {
                return i;
            }
        }
        let i = match self.index.get(s) {
            Some(&i) => i,
            None => {
                let i = self.ranges.len() as u32;
                let start = self.text.len();
                self.text.push_str(s);
                self.ranges.push((start, self.text.len()));
                self.index.insert(s.into(), i);
                i
            }
        };
        self.last[slot as usize] = Some(i);
        i
    }
}

impl Encoder {
    /// Starts a new blob (forgetting the previous one).
    pub(crate) fn begin(&mut self) {
        self.out.clear();
        self.out.push(FORMAT_VERSION);
        self.out.extend_from_slice(&[0; HEADER_BYTES - 1]);
        self.calls = 0;
        self.table.clear();
    }

    /// The number of calls added since [`Encoder::begin`].
    pub(crate) fn len(&self) -> u64 {
        self.calls
    }

    /// Appends one call. A finished call without an end is logged as a start (it is
    /// applied the same way: a row without an end, ignored when the call is stored); an
    /// end given with another kind is left out.
    pub(crate) fn push(&mut self, call: &LoggedCall<'_>) {
        let (kind, end) = match (call.kind, &call.end) {
            (ItemKind::CallFinished, Some(end)) => (2, Some(end)),
            (ItemKind::CallUnfinished, _) => (3, None),
            _ => (1, None),
        };
        let mut f = 0;
        for (present, flag) in [
            (call.parent_id.is_some(), flags::PARENT),
            (call.turn_id.is_some(), flags::TURN),
            (call.thread_id.is_some(), flags::THREAD),
            (call.wb_run_id.is_some(), flags::RUN),
            (call.display_name.is_some(), flags::DISPLAY_NAME),
            (end.is_some_and(|e| e.output.is_some()), flags::OUTPUT),
            (end.is_some_and(|e| e.exception.is_some()), flags::EXCEPTION),
        ] {
            if present {
                f |= flag;
            }
        }
        self.out.push(kind);
        self.out.push(f);
        for id in [Some(call.id), Some(call.trace_id), call.parent_id, call.turn_id].into_iter().flatten() {
            self.out.extend_from_slice(&id.as_u128().to_le_bytes());
        }
        let shared = [
            (Slot::Project, Some(call.project_id)),
            (Slot::OpName, Some(call.op_name)),
            (Slot::OpBaseName, Some(call.op_base_name)),
            (Slot::Attributes, Some(call.attributes)),
            (Slot::Thread, call.thread_id),
            (Slot::Run, call.wb_run_id),
        ];
        for (slot, text) in shared {
            if let Some(text) = text {
                let i = self.table.intern(slot, text);
                put_varint(&mut self.out, u64::from(i));
            }
        }
        if let Some(name) = call.display_name {
            put_str(&mut self.out, name);
        }
        self.out.extend_from_slice(&call.started_at_us.to_le_bytes());
        put_str(&mut self.out, call.inputs);
        if let Some(end) = end {
            put_varint(&mut self.out, zigzag(end.ended_at_us.wrapping_sub(call.started_at_us)));
            let i = self.table.intern(Slot::Summary, end.summary);
            put_varint(&mut self.out, u64::from(i));
            for text in [end.output, end.exception].into_iter().flatten() {
                put_str(&mut self.out, text);
            }
        }
        self.calls += 1;
    }

    /// Ends the blob: appends the string table and returns the whole blob.
    pub(crate) fn finish(&mut self) -> &[u8] {
        let offset = self.out.len() as u32;
        self.out[1..HEADER_BYTES].copy_from_slice(&offset.to_le_bytes());
        put_varint(&mut self.out, self.calls);
        put_varint(&mut self.out, self.table.ranges.len() as u64);
        for &(start, end) in &self.table.ranges {
            put_str(&mut self.out, &self.table.text[start..end]);
        }
        &self.out
    }
}

/// Why a blob could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub(crate) String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes a whole blob, checking it all before returning anything.
pub(crate) fn decode(blob: &[u8]) -> Result<Vec<LoggedCall<'_>>, DecodeError> {
    let version = *blob.first().ok_or_else(|| DecodeError("the blob is empty".into()))?;
    if version != FORMAT_VERSION {
        return Err(DecodeError(format!(
            "format version {version} is unknown (this weave-rs reads version {FORMAT_VERSION})"
        )));
    }
    let mut header = Reader { blob, at: 1 };
    let offset = u32::from_le_bytes(header.array::<4>("the table offset")?) as usize;
    if offset < HEADER_BYTES || offset > blob.len() {
        return Err(DecodeError(format!("the table offset {offset} is outside the blob ({} bytes)", blob.len())));
    }
    let mut table = Reader { blob, at: offset };
    let call_count = table.varint("the call count")?;
    let string_count = table.varint("the string count")?;
    // Each string takes at least one byte, so a count above the bytes left is corrupt.
    if string_count > (blob.len() - table.at) as u64 {
        return Err(DecodeError(format!("the string count {string_count} is larger than the blob")));
    }
    let strings = (0..string_count).map(|_| table.str("a table string")).collect::<Result<Vec<_>, _>>()?;
    if table.at != blob.len() {
        return Err(DecodeError(format!("{} unexpected bytes after the string table", blob.len() - table.at)));
    }
    // Each call takes at least 42 bytes.
    if call_count > (offset / 42) as u64 {
        return Err(DecodeError(format!("the call count {call_count} is larger than the blob")));
    }
    let mut r = Reader { blob: &blob[..offset], at: HEADER_BYTES };
    let calls = (0..call_count).map(|_| r.call(&strings)).collect::<Result<Vec<_>, _>>()?;
    if r.at != offset {
        return Err(DecodeError(format!("{} unexpected bytes after the last call", offset - r.at)));
    }
    Ok(calls)
}

/// The number of calls a blob says it holds (read from its table header alone, without
/// decoding the calls); `None` when the header cannot be read.
pub(crate) fn call_count(blob: &[u8]) -> Option<u64> {
    if blob.first() != Some(&FORMAT_VERSION) {
        return None;
    }
    let mut header = Reader { blob, at: 1 };
    let offset = u32::from_le_bytes(header.array::<4>("the table offset").ok()?) as usize;
    if offset < HEADER_BYTES || offset > blob.len() {
        return None;
    }
    Reader { blob, at: offset }.varint("the call count").ok()
}

struct Reader<'a> {
    blob: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.blob.len()).ok_or_else(|| {
            DecodeError(format!("{what} ({n} bytes at byte {}) runs past the end of its section", self.at))
        })?;
        let bytes = &self.blob[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn varint(&mut self, what: &str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8(what)?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError(format!("{what} is a varint longer than 64 bits (at byte {})", self.at)))
    }

    fn str(&mut self, what: &str) -> Result<&'a str, DecodeError> {
        let len = self.varint(what)?;
        let len = usize::try_from(len).map_err(|_| DecodeError(format!("{what} has an impossible length {len}")))?;
        let at = self.at;
        std::str::from_utf8(self.bytes(len, what)?)
            .map_err(|e| DecodeError(format!("{what} (at byte {at}) is not UTF-8: {e}")))
    }

    fn id(&mut self, what: &str) -> Result<Id, DecodeError> {
        Ok(Id::from_u128(u128::from_le_bytes(self.array::<16>(what)?)))
    }

    fn shared(&mut self, strings: &[&'a str], what: &str) -> Result<&'a str, DecodeError> {
        let i = self.varint(what)?;
        usize::try_from(i).ok().and_then(|i| strings.get(i).copied()).ok_or_else(|| {
            DecodeError(format!("{what} names string {i} of a table of {} (before byte {})", strings.len(), self.at))
        })
    }

    fn call(&mut self, strings: &[&'a str]) -> Result<LoggedCall<'a>, DecodeError> {
        let at = self.at;
        let kind = match self.u8("a call's kind")? {
            1 => ItemKind::CallStarted,
            2 => ItemKind::CallFinished,
            3 => ItemKind::CallUnfinished,
            other => return Err(DecodeError(format!("unknown call kind {other} at byte {at}"))),
        };
        let f = self.u8("a call's flags")?;
        if f & !flags::ALL != 0 || (kind != ItemKind::CallFinished && f & flags::END_ONLY != 0) {
            return Err(DecodeError(format!("invalid flags {f:#04x} for a {} call at byte {at}", kind.as_str())));
        }
        let has = |flag: u8| f & flag != 0;
        let id = self.id("a call id")?;
        let trace_id = self.id("a trace id")?;
        let parent_id = if has(flags::PARENT) { Some(self.id("a parent id")?) } else { None };
        let turn_id = if has(flags::TURN) { Some(self.id("a turn id")?) } else { None };
        let project_id = self.shared(strings, "the project")?;
        let op_name = self.shared(strings, "the op ref")?;
        let op_base_name = self.shared(strings, "the op name")?;
        let attributes = self.shared(strings, "the attributes")?;
        let thread_id = if has(flags::THREAD) { Some(self.shared(strings, "the thread id")?) } else { None };
        let wb_run_id = if has(flags::RUN) { Some(self.shared(strings, "the run id")?) } else { None };
        let display_name = if has(flags::DISPLAY_NAME) { Some(self.str("the display name")?) } else { None };
        let started_at_us = i64::from_le_bytes(self.array::<8>("the start time")?);
        let inputs = self.str("the inputs")?;
        let end = if kind == ItemKind::CallFinished {
            let ended_at_us = started_at_us.wrapping_add(unzigzag(self.varint("the end time")?));
            let summary = self.shared(strings, "the summary")?;
            let output = if has(flags::OUTPUT) { Some(self.str("the output")?) } else { None };
            let exception = if has(flags::EXCEPTION) { Some(self.str("the exception")?) } else { None };
            Some(LoggedEnd { ended_at_us, output, exception, summary })
        } else {
            None
        };
        Ok(LoggedCall {
            kind,
            project_id,
            id,
            trace_id,
            parent_id,
            op_name,
            op_base_name,
            display_name,
            thread_id,
            turn_id,
            started_at_us,
            attributes,
            inputs,
            wb_run_id,
            end,
        })
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(i: u128, kind: ItemKind) -> LoggedCall<'static> {
        LoggedCall {
            kind,
            project_id: "e/p",
            id: Id::from_u128(i),
            trace_id: Id::from_u128(u128::MAX - i),
            parent_id: i.is_multiple_of(2).then(|| Id::from_u128(i + 7)),
            op_name: if i.is_multiple_of(3) { "weave:///e/p/op/a:1" } else { "weave:///e/p/op/b:2" },
            op_base_name: if i.is_multiple_of(3) { "a" } else { "b" },
            display_name: i.is_multiple_of(4).then_some("näme"),
            thread_id: i.is_multiple_of(5).then_some("thread"),
            turn_id: i.is_multiple_of(6).then(|| Id::from_u128(3)),
            started_at_us: 1_795_790_038_000_000 + i as i64,
            attributes: "{\"weave\":{}}",
            inputs: "{\"x\":1}",
            wb_run_id: i.is_multiple_of(7).then_some("e/p/run"),
            end: (kind == ItemKind::CallFinished).then_some(LoggedEnd {
                ended_at_us: 1_795_790_038_000_000 - 5 + i as i64,
                output: (i % 2 == 1).then_some("42"),
                exception: i.is_multiple_of(2).then_some("{\"message\":\"boom\"}"),
                summary: if i.is_multiple_of(2) { "{\"a\":1}" } else { "{}" },
            }),
        }
    }

    #[test]
    fn calls_round_trip() {
        let kinds = [ItemKind::CallStarted, ItemKind::CallFinished, ItemKind::CallUnfinished];
        let calls: Vec<LoggedCall<'_>> = (0..50).map(|i| call(i, kinds[i as usize % 3])).collect();
        let mut encoder = Encoder::default();
        for _ in 0..2 {
            encoder.begin();
            for c in &calls {
                encoder.push(c);
            }
            assert_eq!(encoder.len(), 50);
            let blob = encoder.finish().to_vec();
            assert_eq!(decode(&blob).unwrap(), calls);
            assert_eq!(call_count(&blob), Some(50));
        }
        encoder.begin();
        assert_eq!(decode(encoder.finish()).unwrap(), vec![]);
    }

    #[test]
    fn every_truncation_and_bad_version_is_an_error() {
        let mut encoder = Encoder::default();
        encoder.begin();
        encoder.push(&call(2, ItemKind::CallFinished));
        encoder.push(&call(5, ItemKind::CallStarted));
        let blob = encoder.finish().to_vec();
        for len in 0..blob.len() {
            assert!(decode(&blob[..len]).is_err(), "a blob cut to {len} bytes");
        }
        assert_eq!(call_count(&blob), Some(2));
        assert_eq!(call_count(&blob[..3]), None);
        let mut bad = blob.clone();
        bad[0] = 9;
        assert_eq!(call_count(&bad), None);
        assert!(decode(&bad).unwrap_err().0.contains("format version 9"));
        let mut extra = blob;
        extra.push(0);
        assert!(decode(&extra).is_err());
    }

    #[test]
    fn any_changed_byte_decodes_or_errors_without_panicking() {
        let mut encoder = Encoder::default();
        encoder.begin();
        for i in 0..6 {
            encoder.push(&call(i, [ItemKind::CallFinished, ItemKind::CallStarted][i as usize % 2]));
        }
        let blob = encoder.finish().to_vec();
        for at in 0..blob.len() {
            for value in [0u8, 1, 2, 0x7f, 0x80, 0xff, blob[at] ^ 0x55] {
                let mut changed = blob.clone();
                changed[at] = value;
                let _ = decode(&changed);
            }
        }
    }

    #[test]
    fn zigzag_round_trips() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 12345, -98765] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
