//! Which changed paths make a commit interesting: the `includePaths` and `excludePaths` of a git
//! subscription.
//!
//! Each selector is one of
//!
//! - `glob:PATTERN`: a doublestar glob over the whole path ([`PathGlob`]);
//! - `regex:PATTERN` or `regexp:PATTERN`: a regular expression, unanchored (RE2 syntax, as Go's
//!   `MatchString`);
//! - anything else: a base directory. It matches the path itself and every path under it, the
//!   way Kargo's `BaseDirMatcher` does with Go's `filepath.Rel`: both sides are cleaned (`./a/`
//!   is `a`), `.` matches every relative path, and an absolute base (`/apps`) matches nothing,
//!   because git reports relative paths. Like upstream, a path whose remainder under the base
//!   contains `..` anywhere (`apps/a..b.yaml` under `apps`) does not match.
//!
//! A commit passes ([`PathFilter::matches_any`]) when at least one of its changed paths is
//! included (every path is, when there is no include list) and not excluded. A commit that
//! changes nothing never passes a filter that has selectors.

use regex::Regex;

use crate::glob::{GlobError, PathGlob};

/// A selector that does not compile.
#[derive(Debug, thiserror::Error)]
pub enum PathFilterError {
    /// A `glob:` selector that is not a valid doublestar pattern.
    #[error("`{field}[{index}]` (`{selector}`) is not a valid glob pattern")]
    InvalidGlob {
        /// `includePaths` or `excludePaths`.
        field: &'static str,
        /// Position in the list.
        index: usize,
        /// The selector as written, prefix included.
        selector: String,
        /// What is wrong with the pattern.
        #[source]
        source: GlobError,
    },
    /// A `regex:`/`regexp:` selector that does not compile.
    #[error("`{field}[{index}]` (`{selector}`) is not a valid regular expression")]
    InvalidRegex {
        /// `includePaths` or `excludePaths`.
        field: &'static str,
        /// Position in the list.
        index: usize,
        /// The selector as written, prefix included.
        selector: String,
        /// What the regex parser said.
        #[source]
        source: Box<regex::Error>,
    },
}

/// One compiled path selector.
#[derive(Clone, Debug)]
pub enum PathSelector {
    /// A folder (or file): the path itself and everything under it.
    BaseDir(String),
    /// `glob:`.
    Glob(PathGlob),
    /// `regex:` / `regexp:`.
    Regex(Regex),
}

impl PathSelector {
    /// Compiles one selector; `field` and `index` name it in errors.
    pub fn parse(
        field: &'static str,
        index: usize,
        selector: &str,
    ) -> Result<Self, PathFilterError> {
        if let Some(pattern) = selector.strip_prefix("glob:") {
            return PathGlob::new(pattern).map(Self::Glob).map_err(|source| {
                PathFilterError::InvalidGlob {
                    field,
                    index,
                    selector: selector.to_owned(),
                    source,
                }
            });
        }
        if let Some(pattern) = selector
            .strip_prefix("regex:")
            .or_else(|| selector.strip_prefix("regexp:"))
        {
            return Regex::new(pattern).map(Self::Regex).map_err(|source| {
                PathFilterError::InvalidRegex {
                    field,
                    index,
                    selector: selector.to_owned(),
                    source: Box::new(source),
                }
            });
        }
        Ok(Self::BaseDir(clean(selector)))
    }

    /// Whether `path` (relative, `/`-separated) is selected.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Self::Glob(glob) => glob.matches(path),
            Self::Regex(regex) => regex.is_match(path),
            Self::BaseDir(base) => under_base(base, path),
        }
    }
}

/// A subscription's include and exclude selectors.
#[derive(Clone, Debug, Default)]
pub struct PathFilter {
    include: Option<Vec<PathSelector>>,
    exclude: Option<Vec<PathSelector>>,
}

impl PathFilter {
    /// Compiles `includePaths` and `excludePaths`; an empty list means "no such rule".
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, PathFilterError> {
        let compile = |field: &'static str, selectors: &[String]| {
            if selectors.is_empty() {
                return Ok(None);
            }
            selectors
                .iter()
                .enumerate()
                .map(|(index, selector)| PathSelector::parse(field, index, selector))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
        Ok(Self {
            include: compile("includePaths", include)?,
            exclude: compile("excludePaths", exclude)?,
        })
    }

    /// Whether there are no selectors at all (every commit passes, no paths needed).
    pub fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    /// Whether a commit that changed `paths` passes: some path is included and not excluded.
    pub fn matches_any<S: AsRef<str>>(&self, paths: &[S]) -> bool {
        let any = |selectors: &[PathSelector], path: &str| {
            selectors.iter().any(|selector| selector.matches(path))
        };
        paths.iter().map(AsRef::as_ref).any(|path| {
            self.include
                .as_deref()
                .is_none_or(|include| any(include, path))
                && !self
                    .exclude
                    .as_deref()
                    .is_some_and(|exclude| any(exclude, path))
        })
    }
}

