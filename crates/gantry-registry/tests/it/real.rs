//! Discovery against the real Debian `docker-registry` (distribution 2.8) started by
//! gantry-test: htpasswd and token auth, Docker manifest lists and OCI indexes, build-time
//! precedence, a file cache shared by two clients, a moving tag, an OCI chart repository, and
//! tokens per repository with a regex credential Secret.
//!
//! The tests are synchronous: the harness pushes with reqwest's blocking client, which must not
//! run (or be dropped) inside an async runtime, so each discovery runs in a runtime of its own.

use std::future::Future;
use std::sync::Arc;

use gantry_api::core_v1::Secret;
use gantry_api::kargo::{ImageDiscoveryResult, ImageSubscription};
use gantry_registry::{
    CredentialStore, FileCache, MetadataCache, Notified, RegistryClient, RegistryError,
    RequestCounts, discover_charts, discover_images, discover_images_notified,
};
use gantry_test::{ImageSpec, IndexSpec, ManifestFlavour, Platform, Registry};
use serde_json::json;

use crate::fake::{client, client_with_cache, credentials};
use crate::{chart_subscription, image_subscription};

const USER: &str = "kargo";
const PASSWORD: &str = "pw-3f9c1e-do-not-leak";

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn none() -> CredentialStore {
    CredentialStore::default()
}

fn repo_url(registry: &Registry, repository: &str) -> String {
    format!("{}/{repository}", registry.host())
}

fn discover(
    subscription: &ImageSubscription,
    store: &CredentialStore,
    client: &RegistryClient,
) -> Result<ImageDiscoveryResult, RegistryError> {
    block_on(discover_images(subscription, None, store, client))
}

fn day(date: &str) -> String {
    format!("{date}T00:00:00Z")
}

