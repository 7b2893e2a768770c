//! Map keys: strings as they are; numbers, bools, chars, unit variants and
//! newtype wrappers of those stringified. Sequence/map keys set
//! `State::complex_key` and fail, and the map then writes their compact JSON
//! text as the key (see `Compound::key`).

use std::fmt::Display;

use serde::ser::{self, Impossible, Serialize};

use super::state::{Error, State, Written};
use super::write::{self, stack_used, SERIALIZE_STACK_BUDGET};

/// Serializes one map key as a JSON string.
pub(crate) struct KeySerializer<'s, 'a> {
    pub(crate) st: &'s mut State<'a>,
}

impl KeySerializer<'_, '_> {
    fn quoted(self, f: impl FnOnce(&mut Vec<u8>)) -> Result<Written, Error> {
        self.st.buf.push(b'"');
        f(self.st.buf);
        self.st.buf.push(b'"');
        Ok(Written(()))
    }

    fn complex<T>(self) -> Result<T, Error> {
        self.st.complex_key = true;
        Err(ser::Error::custom("key must be a string"))
    }
}

type Reject = Impossible<Written, Error>;

impl ser::Serializer for KeySerializer<'_, '_> {
    type Ok = Written;
    type Error = Error;
    type SerializeSeq = Reject;
    type SerializeTuple = Reject;
    type SerializeTupleStruct = Reject;
    type SerializeTupleVariant = Reject;
    type SerializeMap = Reject;
    type SerializeStruct = Reject;
    type SerializeStructVariant = Reject;

    fn serialize_bool(self, v: bool) -> Result<Written, Error> {
        self.quoted(|b| b.extend_from_slice(if v { b"true" as &[u8] } else { b"false" }))
    }
    fn serialize_i8(self, v: i8) -> Result<Written, Error> {
        self.quoted(|b| write::int(b, v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Written, Error> {
        self.quoted(|b| write::int(b, v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Written, Error> {
        self.quoted(|b| write::int(b, v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Written, Error> {
        self.quoted(|b| write::int(b, v))
    }
    fn serialize_i128(self, v: i128) -> Result<Written, Error> {
        self.quoted(|b| write::int128(b, v))
    }
    fn serialize_u8(self, v: u8) -> Result<Written, Error> {
        self.quoted(|b| write::uint(b, v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Written, Error> {
        self.quoted(|b| write::uint(b, v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Written, Error> {
        self.quoted(|b| write::uint(b, v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Written, Error> {
        self.quoted(|b| write::uint(b, v))
    }
    fn serialize_u128(self, v: u128) -> Result<Written, Error> {
        self.quoted(|b| write::uint128(b, v))
    }
    fn serialize_f32(self, v: f32) -> Result<Written, Error> {
        // As `serialize_f64`, at the `f32`'s own precision (`0.2`, not `0.20000000298023224`).
        self.quoted(|b| {
            if v.is_nan() {
                b.extend_from_slice(b"NaN");
            } else if v.is_infinite() {
                b.extend_from_slice(if v > 0.0 { b"inf" as &[u8] } else { b"-inf" });
            } else {
                write::float32(b, v);
            }
        })
    }
    fn serialize_f64(self, v: f64) -> Result<Written, Error> {
        self.quoted(|b| {
            if v.is_nan() {
                b.extend_from_slice(b"NaN");
            } else if v.is_infinite() {
                b.extend_from_slice(if v > 0.0 { b"inf" as &[u8] } else { b"-inf" });
            } else {
                write::float64(b, v);
            }
        })
    }
    fn serialize_char(self, v: char) -> Result<Written, Error> {
        let mut tmp = [0u8; 4];
        self.serialize_str(v.encode_utf8(&mut tmp))
    }
    fn serialize_str(self, v: &str) -> Result<Written, Error> {
        let limit = self.st.limit;
        if write::string_limited(self.st.buf, v, limit) {
            self.st.truncated = true;
        }
        Ok(Written(()))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Written, Error> {
        self.complex()
    }
    fn serialize_none(self) -> Result<Written, Error> {
        self.quoted(|b| b.extend_from_slice(b"null"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Written, Error> {
        if stack_used(self.st.stack_base) > SERIALIZE_STACK_BUDGET {
            return self.complex();
        }
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Written, Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Written, Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<Written, Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, v: &T) -> Result<Written, Error> {
        if stack_used(self.st.stack_base) > SERIALIZE_STACK_BUDGET {
            return self.complex();
        }
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<Written, Error> {
        self.complex()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Reject, Error> {
        self.complex()
    }
    fn serialize_tuple(self, _len: usize) -> Result<Reject, Error> {
        self.complex()
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Reject, Error> {
        self.complex()
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Reject, Error> {
        self.complex()
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Reject, Error> {
        self.complex()
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Reject, Error> {
        self.complex()
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Reject, Error> {
        self.complex()
    }
    fn collect_str<T: Display + ?Sized>(self, v: &T) -> Result<Written, Error> {
        self.st.display_value(v);
        Ok(Written(()))
    }
}

/// Takes the string a serde_json `RawValue` serializes its text as.
pub(crate) struct StrExtractor<'o> {
    pub(crate) out: &'o mut Option<String>,
}

type RejectUnit = Impossible<(), Error>;

macro_rules! reject {
    ($($name:ident($($arg:ty),*);)*) => {$(
        fn $name(self, $(_: $arg),*) -> Result<(), Error> {
            Err(Error::abort())
        }
    )*};
}

impl ser::Serializer for StrExtractor<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = RejectUnit;
    type SerializeTuple = RejectUnit;
    type SerializeTupleStruct = RejectUnit;
    type SerializeTupleVariant = RejectUnit;
    type SerializeMap = RejectUnit;
    type SerializeStruct = RejectUnit;
    type SerializeStructVariant = RejectUnit;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        *self.out = Some(v.to_owned());
        Ok(())
    }
    reject! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result<(), Error> {
        Err(Error::abort())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, _v: &T) -> Result<(), Error> {
        Err(Error::abort())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<(), Error> {
        Err(Error::abort())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<RejectUnit, Error> {
        Err(Error::abort())
    }
    fn serialize_tuple(self, _len: usize) -> Result<RejectUnit, Error> {
        Err(Error::abort())
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<RejectUnit, Error> {
        Err(Error::abort())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<RejectUnit, Error> {
        Err(Error::abort())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<RejectUnit, Error> {
        Err(Error::abort())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<RejectUnit, Error> {
        Err(Error::abort())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<RejectUnit, Error> {
        Err(Error::abort())
    }
}
