//! The `expressionFilter` of git subscriptions, and how discovered commits are recorded.
//!
//! Kargo compiles `expressionFilter` as a bare expr-lang expression (no `${{ }}`) and runs it
//! once per candidate with the candidate's metadata as the whole environment:
//!
//! | strategy | variables |
//! |---|---|
//! | `NewestFromBranch` | `id`, `commitDate`, `author`, `committer`, `subject` |
//! | `SemVer`, `Lexical`, `NewestTag` | `tag`, `id`, `creatorDate`, `author`, `committer`, `subject`, `tagger`, `annotation` |
//!
//! `author`, `committer` and `tagger` read `Name <email>`; `subject` is the whole first line
//! (the 80-character cut of [`shorten_subject`] happens only when the result is recorded);
//! `tagger` and `annotation` (the first line of the tag message) are empty for lightweight tags;
//! `id` is the commit (for tags, the commit the tag points at). A boolean result is used as it
//! is; anything else is printed like Go's `%v` and read with `strconv.ParseBool` (`"true"`,
//! `1`, `"F"`...), and a result that is not a boolean then fails the discovery.
//!
//! Known difference: upstream's `commitDate`/`creatorDate` are Go `time.Time` values with
//! methods (`commitDate.After(...)`); gantry has no time values yet (see gantry-expr), so they
//! are RFC 3339 strings in UTC (`2024-05-01T12:00:00Z`), which compare correctly as strings:
//! `commitDate >= "2024-05-01"`.

use std::collections::BTreeMap;

use gantry_expr::{Expression, NoHost, Value};

/// Why `expressionFilter` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpressionFilterError {
    /// The expression does not parse.
    #[error("`expressionFilter` (`{expression}`) does not compile")]
    Compile {
        /// The expression.
        expression: String,
        /// What the parser said.
        #[source]
        source: gantry_expr::Error,
    },
    /// Evaluating it for one candidate failed.
    #[error("`expressionFilter` failed for {candidate}")]
    Eval {
        /// `commit <id>` or `tag <name>`.
        candidate: String,
        /// What went wrong.
        #[source]
        source: gantry_expr::Error,
    },
    /// The result is neither a boolean nor text `strconv.ParseBool` reads.
    #[error("`expressionFilter` returned `{value}` for {candidate}, which is not a boolean")]
    NotBoolean {
        /// `commit <id>` or `tag <name>`.
        candidate: String,
        /// The result, printed like Go's `%v`.
        value: String,
    },
}

/// What the filter sees of a branch commit.
#[derive(Clone, Copy, Debug)]
pub struct CommitFacts<'a> {
    /// Full commit id.
    pub id: &'a str,
    /// Committer date, RFC 3339 in UTC.
    pub commit_date: &'a str,
    /// `Name <email>`.
    pub author: &'a str,
    /// `Name <email>`.
    pub committer: &'a str,
    /// First line of the message, uncut.
    pub subject: &'a str,
}

/// What the filter sees of a tag.
#[derive(Clone, Copy, Debug)]
pub struct TagFacts<'a> {
    /// Tag name.
    pub tag: &'a str,
    /// The commit the tag points at.
    pub id: &'a str,
    /// Tagger date for annotated tags, committer date for lightweight ones; RFC 3339 in UTC.
    pub creator_date: &'a str,
    /// The commit's author, `Name <email>`.
    pub author: &'a str,
    /// The commit's committer, `Name <email>`.
    pub committer: &'a str,
    /// The commit's subject, uncut.
    pub subject: &'a str,
    /// `Name <email>` of the tagger; empty for lightweight tags.
    pub tagger: &'a str,
    /// First line of the tag message; empty for lightweight tags.
    pub annotation: &'a str,
}

/// A compiled `expressionFilter`.
#[derive(Clone, Debug)]
pub struct ExpressionFilter {
    expression: Expression,
}

impl ExpressionFilter {
    /// Compiles the filter; `None` when the field is absent or empty (everything passes).
    pub fn compile(source: Option<&str>) -> Result<Option<Self>, ExpressionFilterError> {
        let Some(source) = source.filter(|s| !s.trim().is_empty()) else {
            return Ok(None);
        };
        Expression::compile(source)
            .map(|expression| Some(Self { expression }))
            .map_err(|source_error| ExpressionFilterError::Compile {
                expression: source.to_owned(),
                source: source_error,
            })
    }

    /// Whether a branch commit passes.
    pub fn accepts_commit(&self, commit: &CommitFacts<'_>) -> Result<bool, ExpressionFilterError> {
        let env = environment([
            ("id", commit.id),
            ("commitDate", commit.commit_date),
            ("author", commit.author),
            ("committer", commit.committer),
            ("subject", commit.subject),
        ]);
        self.run(&env, || format!("commit {}", commit.id))
    }

    /// Whether a tag passes.
    pub fn accepts_tag(&self, tag: &TagFacts<'_>) -> Result<bool, ExpressionFilterError> {
        let env = environment([
            ("tag", tag.tag),
            ("id", tag.id),
            ("creatorDate", tag.creator_date),
            ("author", tag.author),
            ("committer", tag.committer),
            ("subject", tag.subject),
            ("tagger", tag.tagger),
            ("annotation", tag.annotation),
        ]);
        self.run(&env, || format!("tag {}", tag.tag))
    }

