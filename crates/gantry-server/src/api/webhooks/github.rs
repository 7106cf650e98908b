//! GitHub: `ping` and `push` events, signed with HMAC-SHA256 of the body under the Secret's
//! `secret` (`X-Hub-Signature-256: sha256=<hex>`). The signature is checked first, in constant
//! time (ring's `hmac::verify`); a missing or wrong one is a bare 401.

use axum::http::HeaderMap;
use gantry_api::url::normalize_git;
use ring::hmac;
use serde_json::Value;

use super::{Delivery, Receiver, Target, header, unhex};
use crate::api::error::Problem;

/// Reads a GitHub delivery.
pub(crate) fn parse(
    receiver: &Receiver,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Delivery, Problem> {
    let signature = header(headers, "x-hub-signature-256")
        .ok_or_else(|| Problem::unauthorized("missing signature"))?;
    let digest = signature
        .strip_prefix("sha256=")
        .and_then(unhex)
        .ok_or_else(|| Problem::unauthorized("unauthorized"))?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, receiver.secret.expose().as_bytes());
    hmac::verify(&key, body, &digest).map_err(|_| Problem::unauthorized("unauthorized"))?;
    let event = header(headers, "x-github-event").unwrap_or_default();
    match event {
        "ping" => {
            return Ok(Delivery::Ping(
                "ping event received, webhook is configured correctly",
            ));
        }
        "push" => {}
        other => {
            return Err(Problem::bad_request(format!(
                "event type {other:?} is not supported"
            )));
        }
    }
    let payload: Value =
        serde_json::from_slice(body).map_err(|_| Problem::bad_request("invalid request body"))?;
    let repository = payload
        .get("repository")
        .ok_or_else(|| Problem::bad_request("invalid request body: no repository"))?;
    let mut urls: Vec<String> = ["clone_url", "html_url", "ssh_url"]
        .iter()
        .filter_map(|field| repository.get(*field).and_then(Value::as_str))
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

/// `sha256=<hex>` of a body, as GitHub signs it (for tests and clients).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    format!(
        "sha256={}",
        crate::api::auth::hex(hmac::sign(&key, body).as_ref())
    )
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
            name: "gh".into(),
            kind: ReceiverKind::GitHub,
            path: String::new(),
            secret: SecretValue::new("It's a Secret to Everybody"),
            auth_header: None,
        }
    }

    fn headers(event: &str, signature: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-github-event", event.parse().unwrap());
        if let Some(signature) = signature {
            headers.insert("x-hub-signature-256", signature.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_signature_matches_githubs_documented_example() {
        // GitHub's docs: secret "It's a Secret to Everybody", payload "Hello, World!".
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn a_signed_push_names_its_repository_urls_and_ref() {
        let body = br#"{"ref":"refs/heads/main","repository":{"clone_url":"https://github.com/Team/App.git","html_url":"https://github.com/Team/App","ssh_url":"git@github.com:Team/App.git"}}"#;
        let signature = sign("It's a Secret to Everybody", body);
        let delivery = parse(&receiver(), &headers("push", Some(&signature)), body).unwrap();
        let Delivery::Refresh(targets) = delivery else {
            panic!("{delivery:?}")
        };
        assert!(
            targets[0]
                .urls
                .contains(&"https://github.com/team/app".to_owned())
        );
        assert_eq!(targets[0].qualifiers, ["refs/heads/main"]);
    }

    #[test]
    fn a_missing_or_wrong_signature_is_refused_without_details() {
        let body = br#"{"zen":"hi"}"#;
        let missing = parse(&receiver(), &headers("ping", None), body).unwrap_err();
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        let wrong = sign("another secret", body);
        let error = parse(&receiver(), &headers("ping", Some(&wrong)), body).unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        assert_eq!(error.message, "unauthorized");
        let tampered = sign("It's a Secret to Everybody", body);
        let error = parse(
            &receiver(),
            &headers("ping", Some(&tampered)),
            br#"{"zen":"ho"}"#,
        )
        .unwrap_err();
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        let ok = parse(&receiver(), &headers("ping", Some(&tampered)), body).unwrap();
        assert!(matches!(ok, Delivery::Ping(_)));
    }

    #[test]
    fn other_events_are_refused_as_unsupported() {
        let body = b"{}";
        let signature = sign("It's a Secret to Everybody", body);
        let error = parse(&receiver(), &headers("issues", Some(&signature)), body).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
    }
}
