//! GitLab: `Push Hook` and `Tag Push Hook` events, authenticated by `X-Gitlab-Token` equal to
//! the Secret's `secret-token` (compared in constant time).

use axum::http::HeaderMap;
use gantry_api::url::normalize_git;
use serde_json::Value;

use super::{Delivery, Receiver, Target, header};
use crate::api::auth::constant_time_eq;
use crate::api::error::Problem;

/// Reads a GitLab delivery.
pub(crate) fn parse(
    receiver: &Receiver,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Delivery, Problem> {
    let token = header(headers, "x-gitlab-token").unwrap_or_default();
    if !constant_time_eq(token.as_bytes(), receiver.secret.expose().as_bytes()) {
        return Err(Problem::unauthorized("unauthorized"));
    }
    let event = header(headers, "x-gitlab-event").unwrap_or_default();
    if !matches!(event, "Push Hook" | "Tag Push Hook") {
        return Err(Problem::bad_request(format!(
            "event type {event:?} is not supported"
        )));
    }
    let payload: Value =
        serde_json::from_slice(body).map_err(|_| Problem::bad_request("invalid request body"))?;
    let mut urls: Vec<String> = [
        "/repository/git_http_url",
        "/repository/git_ssh_url",
        "/project/git_http_url",
        "/project/git_ssh_url",
    ]
    .iter()
    .filter_map(|pointer| payload.pointer(pointer).and_then(Value::as_str))
    .filter(|url| !url.is_empty())
    .map(normalize_git)
    .collect();
    urls.sort();
    urls.dedup();
    let qualifiers = payload
        .get("ref")
        .and_then(Value::as_str)
        .map(|reference| vec![reference.to_owned()])
        .unwrap_or_default();
    Ok(Delivery::Refresh(vec![Target {
        urls,
        qualifiers,
        digest: None,
    }]))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use gantry_api::core_v1::SecretValue;

    use super::*;
    use crate::api::webhooks::ReceiverKind;

    fn receiver() -> Receiver {
        Receiver {
            project: "shop".into(),
            name: "gl".into(),
            kind: ReceiverKind::GitLab,
            path: String::new(),
            secret: SecretValue::new("t0ken"),
            auth_header: None,
        }
    }

    fn headers(event: &str, token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-gitlab-event", event.parse().unwrap());
        headers.insert("x-gitlab-token", token.parse().unwrap());
        headers
    }

    #[test]
    fn a_tag_push_with_the_right_token_names_its_repository_and_tag() {
        let body = br#"{"object_kind":"tag_push","ref":"refs/tags/v1.0.0","repository":{"git_http_url":"https://gitlab.example/team/app.git","git_ssh_url":"git@gitlab.example:team/app.git"}}"#;
        let Delivery::Refresh(targets) =
            parse(&receiver(), &headers("Tag Push Hook", "t0ken"), body).unwrap()
        else {
            panic!("not a refresh")
        };
        assert!(
            targets[0]
                .urls
                .contains(&"https://gitlab.example/team/app".to_owned())
        );
        assert_eq!(targets[0].qualifiers, ["refs/tags/v1.0.0"]);
    }

    #[test]
    fn a_wrong_token_is_a_bare_401_and_other_events_a_400() {
        let error = parse(&receiver(), &headers("Push Hook", "t0ke"), b"{}").unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        assert!(!error.message.contains("t0ken"));
        let error = parse(&receiver(), &headers("Issue Hook", "t0ken"), b"{}").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
    }
}
