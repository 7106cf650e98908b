//! CNCF Distribution (`docker-registry`) notifications: the registry POSTs an envelope
//! `{"events": [...]}` to the endpoints of its `notifications` config. A `push` of a manifest
//! (`target.mediaType` a manifest or index type, or a `target.tag`) names the repository as
//! `request.host` + `/` + `target.repository` (else the host of `target.url`) and the tag;
//! blob pushes and pulls are ignored.
//!
//! The URL is the secret (as for Kargo's Docker Hub and Quay receivers). When the Secret also
//! has an `auth-header` key, the `Authorization` header must equal it: put the same value in
//! the registry's endpoint `headers` (`Authorization: [Bearer <value>]`).
//!
//! ```yaml
//! # docker-registry config.yml
//! notifications:
//!   endpoints:
//!     - name: gantry
//!       url: http://127.0.0.1:8080/webhooks/distribution/<hash>
//!       timeout: 1s
//!       threshold: 3
//!       backoff: 1s
//! ```

use axum::http::{HeaderMap, header as http_header};
use gantry_core::freight::normalize_image;
use serde_json::Value;

use super::{Delivery, Receiver, Target, header};
use crate::api::auth::constant_time_eq;
use crate::api::error::Problem;

/// Whether a media type is a manifest or an index (not a blob).
fn is_manifest(media_type: &str) -> bool {
    media_type.contains("manifest") || media_type.contains("image.index")
}

/// A non-empty string value.
fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The host of an `http(s)://host[:port]/...` URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then_some(host)
}

/// Reads a registry notification envelope.
pub(crate) fn parse(
    receiver: &Receiver,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Delivery, Problem> {
    if let Some(expected) = &receiver.auth_header {
        let presented = header(headers, http_header::AUTHORIZATION.as_str()).unwrap_or_default();
        if !constant_time_eq(presented.as_bytes(), expected.expose().as_bytes()) {
            return Err(Problem::unauthorized("unauthorized"));
        }
    }
    let payload: Value =
        serde_json::from_slice(body).map_err(|_| Problem::bad_request("invalid request body"))?;
    let events = payload
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| Problem::bad_request("invalid request body: no events"))?;
    let mut targets: Vec<Target> = Vec::new();
    for event in events {
        if event.get("action").and_then(Value::as_str) != Some("push") {
            continue;
        }
        let Some(target) = event.get("target") else {
            continue;
        };
        let tag = text(target.get("tag"));
        let media_type = text(target.get("mediaType")).unwrap_or_default();
        if tag.is_none() && !is_manifest(media_type) {
            continue;
        }
        let Some(repository) = text(target.get("repository")) else {
            continue;
        };
        let host = text(event.pointer("/request/host"))
            .or_else(|| text(target.get("url")).and_then(url_host));
        let Some(host) = host else { continue };
        let target = Target {
            urls: vec![normalize_image(&format!("{host}/{repository}"))],
            qualifiers: tag.map(|tag| vec![tag.to_owned()]).unwrap_or_default(),
            digest: tag
                .and_then(|_| text(target.get("digest")))
                .map(str::to_owned),
        };
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    Ok(Delivery::Refresh(targets))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use gantry_api::core_v1::SecretValue;

    use super::*;
    use crate::api::webhooks::ReceiverKind;

    fn receiver(auth_header: Option<&str>) -> Receiver {
        Receiver {
            project: "shop".into(),
            name: "registry".into(),
            kind: ReceiverKind::Distribution,
            path: String::new(),
            secret: SecretValue::new("s"),
            auth_header: auth_header.map(SecretValue::new),
        }
    }

    /// An envelope as docker-registry 2.8 sends it: a layer, then the tagged manifest.
    const ENVELOPE: &str = r#"{"events":[
      {"id":"1","action":"push","target":{"mediaType":"application/octet-stream","digest":"sha256:aa","repository":"team/frontend","url":"http://127.0.0.1:5000/v2/team/frontend/blobs/sha256:aa"},"request":{"host":"127.0.0.1:5000","method":"PUT"}},
      {"id":"2","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","repository":"team/frontend","url":"http://127.0.0.1:5000/v2/team/frontend/manifests/sha256:bb","tag":"1.2.0"},"request":{"host":"127.0.0.1:5000","method":"PUT"}},
      {"id":"3","action":"pull","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"team/other","tag":"9.9.9"},"request":{"host":"127.0.0.1:5000"}}
    ]}"#;

    #[test]
    fn a_tagged_manifest_push_names_the_repository_and_tag_and_blobs_are_ignored() {
        let Delivery::Refresh(targets) =
            parse(&receiver(None), &HeaderMap::new(), ENVELOPE.as_bytes()).unwrap()
        else {
            panic!("not a refresh")
        };
        assert_eq!(
            targets,
            [Target {
                urls: vec!["127.0.0.1:5000/team/frontend".into()],
                qualifiers: vec!["1.2.0".into()],
                digest: Some("sha256:bb".into()),
            }]
        );
    }

    #[test]
    fn the_host_falls_back_to_the_target_url() {
        let body = br#"{"events":[{"action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","repository":"app","url":"https://registry.example/v2/app/manifests/sha256:cc"}}]}"#;
        let Delivery::Refresh(targets) = parse(&receiver(None), &HeaderMap::new(), body).unwrap()
        else {
            panic!("not a refresh")
        };
        assert_eq!(targets[0].urls, ["registry.example/app"]);
        assert!(targets[0].qualifiers.is_empty());
    }

    #[test]
    fn an_auth_header_when_configured_must_match() {
        let mut headers = HeaderMap::new();
        let error = parse(&receiver(Some("Bearer x")), &headers, ENVELOPE.as_bytes()).unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        headers.insert(http_header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert!(parse(&receiver(Some("Bearer x")), &headers, ENVELOPE.as_bytes()).is_ok());
        let error = parse(&receiver(None), &HeaderMap::new(), b"[]").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
    }
}
