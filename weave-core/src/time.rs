//! Timestamps: microseconds since the unix epoch, written as Weave writes them
//! (`2026-11-23T14:33:58.493548Z`).

use crate::digits::DIGIT_PAIRS;
use std::fmt;

/// A point in time, in microseconds since the unix epoch (UTC).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time (one clock read).
    #[inline]
    pub fn now() -> Timestamp {
        Timestamp(crate::clock::now_micros())
    }

    /// A timestamp from microseconds since the epoch.
    pub fn from_unix_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    /// Microseconds since the epoch.
    pub fn unix_micros(self) -> i64 {
        self.0
    }

    /// Milliseconds since the epoch (0 before the epoch).
    pub fn unix_millis(self) -> u64 {
        (self.0.max(0) / 1000) as u64
    }

    /// Parses an ISO-8601 UTC timestamp such as `2026-11-23T14:33:58.493548Z` (the `Z` and
    /// the fraction are optional; a `+00:00` offset is accepted).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let text = text.strip_suffix('Z').or_else(|| text.strip_suffix("+00:00")).unwrap_or(text);
        let (date, time) = text.split_once(['T', ' '])?;
        let mut date_parts = date.splitn(3, '-');
        let year: i64 = date_parts.next()?.parse().ok()?;
        let month: u32 = date_parts.next()?.parse().ok()?;
        let day: u32 = date_parts.next()?.parse().ok()?;
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, frac),
            None => (time, ""),
        };
        let mut time_parts = hms.splitn(3, ':');
        let hour: i64 = time_parts.next()?.parse().ok()?;
        let minute: i64 = time_parts.next()?.parse().ok()?;
        let second: i64 = time_parts.next()?.parse().ok()?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut micros: i64 = 0;
        let mut digits = 0;
        for c in frac.chars() {
            let d = c.to_digit(10)? as i64;
            if digits < 6 {
                micros = micros * 10 + d;
                digits += 1;
            }
        }
        while digits < 6 {
            micros *= 10;
            digits += 1;
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
        Some(Timestamp(secs * 1_000_000 + micros))
    }
}

impl Timestamp {
    /// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 bytes) into `out`; `false` (and nothing
    /// written) for a year outside 0..=9999, which needs more digits or a sign.
    pub fn encode(self, out: &mut [u8; 27]) -> bool {
        let (y, m, d) = civil_from_days(self.0.div_euclid(1_000_000).div_euclid(86_400));
        if !(0..=9999).contains(&y) {
            return false;
        }
        fixed_width_digits(&mut out[0..4], y as u32);
        fixed_width_digits(&mut out[5..7], m);
        fixed_width_digits(&mut out[8..10], d);
        for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T')] {
            out[at] = c;
        }
        self.encode_time_of_day(out);
        true
    }

    /// Writes the time-of-day part, `HH:MM:SS.ffffffZ`, at `out[11..]`.
    fn encode_time_of_day(self, out: &mut [u8; 27]) {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000) as u32;
        let rem = secs.rem_euclid(86_400) as u32;
        fixed_width_digits(&mut out[11..13], rem / 3600);
        fixed_width_digits(&mut out[14..16], (rem % 3600) / 60);
        fixed_width_digits(&mut out[17..19], rem % 60);
        fixed_width_digits(&mut out[20..26], micros);
        for (at, c) in [(13, b':'), (16, b':'), (19, b'.'), (26, b'Z')] {
            out[at] = c;
        }
    }
}

/// Writes timestamps as their `Display` does (`2026-11-23T14:33:58.493548Z`), reusing
/// all but the microseconds while the second is the same: the calls an exporter encodes
/// together mostly start and end within one second, so each costs six digits.
#[derive(Debug, Clone, Default)]
pub struct TimestampWriter {
    /// The unix second last written, with its text up to the microseconds
    /// (`2026-11-23T14:33:58.`).
    last: Option<(i64, [u8; 20])>,
}

