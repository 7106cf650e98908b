//! Warehouse discovery for git subscriptions: which commits (or tags) a subscription currently
//! selects, as Kargo's git subscriber finds them, from a cached mirror instead of a fresh clone.
//!
//! ```text
//!  ls-remote (1 round trip) ──► refs equal to previous.observedRefs? ──yes──► previous commits
//!          │ no                                                               (no fetch)
//!          ▼
//!  Git::mirror (fetch) ──► NewestFromBranch: first-parent log in batches (limit, doubling to
//!                          │                 1000) with changed paths: since, expressionFilter,
//!                          │                 includePaths/excludePaths, stop at discoveryLimit
//!                          └► SemVer / Lexical / NewestTag: tags on the remote ──► allow/ignore
//!                             (+ semver + constraint) ──► expressionFilter ──► order ──► path
//!                             filters on the tagged commit ──► discoveryLimit
//! ```
//!
//! Where to start: [`Git::discover`]. The pure rules live in gantry-core:
//! [`gantry_core::selection::GitTagSelection`] (tag filters and orders),
//! [`gantry_core::path_filter`] and [`gantry_core::commit_filter`].
//!
//! Differences from Kargo, all deliberate:
//! - history comes from the shared bare mirror (one `fetch` of every branch and tag) rather than
//!   a `--single-branch` clone per discovery, and changed paths come from the same `git log` as
//!   the commits instead of one `git show` per commit;
//! - only tags the remote still has count (a mirror keeps tags deleted upstream);
//! - an `ls-remote` failure fails the discovery at once (Kargo falls through to the clone, which
//!   fails the same way);
//! - `commitDate`/`creatorDate` are RFC 3339 strings in `expressionFilter` (see
//!   [`gantry_core::commit_filter`]).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, UNIX_EPOCH};

use gantry_api::kargo::{
    DiscoveredCommit, GitDiscoveryResult, GitSubscription, ObservedRefs, ObservedTag,
};
use gantry_core::commit_filter::{
    CommitFacts, ExpressionFilter, ExpressionFilterError, TagFacts, shorten_subject,
};
use gantry_core::path_filter::{PathFilter, PathFilterError};
use gantry_core::selection::{GitTagSelection, SelectionError, discovery_limit};

use crate::error::GitError;
use crate::git::{Git, MirrorOptions, RemoteRefs};
use crate::history::{LogOptions, TagInfo};
use crate::mirror::Mirror;
use crate::secret::{Credentials, split_credentials};

/// Above this many matching tags, refs are not recorded and discovery never short-circuits
/// (Kargo's cap, which keeps `observedRefs` small in the Warehouse status).
pub const MAX_OBSERVED_TAGS: usize = 1000;

/// The largest batch of commits read from a branch at once (Kargo's cap).
const MAX_LOG_BATCH: usize = 1000;

/// The smallest first batch when filters may drop commits. Kargo starts at `discoveryLimit`
/// because it runs one `git show` per commit; here paths come with the log, and starting a git
/// process costs more than reading a hundred commits.
const MIN_FILTERED_BATCH: usize = 100;

/// Why a git subscription could not be discovered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The strategy, tag filters, semver constraint or `discoveryLimit` are invalid.
    #[error(transparent)]
    Selection(#[from] SelectionError),
    /// `includePaths` or `excludePaths` holds a selector that does not compile.
    #[error(transparent)]
    PathFilter(#[from] PathFilterError),
    /// `expressionFilter` does not compile, or failed or was not a boolean for a candidate.
    #[error(transparent)]
    Expression(#[from] ExpressionFilterError),
    /// `since` is not an RFC 3339 time.
    #[error("`since` (`{value}`) is not an RFC 3339 time")]
    InvalidSince {
        /// The value found.
        value: String,
    },
    /// `branch` is not a name Kargo accepts.
    #[error(
        "`branch` (`{branch}`) is not a valid branch name (1-255 letters, digits, `.`, `_`, `/`, \
         `-`; starting with a letter or digit)"
    )]
    InvalidBranch {
        /// The value found.
        branch: String,
    },
    /// The subscribed branch is not on the remote.
    #[error("branch `{branch}` does not exist in {url}")]
    BranchNotFound {
        /// The repository, without userinfo.
        url: String,
        /// The branch.
        branch: String,
    },
    /// `branch` is empty and the remote's `HEAD` names no branch.
    #[error("{url} has no default branch (its HEAD names none): set `branch`")]
    NoDefaultBranch {
        /// The repository, without userinfo.
        url: String,
    },
    /// Talking to git or the remote failed.
    #[error(transparent)]
    Git(#[from] GitError),
}

impl DiscoveryError {
    /// Whether trying again later may help (network trouble, timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Git(error) if error.is_transient())
    }
}

