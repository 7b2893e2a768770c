//! The JSON-writing `serde::Serializer` adapter.
//!
//! [`State`] (`state.rs`) holds the output buffer and the limits of one
//! captured value; `&mut State` is the `Serializer`, defined here. Every nested value (sequence element,
//! map key/value, struct field, variant payload) goes through
//! [`State::nested`], which catches errors and panics of that value, rewinds
//! the buffer to where it started and writes a marker in its place, so one
//! bad field only spoils itself.
//!
//! Once the output exceeds `max_value_bytes`, strings are cut and each open
//! container closes itself with a marker and returns [`Error`] (abort) to
//! its caller; the error travels up through the user's `Serialize` impls and
//! every enclosing container closes itself the same way, so the output stays
//! valid JSON without iterating over the remaining elements.

use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::ser::{self, Serialize};

use super::config::CaptureConfig;
use super::keys::{KeySerializer, StrExtractor};
use super::state::{Error, State, Written};
use super::write::{self, stack_used, SERIALIZE_STACK_BUDGET};

/// Name serde_json gives the struct a `RawValue` serializes as.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Appends `v` to `buf` as JSON through its `Serialize` impl, within `cfg`'s limits; a
/// value that fails or panics is rewound and replaced by a marker.
#[inline]
pub(crate) fn write_serialized<T: Serialize + ?Sized>(cfg: &CaptureConfig, buf: &mut Vec<u8>, v: &T) {
    State::new(cfg, buf).top(v);
}

/// How one nested value ended.
enum Outcome {
    Ok,
    /// The size limit aborted the enclosing container.
    Abort,
}

/// Walking a value: the top-level value, the nested ones, the containers.
impl<'a> State<'a> {
    /// Serializes the top-level value; on failure rewinds and writes a marker.
    fn top<T: Serialize + ?Sized>(&mut self, v: &T) {
        let start = self.buf.len();
        let r = catch_unwind(AssertUnwindSafe(|| v.serialize(&mut *self)));
        let balanced = self.open == 0;
        match r {
            Ok(Ok(Written(()))) if balanced => {}
            Ok(Err(_)) if self.aborted && balanced => {}
            Ok(_) if self.aborted => {
                self.reset(start, 0, 0);
                write::size_marker(self.buf, self.cfg.max_value_bytes);
            }
            Ok(Ok(_)) => {
                self.reset(start, 0, 0);
                error_marker::<T>(self.buf, "unbalanced output");
            }
            Ok(Err(e)) => {
                self.reset(start, 0, 0);
                error_marker::<T>(self.buf, &e.to_string());
            }
            Err(payload) => {
                self.reset(start, 0, 0);
                panic_marker::<T>(self.buf, payload);
            }
        }
    }

    /// Serializes one nested value, containing its errors and panics.
    fn nested<T: Serialize + ?Sized>(&mut self, v: &T) -> Outcome {
        let (mark, open, depth) = (self.buf.len(), self.open, self.depth);
        let r = catch_unwind(AssertUnwindSafe(|| v.serialize(&mut *self)));
        let balanced = self.open == open;
        match r {
            Ok(Ok(Written(()))) if balanced => Outcome::Ok,
            Ok(_) if self.aborted => {
                if !balanced {
                    self.reset(mark, open, depth);
                    write::size_marker(self.buf, self.cfg.max_value_bytes);
                }
                Outcome::Abort
            }
            Ok(Ok(_)) => {
                self.reset(mark, open, depth);
                error_marker::<T>(self.buf, "unbalanced output");
                Outcome::Ok
            }
            Ok(Err(e)) => {
                self.reset(mark, open, depth);
                error_marker::<T>(self.buf, &e.to_string());
                Outcome::Ok
            }
            Err(payload) => {
                self.reset(mark, open, depth);
                panic_marker::<T>(self.buf, payload);
                Outcome::Ok
            }
        }
    }

