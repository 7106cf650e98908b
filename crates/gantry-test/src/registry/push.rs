//! The pusher: blob uploads, manifest and index PUTs, fast re-tagging, and a few reads to check
//! what was pushed, each doing the auth dance of the registry's mode.
//!
//! Blobs go up as the distribution spec's monolithic upload: `HEAD` (skip when present), `POST
//! /v2/<name>/blobs/uploads/`, then `PUT <location>&digest=…` with the whole blob. Manifests are
//! `PUT` as exact bytes; the digest returned is their sha256, checked against the registry's
//! `Docker-Content-Digest`. In token mode a request that gets 401 reads the `Bearer` challenge,
//! asks the realm for `repository:<name>:pull,push,delete` with basic credentials, caches the
//! token for that repository and is sent again once.

use std::collections::BTreeMap;
use std::sync::{Once, PoisonError};
use std::thread;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use reqwest::blocking::{Client, Response};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, USER_AGENT, WWW_AUTHENTICATE,
};

use super::image::{ALL_MANIFESTS, ImageSpec, IndexSpec, layer, sha256_digest};
use super::token::PUSHER_AGENT;
use super::{Auth, Registry};

/// How many requests [`Registry::tag_existing`] and [`Registry::push_images`] run at once.
const PARALLEL_REQUESTS: usize = 4;

/// Pushing to (or reading from) the registry failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The HTTP client could not be built.
    #[error("failed to build the HTTP client")]
    Client {
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// A request could not be sent or its answer read.
    #[error("failed to {action}")]
    Send {
        /// What was being done (with the method and path).
        action: String,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// The registry (or token server) answered with an unexpected status.
    #[error("failed to {action}: HTTP {status}: {body}")]
    Status {
        /// What was being done.
        action: String,
        /// The status code.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The registry reported another digest than the sha256 of the bytes sent.
    #[error(
        "the registry reported digest {reported} for {reference}, but the bytes sent hash to {computed}"
    )]
    DigestMismatch {
        /// The repository and tag or digest.
        reference: String,
        /// What the registry said (`Docker-Content-Digest`).
        reported: String,
        /// The sha256 of the bytes.
        computed: String,
    },
    /// An answer did not have the shape the protocol promises.
    #[error("failed to {action}: {problem}")]
    Protocol {
        /// What was being done.
        action: String,
        /// What was wrong.
        problem: String,
    },
}

/// An image the pusher pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedImage {
    /// `sha256:…` of the manifest bytes (the registry's `Docker-Content-Digest`).
    pub digest: String,
    /// The manifest's media type.
    pub media_type: &'static str,
    /// The manifest's size in bytes.
    pub size: usize,
    /// `sha256:…` of the config blob.
    pub config_digest: String,
}

/// An index the pusher pushed, with its images (in index order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedIndex {
    /// `sha256:…` of the index bytes.
    pub digest: String,
    /// The index's media type.
    pub media_type: &'static str,
    /// The images the index lists, pushed by digest (untagged).
    pub images: Vec<PushedImage>,
}

/// A manifest (or index) read back from the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedManifest {
    /// Its `Content-Type`.
    pub media_type: String,
    /// Its `Docker-Content-Digest`.
    pub digest: String,
    /// Its exact bytes.
    pub bytes: Vec<u8>,
}

/// One request, kept so that it can be sent again after the token dance.
struct Call<'a> {
    method: Method,
    url: String,
    accept: Option<&'a str>,
    content_type: Option<&'a str>,
    body: Option<&'a [u8]>,
}

impl Call<'_> {
    fn describe(&self) -> String {
        let path = self
            .url
            .split_once("/v2/")
            .map_or(self.url.as_str(), |(_, path)| path);
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        format!("{} /v2/{path}", self.method)
    }
}

impl Registry {
    /// Pushes an image built from `spec` (its blobs, then its manifest) and tags it `tag`.
    pub fn push_image(
        &self,
        repository: &str,
        tag: &str,
        spec: &ImageSpec,
    ) -> Result<PushedImage, PushError> {
        self.push_image_as(repository, Some(tag), spec)
    }

    /// Pushes the images of `index` by digest, then the index itself, tagged `tag`.
    pub fn push_index(
        &self,
        repository: &str,
        tag: &str,
        index: &IndexSpec,
    ) -> Result<PushedIndex, PushError> {
        let images = index
            .images()
            .iter()
            .map(|image| self.push_image_as(repository, None, image))
            .collect::<Result<Vec<_>, _>>()?;
        let entries: Vec<_> = index
            .images()
            .iter()
            .zip(&images)
            .map(|(spec, pushed)| (spec.platform_of(), pushed.digest.as_str(), pushed.size))
            .collect();
        let bytes = index.index_bytes(&entries);
        let media_type = index.flavour_of().index_media_type();
        let digest = self.put_manifest(repository, tag, media_type, &bytes)?;
        Ok(PushedIndex {
            digest,
            media_type,
            images,
        })
    }

