//! Kro-compatible resource graphs, offline.
//!
//! A `ResourceGraphDefinition` (RGD) describes a new kind (its `spec` written in SimpleSchema)
//! and the resources one instance of that kind expands to, as templates with `${...}` CEL
//! expressions. This crate does what Kro does with an RGD before it needs a cluster:
//!
//! ```text
//!  RGD ──► schema::compile (SimpleSchema → OpenAPI) ──► crd::generate (the CRD)
//!   │
//!   └──► expr (${...} extraction, identifiers read) ──► graph::Graph::build
//!        eval (CEL: compile, unknown functions)          (checks, DAG, apply/delete order)
//!                                                              │
//!  instance ─────────────────────────────────────────► render::render (ordered manifests,
//!                                                        pending fields, skipped resources)
//! ```
//!
//! Where to start: [`graph::Graph::build`] for the checks and the orders, [`crd::generate`]
//! for the CRD, [`render::render`] for instances, [`eval::Evaluator`] for CEL,
//! [`schema::compile`] and [`schema::validate()`] for SimpleSchema, [`lint::check`] for
//! `gantry validate`. Every error carries the [`FieldPath`] of the offending field from the
//! RGD's root (and, for expressions, the byte range inside that string), so callers holding
//! the YAML tree can report `file:line:col` ([`locate`]).
//!
//! Not here: type-checking expressions against resource schemas (Kro asks the cluster for
//! them), evaluating `readyWhen` and the instance status (they need observed state). This
//! crate does no I/O.

pub mod crd;
pub mod dag;
pub mod eval;
pub mod expr;
pub mod graph;
pub mod lint;
pub mod render;
pub mod schema;

use std::ops::Range;

use gantry_api::Resource;
use gantry_api::diagnostic::Location;
use gantry_api::path::FieldPath;

pub use graph::{Graph, GraphError, GraphErrorKind};
pub use schema::{SchemaError, SchemaErrorKind};

/// Any problem with an RGD (or with rendering one of its instances).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    /// The SimpleSchema does not compile.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The resources do not form a valid graph.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// An instance could not be rendered (at an RGD field).
    #[error(transparent)]
    Render(#[from] render::RenderError),
    /// The instance itself is wrong (the path is inside the instance, not the RGD).
    #[error(transparent)]
    Instance(#[from] render::InstanceError),
}

impl Error {
    /// The offending field, from the RGD's root.
    pub fn path(&self) -> &FieldPath {
        match self {
            Error::Schema(error) => &error.path,
            Error::Graph(error) => &error.path,
            Error::Render(error) => &error.path,
            Error::Instance(error) => &error.path,
        }
    }

    /// Whether the path is inside the instance rather than the RGD.
    pub fn in_instance(&self) -> bool {
        matches!(self, Error::Instance(_))
    }

    /// For expressions: the byte range inside the field's string value.
    pub fn span(&self) -> Option<Range<usize>> {
        match self {
            Error::Schema(_) | Error::Instance(_) => None,
            Error::Graph(error) => error.span.clone(),
            Error::Render(error) => error.span.clone(),
        }
    }
}

/// Where `error` is in the file `resource` (the RGD) was loaded from: the exact bytes of an
/// expression when the error has a span inside a string, else the offending field's value.
pub fn locate(resource: &Resource, error: &Error) -> Location {
    let path = error.path();
    let node = resource.node(path);
    match (
        error.span(),
        node.and_then(|node| node.as_str().map(|text| (node, text))),
    ) {
        (Some(range), Some((node, text))) => resource.value_location(node.span, text, range),
        _ => resource.location(path),
    }
}
