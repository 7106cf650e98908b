//! Version constraints with the syntax and the exact semantics of Masterminds semver v3.5 (the
//! library Kargo checks `constraint` and `semverConstraint` with).
//!
//! A constraint is one to 32 alternatives separated by `||`; an alternative is one or more
//! comparisons separated by `,` or whitespace, all of which must hold. A comparison is an
//! optional operator (`=`, `!=`, `>`, `<`, `>=`/`=>`, `<=`/`=<`, `~`/`~>`, `^`; none means `=`)
//! and a version that may be partial (`1`, `1.2`), may use `x`, `X` or `*` for a part (`1.2.x`,
//! `*`) and may start with `v`. `A - B` (spaces required) means `>= A, <= B`.
//!
//! The rules, as Masterminds applies them:
//!
//! - A partial or wildcard version is a range for `=`, `!=`, `>` and `<=`: `=1.2` is
//!   `>=1.2.0 <1.3.0`, `>1.2` needs minor 3 or more, `<=1` allows every `1.x.y`, `!=1.x` excludes
//!   every `1.x.y`. For `<` and `>=` missing parts are simply zero (`<1.2` is `<1.2.0`).
//! - `~1.2.3` is `>=1.2.3 <1.3.0`, `~1.2` the same from `1.2.0`, `~1` is `>=1.0.0 <2.0.0`;
//!   `~0.0.0` and `~*` allow everything.
//! - `^1.2.3` is `>=1.2.3 <2.0.0`; with major 0 the minor is fixed (`^0.2.3` is `<0.3.0`) and with
//!   `0.0` the patch is (`^0.0.3` is exactly `0.0.3`); `^0.0` is `<0.1.0`, `^0` is `<1.0.0`.
//! - A version with a prerelease satisfies an alternative only when one of that alternative's
//!   comparisons names a prerelease (any version's: `>=1.2.3-0 <2.0.0` admits `1.9.0-rc.1`).
//!   Then it is compared by semver precedence like any other version.
//! - Build metadata never matters.
//!
//! Deliberate difference: Masterminds rewrites hyphen ranges before splitting on `||`, so a
//! range can swallow a neighbouring alternative (`1||2 - 3`); here a range never crosses `||`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::{Version, check_prerelease, compare_prerelease};

/// Longest constraint text accepted (Masterminds' `MaxConstraintLen`).
pub const MAX_CONSTRAINT_LEN: usize = 512;

/// Most `||` alternatives accepted (Masterminds' `MaxConstraintGroups`).
pub const MAX_ALTERNATIVES: usize = 32;

/// Why a constraint did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    /// Empty or only whitespace.
    #[error("the constraint is empty")]
    Empty,
    /// Longer than [`MAX_CONSTRAINT_LEN`] bytes.
    #[error("the constraint is longer than {MAX_CONSTRAINT_LEN} bytes")]
    TooLong,
    /// More than [`MAX_ALTERNATIVES`] alternatives.
    #[error("the constraint has more than {MAX_ALTERNATIVES} `||` alternatives")]
    TooManyAlternatives,
    /// Nothing between two `||` (or before the first, or after the last).
    #[error("alternative {number} of the constraint is empty")]
    EmptyAlternative {
        /// 1-based position of the alternative.
        number: usize,
    },
    /// A part that is not a comparison.
    #[error("invalid constraint `{part}`: {reason}")]
    Invalid {
        /// The offending text, from where it goes wrong to the end of its alternative.
        part: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A parsed constraint; see the module documentation for the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    alternatives: Vec<Alternative>,
    text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Alternative {
    comparisons: Vec<Comparison>,
    /// Whether one comparison names a prerelease, which lets prerelease versions in.
    admits_prereleases: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// How much of the version was given (the rest missing or a wildcard).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Precision {
    /// `*`, `x.1.2`: the major part is a wildcard.
    Any,
    /// `1`, `1.x`, `1.*.3`.
    Major,
    /// `1.2`, `1.2.x`.
    MajorMinor,
    /// `1.2.3`.
    Full,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Comparison {
    operator: Operator,
    /// The version with missing and wildcard parts set to zero.
    version: Version,
    precision: Precision,
}

impl Constraint {
    /// Parses a constraint.
    pub fn parse(text: &str) -> Result<Self, ConstraintError> {
        if text.len() > MAX_CONSTRAINT_LEN {
            return Err(ConstraintError::TooLong);
        }
        if text.bytes().all(is_space) {
            return Err(ConstraintError::Empty);
        }
        let parts: Vec<&str> = text.split("||").collect();
        if parts.len() > MAX_ALTERNATIVES {
            return Err(ConstraintError::TooManyAlternatives);
        }
        let alternatives = parts
            .iter()
            .enumerate()
            .map(|(index, part)| parse_alternative(part, index + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            alternatives,
            text: text.to_owned(),
        })
    }

    /// Whether `version` satisfies the constraint.
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|alternative| {
            alternative
                .comparisons
                .iter()
                .all(|c| c.admits(version, alternative.admits_prereleases))
        })
    }

    /// The text it was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Constraint {
    type Err = ConstraintError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whitespace as Go's `\s` sees it.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

fn is_segment_char(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'x' | b'X' | b'*')
}

