//! The registry client: Docker Registry HTTP API v2 / OCI distribution requests with
//! authentication, retries, a rate limit per host and request accounting.
//!
//! Every request goes through the same path:
//!
//! ```text
//!  registry_request ── known challenge? ── Basic: credentials / Bearer: cached or new token
//!        │
//!        ▼
//!  send_with_retry ── rate limit (per host) ── send ── 429/5xx/network: back off, retry
//!        │
//!        ▼
//!  401? remember the challenge (forget a rejected token), authenticate, send once more
//! ```
//!
//! Plain HTTP is used for loopback registries and the ones listed in
//! [`ClientOptions::insecure_registries`]; everything else is HTTPS (rustls, ring provider),
//! with certificate checks unless the subscription sets `insecureSkipTLSVerify`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant, SystemTime};

use gantry_api::core_v1::SecretValue;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LINK, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, Url};
use serde::Deserialize;

use crate::auth::{self, BasicCredentials, Challenge, Token};
use crate::cache::{MemoryCache, MetadataCache};
use crate::counts::{Counters, RequestCounts, RequestKind};
use crate::error::{RegistryError, Result};
use crate::link::next_link;
use crate::manifest::{MANIFEST_ACCEPT, parse_digest, verify_digest};
use crate::ratelimit::{RateLimit, RateLimiters};
use crate::reference::Repository;
use crate::retry::{Backoff, Jitter, parse_retry_after, retryable_status};

/// How the client behaves. [`Default`] gives Kargo-like settings.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one request, body included.
    pub request_timeout: Duration,
    /// Retries on 429, 5xx and network failures.
    pub backoff: Backoff,
    /// Client-side rate limit per host (default 20 requests per second).
    pub rate_limit: RateLimit,
    /// Registries (`host[:port]`) spoken to over plain HTTP besides loopback ones.
    pub insecure_registries: Vec<String>,
    /// The `n` asked for per tag-list page (`None`: the registry's default).
    pub tag_page_size: Option<u32>,
    /// Tag-list pages followed at most.
    pub max_tag_pages: usize,
    /// Tags whose metadata is fetched at once by `NewestBuild` (the rate limit still applies).
    pub metadata_concurrency: usize,
    /// Largest manifest accepted.
    pub max_manifest_bytes: usize,
    /// Largest image config blob accepted.
    pub max_config_bytes: usize,
    /// Largest tag-list page accepted.
    pub max_tag_page_bytes: usize,
    /// Largest Helm `index.yaml` accepted.
    pub max_chart_index_bytes: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            rate_limit: RateLimit::default(),
            insecure_registries: Vec::new(),
            tag_page_size: None,
            max_tag_pages: 10_000,
            metadata_concurrency: 32,
            max_manifest_bytes: 4 * 1024 * 1024,
            max_config_bytes: 8 * 1024 * 1024,
            max_tag_page_bytes: 32 * 1024 * 1024,
            max_chart_index_bytes: 128 * 1024 * 1024,
            user_agent: concat!("gantry/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A repository and how to reach it: credentials and TLS checking.
#[derive(Clone, Debug)]
pub struct Remote {
    repository: Repository,
    credentials: Option<BasicCredentials>,
    skip_tls_verify: bool,
}

impl Remote {
    /// Anonymous access with TLS checks.
    pub fn new(repository: Repository) -> Self {
        Self {
            repository,
            credentials: None,
            skip_tls_verify: false,
        }
    }

    /// Uses these credentials when the registry asks for some.
    #[must_use]
    pub fn with_credentials(mut self, credentials: Option<BasicCredentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Skips TLS certificate checks (`insecureSkipTLSVerify`).
    #[must_use]
    pub fn skip_tls_verify(mut self, skip: bool) -> Self {
        self.skip_tls_verify = skip;
        self
    }

    /// The repository.
    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    /// Whether credentials are set.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }
}

/// A manifest as received, verified against its digest.
#[derive(Clone, Debug)]
pub struct FetchedManifest {
    /// Its digest (`Docker-Content-Digest` when given and verified, else the body's sha256).
    pub digest: String,
    /// The response's `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The raw bytes.
    pub body: Vec<u8>,
}

/// An async OCI registry client. Cheap to clone: clones share connections, tokens, rate
/// limits, counters and the metadata cache.
#[derive(Clone)]
pub struct RegistryClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("options", &self.inner.options)
            .field("counts", &self.inner.counters.snapshot())
            .finish_non_exhaustive()
    }
}

