//! A scripted registry on wiremock: images (config blob + manifest), indexes and tag lists,
//! mounted the way a distribution registry serves them.

use std::sync::Arc;
use std::time::Duration;

use gantry_api::core_v1::Secret;
use gantry_registry::{
    Backoff, ClientOptions, CredentialStore, MemoryCache, MetadataCache, RateLimit, RegistryClient,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub(crate) fn sha256(bytes: &[u8]) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = hash.as_ref().iter().fold(String::new(), |mut out, b| {
        use std::fmt::Write as _;
        let _ = write!(out, "{b:02x}");
        out
    });
    format!("sha256:{hex}")
}

/// Options for tests: fast retries, no rate limit.
pub(crate) fn options() -> ClientOptions {
    ClientOptions {
        backoff: Backoff {
            max_retries: 3,
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(5),
        },
        rate_limit: RateLimit {
            per_second: 0.0,
            burst: 1,
        },
        request_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

pub(crate) fn client() -> RegistryClient {
    RegistryClient::new(options()).unwrap()
}

pub(crate) fn client_with_cache(cache: Arc<dyn MetadataCache>) -> RegistryClient {
    RegistryClient::with_cache(options(), cache).unwrap()
}

pub(crate) fn memory_cache() -> Arc<dyn MetadataCache> {
    Arc::new(MemoryCache::default())
}

/// A credential Secret for `repo_url`.
pub(crate) fn credentials(
    kind: &str,
    repo_url: &str,
    username: &str,
    password: &str,
) -> CredentialStore {
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "labels": {"kargo.akuity.io/cred-type": kind}},
        "stringData": {"repoURL": repo_url, "username": username, "password": password},
    }))
    .unwrap();
    let (store, errors) = CredentialStore::from_secrets([&secret]);
    assert!(errors.is_empty(), "{errors:?}");
    store
}

/// An image to serve: its config JSON and manifest annotations.
pub(crate) struct Image {
    pub(crate) config: Value,
    pub(crate) annotations: Value,
}

impl Image {
    pub(crate) fn created(created: &str) -> Self {
        Self::platform(created, "linux", "amd64", "")
    }

    pub(crate) fn platform(created: &str, os: &str, architecture: &str, variant: &str) -> Self {
        let mut config = json!({
            "created": created,
            "os": os,
            "architecture": architecture,
            "config": {"Labels": null},
            "rootfs": {"type": "layers", "diff_ids": []},
        });
        if !variant.is_empty() {
            config["variant"] = json!(variant);
        }
        Self {
            config,
            annotations: json!({}),
        }
    }
}

pub(crate) struct Registry {
    pub(crate) server: MockServer,
}

impl Registry {
    pub(crate) async fn start() -> Self {
        Self {
            server: MockServer::start().await,
        }
    }

    pub(crate) fn host(&self) -> String {
        self.server.address().to_string()
    }

    pub(crate) fn repo_url(&self, repository: &str) -> String {
        format!("{}/{repository}", self.host())
    }

    /// One page with all the tags.
    pub(crate) async fn tags(&self, repository: &str, tags: &[&str]) {
        Mock::given(method("GET"))
            .and(path(format!("/v2/{repository}/tags/list")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"name": repository, "tags": tags})),
            )
            .mount(&self.server)
            .await;
    }

    /// Serves a manifest body under its digest and the given tags (GET and HEAD).
    pub(crate) async fn manifest(
        &self,
        repository: &str,
        tags: &[&str],
        media_type: &str,
        body: &[u8],
    ) -> String {
        let digest = sha256(body);
        let references = tags.iter().copied().chain([digest.as_str()]);
        for reference in references {
            let manifest_path = format!("/v2/{repository}/manifests/{reference}");
            Mock::given(method("GET"))
                .and(path(manifest_path.clone()))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_raw(body.to_vec(), media_type)
                        .insert_header("docker-content-digest", digest.as_str()),
                )
                .mount(&self.server)
                .await;
            Mock::given(method("HEAD"))
                .and(path(manifest_path))
                .respond_with(
                    ResponseTemplate::new(200)
                        .insert_header("content-type", media_type)
                        .insert_header("docker-content-digest", digest.as_str()),
                )
                .mount(&self.server)
                .await;
        }
        digest
    }

    /// Serves a blob under its digest.
    pub(crate) async fn blob(&self, repository: &str, body: &[u8]) -> String {
        let digest = sha256(body);
        Mock::given(method("GET"))
            .and(path(format!("/v2/{repository}/blobs/{digest}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(body.to_vec(), "application/octet-stream"),
            )
            .mount(&self.server)
            .await;
        digest
    }

    /// Serves an image under `tags`; returns its manifest digest.
    pub(crate) async fn image(&self, repository: &str, tags: &[&str], image: &Image) -> String {
        let body = self.image_manifest(repository, image).await;
        self.manifest(repository, tags, OCI_MANIFEST, &body).await
    }

    /// Mounts the config blob and returns the manifest bytes.
    pub(crate) async fn image_manifest(&self, repository: &str, image: &Image) -> Vec<u8> {
        let config = serde_json::to_vec(&image.config).unwrap();
        let config_digest = self.blob(repository, &config).await;
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config.len(),
            },
            "layers": [],
            "annotations": image.annotations,
        }))
        .unwrap()
    }

    /// Serves an index of `(platform, image)` entries under `tags`, plus an attestation entry;
    /// returns the index digest and the image digests.
    pub(crate) async fn index(
        &self,
        repository: &str,
        tags: &[&str],
        images: &[(&str, &str, &str, Image)],
    ) -> (String, Vec<String>) {
        let mut entries = Vec::new();
        let mut digests = Vec::new();
        for (os, architecture, variant, image) in images {
            let body = self.image_manifest(repository, image).await;
            let digest = self.manifest(repository, &[], OCI_MANIFEST, &body).await;
            let mut platform = json!({"os": os, "architecture": architecture});
            if !variant.is_empty() {
                platform["variant"] = json!(variant);
            }
            entries.push(json!({
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": body.len(),
                "platform": platform,
            }));
            digests.push(digest);
        }
        entries.push(json!({
            "mediaType": OCI_MANIFEST,
            "digest": sha256(b"attestation"),
            "size": 11,
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
        }));
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": entries,
            "annotations": {"org.opencontainers.image.source": "https://git.example/app"},
        }))
        .unwrap();
        let digest = self.manifest(repository, tags, OCI_INDEX, &body).await;
        (digest, digests)
    }
}
