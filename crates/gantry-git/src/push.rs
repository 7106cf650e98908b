//! Pushing a worktree, with Kargo's `git-push` semantics.
//!
//! A branch push sends `HEAD:refs/heads/<branch>` straight to the remote URL (not through the
//! mirror's `origin`, so the mirror's shared refs are only ever written under the mirror lock).
//! When the remote moved on, the push is rejected as non-fast-forward: the worktree fetches the
//! branch into its own `FETCH_HEAD`, rebases onto it and tries again, up to `max_attempts` pushes.
//! A rebase conflict aborts the rebase and fails for good. Force pushes and tag pushes are sent
//! once, without integration.
//!
//! Pushes to one (repository, branch) are serialised across threads and processes, so promotions
//! of one gantry never race each other: a rejection under the lock means a pusher outside gantry
//! (or a predecessor in the queue) moved the branch. The first retry is therefore immediate;
//! later ones wait with exponential backoff and jitter ([`Backoff`]).

use std::thread;
use std::time::Duration;

use crate::error::{Failure, GitError, Result, classify, failure_kind};
use crate::git::random_fraction;
use crate::mirror::{check_ref_name, mirror_name};
use crate::secret::Credentials;
use crate::worktree::Worktree;

/// Waiting between push attempts: `initial × factor^n`, capped at `max`, plus up to
/// `jitter × delay` at random.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first wait (default 100 ms).
    pub initial: Duration,
    /// Growth per retry (default 1.5).
    pub factor: f64,
    /// Random extra, as a fraction of the wait (default 0.5).
    pub jitter: f64,
    /// The longest wait before jitter (default 30 s).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            factor: 1.5,
            jitter: 0.5,
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait before retry number `retry` (0 for the first backed-off retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        let base = self
            .initial
            .mul_f64(self.factor.max(1.0).powi(exponent).min(1e9))
            .min(self.max);
        base.mul_f64(1.0 + self.jitter.max(0.0) * random_fraction())
    }
}

/// How to push a worktree.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The branch to push to; `None` pushes to the branch the worktree tracks.
    pub target_branch: Option<String>,
    /// Push this tag (made with [`Worktree::tag`]) instead of a branch.
    pub tag: Option<String>,
    /// Overwrite the remote ref, without integrating remote changes.
    pub force: bool,
    /// How many pushes to try when the remote moved on (default 10; at least 1).
    pub max_attempts: u32,
    /// Credentials; `None` uses the worktree's.
    pub credentials: Option<Credentials>,
    /// Waiting between attempts.
    pub backoff: Backoff,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            target_branch: None,
            tag: None,
            force: false,
            max_attempts: 10,
            credentials: None,
            backoff: Backoff::default(),
        }
    }
}

/// What [`Worktree::push`] pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// The branch pushed to (`None` for a tag push).
    pub branch: Option<String>,
    /// The tag pushed, for a tag push.
    pub tag: Option<String>,
    /// The commit the remote ref now names (after any rebase).
    pub commit: String,
}

