//! A client-side rate limit per registry host (Kargo: 20 requests per second per registry).
//!
//! Each host gets a token bucket in its "generic cell rate" form: every request reserves the
//! next free slot, `1/rate` after the previous one, and may run up to `burst` slots early.
//! Reserving instead of polling keeps waiters in order and wakes each one once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Requests per second and burst size for each registry host.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second per host; `0` turns the limit off.
    pub per_second: f64,
    /// Requests that may go at once after a quiet period (at least 1).
    pub burst: u32,
}

impl Default for RateLimit {
    /// 20 requests per second as in Kargo, with a burst of 40: a whole discovery with the
    /// default `discoveryLimit` (the tag list, 20 HEADs, a new tag's manifest and config) goes
    /// out at once after a quiet spell instead of queueing its last requests.
    fn default() -> Self {
        Self {
            per_second: 20.0,
            burst: 40,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    /// When the next request would be due at the sustained rate.
    due: Instant,
}

/// The limiters of every host seen so far.
#[derive(Debug)]
pub(crate) struct RateLimiters {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Arc<Mutex<Bucket>>>>,
}

impl RateLimiters {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `host` may be sent another request.
    pub(crate) async fn acquire(&self, host: &str) {
        if let Some(wait) = self.reserve(host, Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Reserves a slot for `host` and says how long to wait for it (`None`: go now).
    fn reserve(&self, host: &str, now: Instant) -> Option<Duration> {
        if !(self.limit.per_second.is_finite() && self.limit.per_second > 0.0) {
            return None;
        }
        let interval = Duration::from_secs_f64(1.0 / self.limit.per_second);
        let tolerance = interval.saturating_mul(self.limit.burst.max(1) - 1);
        let bucket = {
            let mut buckets = self
                .buckets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(
                buckets
                    .entry(host.to_owned())
                    .or_insert_with(|| Arc::new(Mutex::new(Bucket { due: now }))),
            )
        };
        let mut bucket = bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = bucket.due.max(now);
        let start = due.checked_sub(tolerance).unwrap_or(now).max(now);
        bucket.due = due + interval;
        (start > now).then(|| start - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_and_then_requests_are_spaced() {
        let limiters = RateLimiters::new(RateLimit {
            per_second: 10.0,
            burst: 3,
        });
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiters.reserve("r", now), None);
        }
        let fourth = limiters.reserve("r", now).unwrap();
        assert!((fourth.as_secs_f64() - 0.1).abs() < 0.001, "{fourth:?}");
        let fifth = limiters.reserve("r", now).unwrap();
        assert!((fifth.as_secs_f64() - 0.2).abs() < 0.001, "{fifth:?}");
        // other hosts have their own bucket
        assert_eq!(limiters.reserve("other", now), None);
    }

    #[test]
    fn a_zero_rate_means_no_limit() {
        let limiters = RateLimiters::new(RateLimit {
            per_second: 0.0,
            burst: 1,
        });
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(limiters.reserve("r", now), None);
        }
    }

    #[test]
    fn slots_free_up_as_time_passes() {
        let limiters = RateLimiters::new(RateLimit {
            per_second: 10.0,
            burst: 1,
        });
        let now = Instant::now();
        assert_eq!(limiters.reserve("r", now), None);
        assert!(limiters.reserve("r", now).is_some());
        assert_eq!(limiters.reserve("r", now + Duration::from_secs(1)), None);
    }
}
