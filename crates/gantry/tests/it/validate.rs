//! `gantry validate`: exit codes, rendering, JSON, secrets.

use crate::{gantry, stdout};

#[test]
fn seed_pipeline_validates_with_exit_0() {
    let output = gantry(&["validate", "tests/fixtures/seed/pipeline"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    insta::assert_snapshot!("seed_pipeline", stdout(&output));
}

#[test]
fn seed_without_project_fails_with_exit_1_and_points_at_the_stage() {
    let output = gantry(&[
        "validate",
        "tests/fixtures/seed/pipeline/stage.yaml",
        "tests/fixtures/seed/pipeline/warehouse.yaml",
        "tests/fixtures/seed/pipeline/promotion-task.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("seed_without_project", stdout(&output));
}

#[test]
fn json_format_lists_findings_with_positions() {
    let output = gantry(&[
        "validate",
        "--format",
        "json",
        "tests/fixtures/seed/pipeline/stage.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let list: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let list = list.as_array().unwrap();
    let no_project = list.iter().find(|d| d["code"] == "G0301").unwrap();
    assert_eq!(no_project["severity"], "error");
    assert_eq!(
        no_project["file"],
        "tests/fixtures/seed/pipeline/stage.yaml"
    );
    assert_eq!(no_project["line"], 4);
    assert_eq!(no_project["column"], 9);
    let unknown_warehouse = list.iter().find(|d| d["code"] == "G0201").unwrap();
    assert_eq!(unknown_warehouse["line"], 12);
}

#[test]
fn unreadable_paths_are_errors_not_crashes() {
    let output = gantry(&["validate", "tests/fixtures/does-not-exist"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("G0001"), "{text}");
    assert!(text.contains("does-not-exist"), "{text}");
}

#[test]
fn list_checks_prints_the_catalogue() {
    let output = gantry(&["validate", "--list-checks"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.contains("G0301  error    no-project"), "{text}");
}

#[test]
fn secrets_never_appear_in_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("leaky.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: p\n  labels:\n    kargo.akuity.io/cred-type: git\nstringData:\n  password: hunter2-very-secret\n  pin: 12345987\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata:\n  name: t\n  namespace: p\nspec:\n  steps:\n  - uses: git-clone\n    config:\n      repoURL: https://oauth2:glpat-SECRETTOKEN@gitlab.com/org/repo.git\n      checkout: [{path: ./repo}]\n",
    )
    .unwrap();
    for format in ["human", "json"] {
        let output = gantry(&["validate", "--format", format, file.to_str().unwrap()]);
        let text = stdout(&output);
        assert!(text.contains("G0309") && text.contains("G0006"), "{text}");
        assert!(!text.contains("12345987"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("SECRETTOKEN"), "{text}");
    }
}

#[test]
fn other_kinds_are_summarised_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.yaml");
    std::fs::write(
        &file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n---\nreplicas: 3\n",
    )
    .unwrap();
    let output = gantry(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(!text.contains("G0004"), "{text}");
    assert!(
        text.contains("skipped (not read by gantry): Deployment ×2, non-resource documents ×1"),
        "{text}"
    );
    let output = gantry(&["validate", "--show-skipped", file.to_str().unwrap()]);
    let text = stdout(&output);
    assert_eq!(text.matches("G0004").count(), 2, "{text}");
    assert!(text.contains("G0003"), "{text}");
}
