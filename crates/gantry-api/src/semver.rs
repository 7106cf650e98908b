//! Semantic versions the way Kargo reads them (Masterminds semver v3): [`Version::parse`] is the
//! lenient `NewVersion` (a leading `v` is allowed, minor and patch may be left out: `1.2` is
//! `1.2.0`), [`Version::parse_strict`] is `StrictNewVersion` (exactly `X.Y.Z`, no leading zeros)
//! and [`Version::parse_tag`] is Kargo's `strictSemvers` rule combining the two. The original text
//! is kept, so that sorting and output can use it.
//!
//! [`Constraint`] (in [`constraint`]) checks versions against Masterminds range syntax
//! (`^1.2`, `~1.2.3`, `>= 1.0, < 2.0 || 3.x`, `1.2 - 1.4.5`).

pub mod constraint;

use std::cmp::Ordering;
use std::fmt;

pub use constraint::{Constraint, ConstraintError};

/// Longest version text accepted (Masterminds' `MaxVersionLen`).
pub const MAX_VERSION_LEN: usize = 256;

/// A parsed version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
    /// Prerelease (after `-`), empty when none.
    pub prerelease: String,
    /// Build metadata (after `+`), empty when none.
    pub metadata: String,
    /// The text it was parsed from.
    pub original: String,
}

/// Why a version did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SemverError {
    /// Not of the form `[v]MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]`.
    #[error("invalid semantic version")]
    Invalid,
    /// A numeric prerelease identifier with a leading zero.
    #[error("version segment starts with 0")]
    LeadingZero,
    /// A part that does not fit 64 bits.
    #[error("version segment is too large")]
    TooLarge,
    /// Longer than [`MAX_VERSION_LEN`] bytes.
    #[error("version is longer than {MAX_VERSION_LEN} bytes")]
    TooLong,
}

/// Dot-separated, non-empty identifiers of `[0-9A-Za-z-]` (prerelease and metadata syntax).
pub(crate) fn identifiers_ok(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Checks a prerelease: valid identifiers, numeric ones without a leading zero.
pub(crate) fn check_prerelease(text: &str) -> Result<(), SemverError> {
    if !identifiers_ok(text) {
        return Err(SemverError::Invalid);
    }
    if text
        .split('.')
        .any(|id| id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(SemverError::LeadingZero);
    }
    Ok(())
}

impl Version {
    /// Parses leniently, as Masterminds' `NewVersion` does: one optional leading `v`, one to three
    /// numeric parts (leading zeros allowed), then `-PRERELEASE` and `+METADATA`.
    pub fn parse(text: &str) -> Result<Self, SemverError> {
        if text.len() > MAX_VERSION_LEN {
            return Err(SemverError::TooLong);
        }
        let body = text.strip_prefix('v').unwrap_or(text);
        let (body, metadata) = match body.split_once('+') {
            Some((b, m)) => {
                if !identifiers_ok(m) {
                    return Err(SemverError::Invalid);
                }
                (b, m)
            }
            None => (body, ""),
        };
        let (core, prerelease) = match body.split_once('-') {
            Some((c, p)) => {
                check_prerelease(p)?;
                (c, p)
            }
            None => (body, ""),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(SemverError::Invalid);
        }
        let mut numbers = [0_u64; 3];
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SemverError::Invalid);
            }
            numbers[i] = part.parse().map_err(|_| SemverError::TooLarge)?;
        }
        Ok(Self {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            prerelease: prerelease.to_owned(),
            metadata: metadata.to_owned(),
            original: text.to_owned(),
        })
    }

    /// Parses strictly, as Masterminds' `StrictNewVersion` does: exactly `MAJOR.MINOR.PATCH`
    /// without a `v` and without leading zeros, then `-PRERELEASE` and `+METADATA`.
    pub fn parse_strict(text: &str) -> Result<Self, SemverError> {
        if text.len() > MAX_VERSION_LEN {
            return Err(SemverError::TooLong);
        }
        let mut parts = text.splitn(3, '.');
        let (Some(major), Some(minor), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SemverError::Invalid);
        };
        let (rest, metadata) = match rest.split_once('+') {
            Some((r, m)) => {
                if !identifiers_ok(m) {
                    return Err(SemverError::Invalid);
                }
                (r, m)
            }
            None => (rest, ""),
        };
        let (patch, prerelease) = match rest.split_once('-') {
            Some((p, pre)) => {
                check_prerelease(pre)?;
                (p, pre)
            }
            None => (rest, ""),
        };
        let mut numbers = [0_u64; 3];
        for (i, part) in [major, minor, patch].into_iter().enumerate() {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SemverError::Invalid);
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(SemverError::LeadingZero);
            }
            numbers[i] = part.parse().map_err(|_| SemverError::TooLarge)?;
        }
        Ok(Self {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            prerelease: prerelease.to_owned(),
            metadata: metadata.to_owned(),
            original: text.to_owned(),
        })
    }

    /// Parses an image or git tag the way Kargo's `strictSemvers` setting reads it: leniently
    /// ([`Version::parse`]); with `strict`, the tag must also be a strict version once one leading
    /// `v` is removed (`v1.2.3` passes, `1.2`, `01.2.3` and `vv1.2.3` do not). The result keeps
    /// the tag as its `original`.
    pub fn parse_tag(tag: &str, strict: bool) -> Result<Self, SemverError> {
        let version = Self::parse(tag)?;
        if strict {
            Self::parse_strict(tag.strip_prefix('v').unwrap_or(tag))?;
        }
        Ok(version)
    }

    /// The next major version (prerelease and metadata cleared).
    #[must_use]
    pub fn inc_major(&self) -> Self {
        self.derived(self.major + 1, 0, 0)
    }

    /// The next minor version.
    #[must_use]
    pub fn inc_minor(&self) -> Self {
        self.derived(self.major, self.minor + 1, 0)
    }

    /// The next patch version; a prerelease becomes its release (`1.2.3-rc.1` → `1.2.3`).
    #[must_use]
    pub fn inc_patch(&self) -> Self {
        if self.prerelease.is_empty() {
            self.derived(self.major, self.minor, self.patch + 1)
        } else {
            self.derived(self.major, self.minor, self.patch)
        }
    }

    fn derived(&self, major: u64, minor: u64, patch: u64) -> Self {
        let mut v = Self {
            major,
            minor,
            patch,
            prerelease: String::new(),
            metadata: String::new(),
            original: String::new(),
        };
        v.original = v.to_string();
        if self.original.starts_with('v') {
            v.original.insert(0, 'v');
        }
        v
    }

    /// Precedence order (metadata ignored).
    pub fn compare(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_prerelease(&self.prerelease, &other.prerelease))
    }
}