type TokenKey = (String, String);

pub(crate) struct Inner {
    pub(crate) options: ClientOptions,
    http: reqwest::Client,
    http_unverified: reqwest::Client,
    limiters: RateLimiters,
    challenges: Mutex<HashMap<String, Challenge>>,
    tokens: Mutex<HashMap<TokenKey, Token>>,
    token_gates: Mutex<HashMap<TokenKey, Arc<tokio::sync::Mutex<()>>>>,
    pub(crate) counters: Counters,
    pub(crate) cache: Arc<dyn MetadataCache>,
    jitter: Jitter,
}

/// How a request authenticates.
enum Authorization {
    None,
    Basic(BasicCredentials),
    Bearer(SecretValue),
}

/// One request to send (and maybe retry).
struct Attempt<'a> {
    kind: RequestKind,
    method: Method,
    url: &'a Url,
    accept: Option<&'a str>,
    authorization: &'a Authorization,
    skip_tls_verify: bool,
    limit: usize,
    operation: &'a str,
    host: &'a str,
    document: &'a str,
}

/// A response with its body read.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

enum SendError {
    Http(reqwest::Error),
    TooLarge,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Installs rustls' ring provider as the process default, unless one is installed already.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // an error means another provider is the default already, which is as good
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl RegistryClient {
    /// A client with an in-memory metadata cache.
    pub fn new(options: ClientOptions) -> Result<Self> {
        Self::with_cache(options, Arc::new(MemoryCache::default()))
    }

    /// A client with the given metadata cache (e.g. a [`crate::FileCache`]).
    pub fn with_cache(options: ClientOptions, cache: Arc<dyn MetadataCache>) -> Result<Self> {
        install_crypto_provider();
        let build = |skip_verify: bool| {
            reqwest::Client::builder()
                .connect_timeout(options.connect_timeout)
                .user_agent(options.user_agent.clone())
                .danger_accept_invalid_certs(skip_verify)
                .build()
                .map_err(|source| RegistryError::Client { source })
        };
        Ok(Self {
            inner: Arc::new(Inner {
                http: build(false)?,
                http_unverified: build(true)?,
                limiters: RateLimiters::new(options.rate_limit),
                challenges: Mutex::new(HashMap::new()),
                tokens: Mutex::new(HashMap::new()),
                token_gates: Mutex::new(HashMap::new()),
                counters: Counters::default(),
                cache,
                jitter: Jitter::new(),
                options,
            }),
        })
    }

    /// The options the client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// The metadata cache.
    pub fn cache(&self) -> &Arc<dyn MetadataCache> {
        &self.inner.cache
    }

    /// Requests sent so far, by kind.
    pub fn counts(&self) -> RequestCounts {
        self.inner.counters.snapshot()
    }

    /// `http` for loopback and listed insecure registries, `https` otherwise.
    pub fn scheme(&self, repository: &Repository) -> &'static str {
        let insecure = self
            .inner
            .options
            .insecure_registries
            .iter()
            .any(|r| r.eq_ignore_ascii_case(repository.registry()));
        if insecure || repository.is_loopback() {
            "http"
        } else {
            "https"
        }
    }

    fn api_url(&self, repository: &Repository, rest: &str) -> Result<Url> {
        let text = format!(
            "{}://{}/v2/{}/{rest}",
            self.scheme(repository),
            repository.registry(),
            repository.path()
        );
        Url::parse(&text).map_err(|error| RegistryError::InvalidReference {
            reference: repository.to_string(),
            reason: format!("it does not make a valid URL ({error})"),
        })
    }

