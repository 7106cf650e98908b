//! Basic and bearer authentication, token caching and refresh, and clear 401 errors.

use gantry_registry::{
    BasicCredentials, CredentialStore, RegistryError, Remote, Repository, discover_images,
};
use serde_json::json;
use wiremock::matchers::{basic_auth, bearer_token, method, path, path_regex, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{Image, Registry, client, credentials};
use crate::image_subscription;

/// Every `/v2/` request needs `Bearer <token>`; the token service at `/token` gives `token` to
/// `user:pass` for the `team/app` pull scope.
async fn bearer_registry(registry: &Registry, tokens: &[&str]) {
    let challenge = format!(
        r#"Bearer realm="{}/token",service="test-registry",scope="repository:team/app:pull""#,
        registry.server.uri()
    );
    Mock::given(path_regex("^/v2/"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("www-authenticate", challenge.as_str()),
        )
        .with_priority(10)
        .mount(&registry.server)
        .await;
    for token in tokens {
        Mock::given(method("GET"))
            .and(path("/token"))
            .and(query_param("service", "test-registry"))
            .and(query_param("scope", "repository:team/app:pull"))
            .and(basic_auth("user", "pass"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"token": token, "expires_in": 300})),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&registry.server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"errors": [{"code": "UNAUTHORIZED"}]})),
        )
        .with_priority(10)
        .mount(&registry.server)
        .await;
}

/// Mounts `mock` so that it only answers requests bearing `token`.
fn with_token(builder: wiremock::MockBuilder, token: &str) -> wiremock::MockBuilder {
    builder.and(bearer_token(token))
}

#[tokio::test]
async fn bearer_tokens_are_fetched_once_for_many_requests() {
    let registry = Registry::start().await;
    bearer_registry(&registry, &["tok"]).await;
    // serve tags and images only to holders of the token
    let tags: Vec<String> = (1..=6).map(|i| format!("1.0.{i}")).collect();
    with_token(
        Mock::given(method("GET")).and(path("/v2/team/app/tags/list")),
        "tok",
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tags": tags})))
    .with_priority(1)
    .mount(&registry.server)
    .await;
    // images are mounted without auth matchers at default priority (5), which wins over the
    // 401 catch-all (10); so check the token on the tag list and count token fetches
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    registry
        .image(
            "team/app",
            &tag_refs,
            &Image::created("2024-01-01T00:00:00Z"),
        )
        .await;

    let client = client();
    let store = credentials("image", &registry.repo_url("team/app"), "user", "pass");
    let subscription = image_subscription(json!({
        "repoURL": registry.repo_url("team/app"),
        "imageSelectionStrategy": "NewestBuild",
        "discoveryLimit": 3,
    }));
    let result = discover_images(&subscription, None, &store, &client)
        .await
        .unwrap();
    assert_eq!(result.references.len(), 3);
    // again: the cached token serves the second discovery too
    discover_images(&subscription, None, &store, &client)
        .await
        .unwrap();
    let counts = client.counts();
    assert_eq!(counts.token_fetches, 1, "{counts:?}");
    assert_eq!(counts.unauthorized, 1, "{counts:?}");
    assert_eq!(
        counts.tag_list_pages, 3,
        "one anonymous try, then one per discovery: {counts:?}"
    );
}

#[tokio::test]
async fn a_rejected_cached_token_is_refreshed_once() {
    let registry = Registry::start().await;
    bearer_registry(&registry, &["tok1", "tok2"]).await;
    with_token(
        Mock::given(method("GET")).and(path("/v2/team/app/tags/list")),
        "tok1",
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tags": ["old"]})))
    .up_to_n_times(1)
    .with_priority(1)
    .mount(&registry.server)
    .await;
    with_token(
        Mock::given(method("GET")).and(path("/v2/team/app/tags/list")),
        "tok2",
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tags": ["new"]})))
    .with_priority(1)
    .mount(&registry.server)
    .await;
    let client = client();
    let remote = Remote::new(Repository::parse(&registry.repo_url("team/app")).unwrap())
        .with_credentials(Some(BasicCredentials::new("user", "pass")));
    assert_eq!(client.list_tags(&remote).await.unwrap(), ["old"]);
    // the registry now refuses tok1: the client gets tok2 and succeeds
    assert_eq!(client.list_tags(&remote).await.unwrap(), ["new"]);
    let counts = client.counts();
    assert_eq!(counts.token_fetches, 2, "{counts:?}");
    assert_eq!(counts.unauthorized, 2, "{counts:?}");
}

#[tokio::test]
async fn wrong_credentials_for_the_token_service_give_a_clear_error() {
    let registry = Registry::start().await;
    bearer_registry(&registry, &["tok"]).await;
    let client = client();
    let remote = Remote::new(Repository::parse(&registry.repo_url("team/app")).unwrap())
        .with_credentials(Some(BasicCredentials::new("user", "s3cret-wrong")));
    let error = client.list_tags(&remote).await.unwrap_err();
    assert!(
        matches!(
            error,
            RegistryError::Unauthorized {
                credentials_given: true,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("401") && message.contains("rejected"),
        "{message}"
    );
    assert!(message.contains("team/app"), "{message}");
    assert!(!message.contains("s3cret-wrong") && !format!("{error:?}").contains("s3cret-wrong"));
    assert!(!format!("{remote:?}").contains("s3cret-wrong"));
}

#[tokio::test]
async fn basic_auth_registries_get_credentials_after_the_challenge() {
    let registry = Registry::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .and(basic_auth("user", "pass"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"tags": ["v1"]})))
        .with_priority(1)
        .mount(&registry.server)
        .await;
    Mock::given(path_regex("^/v2/"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", r#"Basic realm="Registry Realm""#),
        )
        .with_priority(10)
        .mount(&registry.server)
        .await;
    let repository = Repository::parse(&registry.repo_url("team/app")).unwrap();

    let client = client();
    let remote = Remote::new(repository.clone())
        .with_credentials(Some(BasicCredentials::new("user", "pass")));
    assert_eq!(client.list_tags(&remote).await.unwrap(), ["v1"]);
    assert_eq!(client.list_tags(&remote).await.unwrap(), ["v1"]);
    assert_eq!(
        client.counts().unauthorized,
        1,
        "the second list authenticates up front"
    );

    let anonymous = Remote::new(repository.clone());
    let error = client.list_tags(&anonymous).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("401") && message.contains("credentials are missing"),
        "{message}"
    );

    let wrong =
        Remote::new(repository).with_credentials(Some(BasicCredentials::new("user", "nope")));
    let error = client.list_tags(&wrong).await.unwrap_err();
    assert!(
        error.to_string().contains("credentials were rejected"),
        "{error}"
    );
}

#[tokio::test]
async fn discovery_without_credentials_on_a_private_registry_says_so() {
    let registry = Registry::start().await;
    bearer_registry(&registry, &["tok"]).await;
    let subscription = image_subscription(json!({"repoURL": registry.repo_url("team/app")}));
    let error = discover_images(&subscription, None, &CredentialStore::default(), &client())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("credentials are missing"), "{message}");
    assert!(
        message.contains(&registry.repo_url("team/app")),
        "{message}"
    );
}
