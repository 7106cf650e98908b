//! Every `${{ }}` / `${% %}` in every Kargo resource is parsed; syntax errors point at the
//! exact column. A Warehouse's `freightCreationCriteria.expression` is parsed as a bare
//! expression.

use gantry_api::diagnostic::{self, Diagnostic, Location};
use gantry_api::kargo::Warehouse;
use gantry_api::resource::Kind;
use gantry_api::resource::Object;
use gantry_api::yaml::{Content, Node, Span};
use gantry_api::{Resource, ResourceSet};
use gantry_expr::{Expression, Template};

/// Where bytes `offset..offset + len` of a scalar's value are in the file (see
/// [`Resource::value_location`]).
pub(super) fn value_location(
    resource: &Resource,
    node_span: Span,
    value: &str,
    offset: usize,
    len: usize,
) -> Location {
    resource.value_location(node_span, value, offset..offset + len)
}

fn has_delimiter(text: &str) -> bool {
    text.contains("${{") || text.contains("${%")
}

fn syntax_diagnostic(
    resource: &Resource,
    node: &Node,
    text: &str,
    error: &gantry_expr::Error,
) -> Diagnostic {
    let unclosed = error.message.starts_with("unclosed expression");
    let location = if unclosed {
        value_location(resource, node.span, text, error.span.start, 3)
    } else {
        value_location(
            resource,
            node.span,
            text,
            error.span.start,
            error.span.len().max(1),
        )
    };
    let mut diagnostic = if unclosed {
        let closing = if text[error.span.start..].starts_with("${%") {
            "%}"
        } else {
            "}}"
        };
        Diagnostic::new(
            &diagnostic::UNCLOSED_EXPRESSION,
            format!(
                "`{}` is never closed",
                &text[error.span.start..error.span.start + 3]
            ),
        )
        .label(format!("expected `{closing}` after this"))
    } else {
        Diagnostic::new(
            &diagnostic::EXPRESSION_SYNTAX,
            format!("expression does not parse: {}", error.message),
        )
        .label("here")
    };
    diagnostic = diagnostic.at_location(Some(location));
    if let Some(help) = &error.help {
        diagnostic.set_help(help.clone());
    }
    diagnostic
}

fn walk(resource: &Resource, node: &Node, out: &mut Vec<Diagnostic>) {
    match &node.content {
        Content::String(text) if has_delimiter(text) => {
            if let Err(error) = Template::compile(text) {
                out.push(syntax_diagnostic(resource, node, text, &error));
            }
        }
        Content::Map(entries) => {
            for entry in entries {
                walk(resource, &entry.value, out);
            }
        }
        Content::Seq(items) => {
            for item in items {
                walk(resource, item, out);
            }
        }
        _ => {}
    }
}

fn criteria(resource: &Resource, warehouse: &Warehouse, out: &mut Vec<Diagnostic>) {
    let Some(criteria) = &warehouse.spec.freight_creation_criteria else {
        return;
    };
    let path = gantry_api::FieldPath::root()
        .key("spec")
        .key("freightCreationCriteria")
        .key("expression");
    let Some(node) = resource.node(&path) else {
        return;
    };
    if let Err(error) = Expression::compile(&criteria.expression) {
        let location = value_location(
            resource,
            node.span,
            &criteria.expression,
            error.span.start,
            error.span.len().max(1),
        );
        let mut diagnostic = Diagnostic::new(
            &diagnostic::EXPRESSION_SYNTAX,
            format!(
                "freightCreationCriteria expression does not parse: {}",
                error.message
            ),
        )
        .at_location(Some(location))
        .label("here");
        diagnostic.set_help(error.help.clone().unwrap_or_else(|| {
            "this is a bare expression (no `${{ }}`), e.g. `imageFrom('repo').Tag != 'latest'`"
                .to_owned()
        }));
        out.push(diagnostic);
    }
}

fn is_kargo(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::Application | Kind::ApplicationSet | Kind::ResourceGraphDefinition | Kind::Secret
    )
}

pub(super) fn check(set: &ResourceSet, out: &mut Vec<Diagnostic>) {
    for resource in &set.resources {
        if !is_kargo(resource.kind) {
            continue;
        }
        walk(resource, &resource.root, out);
        if let Object::Warehouse(warehouse) = &resource.object {
            criteria(resource, warehouse, out);
        }
    }
}