    /// Every tag of the repository, following `Link: <...>; rel="next"` pages.
    pub async fn list_tags(&self, remote: &Remote) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct TagPage {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let repository = &remote.repository;
        let operation = format!("list the tags of {repository}");
        let mut url = self.api_url(repository, "tags/list")?;
        if let Some(n) = self.inner.options.tag_page_size {
            url.query_pairs_mut().append_pair("n", &n.to_string());
        }
        let origin = url.origin();
        let mut seen = HashSet::new();
        let mut tags = Vec::new();
        for page in 1.. {
            if page > self.inner.options.max_tag_pages {
                return Err(RegistryError::Pagination {
                    repository: repository.to_string(),
                    reason: format!(
                        "more than {} pages; raise `max_tag_pages`",
                        self.inner.options.max_tag_pages
                    ),
                });
            }
            seen.insert(url.to_string());
            let document = format!("the tag list of {repository} (page {page})");
            let response = self
                .registry_request(
                    remote,
                    RequestKind::TagList,
                    Method::GET,
                    &url,
                    Some("application/json"),
                    self.inner.options.max_tag_page_bytes,
                    &operation,
                    &document,
                )
                .await?;
            check_status(&response, &operation, repository.registry())?;
            let parsed: TagPage = serde_json::from_slice(&response.body).map_err(|source| {
                RegistryError::InvalidDocument {
                    document: document.clone(),
                    source,
                }
            })?;
            tags.extend(parsed.tags.unwrap_or_default());
            let next = response
                .headers
                .get_all(LINK)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(next_link)
                .map(str::to_owned);
            let Some(next) = next else {
                break;
            };
            let next_url = url.join(&next).map_err(|_| RegistryError::Pagination {
                repository: repository.to_string(),
                reason: format!("page {page} links to `{next}`, which is not a URL"),
            })?;
            if next_url.origin() != origin {
                return Err(RegistryError::Pagination {
                    repository: repository.to_string(),
                    reason: format!(
                        "page {page} links to another server ({}); gantry only follows links on the registry",
                        gantry_api::redact::url(next_url.origin().ascii_serialization().as_str())
                    ),
                });
            }
            if seen.contains(next_url.as_str()) {
                return Err(RegistryError::Pagination {
                    repository: repository.to_string(),
                    reason: format!("page {page} links back to a page already read"),
                });
            }
            url = next_url;
        }
        Ok(tags)
    }

    /// `HEAD` of a manifest: its digest from `Docker-Content-Digest`, or `None` when the
    /// registry sent none (or one this crate cannot verify).
    pub async fn head_manifest(&self, remote: &Remote, reference: &str) -> Result<Option<String>> {
        let repository = &remote.repository;
        let operation = format!("check manifest `{reference}` of {repository}");
        let document = format!("the manifest `{reference}` of {repository}");
        let url = self.api_url(repository, &format!("manifests/{reference}"))?;
        let response = self
            .registry_request(
                remote,
                RequestKind::ManifestHead,
                Method::HEAD,
                &url,
                Some(MANIFEST_ACCEPT),
                0,
                &operation,
                &document,
            )
            .await?;
        check_status(&response, &operation, repository.registry())?;
        Ok(header(&response.headers, "docker-content-digest")
            .filter(|digest| parse_digest(digest).is_some())
            .map(str::to_owned))
    }