fn is_identifier_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Operators, longest first so that `>=` wins over `>`.
const OPERATORS: [(&str, Operator); 11] = [
    ("!=", Operator::NotEqual),
    (">=", Operator::GreaterEqual),
    ("=>", Operator::GreaterEqual),
    ("<=", Operator::LessEqual),
    ("=<", Operator::LessEqual),
    ("~>", Operator::Tilde),
    (">", Operator::Greater),
    ("<", Operator::Less),
    ("=", Operator::Equal),
    ("~", Operator::Tilde),
    ("^", Operator::Caret),
];

/// The pieces of a version as written in a constraint.
struct VersionText<'a> {
    text: &'a str,
    segments: Vec<&'a str>,
    prerelease: &'a str,
    metadata: &'a str,
}

struct Scanner<'a> {
    text: &'a str,
    position: usize,
    /// Where the comparison being read starts.
    term_start: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    /// Skips whitespace and tells how much there was.
    fn skip_space(&mut self) -> usize {
        let start = self.position;
        while self.peek().is_some_and(is_space) {
            self.position += 1;
        }
        self.position - start
    }

    fn take_while(&mut self, accept: impl Fn(u8) -> bool) -> &'a str {
        let start = self.position;
        while self.peek().is_some_and(&accept) {
            self.position += 1;
        }
        &self.text[start..self.position]
    }

    fn operator(&mut self) -> Option<Operator> {
        let rest = &self.text[self.position..];
        let (symbol, operator) = OPERATORS
            .iter()
            .find(|(symbol, _)| rest.starts_with(symbol))?;
        self.position += symbol.len();
        Some(*operator)
    }

    /// Dot-separated identifiers after a `-` or `+`; stops before a dot not followed by one.
    fn identifiers(&mut self) -> Option<&'a str> {
        let start = self.position;
        if self.take_while(is_identifier_char).is_empty() {
            return None;
        }
        loop {
            let dot = self.position;
            if self.peek() != Some(b'.') {
                break;
            }
            self.position += 1;
            if self.take_while(is_identifier_char).is_empty() {
                self.position = dot;
                break;
            }
        }
        Some(&self.text[start..self.position])
    }

    /// `v? SEG (.SEG){0,2} (-PRERELEASE)? (+METADATA)?`; `None` (nothing consumed) when the text
    /// here does not start that way.
    fn version(&mut self) -> Option<VersionText<'a>> {
        let start = self.position;
        if self.peek() == Some(b'v') {
            self.position += 1;
        }
        let first = self.take_while(is_segment_char);
        if first.is_empty() {
            self.position = start;
            return None;
        }
        let mut segments = vec![first];
        while segments.len() < 3 && self.peek() == Some(b'.') {
            self.position += 1;
            let segment = self.take_while(is_segment_char);
            if segment.is_empty() {
                self.position = start;
                return None;
            }
            segments.push(segment);
        }
        let mut prerelease = "";
        if self.peek() == Some(b'-') {
            let dash = self.position;
            self.position += 1;
            match self.identifiers() {
                Some(identifiers) => prerelease = identifiers,
                None => self.position = dash,
            }
        }
        let mut metadata = "";
        if self.peek() == Some(b'+') {
            let plus = self.position;
            self.position += 1;
            match self.identifiers() {
                Some(identifiers) => metadata = identifiers,
                None => self.position = plus,
            }
        }
        Some(VersionText {
            text: &self.text[start..self.position],
            segments,
            prerelease,
            metadata,
        })
    }

    /// An error showing the text from the current position, or from the start of the current
    /// comparison when nothing is left.
    fn invalid(&self, reason: &'static str) -> ConstraintError {
        let rest = self.text[self.position..].trim();
        let part = if rest.is_empty() {
            self.text[self.term_start.min(self.text.len())..].trim()
        } else {
            rest
        };
        ConstraintError::Invalid {
            part: part.to_owned(),
            reason,
        }
    }

    /// A `-` standing alone between whitespace (a hyphen range), whitespace already skipped.
    fn at_range_dash(&self) -> bool {
        self.peek() == Some(b'-')
            && self
                .text
                .as_bytes()
                .get(self.position + 1)
                .copied()
                .is_some_and(is_space)
    }
}

