//! The registry harness against the real `docker-registry`: every auth mode starts, takes pushes
//! and serves tag lists only to the right credentials; indexes, created times and annotations
//! come back as pushed.

use std::time::Instant;

use gantry_test::{AuthMode, ImageSpec, IndexSpec, ManifestFlavour, Platform, Registry};
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::Value;

fn client() -> Client {
    // reqwest is built without a TLS provider of its own; the harness installs ring once a push
    // happened, but a test may ask first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new()
}

/// Sends `request` and returns the status and the JSON body (`Null` when it is not JSON).
fn send(request: RequestBuilder) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().unwrap();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
        headers,
    )
}

fn tags_url(registry: &Registry, repository: &str) -> String {
    format!("{}/v2/{repository}/tags/list", registry.base_url())
}

fn tags(body: &Value) -> Vec<String> {
    let mut tags: Vec<String> = body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag.as_str().unwrap().to_owned())
        .collect();
    tags.sort();
    tags
}

fn challenge(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn an_anonymous_registry_takes_pushes_and_lists_tags_to_anyone() {
    let registry = Registry::start_anonymous().unwrap();
    assert_eq!(registry.auth_mode(), AuthMode::Anonymous);
    assert_eq!(registry.username(), None);
    assert_eq!(registry.base_url(), format!("http://{}", registry.host()));
    let pushed = registry
        .push_image("team/app", "1.0.0", &ImageSpec::new())
        .unwrap();
    registry
        .push_image(
            "team/app",
            "1.1.0",
            &ImageSpec::new().created("2024-01-01T00:00:00Z"),
        )
        .unwrap();

    let (status, body, _) = send(client().get(tags_url(&registry, "team/app")));
    assert_eq!(status, 200);
    assert_eq!(tags(&body), ["1.0.0", "1.1.0"]);
    assert_eq!(
        registry.fetch_manifest("team/app", "1.0.0").unwrap().digest,
        pushed.digest
    );
    assert_eq!(registry.token_requests(), 0);
}

#[test]
fn a_basic_auth_registry_lists_tags_only_with_the_right_password() {
    let registry = Registry::start_basic("alice", "s3cret:with colon").unwrap();
    assert_eq!(registry.auth_mode(), AuthMode::Basic);
    registry.push_image("app", "v1", &ImageSpec::new()).unwrap();

    let url = tags_url(&registry, "app");
    let (status, body, _) = send(
        client()
            .get(&url)
            .basic_auth("alice", Some("s3cret:with colon")),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(tags(&body), ["v1"]);

    let (status, _, headers) = send(client().get(&url));
    assert_eq!(status, 401);
    assert!(
        challenge(&headers).starts_with("Basic realm="),
        "{headers:?}"
    );

    let (status, _, _) = send(client().get(&url).basic_auth("alice", Some("wrong")));
    assert_eq!(status, 401);
    assert!(
        registry
            .log()
            .contains("\"GET /v2/app/tags/list HTTP/1.1\" 401"),
        "{}",
        registry.log()
    );
}

#[test]
fn a_token_registry_lists_tags_only_with_a_token_from_its_token_server() {
    let registry = Registry::start_token("bob", "t0ken-pass").unwrap();
    assert_eq!(registry.auth_mode(), AuthMode::Token);
    registry
        .push_image("app", "2.0.0", &ImageSpec::new())
        .unwrap();
    registry
        .push_image("app", "2.1.0", &ImageSpec::new().label("x", "y"))
        .unwrap();
    assert_eq!(
        registry.token_requests(),
        0,
        "the pusher's own token requests are not counted"
    );

    // no credentials: a Bearer challenge naming the token server
    let url = tags_url(&registry, "app");
    let (status, _, headers) = send(client().get(&url));
    assert_eq!(status, 401);
    let challenge = challenge(&headers);
    let realm = registry.token_realm().unwrap();
    assert!(
        challenge.starts_with(&format!(
            r#"Bearer realm="{realm}",service="{}""#,
            registry.token_service()
        )),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"scope="repository:app:pull""#),
        "{challenge}"
    );

    // the token dance
    let scope = "repository:app:pull";
    let token_request = || {
        client().get(format!(
            "{realm}?service={}&scope={scope}",
            registry.token_service()
        ))
    };
    let (status, answer, _) = send(token_request().basic_auth("bob", Some("t0ken-pass")));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["expires_in"], 300);
    assert_eq!(answer["token"], answer["access_token"]);
    assert!(answer["issued_at"].as_str().unwrap().ends_with('Z'));
    let token = answer["token"].as_str().unwrap();
    let (status, body, _) = send(client().get(&url).bearer_auth(token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(tags(&body), ["2.0.0", "2.1.0"]);

    // a token for another repository does not open this one
    let (_, other, _) = send(
        client()
            .get(format!(
                "{realm}?service={}&scope=repository:other:pull",
                registry.token_service()
            ))
            .basic_auth("bob", Some("t0ken-pass")),
    );
    let (status, _, _) = send(
        client()
            .get(&url)
            .bearer_auth(other["token"].as_str().unwrap()),
    );
    assert_eq!(status, 401);

    // wrong password at the token server: 401, and counted
    let (status, _, headers) = send(token_request().basic_auth("bob", Some("wrong")));
    assert_eq!(status, 401);
    assert!(headers.contains_key("www-authenticate"));
    let (status, _, _) = send(token_request());
    assert_eq!(status, 401);
    assert_eq!(registry.token_requests(), 4);
    assert_eq!(
        registry.token_request_scopes(),
        [
            vec![scope.to_owned()],
            vec!["repository:other:pull".to_owned()],
            vec![scope.to_owned()],
            vec![scope.to_owned()],
        ]
    );

    // a token signed by a key the registry does not trust
    let forged = registry.forge_token(&[scope]).unwrap();
    let (status, _, _) = send(client().get(&url).bearer_auth(&forged));
    assert_eq!(status, 401);
    let issued = registry.issue_token(&[scope]).unwrap();
    let (status, _, _) = send(client().get(&url).bearer_auth(&issued));
    assert_eq!(status, 200);
    // a token whose signature was tampered with
    let tampered = format!("{}AAAA", &issued[..issued.len() - 4]);
    let (status, _, _) = send(client().get(&url).bearer_auth(&tampered));
    assert_eq!(status, 401);
    // both were turned away for their signature, not for anything else
    let log = registry.log();
    assert_eq!(
        log.matches("unable to verify token signature: invalid signature")
            .count(),
        2,
        "{log}"
    );
}

#[test]
fn pushes_work_in_every_auth_mode_for_both_flavours_and_indexes() {
    let registries = [
        Registry::start_anonymous().unwrap(),
        Registry::start_basic("u", "p").unwrap(),
        Registry::start_token("u", "p").unwrap(),
    ];
    for registry in &registries {
        for flavour in [ManifestFlavour::Docker, ManifestFlavour::Oci] {
            let pushed = registry
                .push_image("app", "image", &ImageSpec::new().flavour(flavour))
                .unwrap();
            let fetched = registry.fetch_manifest("app", "image").unwrap();
            assert_eq!(fetched.digest, pushed.digest);
            assert_eq!(fetched.media_type, flavour.manifest_media_type());
            let index = registry
                .push_index(
                    "app",
                    "multi",
                    &IndexSpec::new(flavour)
                        .image(ImageSpec::new())
                        .image(ImageSpec::new().platform(Platform::new("linux", "arm64"))),
                )
                .unwrap();
            assert_eq!(
                registry.fetch_manifest("app", "multi").unwrap().digest,
                index.digest,
                "{:?} {flavour:?}",
                registry.auth_mode()
            );
        }
    }
}

#[test]
fn a_multi_arch_index_lists_its_platforms_and_each_image_is_retrievable() {
    let registry = Registry::start_basic("u", "p").unwrap();
    for flavour in [ManifestFlavour::Docker, ManifestFlavour::Oci] {
        let index = IndexSpec::new(flavour)
            .image(ImageSpec::new().created("2024-03-01T00:00:00Z"))
            .image(
                ImageSpec::new()
                    .created("2024-03-02T00:00:00Z")
                    .platform(Platform::new("linux", "arm64").variant("v8")),
            )
            .image(ImageSpec::new().platform(Platform::new("linux", "arm").variant("v7")))
            .annotation(
                "org.opencontainers.image.source",
                "https://example.invalid/app",
            );
        let pushed = registry.push_index("multi", "latest", &index).unwrap();
        assert_eq!(pushed.media_type, flavour.index_media_type());
        assert_eq!(pushed.images.len(), 3);

        let fetched = registry.fetch_manifest("multi", "latest").unwrap();
        assert_eq!(fetched.media_type, flavour.index_media_type());
        assert_eq!(fetched.digest, pushed.digest);
        let json: Value = serde_json::from_slice(&fetched.bytes).unwrap();
        assert_eq!(
            json["annotations"]["org.opencontainers.image.source"],
            "https://example.invalid/app"
        );
        let platforms: Vec<String> = json["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                assert_eq!(entry["mediaType"], flavour.manifest_media_type());
                let platform = &entry["platform"];
                [
                    &platform["os"],
                    &platform["architecture"],
                    &platform["variant"],
                ]
                .into_iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("/")
            })
            .collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]);

        let arm64 = &json["manifests"][1];
        let digest = arm64["digest"].as_str().unwrap();
        let image = registry.fetch_manifest("multi", digest).unwrap();
        assert_eq!(image.bytes.len() as u64, arm64["size"].as_u64().unwrap());
        let manifest: Value = serde_json::from_slice(&image.bytes).unwrap();
        let config = registry
            .fetch_blob("multi", manifest["config"]["digest"].as_str().unwrap())
            .unwrap();
        let config: Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(config["architecture"], "arm64");
        assert_eq!(config["variant"], "v8");
        assert_eq!(config["created"], "2024-03-02T00:00:00Z");
    }
}

