//! The CustomResourceDefinition Kro generates for an RGD.
//!
//! Name `<plural>.<group>` (group `kro.run` unless `spec.schema.group` says otherwise), names
//! from the kind (plural, singular, `<Kind>List`, short names and categories), scope
//! `Namespaced` unless `spec.schema.scope` says `Cluster`, one served and stored version
//! (`spec.schema.apiVersion`) with the status subresource, the printer columns (`State`,
//! `Ready`, `Age` unless `additionalPrinterColumns` replaces them) and the schema: `apiVersion`,
//! `kind`, `metadata`, the compiled SimpleSchema as `spec`, and a `status` built from the
//! status expressions plus Kro's `state` and `conditions` (which replace user fields of those
//! names).
//!
//! **Status types.** Kro type-checks each status expression against the OpenAPI schemas of the
//! resources (fetched from the cluster) and emits the CEL result type. Offline, gantry infers
//! what it can be sure of, and says "any value" otherwise:
//! - a string template (text around or between expressions): `string`;
//! - a plain path into the instance spec (`${schema.spec.x.y}`): that field's type, from the
//!   compiled spec schema (without defaults, validations or descriptions);
//! - object metadata of any resource: `metadata.name`, `namespace`, `uid`... are strings,
//!   `metadata.generation` an integer, `metadata.labels`/`annotations` string maps;
//! - replica counts of Deployments, StatefulSets and ReplicaSets (`spec.replicas`,
//!   `status.availableReplicas`...): integers;
//! - `string(...)`, `int(...)`/`size(...)`, `double(...)`, `bool(...)`, literals, and
//!   comparisons or logical operators at the top level (`a > 0 && b`): their obvious type;
//! - anything else: `x-kubernetes-preserve-unknown-fields: true` with no type, which the API
//!   server accepts for any value. A cluster-generated CRD would be stricter there.
//!
//! Pluralisation follows the common English rules Kro's library applies (`-s`, `-es` after
//! s/x/z/ch/sh, `-ies` after a consonant + y) plus a few irregular nouns; rare irregular
//! words may differ.

use gantry_api::kro::ResourceGraphDefinition;
use gantry_api::path::Segment;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::expr::Part;
use crate::graph::{Field, Graph};
use crate::schema;

/// Kro's default API group.
pub const DEFAULT_GROUP: &str = "kro.run";

/// Builds the graph, compiles the schema and returns the CRD; every problem otherwise.
pub fn generate(rgd: &ResourceGraphDefinition) -> Result<Value, Vec<Error>> {
    let graph = Graph::build(rgd);
    let spec = schema::compile(&rgd.spec.schema);
    match (graph, spec) {
        (Ok(graph), Ok(spec)) => Ok(custom_resource_definition(rgd, &graph, &spec)),
        (graph, spec) => {
            let mut errors: Vec<Error> = Vec::new();
            if let Err(schema_error) = spec {
                errors.push(schema_error.into());
            }
            if let Err(graph_errors) = graph {
                errors.extend(graph_errors.into_iter().map(Error::from));
            }
            Err(errors)
        }
    }
}

/// The CRD for a checked graph and its compiled `spec` schema.
pub fn custom_resource_definition(
    rgd: &ResourceGraphDefinition,
    graph: &Graph,
    spec: &Value,
) -> Value {
    let schema = &rgd.spec.schema;
    let group = schema
        .group
        .as_deref()
        .filter(|group| !group.is_empty())
        .unwrap_or(DEFAULT_GROUP);
    let singular = schema.kind.to_lowercase();
    let plural = pluralize(&singular);
    let mut names = Map::new();
    names.insert("plural".into(), json!(plural));
    names.insert("singular".into(), json!(singular));
    if !schema.short_names.is_empty() {
        names.insert("shortNames".into(), json!(schema.short_names));
    }
    names.insert("kind".into(), json!(schema.kind));
    names.insert("listKind".into(), json!(format!("{}List", schema.kind)));
    if !schema.categories.is_empty() {
        names.insert("categories".into(), json!(schema.categories));
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(format!("{plural}.{group}")));
    for key in ["labels", "annotations"] {
        if let Some(map) = schema
            .metadata
            .as_ref()
            .and_then(|m| m.get(key))
            .filter(|m| m.as_object().is_some_and(|m| !m.is_empty()))
        {
            metadata.insert(key.into(), map.clone());
        }
    }
    let columns = if schema.additional_printer_columns.is_empty() {
        default_printer_columns()
    } else {
        Value::Array(schema.additional_printer_columns.clone())
    };
    let open_api = json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status_schema(graph, spec),
        }
    });
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {
            "group": group,
            "names": names,
            "scope": schema.scope.as_deref().unwrap_or("Namespaced"),
            "versions": [{
                "name": schema.api_version,
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": open_api},
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
            }]
        }
    })
}

