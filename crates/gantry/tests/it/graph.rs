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

#[test]
fn graph_render_prints_the_seed_instance_as_ordered_manifests() {
    let output = gantry(&[
        "graph",
        "render",
        "--rgd",
        "tests/fixtures/graph/web-application.yaml",
        "--instance",
        "tests/fixtures/graph/wsp-web-instance.yaml",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

#[test]
fn graph_render_lists_pending_fields_and_skipped_resources_on_stderr() {
    let output = gantry(&[
        "graph",
        "render",
        "--rgd",
        "tests/fixtures/graph/observed.yaml",
        "--instance",
        "tests/fixtures/graph/observed-instance.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let manifests: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let names: Vec<&str> = manifests
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "api", "api-endpoint"]);
    insta::assert_snapshot!(stderr(&output), @r#"
    pending endpoint metadata.annotations["example.com/owner-uid"]: reads schema.metadata.uid, which only the cluster reports (tests/fixtures/graph/observed.yaml:50:34: ${schema.metadata.uid})
    pending endpoint data.address: reads service.spec.clusterIP, which the desired template does not set (the cluster fills it) (tests/fixtures/graph/observed.yaml:53:18: ${service.spec.clusterIP}:${string(schema.spec.port)})
    pending endpoint data.ready: reads deployment.status.readyReplicas, which only the cluster reports (tests/fixtures/graph/observed.yaml:54:16: ${string(deployment.status.?readyReplicas.orValue(0))})
    "#);
    let output = gantry(&[
        "graph",
        "render",
        "--rgd",
        "tests/fixtures/graph/webapp.yaml",
        "--instance",
        "tests/fixtures/graph/webapp-instance.yaml",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "skipped ingress: includeWhen ${schema.spec.ingress.enabled} is false\n"
    );
}

#[test]
fn graph_render_errors_point_into_the_rgd_or_the_instance() {
    let output = gantry(&[
        "graph",
        "render",
        "--rgd",
        "tests/fixtures/graph/errors/type-error.yaml",
        "--instance",
        "tests/fixtures/graph/errors/type-error-instance.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("returns type \"int\" but expected \"string\""),
        "{err}"
    );
    assert!(
        err.contains("tests/fixtures/graph/errors/type-error.yaml:21:31"),
        "{err}"
    );
    assert!(stdout(&output).is_empty());
    let output = gantry(&[
        "graph",
        "render",
        "--rgd",
        "tests/fixtures/graph/web-application.yaml",
        "--instance",
        "tests/fixtures/graph/errors/bad-instance.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("must be greater than or equal to 0 (at spec.values.deployment.replicas)"),
        "{err}"
    );
    assert!(
        err.contains("tests/fixtures/graph/errors/bad-instance.yaml:10:17"),
        "{err}"
    );
}