#[test]
fn created_times_labels_and_annotations_come_back_as_pushed() {
    let registry = Registry::start_token("u", "p").unwrap();
    let old = registry
        .push_image(
            "app",
            "old",
            &ImageSpec::new()
                .created("2023-01-01T10:00:00Z")
                .label("org.label-schema.build-date", "2023-01-01T10:00:00Z"),
        )
        .unwrap();
    let new = registry
        .push_image(
            "app",
            "new",
            &ImageSpec::new()
                .flavour(ManifestFlavour::Oci)
                .created("2024-06-30T23:59:59.123456789Z")
                .annotation("org.opencontainers.image.created", "2024-06-30T23:59:59Z"),
        )
        .unwrap();
    assert_ne!(old.config_digest, new.config_digest);

    let config = |digest: &str| -> Value {
        serde_json::from_slice(&registry.fetch_blob("app", digest).unwrap()).unwrap()
    };
    let old_config = config(&old.config_digest);
    assert_eq!(old_config["created"], "2023-01-01T10:00:00Z");
    assert_eq!(
        old_config["config"]["Labels"]["org.label-schema.build-date"],
        "2023-01-01T10:00:00Z"
    );
    assert_eq!(
        config(&new.config_digest)["created"],
        "2024-06-30T23:59:59.123456789Z"
    );

    let manifest: Value =
        serde_json::from_slice(&registry.fetch_manifest("app", "new").unwrap().bytes).unwrap();
    assert_eq!(manifest["config"]["digest"], new.config_digest.as_str());
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.created"],
        "2024-06-30T23:59:59Z"
    );
}

