//! Which tags a subscription picks and in which order: Kargo's image selection strategies
//! (`SemVer`, `Lexical`, `NewestBuild`, `Digest`) and the tag strategies of git subscriptions
//! (`SemVer`, `Lexical`, `NewestTag`), as pure functions over tag names and, for the date-based
//! strategies, the times the caller fetched.
//!
//! ```text
//!  tag list ──► TagFilter (ignore regexes win, then allow regexes)
//!                 ├─► TagSelector::select   SemVer: parse (+strict), constraint, semver desc, ties by tag desc
//!                 │                         Lexical: tag desc (byte order)
//!                 └─► newest_first          NewestBuild / NewestTag: time desc, ties by tag desc
//! ```
//!
//! Where to start: [`ImageSelection::for_subscription`] and [`GitTagSelection::for_subscription`]
//! turn a subscription into a plan; the registry and git adapters do the fetching. For `SemVer`
//! and `Lexical`, Kargo fetches manifests in [`TagSelector::select`] order until `limit` images
//! match the platform, so the limit is applied by the caller after that fetch, not here.
//! Regular expressions use the `regex` crate (RE2 syntax, unanchored like Go's `MatchString`);
//! its `\d`, `\w` and `\s` also match non-ASCII characters, which Go's do not.

use std::cmp::Ordering;
use std::time::SystemTime;

use gantry_api::kargo::{
    CommitSelectionStrategy, GitSubscription, ImageSelectionStrategy, ImageSubscription,
};
use gantry_api::semver::{Constraint, ConstraintError, Version};
use regex::Regex;

/// `discoveryLimit` when a subscription sets none.
pub const DEFAULT_DISCOVERY_LIMIT: usize = 20;

/// Largest `discoveryLimit` Kargo accepts.
pub const MAX_DISCOVERY_LIMIT: usize = 100;

/// Why a subscription's selection settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    /// A tag regular expression does not compile.
    #[error("`{field}[{index}]` (`{pattern}`) is not a valid regular expression")]
    InvalidRegex {
        /// `allowTagsRegexes`, `ignoreTagsRegexes` or `allowTags`.
        field: &'static str,
        /// Position in the list (0 for `allowTags`).
        index: usize,
        /// The pattern.
        pattern: String,
        /// What the regex parser said.
        #[source]
        source: Box<regex::Error>,
    },
    /// The semver constraint does not parse.
    #[error("`{field}` is not a valid semver constraint")]
    InvalidConstraint {
        /// `constraint` or `semverConstraint`.
        field: &'static str,
        /// What is wrong with it.
        #[source]
        source: ConstraintError,
    },
    /// `discoveryLimit` outside 1..=100.
    #[error("`discoveryLimit` must be between 1 and {MAX_DISCOVERY_LIMIT}, found {value}")]
    DiscoveryLimit {
        /// The value found.
        value: i64,
    },
    /// A field Kargo refuses during image discovery since v1.11.
    #[error("`{field}` makes image discovery fail since Kargo v1.11: use `{replacement}`")]
    RemovedField {
        /// `allowTags` or `ignoreTags`.
        field: &'static str,
        /// The field to use instead.
        replacement: &'static str,
    },
    /// `Digest` without the tag to follow.
    #[error("the Digest strategy needs `constraint`: the mutable tag to follow")]
    MissingDigestTag,
    /// A strategy name Kargo does not know.
    #[error("unknown {field} `{value}`")]
    UnknownStrategy {
        /// `imageSelectionStrategy` or `commitSelectionStrategy`.
        field: &'static str,
        /// The value found.
        value: String,
    },
}

fn compile(field: &'static str, index: usize, pattern: &str) -> Result<Regex, SelectionError> {
    Regex::new(pattern).map_err(|source| SelectionError::InvalidRegex {
        field,
        index,
        pattern: pattern.to_owned(),
        source: Box::new(source),
    })
}

/// The allow and ignore rules shared by every tag-based strategy: a tag matching any ignore rule
/// is dropped; otherwise it is kept when there are no allow rules or it matches one of them.
#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    allow: Vec<Regex>,
    ignore: Vec<Regex>,
    ignore_exact: Vec<String>,
}

