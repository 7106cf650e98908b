//! gantry's registry adapter: an async OCI registry client (Docker Registry HTTP API v2 / OCI
//! distribution) and Helm repository reader, and image and chart discovery on top of them.
//!
//! ```text
//!  discover_images(subscription) ──► ImageSelection (gantry-core: filters, semver, order)
//!        │                                  │
//!        ▼                                  ▼
//!  RegistryClient::list_tags ──► tags ──► image_for_tag (per tag, best first / all for NewestBuild)
//!        │                                  │ HEAD manifest → digest → MetadataCache
//!        │                                  │   miss: GET manifest by digest (+ config blob)
//!        ▼                                  ▼
//!  auth (Basic / Bearer tokens), retries, rate limit per host, RequestCounts
//! ```
//!
//! Where to start: [`RegistryClient::new`] with [`ClientOptions`], then [`discover_images`]
//! or [`discover_charts`] with a subscription and a [`CredentialStore`]. The lower-level calls
//! ([`RegistryClient::list_tags`], [`RegistryClient::head_manifest`],
//! [`RegistryClient::get_manifest`], [`RegistryClient::get_blob`],
//! [`RegistryClient::image_for_tag`]) take a [`Remote`]: a [`Repository`] with credentials and
//! TLS settings.
//!
//! # Repeat discovery costs one tag list and no manifest `GET`
//!
//! A deliberate difference from Kargo, which `GET`s the manifest of every tag it considers on
//! every discovery (unless `cacheByTag`): gantry resolves a tag to its digest with a manifest
//! `HEAD` (cheap, and not counted against Docker Hub's pull limits), then reads the digest's
//! metadata (build time, annotations, platform, index entries) from a [`MetadataCache`].
//! Manifests and config blobs are only fetched on a cache miss, and by digest, so what is cached
//! is exactly what the digest names. With `cacheByTag: true`, `registry/repo:tag` → digest is
//! cached too and the `HEAD` is skipped (the tag is trusted not to move; never for the `Digest`
//! strategy, whose tag moves by definition). With a [`FileCache`], this survives restarts.
//! [`RegistryClient::counts`] reports the requests sent by kind.
//!
//! # Guarantees, assumptions, caveats
//!
//! - Guarantees: a digest announced by the registry is checked against the bytes received;
//!   passwords and tokens never appear in errors or `Debug` output; no response larger than
//!   the limits of [`ClientOptions`] is read; no input panics.
//! - Assumptions: registries answer a `HEAD` with `Docker-Content-Digest` (when one does not,
//!   the manifest is fetched with a `GET` instead); a token for `repository:<path>:pull`
//!   suffices for reading.
//! - Caveats: build time follows Kargo's code (manifest annotation, then config label, then
//!   config `created`), not "the latest of the three"; an index with a platform filter is
//!   reported with the index digest and the matching image's build time, as Kargo does.
//!
//! Not here: pushing, deleting, registry webhooks, and the Warehouse loop (gantry-server) that
//! calls discovery and turns results into Freight (gantry-core).

mod auth;
mod cache;
mod chart;
mod client;
mod counts;
mod discovery;
mod error;
mod image;
mod link;
mod manifest;
mod ratelimit;
mod reference;
mod retry;

pub use auth::{BasicCredentials, Challenge, RawChallenge, challenge, parse_challenges};
pub use cache::{
    DEFAULT_MEMORY_ENTRIES, FileCache, ImageMetadata, IndexEntry, ManifestKind, MemoryCache,
    MetadataCache,
};
pub use chart::{chart_versions, discover_charts};
pub use client::{ClientOptions, FetchedManifest, RegistryClient, Remote};
pub use counts::RequestCounts;
pub use discovery::{Notified, await_tag, discover_images, discover_images_notified};
pub use error::{RegistryError, Result};
pub use gantry_core::credentials::CredentialStore;
pub use image::TaggedImage;
pub use link::next_link;
pub use manifest::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, LABEL_SCHEMA_BUILD_DATE, OCI_CREATED, OCI_INDEX,
    OCI_MANIFEST, Platform,
};
pub use ratelimit::RateLimit;
pub use reference::{DOCKER_HUB_REGISTRY, Repository};
pub use retry::Backoff;