    /// `GET` of a manifest by tag or digest, checked against `Docker-Content-Digest` and, when
    /// `reference` is a digest, against it.
    pub async fn get_manifest(&self, remote: &Remote, reference: &str) -> Result<FetchedManifest> {
        let repository = &remote.repository;
        let operation = format!("fetch manifest `{reference}` of {repository}");
        let document = format!("the manifest `{reference}` of {repository}");
        let url = self.api_url(repository, &format!("manifests/{reference}"))?;
        let response = self
            .registry_request(
                remote,
                RequestKind::ManifestGet,
                Method::GET,
                &url,
                Some(MANIFEST_ACCEPT),
                self.inner.options.max_manifest_bytes,
                &operation,
                &document,
            )
            .await?;
        check_status(&response, &operation, repository.registry())?;
        let announced = header(&response.headers, "docker-content-digest");
        let mut digest = verify_digest(&response.body, announced, &document)?;
        if parse_digest(reference).is_some() {
            digest = verify_digest(&response.body, Some(reference), &document)?;
        }
        Ok(FetchedManifest {
            digest,
            content_type: header(&response.headers, CONTENT_TYPE.as_str()).map(str::to_owned),
            body: response.body,
        })
    }

    /// `GET` of a blob (an image config), checked against its digest.
    pub async fn get_blob(&self, remote: &Remote, digest: &str) -> Result<Vec<u8>> {
        let repository = &remote.repository;
        let operation = format!("fetch blob `{digest}` of {repository}");
        let document = format!("the blob `{digest}` of {repository}");
        let url = self.api_url(repository, &format!("blobs/{digest}"))?;
        let response = self
            .registry_request(
                remote,
                RequestKind::BlobGet,
                Method::GET,
                &url,
                None,
                self.inner.options.max_config_bytes,
                &operation,
                &document,
            )
            .await?;
        check_status(&response, &operation, repository.registry())?;
        verify_digest(&response.body, Some(digest), &document)?;
        Ok(response.body)
    }

    /// A plain `GET` with optional basic credentials sent up front (Helm `index.yaml`).
    #[expect(clippy::too_many_arguments, reason = "internal plumbing, all required")]
    pub(crate) async fn get_with_basic_auth(
        &self,
        url: &Url,
        credentials: Option<&BasicCredentials>,
        skip_tls_verify: bool,
        kind: RequestKind,
        limit: usize,
        operation: &str,
        document: &str,
    ) -> Result<Response> {
        let host = host_port(url);
        let authorization =
            credentials.map_or(Authorization::None, |c| Authorization::Basic(c.clone()));
        let response = self
            .send_with_retry(&Attempt {
                kind,
                method: Method::GET,
                url,
                accept: None,
                authorization: &authorization,
                skip_tls_verify,
                limit,
                operation,
                host: &host,
                document,
            })
            .await?;
        if response.status == 401 {
            self.inner.counters.unauthorized();
            return Err(RegistryError::Unauthorized {
                operation: operation.to_owned(),
                host,
                credentials_given: credentials.is_some(),
            });
        }
        check_status(&response, operation, &host)?;
        Ok(response)
    }

    /// Sends a registry API request, authenticating as the registry asks.
    #[expect(clippy::too_many_arguments, reason = "internal plumbing, all required")]
    async fn registry_request(
        &self,
        remote: &Remote,
        kind: RequestKind,
        method: Method,
        url: &Url,
        accept: Option<&str>,
        limit: usize,
        operation: &str,
        document: &str,
    ) -> Result<Response> {
        let registry = remote.repository.registry();
        let mut authenticated_again = false;
        loop {
            let authorization = self.authorization(remote, operation).await?;
            let response = self
                .send_with_retry(&Attempt {
                    kind,
                    method: method.clone(),
                    url,
                    accept,
                    authorization: &authorization,
                    skip_tls_verify: remote.skip_tls_verify,
                    limit,
                    operation,
                    host: registry,
                    document,
                })
                .await?;
            if response.status != 401 {
                return Ok(response);
            }
            self.inner.counters.unauthorized();
            let unauthorized = || RegistryError::Unauthorized {
                operation: operation.to_owned(),
                host: registry.to_owned(),
                credentials_given: remote.credentials.is_some(),
            };
            let challenge = response
                .headers
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(auth::challenge);
            let Some(challenge) = challenge else {
                return Err(unauthorized());
            };
            if authenticated_again
                || (challenge == Challenge::Basic && remote.credentials.is_none())
            {
                return Err(unauthorized());
            }
            if let Authorization::Bearer(rejected) = &authorization {
                self.forget_token(registry, &remote.repository.pull_scope(), rejected);
            }
            lock(&self.inner.challenges).insert(registry.to_owned(), challenge);
            authenticated_again = true;
        }
    }