impl TimestampWriter {
    /// Appends the text of `t` to `out`.
    ///
    /// ```
    /// use weave_core::time::{Timestamp, TimestampWriter};
    /// let mut writer = TimestampWriter::default();
    /// let mut out = Vec::new();
    /// writer.write(Timestamp::from_unix_micros(1_795_790_038_493_548), &mut out);
    /// assert_eq!(out, b"2026-11-27T14:33:58.493548Z");
    /// ```
    pub fn write(&mut self, t: Timestamp, out: &mut Vec<u8>) {
        let second = t.0.div_euclid(1_000_000);
        let prefix = match &self.last {
            Some((last, prefix)) if *last == second => prefix,
            _ => {
                let mut buf = [0u8; 27];
                if !t.encode(&mut buf) {
                    // A year outside 0..=9999: the general form.
                    out.extend_from_slice(t.to_string().as_bytes());
                    return;
                }
                let mut prefix = [0u8; 20];
                prefix.copy_from_slice(&buf[..20]);
                &self.last.insert((second, prefix)).1
            }
        };
        let mut rest = [b'Z'; 7];
        fixed_width_digits(&mut rest[..6], t.0.rem_euclid(1_000_000) as u32);
        out.extend_from_slice(prefix);
        out.extend_from_slice(&rest);
    }
}

/// Writes `v` in decimal into all of `out`, zero-padded (the leading digits are cut if it
/// does not fit), two digits at a time from the end.
fn fixed_width_digits(out: &mut [u8], mut v: u32) {
    let mut pairs = out.rchunks_exact_mut(2);
    for pair in &mut pairs {
        let at = (v % 100) as usize * 2;
        pair.copy_from_slice(&DIGIT_PAIRS[at..at + 2]);
        v /= 100;
    }
    if let [digit] = pairs.into_remainder() {
        *digit = b'0' + (v % 10) as u8;
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 27];
        if self.encode(&mut buf) {
            // ASCII digits and separators only.
            return f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?);
        }
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            y,
            m,
            d,
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60,
            micros
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 27];
        if self.encode(&mut buf) {
            if let Ok(text) = std::str::from_utf8(&buf) {
                return serializer.serialize_str(text);
            }
        }
        serializer.collect_str(self)
    }
}

// Howard Hinnant's civil calendar algorithms.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_formats_like_display() {
        let mut writer = TimestampWriter::default();
        for micros in [0, 1, 999_999, 1_000_000, 1_795_790_038_123_456, 1_795_790_039_000_001, -1, -1_000_001] {
            let ts = Timestamp::from_unix_micros(micros);
            let mut out = Vec::new();
            writer.write(ts, &mut out);
            assert_eq!(String::from_utf8(out).expect("ASCII"), ts.to_string(), "{micros}");
        }
    }

    #[test]
    fn formats_like_weave() {
        let t = Timestamp::from_unix_micros(1_795_790_038_493_548);
        assert_eq!(t.to_string(), "2026-11-27T14:33:58.493548Z");
        assert_eq!(Timestamp::from_unix_micros(0).to_string(), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn parses_what_it_writes() {
        for micros in [0i64, 1, 951_782_400_000_000, 1_795_790_038_493_548, 4_102_444_799_999_999] {
            let t = Timestamp::from_unix_micros(micros);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        }
        assert_eq!(Timestamp::parse("2026-11-23T14:33:58.49"), Timestamp::parse("2026-11-23T14:33:58.490000Z"));
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn years_outside_four_digits_still_format() {
        let far = Timestamp::from_unix_micros(300_000_000_000_000_000);
        assert!(!far.encode(&mut [0u8; 27]));
        assert!(far.to_string().starts_with("11476-"), "{far}");
        let before = Timestamp::from_unix_micros(-62_200_000_000_000_000);
        assert!(before.to_string().starts_with('-'), "{before}");
        assert_eq!(serde_json::to_string(&Timestamp::from_unix_micros(0)).unwrap(), "\"1970-01-01T00:00:00.000000Z\"");
    }
}
