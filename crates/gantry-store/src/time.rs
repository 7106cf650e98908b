//! Clock helpers: the store keeps times as Unix milliseconds in its columns and hands them out as
//! RFC 3339 strings with milliseconds (`2026-11-28T10:00:00.123Z`), the notation of Kargo
//! statuses plus the precision an event log needs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 before it, saturating far after it).
pub(crate) fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Now, in Unix milliseconds.
pub(crate) fn now_millis() -> i64 {
    millis(SystemTime::now())
}

/// The time at these Unix milliseconds.
pub(crate) fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// RFC 3339 in UTC with milliseconds.
pub(crate) fn rfc3339_millis(ms: i64) -> String {
    let whole = gantry_api::time::format_rfc3339(from_millis(ms));
    let fraction = ms.rem_euclid(1000);
    match whole.strip_suffix('Z') {
        Some(head) => format!("{head}.{fraction:03}Z"),
        None => whole,
    }
}

/// Parses an RFC 3339 time into Unix milliseconds.
pub(crate) fn parse_millis(text: &str) -> Option<i64> {
    gantry_api::time::parse_rfc3339(text).map(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_timestamps_round_trip() {
        let ms = 1_764_324_000_123;
        let text = rfc3339_millis(ms);
        assert_eq!(text, "2025-11-28T10:00:00.123Z");
        assert_eq!(parse_millis(&text), Some(ms));
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
    }
}
