//! The one error type of the registry adapter.
//!
//! Every variant names what was being done (`list the tags of 127.0.0.1:5000/team/app`,
//! `fetch manifest v1.2.3 of ...`) so that a Warehouse condition reads on its own. URLs are
//! printed without userinfo, and no variant holds a password or token, so `Display` and `Debug`
//! are safe to log. [`RegistryError::is_not_found`] and [`RegistryError::is_transient`] let
//! callers decide between "no result", "retry later" and "report".

use std::path::PathBuf;
use std::time::Duration;

use gantry_core::selection::SelectionError;

/// What went wrong talking to a registry or chart repository, or reading what it sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A `repoURL` that is not an image repository reference.
    #[error("`{reference}` is not a valid image repository: {reason}")]
    InvalidReference {
        /// The reference as written.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `platform` that is not `os/arch[/variant]`.
    #[error("`{platform}` is not a valid platform: use `os/arch` or `os/arch/variant`")]
    InvalidPlatform {
        /// The platform as written.
        platform: String,
    },
    /// The subscription's selection settings are unusable.
    #[error("invalid subscription settings")]
    Selection(#[from] SelectionError),
    /// A chart subscription whose fields do not fit its repository type.
    #[error("invalid chart subscription for {repo_url}: {reason}")]
    InvalidChartSubscription {
        /// The repository, without userinfo.
        repo_url: String,
        /// What is wrong.
        reason: String,
    },
    /// HTTP 401, after a token or credentials were tried (when the registry asked for them).
    #[error(
        "failed to {operation}: {host} answered HTTP 401 Unauthorized: {}",
        if *.credentials_given {
            "the credentials were rejected; check the username and password of the credential Secret"
        } else {
            "credentials are missing; add a credential Secret for this repository (some registries also answer 401 for repositories that do not exist)"
        }
    )]
    Unauthorized {
        /// What was being done.
        operation: String,
        /// The registry or repository host.
        host: String,
        /// Whether credentials were sent.
        credentials_given: bool,
    },
    /// HTTP 403: the credentials are valid but not allowed to read this.
    #[error(
        "failed to {operation}: {host} answered HTTP 403 Forbidden: the credentials may not read this repository"
    )]
    Forbidden {
        /// What was being done.
        operation: String,
        /// The registry or repository host.
        host: String,
    },
    /// HTTP 404.
    #[error("failed to {operation}: not found (HTTP 404 from {host})")]
    NotFound {
        /// What was being done.
        operation: String,
        /// The registry or repository host.
        host: String,
    },
    /// Any other unexpected status, after the retries it deserved.
    #[error("failed to {operation}: {host} answered HTTP {status}{}", retried(*.retries))]
    Status {
        /// What was being done.
        operation: String,
        /// The registry or repository host.
        host: String,
        /// The status code.
        status: u16,
        /// How many times the request was retried.
        retries: u32,
    },
    /// No complete answer within the per-request timeout.
    #[error("failed to {operation}: {host} did not answer within {timeout:?}{}", retried(*.retries))]
    Timeout {
        /// What was being done.
        operation: String,
        /// The registry or repository host.
        host: String,
        /// The per-request timeout.
        timeout: Duration,
        /// How many times the request was retried.
        retries: u32,
    },
    /// The connection failed (refused, reset, TLS, DNS...).
    #[error("failed to {operation}: could not talk to {host}{}", retried(*.retries))]
    Transport {
        /// What was being done.
        operation: String,
        /// The registry or repository host.
        host: String,
        /// How many times the request was retried.
        retries: u32,
        /// The HTTP client's error, without the URL.
        #[source]
        source: reqwest::Error,
    },
    /// A JSON document that does not parse or does not have the expected shape.
    #[error("{document} is not valid")]
    InvalidDocument {
        /// Which document (`the manifest v1 of 127.0.0.1:5000/team/app`).
        document: String,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// A document the adapter understands the syntax of but cannot use.
    #[error("{document} cannot be used: {reason}")]
    UnsupportedDocument {
        /// Which document.
        document: String,
        /// Why.
        reason: String,
    },
    /// The registry's `Docker-Content-Digest` and the digest of the body disagree.
    #[error("{document} has digest {computed}, but the registry said {announced}")]
    DigestMismatch {
        /// Which document.
        document: String,
        /// The digest the registry announced (header, or the digest asked for).
        announced: String,
        /// The digest of the bytes received.
        computed: String,
    },
    /// A response bigger than the limit for its kind.
    #[error("{document} is larger than {limit} bytes")]
    TooLarge {
        /// Which document.
        document: String,
        /// The limit.
        limit: usize,
    },
    /// The registry's bearer-token service answered something unusable.
    #[error("failed to get a token from {realm}: {reason}")]
    Token {
        /// The token service URL.
        realm: String,
        /// What was wrong.
        reason: String,
    },
    /// A tag-list page links somewhere gantry does not follow.
    #[error("failed to list the tags of {repository}: {reason}")]
    Pagination {
        /// The repository.
        repository: String,
        /// What was wrong.
        reason: String,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("failed to build the HTTP client")]
    Client {
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The metadata cache directory cannot be used.
    #[error("failed to open the metadata cache at {}", path.display())]
    Cache {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn retried(retries: u32) -> String {
    match retries {
        0 => String::new(),
        1 => " after 1 retry".to_owned(),
        n => format!(" after {n} retries"),
    }
}

impl RegistryError {
    /// Whether the registry said the thing asked for does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Whether trying again later may succeed (server errors, rate limits, timeouts, network).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout { .. } | Self::Transport { .. } => true,
            _ => false,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_says_whether_credentials_are_missing_or_wrong() {
        let missing = RegistryError::Unauthorized {
            operation: "list the tags of r.example/app".to_owned(),
            host: "r.example".to_owned(),
            credentials_given: false,
        };
        let message = missing.to_string();
        assert!(message.contains("HTTP 401"), "{message}");
        assert!(message.contains("credentials are missing"), "{message}");
        let wrong = RegistryError::Unauthorized {
            operation: "list the tags of r.example/app".to_owned(),
            host: "r.example".to_owned(),
            credentials_given: true,
        };
        assert!(wrong.to_string().contains("credentials were rejected"));
    }

    #[test]
    fn status_errors_count_retries() {
        let error = RegistryError::Status {
            operation: "fetch manifest `v1` of r.example/app".to_owned(),
            host: "r.example".to_owned(),
            status: 500,
            retries: 3,
        };
        assert_eq!(
            error.to_string(),
            "failed to fetch manifest `v1` of r.example/app: r.example answered HTTP 500 after 3 retries"
        );
        assert!(error.is_transient());
        assert!(!error.is_not_found());
    }
}