/// What one discovery cost, for logs, metrics and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryStats {
    /// The remote's refs had not moved: the previous commits were reused, nothing was fetched.
    pub short_circuited: bool,
    /// `git ls-remote` round trips (1 per discovery).
    pub ls_remote_calls: u32,
    /// Whether the mirror was cloned or fetched.
    pub fetched: bool,
    /// `git log` batches read from the branch (`NewestFromBranch`).
    pub log_batches: u32,
    /// Commits read from the branch, before filtering.
    pub commits_read: usize,
    /// Tags listed in the mirror, before filtering.
    pub tags_read: usize,
    /// Wall time of the whole discovery.
    pub elapsed: Duration,
}

/// The outcome of [`Git::discover`].
#[derive(Debug, Clone)]
pub struct GitDiscovery {
    /// Kargo's `status.discoveredArtifacts.git[]` entry: commits best first, and the refs seen.
    pub result: GitDiscoveryResult,
    /// What it cost.
    pub stats: DiscoveryStats,
}

/// A subscription with every setting checked and compiled, before anything touches the network.
struct Plan<'a> {
    limit: usize,
    paths: PathFilter,
    expression: Option<ExpressionFilter>,
    /// `None` for `NewestFromBranch`.
    tags: Option<GitTagSelection>,
    since: Option<i64>,
    branch: Option<&'a str>,
}

impl Git {
    /// Discovers what `subscription` selects right now.
    ///
    /// `subscription_name` is recorded in the result; `credentials` (or userinfo in `repoURL`)
    /// authenticate; `previous` is this subscription's result from the last discovery, if any.
    ///
    /// Guarantees: every setting is checked before the first network call; the remote is asked
    /// exactly once with `git ls-remote`, and when the refs the subscription cares about (the
    /// branch head, or the name and object of every tag passing the name filters) equal
    /// `previous.observedRefs` for the same `repoURL`, the previous commits are returned
    /// without fetching. Otherwise the mirror is fetched and the commits are selected afresh.
    /// Commits are ordered best first and never exceed `discoveryLimit`; an empty list is a
    /// valid result (nothing matched), not an error.
    ///
    /// Assumptions: `previous` was discovered for this subscription as it is now; like Kargo,
    /// which only reuses a result of the same Warehouse generation, the caller drops `previous`
    /// when the subscription changed (a new `includePaths` does not move any ref).
    ///
    /// Caveat: the refs are observed just before the fetch, so a push in between yields commits
    /// newer than `observedRefs`; the next discovery sees different refs and selects again.
    pub fn discover(
        &self,
        subscription: &GitSubscription,
        subscription_name: Option<&str>,
        credentials: Option<&Credentials>,
        previous: Option<&GitDiscoveryResult>,
    ) -> Result<GitDiscovery, DiscoveryError> {
        let started = Instant::now();
        let plan = Plan::new(subscription)?;
        let mut stats = DiscoveryStats::default();
        let url = &subscription.repo_url;
        let clean_url = split_credentials(url.trim()).0;

        let patterns: Vec<String> = match (&plan.tags, plan.branch) {
            (Some(_), _) => vec!["refs/tags/*".to_owned()],
            (None, Some(branch)) => vec![format!("refs/heads/{branch}")],
            (None, None) => vec!["HEAD".to_owned()],
        };
        let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let remote = self.ls_remote_refs(url, credentials, &patterns)?;
        stats.ls_remote_calls += 1;
        let observed = plan.observe(&remote);

        let unchanged = previous.filter(|previous| {
            previous.repo_url == *url
                && observed.is_some()
                && previous.observed_refs.as_ref() == observed.as_ref()
        });
        let commits = if let Some(previous) = unchanged {
            stats.short_circuited = true;
            previous.commits.clone()
        } else {
            let mirror = self.mirror_with(
                url,
                credentials,
                MirrorOptions {
                    blobless: subscription.blobless,
                    reuse_recent_fetch: false,
                },
            )?;
            stats.fetched = true;
            plan.select(&mirror, &remote, &clean_url, &mut stats)?
        };
        stats.elapsed = started.elapsed();
        Ok(GitDiscovery {
            result: GitDiscoveryResult {
                repo_url: url.clone(),
                subscription_name: subscription_name.map(str::to_owned),
                commits,
                observed_refs: observed,
            },
            stats,
        })
    }
}

