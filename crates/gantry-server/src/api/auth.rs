//! The admin token and the checks on every API request.
//!
//! The token is 32 random bytes (ring's system RNG), hex-encoded, written on first start to
//! `<data-dir>/admin-token` with mode 0600 and read back on later starts. Mutating calls need
//! `Authorization: Bearer <token>`; reads need it too unless the server runs with open reads.
//! Tokens are compared in constant time (SHA-256 of both sides, then a branch-free fold), and
//! never appear in `Debug` output, logs or errors.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

use super::ApiState;
use super::error::Problem;

/// The file in the data directory that holds the admin token.
pub const TOKEN_FILE: &str = "admin-token";

/// The bearer token that authorises API calls. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

/// The admin token could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading or writing the token file failed.
    #[error("failed to {action} the admin token file {}", path.display())]
    Io {
        /// What was being done (`read`, `create`, `write`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The system's random number generator failed.
    #[error("failed to generate an admin token: the system random number generator failed")]
    Random,
    /// The file exists but holds no usable token.
    #[error("the admin token file {} is empty; delete it to get a new token", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl AdminToken {
    /// A token with this value (tests, or a token handed in from elsewhere).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Where the token of a data directory lives.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(TOKEN_FILE)
    }

    /// Reads `<data-dir>/admin-token`, or creates it (mode 0600) with a new random token.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, TokenError> {
        let path = Self::path(data_dir);
        match fs_err::read_to_string(&path) {
            Ok(text) => {
                let token = text.trim();
                if token.is_empty() {
                    return Err(TokenError::Empty { path });
                }
                return Ok(Self(token.to_owned()));
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(TokenError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        }
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| TokenError::Random)?;
        let token = hex(&bytes);
        fs_err::create_dir_all(data_dir).map_err(|source| TokenError::Io {
            action: "create",
            path: path.clone(),
            source,
        })?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = match options.open(&path) {
            Ok(file) => file,
            // Another process created it in the meantime: use theirs.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Self::load_or_create(data_dir);
            }
            Err(source) => {
                return Err(TokenError::Io {
                    action: "create",
                    path,
                    source,
                });
            }
        };
        file.write_all(format!("{token}\n").as_bytes())
            .map_err(|source| TokenError::Io {
                action: "write",
                path: path.clone(),
                source,
            })?;
        tracing::info!("created an admin token in {}", path.display());
        Ok(Self(token))
    }

    /// The token itself, for clients that send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, in time independent of where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Equality whose time does not depend on the contents: both sides are hashed first, so the
/// lengths do not leak either.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let a = digest::digest(&digest::SHA256, a);
    let b = digest::digest(&digest::SHA256, b);
    let difference = a
        .as_ref()
        .iter()
        .zip(b.as_ref())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    difference == 0
}

/// Who made an authorised request (recorded on Promotions and in the event log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Actor(pub(crate) String);

/// Whether the request carries the admin token: `Some(true)` yes, `Some(false)` a wrong one,
/// `None` none at all.
pub(crate) fn presented(headers: &HeaderMap, token: &AdminToken) -> Option<bool> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Some(false);
    }
    Some(token.matches(credentials.trim()))
}

fn check(headers: &HeaderMap, token: &AdminToken) -> Result<Actor, Problem> {
    match presented(headers, token) {
        Some(true) => Ok(Actor("admin".to_owned())),
        Some(false) => Err(Problem::unauthorized("the bearer token is not valid")),
        None => Err(Problem::unauthorized(
            "this call needs `Authorization: Bearer <token>` (the token is in <data-dir>/admin-token)",
        )),
    }
}

/// Middleware of mutating routes: the token is required; the actor is added to the request.
pub(crate) async fn require_token(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    match check(request.headers(), &state.options.token) {
        Ok(actor) => {
            request.extensions_mut().insert(actor);
            next.run(request).await
        }
        Err(problem) => problem.into_response(),
    }
}

/// Middleware of read routes: the token is required unless reads are open; a wrong token is
/// refused even then.
pub(crate) async fn require_read(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    let outcome = check(request.headers(), &state.options.token);
    match outcome {
        Ok(actor) => {
            request.extensions_mut().insert(actor);
            next.run(request).await
        }
        Err(_)
            if state.options.open_reads
                && !request.headers().contains_key(header::AUTHORIZATION) =>
        {
            next.run(request).await
        }
        Err(problem) => problem.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_is_64_hex_characters_in_a_private_file_and_read_back_later() {
        let dir = tempfile::tempdir().unwrap();
        let token = AdminToken::load_or_create(dir.path()).unwrap();
        assert_eq!(token.expose().len(), 64);
        assert!(token.expose().chars().all(|c| c.is_ascii_hexdigit()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs_err::metadata(AdminToken::path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(AdminToken::load_or_create(dir.path()).unwrap(), token);
    }

    #[test]
    fn tokens_compare_equal_only_when_identical_and_never_print() {
        let token = AdminToken::new("abc123");
        assert!(token.matches("abc123"));
        assert!(!token.matches("abc124"));
        assert!(!token.matches("abc12"));
        assert!(!token.matches(""));
        assert_eq!(format!("{token:?}"), "AdminToken(***)");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_other_schemes_are_wrong() {
        let token = AdminToken::new("t0k");
        let mut headers = HeaderMap::new();
        assert_eq!(presented(&headers, &token), None);
        headers.insert(header::AUTHORIZATION, "bearer t0k".parse().unwrap());
        assert_eq!(presented(&headers, &token), Some(true));
        headers.insert(header::AUTHORIZATION, "Basic t0k".parse().unwrap());
        assert_eq!(presented(&headers, &token), Some(false));
        headers.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert_eq!(presented(&headers, &token), Some(false));
    }
}
