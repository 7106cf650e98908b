//! Which credentials apply to a repository: Kargo's credential Secrets.
//!
//! A Secret labelled `kargo.akuity.io/cred-type: git|helm|image|generic` carries `repoURL`
//! (or, with `repoURLIsRegex: "true"`, a pattern), `username` and `password`. Lookup follows
//! Kargo: exact matches (compared after URL normalisation) win over pattern matches; among
//! several, the Secret whose name sorts first wins. Values stay wrapped in
//! [`SecretValue`] so they cannot be printed by accident.

use gantry_api::core_v1::{Secret, SecretValue};
use gantry_api::url::normalize_git;
use regex::Regex;

/// The label that marks a credential Secret.
pub const CRED_TYPE_LABEL: &str = "kargo.akuity.io/cred-type";

/// What a credential is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialType {
    /// Git repositories.
    Git,
    /// Helm chart repositories.
    Helm,
    /// Container image registries.
    Image,
    /// Anything else (read by `secret()`/`sharedSecret()`).
    Generic,
}

impl CredentialType {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Git => "git",
            Self::Helm => "helm",
            Self::Image => "image",
            Self::Generic => "generic",
        }
    }
}

/// A username and password (or token).
#[derive(Clone, Debug)]
pub struct Credential {
    /// The username (may be empty for token-only hosts).
    pub username: String,
    /// The password or token.
    pub password: SecretValue,
    /// The Secret it came from.
    pub secret: String,
}

#[derive(Debug)]
struct Entry {
    kind: CredentialType,
    name: String,
    pattern: Option<Regex>,
    url: String,
    credential: Credential,
}

/// Every credential Secret, ready for lookups.
#[derive(Debug, Default)]
pub struct CredentialStore {
    entries: Vec<Entry>,
}

/// A credential Secret that cannot be used, with why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("secret {secret:?}: {problem}")]
pub struct CredentialError {
    /// The Secret.
    pub secret: String,
    /// What is wrong.
    pub problem: String,
}

fn normalize(kind: CredentialType, url: &str) -> String {
    match kind {
        CredentialType::Git => normalize_git(url),
        _ => url
            .trim()
            .trim_start_matches("oci://")
            .trim_end_matches('/')
            .to_owned(),
    }
}

impl CredentialStore {
    /// Reads every credential Secret; Secrets without the label are ignored, unusable ones
    /// reported.
    pub fn from_secrets<'a>(
        secrets: impl IntoIterator<Item = &'a Secret>,
    ) -> (Self, Vec<CredentialError>) {
        let mut store = Self::default();
        let mut errors = Vec::new();
        for secret in secrets {
            let name = secret.metadata.name.clone().unwrap_or_default();
            let kind = match secret
                .metadata
                .labels
                .get(CRED_TYPE_LABEL)
                .map(String::as_str)
            {
                Some("git") => CredentialType::Git,
                Some("helm") => CredentialType::Helm,
                Some("image") => CredentialType::Image,
                Some("generic") => CredentialType::Generic,
                _ => continue,
            };
            let Some(url) = secret.value("repoURL") else {
                if kind != CredentialType::Generic {
                    errors.push(CredentialError {
                        secret: name,
                        problem: "has no `repoURL`; add the repository URL it is for".to_owned(),
                    });
                }
                continue;
            };
            let is_regex = secret
                .value("repoURLIsRegex")
                .is_some_and(|v| v.trim() == "true");
            let pattern = if is_regex {
                match Regex::new(&url) {
                    Ok(pattern) => Some(pattern),
                    Err(error) => {
                        errors.push(CredentialError {
                            secret: name,
                            problem: format!(
                                "`repoURL` is not a valid regular expression: {error}"
                            ),
                        });
                        continue;
                    }
                }
            } else {
                None
            };
            let credential = Credential {
                username: secret.value("username").unwrap_or_default(),
                password: SecretValue::new(secret.value("password").unwrap_or_default()),
                secret: name.clone(),
            };
            store.entries.push(Entry {
                kind,
                name,
                url: normalize(kind, &url),
                pattern,
                credential,
            });
        }
        store.entries.sort_by(|a, b| a.name.cmp(&b.name));
        (store, errors)
    }

    /// The credential for a repository, if any.
    pub fn lookup(&self, kind: CredentialType, url: &str) -> Option<&Credential> {
        let normalized = normalize(kind, url);
        let candidates = || self.entries.iter().filter(|e| e.kind == kind);
        candidates()
            .find(|e| e.pattern.is_none() && e.url == normalized)
            .or_else(|| {
                candidates().find(|e| {
                    e.pattern
                        .as_ref()
                        .is_some_and(|p| p.is_match(url) || p.is_match(&normalized))
                })
            })
            .map(|e| &e.credential)
    }

    /// Whether no credentials are known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn secret(name: &str, kind: &str, data: &[(&str, &str)]) -> Secret {
        let mut value = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": {CRED_TYPE_LABEL: kind}},
            "stringData": {},
        });
        let map: BTreeMap<_, _> = data.iter().map(|(k, v)| (*k, *v)).collect();
        value["stringData"] = serde_json::json!(map);
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn exact_matches_win_over_patterns_and_urls_are_normalised() {
        let secrets = [
            secret(
                "a-pattern",
                "git",
                &[
                    ("repoURL", "^https://git\\.example/.*$"),
                    ("repoURLIsRegex", "true"),
                    ("username", "pattern"),
                    ("password", "p1"),
                ],
            ),
            secret(
                "b-exact",
                "git",
                &[
                    ("repoURL", "https://git.example/team/repo"),
                    ("username", "exact"),
                    ("password", "p2"),
                ],
            ),
            secret(
                "c-image",
                "image",
                &[
                    ("repoURL", "registry.example/app"),
                    ("username", "img"),
                    ("password", "p3"),
                ],
            ),
            secret("plain", "", &[]),
        ];
        let (store, errors) = CredentialStore::from_secrets(&secrets);
        assert!(errors.is_empty());
        let found = store
            .lookup(CredentialType::Git, "https://git.example/team/repo.git/")
            .unwrap();
        assert_eq!(found.username, "exact");
        assert_eq!(found.password.expose(), "p2");
        let found = store
            .lookup(CredentialType::Git, "https://git.example/other.git")
            .unwrap();
        assert_eq!(found.username, "pattern");
        assert!(
            store
                .lookup(CredentialType::Git, "https://elsewhere/x.git")
                .is_none()
        );
        assert_eq!(
            store
                .lookup(CredentialType::Image, "registry.example/app")
                .unwrap()
                .username,
            "img"
        );
        assert!(
            store
                .lookup(CredentialType::Git, "registry.example/app")
                .is_none()
        );
        assert!(!format!("{store:?}").contains("p2"));
    }

    #[test]
    fn unusable_secrets_are_reported() {
        let secrets = [
            secret("no-url", "git", &[("username", "u")]),
            secret(
                "bad-regex",
                "git",
                &[("repoURL", "(("), ("repoURLIsRegex", "true")],
            ),
        ];
        let (store, errors) = CredentialStore::from_secrets(&secrets);
        assert!(store.is_empty());
        let messages: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages[0],
            "secret \"no-url\": has no `repoURL`; add the repository URL it is for"
        );
        assert!(
            messages[1]
                .starts_with("secret \"bad-regex\": `repoURL` is not a valid regular expression")
        );
    }
}
