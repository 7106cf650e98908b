//! Tag listing and `Link` pagination.

use gantry_registry::{RegistryError, Remote, Repository};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{Registry, client};

#[tokio::test]
async fn tag_lists_follow_relative_and_absolute_next_links_across_three_pages() {
    let registry = Registry::start().await;
    let list = "/v2/team/app/tags/list";
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param_is_missing("last"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "team/app", "tags": ["a", "b"]}))
                .insert_header("link", r#"</v2/team/app/tags/list?last=b&n=2>; rel="next""#),
        )
        .mount(&registry.server)
        .await;
    let absolute = format!(
        r#"<{}/v2/team/app/tags/list?last=d&n=2>; rel="next""#,
        registry.server.uri()
    );
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("last", "b"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "team/app", "tags": ["c", "d"]}))
                .insert_header("link", absolute.as_str()),
        )
        .mount(&registry.server)
        .await;
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("last", "d"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "team/app", "tags": ["e"]})),
        )
        .mount(&registry.server)
        .await;

    let client = client();
    let remote = Remote::new(Repository::parse(&registry.repo_url("team/app")).unwrap());
    let tags = client.list_tags(&remote).await.unwrap();
    assert_eq!(tags, ["a", "b", "c", "d", "e"]);
    let counts = client.counts();
    assert_eq!(counts.tag_list_pages, 3);
    assert_eq!(counts.total(), 3);
}

#[tokio::test]
async fn an_empty_repository_has_no_tags() {
    let registry = Registry::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "team/app", "tags": null})),
        )
        .mount(&registry.server)
        .await;
    let remote = Remote::new(Repository::parse(&registry.repo_url("team/app")).unwrap());
    assert!(client().list_tags(&remote).await.unwrap().is_empty());
}

#[tokio::test]
async fn links_to_another_server_or_back_to_a_read_page_are_refused() {
    let registry = Registry::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/team/app/tags/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"tags": ["a"]}))
                .insert_header(
                    "link",
                    r#"<https://elsewhere.example/v2/team/app/tags/list?last=a>; rel="next""#,
                ),
        )
        .mount(&registry.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/team/loop/tags/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"tags": ["a"]}))
                .insert_header("link", r#"</v2/team/loop/tags/list>; rel="next""#),
        )
        .mount(&registry.server)
        .await;
    let client = client();
    let remote = Remote::new(Repository::parse(&registry.repo_url("team/app")).unwrap());
    let error = client.list_tags(&remote).await.unwrap_err();
    assert!(matches!(error, RegistryError::Pagination { .. }), "{error}");
    assert!(error.to_string().contains("another server"), "{error}");
    let remote = Remote::new(Repository::parse(&registry.repo_url("team/loop")).unwrap());
    let error = client.list_tags(&remote).await.unwrap_err();
    assert!(error.to_string().contains("already read"), "{error}");
}

#[tokio::test]
async fn a_missing_repository_is_not_found_with_its_name() {
    let registry = Registry::start().await;
    let remote = Remote::new(Repository::parse(&registry.repo_url("team/nope")).unwrap());
    let error = client().list_tags(&remote).await.unwrap_err();
    assert!(error.is_not_found());
    let message = error.to_string();
    assert!(
        message.contains("team/nope") && message.contains("404"),
        "{message}"
    );
}
