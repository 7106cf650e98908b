#![expect(
    clippy::needless_pass_by_value,
    reason = "fixtures are built inline with json!"
)]

use serde_json::{Value, json};

use super::*;

fn rgd(spec: Value, resources: Value) -> ResourceGraphDefinition {
    serde_json::from_value(json!({
        "apiVersion": "kro.run/v1alpha1",
        "kind": "ResourceGraphDefinition",
        "metadata": {"name": "t"},
        "spec": {
            "schema": {"apiVersion": "v1alpha1", "kind": "App", "spec": spec},
            "resources": resources
        }
    }))
    .unwrap()
}

fn cm(id: &str, name: &str, data: Value) -> Value {
    json!({"id": id, "template": {"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": data}})
}

fn instance(spec: Value) -> Value {
    json!({"apiVersion": "kro.run/v1alpha1", "kind": "App",
        "metadata": {"name": "demo", "namespace": "ns"}, "spec": spec})
}

fn run(spec: Value, resources: Value, values: Value) -> Rendered {
    render(
        &rgd(spec, resources),
        &instance(values),
        &RenderOptions::default(),
    )
    .unwrap_or_else(|errors| panic!("{errors:?}"))
}

fn errors(spec: Value, resources: Value, values: Value) -> Vec<String> {
    render(
        &rgd(spec, resources),
        &instance(values),
        &RenderOptions::default(),
    )
    .unwrap_err()
    .iter()
    .map(|e| format!("{} {:?}: {e}", e.path(), e.span()))
    .collect()
}

fn ids(rendered: &Rendered) -> Vec<String> {
    rendered
        .manifests
        .iter()
        .map(|m| match m.index {
            Some(i) => format!("{}[{i}]", m.id),
            None => m.id.clone(),
        })
        .collect()
}

#[test]
fn standalone_expressions_keep_their_type_and_templates_concatenate() {
    let rendered = run(
        json!({"replicas": "integer | default=3", "labels": "map[string]string", "on": "boolean | default=true"}),
        json!([{"id": "deployment", "template": {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "${schema.metadata.name}-web", "labels": "${schema.spec.labels}"},
            "spec": {"replicas": "${schema.spec.replicas}", "paused": "${!schema.spec.on}",
                     "note": "r=${string(schema.spec.replicas)}", "literal": "${\"${VAR}\"}"}}}]),
        json!({"labels": {"tier": "web"}}),
    );
    let object = &rendered.manifests[0].object;
    assert_eq!(object["metadata"]["name"], "demo-web");
    assert_eq!(object["spec"]["replicas"], 3);
    assert_eq!(object["spec"]["paused"], false);
    assert_eq!(object["spec"]["note"], "r=3");
    assert_eq!(object["spec"]["literal"], "${VAR}");
    assert_eq!(object["metadata"]["labels"]["tier"], "web");
    assert_eq!(
        object["metadata"]["labels"]["kro.run/node-id"],
        "deployment"
    );
    assert_eq!(object["metadata"]["namespace"], "ns");
    assert!(rendered.manifests[0].complete);
}

