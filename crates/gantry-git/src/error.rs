//! The one error type of the git adapter, and how git's stderr maps onto it.
//!
//! Every variant carries clean URLs (no userinfo) and redacted stderr only, so `Display` and
//! `Debug` are safe to log. [`GitError::is_transient`] tells the promotion engine whether
//! retrying the step later can help. [`classify`] reads git's (C-locale) stderr to pick the
//! variant; it is a heuristic, so unrecognised failures fall back to [`GitError::Command`].

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// What went wrong talking to git or a git remote.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// The remote refused the credentials, or needed some and none were given.
    #[error(
        "authentication to {url} failed: the credentials were missing or rejected; provide a \
         username and a password or token with write access for this repository (a git \
         credential Secret, or userinfo in the repoURL)"
    )]
    Auth {
        /// The repository, without userinfo.
        url: String,
    },
    /// The repository does not exist (or is hidden from these credentials).
    #[error("repository {url} not found")]
    RepositoryNotFound {
        /// The repository, without userinfo.
        url: String,
    },
    /// A branch asked for does not exist on the remote.
    #[error("branch `{branch}` does not exist in {url} (set `create: true` to create it)")]
    BranchNotFound {
        /// The repository, without userinfo.
        url: String,
        /// The missing branch.
        branch: String,
    },
    /// A tag or commit asked for does not exist in the mirror after fetching.
    #[error("`{reference}` does not name a commit in {url}")]
    RefNotFound {
        /// The repository, without userinfo.
        url: String,
        /// The tag or commit as given.
        reference: String,
    },
    /// A repository address that is neither a URL nor a path.
    #[error("`{url}` is not a git repository URL or path")]
    InvalidUrl {
        /// The address, without userinfo.
        url: String,
    },
    /// A push needs a branch and the worktree tracks none (it was checked out at a tag or commit).
    #[error("worktree {path} tracks no branch; give the push a target branch")]
    NoBranch {
        /// The worktree.
        path: PathBuf,
    },
    /// A sparse-checkout entry that is not a folder of the repository (a glob, or `..`).
    #[error("`{dir}` is not a folder of the repository (sparse checkouts take folders, not globs)")]
    InvalidSparseDir {
        /// The entry as given.
        dir: String,
    },
    /// A branch or tag name git would not accept.
    #[error("`{name}` is not a valid git branch or tag name")]
    InvalidRefName {
        /// The name as given.
        name: String,
    },
    /// The push was rejected because the remote moved on, and retries ran out.
    #[error(
        "push of `{reference}` to {url} was rejected as non-fast-forward after {attempts} attempt(s)"
    )]
    NonFastForward {
        /// The repository, without userinfo.
        url: String,
        /// The ref pushed (`refs/heads/main`).
        reference: String,
        /// How many pushes were tried.
        attempts: u32,
    },
    /// Integrating the remote's new commits before a push hit a conflict; the rebase was aborted.
    #[error("rebasing onto the new commits of `{branch}` in {url} hit a conflict: {stderr}")]
    RebaseConflict {
        /// The repository, without userinfo.
        url: String,
        /// The branch rebased onto.
        branch: String,
        /// git's report of the conflict (redacted).
        stderr: String,
    },
    /// A git process ran longer than the configured timeout and was killed.
    #[error("git {action} did not finish within {timeout:?} and was killed")]
    Timeout {
        /// What git was doing.
        action: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The remote could not be reached or failed on its side (DNS, connection, 5xx).
    #[error("git {action} could not talk to {url}: {stderr}")]
    Network {
        /// What git was doing.
        action: String,
        /// The repository, without userinfo.
        url: String,
        /// git's stderr (redacted).
        stderr: String,
    },
    /// A git command failed for another reason.
    #[error("git {action} failed: {stderr}")]
    Command {
        /// What git was doing.
        action: String,
        /// git's stderr (redacted).
        stderr: String,
    },
    /// The git program could not be started.
    #[error("failed to start `{program}` in {dir} (is git installed, does the folder exist?)")]
    Spawn {
        /// The program gantry tried to run.
        program: PathBuf,
        /// The working directory it was started in.
        dir: PathBuf,
        /// Why it did not start.
        #[source]
        source: io::Error,
    },
    /// A path is not a worktree gantry made.
    #[error("{path} is not a git worktree of a gantry mirror")]
    NotAWorktree {
        /// The path given.
        path: PathBuf,
    },
    /// A file system operation failed.
    #[error("failed to {action}")]
    Io {
        /// What was being done, with the path.
        action: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// Result of git adapter operations.
pub type Result<T, E = GitError> = std::result::Result<T, E>;

impl GitError {
    /// Whether retrying the same operation later may succeed: network failures, timeouts and
    /// pushes that lost every race. Authentication, missing repositories or refs, conflicts and
    /// command errors are terminal.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::Network { .. } | Self::NonFastForward { .. }
        )
    }

    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}

