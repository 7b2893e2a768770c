//! Ids for calls, traces and feedback: UUIDv7 as Weave uses them.
//!
//! The first 48 bits are the unix time in milliseconds, then the version nibble `7`, the
//! variant bits `10`, and random bits from a per-thread generator (seeded once per thread
//! from the OS), so making an id costs a few nanoseconds and never takes a lock.

use std::cell::Cell;
use std::fmt;

/// A UUIDv7 identifying a call, a trace or a feedback item.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(u128);

impl Id {
    /// A new UUIDv7 for the given unix time in milliseconds.
    pub fn new_v7(unix_ms: u64) -> Id {
        let rand = next_random_u128();
        let ts = ((unix_ms as u128) & 0xFFFF_FFFF_FFFF) << 80;
        let version = 0x7u128 << 76;
        // 12 random bits (rand_a) then variant `10` and 62 random bits (rand_b).
        let rand_a = (rand >> 64) & 0x0FFF;
        let rand_b = rand & 0x3FFF_FFFF_FFFF_FFFF;
        Id(ts | version | (rand_a << 64) | (0b10u128 << 62) | rand_b)
    }

    /// A new UUIDv7 for the current time.
    pub fn now_v7() -> Id {
        Id::new_v7(crate::time::Timestamp::now().unix_millis())
    }

    /// The id as a 128-bit integer.
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// An id from a 128-bit integer.
    pub fn from_u128(value: u128) -> Id {
        Id(value)
    }

    /// The unix time in milliseconds written into a UUIDv7.
    pub fn unix_millis(self) -> u64 {
        (self.0 >> 80) as u64
    }

    /// Parses the hyphenated form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case).
    pub fn parse(text: &str) -> Option<Id> {
        let bytes = text.as_bytes();
        if bytes.len() != 36 {
            return None;
        }
        let mut value: u128 = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return None;
                }
                continue;
            }
            let digit = (b as char).to_digit(16)?;
            value = (value << 4) | digit as u128;
        }
        Some(Id(value))
    }

    /// Writes the lowercase hyphenated form into a 36-byte buffer.
    ///
    /// Eight digits at a time, in the bits of a `u64` (every call's record has up to four
    /// ids, and exporters encode each of them).
    pub fn encode(self, out: &mut [u8; 36]) {
        let v = self.0;
        let [a, b, c, d] = [(v >> 96) as u32, (v >> 64) as u32, (v >> 32) as u32, v as u32].map(hex8);
        out[0..8].copy_from_slice(&a);
        out[8] = b'-';
        out[9..13].copy_from_slice(&b[..4]);
        out[13] = b'-';
        out[14..18].copy_from_slice(&b[4..]);
        out[18] = b'-';
        out[19..23].copy_from_slice(&c[..4]);
        out[23] = b'-';
        out[24..28].copy_from_slice(&c[4..]);
        out[28..36].copy_from_slice(&d);
    }
}

/// The eight lowercase hex digits of `w`, most significant first.
fn hex8(w: u32) -> [u8; 8] {
    // Spread the nibbles so that nibble k (from the least significant) is byte k.
    let mut x = u64::from(w);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    // Each byte is 0..=15: add '0', and 'a' - '0' - 10 more where it is 10 or above
    // (adding 6 carries into bit 4 exactly then; no byte overflows into the next).
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (x + 0x3030_3030_3030_3030 + letters * 0x27).to_be_bytes()
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 36];
        self.encode(&mut buf);
        // The buffer holds only ASCII hex digits and dashes.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 36];
        self.encode(&mut buf);
        match std::str::from_utf8(&buf) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.collect_str(self),
        }
    }
}

thread_local! {
    static RNG: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn seed() -> (u64, u64) {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to the clock and this thread's stack address.
        let now = crate::time::Timestamp::now().unix_micros() as u64;
        let local = 0u8;
        let addr = &local as *const u8 as u64;
        bytes[..8].copy_from_slice(&now.to_le_bytes());
        bytes[8..].copy_from_slice(&addr.rotate_left(17).to_le_bytes());
    }
    let a = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([1; 8]));
    let b = u64::from_le_bytes(bytes[8..].try_into().unwrap_or([2; 8]));
    (a | 1, b)
}

/// 128 random bits from this thread's generator (wyrand, two streams, seeded once per
/// thread from the OS): a few nanoseconds, no lock. The bits ids are made of; fine for
/// sampling or picking names, not for secrets.
///
/// ```
/// assert_ne!(weave_core::ids::next_random_u128(), weave_core::ids::next_random_u128());
/// ```
pub fn next_random_u128() -> u128 {
    RNG.with(|cell| {
        let (mut s1, mut s2) = cell.get();
        if s1 == 0 {
            (s1, s2) = seed();
        }
        s1 = s1.wrapping_add(0xa076_1d64_78bd_642f);
        s2 = s2.wrapping_add(0xe703_7ed1_a0b4_28db);
        cell.set((s1, s2));
        let a = wymix(s1, s1 ^ 0xe703_7ed1_a0b4_28db);
        let b = wymix(s2, s2 ^ 0x8ebc_6af0_9c88_c6e3);
        ((a as u128) << 64) | b as u128
    })
}

/// A random float in `[0, 1)`, for sampling.
pub(crate) fn next_random_f64() -> f64 {
    ((next_random_u128() >> 75) as u64) as f64 / (1u64 << 53) as f64
}

fn wymix(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    ((r >> 64) as u64) ^ (r as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_layout_and_round_trip() {
        let id = Id::new_v7(0x0123_4567_89ab);
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert!(text.starts_with("01234567-89ab-7"));
        assert!(matches!(text.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(Id::parse(&text), Some(id));
        assert_eq!(id.unix_millis(), 0x0123_4567_89ab);
        assert_ne!(Id::new_v7(1), Id::new_v7(1));
        assert_eq!(Id::parse("not-an-id"), None);
    }

    #[test]
    fn encoding_matches_the_digit_by_digit_form() {
        let slow = |v: u128| {
            let hex = format!("{v:032x}");
            format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
        };
        let mut values = vec![0u128, u128::MAX, 1, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210, 0xa5a5_5a5a << 64];
        values.extend((0..128).map(|bit| 1u128 << bit));
        values.extend((0..1000).map(|_| next_random_u128()));
        for v in values {
            assert_eq!(Id(v).to_string(), slow(v), "{v:#x}");
        }
    }

    #[test]
    fn random_floats_are_in_range() {
        for _ in 0..1000 {
            let x = next_random_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
