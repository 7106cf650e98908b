//! Image subscriptions on a real `docker-registry` with basic auth: pushed tags become Freight
//! and reach develop; a registry outage is reported on the Warehouse and recovered from.

use gantry_store::{EventQuery, kinds};
use gantry_test::{ImageSpec, Registry};
use tokio::task::block_in_place;

use crate::fixture::{Fixture, PASSWORD, Proxy, USER, eventually};

/// The pipeline with an image subscription (SemVer) in place of the git one.
fn image_pipeline(fixture: &Fixture, repo: &str) -> String {
    let app = fixture.server.url("app");
    let secret = format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-credentials\n  namespace: shop\n  labels:\n    kargo.akuity.io/cred-type: image\nstringData:\n  repoURL: {repo}\n  username: {USER}\n  password: {PASSWORD}\n"
    );
    fixture
        .pipeline()
        .replace(
            &format!("    - git:\n        repoURL: {app}\n        branch: main"),
            &format!(
                "    - image:\n        repoURL: {repo}\n        imageSelectionStrategy: SemVer\n        strictSemvers: true"
            ),
        )
        .replace(
            "commitFrom(vars.appRepo).ID",
            &format!("imageFrom(\"{repo}\").Tag"),
        )
        .replace(
            &format!("commitFrom(\"{app}\").ID"),
            &format!("imageFrom(\"{repo}\").Tag"),
        )
        + &secret
}

fn develop_tag(fixture: &Fixture) -> String {
    let (_, file, _) = fixture.gitops("develop/frontend/instance.yaml");
    file.lines()
        .find_map(|line| line.trim().strip_prefix("tag: "))
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_tags_reach_develop_and_a_registry_outage_is_reported_and_recovered_from() {
    // The registry fixture speaks blocking HTTP: keep it off the async threads.
    let registry = block_in_place(|| Registry::start_basic(USER, PASSWORD).unwrap());
    let proxy = Proxy::start(registry.port());
    let repo = format!("127.0.0.1:{}/frontend", proxy.port);
    block_in_place(|| {
        registry
            .push_image("frontend", "1.0.0", &ImageSpec::new())
            .unwrap()
    });
    let fixture = Fixture::new();
    let pipeline = image_pipeline(&fixture, &repo);
    assert!(pipeline.contains("- image:"), "{pipeline}");
    fixture.write_config(&pipeline);
    let server = fixture.start().await;
    let handle = server.handle();

    eventually("1.0.0 in develop", || {
        (develop_tag(&fixture) == "1.0.0").then_some(())
    })
    .await;
    block_in_place(|| {
        registry
            .push_image("frontend", "1.1.0", &ImageSpec::new().label("v", "1.1.0"))
            .unwrap()
    });
    let outcome = handle.refresh_warehouse("shop", "app").await.unwrap();
    assert!(outcome.created, "{outcome:?}");
    eventually("1.1.0 in develop", || {
        (develop_tag(&fixture) == "1.1.0").then_some(())
    })
    .await;

    // The registry goes away: the Warehouse says so, nothing else changes.
    proxy.down();
    let outcome = handle.refresh_warehouse("shop", "app").await.unwrap();
    let message = outcome.message.unwrap_or_default();
    assert!(!outcome.created);
    assert!(message.starts_with("image subscription 1: "), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    let status = handle
        .store()
        .warehouse_status("shop", "app")
        .unwrap()
        .unwrap();
    let healthy = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Healthy")
        .unwrap();
    assert_eq!(healthy.status, "False");
    assert_eq!(healthy.reason.as_deref(), Some("DiscoveryFailed"));
    let failures = handle
        .store()
        .events(&EventQuery {
            kind: Some(kinds::DISCOVERY_FAILED.to_owned()),
            ..EventQuery::default()
        })
        .unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    // A second failure with the same reason is not logged again.
    handle.refresh_warehouse("shop", "app").await.unwrap();
    assert_eq!(
        handle
            .store()
            .events(&EventQuery {
                kind: Some(kinds::DISCOVERY_FAILED.to_owned()),
                ..EventQuery::default()
            })
            .unwrap()
            .len(),
        1
    );

    // It comes back with a new tag: healthy again, and the tag goes to develop.
    block_in_place(|| {
        registry
            .push_image("frontend", "1.2.0", &ImageSpec::new().label("v", "1.2.0"))
            .unwrap()
    });
    proxy.up();
    let outcome = handle.refresh_warehouse("shop", "app").await.unwrap();
    assert!(outcome.created, "{outcome:?}");
    let status = handle
        .store()
        .warehouse_status("shop", "app")
        .unwrap()
        .unwrap();
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Healthy" && c.status == "True"),
        "{status:?}"
    );
    eventually("1.2.0 in develop", || {
        (develop_tag(&fixture) == "1.2.0").then_some(())
    })
    .await;
    server.shutdown().await;
    block_in_place(move || drop(registry));
}
