//! When to retry a request and how long to wait first.
//!
//! Retried: HTTP 429 and 5xx answers (except 501 Not Implemented and 505), timeouts and
//! connection failures. The wait doubles from [`Backoff::initial`] up to [`Backoff::max`],
//! with jitter (a random point in the upper half of the interval, so that many clients do not
//! retry in step); a `Retry-After` header (seconds or an HTTP date) replaces it, capped at
//! [`Backoff::max_retry_after`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Retry timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// How many times a request is retried (0: never).
    pub max_retries: u32,
    /// The first wait.
    pub initial: Duration,
    /// The longest computed wait.
    pub max: Duration,
    /// The longest wait a `Retry-After` header can ask for.
    pub max_retry_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(10),
            max_retry_after: Duration::from_mins(1),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (1-based), with jitter drawn from `random`.
    pub(crate) fn delay(&self, retry: u32, random: u64) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        let full = self.initial.saturating_mul(1u32 << exponent).min(self.max);
        // a point in [full/2, full]
        let half = full / 2;
        let span = u64::try_from(full.saturating_sub(half).as_nanos()).unwrap_or(u64::MAX);
        let jitter = if span == 0 { 0 } else { random % (span + 1) };
        half + Duration::from_nanos(jitter)
    }
}

/// Whether an HTTP status deserves a retry.
pub(crate) fn retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status) && status != 501 && status != 505
}

/// Reads `Retry-After`: delay-seconds or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn parse_http_date(value: &str) -> Option<SystemTime> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (_, rest) = value.split_once(", ")?;
    let mut parts = rest.split_whitespace();
    let day = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    let time = parts.next()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    if day.len() != 2 || year.len() != 4 || time.len() != 8 {
        return None;
    }
    gantry_api::time::parse_rfc3339(&format!("{year}-{month:02}-{day}T{time}Z"))
}

/// A small, lock-free source of jitter (splitmix64 over a seeded counter). Not for secrets.
#[derive(Debug)]
pub(crate) struct Jitter {
    state: AtomicU64,
}

impl Jitter {
    pub(crate) fn new() -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x9E37_79B9_7F4A_7C15, |d| {
                u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(0)
            });
        Self {
            state: AtomicU64::new(seed),
        }
    }

    pub(crate) fn next(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_stay_within_jitter_bounds_and_are_capped() {
        let backoff = Backoff {
            max_retries: 10,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(5),
        };
        let jitter = Jitter::new();
        for _ in 0..100 {
            let first = backoff.delay(1, jitter.next());
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff.delay(3, jitter.next());
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff.delay(40, jitter.next());
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_secs(1));
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = gantry_api::time::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("Thu, 1 Jan 2026 00:00:07 GMT", now), None);
    }

    #[test]
    fn statuses_worth_retrying() {
        for status in [429, 500, 502, 503, 504] {
            assert!(retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 501, 505] {
            assert!(!retryable_status(status), "{status}");
        }
    }
}
