//! Request accounting: how many requests of each kind a client sent, for benchmarks and
//! metrics. Every request put on the wire counts, including the ones answered 401 before
//! authenticating and the ones retried.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Requests sent, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCounts {
    /// `GET /v2/<name>/tags/list` pages.
    pub tag_list_pages: u64,
    /// `GET /v2/<name>/manifests/<reference>`.
    pub manifest_gets: u64,
    /// `HEAD /v2/<name>/manifests/<reference>`.
    pub manifest_heads: u64,
    /// `GET /v2/<name>/blobs/<digest>` (image configs).
    pub blob_gets: u64,
    /// Requests to a bearer-token service.
    pub token_fetches: u64,
    /// `GET <repo>/index.yaml` of Helm chart repositories.
    pub chart_index_gets: u64,
    /// Of all the above, how many were retries after a 429, 5xx or network failure.
    pub retries: u64,
    /// Of all the above, how many were answered 401 (and then sent again authenticated).
    pub unauthorized: u64,
}

impl RequestCounts {
    /// Requests of every kind together (retries and 401s are already among them).
    pub fn total(&self) -> u64 {
        self.tag_list_pages
            + self.manifest_gets
            + self.manifest_heads
            + self.blob_gets
            + self.token_fetches
            + self.chart_index_gets
    }

    /// What was sent since an earlier snapshot.
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            tag_list_pages: self.tag_list_pages.saturating_sub(earlier.tag_list_pages),
            manifest_gets: self.manifest_gets.saturating_sub(earlier.manifest_gets),
            manifest_heads: self.manifest_heads.saturating_sub(earlier.manifest_heads),
            blob_gets: self.blob_gets.saturating_sub(earlier.blob_gets),
            token_fetches: self.token_fetches.saturating_sub(earlier.token_fetches),
            chart_index_gets: self
                .chart_index_gets
                .saturating_sub(earlier.chart_index_gets),
            retries: self.retries.saturating_sub(earlier.retries),
            unauthorized: self.unauthorized.saturating_sub(earlier.unauthorized),
        }
    }
}

/// The kinds of request counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestKind {
    TagList,
    ManifestGet,
    ManifestHead,
    BlobGet,
    Token,
    ChartIndex,
}

/// The live counters behind [`RequestCounts`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    tag_list_pages: AtomicU64,
    manifest_gets: AtomicU64,
    manifest_heads: AtomicU64,
    blob_gets: AtomicU64,
    token_fetches: AtomicU64,
    chart_index_gets: AtomicU64,
    retries: AtomicU64,
    unauthorized: AtomicU64,
}

impl Counters {
    pub(crate) fn sent(&self, kind: RequestKind) {
        let counter = match kind {
            RequestKind::TagList => &self.tag_list_pages,
            RequestKind::ManifestGet => &self.manifest_gets,
            RequestKind::ManifestHead => &self.manifest_heads,
            RequestKind::BlobGet => &self.blob_gets,
            RequestKind::Token => &self.token_fetches,
            RequestKind::ChartIndex => &self.chart_index_gets,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RequestCounts {
        RequestCounts {
            tag_list_pages: self.tag_list_pages.load(Ordering::Relaxed),
            manifest_gets: self.manifest_gets.load(Ordering::Relaxed),
            manifest_heads: self.manifest_heads.load(Ordering::Relaxed),
            blob_gets: self.blob_gets.load(Ordering::Relaxed),
            token_fetches: self.token_fetches.load(Ordering::Relaxed),
            chart_index_gets: self.chart_index_gets.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            unauthorized: self.unauthorized.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_subtract_to_what_happened_in_between() {
        let counters = Counters::default();
        counters.sent(RequestKind::TagList);
        let before = counters.snapshot();
        counters.sent(RequestKind::ManifestHead);
        counters.sent(RequestKind::ManifestHead);
        counters.retried();
        let delta = counters.snapshot().since(&before);
        assert_eq!(delta.tag_list_pages, 0);
        assert_eq!(delta.manifest_heads, 2);
        assert_eq!(delta.retries, 1);
        assert_eq!(delta.total(), 2);
    }
}
