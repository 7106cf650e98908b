//! Webhook receivers end to end: signed GitHub pushes and GitLab pushes refresh the subscribed
//! Warehouse (and only valid ones do), and a real `docker-registry` notifying gantry of a push
//! makes the new tag's Freight without any polling.

use gantry_server::api::webhooks::{github, receiver_path};
use gantry_test::{ImageSpec, Registry};
use serde_json::{Value, json};
use tokio::task::block_in_place;

use crate::api::{Api, serve, serve_on};
use crate::fixture::{Fixture, current_freight, eventually, newest_freight};

const GITHUB_SECRET: &str = "gh-s3cr3t-value";
const GITLAB_TOKEN: &str = "gl-t0ken-value";

/// The ProjectConfig of the pipeline with receivers, and their Secret.
fn with_receivers(pipeline: &str) -> String {
    pipeline.replace(
        "      autoPromotionEnabled: true\n",
        "      autoPromotionEnabled: true\n  webhookReceivers:\n    - name: gh\n      github:\n        secretRef:\n          name: hooks\n    - name: gl\n      gitlab:\n        secretRef:\n          name: hooks\n",
    ) + &format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: hooks\n  namespace: shop\nstringData:\n  secret: {GITHUB_SECRET}\n  secret-token: {GITLAB_TOKEN}\n"
    )
}