fn default_printer_columns() -> Value {
    json!([
        {"name": "State", "type": "string", "description": "The state of a ResourceGraphDefinition instance", "jsonPath": ".status.state"},
        {"name": "Ready", "type": "string", "description": "Whether a ResourceGraphDefinition instance is ready", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
        {"name": "Age", "type": "date", "description": "Age of the resource", "jsonPath": ".metadata.creationTimestamp"},
    ])
}

/// `status`: the user's fields with inferred types, then Kro's `conditions` and `state`.
fn status_schema(graph: &Graph, spec: &Value) -> Value {
    let mut properties = Map::new();
    let prefix = 3; // spec.schema.status
    for field in &graph.status {
        let keys: Vec<&str> = field.path.0[prefix.min(field.path.0.len())..]
            .iter()
            .filter_map(|segment| match segment {
                Segment::Key(key) => Some(key.as_str()),
                Segment::Index(_) => None,
            })
            .collect();
        insert_at(&mut properties, &keys, infer(field, graph, spec));
    }
    properties.insert(
        "conditions".into(),
        json!({
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "status": {"type": "string"},
                    "reason": {"type": "string"},
                    "message": {"type": "string"},
                    "lastTransitionTime": {"type": "string"},
                    "observedGeneration": {"type": "integer"}
                }
            }
        }),
    );
    properties.insert("state".into(), json!({"type": "string"}));
    json!({"type": "object", "properties": properties})
}

/// Puts `value` at `keys` under `properties`, creating the objects in between.
fn insert_at(properties: &mut Map<String, Value>, keys: &[&str], value: Value) {
    match keys {
        [] => {}
        [leaf] => {
            properties.insert((*leaf).to_owned(), value);
        }
        [parent, rest @ ..] => {
            let entry = properties
                .entry((*parent).to_owned())
                .or_insert_with(|| json!({"type": "object", "properties": {}}));
            if let Some(children) = entry.get_mut("properties").and_then(Value::as_object_mut) {
                insert_at(children, rest, value);
            }
        }
    }
}

fn any_value() -> Value {
    json!({"x-kubernetes-preserve-unknown-fields": true})
}

/// The schema of one status field's value.
pub fn infer(field: &Field, graph: &Graph, spec: &Value) -> Value {
    let [Part::Expr(expression)] = field.template.parts.as_slice() else {
        return json!({"type": "string"});
    };
    let source = expression.source.trim();
    // A plain path: `root.a.b` and nothing else.
    if let [reference] = field.references.as_slice()
        && reference.dotted() == source
    {
        let path: Vec<&str> = reference.path.iter().map(String::as_str).collect();
        if reference.root == "schema" {
            if let Some(("spec", rest)) = path.split_first().map(|(a, b)| (*a, b)) {
                if let Some(found) = lookup(spec, rest) {
                    return type_only(found);
                }
            } else if let ["metadata", rest @ ..] = path.as_slice() {
                return metadata_type(rest).unwrap_or_else(any_value);
            }
            return any_value();
        }
        let kind = graph
            .node(&reference.root)
            .map_or("", |node| node.object_kind.as_str());
        if let ["metadata", rest @ ..] = path.as_slice()
            && let Some(found) = metadata_type(rest)
        {
            return found;
        }
        if matches!(kind, "Deployment" | "StatefulSet" | "ReplicaSet")
            && matches!(
                path.as_slice(),
                ["spec", "replicas"]
                    | [
                        "status",
                        "replicas"
                            | "readyReplicas"
                            | "availableReplicas"
                            | "updatedReplicas"
                            | "unavailableReplicas"
                            | "currentReplicas"
                            | "observedGeneration"
                    ]
            )
        {
            return json!({"type": "integer"});
        }
        return any_value();
    }
    literal_type(source).unwrap_or_else(any_value)
}

fn metadata_type(path: &[&str]) -> Option<Value> {
    match path {
        [
            "name" | "namespace" | "uid" | "resourceVersion" | "generateName" | "creationTimestamp",
        ]
        | ["labels" | "annotations", _] => Some(json!({"type": "string"})),
        ["generation"] => Some(json!({"type": "integer"})),
        ["labels" | "annotations"] => {
            Some(json!({"type": "object", "additionalProperties": {"type": "string"}}))
        }
        _ => None,
    }
}

/// The schema at `path` under an object schema.
fn lookup<'a>(schema: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(schema);
    };
    let child = schema
        .get("properties")
        .and_then(|p| p.get(*first))
        .or_else(|| schema.get("additionalProperties"))?;
    lookup(child, rest)
}

