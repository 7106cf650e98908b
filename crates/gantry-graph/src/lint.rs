//! `gantry validate` for ResourceGraphDefinitions: every problem [`Graph::build`] and
//! [`schema::compile`] find, as diagnostics at the exact `file:line:col` of the offending field
//! or expression, with stable `G05xx` codes:
//!
//! | code | what |
//! |---|---|
//! | G0501 | the schema: SimpleSchema grammar and types, kind, version, scope, status fields |
//! | G0502 | resource ids and `forEach` iterator names: reserved, not lowerCamelCase, duplicated |
//! | G0503 | resource structure: `template` xor `externalRef`, object shape, `forEach`, standalone conditions |
//! | G0504 | `${...}` that does not parse (extraction or CEL), unknown functions |
//! | G0505 | identifiers that are not `schema`, a resource id or a variable in scope |
//! | G0506 | self-references and cycles |
//! | G0507 | (warning) functions of Kro's environment gantry cannot evaluate offline |
//!
//! Kind and id patterns, duplicate ids and `template` xor `externalRef` are left to
//! `gantry_api::structure` (G0111, G0009, G0113), which checks every RGD already.
//!
//! The binary merges these with `gantry_core::lint`'s findings; this crate sits above
//! `gantry-core` in the layers, so the call goes from the binary.

use gantry_api::diagnostic::{
    Code, Diagnostic, RGD_CYCLE, RGD_EXPRESSION, RGD_RESOURCE, RGD_RESOURCE_ID, RGD_SCHEMA,
    RGD_UNKNOWN_REFERENCE, RGD_UNSUPPORTED_FUNCTION,
};
use gantry_api::{Object, Resource, ResourceSet};

use crate::eval::CompileErrorKind;
use crate::graph::{Graph, GraphErrorKind};
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
        | GraphErrorKind::BadForEach => &RGD_RESOURCE,
        GraphErrorKind::Cel(CompileErrorKind::UnsupportedFunction(_)) => &RGD_UNSUPPORTED_FUNCTION,
        GraphErrorKind::Expression(_) | GraphErrorKind::Cel(_) => &RGD_EXPRESSION,
        GraphErrorKind::UnknownIdentifiers { .. }
        | GraphErrorKind::IteratorReference(_)
        | GraphErrorKind::ReadyWhenReference { .. } => &RGD_UNKNOWN_REFERENCE,
        GraphErrorKind::SelfReference | GraphErrorKind::Cycle(_) => &RGD_CYCLE,
    }
}

/// Every finding about the RGDs of `set`.
pub fn check(set: &ResourceSet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for resource in &set.resources {
        if let Object::ResourceGraphDefinition(rgd) = &resource.object {
            if let Err(error) = schema::compile(&rgd.spec.schema) {
                out.push(diagnostic(resource, &RGD_SCHEMA, &error.into()));
            }
            let problems = match Graph::build(rgd) {
                Ok(graph) => graph.warnings,
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
