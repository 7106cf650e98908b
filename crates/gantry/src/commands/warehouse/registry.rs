//! Image and chart discovery for the CLI: one registry client (with its on-disk metadata cache
//! under the data dir) driven by a small tokio runtime, so that the rest of the command stays
//! synchronous.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use gantry_api::kargo::{
    ChartDiscoveryResult, ChartSubscription, ImageDiscoveryResult, ImageSubscription,
};
use gantry_core::credentials::CredentialStore;
use gantry_registry::{ClientOptions, FileCache, RegistryClient, RequestCounts};

/// Discovers images and charts.
pub(crate) struct Images {
    runtime: tokio::runtime::Runtime,
    client: RegistryClient,
}

impl Images {
    /// A client whose metadata cache lives in `<data_dir>/registry-cache`, sending at most
    /// `rate_limit` requests per second to one registry (0: no limit).
    pub(crate) fn new(data_dir: &Path, rate_limit: f64) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let cache = FileCache::open(data_dir.join("registry-cache"))
            .context("opening the registry metadata cache")?;
        let mut options = ClientOptions::default();
        anyhow::ensure!(
            rate_limit.is_finite() && rate_limit >= 0.0,
            "--registry-rate-limit must be a number of requests per second, 0 or more"
        );
        options.rate_limit.per_second = rate_limit;
        let client = RegistryClient::with_cache(options, Arc::new(cache))
            .context("building the registry client")?;
        Ok(Self { runtime, client })
    }

    /// One image subscription's references, and a note on what it cost.
    pub(crate) fn images(
        &self,
        subscription: &ImageSubscription,
        name: Option<&str>,
        credentials: &CredentialStore,
    ) -> Result<(ImageDiscoveryResult, String), String> {
        let before = self.client.counts();
        let result = self
            .runtime
            .block_on(gantry_registry::discover_images(
                subscription,
                name,
                credentials,
                &self.client,
            ))
            .map_err(|e| e.to_string())?;
        Ok((result, note(&self.client.counts().since(&before))))
    }

    /// One chart subscription's versions, and a note on what it cost.
    pub(crate) fn charts(
        &self,
        subscription: &ChartSubscription,
        name: Option<&str>,
        credentials: &CredentialStore,
    ) -> Result<(ChartDiscoveryResult, String), String> {
        let before = self.client.counts();
        let result = self
            .runtime
            .block_on(gantry_registry::discover_charts(
                subscription,
                name,
                credentials,
                &self.client,
            ))
            .map_err(|e| e.to_string())?;
        Ok((result, note(&self.client.counts().since(&before))))
    }
}

fn note(counts: &RequestCounts) -> String {
    let mut parts = Vec::new();
    let mut add = |n: u64, what: &str| {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    };
    add(counts.tag_list_pages, "tag-list page(s)");
    add(counts.chart_index_gets, "index.yaml GET(s)");
    add(counts.manifest_heads, "manifest HEAD(s)");
    add(counts.manifest_gets, "manifest GET(s)");
    add(counts.blob_gets, "config GET(s)");
    add(counts.token_fetches, "token fetch(es)");
    add(counts.retries, "retry(ies)");
    if parts.is_empty() {
        "no requests".to_owned()
    } else {
        parts.join(", ")
    }
}
