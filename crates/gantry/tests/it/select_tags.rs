//! `gantry select-tags`: Kargo's SemVer and Lexical tag selection over stdin.

use crate::{gantry_with_stdin, stderr, stdout};

const TAGS: &str =
    "latest\n1.0\nv1.10.0\n1.9.0\nv1.0.0\n2.0.0-rc.1\n1.0.0\n\n  1.9.1  \nsha-abc123\n";

fn select(args: &[&str]) -> Vec<String> {
    let mut full = vec!["select-tags"];
    full.extend_from_slice(args);
    let output = gantry_with_stdin(&full, TAGS);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        stderr(&output)
    );
    stdout(&output).lines().map(ToOwned::to_owned).collect()
}

#[test]
fn semver_is_the_default_and_orders_versions_with_ties_by_tag() {
    assert_eq!(
        select(&[]),
        [
            "2.0.0-rc.1",
            "v1.10.0",
            "1.9.1",
            "1.9.0",
            "v1.0.0",
            "1.0.0",
            "1.0"
        ]
    );
}

#[test]
fn a_constraint_and_strict_semvers_narrow_the_candidates() {
    assert_eq!(
        select(&[
            "--strategy",
            "SemVer",
            "--constraint",
            "^1.0",
            "--strict-semvers",
            "true"
        ]),
        ["v1.10.0", "1.9.1", "1.9.0", "v1.0.0", "1.0.0"]
    );
    assert_eq!(
        select(&["--constraint", "~1.9 || 1.0"]),
        ["1.9.1", "1.9.0", "v1.0.0", "1.0.0", "1.0"]
    );
    assert_eq!(select(&["--constraint", ">=2.0.0-0"]), ["2.0.0-rc.1"]);
}

#[test]
fn lexical_sorts_tags_descending_by_bytes() {
    assert_eq!(
        select(&["--strategy", "Lexical", "--limit", "4"]),
        ["v1.10.0", "v1.0.0", "sha-abc123", "latest"]
    );
}

#[test]
fn regexes_filter_and_ignore_wins() {
    assert_eq!(
        select(&[
            "--strategy",
            "lexical",
            "--allow-regex",
            "^v",
            "--allow-regex",
            "^sha-",
            "--ignore-regex",
            "10",
        ]),
        ["v1.0.0", "sha-abc123"]
    );
    assert_eq!(
        select(&["--limit", "2", "--ignore-regex", "rc"]),
        ["v1.10.0", "1.9.1"]
    );
}

#[test]
fn invalid_regexes_and_constraints_fail_with_a_clear_message() {
    for (args, want) in [
        (
            vec![
                "select-tags",
                "--ignore-regex",
                "ok",
                "--ignore-regex",
                "[z-a]",
            ],
            "error: invalid --ignore-regex `[z-a]`:",
        ),
        (
            vec!["select-tags", "--constraint", ">= 1.x.y"],
            "error: --constraint `>= 1.x.y`: invalid constraint",
        ),
        (
            vec!["select-tags", "--constraint", "1 ||"],
            "alternative 2 of the constraint is empty",
        ),
    ] {
        let output = gantry_with_stdin(&args, TAGS);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(want),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty());
    }
}

#[test]
fn lexical_ignores_a_constraint_with_a_warning() {
    let output = gantry_with_stdin(
        &[
            "select-tags",
            "--strategy",
            "Lexical",
            "--constraint",
            "^1",
            "--limit",
            "1",
        ],
        TAGS,
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "v1.10.0\n");
    assert!(stderr(&output).contains("warning: --constraint is ignored by the Lexical strategy"));
}

#[test]
fn a_zero_limit_is_a_usage_error() {
    let output = gantry_with_stdin(&["select-tags", "--limit", "0"], TAGS);
    assert_eq!(output.status.code(), Some(2));
}