#[test]
fn include_when_false_skips_the_resource_and_its_dependents() {
    let rendered = run(
        json!({"enabled": "boolean | default=false"}),
        json!([
            {"id": "optional", "includeWhen": ["${schema.spec.enabled}"],
             "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}},
            cm("dependent", "${optional.metadata.name}-b", json!({})),
            cm("other", "c", json!({})),
        ]),
        json!({}),
    );
    assert_eq!(ids(&rendered), ["other"]);
    assert_eq!(
        rendered
            .skipped
            .iter()
            .map(|s| format!("{}: {}", s.id, s.reason))
            .collect::<Vec<_>>(),
        [
            "optional: includeWhen ${schema.spec.enabled} is false",
            "dependent: depends on optional, which is skipped"
        ]
    );
}

#[test]
fn for_each_expands_the_cartesian_product_and_dependents_see_a_list() {
    let rendered = run(
        json!({"regions": "[]string", "tiers": "[]string"}),
        json!([
            {"id": "cells", "forEach": [{"region": "${schema.spec.regions}"}, {"tier": "${schema.spec.tiers}"}],
             "template": {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "${region}-${tier}"}, "data": {"r": "${region}"}}},
            cm("summary", "sum", json!({"names": "${cells.map(i, i.metadata.name).join(' ')}",
                "count": "${string(size(cells))}"})),
        ]),
        json!({"regions": ["eu", "us"], "tiers": ["a", "b"]}),
    );
    assert_eq!(
        ids(&rendered),
        ["cells[0]", "cells[1]", "cells[2]", "cells[3]", "summary"]
    );
    let names: Vec<&str> = rendered.manifests[..4]
        .iter()
        .map(|m| m.object["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["eu-a", "eu-b", "us-a", "us-b"]);
    assert_eq!(
        rendered.manifests[2].object["metadata"]["labels"]["kro.run/collection-index"],
        "2"
    );
    assert_eq!(
        rendered.manifests[4].object["data"],
        json!({"names": "eu-a eu-b us-a us-b", "count": "4"})
    );
    let empty = run(
        json!({"regions": "[]string", "tiers": "[]string"}),
        json!([{"id": "cells", "forEach": [{"region": "${schema.spec.regions}"}],
             "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "${region}"}}}]),
        json!({"regions": []}),
    );
    assert!(empty.manifests.is_empty());
}

#[test]
fn desired_fields_resolve_and_observed_ones_are_pending_never_invented() {
    let rendered = run(
        json!({"name": "string | default=app"}),
        json!([
            {"id": "deployment", "template": {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "${schema.spec.name}"},
                "spec": {"selector": {"matchLabels": {"app": "${schema.spec.name}"}}}}},
            {"id": "service", "template": {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "${deployment.metadata.name}"},
                "spec": {"selector": "${deployment.spec.selector.matchLabels}",
                         "clusterIP": "${deployment.status.podIP}"}}},
            cm("endpoint", "ep", json!({"ip": "${service.spec.clusterIP}",
                "ns": "${service.metadata.namespace}", "ports": "${string(size(service.spec.ports))}"})),
        ]),
        json!({}),
    );
    let service = &rendered.manifests[1].object;
    assert_eq!(service["spec"]["selector"], json!({"app": "app"}));
    assert!(service["spec"].get("clusterIP").is_none());
    assert!(!rendered.manifests[1].complete);
    let endpoint = &rendered.manifests[2].object;
    assert_eq!(endpoint["data"], json!({"ns": "ns"}));
    let pending: Vec<String> = rendered
        .pending
        .iter()
        .map(|p| format!("{} {}: {}", p.resource, p.path, p.reason))
        .collect();
    assert_eq!(
        pending,
        [
            "service spec.clusterIP: reads deployment.status.podIP, which only the cluster reports",
            "endpoint data.ip: reads service.spec.clusterIP, which is pending itself",
            "endpoint data.ports: reads service.spec.ports, which the desired template does not set (the cluster fills it)",
        ]
    );
}

#[test]
fn a_pending_include_when_makes_the_resource_and_its_dependents_pending() {
    let rendered = run(
        json!({}),
        json!([
            {"id": "base", "externalRef": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}},
            {"id": "gated", "includeWhen": ["${base.data.enabled == 'true'}"],
             "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "g"}}},
            cm("after", "${gated.metadata.name}-2", json!({})),
        ]),
        json!({}),
    );
    assert!(rendered.manifests.is_empty());
    assert_eq!(rendered.external, ["base"]);
    let pending: Vec<String> = rendered
        .pending
        .iter()
        .map(|p| format!("{} {}: {}", p.resource, p.source, p.reason))
        .collect();
    assert_eq!(
        pending,
        [
            "gated spec.resources[1].includeWhen[0]: reads externalRef base, whose data exists only in the cluster",
            "after spec.resources[2]: depends on gated, which is pending",
        ]
    );
}

#[test]
fn omit_and_empty_optionals_leave_fields_out() {
    let rendered = run(
        json!({"class": "string | default=\"\""}),
        json!([cm(
            "config",
            "c",
            json!({
                "class": "${schema.spec.class != '' ? schema.spec.class : omit()}",
                "maybe": "${schema.spec.?missing}",
                "kept": "${schema.spec.?class.orValue('x')}"
            })
        )]),
        json!({}),
    );
    assert_eq!(rendered.manifests[0].object["data"], json!({"kept": ""}));
    assert!(rendered.manifests[0].complete);
}

#[test]
fn evaluation_problems_are_errors_with_resource_path_and_span() {
    assert_eq!(
        errors(
            json!({"n": "integer | default=1"}),
            json!([cm(
                "config",
                "c",
                json!({"x": "n-${schema.spec.n}", "y": "${schema.spec.missing}",
                "z": "${1 / 0}"})
            )]),
            json!({}),
        ),
        [
            "spec.resources[0].template.data.x Some(4..17): type mismatch in resource \"config\" at path \"data.x\": expression \"schema.spec.n\" returns type \"int\" but expected \"string\"",
            "spec.resources[0].template.data.y Some(2..21): resource \"config\": expression \"schema.spec.missing\" reads missing, which the instance does not set; give it a default in the schema or read it with `.?missing.orValue(...)`",
            "spec.resources[0].template.data.z Some(2..7): resource \"config\": expression \"1 / 0\" failed: division by zero of Int(1)",
        ]
    );
    assert_eq!(
        errors(
            json!({}),
            json!([cm("a", "same", json!({})), cm("b", "same", json!({})),
                {"id": "c", "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}}]),
            json!({}),
        ),
        [
            "spec.resources[2].template.metadata None: resource \"c\" renders without metadata.name",
            "spec.resources[1].template.metadata.name None: resources \"a\" and \"b\" render the same object ConfigMap ns/same",
        ]
    );
}

#[test]
fn instances_are_checked_against_the_schema_with_defaults() {
    let spec = json!({"name": "string | required=true", "size": "integer | default=1 maximum=3"});
    let problems: Vec<String> = render(
        &rgd(spec.clone(), json!([])),
        &json!({"apiVersion": "kro.run/v1", "kind": "Other", "metadata": {},
            "spec": {"size": 5}}),
        &RenderOptions::default(),
    )
    .unwrap_err()
    .iter()
    .map(|e| format!("{} {}: {e}", e.in_instance(), e.path()))
    .collect();
    assert_eq!(
        problems,
        [
            "true apiVersion: apiVersion is \"kro.run/v1\", but the RGD defines \"kro.run/v1alpha1\"",
            "true kind: kind is \"Other\", but the RGD defines \"App\"",
            "true metadata.name: an instance needs metadata.name",
            "true spec.name: required value",
            "true spec.size: must be less than or equal to 3",
        ]
    );
    let rendered = run(spec, json!([]), json!({"name": "x", "extra": 1}));
    assert_eq!(rendered.instance["spec"], json!({"name": "x", "size": 1}));
    assert_eq!(rendered.pruned, ["spec.extra"]);
}
