//! Go durations (`5m0s`, `1h30m`, `300ms`) and RFC 3339 timestamps (`2026-11-28T10:00:00Z`), the two
//! time notations Kargo resources and statuses use.
//!
//! Both are small, exact and dependency-free: durations follow Go's `time.ParseDuration` (units
//! `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, decimals allowed, an optional sign, `0` alone), and
//! timestamps are written the way Kubernetes writes `metav1.Time` (UTC, whole seconds, `Z`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses a Go duration. Negative durations and overflow give `None`.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix('+').unwrap_or(text);
    if rest.starts_with('-') {
        return (rest == "-0").then_some(Duration::ZERO);
    }
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    let mut rest = rest;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        total = total.checked_add(whole.checked_mul(nanos_per_unit)?)?;
        let mut scale = nanos_per_unit;
        for digit in fraction.bytes() {
            scale /= 10;
            total = total.checked_add(u128::from(digit - b'0') * scale)?;
        }
    }
    let seconds = u64::try_from(total / 1_000_000_000).ok()?;
    let nanos = u32::try_from(total % 1_000_000_000).ok()?;
    Some(Duration::new(seconds, nanos))
}

/// Formats a duration the way Go's `Duration.String` does (`1h30m0s`, `1.5s`, `300ms`, `0s`).
pub fn format_go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000_000_000 {
        let (value, unit) = if nanos < 1_000 {
            (nanos.to_string(), "ns")
        } else if nanos < 1_000_000 {
            (decimal(nanos, 1_000), "µs")
        } else {
            (decimal(nanos, 1_000_000), "ms")
        };
        return format!("{value}{unit}");
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = nanos / 60_000_000_000 % 60;
    let seconds = decimal(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m{seconds}s"),
        _ => format!("{hours}h{minutes}m{seconds}s"),
    }
}

fn decimal(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let fraction = value % unit;
    if fraction == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Formats a time as RFC 3339 in UTC with whole seconds (`2026-11-28T10:00:00Z`).
pub fn format_rfc3339(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Parses an RFC 3339 timestamp (`Z` or a numeric offset, optional fraction).
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<9}", &fraction[..digits.min(9)]);
        nanos = padded.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours = rest.get(1..3)?.parse::<i64>().ok()?;
            let minutes = rest.get(4..6)?.parse::<i64>().ok()?;
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let seconds = u64::try_from(seconds).ok()?;
    Some(UNIX_EPOCH + Duration::new(seconds, nanos))
}

// Howard Hinnant's civil-from-days algorithm (public domain date arithmetic).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_like_time_parse_duration() {
        let cases = [
            ("0", Some(0)),
            ("5m0s", Some(300_000)),
            ("1h30m", Some(5_400_000)),
            ("1.5h", Some(5_400_000)),
            ("300ms", Some(300)),
            ("10s", Some(10_000)),
            ("+2m", Some(120_000)),
            ("-0", Some(0)),
            ("", None),
            ("5", None),
            ("1d", None),
            ("-1s", None),
            ("1..5s", None),
            ("m", None),
        ];
        for (text, millis) in cases {
            let got = parse_go_duration(text).map(|d| u64::try_from(d.as_millis()).unwrap());
            assert_eq!(got, millis, "{text}");
        }
        assert_eq!(parse_go_duration("1µs"), Some(Duration::from_micros(1)));
    }

    #[test]
    fn go_durations_format_like_duration_string() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_mins(5), "5m0s"),
            (Duration::from_mins(90), "1h30m0s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(300), "300ms"),
            (Duration::from_nanos(1500), "1.5µs"),
            (Duration::from_hours(1), "1h0m0s"),
        ];
        for (duration, text) in cases {
            assert_eq!(format_go_duration(duration), text);
            assert_eq!(parse_go_duration(text), Some(duration), "{text} round trip");
        }
    }

    #[test]
    fn timestamps_round_trip_in_utc() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2026-11-28T03:33:42Z",
        ] {
            let time = parse_rfc3339(text).expect(text);
            assert_eq!(format_rfc3339(time), text);
        }
        let offset = parse_rfc3339("2026-11-28T05:33:42.5+02:00").unwrap();
        assert_eq!(format_rfc3339(offset), "2026-11-28T03:33:42Z");
        for bad in [
            "",
            "2026-11-28",
            "2026-13-01T00:00:00Z",
            "2026-11-28T03:33:42",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