impl Worktree {
    /// Pushes `HEAD` to a branch (or pushes a tag), integrating remote changes by rebase.
    ///
    /// Guarantees: on success the remote branch contains the worktree's commits and `commit` is
    /// the worktree's `HEAD`. On [`GitError::RebaseConflict`] the worktree is back where it was.
    /// Caveat: after a rebase `HEAD` differs from the commit [`Worktree::commit`] returned.
    pub fn push(&self, options: &PushOptions) -> Result<PushOutcome> {
        let credentials = options
            .credentials
            .as_ref()
            .or(self.remote.credentials.as_ref());
        // Until this push ends, whatever its outcome, no fetch of the mirror tells the remote's
        // state (for a branch push: from the moment it holds the branch's lock).
        let mirror = mirror_name(&self.mirror);
        if let Some(tag) = &options.tag {
            let _push = self.git.begin_push(&mirror);
            return self.push_tag(tag, options.force, credentials);
        }
        let branch = options
            .target_branch
            .clone()
            .or_else(|| self.branch.clone())
            .ok_or_else(|| GitError::NoBranch {
                path: self.path.clone(),
            })?;
        check_ref_name("refs/heads/", &branch)?;
        let reference = format!("refs/heads/{branch}");
        let _lock = self.git.push_lock(&self.remote.key, &branch)?;
        let _push = self.git.begin_push(&mirror);
        let max_attempts = options.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut push = self.command("push").args(["push", "--quiet"]);
            if options.force {
                push = push.arg("--force");
            }
            let output = push
                .arg("--")
                .arg(&self.remote.url)
                .arg(format!("HEAD:{reference}"))
                .credentials(credentials)
                .url(&self.remote.url)
                .output()?;
            if output.status.success() {
                return Ok(PushOutcome {
                    branch: Some(branch),
                    tag: None,
                    commit: self.head()?,
                });
            }
            let message = output.failure_message();
            if failure_kind(&message) != Failure::NonFastForward {
                return Err(classify("push", Some(&self.remote.url), message));
            }
            if options.force || attempt >= max_attempts {
                return Err(GitError::NonFastForward {
                    url: self.remote.url.clone(),
                    reference,
                    attempts: attempt,
                });
            }
            if attempt > 1 {
                thread::sleep(options.backoff.delay(attempt - 2));
            }
            self.integrate(&branch, &reference, credentials)?;
        }
    }

    /// Fetches the remote branch into this worktree's `FETCH_HEAD` and rebases onto it.
    fn integrate(
        &self,
        branch: &str,
        reference: &str,
        credentials: Option<&Credentials>,
    ) -> Result<()> {
        self.command("fetch")
            .args(["fetch", "--quiet", "--no-tags", "--"])
            .arg(&self.remote.url)
            .arg(reference)
            .credentials(credentials)
            .url(&self.remote.url)
            .run()?;
        let rebase = self
            .command("rebase")
            .args(["rebase", "--quiet", "--no-autostash", "FETCH_HEAD"])
            .credentials(credentials)
            .url(&self.remote.url)
            .output()?;
        if rebase.status.success() {
            return Ok(());
        }
        let message = rebase.failure_message();
        // Leave the worktree as it was; a failed abort changes nothing about the error.
        let _ignored = self
            .command("rebase --abort")
            .args(["rebase", "--abort"])
            .output();
        let conflict = {
            let stdout = String::from_utf8_lossy(&rebase.stdout);
            [message.as_str(), &stdout]
                .iter()
                .any(|text| text.contains("CONFLICT") || text.contains("could not apply"))
        };
        Err(if conflict {
            GitError::RebaseConflict {
                url: self.remote.url.clone(),
                branch: branch.to_owned(),
                stderr: message,
            }
        } else {
            GitError::Command {
                action: "rebase".into(),
                stderr: message,
            }
        })
    }

    fn push_tag(
        &self,
        tag: &str,
        force: bool,
        credentials: Option<&Credentials>,
    ) -> Result<PushOutcome> {
        check_ref_name("refs/tags/", tag)?;
        let reference = format!("refs/tags/{tag}");
        let mut push = self.command("push tag").args(["push", "--quiet"]);
        if force {
            push = push.arg("--force");
        }
        push.arg("--")
            .arg(&self.remote.url)
            .arg(format!("{reference}:{reference}"))
            .credentials(credentials)
            .url(&self.remote.url)
            .run()?;
        Ok(PushOutcome {
            branch: None,
            tag: Some(tag.to_owned()),
            commit: self.head()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_the_factor_up_to_the_cap_with_bounded_jitter() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            factor: 2.0,
            jitter: 0.5,
            max: Duration::from_secs(1),
        };
        for (retry, base) in [(0, 100), (1, 200), (2, 400), (10, 1000), (u32::MAX, 1000)] {
            let delay = backoff.delay(retry);
            let base = Duration::from_millis(base);
            assert!(
                delay >= base && delay <= base.mul_f64(1.5),
                "{retry}: {delay:?}"
            );
        }
    }
}
