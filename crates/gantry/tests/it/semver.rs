//! `gantry semver check` and `gantry semver parse`.

use crate::{gantry, stderr, stdout};

#[test]
fn check_prints_whether_the_version_satisfies_the_constraint() {
    for (constraint, version, want) in [
        ("^1.2", "1.9.0", "true"),
        ("^1.2", "2.0.0", "false"),
        ("~1.2.3", "v1.2.9", "true"),
        (">= 1.0, < 2.0 || 3.x", "3.4.5", "true"),
        ("1.2 - 1.4.5", "1.4.6", "false"),
        (">=1.0.0", "1.5.0-rc.1", "false"),
        (">=1.0.0-0", "1.5.0-rc.1", "true"),
        ("*", "0.0.1", "true"),
    ] {
        let output = gantry(&["semver", "check", "--constraint", constraint, version]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{constraint}: {}",
            stderr(&output)
        );
        assert_eq!(
            stdout(&output),
            format!("{want}\n"),
            "`{constraint}` with {version}"
        );
    }
}

#[test]
fn check_fails_on_an_invalid_or_empty_constraint_or_version() {
    for (constraint, version, want) in [
        (
            "",
            "1.0.0",
            "error: --constraint ``: the constraint is empty",
        ),
        ("  ", "1.0.0", "the constraint is empty"),
        (">=1.0 <", "1.0.0", "expected a version after the operator"),
        ("latest", "1.0.0", "invalid constraint `latest`"),
        ("^1", "latest", "error: `latest` is not a semantic version"),
    ] {
        let output = gantry(&["semver", "check", "--constraint", constraint, version]);
        assert_eq!(output.status.code(), Some(1), "{constraint:?}");
        assert!(stdout(&output).is_empty());
        assert!(
            stderr(&output).contains(want),
            "{constraint:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn parse_prints_the_normalised_version() {
    for (version, want) in [
        ("v1.2", "1.2.0"),
        ("1", "1.0.0"),
        ("01.2.3", "1.2.3"),
        ("1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5"),
    ] {
        let output = gantry(&["semver", "parse", version]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{version}: {}",
            stderr(&output)
        );
        assert_eq!(stdout(&output), format!("{want}\n"));
    }
    for bad in ["latest", "vv1.2.3", "1.2.3.4", "1.2.3-01", ""] {
        let output = gantry(&["semver", "parse", bad]);
        assert_eq!(output.status.code(), Some(1), "{bad:?}");
        assert!(
            stderr(&output).contains("is not a semantic version"),
            "{bad:?}"
        );
    }
}

#[test]
fn strict_parse_applies_kargos_strict_semvers_rule() {
    for good in ["1.2.3", "v1.2.3", "v0.0.1-rc.1"] {
        let output = gantry(&["semver", "parse", "--strict", good]);
        assert_eq!(output.status.code(), Some(0), "{good}: {}", stderr(&output));
    }
    for bad in ["v1.2", "1", "01.2.3"] {
        let output = gantry(&["semver", "parse", "--strict", bad]);
        assert_eq!(output.status.code(), Some(1), "{bad}");
        assert!(
            stderr(&output).contains("is not a strict semantic version"),
            "{bad}: {}",
            stderr(&output)
        );
    }
}