fn parse_alternative(text: &str, number: usize) -> Result<Alternative, ConstraintError> {
    let mut scanner = Scanner {
        text,
        position: 0,
        term_start: 0,
    };
    scanner.skip_space();
    if scanner.at_end() {
        return Err(ConstraintError::EmptyAlternative { number });
    }
    let mut comparisons = Vec::new();
    loop {
        scanner.term_start = scanner.position;
        let operator = scanner.operator();
        scanner.skip_space();
        let Some(version) = scanner.version() else {
            return Err(if scanner.at_range_dash() {
                scanner.invalid("a hyphen range takes bare versions on both sides (`1.2 - 1.4`)")
            } else if operator.is_some() {
                scanner.invalid("expected a version after the operator")
            } else {
                scanner.invalid("expected a comparison such as `>=1.2.3`, `^1.2` or `1.x`")
            });
        };
        let mut space = scanner.skip_space();
        if operator.is_none() && space > 0 && scanner.at_range_dash() {
            scanner.position += 1;
            scanner.skip_space();
            let Some(upper) = scanner.version() else {
                return Err(scanner.invalid("expected the upper version of the hyphen range"));
            };
            comparisons.push(comparison(Operator::GreaterEqual, &version)?);
            comparisons.push(comparison(Operator::LessEqual, &upper)?);
            space = scanner.skip_space();
        } else {
            comparisons.push(comparison(operator.unwrap_or(Operator::Equal), &version)?);
        }
        if scanner.at_end() {
            break;
        }
        if scanner.peek() == Some(b',') {
            scanner.position += 1;
            scanner.skip_space();
            if scanner.at_end() {
                return Err(ConstraintError::Invalid {
                    part: text.trim().to_owned(),
                    reason: "nothing follows the last `,`",
                });
            }
        } else if space == 0 {
            return Err(scanner.invalid(
                "expected `,`, whitespace or `||` between comparisons (a version has at most 3 parts)",
            ));
        }
    }
    let admits_prereleases = comparisons.iter().any(|c| !c.version.prerelease.is_empty());
    Ok(Alternative {
        comparisons,
        admits_prereleases,
    })
}

fn is_wildcard(segment: &str) -> bool {
    matches!(segment, "x" | "X" | "*")
}

