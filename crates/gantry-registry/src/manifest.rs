//! The registry documents image discovery reads: image manifests (Docker v2 schema 2, OCI),
//! manifest lists and OCI indexes, and image config blobs; their digests; platforms; and the
//! build time of an image.
//!
//! Build time follows Kargo's precedence (not "the latest of"): the manifest's
//! `org.opencontainers.image.created`, then its `org.label-schema.build-date`, then the same
//! two among the config's labels, then the config's `created`. Values that are not RFC 3339
//! are skipped.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};

/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The `Accept` header for manifest requests: every type this crate reads.
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// The OCI annotation for the build time.
pub const OCI_CREATED: &str = "org.opencontainers.image.created";
/// The Label Schema annotation or label for the build time.
pub const LABEL_SCHEMA_BUILD_DATE: &str = "org.label-schema.build-date";

/// An `os/arch[/variant]` platform.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// `linux`, `windows`...
    pub os: String,
    /// `amd64`, `arm64`...
    pub architecture: String,
    /// `v7`, `v8`... (empty when none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

impl Platform {
    /// Parses `os/arch` or `os/arch/variant` (everything after the second `/` is the variant,
    /// as Kargo splits it).
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = || RegistryError::InvalidPlatform {
            platform: text.to_owned(),
        };
        let mut parts = text.splitn(3, '/');
        let os = parts.next().filter(|s| !s.is_empty()).ok_or_else(invalid)?;
        let architecture = parts.next().filter(|s| !s.is_empty()).ok_or_else(invalid)?;
        let variant = parts.next().unwrap_or_default();
        Ok(Self {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant: variant.to_owned(),
        })
    }

    /// Whether another platform is this one: the same OS, architecture and variant (an empty
    /// variant only matches an empty variant, as in Kargo).
    pub fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && self.variant == other.variant
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// A descriptor inside a manifest or index.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub(crate) digest: String,
    #[serde(default)]
    pub(crate) size: Option<i64>,
    #[serde(default)]
    pub(crate) platform: Option<DescriptorPlatform>,
    #[serde(default)]
    pub(crate) annotations: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct DescriptorPlatform {
    #[serde(default)]
    pub(crate) os: String,
    #[serde(default)]
    pub(crate) architecture: String,
    #[serde(default)]
    pub(crate) variant: Option<String>,
}

/// An image manifest or an index, as read from JSON.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// A manifest, told apart by media type (header, then body, then shape).
#[derive(Clone, Debug)]
pub(crate) enum Manifest {
    /// One image: its config blob and annotations.
    Image {
        config: Descriptor,
        annotations: BTreeMap<String, String>,
    },
    /// A manifest list or OCI index.
    Index {
        manifests: Vec<Descriptor>,
        annotations: BTreeMap<String, String>,
    },
}

/// Parses a manifest body. `content_type` is the response's `Content-Type`, if any.
pub(crate) fn parse_manifest(
    body: &[u8],
    content_type: Option<&str>,
    document: &str,
) -> Result<Manifest> {
    let raw: RawManifest =
        serde_json::from_slice(body).map_err(|source| RegistryError::InvalidDocument {
            document: document.to_owned(),
            source,
        })?;
    let header_type = content_type
        .map(|t| t.split(';').next().unwrap_or(t).trim())
        .filter(|t| !t.is_empty() && *t != "application/json" && *t != "text/plain");
    let media_type = header_type.or(raw.media_type.as_deref());
    let unsupported = |reason: String| RegistryError::UnsupportedDocument {
        document: document.to_owned(),
        reason,
    };
    let is_index = match media_type {
        Some(OCI_INDEX | DOCKER_MANIFEST_LIST) => true,
        Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
        Some(other) if other.contains("manifest.v1") || raw.schema_version == Some(1) => {
            return Err(unsupported(format!(
                "Docker schema 1 manifests (`{other}`) are not supported; push the image again with a current client"
            )));
        }
        Some(other) if raw.manifests.is_none() && raw.config.is_none() => {
            return Err(unsupported(format!("unknown media type `{other}`")));
        }
        _ => raw.manifests.is_some(),
    };
    let annotations = raw.annotations.unwrap_or_default();
    if is_index {
        let manifests = raw
            .manifests
            .ok_or_else(|| unsupported("the index has no `manifests`".to_owned()))?;
        return Ok(Manifest::Index {
            manifests,
            annotations,
        });
    }
    let config = raw
        .config
        .ok_or_else(|| unsupported("the manifest has no `config`".to_owned()))?;
    Ok(Manifest::Image {
        config,
        annotations,
    })
}

