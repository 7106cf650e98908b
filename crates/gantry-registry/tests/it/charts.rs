//! Chart discovery: HTTP repositories (`index.yaml`) and OCI repositories (tags).

use gantry_registry::{CredentialStore, RegistryError, discover_charts};
use serde_json::json;
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::chart_subscription;
use crate::fake::{Registry, client, credentials};

const INDEX: &str = r"apiVersion: v1
entries:
  app:
    - name: app
      version: 1.2.0
      urls: [app-1.2.0.tgz]
    - name: app
      version: 1.10.0
    - name: app
      version: 1.10.0-rc.1
    - name: app
      version: 2.0.0
    - name: app
      version: not-a-version
    - name: app
      version: v1.3
  other:
    - name: other
      version: 9.0.0
";

async fn chart_repository() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/charts/index.yaml"))
        .and(basic_auth("helm", "pw"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(INDEX, "application/x-yaml"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/charts/index.yaml"))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn http_repositories_list_versions_by_semver_with_constraint_and_limit() {
    let server = chart_repository().await;
    let repo_url = format!("{}/charts/", server.uri());
    let store = credentials("helm", &repo_url, "helm", "pw");
    let client = client();
    let subscription = chart_subscription(json!({
        "repoURL": repo_url,
        "name": "app",
        "semverConstraint": "^1.0.0",
        "discoveryLimit": 2,
    }));
    let result = discover_charts(&subscription, Some("chart"), &store, &client)
        .await
        .unwrap();
    assert_eq!(result.versions, ["1.10.0", "v1.3"]);
    assert_eq!(result.name.as_deref(), Some("app"));
    assert_eq!(result.semver_constraint.as_deref(), Some("^1.0.0"));
    assert_eq!(result.subscription_name.as_deref(), Some("chart"));
    assert_eq!(client.counts().chart_index_gets, 1);

    let all = chart_subscription(json!({"repoURL": repo_url, "name": "app"}));
    let result = discover_charts(&all, None, &store, &client).await.unwrap();
    assert_eq!(
        result.versions,
        ["2.0.0", "1.10.0", "1.10.0-rc.1", "v1.3", "1.2.0"]
    );

    let missing = chart_subscription(json!({"repoURL": repo_url, "name": "absent"}));
    assert!(
        discover_charts(&missing, None, &store, &client)
            .await
            .unwrap()
            .versions
            .is_empty()
    );
}

#[tokio::test]
async fn http_repositories_without_credentials_say_so() {
    let server = chart_repository().await;
    let subscription = chart_subscription(json!({
        "repoURL": format!("{}/charts", server.uri()),
        "name": "app",
    }));
    let error = discover_charts(&subscription, None, &CredentialStore::default(), &client())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("index.yaml") && message.contains("credentials are missing"),
        "{message}"
    );
}

#[tokio::test]
async fn broken_indexes_are_errors_naming_the_index() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/index.yaml"))
        .respond_with(ResponseTemplate::new(200).set_body_string("entries: [unclosed"))
        .mount(&server)
        .await;
    let subscription = chart_subscription(json!({"repoURL": server.uri(), "name": "app"}));
    let error = discover_charts(&subscription, None, &CredentialStore::default(), &client())
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::UnsupportedDocument { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("index.yaml"), "{error}");
}

#[tokio::test]
async fn oci_charts_come_from_tags_with_underscores_turned_back_into_plus() {
    let registry = Registry::start().await;
    registry
        .tags(
            "charts/app",
            &["0.9.0", "1.0.0", "1.1.0_build.1", "v2.0.0", "latest", "1.2"],
        )
        .await;
    let subscription = chart_subscription(json!({
        "repoURL": format!("oci://{}", registry.repo_url("charts/app")),
        "semverConstraint": "<2",
    }));
    let client = client();
    let result = discover_charts(&subscription, None, &CredentialStore::default(), &client)
        .await
        .unwrap();
    assert_eq!(result.versions, ["1.1.0+build.1", "1.0.0", "0.9.0"]);
    assert_eq!(result.name, None);
    assert_eq!(client.counts().tag_list_pages, 1);
}

#[tokio::test]
async fn chart_subscriptions_with_misplaced_names_are_refused() {
    let client = client();
    let oci_with_name =
        chart_subscription(json!({"repoURL": "oci://127.0.0.1:9/charts/app", "name": "app"}));
    let error = discover_charts(&oci_with_name, None, &CredentialStore::default(), &client)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("must be empty"), "{error}");
    let http_without_name = chart_subscription(json!({"repoURL": "https://charts.example"}));
    let error = discover_charts(
        &http_without_name,
        None,
        &CredentialStore::default(),
        &client,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("is required"), "{error}");
    assert_eq!(client.counts().total(), 0);
}
