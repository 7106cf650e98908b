//! One fixture per check under `tests/fixtures/checks/`. Each file is validated on its own and
//! declares what it must produce in header lines:
//!
//! ```yaml
//! # expect: G0304@21, G0305@12
//! ```
//!
//! The findings must be exactly those (code and line), except that notes of codes the fixture
//! does not expect are ignored. The file name starts with the code it is about.

use std::collections::BTreeSet;

use gantry_api::diagnostic::{CHECKS, Severity};
use gantry_api::{LoadOptions, ResourceSet};
use gantry_core::lint;

fn fixtures() -> Vec<std::path::PathBuf> {
    let dir = super::repo_root().join("tests/fixtures/checks");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

fn expected(text: &str) -> BTreeSet<(String, usize)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# expect:"))
        .flat_map(|list| list.split(','))
        .map(|item| {
            let (code, line) = item.trim().split_once('@').expect("CODE@LINE");
            (code.to_owned(), line.parse().expect("line number"))
        })
        .collect()
}

#[test]
fn every_check_fixture_produces_exactly_its_expected_findings() {
    let mut failures = Vec::new();
    let files = fixtures();
    assert!(!files.is_empty());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let want = expected(&text);
        let code = &name[..5];
        assert!(
            want.iter().any(|(c, _)| c == code),
            "{name}: a fixture must expect the code it is named after"
        );
        let set = ResourceSet::load_str(&name, &text, LoadOptions::default());
        let mut report = lint::validate(&set);
        // The binary adds the RGD checks (gantry-graph sits above gantry-core).
        report.diagnostics.extend(gantry_graph::lint::check(&set));
        let expected_codes: BTreeSet<&str> = want.iter().map(|(c, _)| c.as_str()).collect();
        let got: BTreeSet<(String, usize)> = report
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note || expected_codes.contains(d.code()))
            .map(|d| {
                let line = d.location.as_ref().map_or(0, |l| l.line_col().0);
                (d.code().to_owned(), line)
            })
            .collect();
        if got != want {
            let detail: Vec<String> = report
                .diagnostics
                .iter()
                .map(|d| {
                    let line = d.location.as_ref().map_or(0, |l| l.line_col().0);
                    format!("    {}@{line} {}", d.code(), d.message)
                })
                .collect();
            failures.push(format!(
                "{name}:\n  want {want:?}\n  got  {got:?}\n{}",
                detail.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn every_check_has_a_fixture() {
    let names: Vec<String> = fixtures()
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&str> = CHECKS
        .iter()
        // G0001 (unreadable path) cannot be a file; the CLI tests cover it.
        .filter(|check| check.code != "G0001")
        .filter(|check| !names.iter().any(|name| name.starts_with(check.code)))
        .map(|check| check.code)
        .collect();
    assert!(missing.is_empty(), "checks without a fixture: {missing:?}");
}