impl TagFilter {
    /// Compiles `allowTagsRegexes` and `ignoreTagsRegexes`.
    pub fn new(allow: &[String], ignore: &[String]) -> Result<Self, SelectionError> {
        let compile_all = |field, patterns: &[String]| {
            patterns
                .iter()
                .enumerate()
                .map(|(index, pattern)| compile(field, index, pattern))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            allow: compile_all("allowTagsRegexes", allow)?,
            ignore: compile_all("ignoreTagsRegexes", ignore)?,
            ignore_exact: Vec::new(),
        })
    }

    /// Adds the deprecated fields of git subscriptions: `allowTags` is one more allow regex
    /// (ignored when empty), `ignoreTags` lists tags dropped by exact name.
    pub fn with_legacy(
        mut self,
        allow_tags: Option<&str>,
        ignore_tags: &[String],
    ) -> Result<Self, SelectionError> {
        if let Some(pattern) = allow_tags.filter(|p| !p.is_empty()) {
            self.allow.push(compile("allowTags", 0, pattern)?);
        }
        self.ignore_exact.extend(ignore_tags.iter().cloned());
        Ok(self)
    }

    /// Whether `tag` passes.
    pub fn matches(&self, tag: &str) -> bool {
        if self.ignore_exact.iter().any(|ignored| ignored == tag)
            || self.ignore.iter().any(|regex| regex.is_match(tag))
        {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|regex| regex.is_match(tag))
    }
}

/// The `SemVer` strategy's test: the tag parses (strictly with `strict_semvers`, see
/// [`Version::parse_tag`]) and satisfies the constraint, if any.
#[derive(Clone, Debug, Default)]
pub struct SemverRule {
    constraint: Option<Constraint>,
    strict: bool,
}

impl SemverRule {
    /// A rule with an already parsed constraint.
    pub fn new(constraint: Option<Constraint>, strict: bool) -> Self {
        Self { constraint, strict }
    }

    /// Parses the constraint of a subscription field; empty or absent means none.
    pub fn from_field(
        field: &'static str,
        constraint: Option<&str>,
        strict: bool,
    ) -> Result<Self, SelectionError> {
        let constraint = constraint
            .filter(|c| !c.is_empty())
            .map(Constraint::parse)
            .transpose()
            .map_err(|source| SelectionError::InvalidConstraint { field, source })?;
        Ok(Self { constraint, strict })
    }

    /// The tag's version when the tag qualifies.
    pub fn version(&self, tag: &str) -> Option<Version> {
        let version = Version::parse_tag(tag, self.strict).ok()?;
        self.constraint
            .as_ref()
            .is_none_or(|c| c.matches(&version))
            .then_some(version)
    }
}

/// Orders that need nothing but the tag names.
#[derive(Clone, Debug)]
pub enum TagOrder {
    /// Highest semantic version first; equal versions by tag, descending (`1.0.0` before `1.0`).
    SemVer(SemverRule),
    /// Greatest tag first, comparing bytes (`v10` sorts before `v9`).
    Lexical,
}

/// A filter and an order: what `SemVer` and `Lexical` do with a tag list.
#[derive(Clone, Debug)]
pub struct TagSelector {
    /// Allow and ignore rules.
    pub filter: TagFilter,
    /// How tags are ranked (and, for `SemVer`, which tags are versions at all).
    pub order: TagOrder,
}

impl TagSelector {
    /// Whether `tag` would be a candidate.
    pub fn matches(&self, tag: &str) -> bool {
        self.filter.matches(tag)
            && match &self.order {
                TagOrder::SemVer(rule) => rule.version(tag).is_some(),
                TagOrder::Lexical => true,
            }
    }