fn comparison(operator: Operator, text: &VersionText<'_>) -> Result<Comparison, ConstraintError> {
    let invalid = |reason| ConstraintError::Invalid {
        part: text.text.to_owned(),
        reason,
    };
    let mut numbers = [0_u64; 3];
    for (i, segment) in text.segments.iter().enumerate() {
        if is_wildcard(segment) {
            continue;
        }
        if !segment.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "a version part is a number or one of the wildcards `x`, `X`, `*`",
            ));
        }
        numbers[i] = segment
            .parse()
            .map_err(|_| invalid("a version part does not fit 64 bits"))?;
    }
    let wild = |i: usize| text.segments.get(i).is_none_or(|s| is_wildcard(s));
    let precision = if wild(0) {
        Precision::Any
    } else if wild(1) {
        Precision::Major
    } else if wild(2) {
        Precision::MajorMinor
    } else {
        Precision::Full
    };
    let kept = match precision {
        Precision::Any => 0,
        Precision::Major => 1,
        Precision::MajorMinor => 2,
        Precision::Full => 3,
    };
    for number in numbers.iter_mut().skip(kept) {
        *number = 0;
    }
    if !text.prerelease.is_empty() {
        check_prerelease(text.prerelease)
            .map_err(|_| invalid("a numeric prerelease identifier must not start with 0"))?;
    }
    Ok(Comparison {
        operator,
        version: Version {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            prerelease: text.prerelease.to_owned(),
            metadata: text.metadata.to_owned(),
            original: text.text.to_owned(),
        },
        precision,
    })
}

impl Comparison {
    /// Whether the major part is fixed but the minor is not (`1`, `1.x`).
    fn minor_open(&self) -> bool {
        self.precision == Precision::Major
    }

    /// Whether major and minor are fixed but the patch is not (`1.2`, `1.2.x`).
    fn patch_open(&self) -> bool {
        self.precision == Precision::MajorMinor
    }

    fn partial(&self) -> bool {
        self.precision != Precision::Full
    }

