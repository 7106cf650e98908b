//! From a tag to an image: digest, build time, annotations, platform check.
//!
//! ```text
//!  tag ──(cacheByTag: tag cache)──► HEAD manifest ──► digest ──► metadata cache ──► hit: done
//!                                    (no digest header: GET by tag)           └─► miss: GET manifest
//!                                                                                  by digest (+ config blob)
//! ```
//!
//! An index (manifest list) is reported with its own digest. Without a platform its build
//! time is the newest of its images' (every image entry is read, through the cache); with a
//! platform, the one matching entry's image gives the build time, and no match means the tag
//! is skipped. Entries without an OS or architecture, or with `unknown` ones (attestations),
//! are not images. A single image with a platform must match its config's OS, architecture and
//! variant. Annotations are the manifest's (the index's for an index). This is Kargo's logic.

use std::collections::BTreeMap;
use std::time::SystemTime;

use gantry_api::kargo::DiscoveredImageReference;

use crate::cache::{ImageMetadata, IndexEntry, ManifestKind};
use crate::client::{FetchedManifest, RegistryClient, Remote};
use crate::error::{RegistryError, Result};
use crate::manifest::{ImageConfig, Manifest, Platform, build_time, parse_manifest, parse_time};

/// One image found for a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedImage {
    /// The tag.
    pub tag: String,
    /// The manifest's (or index's) digest.
    pub digest: String,
    /// The build time, when the image says.
    pub created: Option<SystemTime>,
    /// The manifest's (or index's) annotations.
    pub annotations: BTreeMap<String, String>,
}

impl TaggedImage {
    /// The Warehouse status form (`createdAt` in whole seconds, as Kubernetes writes times).
    pub fn into_reference(self) -> DiscoveredImageReference {
        DiscoveredImageReference {
            tag: self.tag,
            digest: self.digest,
            annotations: self.annotations,
            created_at: self.created.map(gantry_api::time::format_rfc3339),
        }
    }
}

/// How a tag was resolved to a digest.
enum Resolved {
    /// The digest alone (from a HEAD or the tag cache).
    Digest(String),
    /// The whole manifest, when the registry's HEAD gave no digest and a GET was needed.
    Fetched(FetchedManifest),
}

impl RegistryClient {
    /// The image a tag points at, or `None` when it does not match `platform`. With
    /// `cache_by_tag`, a tag seen before is trusted to point at the same digest and costs no
    /// request.
    pub async fn image_for_tag(
        &self,
        remote: &Remote,
        tag: &str,
        platform: Option<&Platform>,
        cache_by_tag: bool,
    ) -> Result<Option<TaggedImage>> {
        let tag_key = format!("{}:{tag}", remote.repository());
        let cached = if cache_by_tag {
            self.inner.cache.tag_digest(&tag_key)
        } else {
            None
        };
        let resolved = match cached {
            Some(digest) => Resolved::Digest(digest),
            None => match self.head_manifest(remote, tag).await? {
                Some(digest) => Resolved::Digest(digest),
                None => Resolved::Fetched(self.get_manifest(remote, tag).await?),
            },
        };
        let (digest, metadata) = match resolved {
            Resolved::Digest(digest) => {
                let metadata = self.metadata(remote, &digest).await?;
                (digest, metadata)
            }
            Resolved::Fetched(fetched) => {
                let digest = fetched.digest.clone();
                let metadata = if let Some(metadata) = self.inner.cache.metadata(&digest) {
                    metadata
                } else {
                    let document = format!("the manifest `{tag}` of {}", remote.repository());
                    let metadata = self.read_metadata(remote, &fetched, &document).await?;
                    self.inner.cache.put_metadata(&digest, &metadata);
                    metadata
                };
                (digest, metadata)
            }
        };
        if cache_by_tag {
            self.inner.cache.put_tag_digest(&tag_key, &digest);
        }
        let created = match metadata.kind {
            ManifestKind::Image => {
                if let Some(wanted) = platform
                    && !metadata
                        .platform
                        .as_ref()
                        .is_some_and(|p| wanted.matches(p))
                {
                    return Ok(None);
                }
                metadata.created.as_deref().and_then(parse_time)
            }
            ManifestKind::Index => {
                if let Some(wanted) = platform {
                    let Some(entry) = metadata
                        .manifests
                        .iter()
                        .find(|entry| wanted.matches(&entry.platform))
                    else {
                        return Ok(None);
                    };
                    let image = self.metadata(remote, &entry.digest).await?;
                    image.created.as_deref().and_then(parse_time)
                } else {
                    let mut newest: Option<SystemTime> = None;
                    for entry in &metadata.manifests {
                        let image = self.metadata(remote, &entry.digest).await?;
                        let created = image.created.as_deref().and_then(parse_time);
                        newest = newest.max(created);
                    }
                    newest
                }
            }
        };
        Ok(Some(TaggedImage {
            tag: tag.to_owned(),
            digest,
            created,
            annotations: metadata.annotations,
        }))
    }