    /// The candidates among `tags`, best first. Nothing is truncated: the caller applies the
    /// discovery limit (after its platform check, for images).
    pub fn select<'t, S: AsRef<str>>(&self, tags: &'t [S]) -> Vec<&'t str> {
        let passing = tags
            .iter()
            .map(AsRef::as_ref)
            .filter(|tag| self.filter.matches(tag));
        match &self.order {
            TagOrder::SemVer(rule) => {
                let mut versions: Vec<(Version, &str)> = passing
                    .filter_map(|tag| Some((rule.version(tag)?, tag)))
                    .collect();
                versions
                    .sort_by(|(a, a_tag), (b, b_tag)| b.compare(a).then_with(|| b_tag.cmp(a_tag)));
                versions.into_iter().map(|(_, tag)| tag).collect()
            }
            TagOrder::Lexical => {
                let mut tags: Vec<&str> = passing.collect();
                tags.sort_unstable_by(|a, b| b.cmp(a));
                tags
            }
        }
    }
}

/// Sorts newest first by the time `key` gives (image build time for `NewestBuild`), equal times
/// by tag descending. Items without a time go last (Kargo assumes every image has one). Git's
/// `NewestTag` does not use this: it keeps git's own `--sort=-creatordate` order, where equal
/// dates fall back to tag names ascending, as in Kargo.
pub fn newest_first<T, F>(items: &mut [T], key: F)
where
    F: Fn(&T) -> (&str, Option<SystemTime>),
{
    items.sort_by(|a, b| {
        let (a_tag, a_time) = key(a);
        let (b_tag, b_time) = key(b);
        let newer = match (a_time, b_time) {
            (Some(a), Some(b)) => b.cmp(&a),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        newer.then_with(|| b_tag.cmp(a_tag))
    });
}

/// Checks a subscription's `discoveryLimit` (1..=100).
pub fn discovery_limit(value: i64) -> Result<usize, SelectionError> {
    usize::try_from(value)
        .ok()
        .filter(|limit| (1..=MAX_DISCOVERY_LIMIT).contains(limit))
        .ok_or(SelectionError::DiscoveryLimit { value })
}

/// What image discovery does for one subscription.
#[derive(Clone, Debug)]
pub enum ImageSelection {
    /// `SemVer` and `Lexical`: fetch manifests in [`TagSelector::select`] order until `limit`
    /// images match the platform.
    Tags {
        /// Filter and order.
        selector: TagSelector,
        /// `discoveryLimit`.
        limit: usize,
    },
    /// `NewestBuild`: fetch the build time of every tag the filter passes, order them with
    /// [`newest_first`], keep `limit`.
    NewestBuild {
        /// Allow and ignore rules.
        filter: TagFilter,
        /// `discoveryLimit`.
        limit: usize,
    },
    /// `Digest`: fetch the one mutable tag; a missing tag means no result, not an error.
    Digest {
        /// The tag to follow (`constraint`).
        tag: String,
    },
}

impl ImageSelection {
    /// The plan for an image subscription, with every setting checked as Kargo checks it.
    pub fn for_subscription(subscription: &ImageSubscription) -> Result<Self, SelectionError> {
        if subscription.allow_tags.is_some() {
            return Err(SelectionError::RemovedField {
                field: "allowTags",
                replacement: "allowTagsRegexes",
            });
        }
        if subscription.ignore_tags.is_some() {
            return Err(SelectionError::RemovedField {
                field: "ignoreTags",
                replacement: "ignoreTagsRegexes",
            });
        }
        let constraint = subscription.constraint.as_deref();
        match &subscription.image_selection_strategy {
            ImageSelectionStrategy::Digest => {
                let tag = constraint
                    .filter(|tag| !tag.is_empty())
                    .ok_or(SelectionError::MissingDigestTag)?;
                Ok(Self::Digest {
                    tag: tag.to_owned(),
                })
            }
            ImageSelectionStrategy::Unknown(value) => Err(SelectionError::UnknownStrategy {
                field: "imageSelectionStrategy",
                value: value.clone(),
            }),
            strategy => {
                let limit = discovery_limit(subscription.discovery_limit)?;
                let filter = TagFilter::new(
                    &subscription.allow_tags_regexes,
                    &subscription.ignore_tags_regexes,
                )?;
                let order = match strategy {
                    ImageSelectionStrategy::Lexical => TagOrder::Lexical,
                    ImageSelectionStrategy::NewestBuild => {
                        return Ok(Self::NewestBuild { filter, limit });
                    }
                    _ => TagOrder::SemVer(SemverRule::from_field(
                        "constraint",
                        constraint,
                        subscription.strict_semvers,
                    )?),
                };
                Ok(Self::Tags {
                    selector: TagSelector { filter, order },
                    limit,
                })
            }
        }
    }

    /// Whether a pushed tag concerns this subscription (what webhook receivers ask).
    pub fn matches_tag(&self, tag: &str) -> bool {
        match self {
            Self::Tags { selector, .. } => selector.matches(tag),
            Self::NewestBuild { filter, .. } => filter.matches(tag),
            Self::Digest { tag: followed } => followed == tag,
        }
    }
}

/// What git discovery does with tags for a tag-based commit selection strategy.
#[derive(Clone, Debug)]
pub enum GitTagSelection {
    /// `SemVer` and `Lexical`: tags in [`TagSelector::select`] order.
    Tags {
        /// Filter and order.
        selector: TagSelector,
        /// `discoveryLimit`.
        limit: usize,
    },
    /// `NewestTag`: tags the filter passes, ordered by creation time with [`newest_first`].
    NewestTag {
        /// Allow and ignore rules.
        filter: TagFilter,
        /// `discoveryLimit`.
        limit: usize,
    },
}

impl GitTagSelection {
    /// The plan for a git subscription, or `None` for `NewestFromBranch` (commits, not tags).
    /// The deprecated `allowTags`/`ignoreTags` still apply here, as upstream.
    pub fn for_subscription(
        subscription: &GitSubscription,
    ) -> Result<Option<Self>, SelectionError> {
        let strategy = &subscription.commit_selection_strategy;
        match strategy {
            CommitSelectionStrategy::NewestFromBranch => return Ok(None),
            CommitSelectionStrategy::Unknown(value) => {
                return Err(SelectionError::UnknownStrategy {
                    field: "commitSelectionStrategy",
                    value: value.clone(),
                });
            }
            _ => {}
        }
        let limit = discovery_limit(subscription.discovery_limit)?;
        let filter = TagFilter::new(
            &subscription.allow_tags_regexes,
            &subscription.ignore_tags_regexes,
        )?
        .with_legacy(
            subscription.allow_tags.as_deref(),
            subscription.ignore_tags.as_deref().unwrap_or_default(),
        )?;
        let order = match strategy {
            CommitSelectionStrategy::NewestTag => {
                return Ok(Some(Self::NewestTag { filter, limit }));
            }
            CommitSelectionStrategy::Lexical => TagOrder::Lexical,
            _ => TagOrder::SemVer(SemverRule::from_field(
                "semverConstraint",
                subscription.semver_constraint.as_deref(),
                subscription.strict_semvers,
            )?),
        };
        Ok(Some(Self::Tags {
            selector: TagSelector { filter, order },
            limit,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn semver(constraint: Option<&str>, strict: bool) -> TagSelector {
        TagSelector {
            filter: TagFilter::default(),
            order: TagOrder::SemVer(
                SemverRule::from_field("constraint", constraint, strict).unwrap(),
            ),
        }
    }

    fn image(yaml: &str) -> ImageSubscription {
        let mut value: serde_json::Value = serde_json::from_str(yaml).unwrap();
        value["repoURL"] = "ghcr.io/example/app".into();
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn semver_orders_by_version_then_by_tag_and_drops_non_versions() {
        let tags = [
            "1.0",
            "latest",
            "1.0.0",
            "v1.10.0",
            "1.9.0",
            "v1.0.0",
            "2.0.0-rc.1",
            "1.2",
        ];
        assert_eq!(
            semver(None, false).select(&tags),
            [
                "2.0.0-rc.1",
                "v1.10.0",
                "1.9.0",
                "1.2",
                "v1.0.0",
                "1.0.0",
                "1.0"
            ],
            "without a constraint prereleases are candidates too"
        );
    }

    #[test]
    fn strict_semvers_accepts_one_v_then_exactly_three_parts() {
        let tags = ["1.0", "v1.0.0", "1.0.0", "01.2.3", "vv1.2.3", "1.2.3", "v2"];
        assert_eq!(
            semver(None, true).select(&tags),
            ["1.2.3", "v1.0.0", "1.0.0"]
        );
    }

    #[test]
    fn the_constraint_limits_the_candidates_and_excludes_prereleases_unless_named() {
        let tags = ["1.4.0", "1.5.0-rc.1", "1.5.0", "2.0.0", "1.3.9"];
        assert_eq!(semver(Some("^1.4"), true).select(&tags), ["1.5.0", "1.4.0"]);
        assert_eq!(
            semver(Some(">=1.4.0-0 <2"), true).select(&tags),
            ["1.5.0", "1.5.0-rc.1", "1.4.0"]
        );
        assert_eq!(
            semver(Some(""), true).select(&tags).len(),
            5,
            "empty means none"
        );
    }

    #[test]
    fn lexical_orders_bytes_descending() {
        let selector = TagSelector {
            filter: TagFilter::default(),
            order: TagOrder::Lexical,
        };
        let tags = ["v9", "v10", "main-2024-01", "main-2024-02", "V9"];
        assert_eq!(
            selector.select(&tags),
            ["v9", "v10", "main-2024-02", "main-2024-01", "V9"]
        );
    }

    #[test]
    fn ignore_wins_over_allow_and_regexes_are_unanchored() {
        let filter = TagFilter::new(&strings(&["^v1\\.", "rc"]), &strings(&["-rc\\.0$"])).unwrap();
        assert!(filter.matches("v1.2.3"));
        assert!(filter.matches("2.0.0-rc.1"), "unanchored: `rc` anywhere");
        assert!(!filter.matches("v1.2.3-rc.0"), "ignore wins");
        assert!(!filter.matches("v2.0.0"));
        let allow_all = TagFilter::new(&[], &strings(&["latest"])).unwrap();
        assert!(allow_all.matches("1.0.0") && !allow_all.matches("not-latest-either"));
    }

    #[test]
    fn legacy_fields_add_an_allow_regex_and_exact_ignores() {
        let filter = TagFilter::new(&[], &[])
            .unwrap()
            .with_legacy(Some("^v"), &strings(&["v1.0.0"]))
            .unwrap();
        assert!(filter.matches("v1.0.1"));
        assert!(!filter.matches("v1.0.0"));
        assert!(!filter.matches("1.0.1"));
        let empty_allow = TagFilter::new(&[], &[])
            .unwrap()
            .with_legacy(Some(""), &[])
            .unwrap();
        assert!(empty_allow.matches("anything"));
    }

    #[test]
    fn invalid_regexes_name_their_field_and_position() {
        let error = TagFilter::new(&strings(&["ok", "("]), &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`allowTagsRegexes[1]` (`(`) is not a valid regular expression"
        );
        let error = TagFilter::new(&[], &strings(&["[z-a]"])).unwrap_err();
        assert!(error.to_string().starts_with("`ignoreTagsRegexes[0]`"));
    }

    #[test]
    fn newest_first_orders_by_time_then_tag_with_undated_last() {
        let at = |seconds| Some(UNIX_EPOCH + Duration::from_secs(seconds));
        let mut images = vec![
            ("a", at(10)),
            ("undated", None),
            ("b", at(30)),
            ("c", at(30)),
            ("d", at(20)),
            ("also-undated", None),
        ];
        newest_first(&mut images, |(tag, time)| (*tag, *time));
        let order: Vec<&str> = images.iter().map(|(tag, _)| *tag).collect();
        assert_eq!(order, ["c", "b", "d", "a", "undated", "also-undated"]);
    }

    #[test]
    fn discovery_limit_must_be_between_one_and_a_hundred() {
        assert_eq!(discovery_limit(1).unwrap(), 1);
        assert_eq!(discovery_limit(100).unwrap(), 100);
        for bad in [0, -1, 101] {
            assert!(matches!(
                discovery_limit(bad),
                Err(SelectionError::DiscoveryLimit { value }) if value == bad
            ));
        }
    }

    #[test]
    fn image_subscriptions_become_plans_with_kargo_defaults() {
        let ImageSelection::Tags { selector, limit } =
            ImageSelection::for_subscription(&image("{}")).unwrap()
        else {
            panic!("SemVer is the default");
        };
        assert_eq!(limit, DEFAULT_DISCOVERY_LIMIT);
        assert!(!selector.matches("1.2"), "strictSemvers defaults to true");
        assert!(selector.matches("v1.2.3"));

        let plan = ImageSelection::for_subscription(&image(
            r#"{"imageSelectionStrategy": "Lexical", "constraint": "not a constraint", "discoveryLimit": 5}"#,
        ))
        .unwrap();
        assert!(
            matches!(plan, ImageSelection::Tags { limit: 5, .. }),
            "Lexical ignores constraint"
        );

        let plan = ImageSelection::for_subscription(&image(
            r#"{"imageSelectionStrategy": "NewestBuild", "ignoreTagsRegexes": ["^sha-"]}"#,
        ))
        .unwrap();
        assert!(plan.matches_tag("main") && !plan.matches_tag("sha-123"));

        let plan = ImageSelection::for_subscription(&image(
            r#"{"imageSelectionStrategy": "Digest", "constraint": "latest"}"#,
        ))
        .unwrap();
        assert!(matches!(&plan, ImageSelection::Digest { tag } if tag == "latest"));
        assert!(plan.matches_tag("latest") && !plan.matches_tag("1.0.0"));
    }

    #[test]
    fn image_subscriptions_with_bad_settings_are_refused() {
        let error = |json: &str| {
            ImageSelection::for_subscription(&image(json))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error(r#"{"constraint": "^1.x.y"}"#),
            "`constraint` is not a valid semver constraint"
        );
        assert_eq!(
            error(r#"{"imageSelectionStrategy": "Digest"}"#),
            "the Digest strategy needs `constraint`: the mutable tag to follow"
        );
        assert_eq!(
            error(r#"{"allowTags": "^v"}"#),
            "`allowTags` makes image discovery fail since Kargo v1.11: use `allowTagsRegexes`"
        );
        assert_eq!(
            error(r#"{"ignoreTags": ["latest"]}"#),
            "`ignoreTags` makes image discovery fail since Kargo v1.11: use `ignoreTagsRegexes`"
        );
        assert_eq!(
            error(r#"{"imageSelectionStrategy": "Newest"}"#),
            "unknown imageSelectionStrategy `Newest`"
        );
        assert_eq!(
            error(r#"{"discoveryLimit": 500}"#),
            "`discoveryLimit` must be between 1 and 100, found 500"
        );
        assert!(error(r#"{"ignoreTagsRegexes": ["("]}"#).starts_with("`ignoreTagsRegexes[0]`"));
    }

    #[test]
    fn git_tag_strategies_reuse_the_same_rules_and_keep_legacy_fields() {
        let git = |json: &str| {
            let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
            value["repoURL"] = "https://example.com/repo.git".into();
            GitTagSelection::for_subscription(&serde_json::from_value(value).unwrap())
        };
        assert!(
            git("{}").unwrap().is_none(),
            "NewestFromBranch selects commits"
        );
        let Some(GitTagSelection::Tags { selector, limit: 20 }) = git(
            r#"{"commitSelectionStrategy": "SemVer", "semverConstraint": "~1.2", "ignoreTags": ["v1.2.5"]}"#,
        )
        .unwrap() else {
            panic!("SemVer selects tags");
        };
        assert_eq!(
            selector.select(&["v1.2.3", "v1.2.5", "v1.3.0", "v1.2.4"]),
            ["v1.2.4", "v1.2.3"]
        );
        assert!(matches!(
            git(r#"{"commitSelectionStrategy": "NewestTag", "allowTags": "^v"}"#).unwrap(),
            Some(GitTagSelection::NewestTag { .. })
        ));
        assert_eq!(
            git(r#"{"commitSelectionStrategy": "SemVer", "semverConstraint": ">="}"#)
                .unwrap_err()
                .to_string(),
            "`semverConstraint` is not a valid semver constraint"
        );
    }
}
