//! Registry authentication: credentials, `WWW-Authenticate` challenges and bearer tokens.
//!
//! A registry that wants authentication answers 401 with a challenge. `Basic` means "send the
//! username and password"; `Bearer realm="...",service="...",scope="..."` means "get a token
//! from `realm` (with the username and password, if any, as basic auth) and send that". The
//! client remembers each registry's challenge, so after the first 401 it authenticates every
//! request up front, and caches tokens per registry and scope until they expire.
//!
//! Nothing here prints a password or a token: both stay in [`SecretValue`], and the token
//! response type has no `Debug`.

use std::time::{Duration, Instant};

use gantry_api::core_v1::SecretValue;
use gantry_core::credentials::Credential;
use serde::Deserialize;

/// A username and password (or token) for a registry or chart repository.
#[derive(Clone, Debug)]
pub struct BasicCredentials {
    /// The username (may be empty for token-only registries).
    pub username: String,
    /// The password or token (prints as `***`).
    pub password: SecretValue,
    /// Where they came from (a Secret name), for messages.
    pub source: Option<String>,
}

impl BasicCredentials {
    /// Credentials given directly.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: SecretValue::new(password),
            source: None,
        }
    }
}

impl From<&Credential> for BasicCredentials {
    fn from(credential: &Credential) -> Self {
        Self {
            username: credential.username.clone(),
            password: credential.password.clone(),
            source: Some(credential.secret.clone()),
        }
    }
}

/// What a registry asks for in `WWW-Authenticate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// Send the username and password with every request.
    Basic,
    /// Get a token from `realm` and send it with every request.
    Bearer {
        /// The token service URL.
        realm: String,
        /// The `service` parameter to pass on.
        service: Option<String>,
        /// The scope the registry asked for, if it said.
        scope: Option<String>,
    },
}

/// One challenge as written: its scheme (lowercased) and parameters (names lowercased, values
/// unquoted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawChallenge {
    /// `basic`, `bearer`...
    pub scheme: String,
    /// `(name, value)` pairs in order.
    pub params: Vec<(String, String)>,
}

impl RawChallenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Splits a `WWW-Authenticate` value into challenges. Malformed parts are skipped; nothing
/// panics on any input.
pub fn parse_challenges(header: &str) -> Vec<RawChallenge> {
    let mut challenges: Vec<RawChallenge> = Vec::new();
    for item in split_top_level(header) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        // `Scheme param=value` starts a challenge; `param=value` continues the current one.
        let first_word_end = item.find(char::is_whitespace).unwrap_or(item.len());
        let first_word = &item[..first_word_end];
        if first_word.contains('=') {
            if let Some(current) = challenges.last_mut()
                && let Some(param) = parse_param(item)
            {
                current.params.push(param);
            }
            continue;
        }
        let mut challenge = RawChallenge {
            scheme: first_word.to_ascii_lowercase(),
            params: Vec::new(),
        };
        if let Some(param) = parse_param(item[first_word_end..].trim()) {
            challenge.params.push(param);
        }
        challenges.push(challenge);
    }
    challenges
}

/// The challenge the client acts on: a bearer challenge with a realm, else basic.
pub fn challenge(header: &str) -> Option<Challenge> {
    let challenges = parse_challenges(header);
    let bearer = challenges.iter().find_map(|c| {
        let realm = c.param("realm").filter(|r| !r.is_empty())?;
        (c.scheme == "bearer").then(|| Challenge::Bearer {
            realm: realm.to_owned(),
            service: c.param("service").map(str::to_owned),
            scope: c.param("scope").map(str::to_owned),
        })
    });
    bearer.or_else(|| {
        challenges
            .iter()
            .any(|c| c.scheme == "basic")
            .then_some(Challenge::Basic)
    })
}

/// Splits at commas outside double quotes (a backslash escapes the next character in quotes).
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `name=value` or `name="quoted \"value\""`; `None` for anything else (token68 included).
fn parse_param(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let value = value.trim();
    let value = if let Some(inner) = value.strip_prefix('"') {
        let mut out = String::with_capacity(inner.len());
        let mut escaped = false;
        for c in inner.chars() {
            if escaped {
                out.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                break;
            } else {
                out.push(c);
            }
        }
        out
    } else {
        value.to_owned()
    };
    Some((name.to_ascii_lowercase(), value))
}