    fn run(
        &self,
        env: &Value,
        candidate: impl Fn() -> String,
    ) -> Result<bool, ExpressionFilterError> {
        let value =
            self.expression
                .eval(env, &NoHost)
                .map_err(|source| ExpressionFilterError::Eval {
                    candidate: candidate(),
                    source,
                })?;
        parse_bool(&value).ok_or_else(|| ExpressionFilterError::NotBoolean {
            candidate: candidate(),
            value: value.to_go_string(),
        })
    }
}

fn environment<const N: usize>(entries: [(&str, &str); N]) -> Value {
    Value::map(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), Value::string(value)))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// A boolean, or Go's `strconv.ParseBool` of the value's `%v` form.
fn parse_bool(value: &Value) -> Option<bool> {
    if let Value::Bool(b) = value {
        return Some(*b);
    }
    match value.to_go_string().as_str() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The longest subject Kargo records, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 80;

/// A subject as Kargo records it: unchanged up to 80 bytes, otherwise its first 77 bytes and
/// `...`. Upstream cuts bytes, not characters; a character split by the cut becomes one U+FFFD
/// per leftover byte, which is what Go's JSON encoding stores for the invalid bytes.
pub fn shorten_subject(subject: &str) -> String {
    if subject.len() <= MAX_SUBJECT_BYTES {
        return subject.to_owned();
    }
    let cut = MAX_SUBJECT_BYTES - 3;
    let mut boundary = cut;
    while !subject.is_char_boundary(boundary) {
        boundary -= 1;
    }
    let mut out = String::with_capacity(cut + 6);
    out.push_str(&subject[..boundary]);
    for _ in boundary..cut {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: CommitFacts<'static> = CommitFacts {
        id: "0123456789abcdef0123456789abcdef01234567",
        commit_date: "2024-05-01T12:00:00Z",
        author: "Ada <ada@example.com>",
        committer: "Bot <bot@example.com>",
        subject: "feat: ship it [deploy]",
    };

    const TAG: TagFacts<'static> = TagFacts {
        tag: "v1.2.3",
        id: "0123456789abcdef0123456789abcdef01234567",
        creator_date: "2024-05-02T00:00:00Z",
        author: "Ada <ada@example.com>",
        committer: "Bot <bot@example.com>",
        subject: "release",
        tagger: "Rel <rel@example.com>",
        annotation: "Release 1.2.3",
    };

    fn filter(source: &str) -> ExpressionFilter {
        ExpressionFilter::compile(Some(source)).unwrap().unwrap()
    }

    #[test]
    fn commit_filters_see_the_commit_metadata() {
        assert!(
            filter("subject contains '[deploy]'")
                .accepts_commit(&COMMIT)
                .unwrap()
        );
        assert!(
            !filter("author startsWith 'Bot'")
                .accepts_commit(&COMMIT)
                .unwrap()
        );
        assert!(
            filter("commitDate >= '2024-05-01'")
                .accepts_commit(&COMMIT)
                .unwrap()
        );
        assert!(
            filter("id == '0123456789abcdef0123456789abcdef01234567' && committer matches '^Bot'")
                .accepts_commit(&COMMIT)
                .unwrap()
        );
    }

    #[test]
    fn tag_filters_see_the_tag_and_its_commit() {
        assert!(
            filter("tagger contains 'rel@' && annotation == 'Release 1.2.3'")
                .accepts_tag(&TAG)
                .unwrap()
        );
        assert!(
            filter("tag == 'v1.2.3' && subject == 'release' && creatorDate > '2024-05-01'")
                .accepts_tag(&TAG)
                .unwrap()
        );
    }

    #[test]
    fn non_boolean_results_are_read_like_go_parse_bool_or_fail() {
        assert!(filter("'true'").accepts_commit(&COMMIT).unwrap());
        assert!(filter("1").accepts_commit(&COMMIT).unwrap());
        assert!(!filter("'F'").accepts_commit(&COMMIT).unwrap());
        let error = filter("subject").accepts_commit(&COMMIT).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`expressionFilter` returned `feat: ship it [deploy]` for commit \
             0123456789abcdef0123456789abcdef01234567, which is not a boolean"
        );
    }

    #[test]
    fn empty_filters_are_none_and_bad_ones_fail_to_compile() {
        assert!(ExpressionFilter::compile(None).unwrap().is_none());
        assert!(ExpressionFilter::compile(Some("  ")).unwrap().is_none());
        let error = ExpressionFilter::compile(Some("subject ==")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`expressionFilter` (`subject ==`) does not compile"),
            "{error}"
        );
    }

    #[test]
    fn subjects_are_cut_at_80_bytes_like_upstream() {
        let short = "x".repeat(80);
        assert_eq!(shorten_subject(&short), short);
        let long = "y".repeat(81);
        assert_eq!(shorten_subject(&long), format!("{}...", "y".repeat(77)));
        // `é` is two bytes: the 77-byte cut splits the one at bytes 76..78.
        let accented = format!("{}{}", "a".repeat(76), "é".repeat(5));
        assert_eq!(
            shorten_subject(&accented),
            format!("{}\u{fffd}...", "a".repeat(76))
        );
    }
}