    /// The metadata of a digest: from the cache, or read from the registry (manifest by digest
    /// and, for an image, its config blob) and cached.
    pub async fn metadata(&self, remote: &Remote, digest: &str) -> Result<ImageMetadata> {
        if let Some(found) = self.inner.cache.metadata(digest) {
            return Ok(found);
        }
        let fetched = self.get_manifest(remote, digest).await?;
        let document = format!("the manifest `{digest}` of {}", remote.repository());
        let metadata = self.read_metadata(remote, &fetched, &document).await?;
        self.inner.cache.put_metadata(&fetched.digest, &metadata);
        Ok(metadata)
    }

    async fn read_metadata(
        &self,
        remote: &Remote,
        fetched: &FetchedManifest,
        document: &str,
    ) -> Result<ImageMetadata> {
        match parse_manifest(&fetched.body, fetched.content_type.as_deref(), document)? {
            Manifest::Index {
                manifests,
                annotations,
            } => {
                let entries: Vec<IndexEntry> = manifests
                    .into_iter()
                    .filter_map(|descriptor| {
                        let platform = descriptor.platform?;
                        let known = |s: &str| !s.is_empty() && s != "unknown";
                        (known(&platform.os) && known(&platform.architecture)).then(|| IndexEntry {
                            digest: descriptor.digest,
                            platform: Platform {
                                os: platform.os,
                                architecture: platform.architecture,
                                variant: platform.variant.unwrap_or_default(),
                            },
                            annotations: descriptor.annotations.unwrap_or_default(),
                        })
                    })
                    .collect();
                if entries.is_empty() {
                    return Err(RegistryError::UnsupportedDocument {
                        document: document.to_owned(),
                        reason: "the index lists no image for any platform".to_owned(),
                    });
                }
                Ok(ImageMetadata {
                    kind: ManifestKind::Index,
                    created: None,
                    annotations,
                    platform: None,
                    manifests: entries,
                })
            }
            Manifest::Image {
                config,
                annotations,
            } => {
                let limit = self.inner.options.max_config_bytes;
                if config
                    .size
                    .is_some_and(|size| usize::try_from(size).map_or(true, |s| s > limit))
                {
                    return Err(RegistryError::TooLarge {
                        document: format!(
                            "the image config `{}` of {}",
                            config.digest,
                            remote.repository()
                        ),
                        limit,
                    });
                }
                let body = self.get_blob(remote, &config.digest).await?;
                let config_document = format!(
                    "the image config `{}` of {}",
                    config.digest,
                    remote.repository()
                );
                let image_config = ImageConfig::parse(&body, &config_document)?;
                Ok(ImageMetadata {
                    kind: ManifestKind::Image,
                    created: build_time(
                        &annotations,
                        image_config.labels(),
                        image_config.created.as_deref(),
                    ),
                    platform: image_config.platform(),
                    annotations,
                    manifests: Vec::new(),
                })
            }
        }
    }
}