/// A bearer token and when to stop using it.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: SecretValue,
    pub(crate) refresh_at: Instant,
}

impl Token {
    pub(crate) fn is_fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }
}

/// The token service's answer (deliberately without `Debug`: it holds the token).
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
}

/// Tokens live at least this long when the service says less or nothing (distribution spec).
const MIN_TOKEN_LIFETIME: Duration = Duration::from_mins(1);
/// Tokens are renewed this long before they expire.
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// Reads a token response; `Err` holds a reason for [`crate::RegistryError::Token`].
pub(crate) fn parse_token_response(body: &[u8], now: Instant) -> Result<Token, String> {
    let response: TokenResponse = serde_json::from_slice(body)
        .map_err(|error| format!("the answer is not a token document: {error}"))?;
    let value = response
        .token
        .filter(|t| !t.is_empty())
        .or(response.access_token.filter(|t| !t.is_empty()))
        .ok_or_else(|| "the answer has no `token` nor `access_token`".to_owned())?;
    let lifetime = response
        .expires_in
        .and_then(|seconds| u64::try_from(seconds).ok())
        .map_or(MIN_TOKEN_LIFETIME, Duration::from_secs)
        .max(MIN_TOKEN_LIFETIME);
    Ok(Token {
        value: SecretValue::new(value),
        refresh_at: now + lifetime.saturating_sub(TOKEN_EXPIRY_MARGIN),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn docker_hub_bearer_challenge_is_read_whole() {
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#;
        assert_eq!(
            challenge(header),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull".into()),
            })
        );
    }

    #[test]
    fn scopes_with_commas_inside_quotes_stay_whole() {
        let header = r#"bearer  realm = "https://t.example/token" , scope="repository:a/b:pull,push", service=reg"#;
        assert_eq!(
            challenge(header),
            Some(Challenge::Bearer {
                realm: "https://t.example/token".into(),
                service: Some("reg".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
    }

    #[test]
    fn escaped_quotes_are_unescaped() {
        let parsed =
            parse_challenges(r#"Bearer realm="https://x/\"t\"",error="insufficient_scope""#);
        assert_eq!(parsed[0].param("realm"), Some(r#"https://x/"t""#));
        assert_eq!(parsed[0].param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn basic_challenges_and_several_challenges_in_one_header() {
        assert_eq!(
            challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        let both = r#"Basic realm="r", Bearer realm="https://t/token",service="s""#;
        let parsed = parse_challenges(both);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].scheme, "basic");
        assert_eq!(parsed[1].scheme, "bearer");
        assert!(matches!(challenge(both), Some(Challenge::Bearer { .. })));
    }

    #[test]
    fn bearer_without_realm_and_unknown_schemes_give_nothing_usable() {
        assert_eq!(challenge(r#"Bearer service="s""#), None);
        assert_eq!(challenge("Negotiate"), None);
        assert_eq!(challenge(""), None);
        assert_eq!(challenge(r#"Bearer realm="""#), None);
    }

    #[test]
    fn token_responses_accept_either_field_and_enforce_a_minimum_lifetime() {
        let now = Instant::now();
        let token = parse_token_response(br#"{"access_token":"abc","expires_in":5}"#, now).unwrap();
        assert_eq!(token.value.expose(), "abc");
        assert!(token.refresh_at >= now + Duration::from_secs(50));
        let token = parse_token_response(
            br#"{"token":"t","access_token":"a","expires_in":3600}"#,
            now,
        )
        .unwrap();
        assert_eq!(token.value.expose(), "t");
        assert!(parse_token_response(b"{}", now).is_err());
        assert!(parse_token_response(b"<html>", now).is_err());
    }

    #[test]
    fn credentials_never_print_the_password() {
        let credentials = BasicCredentials::new("me", "hunter2");
        assert!(!format!("{credentials:?}").contains("hunter2"));
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(header in "\\PC{0,80}") {
            let _ = challenge(&header);
        }

        #[test]
        fn quote_and_comma_heavy_headers_never_panic(header in "[a-zA-Z=\", \\\\]{0,60}") {
            let _ = parse_challenges(&header);
        }
    }
}
