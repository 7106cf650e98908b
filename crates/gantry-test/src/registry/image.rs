//! What the pusher pushes: image and index descriptions, and the exact JSON and blobs built
//! from them.
//!
//! Every image has one layer, the same for all of them: a gzipped tar holding `gantry-test.txt`
//! (a real archive, built here with stored deflate blocks, so that tools which unpack layers do
//! not choke). Images differ by their config blob: `created`, labels, platform. Manifests are
//! serialised once and pushed as those exact bytes, so their sha256 is the digest the registry
//! reports.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// Docker image manifest, schema 2.
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub(crate) const DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// OCI image manifest.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Every manifest media type, for `Accept` headers.
pub(crate) const ALL_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Which family of media types a manifest (and its config, layers, index) uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ManifestFlavour {
    /// Docker Image Manifest V2 schema 2; indexes are Docker manifest lists.
    #[default]
    Docker,
    /// OCI image manifest; indexes are OCI image indexes.
    Oci,
}

impl ManifestFlavour {
    /// The media type of an image manifest of this flavour.
    pub fn manifest_media_type(self) -> &'static str {
        match self {
            Self::Docker => DOCKER_MANIFEST,
            Self::Oci => OCI_MANIFEST,
        }
    }

    /// The media type of a multi-platform index of this flavour.
    pub fn index_media_type(self) -> &'static str {
        match self {
            Self::Docker => DOCKER_MANIFEST_LIST,
            Self::Oci => OCI_INDEX,
        }
    }

    fn config_media_type(self) -> &'static str {
        match self {
            Self::Docker => DOCKER_CONFIG,
            Self::Oci => OCI_CONFIG,
        }
    }

    fn layer_media_type(self) -> &'static str {
        match self {
            Self::Docker => DOCKER_LAYER,
            Self::Oci => OCI_LAYER,
        }
    }
}

/// An image platform: `os/architecture[/variant]`, as in a config blob and an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// `linux`, `windows`, …
    pub os: String,
    /// `amd64`, `arm64`, `arm`, …
    pub architecture: String,
    /// `v7`, `v8`, … when the architecture has variants.
    pub variant: Option<String>,
}

impl Platform {
    /// `os/architecture` without a variant.
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        Self {
            os: os.into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// The same platform with a variant.
    #[must_use]
    pub fn variant(mut self, variant: impl Into<String>) -> Self {
        self.variant = Some(variant.into());
        self
    }

    /// The `platform` object of an index entry (`architecture`, `os`, `variant`).
    fn to_json(&self) -> Value {
        let mut platform = Map::new();
        platform.insert("architecture".into(), self.architecture.clone().into());
        platform.insert("os".into(), self.os.clone().into());
        if let Some(variant) = &self.variant {
            platform.insert("variant".into(), variant.clone().into());
        }
        Value::Object(platform)
    }
}

impl Default for Platform {
    /// `linux/amd64`.
    fn default() -> Self {
        Self::new("linux", "amd64")
    }
}

/// How to build one image: its config blob and its manifest.
///
/// The default is a `linux/amd64` Docker schema 2 image with no `created` time, no labels and no
/// annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageSpec {
    created: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    platform: Platform,
    flavour: ManifestFlavour,
}

impl ImageSpec {
    /// A `linux/amd64` Docker schema 2 image without a `created` time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the config blob's `created` (RFC 3339, e.g. `2024-05-01T12:00:00Z`); it is written
    /// as given, so malformed times can be tested too.
    #[must_use]
    pub fn created(mut self, created: impl Into<String>) -> Self {
        self.created = Some(created.into());
        self
    }

    /// Adds a config label (`config.Labels`), e.g. `org.label-schema.build-date`.
    #[must_use]
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    /// Adds a manifest annotation, e.g. `org.opencontainers.image.created`. Docker schema 2
    /// does not define annotations, but the registry stores them as sent, as it does for images
    /// built by tools that add them anyway.
    #[must_use]
    pub fn annotation(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(name.into(), value.into());
        self
    }