    /// Pushes many images, each under its tag, a few at once, and returns them in order. Unlike
    /// [`Self::tag_existing`], every tag gets its own manifest and config blob (give the specs
    /// different `created` times or labels), so a client that caches by digest must fetch each.
    pub fn push_images<S>(
        &self,
        repository: &str,
        images: &[(S, ImageSpec)],
    ) -> Result<Vec<PushedImage>, PushError>
    where
        S: AsRef<str> + Sync,
    {
        let Some(((first_tag, first_spec), rest)) = images.split_first() else {
            return Ok(Vec::new());
        };
        // The first push uploads the shared layer, so the others do not race to.
        let first = self.push_image(repository, first_tag.as_ref(), first_spec)?;
        let mut pushed = vec![first];
        pushed.extend(in_parallel(rest, |(tag, spec)| {
            self.push_image(repository, tag.as_ref(), spec)
        })?);
        Ok(pushed)
    }

    /// Puts the manifest tagged `from_tag` under each of `new_tags` again (same bytes, so no
    /// blob is uploaded) and returns its digest. Runs a few PUTs at once: 1,000 tags take about
    /// two seconds.
    pub fn tag_existing<I, S>(
        &self,
        repository: &str,
        from_tag: &str,
        new_tags: I,
    ) -> Result<String, PushError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let manifest = self.fetch_manifest(repository, from_tag)?;
        let tags: Vec<String> = new_tags
            .into_iter()
            .map(|tag| tag.as_ref().to_owned())
            .collect();
        in_parallel(&tags, |tag| {
            self.put_manifest(repository, tag, &manifest.media_type, &manifest.bytes)
        })?;
        Ok(manifest.digest)
    }

    /// Reads the manifest or index `reference` (a tag or digest), accepting every media type.
    pub fn fetch_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<FetchedManifest, PushError> {
        let call = Call {
            method: Method::GET,
            url: format!("{}/v2/{repository}/manifests/{reference}", self.base_url()),
            accept: Some(ALL_MANIFESTS),
            content_type: None,
            body: None,
        };
        let action = format!("get manifest {repository}:{reference}");
        let response = expect_status(self.call(repository, &call)?, &[200], &action)?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let media_type = header("content-type").unwrap_or_default();
        let digest = header("docker-content-digest").ok_or_else(|| PushError::Protocol {
            action: action.clone(),
            problem: "no Docker-Content-Digest header".into(),
        })?;
        let bytes = response
            .bytes()
            .map_err(|source| PushError::Send {
                action: action.clone(),
                source,
            })?
            .to_vec();
        if sha256_digest(&bytes) != digest {
            return Err(PushError::DigestMismatch {
                reference: format!("{repository}:{reference}"),
                reported: digest,
                computed: sha256_digest(&bytes),
            });
        }
        Ok(FetchedManifest {
            media_type,
            digest,
            bytes,
        })
    }

    /// Reads the blob `digest` (a config blob, say).
    pub fn fetch_blob(&self, repository: &str, digest: &str) -> Result<Vec<u8>, PushError> {
        let call = Call {
            method: Method::GET,
            url: format!("{}/v2/{repository}/blobs/{digest}", self.base_url()),
            accept: None,
            content_type: None,
            body: None,
        };
        let action = format!("get blob {digest} of {repository}");
        let response = expect_status(self.call(repository, &call)?, &[200], &action)?;
        Ok(response
            .bytes()
            .map_err(|source| PushError::Send { action, source })?
            .to_vec())
    }

    /// Deletes the manifest `digest` (and so every tag pointing at it).
    pub fn delete_manifest(&self, repository: &str, digest: &str) -> Result<(), PushError> {
        let call = Call {
            method: Method::DELETE,
            url: format!("{}/v2/{repository}/manifests/{digest}", self.base_url()),
            accept: None,
            content_type: None,
            body: None,
        };
        let action = format!("delete manifest {repository}@{digest}");
        expect_status(self.call(repository, &call)?, &[202], &action).map(drop)
    }

    /// Pushes the blobs and manifest of `spec`, under `tag` or, without one, under its digest.
    fn push_image_as(
        &self,
        repository: &str,
        tag: Option<&str>,
        spec: &ImageSpec,
    ) -> Result<PushedImage, PushError> {
        let layer = layer();
        self.upload_blob(repository, &layer.bytes, &layer.digest)?;
        let config = spec.config_bytes(layer);
        let config_digest = sha256_digest(&config);
        self.upload_blob(repository, &config, &config_digest)?;
        let manifest = spec.manifest_bytes(&config_digest, config.len(), layer);
        let media_type = spec.flavour_of().manifest_media_type();
        let digest = sha256_digest(&manifest);
        let reference = tag.unwrap_or(&digest);
        self.put_manifest(repository, reference, media_type, &manifest)?;
        Ok(PushedImage {
            digest,
            media_type,
            size: manifest.len(),
            config_digest,
        })
    }

    /// Uploads `bytes` as blob `digest` unless the repository has it already.
    fn upload_blob(&self, repository: &str, bytes: &[u8], digest: &str) -> Result<(), PushError> {
        let base = self.base_url();
        let head = Call {
            method: Method::HEAD,
            url: format!("{base}/v2/{repository}/blobs/{digest}"),
            accept: None,
            content_type: None,
            body: None,
        };
        let response = self.call(repository, &head)?;
        if response.status().as_u16() == 200 {
            return Ok(());
        }
        expect_status(response, &[404], &format!("check blob {digest}"))?;

        let start = Call {
            method: Method::POST,
            url: format!("{base}/v2/{repository}/blobs/uploads/"),
            accept: None,
            content_type: None,
            body: None,
        };
        let action = format!("start the upload of blob {digest}");
        let response = expect_status(self.call(repository, &start)?, &[202], &action)?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| PushError::Protocol {
                action: action.clone(),
                problem: "no Location header".into(),
            })?;
        let location = if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            location.to_owned()
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let finish = Call {
            method: Method::PUT,
            url: format!("{location}{separator}digest={digest}"),
            accept: None,
            content_type: Some("application/octet-stream"),
            body: Some(bytes),
        };
        let action = format!("upload blob {digest}");
        let response = expect_status(self.call(repository, &finish)?, &[201], &action)?;
        check_digest(&response, repository, digest, digest)
    }

    /// PUTs `bytes` as manifest `reference` and returns their digest, checked against the
    /// registry's.
    fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, PushError> {
        let call = Call {
            method: Method::PUT,
            url: format!("{}/v2/{repository}/manifests/{reference}", self.base_url()),
            accept: None,
            content_type: Some(media_type),
            body: Some(bytes),
        };
        let action = format!("put manifest {repository}:{reference}");
        let response = expect_status(self.call(repository, &call)?, &[201], &action)?;
        let digest = sha256_digest(bytes);
        check_digest(&response, repository, reference, &digest)?;
        Ok(digest)
    }

    /// Sends `call` with the mode's credentials; in token mode, answers a 401 by fetching a
    /// token for `repository` and sends the call once more.
    fn call(&self, repository: &str, call: &Call<'_>) -> Result<Response, PushError> {
        let response = self.send(repository, call)?;
        let Auth::Token {
            username, password, ..
        } = &self.auth
        else {
            return Ok(response);
        };
        if response.status().as_u16() != 401 {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_bearer_challenge)
            .ok_or_else(|| PushError::Protocol {
                action: call.describe(),
                problem: "a 401 without a Bearer challenge".into(),
            })?;
        let token = self.fetch_token(&challenge, repository, username, password)?;
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(repository.to_owned(), token);
        self.send(repository, call)
    }

    fn send(&self, repository: &str, call: &Call<'_>) -> Result<Response, PushError> {
        let mut request = self
            .client()?
            .request(call.method.clone(), &call.url)
            .header(USER_AGENT, PUSHER_AGENT);
        if let Some(accept) = call.accept {
            request = request.header(ACCEPT, accept);
        }
        if let Some(content_type) = call.content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(body) = call.body {
            request = request.body(body.to_vec());
        }
        match &self.auth {
            Auth::Anonymous => {}
            Auth::Basic { username, password } => {
                request = request.basic_auth(username, Some(password));
            }
            Auth::Token { .. } => {
                let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(token) = tokens.get(repository) {
                    request = request.header(AUTHORIZATION, format!("Bearer {token}"));
                }
            }
        }
        request.send().map_err(|source| PushError::Send {
            action: call.describe(),
            source,
        })
    }

    /// Asks the challenge's realm for a token covering everything the pusher does in
    /// `repository`.
    fn fetch_token(
        &self,
        challenge: &BTreeMap<String, String>,
        repository: &str,
        username: &str,
        password: &str,
    ) -> Result<String, PushError> {
        let action = "get a bearer token".to_owned();
        let realm = challenge.get("realm").ok_or_else(|| PushError::Protocol {
            action: action.clone(),
            problem: "the Bearer challenge has no realm".into(),
        })?;
        let mut url = reqwest::Url::parse(realm).map_err(|error| PushError::Protocol {
            action: action.clone(),
            problem: format!("the realm is not a URL: {error}"),
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = challenge.get("service") {
                query.append_pair("service", service);
            }
            query.append_pair(
                "scope",
                &format!("repository:{repository}:pull,push,delete"),
            );
        }
        let credentials = STANDARD.encode(format!("{username}:{password}"));
        let response = self
            .client()?
            .get(url)
            .header(USER_AGENT, PUSHER_AGENT)
            .header(AUTHORIZATION, format!("Basic {credentials}"))
            .send()
            .map_err(|source| PushError::Send {
                action: action.clone(),
                source: source.without_url(),
            })?;
        let response = expect_status(response, &[200], &action)?;
        let body = response.bytes().map_err(|source| PushError::Send {
            action: action.clone(),
            source,
        })?;
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|error| PushError::Protocol {
                action: action.clone(),
                problem: format!("the answer is not JSON: {error}"),
            })?;
        json.get("token")
            .or_else(|| json.get("access_token"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| PushError::Protocol {
                action,
                problem: "the answer has no token".into(),
            })
    }

    fn client(&self) -> Result<&Client, PushError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        install_crypto_provider();
        let client = Client::builder()
            .timeout(Duration::from_mins(1))
            .pool_max_idle_per_host(PARALLEL_REQUESTS * 2)
            .build()
            .map_err(|source| PushError::Client { source })?;
        // Another thread may have won the race; either client will do.
        let _ = self.client.set(client);
        Ok(self
            .client
            .get()
            .expect("the client was set just above, by this thread or another"))
    }
}

