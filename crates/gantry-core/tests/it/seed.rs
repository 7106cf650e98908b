//! The seed articles' pipelines validate without errors, and leaving out the Project is caught.

use gantry_api::diagnostic::Severity;
use gantry_api::{LoadOptions, ResourceSet};
use gantry_core::lint;

fn validate(paths: &[std::path::PathBuf]) -> lint::Report {
    let set = ResourceSet::load_paths(paths, LoadOptions::default());
    lint::validate(&set)
}

#[test]
fn seed_pipelines_have_no_errors() {
    for dir in ["pipeline", "pipeline-embedded", "architecture"] {
        let path = super::repo_root().join("tests/fixtures/seed").join(dir);
        let report = validate(&[path]);
        let errors: Vec<String> = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{} {}", d.code(), d.message))
            .collect();
        assert!(errors.is_empty(), "{dir}: {errors:#?}");
        assert!(
            report.diagnostics.len() <= 3,
            "{dir}: {:#?}",
            report.diagnostics
        );
    }
}

#[test]
fn leaving_out_the_project_reports_that_nothing_will_be_promoted() {
    let dir = super::repo_root().join("tests/fixtures/seed/pipeline");
    let files: Vec<_> = ["stage.yaml", "warehouse.yaml", "promotion-task.yaml"]
        .iter()
        .map(|name| dir.join(name))
        .collect();
    let report = validate(&files);
    let no_project: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.code() == "G0301")
        .collect();
    assert_eq!(no_project.len(), 1, "{:#?}", report.diagnostics);
    let location = no_project[0].location.as_ref().unwrap();
    assert!(location.file.name().ends_with("stage.yaml"));
    assert_eq!(location.line_col(), (4, 9));
    assert!(
        no_project[0]
            .message
            .contains("nothing in this namespace will ever be promoted")
    );
}