    /// Sets the platform (config `os`, `architecture`, `variant`; the index entry's platform).
    #[must_use]
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }

    /// Sets the media type flavour.
    #[must_use]
    pub fn flavour(mut self, flavour: ManifestFlavour) -> Self {
        self.flavour = flavour;
        self
    }

    pub(crate) fn flavour_of(&self) -> ManifestFlavour {
        self.flavour
    }

    pub(crate) fn platform_of(&self) -> &Platform {
        &self.platform
    }

    /// The config blob's bytes.
    pub(crate) fn config_bytes(&self, layer: &Layer) -> Vec<u8> {
        let mut config = Map::new();
        if let Some(created) = &self.created {
            config.insert("created".into(), created.clone().into());
        }
        config.insert(
            "architecture".into(),
            self.platform.architecture.clone().into(),
        );
        config.insert("os".into(), self.platform.os.clone().into());
        if let Some(variant) = &self.platform.variant {
            config.insert("variant".into(), variant.clone().into());
        }
        let mut container = Map::new();
        container.insert("Env".into(), json!(["PATH=/usr/local/bin:/usr/bin:/bin"]));
        if !self.labels.is_empty() {
            container.insert("Labels".into(), json!(self.labels));
        }
        config.insert("config".into(), Value::Object(container));
        config.insert(
            "rootfs".into(),
            json!({ "type": "layers", "diff_ids": [layer.diff_id] }),
        );
        let mut history = Map::new();
        if let Some(created) = &self.created {
            history.insert("created".into(), created.clone().into());
        }
        history.insert("created_by".into(), "gantry-test push_image".into());
        config.insert("history".into(), json!([history]));
        Value::Object(config).to_string().into_bytes()
    }

    /// The manifest's bytes for a config blob with `config_digest` and `config_size`.
    pub(crate) fn manifest_bytes(
        &self,
        config_digest: &str,
        config_size: usize,
        layer: &Layer,
    ) -> Vec<u8> {
        let mut manifest = Map::new();
        manifest.insert("schemaVersion".into(), 2.into());
        manifest.insert(
            "mediaType".into(),
            self.flavour.manifest_media_type().into(),
        );
        manifest.insert(
            "config".into(),
            json!({
                "mediaType": self.flavour.config_media_type(),
                "size": config_size,
                "digest": config_digest,
            }),
        );
        manifest.insert(
            "layers".into(),
            json!([{
                "mediaType": self.flavour.layer_media_type(),
                "size": layer.bytes.len(),
                "digest": layer.digest,
            }]),
        );
        if !self.annotations.is_empty() {
            manifest.insert("annotations".into(), json!(self.annotations));
        }
        Value::Object(manifest).to_string().into_bytes()
    }
}

/// A multi-platform index (Docker manifest list or OCI image index) and its images.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexSpec {
    flavour: ManifestFlavour,
    annotations: BTreeMap<String, String>,
    images: Vec<ImageSpec>,
}

impl IndexSpec {
    /// An empty index of `flavour`; its images are pushed in the same flavour, whatever their
    /// own [`ImageSpec::flavour`] says.
    pub fn new(flavour: ManifestFlavour) -> Self {
        Self {
            flavour,
            ..Self::default()
        }
    }

    /// Adds an image; the index lists images in the order they were added.
    #[must_use]
    pub fn image(mut self, image: ImageSpec) -> Self {
        self.images.push(image.flavour(self.flavour));
        self
    }

    /// Adds an annotation to the index itself (written for both flavours).
    #[must_use]
    pub fn annotation(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(name.into(), value.into());
        self
    }

    pub(crate) fn flavour_of(&self) -> ManifestFlavour {
        self.flavour
    }

    pub(crate) fn images(&self) -> &[ImageSpec] {
        &self.images
    }

    /// The index's bytes listing `entries` (`(platform, manifest digest, manifest size)`).
    pub(crate) fn index_bytes(&self, entries: &[(&Platform, &str, usize)]) -> Vec<u8> {
        let manifests: Vec<Value> = entries
            .iter()
            .map(|(platform, digest, size)| {
                json!({
                    "mediaType": self.flavour.manifest_media_type(),
                    "size": size,
                    "digest": digest,
                    "platform": platform.to_json(),
                })
            })
            .collect();
        let mut index = Map::new();
        index.insert("schemaVersion".into(), 2.into());
        index.insert("mediaType".into(), self.flavour.index_media_type().into());
        index.insert("manifests".into(), Value::Array(manifests));
        if !self.annotations.is_empty() {
            index.insert("annotations".into(), json!(self.annotations));
        }
        Value::Object(index).to_string().into_bytes()
    }
}

/// The one layer every image shares.
pub(crate) struct Layer {
    /// The gzipped tar.
    pub(crate) bytes: Vec<u8>,
    /// `sha256:` of `bytes`.
    pub(crate) digest: String,
    /// `sha256:` of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub(crate) diff_id: String,
}

/// The shared layer, built once.
pub(crate) fn layer() -> &'static Layer {
    static LAYER: OnceLock<Layer> = OnceLock::new();
    LAYER.get_or_init(|| {
        let tar = tar_with_one_file("gantry-test.txt", b"an image layer pushed by gantry-test\n");
        let bytes = gzip_stored(&tar);
        Layer {
            digest: sha256_digest(&bytes),
            diff_id: sha256_digest(&tar),
            bytes,
        }
    })
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = String::from("sha256:");
    for byte in hash.as_ref() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// A ustar archive holding one regular file (mode 0644, mtime 0, root-owned).