/// How a failed git command's stderr reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Auth,
    NotFound,
    NonFastForward,
    Network,
    Other,
}

/// Reads git's stderr (C locale) and says what kind of failure it reports.
pub(crate) fn failure_kind(stderr: &str) -> Failure {
    let text = stderr.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|needle| text.contains(needle));
    if any(&[
        "authentication failed",
        "could not read username",
        "could not read password",
        "returned error: 401",
        "returned error: 403",
        "http basic: access denied",
        "invalid username or password",
        "permission denied (publickey",
    ]) {
        Failure::Auth
    } else if any(&[
        "returned error: 404",
        "repository not found",
        "does not appear to be a git repository",
    ]) || (text.contains("repository") && text.contains("not found"))
    {
        Failure::NotFound
    } else if text.contains("[rejected]")
        && any(&["(fetch first)", "(non-fast-forward)", "(stale info)"])
    {
        Failure::NonFastForward
    } else if any(&[
        "could not resolve host",
        "could not resolve proxy",
        "connection refused",
        "connection timed out",
        "connection reset",
        "failed to connect",
        "network is unreachable",
        "operation timed out",
        "returned error: 5",
        "rpc failed",
        "early eof",
        "remote end hung up unexpectedly",
        "gnutls_handshake",
        "ssl_connect",
        "ssl_read",
        "unexpected tls packet",
    ]) {
        Failure::Network
    } else {
        Failure::Other
    }
}

/// The error for a failed git command, from its redacted stderr.
pub(crate) fn classify(action: &str, url: Option<&str>, stderr: String) -> GitError {
    let url = url.unwrap_or("the repository").to_owned();
    match failure_kind(&stderr) {
        Failure::Auth => GitError::Auth { url },
        Failure::NotFound => GitError::RepositoryNotFound { url },
        Failure::NonFastForward => GitError::NonFastForward {
            url,
            reference: String::new(),
            attempts: 1,
        },
        Failure::Network => GitError::Network {
            action: action.to_owned(),
            url,
            stderr,
        },
        Failure::Other => GitError::Command {
            action: action.to_owned(),
            stderr,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_of_common_failures_is_classified() {
        let cases = [
            (
                "fatal: Authentication failed for 'http://127.0.0.1:1/r.git/'",
                Failure::Auth,
            ),
            (
                "fatal: could not read Username for 'https://h': terminal prompts disabled",
                Failure::Auth,
            ),
            (
                "fatal: unable to access 'https://h/r/': The requested URL returned error: 403",
                Failure::Auth,
            ),
            (
                "remote: Repository not found.\nfatal: repository 'https://h/r/' not found",
                Failure::NotFound,
            ),
            (
                "fatal: '/tmp/nope' does not appear to be a git repository",
                Failure::NotFound,
            ),
            (
                " ! [rejected]        HEAD -> main (fetch first)\nerror: failed to push some refs",
                Failure::NonFastForward,
            ),
            (
                "fatal: unable to access 'https://h/': Could not resolve host: h",
                Failure::Network,
            ),
            (
                "error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502",
                Failure::Network,
            ),
            ("fatal: bad revision 'nope'", Failure::Other),
        ];
        for (stderr, expected) in cases {
            assert_eq!(failure_kind(stderr), expected, "{stderr}");
        }
    }

    #[test]
    fn only_network_failures_timeouts_and_lost_races_are_transient() {
        let network = classify("fetch", Some("https://h/r"), "Connection refused".into());
        assert!(network.is_transient());
        let auth = classify("fetch", Some("https://h/r"), "Authentication failed".into());
        assert!(!auth.is_transient());
        assert!(
            !GitError::RebaseConflict {
                url: String::new(),
                branch: "main".into(),
                stderr: String::new()
            }
            .is_transient()
        );
    }
}