    /// Opens a container: checks depth and stack, writes `open_bytes`.
    fn open(&mut self, kind: Kind, open_bytes: &[u8]) -> Compound<'_, 'a> {
        if self.depth >= self.cfg.max_depth {
            write::depth_marker(self.buf, self.cfg.max_depth);
            return Compound::skip(self);
        }
        if stack_used(self.stack_base) > SERIALIZE_STACK_BUDGET {
            write::stack_marker(self.buf);
            return Compound::skip(self);
        }
        self.buf.extend_from_slice(open_bytes);
        self.depth += 1;
        self.open += 1;
        Compound { st: self, kind, first: true, closed: false, skip: false, pending_value: false, redact_value: false }
    }

    /// Opens `{"variant":` and returns the variant's header state.
    fn open_variant(&mut self, variant: &str, kind: Kind) -> Compound<'_, 'a> {
        if self.depth >= self.cfg.max_depth {
            write::depth_marker(self.buf, self.cfg.max_depth);
            return Compound::skip(self);
        }
        self.buf.push(b'{');
        write::string(self.buf, variant);
        self.buf.push(b':');
        let c = self.open(kind, if matches!(kind, Kind::SeqInVariant) { b"[" } else { b"{" });
        if c.skip {
            // The payload became a marker; close the variant object.
            c.st.buf.push(b'}');
        }
        c
    }
}

/// Writes `"[weave: could not serialize <T>: <msg>]"`.
pub(crate) fn error_marker<T: ?Sized>(buf: &mut Vec<u8>, msg: &str) {
    write::marker(buf, &["[weave: could not serialize ", std::any::type_name::<T>(), ": ", msg, "]"]);
}

/// Writes `"[weave: serializing <T> panicked: <msg>]"`.
pub(crate) fn panic_marker<T: ?Sized>(buf: &mut Vec<u8>, payload: Box<dyn std::any::Any + Send>) {
    let msg = write::panic_message(payload);
    write::marker(buf, &["[weave: serializing ", std::any::type_name::<T>(), " panicked: ", &msg, "]"]);
}

/// The JSON shape of an open container.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Seq,
    Map,
    SeqInVariant,
    MapInVariant,
    /// A serde_json `RawValue`: its one field is the raw JSON text.
    Raw,
}

/// An open container (sequence, tuple, map, struct or variant payload).
pub(crate) struct Compound<'s, 'a> {
    st: &'s mut State<'a>,
    kind: Kind,
    first: bool,
    /// Already closed (by `end` or by the size limit).
    closed: bool,
    /// Too deep: the marker was written; elements are ignored.
    skip: bool,
    /// A map key was written and its value not yet.
    pending_value: bool,
    /// The pending key is redacted.
    redact_value: bool,
}

impl<'s, 'a> Compound<'s, 'a> {
    fn skip(st: &'s mut State<'a>) -> Self {
        Compound {
            st,
            kind: Kind::Seq,
            first: true,
            closed: true,
            skip: true,
            pending_value: false,
            redact_value: false,
        }
    }

    fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map | Kind::MapInVariant)
    }

    fn closer(&self) -> &'static [u8] {
        match self.kind {
            Kind::Seq => b"]",
            Kind::Map => b"}",
            Kind::SeqInVariant => b"]}",
            Kind::MapInVariant => b"}}",
            Kind::Raw => b"",
        }
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        if self.pending_value {
            self.st.buf.extend_from_slice(b"null");
            self.pending_value = false;
        }
        self.st.buf.extend_from_slice(self.closer());
        self.closed = true;
        self.st.open -= 1;
        self.st.depth -= 1;
    }

    /// Closes with the size marker as last element and reports the abort.
    fn abort(&mut self) -> Result<(), Error> {
        if !self.closed {
            if self.pending_value {
                self.st.buf.extend_from_slice(b"null");
                self.pending_value = false;
            }
            if self.kind == Kind::Raw {
                if self.first {
                    write::size_marker(self.st.buf, self.st.cfg.max_value_bytes);
                }
            } else {
                if !self.first {
                    self.st.buf.push(b',');
                }
                if self.is_map() {
                    self.st.buf.extend_from_slice(b"\"_weave_truncated\":");
                }
                write::size_marker(self.st.buf, self.st.cfg.max_value_bytes);
            }
            self.close();
        }
        self.st.aborted = true;
        Err(Error::abort())
    }

    /// Common checks before an element: `Ok(false)` to ignore it.
    #[inline]
    fn before_element(&mut self) -> Result<bool, Error> {
        if self.skip {
            return Ok(false);
        }
        if self.closed {
            return Err(Error::abort());
        }
        if self.st.over() {
            return self.abort().map(|()| false);
        }
        Ok(true)
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        if !self.before_element()? {
            return Ok(());
        }
        if self.is_map() {
            // An element in a map position (misuse): give it a key.
            return self.field("_weave_element", v);
        }
        if !self.first {
            self.st.buf.push(b',');
        }
        self.first = false;
        match self.st.nested(v) {
            Outcome::Ok => Ok(()),
            Outcome::Abort => self.abort(),
        }
    }

    fn key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Error> {
        if !self.before_element()? {
            return Ok(());
        }
        if !self.is_map() {
            return Ok(());
        }
        if self.pending_value {
            self.st.buf.extend_from_slice(b"null");
            self.pending_value = false;
        }
        let mark = self.st.buf.len();
        if !self.first {
            self.st.buf.push(b',');
        }
        let key_start = self.st.buf.len();
        self.st.complex_key = false;
        let r = catch_unwind(AssertUnwindSafe(|| k.serialize(KeySerializer { st: &mut *self.st })));
        let complex = std::mem::replace(&mut self.st.complex_key, false);
        match r {
            Ok(Ok(Written(()))) if !complex => {
                let end = self.st.buf.len().saturating_sub(1);
                let key = self.st.buf.get(key_start + 1..end).unwrap_or_default();
                self.redact_value = self.st.cfg.is_redacted_key_bytes(key);
            }
            Ok(_) if complex => {
                // A sequence/map key: its compact JSON text becomes the key.
                self.st.buf.truncate(key_start);
                let outcome = self.st.nested(k);
                let text = self.st.buf.split_off(key_start);
                if let Outcome::Abort = outcome {
                    self.st.buf.truncate(mark);
                    return self.abort();
                }
                let text = String::from_utf8_lossy(&text);
                write::string(self.st.buf, &text);
                self.redact_value = false;
            }
            Ok(Err(e)) => {
                self.st.buf.truncate(key_start);
                key_marker::<T>(self.st.buf, "could not serialize", &e.to_string());
                self.redact_value = false;
            }
            Ok(Ok(_)) => {
                self.st.buf.truncate(key_start);
                key_marker::<T>(self.st.buf, "could not serialize", "invalid key");
                self.redact_value = false;
            }
            Err(payload) => {
                self.st.buf.truncate(key_start);
                let msg = write::panic_message(payload);
                key_marker::<T>(self.st.buf, "panicked serializing", &msg);
                self.redact_value = false;
            }
        }
        self.st.buf.push(b':');
        self.first = false;
        self.pending_value = true;
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        if self.skip {
            return Ok(());
        }
        if self.closed {
            return Err(Error::abort());
        }
        if !self.is_map() {
            return Ok(());
        }
        if !self.pending_value {
            // A value without a key (misuse).
            return self.field("_weave_value", v);
        }
        self.pending_value = false;
        if self.redact_value {
            self.st.redacted();
            return Ok(());
        }
        match self.st.nested(v) {
            Outcome::Ok => Ok(()),
            Outcome::Abort => self.abort(),
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), Error> {
        if !self.before_element()? {
            return Ok(());
        }
        if self.kind == Kind::Raw {
            return self.raw_field(v);
        }
        if !self.is_map() {
            return self.element(v);
        }
        if self.pending_value {
            self.st.buf.extend_from_slice(b"null");
            self.pending_value = false;
        }
        if !self.first {
            self.st.buf.push(b',');
        }
        self.first = false;
        write::string(self.st.buf, key);
        self.st.buf.push(b':');
        if self.st.cfg.is_redacted_key(key) {
            self.st.redacted();
            return Ok(());
        }
        match self.st.nested(v) {
            Outcome::Ok => Ok(()),
            Outcome::Abort => self.abort(),
        }
    }

    /// The text field of a serde_json `RawValue`: written verbatim if it is
    /// valid JSON and fits.
    fn raw_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        if !self.first {
            return Ok(());
        }
        self.first = false;
        let mut text = None;
        let _ = catch_unwind(AssertUnwindSafe(|| v.serialize(StrExtractor { out: &mut text })));
        let st = &mut *self.st;
        match text {
            Some(t) if serde_json::from_str::<&serde_json::value::RawValue>(&t).is_ok() => {
                if st.buf.len().saturating_add(t.len()) > st.limit {
                    write::size_marker(st.buf, st.cfg.max_value_bytes);
                    st.truncated = true;
                } else {
                    st.buf.extend_from_slice(t.trim().as_bytes());
                }
            }
            _ => write::marker(st.buf, &["[weave: could not serialize raw JSON value]"]),
        }
        Ok(())
    }

    fn end(mut self) -> Result<Written, Error> {
        if self.kind == Kind::Raw && !self.skip && !self.closed && self.first {
            self.st.buf.extend_from_slice(b"null");
        }
        self.close();
        Ok(Written(()))
    }
}

