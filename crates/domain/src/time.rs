//! Timestamps: integer milliseconds since the Unix epoch inside the system,
//! RFC 3339 UTC with milliseconds (`2026-05-01T12:00:00.000Z`) on the wire.

use serde::{Serialize, Serializer};
use std::fmt;
use time::{OffsetDateTime, format_description::FormatItem, macros::format_description};

const WIRE_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

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

    /// Formats as RFC 3339 UTC with exactly three fractional digits.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(dt) => dt.format(WIRE_FORMAT).unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into()),
            Err(_) => "1970-01-01T00:00:00.000Z".into(),
        }
    }

    /// Parses any RFC 3339 timestamp (any offset) and truncates to milliseconds.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let dt = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
        let ms = dt.unix_timestamp_nanos() / 1_000_000;
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
}