async fn metric(api: &Api, line_start: &str) -> Option<u64> {
    let (_, text) = api.get_as("/metrics", crate::api::Auth::None).await;
    let text = text.as_str()?.to_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(line_start))
        .and_then(|rest| rest.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_github_and_gitlab_pushes_refresh_the_warehouse_and_bad_ones_are_refused() {
    let fixture = Fixture::new();
    fixture.write_config(&with_receivers(&fixture.pipeline()));
    let server = fixture.start().await;
    let handle = server.handle();
    let api = serve(handle.clone(), false).await;
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;

    // Token holders see the receiver paths.
    let project = api.get("/api/v1/projects/shop").await;
    let github_path = receiver_path("github", "shop", "gh", &[GITHUB_SECRET]);
    let gitlab_path = receiver_path("gitlab", "shop", "gl", &[GITLAB_TOKEN]);
    assert_eq!(project["webhookReceivers"][0]["path"], github_path.as_str());
    assert_eq!(project["webhookReceivers"][1]["path"], gitlab_path.as_str());
    assert!(!project.to_string().contains(GITHUB_SECRET));

    // A new commit; the (hour-long) interval will not find it, a signed push does.
    let commit = fixture.push_app_commit("version 2\n");
    let body = json!({
        "ref": "refs/heads/main",
        "after": commit,
        "repository": { "clone_url": fixture.server.url("app") },
    })
    .to_string();
    let post = |path: &str| {
        api.post_raw(path)
            .header("content-type", "application/json")
    };

    // Bad signatures: 401, nothing refreshed, no secret in the answer.
    let wrong = github::sign("not the secret", body.as_bytes());
    let response = api
        .raw(
            post(&github_path)
                .header("x-github-event", "push")
                .header("x-hub-signature-256", wrong)
                .body(body.clone()),
        )
        .await;
    assert_eq!(response.status().as_u16(), 401);
    let text = response.text().await.unwrap();
    assert!(!text.contains(GITHUB_SECRET), "{text}");
    let response = api
        .raw(
            post(&github_path)
                .header("x-github-event", "push")
                .body(body.clone()),
        )
        .await;
    assert_eq!(response.status().as_u16(), 401, "a missing signature");
    assert_eq!(newest_freight(&handle).unwrap().id(), first);

    // A ping is answered.
    let ping = r#"{"zen":"Keep it logically awesome."}"#;
    let response = api
        .raw(
            post(&github_path)
                .header("x-github-event", "ping")
                .header(
                    "x-hub-signature-256",
                    github::sign(GITHUB_SECRET, ping.as_bytes()),
                )
                .body(ping),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);

    // The signed push refreshes the Warehouse, and the commit becomes Freight.
    let response = api
        .raw(
            post(&github_path)
                .header("x-github-event", "push")
                .header(
                    "x-hub-signature-256",
                    github::sign(GITHUB_SECRET, body.as_bytes()),
                )
                .body(body.clone()),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json_value().await;
    assert_eq!(answer["msg"], "refreshed 1 warehouse(s)");
    let second = eventually("the pushed commit as freight", || {
        let newest = newest_freight(&handle)?;
        (newest.freight.commits.first()?.id == commit).then(|| newest.id().to_owned())
    })
    .await;
    assert_ne!(second, first);

    // A push to another branch refreshes nothing.
    let other = body.replace("refs/heads/main", "refs/heads/feature");
    let response = api
        .raw(
            post(&github_path)
                .header("x-github-event", "push")
                .header(
                    "x-hub-signature-256",
                    github::sign(GITHUB_SECRET, other.as_bytes()),
                )
                .body(other),
        )
        .await;
    assert_eq!(
        response.json_value().await["msg"],
        "refreshed 0 warehouse(s)"
    );

    // GitLab: the token header decides.
    let gitlab_body = json!({
        "object_kind": "push",
        "ref": "refs/heads/main",
        // Normalised like the subscription's URL: no `.git`, a trailing slash.
        "repository": {
            "git_http_url": format!("{}/", fixture.server.url("app").trim_end_matches(".git")),
        },
    })
    .to_string();
    let response = api
        .raw(
            post(&gitlab_path)
                .header("x-gitlab-event", "Push Hook")
                .header("x-gitlab-token", "wrong")
                .body(gitlab_body.clone()),
        )
        .await;
    assert_eq!(response.status().as_u16(), 401);
    let response = api
        .raw(
            post(&gitlab_path)
                .header("x-gitlab-event", "Push Hook")
                .header("x-gitlab-token", GITLAB_TOKEN)
                .body(gitlab_body),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.json_value().await["msg"],
        "refreshed 1 warehouse(s)"
    );

    // Unknown paths and oversized bodies.
    let response = api
        .raw(post(&github_path.replace("/github/", "/gitlab/")).body("{}"))
        .await;
    assert_eq!(response.status().as_u16(), 404);
    let huge = "x".repeat(3 << 20);
    // The server answers before reading the whole body and drops the connection: it must not
    // go back to the client's pool, or the next request on it fails (IncompleteMessage).
    let response = api
        .raw(
            post(&gitlab_path)
                .header("x-gitlab-event", "Push Hook")
                .header("x-gitlab-token", GITLAB_TOKEN)
                .header("connection", "close")
                .body(huge),
        )
        .await;
    assert_eq!(response.status().as_u16(), 413);

    assert_eq!(
        metric(
            &api,
            "gantry_warehouse_refreshes_total{trigger=\"webhook\"} "
        )
        .await,
        Some(2)
    );
    assert_eq!(
        metric(
            &api,
            "gantry_webhook_requests_total{receiver=\"github\",outcome=\"unauthorized\"} "
        )
        .await,
        Some(2)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_registry_notifying_a_push_makes_the_new_tag_into_freight_without_polling() {
    let fixture = Fixture::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let path = receiver_path("distribution", "shop", "registry", &["reg-s3cr3t"]);
    let registry = block_in_place(|| {
        Registry::start_anonymous_notifying(&format!("http://127.0.0.1:{port}{path}")).unwrap()
    });
    block_in_place(|| {
        registry
            .push_image("frontend", "1.0.0", &ImageSpec::new())
            .unwrap()
    });
    let repo = format!("127.0.0.1:{}/frontend", registry.port());
    let app = fixture.server.url("app");
    let pipeline = fixture
        .pipeline()
        .replace(
            &format!("    - git:\n        repoURL: {app}\n        branch: main"),
            &format!("    - image:\n        repoURL: {repo}\n        constraint: ^1.0.0"),
        )
        .replace("commitFrom(vars.appRepo).ID", &format!("imageFrom(\"{repo}\").Tag"))
        .replace(&format!("commitFrom(\"{app}\").ID"), &format!("imageFrom(\"{repo}\").Tag"))
        .replace(
            "      autoPromotionEnabled: true\n",
            "      autoPromotionEnabled: true\n  webhookReceivers:\n    - name: registry\n      distribution:\n        secretRef:\n          name: registry-hook\n",
        )
        + "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-hook\n  namespace: shop\nstringData:\n  secret: reg-s3cr3t\n";
    fixture.write_config(&pipeline);
    let server = fixture.start().await;
    let handle = server.handle();
    let api = serve_on(listener, handle.clone(), false).await;
    let project = api.get("/api/v1/projects/shop").await;
    assert_eq!(
        project["webhookReceivers"][0]["path"],
        path.as_str(),
        "{project}"
    );
    let tag_of = |record: &gantry_store::FreightRecord| {
        record
            .freight
            .images
            .first()
            .and_then(|image| image.tag.clone())
    };
    eventually("the 1.0.0 freight", || {
        (tag_of(&newest_freight(&handle)?)? == "1.0.0").then_some(())
    })
    .await;

    // Pushing 1.1.0 (2.0.0 is outside the constraint) notifies gantry; only a refresh finds it.
    block_in_place(|| {
        registry
            .push_image("frontend", "1.1.0", &ImageSpec::new())
            .unwrap()
    });
    eventually("the 1.1.0 freight", || {
        (tag_of(&newest_freight(&handle)?)? == "1.1.0").then_some(())
    })
    .await;
    let refreshed = metric(
        &api,
        "gantry_warehouse_refreshes_total{trigger=\"webhook\"} ",
    )
    .await;
    assert!(refreshed >= Some(1), "{refreshed:?}");
    let before = refreshed.unwrap_or_default();
    block_in_place(|| {
        registry
            .push_image("frontend", "2.0.0", &ImageSpec::new())
            .unwrap()
    });
    // The 2.0.0 notification arrives (within the registry's 1 s batching) but refreshes
    // nothing.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        metric(
            &api,
            "gantry_warehouse_refreshes_total{trigger=\"webhook\"} "
        )
        .await,
        Some(before)
    );
    assert_eq!(tag_of(&newest_freight(&handle).unwrap()).unwrap(), "1.1.0");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_notification_that_comes_before_its_tag_is_linked_still_makes_the_freight() {
    // Distribution sends the push event of a manifest before it links the tag: here the event
    // comes first and the tag 300 ms later, from a registry that notifies nobody, so only the
    // receiver's later discoveries can find it (the Warehouse's interval is an hour).
    let fixture = Fixture::new();
    let registry = block_in_place(|| Registry::start_anonymous().unwrap());
    block_in_place(|| {
        registry
            .push_image("frontend", "1.0.0", &ImageSpec::new())
            .unwrap()
    });
    let repo = format!("127.0.0.1:{}/frontend", registry.port());
    let app = fixture.server.url("app");
    let pipeline = fixture
        .pipeline()
        .replace(
            &format!("    - git:\n        repoURL: {app}\n        branch: main"),
            &format!("    - image:\n        repoURL: {repo}"),
        )
        .replace("commitFrom(vars.appRepo).ID", &format!("imageFrom(\"{repo}\").Tag"))
        .replace(&format!("commitFrom(\"{app}\").ID"), &format!("imageFrom(\"{repo}\").Tag"))
        .replace(
            "      autoPromotionEnabled: true\n",
            "      autoPromotionEnabled: true\n  webhookReceivers:\n    - name: registry\n      distribution:\n        secretRef:\n          name: registry-hook\n",
        )
        + "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-hook\n  namespace: shop\nstringData:\n  secret: reg-s3cr3t\n";
    fixture.write_config(&pipeline);
    let server = fixture.start().await;
    let handle = server.handle();
    let api = serve(handle.clone(), false).await;
    let tag_of = |record: &gantry_store::FreightRecord| {
        record
            .freight
            .images
            .first()
            .and_then(|image| image.tag.clone())
    };
    eventually("the 1.0.0 freight", || {
        (tag_of(&newest_freight(&handle)?)? == "1.0.0").then_some(())
    })
    .await;

    let path = receiver_path("distribution", "shop", "registry", &["reg-s3cr3t"]);
    let event = json!({"events": [{
        "action": "push",
        "target": {
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "repository": "frontend",
            "tag": "1.1.0",
            "url": format!("http://{repo}/manifests/sha256:00"),
        },
        "request": {"host": format!("127.0.0.1:{}", registry.port()), "method": "PUT"},
    }]});
    let (status, answer) = api.post_as(&path, &event, crate::api::Auth::None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["msg"], "refreshed 1 warehouse(s)");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    block_in_place(|| {
        registry
            .push_image("frontend", "1.1.0", &ImageSpec::new().label("v", "1.1.0"))
            .unwrap()
    });
    eventually("the 1.1.0 freight", || {
        (tag_of(&newest_freight(&handle)?)? == "1.1.0").then_some(())
    })
    .await;
    server.shutdown().await;
    block_in_place(move || drop(registry));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notified_discovery_reuses_unnamed_tags_and_a_plain_refresh_reads_every_tag() {
    let two = TwoTags::start(None).await;
    let (registry, api, old) = (&two.registry, &two.api, two.old.clone());

    // 0.9.0 moves without a notification (lost); 1.1.0 is pushed and notified.
    let moved = two.move_old();
    let newest = block_in_place(|| {
        registry
            .push_image("frontend", "1.1.0", &ImageSpec::new().label("v", "1.1.0"))
            .unwrap()
            .digest
    });
    assert_ne!(moved, old);
    notify_push(api, registry.port(), "frontend", "1.1.0", &newest).await;
    let seen = poll_until(
        std::time::Duration::from_secs(10),
        async || image_references(api, 0).await,
        |seen| seen.len() == 3,
    )
    .await;
    assert_eq!(seen[0], ("1.1.0".to_owned(), newest), "{seen:?}");
    assert_eq!(
        seen[2],
        ("0.9.0".to_owned(), old),
        "the notified discovery took the unnamed tag from the previous one"
    );

    // A plain refresh reads every tag again.
    let (status, body) = api
        .post(
            "/api/v1/projects/shop/warehouses/app/refresh?wait=true",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        image_references(api, 0).await[2],
        ("0.9.0".to_owned(), moved)
    );
    two.stop().await;
}

/// A registry that notifies nobody (the tests post the notifications, so they can leave one
/// out: a lost delivery) with `frontend:1.0.0` and `frontend:0.9.0`, and a server whose
/// Warehouse subscribes to it and has discovered both tags.
struct TwoTags {
    registry: Registry,
    server: gantry_server::Server,
    api: Api,
    /// The digest of 1.0.0.
    first: String,
    /// The digest of 0.9.0 as first pushed.
    old: String,
    _fixture: Fixture,
}

impl TwoTags {
    async fn start(min_interval: Option<std::time::Duration>) -> Self {
        let fixture = Fixture::new();
        let registry = block_in_place(|| Registry::start_anonymous().unwrap());
        let (first, old) = block_in_place(|| {
            let first = registry
                .push_image("frontend", "1.0.0", &ImageSpec::new())
                .unwrap()
                .digest;
            let old = registry
                .push_image("frontend", "0.9.0", &ImageSpec::new().label("v", "0.9.0"))
                .unwrap()
                .digest;
            (first, old)
        });
        let repo = format!("127.0.0.1:{}/frontend", registry.port());
        fixture.write_config(&image_pipeline(&fixture, &[&repo]));
        let mut options = fixture.options();
        if let Some(interval) = min_interval {
            options.min_interval = interval;
        }
        let server = fixture.start_with(options).await;
        let api = serve(server.handle(), false).await;
        let seen = poll_until(
            std::time::Duration::from_secs(10),
            async || image_references(&api, 0).await,
            |seen| seen.len() == 2,
        )
        .await;
        assert_eq!(seen[1], ("0.9.0".to_owned(), old.clone()), "{seen:?}");
        Self {
            registry,
            server,
            api,
            first,
            old,
            _fixture: fixture,
        }
    }

    /// Pushes 0.9.0 again as another image, notifying nobody; returns its new digest.
    fn move_old(&self) -> String {
        block_in_place(|| {
            self.registry
                .push_image("frontend", "0.9.0", &ImageSpec::new().label("v", "0.9.0-b"))
                .unwrap()
                .digest
        })
    }

    async fn stop(self) {
        self.server.shutdown().await;
        let registry = self.registry;
        block_in_place(move || drop(registry));
    }
}

/// The fixture's pipeline with one image subscription per repository instead of the git one
/// (the first repository's tag is what gets promoted), and a distribution receiver.
fn image_pipeline(fixture: &Fixture, repos: &[&str]) -> String {
    let app = fixture.server.url("app");
    let first = repos[0];
    let mut subscriptions = String::new();
    for repo in repos {
        subscriptions.push_str("    - image:\n        repoURL: ");
        subscriptions.push_str(repo);
        subscriptions.push('\n');
    }
    fixture
        .pipeline()
        .replace(
            &format!("    - git:\n        repoURL: {app}\n        branch: main\n"),
            &subscriptions,
        )
        .replace("commitFrom(vars.appRepo).ID", &format!("imageFrom(\"{first}\").Tag"))
        .replace(&format!("commitFrom(\"{app}\").ID"), &format!("imageFrom(\"{first}\").Tag"))
        .replace(
            "      autoPromotionEnabled: true\n",
            "      autoPromotionEnabled: true\n  webhookReceivers:\n    - name: registry\n      distribution:\n        secretRef:\n          name: registry-hook\n",
        )
        + "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-hook\n  namespace: shop\nstringData:\n  secret: reg-s3cr3t\n"
}

/// `(tag, digest)` of the references the Warehouse `app` holds for its `index`th image
/// subscription.
async fn image_references(api: &Api, index: usize) -> Vec<(String, String)> {
    let warehouse = api.get("/api/v1/projects/shop/warehouses/app").await;
    warehouse["status"]["discoveredArtifacts"]["images"][index]["references"]
        .as_array()
        .map(|references| {
            references
                .iter()
                .map(|r| {
                    (
                        r["tag"].as_str().unwrap_or_default().to_owned(),
                        r["digest"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Posts the notification `docker-registry` sends for a pushed tag to the pipeline's receiver.
async fn notify_push(api: &Api, port: u16, repository: &str, tag: &str, digest: &str) {
    let path = receiver_path("distribution", "shop", "registry", &["reg-s3cr3t"]);
    let event = json!({"events": [{
        "action": "push",
        "target": {
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "repository": repository,
            "tag": tag,
            "digest": digest,
            "url": format!("http://127.0.0.1:{port}/v2/{repository}/manifests/{digest}"),
        },
        "request": {"host": format!("127.0.0.1:{port}"), "method": "PUT"},
    }]});
    let (status, answer) = api.post_as(&path, &event, crate::api::Auth::None).await;
    assert_eq!(status, 200, "{answer}");
}

/// Polls `read` every 50 ms (for at most `limit`) until `done` holds; returns the last value.
async fn poll_until<T, F: AsyncFn() -> T>(
    limit: std::time::Duration,
    read: F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let value = read().await;
        if done(&value) || std::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_narrows_only_the_named_repositorys_discovery() {
    let fixture = Fixture::new();
    let registry = block_in_place(|| Registry::start_anonymous().unwrap());
    let backend_before = block_in_place(|| {
        registry
            .push_image("frontend", "1.0.0", &ImageSpec::new())
            .unwrap();
        registry
            .push_image("backend", "1.0.0", &ImageSpec::new().label("v", "b1"))
            .unwrap()
            .digest
    });
    let frontend = format!("127.0.0.1:{}/frontend", registry.port());
    let backend = format!("127.0.0.1:{}/backend", registry.port());
    fixture.write_config(&image_pipeline(&fixture, &[&frontend, &backend]));
    let server = fixture.start().await;
    let api = serve(server.handle(), false).await;
    let seen = poll_until(
        std::time::Duration::from_secs(10),
        async || image_references(&api, 1).await,
        |seen| !seen.is_empty(),
    )
    .await;
    assert_eq!(seen, [("1.0.0".to_owned(), backend_before.clone())]);

    // backend's tag moves and its notification is lost; frontend's new tag is notified.
    let (backend_after, newest) = block_in_place(|| {
        let moved = registry
            .push_image("backend", "1.0.0", &ImageSpec::new().label("v", "b2"))
            .unwrap()
            .digest;
        let newest = registry
            .push_image("frontend", "1.1.0", &ImageSpec::new().label("v", "1.1.0"))
            .unwrap()
            .digest;
        (moved, newest)
    });
    assert_ne!(backend_after, backend_before);
    notify_push(&api, registry.port(), "frontend", "1.1.0", &newest).await;
    let seen = poll_until(
        std::time::Duration::from_secs(10),
        async || image_references(&api, 0).await,
        |seen| seen.len() == 2,
    )
    .await;
    assert_eq!(seen[0], ("1.1.0".to_owned(), newest), "{seen:?}");
    // The notification named nothing in backend: that subscription was discovered in full.
    assert_eq!(
        image_references(&api, 1).await,
        [("1.0.0".to_owned(), backend_after)]
    );
    server.shutdown().await;
    block_in_place(move || drop(registry));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_more_frequent_than_the_interval_do_not_put_off_the_full_discovery() {
    let two = TwoTags::start(Some(std::time::Duration::from_secs(1))).await;

    // 0.9.0 moves without a notification, while 1.0.0 is notified every 200 ms: each
    // notification restarts the wait, yet the full discovery comes within the interval.
    let moved = two.move_old();
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < std::time::Duration::from_secs(6) {
        notify_push(
            &two.api,
            two.registry.port(),
            "frontend",
            "1.0.0",
            &two.first,
        )
        .await;
        seen = image_references(&two.api, 0).await;
        if seen.get(1).is_some_and(|(_, digest)| *digest == moved) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(seen[1], ("0.9.0".to_owned(), moved), "{seen:?}");
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notified_digest_the_registry_never_serves_makes_the_next_discovery_full() {
    let two = TwoTags::start(None).await;
    let (api, port) = (&two.api, two.registry.port());

    // 0.9.0 moves without a notification; then 1.0.0 is notified with a digest the registry
    // never serves for it: that discovery gives up waiting after 2 s.
    let moved = two.move_old();
    let bogus = format!("sha256:{}", "e".repeat(64));
    notify_push(api, port, "frontend", "1.0.0", &bogus).await;
    // The next notification queues behind that discovery; it would be notification-only,
    // but the unsettled tag makes it full, so the moved tag is seen.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    notify_push(api, port, "frontend", "1.0.0", &two.first).await;
    let seen = poll_until(
        std::time::Duration::from_secs(10),
        async || image_references(api, 0).await,
        |seen| seen.get(1).is_some_and(|(_, digest)| *digest == moved),
    )
    .await;
    assert_eq!(seen[1], ("0.9.0".to_owned(), moved), "{seen:?}");
    two.stop().await;
}

/// Reads a JSON body.
trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}

/// The tag in develop/frontend/instance.yaml on the remote.
fn develop_tag(fixture: &Fixture) -> String {
    let (_, file, _) = fixture.gitops("develop/frontend/instance.yaml");
    file.lines()
        .find_map(|line| line.trim().strip_prefix("tag: "))
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned()
}

/// The head of `main` in a bare repository, read from its ref files (no git process, so that
/// polling it is cheap and does not disturb what is measured).
fn bare_head(bare: &std::path::Path) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(bare.join("refs/heads/main")) {
        return Some(text.trim().to_owned());
    }
    let packed = std::fs::read_to_string(bare.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        line.strip_suffix(" refs/heads/main")
            .map(|id| id.trim().to_owned())
    })
}

/// Run with `scripts/bench-serve.sh`, or
/// `cargo test --release -p gantry-server --test it -- --ignored --nocapture tag_push`.
/// `GANTRY_BENCH_TAGS` sets the number of tags (default 50), `GANTRY_BENCH_PAUSE_MS` the pause
/// between a commit and the next push (default 1,500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: prints latency percentiles"]
async fn latency_from_tag_push_with_registry_webhook_to_gitops_commit() {
    use std::time::{Duration, Instant};
    let tags: usize = std::env::var("GANTRY_BENCH_TAGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let pause: u64 = std::env::var("GANTRY_BENCH_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500);
    let fixture = Fixture::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let path = receiver_path("distribution", "shop", "registry", &["reg-s3cr3t"]);
    let registry = block_in_place(|| {
        Registry::start_anonymous_notifying(&format!("http://127.0.0.1:{port}{path}")).unwrap()
    });
    block_in_place(|| {
        registry
            .push_image("frontend", "1.0.0", &ImageSpec::new())
            .unwrap()
    });
    let repo = format!("127.0.0.1:{}/frontend", registry.port());
    let app = fixture.server.url("app");
    let pipeline = fixture
        .pipeline()
        .replace(
            &format!("    - git:\n        repoURL: {app}\n        branch: main"),
            &format!("    - image:\n        repoURL: {repo}\n        imageSelectionStrategy: SemVer\n        strictSemvers: true"),
        )
        .replace("commitFrom(vars.appRepo).ID", &format!("imageFrom(\"{repo}\").Tag"))
        .replace(&format!("commitFrom(\"{app}\").ID"), &format!("imageFrom(\"{repo}\").Tag"))
        .replace(
            "      autoPromotionEnabled: true\n",
            "      autoPromotionEnabled: true\n  webhookReceivers:\n    - name: registry\n      distribution:\n        secretRef:\n          name: registry-hook\n",
        )
        + "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-hook\n  namespace: shop\nstringData:\n  secret: reg-s3cr3t\n";
    fixture.write_config(&pipeline);
    let server = fixture.start().await;
    let handle = server.handle();
    let _api = serve_on(listener, handle.clone(), false).await;
    let bare = fixture.server.repo_path("gitops");
    eventually("1.0.0 in develop", || {
        (develop_tag(&fixture) == "1.0.0").then_some(())
    })
    .await;
    let mut samples = Vec::with_capacity(tags);
    for i in 1..=tags {
        let before = bare_head(&bare).unwrap();
        // Pushes a build pipeline makes come seconds apart, not back to back: the registry's
        // rate limit (20 requests/s, a discovery sends about 23) must not be what is measured.
        // `GANTRY_BENCH_PAUSE_MS=50` measures back-to-back pushes instead.
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let tag = format!("1.{}.{}", i / 100, i % 100);
        let spec = ImageSpec::new().label("version", tag.clone());
        block_in_place(|| registry.push_image("frontend", &tag, &spec).unwrap());
        let pushed = Instant::now();
        loop {
            if bare_head(&bare).is_some_and(|head| head != before) {
                break;
            }
            assert!(
                pushed.elapsed() < crate::PATIENCE,
                "timed out waiting for {tag}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        samples.push(pushed.elapsed());
        assert_eq!(develop_tag(&fixture), tag);
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "tag push (registry webhook) → GitOps commit on the remote, {} tags {pause} ms apart: p50 {:.0} ms, p95 {:.0} ms, min {:.0} ms, max {:.0} ms",
        samples.len(),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 95 / 100]),
        ms(samples[0]),
        ms(samples[samples.len() - 1])
    );
    server.shutdown().await;
    block_in_place(move || drop(registry));
}
