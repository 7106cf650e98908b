//! Registries misbehaving: server errors, rate limiting, garbage, slowness, wrong digests.

use std::time::{Duration, Instant};

use gantry_registry::{
    ClientOptions, CredentialStore, RateLimit, RegistryClient, RegistryError, Remote, Repository,
    discover_images,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{Image, OCI_MANIFEST, Registry, client, options, sha256};
use crate::image_subscription;

fn remote(registry: &Registry) -> Remote {
    Remote::new(Repository::parse(&registry.repo_url("team/app")).unwrap())
}

async fn failing_then_ok(
    registry: &Registry,
    status: u16,
    failures: u64,
    retry_after: Option<&str>,
) {
    let mut failure = ResponseTemplate::new(status);
    if let Some(seconds) = retry_after {
        failure = failure.insert_header("retry-after", seconds);
    }
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .respond_with(failure)
        .up_to_n_times(failures)
        .with_priority(1)
        .mount(&registry.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tags": ["v1"]})))
        .mount(&registry.server)
        .await;
}

#[tokio::test]
async fn server_errors_are_retried_until_the_registry_recovers() {
    let registry = Registry::start().await;
    failing_then_ok(&registry, 500, 2, None).await;
    let client = client();
    assert_eq!(client.list_tags(&remote(&registry)).await.unwrap(), ["v1"]);
    let counts = client.counts();
    assert_eq!(counts.tag_list_pages, 3);
    assert_eq!(counts.retries, 2);
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_retry_after_says() {
    let registry = Registry::start().await;
    failing_then_ok(&registry, 429, 1, Some("1")).await;
    let client = client();
    let start = Instant::now();
    assert_eq!(client.list_tags(&remote(&registry)).await.unwrap(), ["v1"]);
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(client.counts().retries, 1);
}

#[tokio::test]
async fn a_permanent_server_error_fails_after_the_configured_retries() {
    let registry = Registry::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&registry.server)
        .await;
    let client = client();
    let error = client.list_tags(&remote(&registry)).await.unwrap_err();
    assert!(
        matches!(
            error,
            RegistryError::Status {
                status: 503,
                retries: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_transient());
    let message = error.to_string();
    assert!(message.contains("HTTP 503 after 3 retries"), "{message}");
    assert!(message.contains("team/app"), "{message}");
    assert_eq!(client.counts().tag_list_pages, 4);
}

#[tokio::test]
async fn garbage_json_is_an_error_naming_the_document() {
    let registry = Registry::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>oops</html>", "text/html"))
        .mount(&registry.server)
        .await;
    let error = client().list_tags(&remote(&registry)).await.unwrap_err();
    assert!(
        matches!(error, RegistryError::InvalidDocument { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "the tag list of {} (page 1) is not valid",
            registry.repo_url("team/app")
        )
    );

    // a manifest that is not JSON, found during discovery
    let registry = Registry::start().await;
    registry.tags("team/app", &["1.0.0"]).await;
    registry
        .manifest("team/app", &["1.0.0"], OCI_MANIFEST, b"{\"config\": 42")
        .await;
    let subscription = image_subscription(json!({"repoURL": registry.repo_url("team/app")}));
    let error = discover_images(&subscription, None, &CredentialStore::default(), &client())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("the manifest `sha256:") && message.contains("is not valid"),
        "{message}"
    );
}

#[tokio::test]
async fn a_slow_registry_gives_a_timeout_error() {
    let registry = Registry::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"tags": ["v1"]}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&registry.server)
        .await;
    let mut options = options();
    options.request_timeout = Duration::from_millis(200);
    options.backoff.max_retries = 1;
    let client = RegistryClient::new(options).unwrap();
    let start = Instant::now();
    let error = client.list_tags(&remote(&registry)).await.unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(
        matches!(error, RegistryError::Timeout { retries: 1, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("did not answer within 200ms after 1 retry"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_registry_is_a_transport_error() {
    // bind and drop a listener to get a port nobody listens on
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let repository = Repository::parse(&format!("127.0.0.1:{port}/team/app")).unwrap();
    let error = client()
        .list_tags(&Remote::new(repository))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::Transport { retries: 3, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("could not talk to"), "{error}");
}

#[tokio::test]
async fn a_digest_that_does_not_match_the_body_is_refused() {
    let registry = Registry::start().await;
    let body = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"digest": sha256(b"x")}}),
    )
    .unwrap();
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/v1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body, OCI_MANIFEST)
                .insert_header("docker-content-digest", sha256(b"something else").as_str()),
        )
        .mount(&registry.server)
        .await;
    let error = client()
        .get_manifest(&remote(&registry), "v1")
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::DigestMismatch { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("the manifest `v1` of"),
        "{error}"
    );

    // a blob whose bytes are not what its digest says
    Mock::given(method("GET"))
        .and(path(format!("/v2/team/app/blobs/{}", sha256(b"config"))))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("tampered", "application/octet-stream"),
        )
        .mount(&registry.server)
        .await;
    let error = client()
        .get_blob(&remote(&registry), &sha256(b"config"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::DigestMismatch { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn oversized_documents_are_refused() {
    let registry = Registry::start().await;
    registry
        .image("team/app", &["v1"], &Image::created("2024-01-01T00:00:00Z"))
        .await;
    let mut options = options();
    options.max_manifest_bytes = 10;
    let client = RegistryClient::new(options).unwrap();
    let error = client
        .get_manifest(&remote(&registry), "v1")
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::TooLarge { limit: 10, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_rate_limit_spaces_requests_to_one_registry() {
    let registry = Registry::start().await;
    registry.tags("team/app", &["v1"]).await;
    let mut options: ClientOptions = options();
    options.rate_limit = RateLimit {
        per_second: 20.0,
        burst: 1,
    };
    let client = RegistryClient::new(options).unwrap();
    let start = Instant::now();
    for _ in 0..6 {
        client.list_tags(&remote(&registry)).await.unwrap();
    }
    // 6 requests at 20/s with no burst: the last one starts 250 ms after the first
    assert!(
        start.elapsed() >= Duration::from_millis(240),
        "{:?}",
        start.elapsed()
    );
}