/// The parts of an image config blob used here.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ImageConfig {
    #[serde(default)]
    pub(crate) created: Option<String>,
    #[serde(default)]
    pub(crate) os: Option<String>,
    #[serde(default)]
    pub(crate) architecture: Option<String>,
    #[serde(default)]
    pub(crate) variant: Option<String>,
    #[serde(default)]
    pub(crate) config: Option<ContainerConfig>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ContainerConfig {
    #[serde(default, rename = "Labels")]
    pub(crate) labels: Option<BTreeMap<String, String>>,
}

impl ImageConfig {
    pub(crate) fn parse(body: &[u8], document: &str) -> Result<Self> {
        serde_json::from_slice(body).map_err(|source| RegistryError::InvalidDocument {
            document: document.to_owned(),
            source,
        })
    }

    /// The image's platform, when the config names an OS and an architecture.
    pub(crate) fn platform(&self) -> Option<Platform> {
        let os = self.os.as_deref().filter(|s| !s.is_empty())?;
        let architecture = self.architecture.as_deref().filter(|s| !s.is_empty())?;
        Some(Platform {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            variant: self.variant.clone().unwrap_or_default(),
        })
    }

    pub(crate) fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.config.as_ref()?.labels.as_ref()
    }
}

/// The build time by Kargo's precedence: manifest annotations, then config labels (each
/// `org.opencontainers.image.created` before `org.label-schema.build-date`), then the config's
/// `created`. Returns the value as written.
pub(crate) fn build_time(
    annotations: &BTreeMap<String, String>,
    labels: Option<&BTreeMap<String, String>>,
    created: Option<&str>,
) -> Option<String> {
    let sources = [Some(annotations), labels];
    for source in sources.into_iter().flatten() {
        for key in [OCI_CREATED, LABEL_SCHEMA_BUILD_DATE] {
            if let Some(value) = source.get(key)
                && gantry_api::time::parse_rfc3339(value).is_some()
            {
                return Some(value.clone());
            }
        }
    }
    created
        .filter(|c| gantry_api::time::parse_rfc3339(c).is_some())
        .map(str::to_owned)
}

/// Parses a build time kept by [`build_time`].
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    gantry_api::time::parse_rfc3339(text)
}

/// A digest algorithm this crate can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha256,
    Sha512,
}

