//! `gantry graph crd` and `gantry graph order` on the fixtures of `tests/fixtures/graph/`.

use crate::{gantry, stderr, stdout};

#[test]
fn graph_crd_prints_the_generated_crd_as_yaml() {
    let output = gantry(&[
        "graph",
        "crd",
        "--rgd",
        "tests/fixtures/graph/web-application.yaml",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn graph_order_prints_apply_order_and_deletion_layers() {
    let output = gantry(&[
        "graph",
        "order",
        "--rgd",
        "tests/fixtures/graph/webapp.yaml",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output), @r"
    apply order (ResourceGraphDefinition webapp.kro.run):
       1. config      ConfigMap
       2. deployment  Deployment  (after config)
       3. service     Service  (after deployment)
       4. ingress     Ingress  (conditional; after service)
    deletion layers (first deleted first):
       1. ingress
       2. service
       3. deployment
       4. config
    ");
}

#[test]
fn graph_order_as_json_lists_dependencies_and_apply_orders() {
    let output = gantry(&[
        "graph",
        "order",
        "--rgd",
        "tests/fixtures/graph/external-ref.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        value["topologicalOrder"],
        serde_json::json!(["platform", "deployment"])
    );
    assert_eq!(value["resources"][0]["external"], true);
    assert_eq!(
        value["resources"][1]["dependencies"],
        serde_json::json!(["platform"])
    );
    assert_eq!(value["resources"][1]["applyOrder"], 2);
    assert_eq!(
        value["deletionLayers"],
        serde_json::json!([["deployment"], ["platform"]])
    );
}

#[test]
fn graph_errors_point_at_the_file_line_and_column() {
    let output = gantry(&[
        "graph",
        "order",
        "--rgd",
        "tests/fixtures/graph/errors/cycle.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("graph contains a cycle: first -> second -> first"),
        "{err}"
    );
    assert!(
        err.contains("tests/fixtures/graph/errors/cycle.yaml:19:17"),
        "{err}"
    );
    let output = gantry(&[
        "graph",
        "crd",
        "--rgd",
        "tests/fixtures/graph/errors/bad-type.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("map key must be string"), "{err}");
    assert!(
        err.contains("tests/fixtures/graph/errors/bad-type.yaml:12:16"),
        "{err}"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn graph_commands_need_exactly_one_rgd() {
    let output = gantry(&[
        "graph",
        "crd",
        "--rgd",
        "tests/fixtures/graph/wsp-web-instance.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("holds no ResourceGraphDefinition"),
        "{}",
        stderr(&output)
    );
}
