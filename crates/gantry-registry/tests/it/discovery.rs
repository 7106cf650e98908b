//! Image discovery: strategies, platforms, build times and request counts on repeat.

use std::sync::Arc;

use gantry_registry::{
    CredentialStore, FileCache, MetadataCache, RegistryError, RequestCounts, discover_images,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{Image, OCI_MANIFEST, Registry, client, client_with_cache, memory_cache};
use crate::image_subscription;

fn none() -> CredentialStore {
    CredentialStore::default()
}

/// Serves `count` tags `1.0.<i>` (plus some non-semver tags), each its own image built at
/// day `i` of January 2024.
async fn many_tags(registry: &Registry, count: usize) {
    let mut tags: Vec<String> = (1..=count).map(|i| format!("1.0.{i}")).collect();
    tags.push("latest".to_owned());
    tags.push("sha-abc".to_owned());
    let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    registry.tags("team/app", &refs).await;
    for i in 1..=count {
        let image = Image::created(&format!("2024-01-{:02}T00:00:00Z", i % 28 + 1));
        registry
            .image("team/app", &[&format!("1.0.{i}")], &image)
            .await;
    }
}

#[tokio::test]
async fn repeat_semver_discovery_costs_one_tag_list_and_no_manifest_get() {
    let registry = Registry::start().await;
    many_tags(&registry, 30).await;
    let client = client();
    let subscription = image_subscription(json!({
        "repoURL": registry.repo_url("team/app"),
        "constraint": "^1.0.0",
        "discoveryLimit": 5,
    }));
    let first = discover_images(&subscription, Some("app"), &none(), &client)
        .await
        .unwrap();
    let tags: Vec<&str> = first.references.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["1.0.30", "1.0.29", "1.0.28", "1.0.27", "1.0.26"]);
    assert_eq!(first.subscription_name.as_deref(), Some("app"));
    assert!(first.references[0].digest.starts_with("sha256:"));
    assert_eq!(
        first.references[0].created_at.as_deref(),
        Some("2024-01-03T00:00:00Z")
    );
    let after_first = client.counts();
    assert_eq!(
        after_first,
        RequestCounts {
            tag_list_pages: 1,
            manifest_heads: 5,
            manifest_gets: 5,
            blob_gets: 5,
            ..RequestCounts::default()
        }
    );

    let second = discover_images(&subscription, Some("app"), &none(), &client)
        .await
        .unwrap();
    assert_eq!(second, first);
    let repeat = client.counts().since(&after_first);
    assert_eq!(
        repeat,
        RequestCounts {
            tag_list_pages: 1,
            manifest_heads: 5,
            ..RequestCounts::default()
        }
    );
}

#[tokio::test]
async fn cache_by_tag_skips_the_head_too() {
    let registry = Registry::start().await;
    many_tags(&registry, 10).await;
    let client = client();
    let subscription = image_subscription(json!({
        "repoURL": registry.repo_url("team/app"),
        "imageSelectionStrategy": "Lexical",
        "allowTagsRegexes": ["^1\\."],
        "discoveryLimit": 3,
        "cacheByTag": true,
    }));
    let first = discover_images(&subscription, None, &none(), &client)
        .await
        .unwrap();
    let tags: Vec<&str> = first.references.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["1.0.9", "1.0.8", "1.0.7"], "lexical order");
    let before = client.counts();
    discover_images(&subscription, None, &none(), &client)
        .await
        .unwrap();
    assert_eq!(
        client.counts().since(&before),
        RequestCounts {
            tag_list_pages: 1,
            ..RequestCounts::default()
        }
    );
}