/// A schema reduced to its structure: types, properties, items, maps, preserved fields.
fn type_only(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        return any_value();
    };
    let mut out = Map::new();
    for (key, value) in object {
        match key.as_str() {
            "type" | "x-kubernetes-preserve-unknown-fields" => {
                out.insert(key.clone(), value.clone());
            }
            "items" | "additionalProperties" => {
                out.insert(key.clone(), type_only(value));
            }
            "properties" => {
                let properties = value
                    .as_object()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), type_only(v))).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(properties));
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// Types that show on the surface of an expression.
fn literal_type(source: &str) -> Option<Value> {
    let typed = |t: &str| Some(json!({"type": t}));
    for (function, kind) in [
        ("string", "string"),
        ("int", "integer"),
        ("size", "integer"),
        ("double", "number"),
        ("bool", "boolean"),
    ] {
        if let Some(rest) = source.strip_prefix(function).map(str::trim_start)
            && rest.starts_with('(')
            && top_level_span_is_whole(rest)
        {
            return typed(kind);
        }
    }
    if source == "true" || source == "false" {
        return typed("boolean");
    }
    if !source.is_empty() && source.bytes().all(|b| b.is_ascii_digit()) {
        return typed("integer");
    }
    if (source.starts_with('"') || source.starts_with('\''))
        && let Some(end) = string_end(source.as_bytes(), 0)
        && end == source.len()
    {
        return typed("string");
    }
    if is_boolean_expression(source) {
        return typed("boolean");
    }
    None
}

/// Whether `text`, starting with `(`, closes that parenthesis at its very end.
fn top_level_span_is_whole(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0i64;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                let Some(end) = string_end(bytes, i) else {
                    return false;
                };
                i = end;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1 == bytes.len();
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// The index after the string literal starting at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// A comparison or logical operator outside brackets and strings, and no ternary.
fn is_boolean_expression(source: &str) -> bool {
    let bytes = source.as_bytes();
    let mut depth = 0i64;
    let mut boolean = source.starts_with('!') && !source.starts_with("!=");
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match c {
            b'"' | b'\'' => {
                let Some(end) = string_end(bytes, i) else {
                    return false;
                };
                i = end;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ if depth != 0 => {}
            b'?' if i == 0 || bytes[i - 1] != b'.' => return false,
            b'=' | b'!' if next == Some(b'=') => boolean = true,
            b'<' | b'>' => boolean = true,
            b'&' if next == Some(b'&') => boolean = true,
            b'|' if next == Some(b'|') => boolean = true,
            b' ' if source[i..].starts_with(" in ") => boolean = true,
            _ => {}
        }
        i += 1;
    }
    boolean
}

/// `flect.Pluralize` for the cases kinds meet.
pub fn pluralize(word: &str) -> String {
    const IRREGULAR: &[(&str, &str)] = &[
        ("person", "people"),
        ("child", "children"),
        ("man", "men"),
        ("woman", "women"),
        ("mouse", "mice"),
        ("index", "indices"),
        ("matrix", "matrices"),
        ("vertex", "vertices"),
        ("data", "data"),
        ("information", "information"),
        ("equipment", "equipment"),
        ("series", "series"),
        ("species", "species"),
        ("policy", "policies"),
    ];
    for (singular, plural) in IRREGULAR {
        if let Some(stem) = word.strip_suffix(singular) {
            return format!("{stem}{plural}");
        }
    }
    if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|end| word.ends_with(end))
    {
        return format!("{word}es");
    }
    if let Some(stem) = word.strip_suffix('y')
        && stem
            .chars()
            .last()
            .is_some_and(|c| !matches!(c, 'a' | 'e' | 'i' | 'o' | 'u'))
    {
        return format!("{stem}ies");
    }
    format!("{word}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_follow_english_rules() {
        for (singular, plural) in [
            ("webapplication", "webapplications"),
            ("address", "addresses"),
            ("box", "boxes"),
            ("gateway", "gateways"),
            ("registry", "registries"),
            ("networkpolicy", "networkpolicies"),
            ("mesh", "meshes"),
        ] {
            assert_eq!(pluralize(singular), plural);
        }
    }

    #[test]
    fn surface_types_are_inferred_and_ternaries_are_not() {
        assert_eq!(
            literal_type("string(deployment.spec.replicas)"),
            Some(json!({"type": "string"}))
        );
        assert_eq!(literal_type("size(a) + size(b)"), None);
        assert_eq!(
            literal_type("a.status.x > 0 && b"),
            Some(json!({"type": "boolean"}))
        );
        assert_eq!(literal_type("a > 0 ? 'x' : 'y'"), None);
        assert_eq!(literal_type("a.?b.orValue(1)"), None);
        assert_eq!(literal_type("'a' + 'b'"), None);
        assert_eq!(literal_type("\"text\""), Some(json!({"type": "string"})));
        assert_eq!(literal_type("x in ['a']"), Some(json!({"type": "boolean"})));
    }
}