/// `work` on every item, on [`PARALLEL_REQUESTS`] threads, results in item order; stops at the
/// first error of each thread.
fn in_parallel<T, R, F>(items: &[T], work: F) -> Result<Vec<R>, PushError>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R, PushError> + Sync,
{
    let chunk = items.len().div_ceil(PARALLEL_REQUESTS).max(1);
    thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|items| {
                let work = &work;
                scope.spawn(move || items.iter().map(work).collect::<Result<Vec<R>, _>>())
            })
            .collect();
        let mut results = Vec::with_capacity(items.len());
        for worker in workers {
            let done = worker
                .join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload))?;
            results.extend(done);
        }
        Ok(results)
    })
}

/// Installs rustls' ring provider as the process default, unless one is installed already
/// (reqwest is built without a provider of its own).
pub(super) fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // an error means another provider is the default already, which is as good
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `response` when its status is one of `expected`, else a [`PushError::Status`].
fn expect_status(
    response: Response,
    expected: &[u16],
    action: &str,
) -> Result<Response, PushError> {
    let status = response.status().as_u16();
    if expected.contains(&status) {
        return Ok(response);
    }
    let body = response.text().unwrap_or_default();
    Err(PushError::Status {
        action: action.to_owned(),
        status,
        body: body.chars().take(500).collect(),
    })
}