#[tokio::test]
async fn a_file_cache_carries_metadata_across_clients() {
    let registry = Registry::start().await;
    many_tags(&registry, 8).await;
    let dir = tempfile::tempdir().unwrap();
    let subscription = image_subscription(json!({
        "repoURL": registry.repo_url("team/app"),
        "imageSelectionStrategy": "NewestBuild",
        "discoveryLimit": 3,
    }));
    let cache: Arc<dyn MetadataCache> = Arc::new(FileCache::open(dir.path()).unwrap());
    let first_client = client_with_cache(cache);
    let first = discover_images(&subscription, None, &none(), &first_client)
        .await
        .unwrap();
    assert_eq!(first_client.counts().manifest_gets, 8);

    let cache: Arc<dyn MetadataCache> = Arc::new(FileCache::open(dir.path()).unwrap());
    let second_client = client_with_cache(cache);
    let second = discover_images(&subscription, None, &none(), &second_client)
        .await
        .unwrap();
    assert_eq!(second, first);
    let counts = second_client.counts();
    assert_eq!(
        (counts.tag_list_pages, counts.manifest_heads),
        (1, 10),
        "8 images, 2 tags without one"
    );
    assert_eq!((counts.manifest_gets, counts.blob_gets), (0, 0));
}

#[tokio::test]
async fn newest_build_orders_by_build_time_then_tag() {
    let registry = Registry::start().await;
    registry
        .tags("team/app", &["a", "b", "c", "d", "skip-me"])
        .await;
    // a: config created only
    registry
        .image("team/app", &["a"], &Image::created("2024-03-01T00:00:00Z"))
        .await;
    // b: older config, but an OCI label
    let mut b = Image::created("2020-01-01T00:00:00Z");
    b.config["config"]["Labels"] =
        json!({"org.opencontainers.image.created": "2024-05-01T00:00:00Z"});
    registry.image("team/app", &["b"], &b).await;
    // c: a manifest annotation (label-schema) wins over a newer label
    let mut c = Image::created("2020-01-01T00:00:00Z");
    c.config["config"]["Labels"] =
        json!({"org.opencontainers.image.created": "2025-01-01T00:00:00Z"});
    c.annotations = json!({"org.label-schema.build-date": "2024-04-01T00:00:00Z"});
    registry.image("team/app", &["c"], &c).await;
    // d: same time as a: tag descending breaks the tie
    registry
        .image("team/app", &["d"], &Image::created("2024-03-01T00:00:00Z"))
        .await;
    let subscription = image_subscription(json!({
        "repoURL": registry.repo_url("team/app"),
        "imageSelectionStrategy": "NewestBuild",
        "ignoreTagsRegexes": ["^skip"],
    }));
    let result = discover_images(&subscription, None, &none(), &client())
        .await
        .unwrap();
    let found: Vec<(&str, &str)> = result
        .references
        .iter()
        .map(|r| (r.tag.as_str(), r.created_at.as_deref().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("b", "2024-05-01T00:00:00Z"),
            ("c", "2024-04-01T00:00:00Z"),
            ("d", "2024-03-01T00:00:00Z"),
            ("a", "2024-03-01T00:00:00Z"),
        ]
    );
    assert_eq!(
        result.references[1]
            .annotations
            .get("org.label-schema.build-date")
            .map(String::as_str),
        Some("2024-04-01T00:00:00Z")
    );
}