/// Splits `sha256:<64 hex>` / `sha512:<128 hex>`; `None` for anything else.
pub(crate) fn parse_digest(digest: &str) -> Option<(Algorithm, &str)> {
    let (algorithm, hex) = digest.split_once(':')?;
    let (algorithm, length) = match algorithm {
        "sha256" => (Algorithm::Sha256, 64),
        "sha512" => (Algorithm::Sha512, 128),
        _ => return None,
    };
    (hex.len() == length
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some((algorithm, hex))
}

/// The digest of `body` with `algorithm`, as `sha256:<hex>`.
pub(crate) fn digest_of(algorithm: Algorithm, body: &[u8]) -> String {
    let (name, ring_algorithm) = match algorithm {
        Algorithm::Sha256 => ("sha256", &ring::digest::SHA256),
        Algorithm::Sha512 => ("sha512", &ring::digest::SHA512),
    };
    let hash = ring::digest::digest(ring_algorithm, body);
    let mut out = String::with_capacity(name.len() + 1 + hash.as_ref().len() * 2);
    out.push_str(name);
    out.push(':');
    for byte in hash.as_ref() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Checks `body` against the digest the registry announced (header or the digest asked for)
/// and returns the digest to use: the announced one when it is verifiable and agrees, the
/// computed sha256 when nothing (verifiable) was announced.
pub(crate) fn verify_digest(
    body: &[u8],
    announced: Option<&str>,
    document: &str,
) -> Result<String> {
    match announced.and_then(|a| parse_digest(a).map(|(algorithm, _)| (a, algorithm))) {
        Some((announced, algorithm)) => {
            let computed = digest_of(algorithm, body);
            if computed == announced {
                Ok(computed)
            } else {
                Err(RegistryError::DigestMismatch {
                    document: document.to_owned(),
                    announced: announced.to_owned(),
                    computed,
                })
            }
        }
        None => Ok(digest_of(Algorithm::Sha256, body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn platforms_parse_with_optional_variant_and_match_exactly() {
        let arm = Platform::parse("linux/arm/v7").unwrap();
        assert_eq!(arm.to_string(), "linux/arm/v7");
        assert_eq!(Platform::parse("linux/amd64").unwrap().variant, "");
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("/amd64").is_err());
        assert!(Platform::parse("linux/").is_err());
        assert!(
            !Platform::parse("linux/arm64")
                .unwrap()
                .matches(&Platform::parse("linux/arm64/v8").unwrap())
        );
    }

    #[test]
    fn build_time_prefers_manifest_annotations_then_labels_then_created() {
        let created = Some("2023-01-01T00:00:00Z");
        assert_eq!(
            build_time(&map(&[]), None, created).as_deref(),
            Some("2023-01-01T00:00:00Z")
        );
        let labels = map(&[
            (OCI_CREATED, "2023-10-01T00:00:00Z"),
            (LABEL_SCHEMA_BUILD_DATE, "2023-11-01T00:00:00Z"),
        ]);
        assert_eq!(
            build_time(&map(&[]), Some(&labels), created).as_deref(),
            Some("2023-10-01T00:00:00Z")
        );
        let annotations = map(&[(LABEL_SCHEMA_BUILD_DATE, "2023-09-01T00:00:00Z")]);
        assert_eq!(
            build_time(&annotations, Some(&labels), created).as_deref(),
            Some("2023-09-01T00:00:00Z")
        );
        let garbage = map(&[(OCI_CREATED, "yesterday")]);
        assert_eq!(
            build_time(&garbage, None, created).as_deref(),
            Some("2023-01-01T00:00:00Z")
        );
        assert_eq!(build_time(&garbage, None, Some("nope")), None);
    }

    #[test]
    fn manifests_are_told_apart_by_header_body_or_shape() {
        let index = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:aa","platform":{"os":"linux","architecture":"amd64"}}]}"#;
        assert!(matches!(
            parse_manifest(index, None, "m").unwrap(),
            Manifest::Index { .. }
        ));
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:bb"}}"#;
        assert!(matches!(
            parse_manifest(
                image,
                Some("application/vnd.docker.distribution.manifest.v2+json"),
                "m"
            )
            .unwrap(),
            Manifest::Image { .. }
        ));
        let schema1 = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        let error = parse_manifest(
            schema1,
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            "the manifest `y` of r/x",
        )
        .unwrap_err();
        assert!(error.to_string().contains("schema 1"), "{error}");
        let error = parse_manifest(b"{not json", None, "the manifest `y` of r/x").unwrap_err();
        assert_eq!(error.to_string(), "the manifest `y` of r/x is not valid");
    }

    #[test]
    fn digests_are_computed_and_checked() {
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(digest_of(Algorithm::Sha256, b""), empty);
        assert_eq!(verify_digest(b"", Some(empty), "d").unwrap(), empty);
        assert_eq!(verify_digest(b"", None, "d").unwrap(), empty);
        assert_eq!(verify_digest(b"", Some("md5:xyz"), "d").unwrap(), empty);
        let error = verify_digest(b"x", Some(empty), "the manifest `v1` of r/app").unwrap_err();
        assert!(matches!(error, RegistryError::DigestMismatch { .. }));
        assert!(parse_digest("sha256:ABC").is_none());
        assert!(parse_digest(empty).is_some());
    }
}