/// Checks that the registry's `Docker-Content-Digest` is `computed`.
fn check_digest(
    response: &Response,
    repository: &str,
    reference: &str,
    computed: &str,
) -> Result<(), PushError> {
    let reported = response
        .headers()
        .get("docker-content-digest")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if reported == computed {
        Ok(())
    } else {
        Err(PushError::DigestMismatch {
            reference: format!("{repository}:{reference}"),
            reported: reported.to_owned(),
            computed: computed.to_owned(),
        })
    }
}

/// The parameters of a `Bearer k="v",k="v"` challenge; `None` for another scheme.
pub(crate) fn parse_bearer_challenge(header: &str) -> Option<BTreeMap<String, String>> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut parameters = BTreeMap::new();
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        parameters.insert(name, value.to_owned());
        rest = after.trim_start_matches([',', ' ']);
    }
    Some(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_challenge_is_parsed_with_commas_inside_quotes() {
        let parameters = parse_bearer_challenge(
            r#"Bearer realm="http://127.0.0.1:1/token",service="svc",scope="repository:app:pull,push""#,
        )
        .unwrap();
        assert_eq!(parameters["realm"], "http://127.0.0.1:1/token");
        assert_eq!(parameters["service"], "svc");
        assert_eq!(parameters["scope"], "repository:app:pull,push");
        assert!(parse_bearer_challenge(r#"Basic realm="x""#).is_none());
    }

    #[test]
    fn a_call_describes_itself_without_host_or_query() {
        let call = Call {
            method: Method::PUT,
            url: "http://127.0.0.1:1/v2/app/blobs/uploads/abc?_state=secret&digest=sha256:00"
                .into(),
            accept: None,
            content_type: None,
            body: None,
        };
        assert_eq!(call.describe(), "PUT /v2/app/blobs/uploads/abc");
    }
}
