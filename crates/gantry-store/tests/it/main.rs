//! Integration tests of the state store: each area through the public API, plus crash safety,
//! concurrency and migrations on real database files.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod concurrency;
mod crash;
mod freight;
mod migrations;
mod promotions;

use gantry_api::kargo::{Freight, FreightOrigin, Image};
use gantry_api::meta::ObjectMeta;

/// A Freight from Warehouse `warehouse` with one image tag; its id is made up from the inputs.
pub fn freight(id: &str, warehouse: &str, tag: &str, discovered_at: &str) -> Freight {
    Freight {
        api_version: "kargo.akuity.io/v1alpha1".into(),
        kind: "Freight".into(),
        metadata: ObjectMeta {
            name: Some(id.into()),
            ..Default::default()
        },
        alias: None,
        discovered_at: Some(discovered_at.into()),
        origin: FreightOrigin {
            kind: "Warehouse".into(),
            name: warehouse.into(),
        },
        images: vec![Image {
            repo_url: "registry.local/frontend".into(),
            tag: Some(tag.into()),
            digest: Some(format!("sha256:{tag}")),
            ..Default::default()
        }],
        ..Default::default()
    }
}