#[test]
fn a_thousand_tags_are_created_in_seconds_and_all_listed() {
    let registry = Registry::start_token("u", "p").unwrap();
    let pushed = registry
        .push_image("big", "0.0.0", &ImageSpec::new())
        .unwrap();
    let started = Instant::now();
    let digest = registry
        .tag_existing(
            "big",
            "0.0.0",
            (1..1000).map(|n| format!("1.{}.{}", n / 100, n % 100)),
        )
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!("999 tags created in {elapsed:?}");
    assert_eq!(digest, pushed.digest);
    assert!(elapsed.as_secs() < 30, "tagging took {elapsed:?}");

    let token = registry.issue_token(&["repository:big:pull"]).unwrap();
    let (status, body, _) = send(client().get(tags_url(&registry, "big")).bearer_auth(token));
    assert_eq!(status, 200);
    let tags = tags(&body);
    assert_eq!(tags.len(), 1000);
    assert!(tags.contains(&"1.9.99".to_owned()));
}

#[test]
fn many_distinct_images_are_pushed_each_with_its_own_created_time() {
    let registry = Registry::start_basic("u", "p").unwrap();
    let images: Vec<(String, ImageSpec)> = (0..40)
        .map(|n| {
            (
                format!("0.{n}.0"),
                ImageSpec::new().created(format!("2024-01-01T00:{n:02}:00Z")),
            )
        })
        .collect();
    let started = Instant::now();
    let pushed = registry.push_images("many", &images).unwrap();
    eprintln!("40 distinct images pushed in {:?}", started.elapsed());
    assert_eq!(pushed.len(), 40);
    let mut digests: Vec<&str> = pushed.iter().map(|image| image.digest.as_str()).collect();
    digests.sort_unstable();
    digests.dedup();
    assert_eq!(digests.len(), 40);
    let fetched = registry.fetch_manifest("many", "0.17.0").unwrap();
    assert_eq!(fetched.digest, pushed[17].digest);
    let config: Value = serde_json::from_slice(
        &registry
            .fetch_blob("many", &pushed[17].config_digest)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(config["created"], "2024-01-01T00:17:00Z");
}

#[test]
fn deleting_a_manifest_removes_its_tags() {
    let registry = Registry::start_anonymous().unwrap();
    let keep = registry
        .push_image("app", "keep", &ImageSpec::new())
        .unwrap();
    let gone = registry
        .push_image("app", "gone", &ImageSpec::new().label("n", "2"))
        .unwrap();
    registry.tag_existing("app", "gone", ["gone-too"]).unwrap();
    registry.delete_manifest("app", &gone.digest).unwrap();

    let (_, body, _) = send(client().get(tags_url(&registry, "app")));
    assert_eq!(tags(&body), ["keep"]);
    assert_eq!(
        registry.fetch_manifest("app", "keep").unwrap().digest,
        keep.digest
    );
    assert!(registry.fetch_manifest("app", &gone.digest).is_err());
}
