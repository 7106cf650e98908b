//! Semantic versions the way Kargo reads them (Masterminds semver v3 `NewVersion`): a leading
//! `v` is allowed, minor and patch may be left out (`1.2` is `1.2.0`), the original text is kept.

use std::cmp::Ordering;
use std::fmt;

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
}

fn identifiers_ok(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Version {
    /// Parses leniently, as Masterminds' `NewVersion` does.
    pub fn parse(text: &str) -> Result<Self, SemverError> {
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
                if !identifiers_ok(p) {
                    return Err(SemverError::Invalid);
                }
                if p.split('.').any(|id| {
                    id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit())
                }) {
                    return Err(SemverError::LeadingZero);
                }
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

fn compare_prerelease(a: &str, b: &str) -> Ordering {
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
}