impl<'a> Plan<'a> {
    fn new(subscription: &'a GitSubscription) -> Result<Self, DiscoveryError> {
        let tags = GitTagSelection::for_subscription(subscription)?;
        let limit = discovery_limit(subscription.discovery_limit)?;
        let paths = PathFilter::new(&subscription.include_paths, &subscription.exclude_paths)?;
        let expression = ExpressionFilter::compile(subscription.expression_filter.as_deref())?;
        let since = match subscription.since.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(value) => Some(
                gantry_api::time::parse_rfc3339(value)
                    .map(unix_seconds)
                    .ok_or_else(|| DiscoveryError::InvalidSince {
                        value: value.to_owned(),
                    })?,
            ),
        };
        let branch = subscription.branch.as_deref().filter(|b| !b.is_empty());
        if let Some(branch) = branch
            && !valid_branch(branch)
        {
            return Err(DiscoveryError::InvalidBranch {
                branch: branch.to_owned(),
            });
        }
        Ok(Self {
            limit,
            paths,
            expression,
            tags,
            since,
            branch,
        })
    }

    /// Whether a tag's name passes the strategy's name rules (filters, and semver + constraint
    /// for `SemVer`).
    fn tag_matches(&self, name: &str) -> bool {
        match &self.tags {
            Some(GitTagSelection::Tags { selector, .. }) => selector.matches(name),
            Some(GitTagSelection::NewestTag { filter, .. }) => filter.matches(name),
            None => false,
        }
    }

    /// The refs to remember, as Kargo records them: the branch head, or every tag passing the
    /// name rules with the object its ref points at, sorted by name; `None` when the branch is
    /// missing or there are too many tags, so that nothing is ever reused.
    fn observe(&self, remote: &RemoteRefs) -> Option<ObservedRefs> {
        if self.tags.is_none() {
            let name = match self.branch {
                Some(branch) => format!("refs/heads/{branch}"),
                None => "HEAD".to_owned(),
            };
            return remote.get(&name).map(|head| ObservedRefs {
                branch_head: Some(head.id.clone()),
                tags: Vec::new(),
            });
        }
        let mut tags: Vec<ObservedTag> = remote
            .refs
            .iter()
            .filter_map(|reference| {
                let name = reference.name.strip_prefix("refs/tags/")?;
                self.tag_matches(name).then(|| ObservedTag {
                    name: name.to_owned(),
                    id: reference.id.clone(),
                })
            })
            .collect();
        if tags.len() > MAX_OBSERVED_TAGS {
            return None;
        }
        tags.sort_by(|a, b| a.name.cmp(&b.name));
        Some(ObservedRefs {
            branch_head: None,
            tags,
        })
    }

    /// Selects from a freshly fetched mirror.
    fn select(
        &self,
        mirror: &Mirror,
        remote: &RemoteRefs,
        clean_url: &str,
        stats: &mut DiscoveryStats,
    ) -> Result<Vec<DiscoveredCommit>, DiscoveryError> {
        if let Some(selection) = &self.tags {
            return self.select_tags(mirror, selection, remote, stats);
        }
        let branch = match (self.branch, remote.default_branch()) {
            (Some(branch), _) | (None, Some(branch)) => branch.to_owned(),
            (None, None) => {
                mirror
                    .default_branch()?
                    .ok_or_else(|| DiscoveryError::NoDefaultBranch {
                        url: clean_url.to_owned(),
                    })?
            }
        };
        self.select_commits(mirror, &branch, stats)
    }

    /// `NewestFromBranch`: walk the branch's first-parent history newest first, in batches
    /// doubling up to 1000 commits, until `discoveryLimit` commits pass.
    fn select_commits(
        &self,
        mirror: &Mirror,
        branch: &str,
        stats: &mut DiscoveryStats,
    ) -> Result<Vec<DiscoveredCommit>, DiscoveryError> {
        let head = mirror
            .resolve(&format!("refs/heads/{branch}"))?
            .ok_or_else(|| DiscoveryError::BranchNotFound {
                url: mirror.url().to_owned(),
                branch: branch.to_owned(),
            })?;
        let filtered = !self.paths.is_empty() || self.expression.is_some();
        let mut selected = Vec::with_capacity(self.limit);
        let mut start = head;
        let mut batch = if filtered {
            self.limit.max(MIN_FILTERED_BATCH)
        } else {
            self.limit
        };
        loop {
            let options = LogOptions {
                max_count: batch,
                since: self.since,
                changed_paths: !self.paths.is_empty(),
            };
            let commits = mirror.log(&start, &options)?;
            stats.log_batches += 1;
            stats.commits_read += commits.len();
            for commit in &commits {
                let date = rfc3339(commit.time);
                if filtered {
                    let facts = CommitFacts {
                        id: &commit.id,
                        commit_date: &date,
                        author: &commit.author,
                        committer: &commit.committer,
                        subject: &commit.subject,
                    };
                    if let Some(expression) = &self.expression
                        && !expression.accepts_commit(&facts)?
                    {
                        continue;
                    }
                    if let Some(paths) = &commit.paths
                        && !self.paths.matches_any(paths)
                    {
                        continue;
                    }
                }
                selected.push(DiscoveredCommit {
                    id: commit.id.clone(),
                    // Kargo records the subscription's `branch`, empty when it follows HEAD.
                    branch: self.branch.map(str::to_owned),
                    tag: None,
                    subject: Some(shorten_subject(&commit.subject)),
                    author: Some(commit.author.clone()),
                    committer: Some(commit.committer.clone()),
                    creator_date: Some(date),
                });
                if selected.len() >= self.limit {
                    return Ok(selected);
                }
            }
            // A short batch is the end of the history (or of `since`); otherwise continue from
            // the last commit's first parent.
            let next = commits
                .last()
                .filter(|_| commits.len() == batch)
                .and_then(|last| last.parents.first());
            let Some(next) = next else {
                return Ok(selected);
            };
            start.clone_from(next);
            batch = (batch * 2).min(MAX_LOG_BATCH);
        }
    }

    /// `SemVer`, `Lexical` and `NewestTag`.
    fn select_tags(
        &self,
        mirror: &Mirror,
        selection: &GitTagSelection,
        remote: &RemoteRefs,
        stats: &mut DiscoveryStats,
    ) -> Result<Vec<DiscoveredCommit>, DiscoveryError> {
        let on_remote: HashSet<&str> = remote
            .refs
            .iter()
            .filter_map(|reference| reference.name.strip_prefix("refs/tags/"))
            .collect();
        let all = mirror.tags()?;
        stats.tags_read = all.len();
        let mut candidates: Vec<TagInfo> = Vec::new();
        for tag in all {
            if !on_remote.contains(tag.name.as_str()) || !self.tag_matches(&tag.name) {
                continue;
            }
            if let Some(expression) = &self.expression {
                let date = rfc3339(tag.creator_time);
                let facts = TagFacts {
                    tag: &tag.name,
                    id: &tag.commit_id,
                    creator_date: &date,
                    author: &tag.author,
                    committer: &tag.committer,
                    subject: &tag.subject,
                    tagger: tag.tagger.as_deref().unwrap_or_default(),
                    annotation: tag.annotation.as_deref().unwrap_or_default(),
                };
                if !expression.accepts_tag(&facts)? {
                    continue;
                }
            }
            candidates.push(tag);
        }

        // `NewestTag` keeps git's order (creator date, newest first; ties by name).
        if let GitTagSelection::Tags { selector, .. } = selection {
            let order: Vec<usize> = {
                let index: HashMap<&str, usize> = candidates
                    .iter()
                    .enumerate()
                    .map(|(position, tag)| (tag.name.as_str(), position))
                    .collect();
                let names: Vec<&str> = index.keys().copied().collect();
                selector
                    .select(&names)
                    .into_iter()
                    .filter_map(|name| index.get(name).copied())
                    .collect()
            };
            let mut slots: Vec<Option<TagInfo>> = candidates.into_iter().map(Some).collect();
            candidates = order
                .into_iter()
                .filter_map(|position| slots.get_mut(position).and_then(Option::take))
                .collect();
        }

        let mut selected = Vec::with_capacity(self.limit);
        if self.paths.is_empty() {
            selected.extend(candidates.into_iter().take(self.limit));
        } else {
            // The paths of the tagged commits, in chunks, until enough tags pass.
            let chunk_size = self.limit.max(50);
            for chunk in candidates.chunks(chunk_size) {
                let ids: Vec<&str> = chunk.iter().map(|tag| tag.commit_id.as_str()).collect();
                let paths = mirror.changed_paths(&ids)?;
                for tag in chunk {
                    let changed = paths.get(&tag.commit_id).map_or(&[][..], Vec::as_slice);
                    if self.paths.matches_any(changed) {
                        selected.push(tag.clone());
                        if selected.len() >= self.limit {
                            break;
                        }
                    }
                }
                if selected.len() >= self.limit {
                    break;
                }
            }
        }
        Ok(selected
            .into_iter()
            .map(|tag| DiscoveredCommit {
                id: tag.commit_id,
                branch: None,
                subject: Some(shorten_subject(&tag.subject)),
                author: Some(tag.author),
                committer: Some(tag.committer),
                creator_date: Some(rfc3339(tag.creator_time)),
                tag: Some(tag.name),
            })
            .collect())
    }
}