#[tokio::test]
async fn manifest_lists_are_filtered_by_platform() {
    let registry = Registry::start().await;
    registry
        .tags("team/app", &["1.0.0", "1.1.0", "2.0.0"])
        .await;
    let (index, _) = registry
        .index(
            "team/app",
            &["1.1.0"],
            &[
                (
                    "linux",
                    "amd64",
                    "",
                    Image::platform("2024-02-01T00:00:00Z", "linux", "amd64", ""),
                ),
                (
                    "linux",
                    "arm64",
                    "v8",
                    Image::platform("2024-02-03T00:00:00Z", "linux", "arm64", "v8"),
                ),
            ],
        )
        .await;
    // a single-arch amd64 image and an index without arm64
    registry
        .image(
            "team/app",
            &["2.0.0"],
            &Image::platform("2024-03-01T00:00:00Z", "linux", "amd64", ""),
        )
        .await;
    registry
        .image(
            "team/app",
            &["1.0.0"],
            &Image::platform("2024-01-01T00:00:00Z", "linux", "arm64", "v8"),
        )
        .await;

    let subscription = |platform: Option<&str>| {
        let mut value = json!({"repoURL": registry.repo_url("team/app")});
        if let Some(platform) = platform {
            value["platform"] = json!(platform);
        }
        image_subscription(value)
    };
    let client = client();
    let arm = discover_images(
        &subscription(Some("linux/arm64/v8")),
        None,
        &none(),
        &client,
    )
    .await
    .unwrap();
    let found: Vec<(&str, &str, &str)> = arm
        .references
        .iter()
        .map(|r| {
            (
                r.tag.as_str(),
                r.digest.as_str(),
                r.created_at.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found[0],
        ("1.1.0", index.as_str(), "2024-02-03T00:00:00Z"),
        "index digest, arm64 build time"
    );
    assert_eq!(found.len(), 2, "2.0.0 is amd64 only: {found:?}");
    assert_eq!(found[1].0, "1.0.0");
    assert_eq!(arm.platform.as_deref(), Some("linux/arm64/v8"));
    assert_eq!(
        arm.references[0]
            .annotations
            .get("org.opencontainers.image.source")
            .map(String::as_str),
        Some("https://git.example/app")
    );

    let any = discover_images(&subscription(None), None, &none(), &client)
        .await
        .unwrap();
    let found: Vec<(&str, &str)> = any
        .references
        .iter()
        .map(|r| (r.tag.as_str(), r.created_at.as_deref().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("2.0.0", "2024-03-01T00:00:00Z"),
            ("1.1.0", "2024-02-03T00:00:00Z"),
            ("1.0.0", "2024-01-01T00:00:00Z")
        ],
        "without a platform an index takes its newest image's build time"
    );

    let none_match = discover_images(&subscription(Some("linux/s390x")), None, &none(), &client)
        .await
        .unwrap();
    assert!(none_match.references.is_empty());

    let error = discover_images(&subscription(Some("linux")), None, &none(), &client)
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::InvalidPlatform { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn digest_follows_the_mutable_tag_and_a_missing_tag_is_no_result() {
    let registry = Registry::start().await;
    let digest = registry
        .image(
            "team/app",
            &["latest"],
            &Image::created("2024-01-01T00:00:00Z"),
        )
        .await;
    let client = client();
    let subscription = image_subscription(json!({
        "repoURL": registry.repo_url("team/app"),
        "imageSelectionStrategy": "Digest",
        "constraint": "latest",
        "cacheByTag": true,
    }));
    let result = discover_images(&subscription, None, &none(), &client)
        .await
        .unwrap();
    assert_eq!(result.references.len(), 1);
    assert_eq!(result.references[0].digest, digest);
    assert_eq!(client.counts().tag_list_pages, 0, "Digest lists no tags");
    // cacheByTag is ignored for Digest: the second run asks the registry again
    discover_images(&subscription, None, &none(), &client)
        .await
        .unwrap();
    assert_eq!(client.counts().manifest_heads, 2);

    let missing = image_subscription(json!({
        "repoURL": registry.repo_url("team/app"),
        "imageSelectionStrategy": "Digest",
        "constraint": "stable",
    }));
    let result = discover_images(&missing, None, &none(), &client)
        .await
        .unwrap();
    assert!(result.references.is_empty());
}

#[tokio::test]
async fn a_head_without_a_digest_falls_back_to_a_get() {
    let registry = Registry::start().await;
    registry.tags("team/app", &["1.0.0"]).await;
    let body = registry
        .image_manifest("team/app", &Image::created("2024-01-01T00:00:00Z"))
        .await;
    Mock::given(method("HEAD"))
        .and(path("/v2/team/app/manifests/1.0.0"))
        .respond_with(ResponseTemplate::new(200).insert_header("content-type", OCI_MANIFEST))
        .mount(&registry.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/1.0.0"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), OCI_MANIFEST))
        .mount(&registry.server)
        .await;
    let client = client_with_cache(memory_cache());
    let result = discover_images(
        &image_subscription(json!({"repoURL": registry.repo_url("team/app")})),
        None,
        &none(),
        &client,
    )
    .await
    .unwrap();
    assert_eq!(result.references[0].digest, crate::fake::sha256(&body));
    let counts = client.counts();
    assert_eq!(
        (
            counts.manifest_heads,
            counts.manifest_gets,
            counts.blob_gets
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn deprecated_fields_and_bad_settings_fail_before_any_request() {
    let client = client();
    for (value, expected) in [
        (
            json!({"repoURL": "127.0.0.1:9/app", "allowTags": "^v"}),
            "allowTags",
        ),
        (
            json!({"repoURL": "127.0.0.1:9/app", "ignoreTags": ["x"]}),
            "ignoreTags",
        ),
        (
            json!({"repoURL": "127.0.0.1:9/app", "constraint": "not a constraint"}),
            "subscription",
        ),
        (json!({"repoURL": "127.0.0.1:9/app:v1"}), "tag"),
    ] {
        let error = discover_images(&image_subscription(value), None, &none(), &client)
            .await
            .unwrap_err();
        let chain = error_chain(&error);
        assert!(chain.contains(expected), "{chain}");
    }
    assert_eq!(client.counts().total(), 0);
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A registry serving `team/app:1.2.0` whose manifest `HEAD` for that tag first answers
/// `early` twice; the subscription to it and the digest it finally serves.
async fn tag_served_after_two(
    early: ResponseTemplate,
) -> (Registry, gantry_api::kargo::ImageSubscription, String) {
    let registry = Registry::start().await;
    Mock::given(method("HEAD"))
        .and(path("/v2/team/app/manifests/1.2.0"))
        .respond_with(early)
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&registry.server)
        .await;
    let digest = registry
        .image(
            "team/app",
            &["1.2.0"],
            &Image::created("2024-01-01T00:00:00Z"),
        )
        .await;
    let subscription = image_subscription(json!({
        "repoURL": format!("{}/team/app", registry.host()),
    }));
    (registry, subscription, digest)
}

/// How many `HEAD` requests the registry received.
async fn heads(registry: &Registry) -> usize {
    registry
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "HEAD")
        .count()
}

#[tokio::test]
async fn await_tag_polls_until_the_registry_serves_the_tag_and_gives_up_after_its_patience() {
    // The notification came before the tag was linked: two 404s, then the manifest.
    let (registry, subscription, _) = tag_served_after_two(ResponseTemplate::new(404)).await;
    let client = client();
    let patience = std::time::Duration::from_secs(5);
    let started = std::time::Instant::now();
    assert!(
        gantry_registry::await_tag(&subscription, &none(), &client, "1.2.0", None, patience).await
    );
    assert!(started.elapsed() < patience);
    assert_eq!(heads(&registry).await, 3);

    // A tag that never comes: false once the patience is spent.
    let patience = std::time::Duration::from_millis(150);
    let started = std::time::Instant::now();
    assert!(
        !gantry_registry::await_tag(&subscription, &none(), &client, "9.9.9", None, patience).await
    );
    assert!(started.elapsed() >= patience);
}

#[tokio::test]
async fn await_tag_with_a_digest_waits_until_the_tag_names_that_manifest() {
    // The tag is pushed again: the registry first still answers with the manifest it named
    // before.
    let old = format!("sha256:{}", "0".repeat(64));
    let (registry, subscription, new) = tag_served_after_two(
        ResponseTemplate::new(200).insert_header("Docker-Content-Digest", old.as_str()),
    )
    .await;
    let client = client();
    let wait = async |digest: &str, patience| {
        gantry_registry::await_tag(
            &subscription,
            &none(),
            &client,
            "1.2.0",
            Some(digest),
            patience,
        )
        .await
    };
    assert!(wait(&new, std::time::Duration::from_secs(5)).await);
    assert_eq!(heads(&registry).await, 3);

    // A digest the tag never names: false once the patience is spent.
    let patience = std::time::Duration::from_millis(150);
    let started = std::time::Instant::now();
    assert!(!wait(&old, patience).await);
    assert!(started.elapsed() >= patience);
}