pub(crate) fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(mine), Some(theirs)) => {
                let ordering = match (mine.parse::<u64>(), theirs.parse::<u64>()) {
                    (Ok(m), Ok(t)) => m.cmp(&t),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => mine.cmp(theirs),
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.prerelease.is_empty() {
            write!(f, "-{}", self.prerelease)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_leniently() {
        let v = Version::parse("v1.2").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (1, 2, 0));
        assert_eq!(v.to_string(), "1.2.0");
        assert_eq!(v.original, "v1.2");
        let v = Version::parse("1.0.0-alpha.1+build.5").unwrap();
        assert_eq!(v.prerelease, "alpha.1");
        assert_eq!(v.metadata, "build.5");
        assert!(Version::parse("1.2.3.4").is_err());
        assert!(Version::parse("latest").is_err());
        assert!(Version::parse("").is_err());
        assert!(Version::parse("1.2.3-").is_err());
        assert_eq!(Version::parse("1.2.3-01"), Err(SemverError::LeadingZero));
    }

    #[test]
    fn orders_by_precedence() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
            "2.0.0",
        ];
        for pair in order.windows(2) {
            let a = Version::parse(pair[0]).unwrap();
            let b = Version::parse(pair[1]).unwrap();
            assert_eq!(a.compare(&b), Ordering::Less, "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn increments() {
        let v = Version::parse("1.2.3-rc.1+b").unwrap();
        assert_eq!(v.inc_patch().to_string(), "1.2.3");
        assert_eq!(v.inc_minor().to_string(), "1.3.0");
        assert_eq!(v.inc_major().to_string(), "2.0.0");
        assert_eq!(
            Version::parse("1.2.3").unwrap().inc_patch().to_string(),
            "1.2.4"
        );
    }

    #[test]
    fn strict_parsing_wants_exactly_three_parts_without_prefix_or_leading_zeros() {
        for ok in [
            "1.2.3",
            "0.0.0",
            "10.20.30",
            "1.2.3-rc.1",
            "1.2.3-rc-1+build.5",
            "1.2.3+meta",
        ] {
            assert!(Version::parse_strict(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("v1.2.3", SemverError::Invalid),
            ("1.2", SemverError::Invalid),
            ("1", SemverError::Invalid),
            ("1.2.3.4", SemverError::Invalid),
            ("01.2.3", SemverError::LeadingZero),
            ("1.02.3", SemverError::LeadingZero),
            ("1.2.03", SemverError::LeadingZero),
            ("1.2.3-01", SemverError::LeadingZero),
            ("1..3", SemverError::Invalid),
            ("", SemverError::Invalid),
            ("1.2.3-", SemverError::Invalid),
            ("1.2.3+", SemverError::Invalid),
            ("1.2.x", SemverError::Invalid),
            ("1.2.99999999999999999999", SemverError::TooLarge),
        ] {
            assert_eq!(Version::parse_strict(bad), Err(why), "{bad}");
        }
    }

    #[test]
    fn tags_follow_kargos_strict_semvers_rule() {
        let strict = |tag: &str| Version::parse_tag(tag, true).is_ok();
        let lenient = |tag: &str| Version::parse_tag(tag, false).is_ok();
        assert!(strict("1.2.3") && strict("v1.2.3") && strict("v1.2.3-rc.1+b"));
        assert!(!strict("1.2") && !strict("v1") && !strict("01.2.3") && !strict("vv1.2.3"));
        assert!(lenient("1.2") && lenient("v1") && lenient("01.2.3"));
        assert!(!lenient("vv1.2.3") && !lenient("latest") && !lenient("1.2.3.4"));
        let v = Version::parse_tag("v1.2.3", true).unwrap();
        assert_eq!(
            (v.original.as_str(), v.to_string()),
            ("v1.2.3", "1.2.3".to_owned())
        );
    }

    #[test]
    fn versions_longer_than_the_limit_are_refused() {
        let long = format!("1.2.3-{}", "a".repeat(MAX_VERSION_LEN));
        assert_eq!(Version::parse(&long), Err(SemverError::TooLong));
        assert_eq!(Version::parse_strict(&long), Err(SemverError::TooLong));
        let fits = format!("1.2.3-{}", "a".repeat(MAX_VERSION_LEN - 6));
        assert!(Version::parse(&fits).is_ok());
    }
}