/// Kargo's branch pattern `^[a-zA-Z0-9]([a-zA-Z0-9._\/-]*[a-zA-Z0-9_-])?$`, 1 to 255 characters.
fn valid_branch(branch: &str) -> bool {
    let bytes = branch.as_bytes();
    let middle = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-');
    match bytes {
        [] => false,
        _ if bytes.len() > 255 => false,
        [only] => only.is_ascii_alphanumeric(),
        [first, inner @ .., last] => {
            first.is_ascii_alphanumeric()
                && inner.iter().all(middle)
                && (last.is_ascii_alphanumeric() || matches!(last, b'_' | b'-'))
        }
    }
}

fn unix_seconds(time: std::time::SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Unix seconds as RFC 3339 in UTC, the way Kubernetes serialises `metav1.Time`.
fn rfc3339(seconds: i64) -> String {
    let time = if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    };
    gantry_api::time::format_rfc3339(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(json: &str) -> GitSubscription {
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        value["repoURL"] = "https://example.com/repo.git".into();
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn branch_names_follow_kargos_pattern() {
        for good in ["main", "release/1.x", "a", "feature-1_", "v1.2"] {
            assert!(valid_branch(good), "{good}");
        }
        for bad in ["", "-x", "x.", "x/", "with space", "ä", &"a".repeat(256)] {
            assert!(!valid_branch(bad), "{bad}");
        }
    }

    #[test]
    fn settings_are_checked_before_any_network_call() {
        let error = |json: &str| Plan::new(&subscription(json)).err().unwrap().to_string();
        assert_eq!(
            error(r#"{"includePaths": ["glob:["]}"#),
            "`includePaths[0]` (`glob:[`) is not a valid glob pattern"
        );
        assert_eq!(
            error(r#"{"since": "yesterday"}"#),
            "`since` (`yesterday`) is not an RFC 3339 time"
        );
        assert!(error(r#"{"branch": "-rf"}"#).starts_with("`branch` (`-rf`) is not a valid"));
        assert!(error(r#"{"expressionFilter": "id =="}"#).starts_with("`expressionFilter`"));
        assert_eq!(
            error(r#"{"discoveryLimit": 0}"#),
            "`discoveryLimit` must be between 1 and 100, found 0"
        );
        assert_eq!(
            error(r#"{"commitSelectionStrategy": "Oldest"}"#),
            "unknown commitSelectionStrategy `Oldest`"
        );
    }

    #[test]
    fn observed_tags_pass_the_name_rules_sorted_by_name_with_tag_object_ids() {
        let semver =
            subscription(r#"{"commitSelectionStrategy": "SemVer", "semverConstraint": "^1"}"#);
        let plan = Plan::new(&semver).unwrap();
        let remote = RemoteRefs::parse(
            "t2\trefs/tags/v1.2.0\nc2\trefs/tags/v1.2.0^{}\nc1\trefs/tags/v1.10.0\n\
             c3\trefs/tags/v2.0.0\nc4\trefs/tags/latest\nc5\trefs/heads/main\n",
        );
        let observed = plan.observe(&remote).unwrap();
        assert_eq!(observed.branch_head, None);
        let tags: Vec<(&str, &str)> = observed
            .tags
            .iter()
            .map(|tag| (tag.name.as_str(), tag.id.as_str()))
            .collect();
        assert_eq!(tags, [("v1.10.0", "c1"), ("v1.2.0", "t2")]);
    }

    #[test]
    fn too_many_tags_or_a_missing_branch_are_not_observed() {
        let lexical = subscription(r#"{"commitSelectionStrategy": "Lexical"}"#);
        let plan = Plan::new(&lexical).unwrap();
        let many: Vec<String> = (0..=MAX_OBSERVED_TAGS)
            .map(|n| format!("c{n}\trefs/tags/t{n}"))
            .collect();
        let many = many.join("\n");
        assert!(plan.observe(&RemoteRefs::parse(&many)).is_none());

        let dev = subscription(r#"{"branch": "dev"}"#);
        let branch = Plan::new(&dev).unwrap();
        assert!(
            branch
                .observe(&RemoteRefs::parse("c\trefs/heads/main\n"))
                .is_none()
        );
        let observed = branch
            .observe(&RemoteRefs::parse("c\trefs/heads/dev\n"))
            .unwrap();
        assert_eq!(observed.branch_head.as_deref(), Some("c"));
    }

    #[test]
    fn times_print_as_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_secs(5)), 5);
    }
}
