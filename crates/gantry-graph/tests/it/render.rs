//! Rendering the fixtures' instances: snapshots of the manifests in apply order, what is
//! pending and what is skipped; errors located in the RGD or the instance.

use std::fmt::Write as _;

use gantry_api::{LoadOptions, ResourceSet};
use gantry_graph::render::{RenderOptions, Rendered, render};
use serde_json::Value;

use super::{fixture, load};

fn instance(name: &str) -> Value {
    let set = ResourceSet::load_paths(&[fixture(name)], LoadOptions::default());
    let (documents, error) = gantry_api::yaml::parse_stream(set.files[0].text());
    assert!(error.is_none(), "{error:?}");
    documents[0].root.to_json()
}

fn rendered(rgd: &str, instance_file: &str) -> Rendered {
    let (_, _, rgd) = load(rgd);
    render(&rgd, &instance(instance_file), &RenderOptions::default())
        .unwrap_or_else(|errors| panic!("{errors:?}"))
}

/// The manifests as multi-document YAML, then pending, skipped, external and pruned.
fn snapshot(rgd: &str, instance_file: &str) -> String {
    let rendered = rendered(rgd, instance_file);
    let mut out = String::new();
    for manifest in &rendered.manifests {
        let index = manifest.index.map(|i| format!("[{i}]")).unwrap_or_default();
        let complete = if manifest.complete {
            ""
        } else {
            " (incomplete)"
        };
        writeln!(out, "--- # {}{index}{complete}", manifest.id).unwrap();
        out.push_str(&gantry_api::emit::to_yaml(&manifest.object));
    }
    for pending in &rendered.pending {
        writeln!(
            out,
            "pending {} {} <- {}: {}",
            pending.resource, pending.path, pending.expression, pending.reason
        )
        .unwrap();
    }
    for skipped in &rendered.skipped {
        writeln!(out, "skipped {}: {}", skipped.id, skipped.reason).unwrap();
    }
    for external in &rendered.external {
        writeln!(out, "external {external}").unwrap();
    }
    for pruned in &rendered.pruned {
        writeln!(out, "pruned {pruned}").unwrap();
    }
    out
}

#[test]
fn the_seed_instance_renders_through_the_web_application_rgd() {
    insta::assert_snapshot!(
        "render_web_application",
        snapshot("web-application.yaml", "wsp-web-instance.yaml")
    );
    let rendered = rendered("web-application.yaml", "wsp-web-instance.yaml");
    let deployment = &rendered.manifests[1].object;
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "docker.io/zxc204fghasd/wsp-web-server-v2:1.4.2"
    );
    assert!(rendered.pending.is_empty());
}

#[test]
fn the_web_app_renders_without_its_ingress_unless_asked() {
    insta::assert_snapshot!(
        "render_webapp",
        snapshot("webapp.yaml", "webapp-instance.yaml")
    );
    insta::assert_snapshot!(
        "render_webapp_ingress",
        snapshot("webapp.yaml", "webapp-ingress-instance.yaml")
    );
}

#[test]
fn a_for_each_collection_expands_every_region_and_tier() {
    insta::assert_snapshot!(
        "render_collection",
        snapshot("collection.yaml", "collection-instance.yaml")
    );
    insta::assert_snapshot!(
        "render_fleet",
        snapshot("fleet.yaml", "fleet-instance.yaml")
    );
}

#[test]
fn external_references_and_observed_state_are_pending() {
    insta::assert_snapshot!(
        "render_external_ref",
        snapshot("external-ref.yaml", "external-ref-instance.yaml")
    );
    insta::assert_snapshot!(
        "render_observed",
        snapshot("observed.yaml", "observed-instance.yaml")
    );
}

#[test]
fn a_type_error_is_reported_at_the_expression_with_kros_message() {
    let (_, resource, rgd) = load("errors/type-error.yaml");
    let errors = render(
        &rgd,
        &instance("errors/type-error-instance.yaml"),
        &RenderOptions::default(),
    )
    .unwrap_err();
    let located: Vec<String> = errors
        .iter()
        .map(|error| {
            let location = gantry_graph::locate(&resource, error);
            let (line, column) = location.line_col();
            let text = &resource.file.text()[location.span.start..location.span.end];
            format!("{line}:{column} `{text}`: {error}")
        })
        .collect();
    assert_eq!(
        located,
        [
            "21:31 `schema.spec.replicas`: type mismatch in resource \"config\" at path \"data.summary\": expression \"schema.spec.replicas\" returns type \"int\" but expected \"string\"",
            "24:9 `schema.spec.features`: type mismatch in resource \"flags\" at path \"includeWhen[0]\": expression \"schema.spec.features\" returns type \"list\" but expected \"bool\"",
        ]
    );
}

#[test]
fn instance_errors_carry_their_path_in_the_instance() {
    let (_, _, rgd) = load("web-application.yaml");
    let errors = render(
        &rgd,
        &instance("errors/bad-instance.yaml"),
        &RenderOptions::default(),
    )
    .unwrap_err();
    let shown: Vec<String> = errors
        .iter()
        .map(|e| format!("{} {}: {e}", e.in_instance(), e.path()))
        .collect();
    assert_eq!(
        shown,
        [
            "true spec.values.deployment.tag: required value",
            "true spec.values.deployment.replicas: must be greater than or equal to 0",
        ]
    );
}
