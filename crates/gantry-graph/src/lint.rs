//! `gantry validate` for ResourceGraphDefinitions: every problem [`Graph::build`] and
//! [`schema::compile`] find, as diagnostics at the exact `file:line:col` of the offending field
//! or expression, with stable `G05xx` codes:
//!
//! | code | what |
//! |---|---|
//! | G0501 | the schema: SimpleSchema grammar and types, kind, version, scope, status fields |
//! | G0502 | resource ids and `forEach` iterator names: reserved, not lowerCamelCase, duplicated |
//! | G0503 | resource structure: `template` xor `externalRef`, object shape, `forEach`, standalone conditions, labels under Kro's prefixes |
//! | G0504 | `${...}` that does not parse (extraction or CEL), unknown functions |
//! | G0505 | identifiers that are not `schema`, a resource id or a variable in scope |
//! | G0506 | self-references and cycles |
//! | G0507 | (warning) functions of Kro's environment gantry cannot evaluate offline |
//! | G0508 | a plain read of an instance field whose schema type is wrong where it is used |
//!
//! Kind and id patterns, duplicate ids and `template` xor `externalRef` are left to
//! `gantry_api::structure` (G0111, G0009, G0113), which checks every RGD already.
//!
//! The binary merges these with `gantry_core::lint`'s findings; this crate sits above
//! `gantry-core` in the layers, so the call goes from the binary.

use gantry_api::diagnostic::{
    Code, Diagnostic, RGD_CYCLE, RGD_EXPRESSION, RGD_RESOURCE, RGD_RESOURCE_ID, RGD_SCHEMA,
    RGD_TYPE_MISMATCH, RGD_UNKNOWN_REFERENCE, RGD_UNSUPPORTED_FUNCTION,
};
use gantry_api::{Object, Resource, ResourceSet};
use serde_json::Value;

use crate::eval::CompileErrorKind;
use crate::expr::Part;
use crate::graph::{Field, Graph, GraphError, GraphErrorKind};
use crate::{Error, locate, schema};

/// The check a graph problem belongs to.
pub fn code(kind: &GraphErrorKind) -> Code {
    match kind {
        GraphErrorKind::InvalidKind(_)
        | GraphErrorKind::InvalidVersion(_)
        | GraphErrorKind::InvalidScope(_)
        | GraphErrorKind::StatusWithoutExpression => &RGD_SCHEMA,
        GraphErrorKind::ReservedId(_)
        | GraphErrorKind::InvalidId(_)
        | GraphErrorKind::DuplicateId(_)
        | GraphErrorKind::InvalidIterator { .. }
        | GraphErrorKind::ReservedIterator { .. }
        | GraphErrorKind::IteratorConflict { .. }
        | GraphErrorKind::DuplicateIterator { .. } => &RGD_RESOURCE_ID,
        GraphErrorKind::TemplateXorExternalRef
        | GraphErrorKind::ExternalRefForEach
        | GraphErrorKind::ExternalRefTarget
        | GraphErrorKind::NotAnObject { .. }
        | GraphErrorKind::NotStandalone { .. }
        | GraphErrorKind::ReservedMetadataKey { .. }
        | GraphErrorKind::BadForEach => &RGD_RESOURCE,
        GraphErrorKind::Cel(CompileErrorKind::UnsupportedFunction(_)) => &RGD_UNSUPPORTED_FUNCTION,
        GraphErrorKind::Expression(_) | GraphErrorKind::Cel(_) => &RGD_EXPRESSION,
        GraphErrorKind::UnknownIdentifiers { .. }
        | GraphErrorKind::IteratorReference(_)
        | GraphErrorKind::ReadyWhenReference { .. } => &RGD_UNKNOWN_REFERENCE,
        GraphErrorKind::SelfReference | GraphErrorKind::Cycle(_) => &RGD_CYCLE,
        GraphErrorKind::TypeMismatch { .. } => &RGD_TYPE_MISMATCH,
    }
}