fn tar_with_one_file(name: &str, contents: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    let field = |header: &mut [u8; 512], offset: usize, value: &[u8]| {
        header[offset..offset + value.len()].copy_from_slice(value);
    };
    field(&mut header, 0, name.as_bytes());
    field(&mut header, 100, b"0000644\0");
    field(&mut header, 108, b"0000000\0");
    field(&mut header, 116, b"0000000\0");
    field(
        &mut header,
        124,
        format!("{:011o}\0", contents.len()).as_bytes(),
    );
    field(&mut header, 136, b"00000000000\0");
    field(&mut header, 148, b"        ");
    header[156] = b'0';
    field(&mut header, 257, b"ustar\0");
    field(&mut header, 263, b"00");
    let checksum: u32 = header.iter().map(|&byte| u32::from(byte)).sum();
    field(&mut header, 148, format!("{checksum:06o}\0 ").as_bytes());

    let mut archive = header.to_vec();
    archive.extend_from_slice(contents);
    archive.resize(archive.len().div_ceil(512) * 512, 0);
    // two zero blocks end the archive
    archive.resize(archive.len() + 1024, 0);
    archive
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    // magic, deflate, no flags, mtime 0, no extra flags, OS unknown
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let length =
            u16::try_from(chunk.len()).expect("chunks are at most 0xffff bytes by construction");
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&(!length).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    #[expect(
        clippy::cast_possible_truncation,
        reason = "gzip's ISIZE is the length modulo 2^32"
    )]
    let size = data.len() as u32;
    out.extend_from_slice(&size.to_le_bytes());
    out
}

/// CRC-32 (IEEE, reflected), as gzip wants it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn the_layer_is_a_gzipped_tar_that_real_tar_can_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer.tar.gz");
        fs_err::write(&path, &layer().bytes).unwrap();
        let output = Command::new("tar")
            .arg("-tzvf")
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let listing = String::from_utf8_lossy(&output.stdout);
        assert!(listing.contains("gantry-test.txt"), "{listing}");
        assert_ne!(layer().digest, layer().diff_id);
    }

    #[test]
    fn the_config_carries_created_labels_and_platform() {
        let spec = ImageSpec::new()
            .created("2024-05-01T12:00:00Z")
            .label("org.label-schema.build-date", "2024-05-01")
            .platform(Platform::new("linux", "arm").variant("v7"));
        let config: Value = serde_json::from_slice(&spec.config_bytes(layer())).unwrap();
        assert_eq!(config["created"], "2024-05-01T12:00:00Z");
        assert_eq!(
            config["config"]["Labels"]["org.label-schema.build-date"],
            "2024-05-01"
        );
        assert_eq!(
            (&config["os"], &config["architecture"], &config["variant"]),
            (&json!("linux"), &json!("arm"), &json!("v7"))
        );
        assert_eq!(config["rootfs"]["diff_ids"][0], layer().diff_id.as_str());
    }

    #[test]
    fn an_image_without_created_has_no_created_field() {
        let config: Value =
            serde_json::from_slice(&ImageSpec::new().config_bytes(layer())).unwrap();
        assert!(config.get("created").is_none());
    }

    #[test]
    fn the_manifest_uses_the_media_types_of_its_flavour() {
        let oci = ImageSpec::new()
            .flavour(ManifestFlavour::Oci)
            .annotation("org.opencontainers.image.created", "2024-05-01T12:00:00Z");
        let manifest: Value =
            serde_json::from_slice(&oci.manifest_bytes("sha256:00", 12, layer())).unwrap();
        assert_eq!(manifest["mediaType"], OCI_MANIFEST);
        assert_eq!(manifest["config"]["mediaType"], OCI_CONFIG);
        assert_eq!(manifest["layers"][0]["mediaType"], OCI_LAYER);
        assert_eq!(
            manifest["annotations"]["org.opencontainers.image.created"],
            "2024-05-01T12:00:00Z"
        );
        let docker: Value =
            serde_json::from_slice(&ImageSpec::new().manifest_bytes("sha256:00", 12, layer()))
                .unwrap();
        assert_eq!(docker["mediaType"], DOCKER_MANIFEST);
        assert!(docker.get("annotations").is_none());
    }

    #[test]
    fn an_index_forces_its_flavour_on_its_images() {
        let index = IndexSpec::new(ManifestFlavour::Oci).image(ImageSpec::new());
        assert_eq!(index.images()[0].flavour_of(), ManifestFlavour::Oci);
    }
}
