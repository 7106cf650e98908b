//! Integration tests: the fixtures under `tests/fixtures/graph/` loaded as files.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use std::fmt::Write as _;

use std::path::PathBuf;

use gantry_api::kro::ResourceGraphDefinition;
use gantry_api::{LoadOptions, Object, Resource, ResourceSet};
use gantry_graph::{Error, Graph, crd};

mod render;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/graph")
        .join(name)
}

fn load(name: &str) -> (ResourceSet, Resource, ResourceGraphDefinition) {
    let set = ResourceSet::load_paths(&[fixture(name)], LoadOptions::default());
    assert!(
        set.diagnostics
            .iter()
            .all(|d| d.severity != gantry_api::Severity::Error),
        "{:?}",
        set.diagnostics
    );
    let resource = set.resources[0].clone();
    let Object::ResourceGraphDefinition(rgd) = &resource.object else {
        panic!("{name} is not an RGD");
    };
    let rgd = rgd.clone();
    (set, resource, rgd)
}

fn crd_yaml(name: &str) -> String {
    let (_, _, rgd) = load(name);
    let crd = crd::generate(&rgd).unwrap_or_else(|errors| panic!("{name}: {errors:?}"));
    gantry_api::emit::to_yaml(&crd)
}

fn order(name: &str) -> String {
    let (_, _, rgd) = load(name);
    let graph = Graph::build(&rgd).unwrap_or_else(|errors| panic!("{name}: {errors:?}"));
    let mut out = String::from("apply order:\n");
    for id in graph.topological_order() {
        let node = graph.node(&id).unwrap();
        writeln!(out, "  {id} <- [{}]", node.dependencies.join(", ")).unwrap();
    }
    out.push_str("deletion layers:\n");
    for layer in graph.deletion_layers() {
        writeln!(out, "  {}", layer.join(", ")).unwrap();
    }
    out
}

/// Every error of a fixture as `line:col: message` (with the text the span covers).
fn errors(name: &str) -> Vec<String> {
    let (_, resource, rgd) = load(name);
    let errors: Vec<Error> = match crd::generate(&rgd) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    errors
        .iter()
        .map(|error| {
            let location = gantry_graph::locate(&resource, error);
            let (line, column) = location.line_col();
            let text = &resource.file.text()[location.span.start..location.span.end];
            format!("{line}:{column} `{text}`: {error}")
        })
        .collect()
}

#[test]
fn the_web_app_crd_matches_the_snapshot() {
    insta::assert_snapshot!("webapp_crd", crd_yaml("webapp.yaml"));
}

#[test]
fn the_collection_crd_has_custom_types_short_names_and_categories() {
    insta::assert_snapshot!("collection_crd", crd_yaml("collection.yaml"));
}

#[test]
fn the_external_ref_crd_uses_its_group_and_printer_columns() {
    insta::assert_snapshot!("external_ref_crd", crd_yaml("external-ref.yaml"));
}

#[test]
fn the_quickstart_web_application_crd_matches_the_snapshot() {
    insta::assert_snapshot!("web_application_crd", crd_yaml("web-application.yaml"));
}

#[test]
fn orders_put_dependencies_first_and_delete_dependents_first() {
    insta::assert_snapshot!("webapp_order", order("webapp.yaml"));
    insta::assert_snapshot!("collection_order", order("collection.yaml"));
    insta::assert_snapshot!("external_ref_order", order("external-ref.yaml"));
    insta::assert_snapshot!("web_application_order", order("web-application.yaml"));
}

#[test]
fn the_seed_instance_validates_and_gets_its_defaults() {
    let (_, _, rgd) = load("web-application.yaml");
    let spec_schema = gantry_graph::schema::compile(&rgd.spec.schema).unwrap();
    let set = ResourceSet::load_paths(&[fixture("wsp-web-instance.yaml")], LoadOptions::default());
    let file = &set.files[0];
    let (documents, _) = gantry_api::yaml::parse_stream(file.text());
    let mut spec = documents[0].root.to_json()["spec"].clone();
    let outcome = gantry_graph::schema::validate(&spec_schema, &mut spec, "spec");
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(spec["values"]["deployment"]["tag"], "1.4.2");
    assert_eq!(spec["values"]["deployment"]["replicas"], 1);
    assert_eq!(spec["values"]["service"]["port"], 80);
    let mut without_tag = serde_json::json!({"name": "wsp-web", "values": {"deployment": {}}});
    let outcome = gantry_graph::schema::validate(&spec_schema, &mut without_tag, "spec");
    assert_eq!(
        outcome.errors[0].to_string(),
        "spec.values.deployment.tag: required value"
    );
}

#[test]
fn a_cycle_is_reported_at_the_expression_that_starts_it() {
    assert_eq!(
        errors("errors/cycle.yaml"),
        ["19:17 `second.metadata.name`: graph contains a cycle: first -> second -> first"]
    );
}

#[test]
fn a_self_reference_is_reported_at_the_reference() {
    assert_eq!(
        errors("errors/self-reference.yaml"),
        ["19:15 `config.metadata.name`: self references are not allowed"]
    );
}

#[test]
fn an_unknown_identifier_is_reported_at_the_identifier() {
    assert_eq!(
        errors("errors/unknown-identifier.yaml"),
        [
            "19:21 `shcema.spec.replicas`: expression \"shcema.spec.replicas\" references unknown identifiers: [shcema]"
        ]
    );
}

#[test]
fn a_bad_simple_schema_type_is_reported_at_the_field() {
    assert_eq!(
        errors("errors/bad-type.yaml"),
        ["12:16 `\"map[int]string\"`: map key must be string"]
    );
}

