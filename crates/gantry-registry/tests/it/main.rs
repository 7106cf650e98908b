//! Integration tests of the registry adapter against scripted registries (wiremock): paging,
//! authentication, faults, manifests and discovery request counts; and against the real Debian
//! `docker-registry` started by gantry-test (`real`): auth modes, indexes, build times, caches.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod auth;
mod charts;
mod discovery;
mod fake;
mod faults;
mod real;
mod tags;

use gantry_api::kargo::{ChartSubscription, ImageSubscription};
use serde_json::Value;

pub(crate) fn image_subscription(value: Value) -> ImageSubscription {
    serde_json::from_value(value).unwrap()
}

pub(crate) fn chart_subscription(value: Value) -> ChartSubscription {
    serde_json::from_value(value).unwrap()
}