    fn admits(&self, v: &Version, prereleases: bool) -> bool {
        if !v.prerelease.is_empty() && !prereleases {
            return false;
        }
        let c = &self.version;
        let order = v.compare(c);
        match self.operator {
            Operator::Equal if self.partial() => self.tilde(v),
            Operator::Equal => order == Ordering::Equal,
            Operator::Tilde => self.tilde(v),
            Operator::NotEqual => self.not_equal(v),
            Operator::Less => order == Ordering::Less,
            Operator::GreaterEqual => order != Ordering::Less,
            Operator::Greater if self.partial() => {
                if v.major != c.major {
                    v.major > c.major
                } else if self.minor_open() {
                    false
                } else if self.patch_open() {
                    v.minor > c.minor
                } else {
                    order == Ordering::Greater
                }
            }
            Operator::Greater => order == Ordering::Greater,
            Operator::LessEqual if self.partial() => {
                v.major < c.major
                    || (v.major == c.major && (self.minor_open() || v.minor <= c.minor))
            }
            Operator::LessEqual => order != Ordering::Greater,
            Operator::Caret => self.caret(v),
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if (c.major, c.minor, c.patch) == (0, 0, 0) && !self.minor_open() && !self.patch_open() {
            return true;
        }
        v.major == c.major && (self.minor_open() || v.minor == c.minor)
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.version;
        if self.partial() {
            if v.major != c.major {
                return true;
            }
            if self.minor_open() {
                return false;
            }
            if v.minor != c.minor {
                return true;
            }
            if self.patch_open() {
                return (!v.prerelease.is_empty() || !c.prerelease.is_empty())
                    && compare_prerelease(&v.prerelease, &c.prerelease) != Ordering::Equal;
            }
            if v.patch != c.patch {
                return true;
            }
        }
        v.compare(c) != Ordering::Equal
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.version;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_open() {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_open() {
            return v.minor == c.minor;
        }
        v.minor == 0 && v.patch == c.patch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(constraint: &str, version: &str) -> bool {
        let parsed = Constraint::parse(constraint)
            .unwrap_or_else(|e| panic!("`{constraint}` should parse: {e}"));
        let version = Version::parse(version)
            .unwrap_or_else(|e| panic!("`{version}` should be a version: {e}"));
        parsed.matches(&version)
    }

    fn table(cases: &[(&str, &str, bool)]) {
        let failures: Vec<String> = cases
            .iter()
            .filter(|(c, v, want)| check(c, v) != *want)
            .map(|(c, v, want)| format!("`{c}` with {v}: expected {want}"))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn exact_versions_and_equals_compare_by_precedence_ignoring_metadata() {
        table(&[
            ("1.2.3", "1.2.3", true),
            ("=1.2.3", "1.2.3", true),
            ("= 1.2.3", "v1.2.3", true),
            ("v1.2.3", "1.2.3", true),
            ("1.2.3", "1.2.4", false),
            ("1.2.3", "1.2.3+build.7", true),
            ("1.2.3+build.1", "1.2.3+build.2", true),
            ("=1.2.3", "1.2.2", false),
            ("=0.0.0", "0.0.0", true),
            ("=01.2.3", "1.2.3", true),
            ("1.2.3-rc.1", "1.2.3-rc.1", true),
            ("1.2.3-rc.1", "1.2.3-rc.2", false),
            ("1.2.3-rc.1", "1.2.3", false),
        ]);
    }

    #[test]
    fn partial_and_wildcard_versions_are_ranges_for_equals() {
        table(&[
            ("1.2", "1.2.0", true),
            ("1.2", "1.2.99", true),
            ("1.2", "1.3.0", false),
            ("1.2", "1.1.9", false),
            ("=1.2", "1.2.5", true),
            ("1", "1.0.0", true),
            ("1", "1.99.3", true),
            ("1", "2.0.0", false),
            ("1", "0.9.0", false),
            ("1.x", "1.4.0", true),
            ("1.X", "1.4.0", true),
            ("1.*", "1.4.0", true),
            ("1.x.x", "1.4.7", true),
            ("1.x", "2.0.0", false),
            ("1.2.x", "1.2.7", true),
            ("1.2.*", "1.3.0", false),
            ("1.x.3", "1.5.0", true),
            ("*", "0.0.0", true),
            ("*", "42.1.0", true),
            ("x", "3.0.0", true),
            ("x.2.3", "7.0.0", true),
            ("0.x", "0.9.9", true),
            ("0.x", "1.0.0", false),
            ("0.0.x", "0.0.9", true),
            ("0.0.x", "0.1.0", false),
        ]);
    }

    #[test]
    fn not_equal_excludes_the_whole_range_of_a_partial_version() {
        table(&[
            ("!=1.2.3", "1.2.3", false),
            ("!=1.2.3", "1.2.4", true),
            ("!=1.2.3", "1.2.3+meta", false),
            ("!=1.2", "1.2.0", false),
            ("!=1.2", "1.2.9", false),
            ("!=1.2", "1.3.0", true),
            ("!=1.2", "2.2.0", true),
            ("!=1.x", "1.9.9", false),
            ("!=1.x", "2.0.0", true),
            ("!=1.2.x", "1.2.5", false),
            ("!=1.2.x", "1.3.0", true),
            ("!=*", "1.0.0", true),
            ("!=*", "0.0.0", false),
            ("!= 1.2.3", "1.0.0", true),
        ]);
    }

    #[test]
    fn greater_than_with_a_partial_version_needs_the_next_part_up() {
        table(&[
            (">1.2.3", "1.2.4", true),
            (">1.2.3", "1.2.3", false),
            (">1.2.3", "1.2.3+b", false),
            (">1.2", "1.2.9", false),
            (">1.2", "1.3.0", true),
            (">1.2", "2.0.0", true),
            (">1.2", "0.9.0", false),
            (">1", "1.9.9", false),
            (">1", "2.0.0", true),
            (">1.x", "1.5.0", false),
            (">1.2.x", "1.3.0", true),
            (">0", "0.0.1", false),
            (">0", "1.0.0", true),
            (">*", "0.0.1", true),
            (">*", "0.0.0", false),
            ("> 2.0.0", "10.0.0", true),
        ]);
    }

    #[test]
    fn less_than_treats_missing_parts_as_zero() {
        table(&[
            ("<1.2.3", "1.2.2", true),
            ("<1.2.3", "1.2.3", false),
            ("<1.2", "1.1.9", true),
            ("<1.2", "1.2.0", false),
            ("<1.2", "1.2.1", false),
            ("<1", "0.99.0", true),
            ("<1", "1.0.0", false),
            ("<1.x", "0.5.0", true),
            ("<1.x", "1.0.1", false),
            ("<2.x", "1.9.0", true),
            ("<11", "10.9.9", true),
            ("<0.0.1", "0.0.0", true),
        ]);
    }

    #[test]
    fn greater_or_equal_treats_missing_parts_as_zero() {
        table(&[
            (">=1.2.3", "1.2.3", true),
            (">=1.2.3", "1.2.2", false),
            (">=1.2", "1.2.0", true),
            (">=1.2", "1.1.99", false),
            (">= 1.2", "5.0.0", true),
            ("=>1.2", "1.2.0", true),
            (">=1.x", "1.0.0", true),
            (">=1.x", "0.9.0", false),
            (">=0", "0.0.0", true),
            (">=v2", "v2.0.0", true),
        ]);
    }

    #[test]
    fn less_or_equal_with_a_partial_version_covers_its_whole_range() {
        table(&[
            ("<=1.2.3", "1.2.3", true),
            ("<=1.2.3", "1.2.4", false),
            ("<=1.2", "1.2.99", true),
            ("<=1.2", "1.3.0", false),
            ("<=1.2", "0.9.0", true),
            ("<=1", "1.99.99", true),
            ("<=1", "2.0.0", false),
            ("<=1.x", "1.5.0", true),
            ("<=2.x", "3.0.0", false),
            ("=<1.2", "1.2.5", true),
            ("<=1.2.x", "1.2.500", true),
            ("<=1.2.x", "1.3.0", false),
        ]);
    }

    #[test]
    fn tilde_allows_patch_updates_or_minor_updates_when_only_a_major_is_given() {
        table(&[
            ("~1.2.3", "1.2.3", true),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.2.2", false),
            ("~1.2.3", "1.3.0", false),
            ("~1.2", "1.2.0", true),
            ("~1.2", "1.2.7", true),
            ("~1.2", "1.3.0", false),
            ("~1", "1.0.0", true),
            ("~1", "1.9.0", true),
            ("~1", "2.0.0", false),
            ("~1.x", "1.4.0", true),
            ("~>1.2.3", "1.2.5", true),
            ("~>1.2", "1.3.0", false),
            ("~ 1.2.3", "1.2.4", true),
            ("~0.2.3", "0.2.9", true),
            ("~0.2.3", "0.3.0", false),
            ("~0", "0.9.0", true),
            ("~0", "1.0.0", false),
            ("~0.0", "0.0.9", true),
            ("~0.0", "0.1.0", false),
            ("~0.0.0", "5.1.0", true),
            ("~*", "3.2.1", true),
        ]);
    }

    #[test]
    fn caret_allows_updates_that_keep_the_leftmost_non_zero_part() {
        table(&[
            ("^1.2.3", "1.2.3", true),
            ("^1.2.3", "1.9.0", true),
            ("^1.2.3", "1.2.2", false),
            ("^1.2.3", "2.0.0", false),
            ("^1.2", "1.2.0", true),
            ("^1.2", "1.99.0", true),
            ("^1.2", "1.1.9", false),
            ("^1", "1.0.0", true),
            ("^1", "1.7.3", true),
            ("^1", "2.0.0", false),
            ("^1.x", "1.5.0", true),
            ("^2.x", "1.5.0", false),
            ("^0.2.3", "0.2.3", true),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^0.2.3", "1.0.0", false),
            ("^0.2", "0.2.0", true),
            ("^0.2", "0.3.0", false),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0.0.3", "0.1.0", false),
            ("^0.0", "0.0.7", true),
            ("^0.0", "0.1.0", false),
            ("^0", "0.0.1", true),
            ("^0", "0.9.9", true),
            ("^0", "1.0.0", false),
            ("^0.0.0", "0.0.0", true),
            ("^0.0.0", "0.0.1", false),
            ("^*", "0.0.0", true),
            ("^*", "1.0.0", false),
            ("^ 1.2", "1.4.0", true),
        ]);
    }

    #[test]
    fn a_prerelease_only_satisfies_alternatives_that_name_a_prerelease() {
        table(&[
            (">=1.0.0", "1.5.0-rc.1", false),
            ("*", "1.2.3-alpha", false),
            ("^1.2", "1.3.0-beta", false),
            ("~1.2", "1.2.5-beta", false),
            ("<2.0.0", "1.0.0-rc.1", false),
            ("!=1.0.0", "1.0.0-rc.1", false),
            (">=1.2.3-0", "1.2.3-alpha", true),
            (">=1.2.3-0", "1.3.0-alpha", true),
            (">=1.2.3-beta", "1.2.3-alpha", false),
            (">=1.2.3-alpha", "1.2.3", true),
            (">=1.0.0-0, <2.0.0", "1.9.0-rc.1", true),
            (">=1.0.0-0 <2.0.0", "2.0.0-rc.1", true),
            (">=1.0.0, <2.0.0-0", "1.9.0-rc.1", true),
            (">=3.0.0 || >=1.0.0-0", "1.5.0-rc.1", true),
            (">=1.0.0 || <1.0.0-0", "1.5.0-rc.1", false),
            (">= 1.0.0 <= 2.0.0-beta", "1.0.1-beta", true),
            (">= 1.0.0 <= 2.0.0-beta", "2.0.0-rc.1", false),
            ("~1.2.3-beta.2", "1.2.3-beta.4", true),
            ("~1.2.3-beta.2", "1.2.4-beta.1", true),
            ("~1.2.3-beta.2", "1.3.0-beta.1", false),
            ("^1.2.0-alpha.0", "1.2.1-alpha.1", true),
            ("^1.2.0-alpha.2", "1.2.0-alpha.1", false),
            ("^1.2.x-alpha", "1.2.0-beta", true),
            ("*-0", "1.2.3-alpha.1", true),
            ("1.2.x-0", "1.2.3-rc.1", true),
            ("!=1.2.x-alpha", "1.2.3-alpha", false),
            ("!=1.2.x-alpha", "1.2.3-beta", true),
            ("<0-z", "0.0.0-alpha", true),
            (">0-0", "0.0.1-alpha", false),
            (">0.0.0-0", "0.0.0-alpha", true),
            ("1.2.3-rc.1 || 1.2.4", "1.2.3-rc.1", true),
        ]);
    }

    #[test]
    fn comparisons_are_anded_with_commas_or_whitespace_and_ored_with_bars() {
        table(&[
            (">1.1, <2", "1.5.0", true),
            (">1.1, <2", "1.1.5", false),
            (">1.1 <2", "2.0.0", false),
            (">1.1    <3", "2.5.0", true),
            (">1.1 ,<3", "2.5.0", true),
            ("\t>=1.0\n<2.0 ", "1.0.0", true),
            (">=1.1, <2, !=1.2.3", "1.2.3", false),
            (">=1.1, <2, !=1.2.3", "1.2.4", true),
            (">=1.1 <2 !=1.2.3 || >3", "4.0.0", true),
            (">=1.1 <2 !=1.2.3 || >3", "3.0.0", false),
            (">=1.1 <2 !=1.2.3 || >=3", "3.0.0", true),
            ("1.x || 3.x", "2.0.0", false),
            ("1.x || 3.x", "3.4.0", true),
            ("1.2.3||1.2.5", "1.2.5", true),
            ("^1.2 || ^2.1", "2.0.0", false),
        ]);
    }

    #[test]
    fn hyphen_ranges_include_both_ends() {
        table(&[
            ("1.2 - 1.4.5", "1.2.0", true),
            ("1.2 - 1.4.5", "1.4.5", true),
            ("1.2 - 1.4.5", "1.4.6", false),
            ("1.2 - 1.4.5", "1.1.9", false),
            ("1.2.3 - 2", "2.9.0", true),
            ("1.2.3 - 2", "3.0.0", false),
            ("1.1 - 2", "1.1.1", true),
            ("v1 - v2.x", "2.5.0", true),
            ("1.0.0 - 2.0.0 <=1.5.0", "1.6.0", false),
            ("1.0.0 - 2.0.0, !=1.5.0", "1.5.0", false),
            ("1 - 2 || 5 - 6", "5.5.0", true),
            ("1 - 2 || 5 - 6", "3.0.0", false),
            ("1.1-3", "4.3.2", false),
            ("1.1-3", "1.1.0-2", false),
            ("1.1-3", "1.1.7", true),
        ]);
    }

    #[test]
    fn malformed_constraints_are_rejected_with_a_reason() {
        let rejected = [
            ("", ConstraintError::Empty),
            ("   ", ConstraintError::Empty),
            ("||", ConstraintError::EmptyAlternative { number: 1 }),
            ("1.0 ||", ConstraintError::EmptyAlternative { number: 2 }),
        ];
        for (text, want) in rejected {
            assert_eq!(Constraint::parse(text), Err(want), "{text:?}");
        }
        for text in [
            "latest",
            "foo",
            ">= bar",
            "BAR >= 1.2.3",
            "V1.2.3",
            "1.2.3.4",
            "12.3.34~ 1.2.3",
            ">1<2",
            ">=1 - 2",
            "1 - >2",
            "1 -",
            "1 -2",
            "1- 2",
            ">=",
            "1.",
            "1..2",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-01",
            "1x.2",
            "1.xx",
            "1.2.3,",
            ">=1.0,,<2",
            "99999999999999999999.0.0",
            "1.2.3 $",
            "1 | 2",
        ] {
            assert!(
                matches!(
                    Constraint::parse(text),
                    Err(ConstraintError::Invalid { .. })
                ),
                "{text:?} should be rejected"
            );
        }
        let too_long = format!(">={}", "1".repeat(MAX_CONSTRAINT_LEN));
        assert_eq!(Constraint::parse(&too_long), Err(ConstraintError::TooLong));
        let many = vec!["1"; MAX_ALTERNATIVES + 1].join("||");
        assert_eq!(
            Constraint::parse(&many),
            Err(ConstraintError::TooManyAlternatives)
        );
        assert!(Constraint::parse(&vec!["1"; MAX_ALTERNATIVES].join("||")).is_ok());
    }

    #[test]
    fn errors_name_the_offending_part() {
        let error = Constraint::parse(">=1.0, <2 ~ x1").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid constraint `x1`: a version part is a number or one of the wildcards `x`, `X`, `*`"
        );
        let error = Constraint::parse(">=1 - 2").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid constraint `- 2`: a hyphen range takes bare versions on both sides (`1.2 - 1.4`)"
        );
        assert_eq!(
            Constraint::parse("").unwrap_err().to_string(),
            "the constraint is empty"
        );
        assert_eq!(
            Constraint::parse("^1, >=").unwrap_err().to_string(),
            "invalid constraint `>=`: expected a version after the operator"
        );
    }

    #[test]
    fn display_keeps_the_original_text() {
        let constraint: Constraint = " ^1.2, !=1.2.5 ".parse().unwrap();
        assert_eq!(constraint.to_string(), " ^1.2, !=1.2.5 ");
        assert_eq!(constraint.as_str(), " ^1.2, !=1.2.5 ");
    }
}