/// Go's `path.Clean`: no empty, `.` or resolvable `..` elements, no trailing slash; `.` for
/// nothing.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Kargo's base-directory test: `filepath.Rel(base, path)` succeeds and has no `..` in it.
fn under_base(base: &str, path: &str) -> bool {
    let path = clean(path);
    if path == base {
        return true;
    }
    if base.starts_with('/') != path.starts_with('/') {
        // `filepath.Rel` cannot relate an absolute and a relative path.
        return false;
    }
    let remainder = if base == "." {
        Some(path.as_str())
    } else {
        path.strip_prefix(base.trim_end_matches('/'))
            .and_then(|rest| rest.strip_prefix('/'))
    };
    remainder.is_some_and(|rest| !rest.contains(".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str]) -> PathFilter {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        PathFilter::new(&strings(include), &strings(exclude)).unwrap()
    }

    #[test]
    fn plain_selectors_match_the_path_itself_and_everything_under_it() {
        let selector = PathSelector::parse("includePaths", 0, "./apps/dev/").unwrap();
        assert!(selector.matches("apps/dev"));
        assert!(selector.matches("apps/dev/values.yaml"));
        assert!(selector.matches("apps/dev/a/b/c.yaml"));
        assert!(!selector.matches("apps/development/values.yaml"));
        assert!(!selector.matches("apps/values.yaml"));
        assert!(
            !selector.matches("apps/dev/a..b.yaml"),
            "upstream's `..` quirk"
        );
        let root = PathSelector::parse("includePaths", 0, ".").unwrap();
        assert!(root.matches("anything/at/all.yaml"));
        let absolute = PathSelector::parse("includePaths", 0, "/apps").unwrap();
        assert!(!absolute.matches("apps/x.yaml"), "git paths are relative");
    }

    #[test]
    fn glob_and_regex_selectors_match_whole_paths_and_anywhere_in_paths() {
        let glob = PathSelector::parse("includePaths", 0, "glob:apps/**/*.yaml").unwrap();
        assert!(glob.matches("apps/x.yaml") && glob.matches("apps/a/b/x.yaml"));
        assert!(!glob.matches("apps/x.json") && !glob.matches("base/apps/x.yaml"));
        for prefix in ["regex:", "regexp:"] {
            let regex = PathSelector::parse("excludePaths", 0, &format!("{prefix}\\.md$")).unwrap();
            assert!(regex.matches("docs/README.md"));
            assert!(!regex.matches("docs/README.mdx"));
        }
        let unanchored = PathSelector::parse("includePaths", 0, "regex:prod").unwrap();
        assert!(unanchored.matches("apps/production/values.yaml"));
    }

    #[test]
    fn a_commit_passes_when_one_changed_path_is_included_and_not_excluded() {
        let only_apps = filter(&["apps"], &["glob:apps/**/*.md"]);
        assert!(only_apps.matches_any(&["README.md", "apps/dev/values.yaml"]));
        assert!(!only_apps.matches_any(&["README.md", "apps/dev/NOTES.md"]));
        assert!(!only_apps.matches_any(&["base/kustomization.yaml"]));
        assert!(
            !only_apps.matches_any::<&str>(&[]),
            "an empty commit never passes"
        );

        let all_but_docs = filter(&[], &["docs", "regex:\\.md$"]);
        assert!(all_but_docs.matches_any(&["docs/a.md", "src/main.rs"]));
        assert!(!all_but_docs.matches_any(&["docs/a.txt", "CHANGELOG.md"]));

        let none = filter(&[], &[]);
        assert!(none.is_empty() && none.matches_any(&["x"]));
    }

    #[test]
    fn invalid_selectors_name_their_field_and_position() {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let error = PathFilter::new(&strings(&["apps", "glob:apps/[x"]), &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`includePaths[1]` (`glob:apps/[x`) is not a valid glob pattern"
        );
        let error = PathFilter::new(&[], &strings(&["regexp:("])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`excludePaths[0]` (`regexp:(`) is not a valid regular expression"
        );
    }

    #[test]
    fn paths_are_cleaned_like_go() {
        for (raw, cleaned) in [
            ("", "."),
            ("./", "."),
            ("a//b/./c/", "a/b/c"),
            ("a/../b", "b"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("/", "/"),
        ] {
            assert_eq!(clean(raw), cleaned, "{raw:?}");
        }
    }
}