/// `(tag, digest, createdAt)` of each reference, in order.
fn found(result: &ImageDiscoveryResult) -> Vec<(String, String, String)> {
    result
        .references
        .iter()
        .map(|r| {
            (
                r.tag.clone(),
                r.digest.clone(),
                r.created_at.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn tags(result: &ImageDiscoveryResult) -> Vec<&str> {
    result.references.iter().map(|r| r.tag.as_str()).collect()
}

/// Pushes `1.0.0`, `1.1.0`, `2.0.0` and `latest`, each its own image, to `team/app`; returns
/// their digests in that order.
fn push_versions(registry: &Registry) -> Vec<String> {
    let images: Vec<(&str, ImageSpec)> = [
        ("1.0.0", "2024-01-01"),
        ("1.1.0", "2024-01-02"),
        ("2.0.0", "2024-01-03"),
        ("latest", "2024-01-04"),
    ]
    .into_iter()
    .map(|(tag, date)| (tag, ImageSpec::new().created(day(date))))
    .collect();
    registry
        .push_images("team/app", &images)
        .unwrap()
        .into_iter()
        .map(|pushed| pushed.digest)
        .collect()
}

#[test]
fn a_basic_auth_registry_is_read_with_the_credentials_of_a_kargo_secret() {
    let registry = Registry::start_basic(USER, PASSWORD).unwrap();
    let digests = push_versions(&registry);
    let url = repo_url(&registry, "team/app");
    let subscription = image_subscription(json!({"repoURL": url, "constraint": "^1.0.0"}));
    let store = credentials("image", &url, USER, PASSWORD);
    let client = client();
    let result = discover(&subscription, &store, &client).unwrap();
    assert_eq!(
        found(&result),
        [
            ("1.1.0".into(), digests[1].clone(), day("2024-01-02")),
            ("1.0.0".into(), digests[0].clone(), day("2024-01-01")),
        ]
    );
    assert_eq!(
        client.counts(),
        RequestCounts {
            tag_list_pages: 2,
            manifest_heads: 2,
            manifest_gets: 2,
            blob_gets: 2,
            unauthorized: 1,
            ..RequestCounts::default()
        },
        "one 401 (on the first tag list request, sent again with the credentials) teaches the \
         client that the registry wants basic auth"
    );
}

#[test]
fn a_basic_auth_registry_without_credentials_says_they_are_missing() {
    let registry = Registry::start_basic(USER, PASSWORD).unwrap();
    push_versions(&registry);
    let subscription = image_subscription(json!({"repoURL": repo_url(&registry, "team/app")}));
    let client = client();
    let error = discover(&subscription, &none(), &client).unwrap_err();
    assert!(
        matches!(
            error,
            RegistryError::Unauthorized {
                credentials_given: false,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("401") && message.contains("credentials are missing"),
        "{message}"
    );
    assert_eq!(
        client.counts(),
        RequestCounts {
            tag_list_pages: 1,
            unauthorized: 1,
            ..RequestCounts::default()
        },
        "no retry without credentials"
    );
}

#[test]
fn a_wrong_password_is_rejected_without_appearing_in_the_error() {
    let registry = Registry::start_basic(USER, PASSWORD).unwrap();
    push_versions(&registry);
    let url = repo_url(&registry, "team/app");
    let wrong = "wrong-pw-7b2d0a";
    let store = credentials("image", &url, USER, wrong);
    let client = client();
    let error = discover(
        &image_subscription(json!({"repoURL": url})),
        &store,
        &client,
    )
    .unwrap_err();
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
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("rejected"), "{shown}");
    assert!(
        !shown.contains(wrong) && !shown.contains(PASSWORD),
        "{shown}"
    );
    assert_eq!(
        client.counts(),
        RequestCounts {
            tag_list_pages: 2,
            unauthorized: 2,
            ..RequestCounts::default()
        },
        "one try without, one with the credentials"
    );
}

#[test]
fn a_token_registry_costs_one_token_for_a_whole_discovery() {
    let registry = Registry::start_token(USER, PASSWORD).unwrap();
    let images: Vec<(String, ImageSpec)> = (1..=6)
        .map(|i| {
            (
                format!("1.0.{i}"),
                ImageSpec::new().created(day(&format!("2024-02-0{i}"))),
            )
        })
        .collect();
    registry.push_images("team/app", &images).unwrap();
    let url = repo_url(&registry, "team/app");
    let store = credentials("image", &url, USER, PASSWORD);
    let client = client();
    let subscription = image_subscription(json!({
        "repoURL": url,
        "imageSelectionStrategy": "NewestBuild",
    }));
    let result = discover(&subscription, &store, &client).unwrap();
    assert_eq!(
        tags(&result),
        ["1.0.6", "1.0.5", "1.0.4", "1.0.3", "1.0.2", "1.0.1"]
    );
    assert_eq!(
        client.counts(),
        RequestCounts {
            tag_list_pages: 2,
            manifest_heads: 6,
            manifest_gets: 6,
            blob_gets: 6,
            token_fetches: 1,
            unauthorized: 1,
            ..RequestCounts::default()
        },
        "the first tag list request gets the challenge and is sent again with the token"
    );
    assert_eq!(registry.token_requests(), 1);
    assert_eq!(
        registry.token_request_scopes(),
        [vec!["repository:team/app:pull".to_owned()]]
    );

    // the same client reuses its token on the next discovery
    let before = client.counts();
    discover(&subscription, &store, &client).unwrap();
    assert_eq!(
        client.counts().since(&before),
        RequestCounts {
            tag_list_pages: 1,
            manifest_heads: 6,
            ..RequestCounts::default()
        },
        "the token and the metadata are reused"
    );
    assert_eq!(registry.token_requests(), 1);
}

/// Pushes, in `flavour`, index `3.0.0` (amd64 built 03-09, arm64 built 03-05) and index `2.0.0`
/// (amd64 and s390x, no arm64); returns the two index digests.
fn push_indexes(registry: &Registry, flavour: ManifestFlavour) -> (String, String) {
    let image = |arch: &str, date: &str| {
        ImageSpec::new()
            .platform(Platform::new("linux", arch))
            .created(day(date))
    };
    let three = IndexSpec::new(flavour)
        .image(image("amd64", "2024-03-09"))
        .image(image("arm64", "2024-03-05"));
    let two = IndexSpec::new(flavour)
        .image(image("amd64", "2024-02-01"))
        .image(image("s390x", "2024-02-02"));
    let three = registry.push_index("team/app", "3.0.0", &three).unwrap();
    let two = registry.push_index("team/app", "2.0.0", &two).unwrap();
    (three.digest, two.digest)
}

#[test]
fn multi_arch_indexes_keep_the_index_digest_and_take_the_platform_build_time() {
    for flavour in [ManifestFlavour::Docker, ManifestFlavour::Oci] {
        let registry = Registry::start_anonymous().unwrap();
        let (three, two) = push_indexes(&registry, flavour);
        let subscription = |platform: Option<&str>| {
            let mut value = json!({"repoURL": repo_url(&registry, "team/app")});
            if let Some(platform) = platform {
                value["platform"] = json!(platform);
            }
            image_subscription(value)
        };

        let client = client();
        let any = discover(&subscription(None), &none(), &client).unwrap();
        assert_eq!(
            found(&any),
            [
                ("3.0.0".into(), three.clone(), day("2024-03-09")),
                ("2.0.0".into(), two.clone(), day("2024-02-02")),
            ],
            "{flavour:?}: without a platform, the index digest and its newest image"
        );
        assert_eq!(
            client.counts(),
            RequestCounts {
                tag_list_pages: 1,
                manifest_heads: 2,
                manifest_gets: 6,
                blob_gets: 4,
                ..RequestCounts::default()
            },
            "{flavour:?}: two indexes and their four images"
        );

        let client = crate::fake::client();
        let arm = discover(&subscription(Some("linux/arm64")), &none(), &client).unwrap();
        assert_eq!(
            found(&arm),
            [("3.0.0".into(), three.clone(), day("2024-03-05"))],
            "{flavour:?}: the index digest with the arm64 image's build time; 2.0.0 has no arm64"
        );
        assert_eq!(arm.platform.as_deref(), Some("linux/arm64"));
        let counts = client.counts();
        assert_eq!(
            (counts.manifest_gets, counts.blob_gets),
            (3, 1),
            "{flavour:?}: only the arm64 image of 3.0.0 is read: {counts:?}"
        );

        let absent = discover(&subscription(Some("linux/ppc64le")), &none(), &client).unwrap();
        assert!(absent.references.is_empty(), "{flavour:?}: {absent:?}");
    }
}

#[test]
fn newest_build_follows_annotations_then_labels_then_created() {
    let registry = Registry::start_anonymous().unwrap();
    let old = day("2020-01-01");
    let images = vec![
        // a: the config's `created` alone
        ("a", ImageSpec::new().created(day("2024-03-01"))),
        // b: a label-schema label beats an older `created`
        (
            "b",
            ImageSpec::new()
                .created(old.clone())
                .label("org.label-schema.build-date", day("2024-05-01")),
        ),
        // c: an OCI manifest annotation beats a newer label
        (
            "c",
            ImageSpec::new()
                .flavour(ManifestFlavour::Oci)
                .created(old.clone())
                .label("org.label-schema.build-date", day("2025-01-01"))
                .annotation("org.opencontainers.image.created", day("2024-04-01")),
        ),
        // d: an annotation (on a Docker manifest) beats a newer `created`
        (
            "d",
            ImageSpec::new()
                .created(day("2024-06-01"))
                .annotation("org.opencontainers.image.created", day("2023-01-01")),
        ),
        // e: the same time as a; the tag breaks the tie, descending (a label unrelated to
        // build time makes it another image: the same content would share a's digest, whose
        // cached metadata would spare a GET or not depending on timing)
        (
            "e",
            ImageSpec::new()
                .created(day("2024-03-01"))
                .label("variant", "e"),
        ),
        // f: an OCI label beats a label-schema label
        (
            "f",
            ImageSpec::new()
                .created(old)
                .label("org.opencontainers.image.created", day("2024-02-01"))
                .label("org.label-schema.build-date", day("2024-07-01")),
        ),
    ];
    let pushed = registry.push_images("team/app", &images).unwrap();
    let client = client();
    let subscription = image_subscription(json!({
        "repoURL": repo_url(&registry, "team/app"),
        "imageSelectionStrategy": "NewestBuild",
        "discoveryLimit": 10,
    }));
    let result = discover(&subscription, &none(), &client).unwrap();
    let order: Vec<(&str, &str)> = result
        .references
        .iter()
        .map(|r| (r.tag.as_str(), r.created_at.as_deref().unwrap()))
        .collect();
    assert_eq!(
        order,
        [
            ("b", "2024-05-01T00:00:00Z"),
            ("c", "2024-04-01T00:00:00Z"),
            ("e", "2024-03-01T00:00:00Z"),
            ("a", "2024-03-01T00:00:00Z"),
            ("f", "2024-02-01T00:00:00Z"),
            ("d", "2023-01-01T00:00:00Z"),
        ]
    );
    assert_eq!(result.references[1].digest, pushed[2].digest);
    assert_eq!(
        result.references[1]
            .annotations
            .get("org.opencontainers.image.created")
            .map(String::as_str),
        Some("2024-04-01T00:00:00Z")
    );
    assert_eq!(
        client.counts(),
        RequestCounts {
            tag_list_pages: 1,
            manifest_heads: 6,
            manifest_gets: 6,
            blob_gets: 6,
            ..RequestCounts::default()
        }
    );
}

#[test]
fn a_file_cache_spares_a_new_client_every_manifest_and_blob_get() {
    let registry = Registry::start_anonymous().unwrap();
    let images: Vec<(String, ImageSpec)> = (1..=4)
        .map(|i| {
            (
                format!("1.{i}.0"),
                ImageSpec::new().created(day(&format!("2024-04-0{i}"))),
            )
        })
        .collect();
    registry.push_images("team/app", &images).unwrap();
    let index = IndexSpec::new(ManifestFlavour::Oci)
        .image(ImageSpec::new().created(day("2024-04-08")))
        .image(
            ImageSpec::new()
                .platform(Platform::new("linux", "arm64"))
                .created(day("2024-04-09")),
        );
    registry.push_index("team/app", "2.0.0", &index).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let subscription = image_subscription(json!({
        "repoURL": repo_url(&registry, "team/app"),
        "imageSelectionStrategy": "NewestBuild",
        "discoveryLimit": 3,
    }));

    let cache: Arc<dyn MetadataCache> = Arc::new(FileCache::open(dir.path()).unwrap());
    let first_client = client_with_cache(cache);
    let first = discover(&subscription, &none(), &first_client).unwrap();
    assert_eq!(tags(&first), ["2.0.0", "1.4.0", "1.3.0"]);
    assert_eq!(first.references[0].created_at, Some(day("2024-04-09")));
    let counts = first_client.counts();
    assert_eq!(
        (counts.manifest_gets, counts.blob_gets),
        (7, 6),
        "4 images, an index and its 2 images: {counts:?}"
    );
    drop(first_client);

    // a new process: a new client on the same directory
    let cache: Arc<dyn MetadataCache> = Arc::new(FileCache::open(dir.path()).unwrap());
    let second_client = client_with_cache(cache);
    let second = discover(&subscription, &none(), &second_client).unwrap();
    assert_eq!(second, first);
    assert_eq!(
        second_client.counts(),
        RequestCounts {
            tag_list_pages: 1,
            manifest_heads: 5,
            ..RequestCounts::default()
        }
    );
}

#[test]
fn the_digest_strategy_follows_a_re_pushed_tag_and_a_deleted_one_is_no_result() {
    let registry = Registry::start_anonymous().unwrap();
    let first_digest = registry
        .push_image(
            "team/app",
            "latest",
            &ImageSpec::new().created(day("2024-05-01")),
        )
        .unwrap()
        .digest;
    let subscription = image_subscription(json!({
        "repoURL": repo_url(&registry, "team/app"),
        "imageSelectionStrategy": "Digest",
        "constraint": "latest",
        "cacheByTag": true,
    }));
    let client = client();
    let first = discover(&subscription, &none(), &client).unwrap();
    assert_eq!(
        found(&first),
        [("latest".into(), first_digest.clone(), day("2024-05-01"))]
    );

    let second_digest = registry
        .push_image(
            "team/app",
            "latest",
            &ImageSpec::new().created(day("2024-05-02")),
        )
        .unwrap()
        .digest;
    assert_ne!(second_digest, first_digest);
    let before = client.counts();
    let second = discover(&subscription, &none(), &client).unwrap();
    assert_eq!(
        found(&second),
        [("latest".into(), second_digest.clone(), day("2024-05-02"))],
        "cacheByTag does not pin a Digest subscription's tag"
    );
    assert_eq!(
        client.counts().since(&before),
        RequestCounts {
            manifest_heads: 1,
            manifest_gets: 1,
            blob_gets: 1,
            ..RequestCounts::default()
        },
        "no tag list for Digest; the new digest is read once"
    );

    registry
        .delete_manifest("team/app", &second_digest)
        .unwrap();
    let gone = discover(&subscription, &none(), &client).unwrap();
    assert!(gone.references.is_empty(), "{gone:?}");
}

#[test]
fn a_notified_discovery_asks_only_for_the_named_and_the_new_tags() {
    let registry = Registry::start_anonymous().unwrap();
    let digests = push_versions(&registry);
    let subscription = image_subscription(json!({
        "repoURL": repo_url(&registry, "team/app"),
        "constraint": ">=1.0.0",
        "strictSemvers": true,
    }));
    let client = client();
    let first = discover(&subscription, &none(), &client).unwrap();
    assert_eq!(tags(&first), ["2.0.0", "1.1.0", "1.0.0"]);

    // 1.0.0 is re-pointed and 3.0.0 pushed; the notification names 3.0.0 only.
    let moved = registry
        .push_image(
            "team/app",
            "1.0.0",
            &ImageSpec::new().created(day("2024-02-01")),
        )
        .unwrap()
        .digest;
    assert_ne!(moved, digests[0]);
    let newest = registry
        .push_image(
            "team/app",
            "3.0.0",
            &ImageSpec::new().created(day("2024-03-01")),
        )
        .unwrap()
        .digest;
    let named = |pushed: &[String], previous: &ImageDiscoveryResult| {
        let before = client.counts();
        let result = block_on(discover_images_notified(
            &subscription,
            None,
            &none(),
            &client,
            Notified {
                pushed_tags: pushed,
                previous,
            },
        ))
        .unwrap();
        (result, client.counts().since(&before))
    };
    let (result, counts) = named(&["3.0.0".to_owned()], &first);
    assert_eq!(
        found(&result),
        [
            ("3.0.0".into(), newest.clone(), day("2024-03-01")),
            ("2.0.0".into(), digests[2].clone(), day("2024-01-03")),
            ("1.1.0".into(), digests[1].clone(), day("2024-01-02")),
            ("1.0.0".into(), digests[0].clone(), day("2024-01-01")),
        ],
        "tags the notification did not name are taken from the previous result"
    );
    assert_eq!(
        counts,
        RequestCounts {
            tag_list_pages: 1,
            manifest_heads: 1,
            manifest_gets: 1,
            blob_gets: 1,
            ..RequestCounts::default()
        }
    );

    // Named, the re-pointed tag is read again; a full discovery reads every tag.
    let (result, _) = named(&["1.0.0".to_owned()], &first);
    assert_eq!(
        found(&result)[3],
        ("1.0.0".into(), moved.clone(), day("2024-02-01"))
    );
    let full = discover(&subscription, &none(), &client).unwrap();
    assert_eq!(found(&full), found(&result));

    // A previous result of another platform is not used.
    let mut other = first.clone();
    other.platform = Some("linux/arm64".into());
    let (result, counts) = named(&[], &other);
    assert_eq!(found(&result), found(&full));
    assert_eq!(counts.manifest_heads, 4);
}

#[test]
fn an_oci_chart_repository_lists_versions_newest_first_with_plus_restored() {
    let registry = Registry::start_anonymous().unwrap();
    registry
        .push_image("charts/app", "1.0.0", &ImageSpec::new())
        .unwrap();
    registry
        .tag_existing(
            "charts/app",
            "1.0.0",
            ["1.2.0_build.1", "0.9.0", "1.1.0-rc.1", "latest"],
        )
        .unwrap();
    let client = client();
    let subscription = chart_subscription(json!({
        "repoURL": format!("oci://{}/charts/app", registry.host()),
    }));
    let result = block_on(discover_charts(
        &subscription,
        Some("chart"),
        &none(),
        &client,
    ))
    .unwrap();
    assert_eq!(
        result.versions,
        ["1.2.0+build.1", "1.1.0-rc.1", "1.0.0", "0.9.0"]
    );
    assert_eq!(
        client.counts(),
        RequestCounts {
            tag_list_pages: 1,
            ..RequestCounts::default()
        }
    );

    let constrained = chart_subscription(json!({
        "repoURL": format!("oci://{}/charts/app", registry.host()),
        "semverConstraint": "^1.0.0",
        "discoveryLimit": 1,
    }));
    let result = block_on(discover_charts(&constrained, None, &none(), &client)).unwrap();
    assert_eq!(result.versions, ["1.2.0+build.1"]);
}

#[test]
fn each_repository_of_a_token_registry_gets_its_own_token_and_a_missing_one_is_not_found() {
    let registry = Registry::start_token(USER, PASSWORD).unwrap();
    for repository in ["team/app", "team/worker"] {
        registry
            .push_image(
                repository,
                "1.0.0",
                &ImageSpec::new().created(day("2024-06-01")),
            )
            .unwrap();
    }
    let client = client();
    // one Secret for the whole `team/` namespace
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "team", "labels": {"kargo.akuity.io/cred-type": "image"}},
        "stringData": {
            "repoURL": format!("^{}/team/", regex_escape(&registry.host())),
            "repoURLIsRegex": "true",
            "username": USER,
            "password": PASSWORD,
        },
    }))
    .unwrap();
    let (store, errors) = CredentialStore::from_secrets([&secret]);
    assert!(errors.is_empty(), "{errors:?}");
    for repository in ["team/app", "team/worker", "team/app"] {
        let subscription = image_subscription(json!({"repoURL": repo_url(&registry, repository)}));
        let result = discover(&subscription, &store, &client).unwrap();
        assert_eq!(tags(&result), ["1.0.0"], "{repository}");
    }
    assert_eq!(client.counts().token_fetches, 2);
    assert_eq!(
        registry.token_request_scopes(),
        [
            vec!["repository:team/app:pull".to_owned()],
            vec!["repository:team/worker:pull".to_owned()],
        ]
    );

    let missing = image_subscription(json!({"repoURL": repo_url(&registry, "team/nothing")}));
    let error = discover(&missing, &store, &client).unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert!(error.to_string().contains("team/nothing"), "{error}");
}

fn regex_escape(text: &str) -> String {
    text.replace('.', "\\.")
}