/// Writes a marker in a key position.
fn key_marker<T: ?Sized>(buf: &mut Vec<u8>, what: &str, msg: &str) {
    write::marker(buf, &["[weave: ", what, " key ", std::any::type_name::<T>(), ": ", msg, "]"]);
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = Written;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.element(v)
    }
    fn end(self) -> Result<Written, Error> {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = Written;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.element(v)
    }
    fn end(self) -> Result<Written, Error> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = Written;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.element(v)
    }
    fn end(self) -> Result<Written, Error> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = Written;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.element(v)
    }
    fn end(self) -> Result<Written, Error> {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = Written;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Error> {
        self.key(k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.value(v)
    }
    fn end(self) -> Result<Written, Error> {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = Written;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Error> {
        self.field(key, v)
    }
    fn end(self) -> Result<Written, Error> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = Written;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Error> {
        self.field(key, v)
    }
    fn end(self) -> Result<Written, Error> {
        Compound::end(self)
    }
}

impl<'s, 'a> ser::Serializer for &'s mut State<'a> {
    type Ok = Written;
    type Error = Error;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = Compound<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    fn serialize_bool(self, v: bool) -> Result<Written, Error> {
        self.buf.extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(Written(()))
    }
    fn serialize_i8(self, v: i8) -> Result<Written, Error> {
        write::int(self.buf, v.into());
        Ok(Written(()))
    }
    fn serialize_i16(self, v: i16) -> Result<Written, Error> {
        write::int(self.buf, v.into());
        Ok(Written(()))
    }
    fn serialize_i32(self, v: i32) -> Result<Written, Error> {
        write::int(self.buf, v.into());
        Ok(Written(()))
    }
    fn serialize_i64(self, v: i64) -> Result<Written, Error> {
        write::int(self.buf, v);
        Ok(Written(()))
    }
    fn serialize_i128(self, v: i128) -> Result<Written, Error> {
        write::int128(self.buf, v);
        Ok(Written(()))
    }
    fn serialize_u8(self, v: u8) -> Result<Written, Error> {
        write::uint(self.buf, v.into());
        Ok(Written(()))
    }
    fn serialize_u16(self, v: u16) -> Result<Written, Error> {
        write::uint(self.buf, v.into());
        Ok(Written(()))
    }
    fn serialize_u32(self, v: u32) -> Result<Written, Error> {
        write::uint(self.buf, v.into());
        Ok(Written(()))
    }
    fn serialize_u64(self, v: u64) -> Result<Written, Error> {
        write::uint(self.buf, v);
        Ok(Written(()))
    }
    fn serialize_u128(self, v: u128) -> Result<Written, Error> {
        write::uint128(self.buf, v);
        Ok(Written(()))
    }
    fn serialize_f32(self, v: f32) -> Result<Written, Error> {
        write::float32(self.buf, v);
        Ok(Written(()))
    }
    fn serialize_f64(self, v: f64) -> Result<Written, Error> {
        write::float64(self.buf, v);
        Ok(Written(()))
    }
    fn serialize_char(self, v: char) -> Result<Written, Error> {
        let mut tmp = [0u8; 4];
        self.str_value(v.encode_utf8(&mut tmp));
        Ok(Written(()))
    }
    fn serialize_str(self, v: &str) -> Result<Written, Error> {
        self.str_value(v);
        Ok(Written(()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Written, Error> {
        if self.depth >= self.cfg.max_depth {
            write::depth_marker(self.buf, self.cfg.max_depth);
            return Ok(Written(()));
        }
        self.buf.push(b'[');
        for (i, b) in v.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            if self.buf.len() > self.limit {
                write::size_marker(self.buf, self.cfg.max_value_bytes);
                self.truncated = true;
                break;
            }
            write::uint(self.buf, u64::from(*b));
        }
        self.buf.push(b']');
        Ok(Written(()))
    }
    fn serialize_none(self) -> Result<Written, Error> {
        self.buf.extend_from_slice(b"null");
        Ok(Written(()))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Written, Error> {
        if stack_used(self.stack_base) > SERIALIZE_STACK_BUDGET {
            write::stack_marker(self.buf);
            return Ok(Written(()));
        }
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Written, Error> {
        self.buf.extend_from_slice(b"null");
        Ok(Written(()))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Written, Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<Written, Error> {
        write::string(self.buf, variant);
        Ok(Written(()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, v: &T) -> Result<Written, Error> {
        if stack_used(self.stack_base) > SERIALIZE_STACK_BUDGET {
            write::stack_marker(self.buf);
            return Ok(Written(()));
        }
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Written, Error> {
        if self.depth >= self.cfg.max_depth {
            write::depth_marker(self.buf, self.cfg.max_depth);
            return Ok(Written(()));
        }
        if stack_used(self.stack_base) > SERIALIZE_STACK_BUDGET {
            write::stack_marker(self.buf);
            return Ok(Written(()));
        }
        self.buf.push(b'{');
        write::string(self.buf, variant);
        self.buf.push(b':');
        self.depth += 1;
        self.open += 1;
        let outcome = self.nested(v);
        self.buf.push(b'}');
        self.depth -= 1;
        self.open -= 1;
        match outcome {
            Outcome::Ok => Ok(Written(())),
            Outcome::Abort => Err(Error::abort()),
        }
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        Ok(self.open(Kind::Seq, b"["))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'s, 'a>, Error> {
        Ok(self.open(Kind::Seq, b"["))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'s, 'a>, Error> {
        Ok(self.open(Kind::Seq, b"["))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        Ok(self.open_variant(variant, Kind::SeqInVariant))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        Ok(self.open(Kind::Map, b"{"))
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Compound<'s, 'a>, Error> {
        if name == RAW_VALUE_TOKEN {
            return Ok(self.open(Kind::Raw, b""));
        }
        Ok(self.open(Kind::Map, b"{"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        Ok(self.open_variant(variant, Kind::MapInVariant))
    }
    fn collect_str<T: Display + ?Sized>(self, v: &T) -> Result<Written, Error> {
        self.display_value(v);
        Ok(Written(()))
    }
}