    /// What to send given what the registry asked for before.
    async fn authorization(&self, remote: &Remote, operation: &str) -> Result<Authorization> {
        let challenge = lock(&self.inner.challenges)
            .get(remote.repository.registry())
            .cloned();
        match challenge {
            None => Ok(Authorization::None),
            Some(Challenge::Basic) => Ok(remote
                .credentials
                .clone()
                .map_or(Authorization::None, Authorization::Basic)),
            Some(Challenge::Bearer { realm, service, .. }) => {
                let token = self
                    .token(remote, &realm, service.as_deref(), operation)
                    .await?;
                Ok(Authorization::Bearer(token))
            }
        }
    }

    /// A bearer token for pulling from the repository: cached, or fetched once for all the
    /// requests that wait for it.
    async fn token(
        &self,
        remote: &Remote,
        realm: &str,
        service: Option<&str>,
        operation: &str,
    ) -> Result<SecretValue> {
        let scope = remote.repository.pull_scope();
        let key = (remote.repository.registry().to_owned(), scope.clone());
        if let Some(token) = self.cached_token(&key) {
            return Ok(token);
        }
        let gate = Arc::clone(
            lock(&self.inner.token_gates)
                .entry(key.clone())
                .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(()))),
        );
        let _guard = gate.lock().await;
        if let Some(token) = self.cached_token(&key) {
            return Ok(token);
        }
        let token_error = |reason: String| RegistryError::Token {
            realm: gantry_api::redact::url(realm),
            reason,
        };
        let mut url =
            Url::parse(realm).map_err(|_| token_error("the realm is not a URL".to_owned()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(token_error("the realm is not an http(s) URL".to_owned()));
        }
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            query.append_pair("scope", &scope);
        }
        let authorization = remote
            .credentials
            .clone()
            .map_or(Authorization::None, Authorization::Basic);
        let host = host_port(&url);
        let token_operation = format!(
            "get a pull token for {} (to {operation})",
            remote.repository
        );
        let document = format!("the token from {}", gantry_api::redact::url(realm));
        let response = self
            .send_with_retry(&Attempt {
                kind: RequestKind::Token,
                method: Method::GET,
                url: &url,
                accept: Some("application/json"),
                authorization: &authorization,
                skip_tls_verify: remote.skip_tls_verify,
                limit: 1024 * 1024,
                operation: &token_operation,
                host: &host,
                document: &document,
            })
            .await?;
        match response.status {
            200..=299 => {}
            401 | 403 => {
                return Err(RegistryError::Unauthorized {
                    operation: token_operation,
                    host,
                    credentials_given: remote.credentials.is_some(),
                });
            }
            status => return Err(token_error(format!("HTTP {status}"))),
        }
        let token =
            auth::parse_token_response(&response.body, Instant::now()).map_err(token_error)?;
        let value = token.value.clone();
        lock(&self.inner.tokens).insert(key, token);
        Ok(value)
    }

    fn cached_token(&self, key: &TokenKey) -> Option<SecretValue> {
        lock(&self.inner.tokens)
            .get(key)
            .filter(|token| token.is_fresh(Instant::now()))
            .map(|token| token.value.clone())
    }

    /// Drops a token the registry rejected, unless another task already replaced it.
    fn forget_token(&self, registry: &str, scope: &str, rejected: &SecretValue) {
        let key = (registry.to_owned(), scope.to_owned());
        let mut tokens = lock(&self.inner.tokens);
        if tokens.get(&key).is_some_and(|t| t.value == *rejected) {
            tokens.remove(&key);
        }
    }

    /// Sends a request under the rate limit, retrying 429, 5xx and network failures.
    async fn send_with_retry(&self, attempt: &Attempt<'_>) -> Result<Response> {
        let options = &self.inner.options;
        let backoff = options.backoff;
        let mut retries = 0u32;
        loop {
            self.inner.limiters.acquire(&host_port(attempt.url)).await;
            self.inner.counters.sent(attempt.kind);
            if retries > 0 {
                self.inner.counters.retried();
            }
            let wait = match self.send_once(attempt).await {
                Ok(response) if retryable_status(response.status) => {
                    if retries >= backoff.max_retries {
                        return Err(RegistryError::Status {
                            operation: attempt.operation.to_owned(),
                            host: attempt.host.to_owned(),
                            status: response.status,
                            retries,
                        });
                    }
                    header(&response.headers, RETRY_AFTER.as_str())
                        .and_then(|value| parse_retry_after(value, SystemTime::now()))
                        .map_or_else(
                            || backoff.delay(retries + 1, self.inner.jitter.next()),
                            |asked| asked.min(backoff.max_retry_after),
                        )
                }
                Ok(response) => return Ok(response),
                Err(SendError::TooLarge) => {
                    return Err(RegistryError::TooLarge {
                        document: attempt.document.to_owned(),
                        limit: attempt.limit,
                    });
                }
                Err(SendError::Http(error)) => {
                    if retries >= backoff.max_retries {
                        return Err(self.transport_error(attempt, error, retries));
                    }
                    backoff.delay(retries + 1, self.inner.jitter.next())
                }
            };
            retries += 1;
            tokio::time::sleep(wait).await;
        }
    }

    fn transport_error(
        &self,
        attempt: &Attempt<'_>,
        error: reqwest::Error,
        retries: u32,
    ) -> RegistryError {
        if error.is_timeout() {
            RegistryError::Timeout {
                operation: attempt.operation.to_owned(),
                host: attempt.host.to_owned(),
                timeout: self.inner.options.request_timeout,
                retries,
            }
        } else {
            RegistryError::Transport {
                operation: attempt.operation.to_owned(),
                host: attempt.host.to_owned(),
                retries,
                source: error.without_url(),
            }
        }
    }

    async fn send_once(&self, attempt: &Attempt<'_>) -> Result<Response, SendError> {
        let client = if attempt.skip_tls_verify {
            &self.inner.http_unverified
        } else {
            &self.inner.http
        };
        let mut request = client
            .request(attempt.method.clone(), attempt.url.clone())
            .timeout(self.inner.options.request_timeout);
        if let Some(accept) = attempt.accept {
            request = request.header(ACCEPT, accept);
        }
        request = match attempt.authorization {
            Authorization::None => request,
            Authorization::Basic(credentials) => {
                request.basic_auth(&credentials.username, Some(credentials.password.expose()))
            }
            Authorization::Bearer(token) => request.bearer_auth(token.expose()),
        };
        let mut response = request.send().await.map_err(SendError::Http)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        let reads_body = attempt.method != Method::HEAD && (200..300).contains(&status);
        if reads_body {
            if response
                .content_length()
                .is_some_and(|length| length > attempt.limit as u64)
            {
                return Err(SendError::TooLarge);
            }
            while let Some(chunk) = response.chunk().await.map_err(SendError::Http)? {
                if body.len() + chunk.len() > attempt.limit {
                    return Err(SendError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// `host[:port]` of a URL, the key of the rate limit.
fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// Maps a non-2xx status (after retries and authentication) to an error.
pub(crate) fn check_status(response: &Response, operation: &str, host: &str) -> Result<()> {
    match response.status {
        200..=299 => Ok(()),
        404 => Err(RegistryError::NotFound {
            operation: operation.to_owned(),
            host: host.to_owned(),
        }),
        403 => Err(RegistryError::Forbidden {
            operation: operation.to_owned(),
            host: host.to_owned(),
        }),
        401 => Err(RegistryError::Unauthorized {
            operation: operation.to_owned(),
            host: host.to_owned(),
            credentials_given: false,
        }),
        status => Err(RegistryError::Status {
            operation: operation.to_owned(),
            host: host.to_owned(),
            status,
            retries: 0,
        }),
    }
}