#[test]
fn an_unknown_function_is_reported_at_its_name_and_unsupported_ones_are_warnings() {
    assert_eq!(
        errors("errors/unknown-function.yaml"),
        [
            "19:34 `toUpper`: undeclared reference to 'toUpper': no such function",
            "20:17 `quantity`: function 'quantity' is part of Kro's CEL environment but gantry cannot evaluate it offline",
            "20:33 `asInteger`: function 'asInteger' is part of Kro's CEL environment but gantry cannot evaluate it offline",
        ]
    );
}

#[test]
fn a_reserved_id_is_reported_at_the_id() {
    assert_eq!(
        errors("errors/reserved-id.yaml"),
        ["18:9 `instance`: naming convention violation: id instance is a reserved keyword in KRO"]
    );
}

mod properties {
    use gantry_api::kro::ResourceGraphDefinition;
    use gantry_api::path::FieldPath;
    use gantry_graph::eval::Evaluator;
    use gantry_graph::expr::{Template, references};
    use gantry_graph::render::{RenderOptions, render};
    use gantry_graph::schema::{Compiler, markers, types::TypeExpr};
    use proptest::prelude::*;

    fn schema_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "string",
            "integer",
            "[]",
            "map[",
            "string]",
            "map[string]",
            "object",
            "float",
            " | ",
            "|",
            "required=true",
            "default=",
            "\"",
            "\\",
            "{",
            "}",
            "[",
            "]",
            "enum=",
            "\"a,b\"",
            "minimum=",
            "1.5",
            "pattern=",
            "(",
            "listType=map",
            "listMapKey=x",
            "uniqueItems=true",
            " ",
            "=",
            "Custom",
            "é",
            "\n",
        ]);
        prop::collection::vec(pieces, 0..12).prop_map(|parts| parts.concat())
    }

    fn expression_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "${", "}", "{", "\"", "'", "\\", "$", "schema", ".", ".?", "spec", "(", ")", "x", ",",
            " ", "map", "all", "cel", "bind", "r", "b", "`", "é", "1", "[", "]", ":",
        ]);
        prop::collection::vec(pieces, 0..20).prop_map(|parts| parts.concat())
    }

    fn cel_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "schema",
            ".",
            ".?",
            "spec",
            "name",
            "n",
            "list",
            "map",
            "x",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            " ",
            "+",
            "-",
            "*",
            "/",
            "%",
            "==",
            "!",
            "&&",
            "||",
            "?",
            "1",
            "2.5",
            "'s'",
            "\"t\"",
            "b'y'",
            "null",
            "true",
            "size",
            "string",
            "int",
            "orValue",
            "all",
            "exists",
            "map",
            "filter",
            "cel.bind",
            "transformList",
            "transformMap",
            "existsOne",
            "k",
            "v",
            "omit()",
            "json.marshal",
            "json.unmarshal",
            "hash.md5",
            "random.seededString",
            "lists.setAtIndex",
            "merge",
            "sum",
            "max",
            "join",
            "split",
            "format",
            "base64.encode",
            "findAll",
            "sortBy",
            "optMap",
            "1u",
            "-9223372036854775808",
        ]);
        prop::collection::vec(pieces, 0..16).prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn simple_schema_strings_never_panic(text in schema_text(), any in ".{0,40}") {
            let compiler = Compiler::default();
            let _ = compiler.compile_field(&text, &FieldPath::root());
            let _ = compiler.compile_field(&any, &FieldPath::root());
            let _ = markers::parse(&any);
            let _ = TypeExpr::parse(&any);
        }

        #[test]
        fn arbitrary_expressions_compile_and_evaluate_without_panicking(
            text in cel_text(),
            any in ".{0,40}",
        ) {
            let evaluator = Evaluator::new();
            let variables = serde_json::json!({
                "schema": {"spec": {"name": "web", "n": 3, "list": [1, 2], "map": {"a": "b"}}},
                "x": [1, "two", 3.5, null, {"k": true}],
            });
            let variables = variables.as_object().unwrap();
            for input in [&text, &any] {
                if let Ok(program) = evaluator.compile(input) {
                    let _ = evaluator.evaluate_json(&program, variables);
                }
            }
        }

        #[test]
        fn arbitrary_schemas_and_templates_render_without_panicking(
            field in schema_text(),
            expression in cel_text(),
            template in expression_text(),
        ) {
            let rgd: ResourceGraphDefinition = serde_json::from_value(serde_json::json!({
                "apiVersion": "kro.run/v1alpha1",
                "kind": "ResourceGraphDefinition",
                "metadata": {"name": "p"},
                "spec": {
                    "schema": {"apiVersion": "v1alpha1", "kind": "Prop",
                        "spec": {"field": field, "name": "string | default=x"}},
                    "resources": [
                        {"id": "first", "template": {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "${schema.spec.name}"},
                            "data": {"a": format!("${{{expression}}}"), "b": template}}},
                        {"id": "second", "template": {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "two"},
                            "data": {"c": format!("${{first.{expression}}}")}}}
                    ]
                }
            }))
            .unwrap();
            let instance = serde_json::json!({"apiVersion": "kro.run/v1alpha1", "kind": "Prop",
                "metadata": {"name": "p"}, "spec": {"field": expression}});
            let _ = render(&rgd, &instance, &RenderOptions::default());
        }

        #[test]
        fn expression_strings_never_panic(text in expression_text(), any in ".{0,40}") {
            for input in [&text, &any] {
                if let Ok(template) = Template::parse(input) {
                    for expression in template.expressions() {
                        prop_assert!(input.get(expression.span.clone()).is_some());
                        for reference in references(&expression.source) {
                            prop_assert!(expression.source.get(reference.span.clone()).is_some());
                        }
                    }
                }
                let _ = references(input);
            }
        }
    }
}