/// Every finding about the RGDs of `set`.
pub fn check(set: &ResourceSet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for resource in &set.resources {
        if let Object::ResourceGraphDefinition(rgd) = &resource.object {
            let spec = schema::compile(&rgd.spec.schema);
            if let Err(error) = &spec {
                out.push(diagnostic(resource, &RGD_SCHEMA, &error.clone().into()));
            }
            let problems = match Graph::build(rgd) {
                Ok(graph) => {
                    let mut problems = graph.warnings.clone();
                    if let Ok(spec) = &spec {
                        problems.extend(type_mismatches(&graph, spec));
                    }
                    problems
                }
                Err(errors) => errors,
            };
            for problem in problems {
                if reported_by_structure(&problem.kind) {
                    continue;
                }
                let code = code(&problem.kind);
                out.push(diagnostic(resource, code, &problem.into()));
            }
        }
    }
    out
}

/// Type errors found without the cluster: expressions that are a plain path into the
/// instance spec (`${schema.spec.a.b}`), whose type the compiled schema tells, used where that
/// type cannot go: a non-string inside a string template, a non-boolean `includeWhen`, a
/// non-list `forEach`. (Kro checks every expression against every field's schema; gantry has
/// no resource schemas offline, and other mismatches show when rendering.)
pub fn type_mismatches(graph: &Graph, spec: &Value) -> Vec<GraphError> {
    let mut out = Vec::new();
    for node in &graph.nodes {
        for field in &node.fields {
            if !field.is_standalone() {
                check_parts(&node.id, field, spec, "string", &mut out);
            }
        }
        for field in &node.include_when {
            check_parts(&node.id, field, spec, "boolean", &mut out);
        }
        for dimension in &node.for_each {
            check_parts(&node.id, &dimension.field, spec, "array", &mut out);
        }
    }
    out
}

fn check_parts(
    resource: &str,
    field: &Field,
    spec: &Value,
    expected: &str,
    out: &mut Vec<GraphError>,
) {
    for part in &field.template.parts {
        let Part::Expr(expression) = part else {
            continue;
        };
        let source = expression.source.trim();
        let Some(reference) = field.references.iter().find(|r| {
            r.span.start >= expression.inner.start
                && r.span.end <= expression.inner.end
                && r.root == "schema"
                && r.dotted() == source
        }) else {
            continue;
        };
        let Some(("spec", rest)) = reference.path.split_first().map(|(a, b)| (a.as_str(), b))
        else {
            continue;
        };
        let Some(found) = lookup_type(spec, rest) else {
            continue;
        };
        if found != expected {
            out.push(GraphError {
                path: field.path.clone(),
                span: Some(reference.span.clone()),
                kind: GraphErrorKind::TypeMismatch {
                    resource: resource.to_owned(),
                    path: crate::graph::resource_relative(&field.path),
                    expression: source.to_owned(),
                    found: cel_type(found).to_owned(),
                    expected: cel_type(expected).to_owned(),
                },
            });
        }
    }
}

/// The OpenAPI `type` at `path` of an object schema, if the schema says.
fn lookup_type<'a>(schema: &'a Value, path: &[String]) -> Option<&'a str> {
    let mut current = schema;
    for key in path {
        current = current
            .get("properties")
            .and_then(|p| p.get(key))
            .or_else(|| current.get("additionalProperties"))?;
    }
    current.get("type").and_then(Value::as_str)
}

fn cel_type(openapi: &str) -> &str {
    match openapi {
        "integer" => "int",
        "number" => "double",
        "boolean" => "bool",
        "array" => "list",
        "object" => "map",
        other => other,
    }
}

/// Problems `gantry_api::structure` already reports for every RGD (G0111 kind and id
/// patterns, G0009 duplicate ids, G0113 template xor externalRef): not reported twice.
fn reported_by_structure(kind: &GraphErrorKind) -> bool {
    matches!(
        kind,
        GraphErrorKind::InvalidKind(_)
            | GraphErrorKind::InvalidId(_)
            | GraphErrorKind::DuplicateId(_)
            | GraphErrorKind::TemplateXorExternalRef
    )
}

fn diagnostic(resource: &Resource, code: Code, error: &Error) -> Diagnostic {
    let location = locate(resource, error);
    let mut diagnostic = Diagnostic::new(code, error.to_string())
        .at(&location.file, location.span)
        .label(format!("at {}", error.path()));
    if code.code == RGD_UNKNOWN_REFERENCE.code {
        diagnostic.set_help(
            "expressions may read `schema`, resource ids, and in a forEach template its iterators",
        );
    } else if code.code == RGD_CYCLE.code {
        diagnostic.set_help("a resource cannot read itself or anything that reads it");
    }
    diagnostic
}
