//! Timestamps: integer milliseconds since the Unix epoch inside the system,
//! RFC 3339 UTC with milliseconds (`2026-05-01T12:00:00.000Z`) on the wire.
//!
//! The proleptic Gregorian arithmetic is done here (days ↔ civil dates), so the
//! wire format needs no date library; time zones are `jiff`'s.

use serde::{Serialize, Serializer};
use std::fmt;

const EPOCH_TEXT: &str = "1970-01-01T00:00:00.000Z";
const MS_PER_DAY: i64 = 86_400_000;
/// Years a timestamp can be written in (four digits, optionally negative).
const YEARS: std::ops::RangeInclusive<i64> = -9999..=9999;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day number since 1970-01-01 (`civil_from_days`).
pub(crate) const fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (if month <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, month, day)
}

pub(crate) const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `n` ASCII digits at `at` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    b.get(at..at + n)?.iter().try_fold(0i64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
}

/// A point in time with millisecond precision, always UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// The instant of a UTC calendar date and clock time; `None` when a field is out of range.
    pub fn from_utc(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<Self> {
        let valid = YEARS.contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && (0..24).contains(&hour)
            && (0..60).contains(&minute)
            && (0..60).contains(&second);
        valid.then(|| Self((days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second) * 1000))
    }

    /// `(year, month, day)` in UTC; `None` outside the years -9999..=9999.
    pub(crate) fn utc_date(self) -> Option<(i64, i64, i64)> {
        let date = civil_from_days(self.0.div_euclid(MS_PER_DAY));
        YEARS.contains(&date.0).then_some(date)
    }

    /// Formats as RFC 3339 UTC with exactly three fractional digits
    /// (the epoch for an instant outside the years -9999..=9999).
    pub fn to_rfc3339(self) -> String {
        let Some((year, month, day)) = self.utc_date() else { return EPOCH_TEXT.into() };
        let ms = self.0.rem_euclid(MS_PER_DAY);
        let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        let sign = if year < 0 { "-" } else { "" };
        format!("{sign}{:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{frac:03}Z", year.abs())
    }

    /// Parses an RFC 3339 timestamp (any offset, any fraction length) and
    /// truncates to milliseconds: `YYYY-MM-DD`, one separator character
    /// (`T`, a space, …), `hh:mm:ss`, an optional `.` and digits, then `Z`/`z`
    /// or `±hh:mm`. A leap second (`:60`) stands for the last millisecond of
    /// the month's last minute in UTC.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let year = digits(b, 0, 4)?;
        (b.get(4)? == &b'-').then_some(())?;
        let month = digits(b, 5, 2)?;
        (b.get(7)? == &b'-').then_some(())?;
        let day = digits(b, 8, 2)?;
        b.get(10)?; // any one separator byte
        let hour = digits(b, 11, 2)?;
        (b.get(13)? == &b':').then_some(())?;
        let minute = digits(b, 14, 2)?;
        (b.get(16)? == &b':').then_some(())?;
        let second = digits(b, 17, 2)?;
        let mut at = 19;
        let mut nanos: i64 = 0;
        if b.get(at) == Some(&b'.') {
            at += 1;
            let first = at;
            let mut scale = 100_000_000;
            while let Some(d) = b.get(at).filter(|d| d.is_ascii_digit()) {
                nanos += i64::from(d - b'0') * scale;
                scale /= 10;
                at += 1;
            }
            (at > first).then_some(())?;
        }
        let offset_secs = match *b.get(at)? {
            b'Z' | b'z' => {
                at += 1;
                0
            }
            sign @ (b'+' | b'-') => {
                let h = digits(b, at + 1, 2).filter(|h| *h <= 23)?;
                (b.get(at + 3)? == &b':').then_some(())?;
                let m = digits(b, at + 4, 2).filter(|m| *m <= 59)?;
                at += 6;
                if sign == b'-' { -(h * 3_600 + m * 60) } else { h * 3_600 + m * 60 }
            }
            _ => return None,
        };
        (at == b.len()).then_some(())?;
        let leap = second == 60;
        let local = Self::from_utc(year, month, day, hour, minute, if leap { 59 } else { second })?;
        let (secs, nanos) = (local.0 / 1000 - offset_secs, if leap { 999_999_999 } else { nanos });
        if leap {
            // Only as the last second of a month, in UTC.
            let utc = Self(secs * 1000);
            let (y, m, d) = utc.utc_date()?;
            (secs.rem_euclid(86_400) == 86_399 && d == days_in_month(y, m)).then_some(())?;
        }
        // Truncated toward zero, as before.
        let ms = (i128::from(secs) * 1_000_000_000 + i128::from(nanos)) / 1_000_000;
        i64::try_from(ms).ok().map(Self)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_z() {
        assert_eq!(Timestamp::from_millis(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::from_millis(1_777_636_800_123).to_rfc3339(), "2026-05-01T12:00:00.123Z");
    }

    #[test]
    fn parses_round_trip_and_offsets() {
        let t = Timestamp::parse_rfc3339("2026-05-01T12:00:00.123Z").unwrap();
        assert_eq!(t.as_millis(), 1_777_636_800_123);
        let shifted = Timestamp::parse_rfc3339("2026-05-01T14:00:00.123+02:00").unwrap();
        assert_eq!(shifted, t);
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn parses_what_rfc_3339_allows_and_nothing_else() {
        let t = |s: &str| Timestamp::parse_rfc3339(s).map(Timestamp::as_millis);
        assert_eq!(t("2026-05-01 12:00:00.1239z"), Some(1_777_636_800_123));
        assert_eq!(t("2026-12-31T23:59:60Z"), t("2026-12-31T23:59:59.999Z"));
        assert_eq!(t("2027-01-01T00:59:60+01:00"), t("2026-12-31T23:59:59.999Z"));
        assert_eq!(t("1969-12-31T23:59:59.9995Z"), Some(0), "truncated toward zero");
        for bad in [
            "2026-11-29T23:59:60Z",
            "2026-02-29T00:00:00Z",
            "2026-05-01T12:00Z",
            "2026-05-01T12:00:00",
            "2026-05-01T12:00:00+24:00",
            "2026-05-01T12:00:00.Z",
            "2026-05-01T12:00:00Z ",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_dates_round_trip_and_out_of_range_formats_as_the_epoch() {
        for days in [-3_652_059, -719_468, -1, 0, 1, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(Timestamp::from_utc(2024, 2, 29, 23, 59, 59).unwrap().to_rfc3339(), "2024-02-29T23:59:59.000Z");
        assert_eq!(Timestamp::from_millis(-62_167_219_200_001).to_rfc3339(), "-0001-12-31T23:59:59.999Z");
        assert_eq!(Timestamp::from_millis(i64::MAX).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert!(Timestamp::from_utc(2023, 2, 29, 0, 0, 0).is_none());
    }
}
