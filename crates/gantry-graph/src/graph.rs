//! The resource graph of an RGD: one node per resource in declared order, an edge wherever a
//! resource's template, `forEach` or `includeWhen` expressions read another resource, and the
//! orders derived from it.
//!
//! [`Graph::build`] checks what Kro checks before it needs a cluster: the kind and version of
//! the generated API, resource ids (lowerCamelCase, unique, not reserved), that each resource
//! has exactly one of `template` and `externalRef` and looks like a Kubernetes object, `forEach`
//! iterator names, that `includeWhen`/`readyWhen`/`forEach` entries are standalone expressions,
//! that every identifier an expression reads exists (`schema`, a resource id, the resource's own
//! iterators; `readyWhen` may read only the resource itself or `each`), no self-references and
//! no cycles. It collects every problem instead of stopping at the first, each with the
//! [`FieldPath`] of the offending field and, for expressions, the byte range inside that string.
//!
//! `readyWhen` and `schema` references make no edges. Status expressions are collected (for
//! the CRD's status schema and later rendering) and checked, but make no edges either.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use gantry_api::kro::{ResourceGraphDefinition, RgdResource};
use gantry_api::path::FieldPath;
use regex::Regex;
use serde_json::Value;

use crate::dag::{Dag, DagError};
use crate::eval::{CompileErrorKind, Evaluator};
use crate::expr::{ExprError, Reference, Template, references};

/// CEL's reserved words: no resource id may be one.
pub const CEL_RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Kro's reserved words: no resource id may be one.
pub const KRO_RESERVED: &[&str] = &[
    "apiVersion",
    "context",
    "dependency",
    "dependencies",
    "each",
    "externalRef",
    "externalReference",
    "externalRefs",
    "externalReferences",
    "graph",
    "instance",
    "item",
    "items",
    "kind",
    "kro",
    "metadata",
    "namespace",
    "object",
    "resource",
    "resourcegraphdefinition",
    "resourceGraphDefinition",
    "resources",
    "root",
    "runtime",
    "schema",
    "self",
    "serviceAccountName",
    "spec",
    "status",
    "this",
    "variables",
    "vars",
    "version",
];

/// Whether `word` may not be used as a resource id or iterator name.
pub fn is_reserved(word: &str) -> bool {
    CEL_RESERVED.contains(&word) || KRO_RESERVED.contains(&word)
}

/// A problem found while building the graph.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct GraphError {
    /// The offending field, from the RGD's root.
    pub path: FieldPath,
    /// For expressions: the bytes of the field's string value at fault.
    pub span: Option<Range<usize>>,
    /// What is wrong.
    pub kind: GraphErrorKind,
}

/// What is wrong with a graph. Messages follow Kro's where Kro has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphErrorKind {
    /// `spec.schema.kind` is not UpperCamelCase (at most 63 characters).
    #[error(
        "naming convention violation: kind '{0}' is not a valid KRO kind name: must be UpperCamelCase"
    )]
    InvalidKind(String),
    /// `spec.schema.apiVersion` is not `v1`, `v1alpha1`, `v2beta3`...
    #[error("version {0} is not a valid Kubernetes version")]
    InvalidVersion(String),
    /// `spec.schema.scope` is neither `Namespaced` nor `Cluster`.
    #[error("scope {0:?} is not valid: must be Namespaced or Cluster")]
    InvalidScope(String),
    /// A reserved word used as id.
    #[error("naming convention violation: id {0} is a reserved keyword in KRO")]
    ReservedId(String),
    /// An id that is not lowerCamelCase.
    #[error(
        "naming convention violation: id {0} is not a valid KRO resource id: must be lower camelCase"
    )]
    InvalidId(String),
    /// Two resources with one id.
    #[error("found duplicate resource IDs {0}")]
    DuplicateId(String),
    /// Neither or both of `template` and `externalRef`.
    #[error("exactly one of template or externalRef must be provided")]
    TemplateXorExternalRef,
    /// `externalRef` with `forEach`.
    #[error("externalRef cannot be combined with forEach")]
    ExternalRefForEach,
    /// `externalRef.metadata` with both or neither of `name` and `selector`.
    #[error("externalRef metadata must set exactly one of name or selector")]
    ExternalRefTarget,
    /// A template without `apiVersion`, `kind` or `metadata`.
    #[error("resource {id} is not a valid Kubernetes object: {problem}")]
    NotAnObject {
        /// The resource.
        id: String,
        /// What is missing (Kro's wording: `apiVersion field not found`...).
        problem: String,
    },
    /// A `${` problem inside a string.
    #[error(transparent)]
    Expression(#[from] ExprError),
    /// An expression that is not valid CEL, or calls a function that does not exist.
    #[error(transparent)]
    Cel(#[from] CompileErrorKind),
    /// An `includeWhen`, `readyWhen` or `forEach` entry that is not exactly one `${...}`.
    #[error("{field} entries must be standalone expressions: a single ${{...}} and nothing else")]
    NotStandalone {
        /// `includeWhen`, `readyWhen` or `forEach`.
        field: &'static str,
    },
    /// A `forEach` entry that is not a one-key mapping to an expression.
    #[error("forEach entries must be mappings of one iterator name to an expression")]
    BadForEach,
    /// A `forEach` iterator name that is not lowerCamelCase.
    #[error("resource {id:?}: forEach iterator name {name:?} is not valid: must be lowerCamelCase")]
    InvalidIterator {
        /// The resource.
        id: String,
        /// The iterator.
        name: String,
    },
    /// A reserved word as iterator name.
    #[error("resource {id:?}: forEach iterator name {name:?} is a reserved keyword")]
    ReservedIterator {
        /// The resource.
        id: String,
        /// The iterator.
        name: String,
    },
    /// An iterator named like a resource.
    #[error("resource {id:?}: forEach iterator name {name:?} conflicts with resource ID")]
    IteratorConflict {
        /// The resource.
        id: String,
        /// The iterator.
        name: String,
    },
    /// Two iterators of one name.
    #[error("resource {id:?}: duplicate forEach iterator name {name:?}")]
    DuplicateIterator {
        /// The resource.
        id: String,
        /// The iterator.
        name: String,
    },
    /// A forEach expression reading another iterator of the same resource.
    #[error("forEach iterators may not reference each other: {0} is an iterator")]
    IteratorReference(String),
    /// Identifiers that are neither `schema`, a resource id nor a variable in scope.
    #[error("expression {expression:?} references unknown identifiers: [{}]", .names.join(" "))]
    UnknownIdentifiers {
        /// The CEL source.
        expression: String,
        /// The unknown names, sorted.
        names: Vec<String>,
    },
    /// `readyWhen` reading another resource.
    #[error("readyWhen expressions may only reference the resource itself ({id}), found {found}")]
    ReadyWhenReference {
        /// The resource.
        id: String,
        /// What it reads.
        found: String,
    },
    /// A resource whose expressions read itself.
    #[error("self references are not allowed")]
    SelfReference,
    /// Resources that depend on each other in a circle.
    #[error("graph contains a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// An expression whose type is known statically (a plain path into the instance spec) and
    /// wrong for where it is. Kro's message.
    #[error(
        "type mismatch in resource {resource:?} at path {path:?}: expression {expression:?} returns type {found:?} but expected {expected:?}"
    )]
    TypeMismatch {
        /// The resource.
        resource: String,
        /// The field, from the RGD's root.
        path: String,
        /// The CEL source.
        expression: String,
        /// Its type.
        found: String,
        /// The type needed there.
        expected: String,
    },
    /// A template label or annotation under a prefix Kro owns.
    #[error(
        "{field} key {key:?} uses a prefix Kro owns (kro.run/, internal.kro.run/): Kro sets those keys itself"
    )]
    ReservedMetadataKey {
        /// `labels` or `annotations`.
        field: &'static str,
        /// The key.
        key: String,
    },
    /// A status leaf that is not a string with an expression.
    #[error("status fields without expressions are not supported")]
    StatusWithoutExpression,
}

impl GraphErrorKind {
    /// Whether this is only a warning: the RGD is valid for Kro, but gantry cannot evaluate
    /// all of it offline (a function of Kro's environment that gantry lacks).
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            GraphErrorKind::Cel(CompileErrorKind::UnsupportedFunction(_))
        )
    }
}

/// `path` (from the RGD's root) relative to its resource: `spec.resources[2].template.data.x`
/// is `data.x`, `spec.resources[2].includeWhen[0]` is `includeWhen[0]`, as Kro's messages say.
pub fn resource_relative(path: &FieldPath) -> String {
    use gantry_api::path::Segment;
    let segments = match path.0.as_slice() {
        [
            Segment::Key(spec),
            Segment::Key(resources),
            Segment::Index(_),
            rest @ ..,
        ] if spec == "spec" && resources == "resources" => match rest {
            [Segment::Key(template), inner @ ..] if template == "template" => inner,
            other => other,
        },
        all => all,
    };
    FieldPath(segments.to_vec()).to_string()
}

/// Whether a node is created from a template or only read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Rendered from `template` and applied.
    Template,
    /// Read from the cluster (`externalRef`), never created or deleted.
    ExternalRef,
}

/// A string field holding `${...}` expressions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Where it is, from the RGD's root.
    pub path: FieldPath,
    /// Its text split into literal parts and expressions.
    pub template: Template,
    /// The identifiers its expressions read; spans are within the field's string.
    pub references: Vec<Reference>,
}

impl Field {
    /// Whether the whole string is one expression (its value may have any type).
    pub fn is_standalone(&self) -> bool {
        self.template.is_standalone()
    }
}

/// One `forEach` dimension: an iterator name and the collection expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dimension {
    /// The iterator variable.
    pub name: String,
    /// The collection expression.
    pub field: Field,
}

/// One resource of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Its id.
    pub id: String,
    /// Its index in `spec.resources`.
    pub index: usize,
    /// Template or external reference.
    pub kind: NodeKind,
    /// The object's `apiVersion` (empty when missing).
    pub api_version: String,
    /// The object's `kind` (empty when missing).
    pub object_kind: String,
    /// The template (or the external reference) as written.
    pub object: Value,
    /// Its string fields with expressions, in document order.
    pub fields: Vec<Field>,
    /// `includeWhen` conditions.
    pub include_when: Vec<Field>,
    /// `readyWhen` conditions.
    pub ready_when: Vec<Field>,
    /// `forEach` dimensions (a collection when not empty).
    pub for_each: Vec<Dimension>,
    /// The resources it depends on, in declared order.
    pub dependencies: Vec<String>,
}

/// The checked graph.
#[derive(Clone, Debug)]
pub struct Graph {
    /// The nodes in declared order.
    pub nodes: Vec<Node>,
    /// Status fields with their expressions (`spec.schema.status`).
    pub status: Vec<Field>,
    /// Problems that do not make the graph invalid (see [`GraphErrorKind::is_warning`]).
    pub warnings: Vec<GraphError>,
    dag: Dag,
}

impl Graph {
    /// Builds and checks the graph of `rgd`; every problem found is returned (warnings
    /// included, when there are errors).
    pub fn build(rgd: &ResourceGraphDefinition) -> Result<Graph, Vec<GraphError>> {
        Builder {
            errors: Vec::new(),
            evaluator: Evaluator::new(),
        }
        .build(rgd)
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// Ids in apply order: dependencies first, otherwise declared order.
    pub fn topological_order(&self) -> Vec<String> {
        self.dag.topological_order()
    }

    /// Deletion layers: the first holds the resources nothing depends on; the last the pure
    /// dependencies. One layer's resources can go at the same time.
    pub fn deletion_layers(&self) -> Vec<Vec<String>> {
        self.dag.reverse_layers()
    }

    /// Kro's apply order per id (`internal.kro.run/apply-order`): layer `i` of
    /// [`Graph::deletion_layers`] gets `layers - i`, so pure dependencies get 1 and deletion
    /// goes from the highest number down.
    pub fn apply_orders(&self) -> HashMap<String, usize> {
        let layers = self.deletion_layers();
        let count = layers.len();
        layers
            .into_iter()
            .enumerate()
            .flat_map(|(i, layer)| layer.into_iter().map(move |id| (id, count - i)))
            .collect()
    }
}

fn lower_camel() -> Regex {
    Regex::new(r"^[a-z][a-zA-Z0-9]*$").expect("the pattern is valid")
}

struct Builder {
    errors: Vec<GraphError>,
    evaluator: Evaluator,
}

/// Which identifiers an expression may read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Template,
    ForEach,
    IncludeWhen,
    ReadyWhen,
    Status,
}

impl Builder {
    fn error(&mut self, path: &FieldPath, span: Option<Range<usize>>, kind: GraphErrorKind) {
        self.errors.push(GraphError {
            path: path.clone(),
            span,
            kind,
        });
    }

    fn build(mut self, rgd: &ResourceGraphDefinition) -> Result<Graph, Vec<GraphError>> {
        self.check_schema_names(rgd);
        let resources_path = FieldPath::root().key("spec").key("resources");
        let id_pattern = lower_camel();
        let mut dag = Dag::new();
        let mut nodes = Vec::new();
        for (index, resource) in rgd.spec.resources.iter().enumerate() {
            let path = resources_path.index(index);
            let id = &resource.id;
            let id_path = path.key("id");
            if is_reserved(id) {
                self.error(&id_path, None, GraphErrorKind::ReservedId(id.clone()));
            } else if !id_pattern.is_match(id) {
                self.error(&id_path, None, GraphErrorKind::InvalidId(id.clone()));
            } else if dag.add_vertex(id, index).is_err() {
                self.error(&id_path, None, GraphErrorKind::DuplicateId(id.clone()));
                continue;
            }
            if let Some(node) = self.node(resource, index, &path) {
                nodes.push(node);
            }
        }
        let ids: BTreeSet<String> = nodes
            .iter()
            .filter(|node| dag.contains(&node.id))
            .map(|node| node.id.clone())
            .collect();
        for node in &nodes {
            self.check_iterators(node, &ids, &resources_path.index(node.index));
        }
        let status = self.status_fields(rgd);
        // References, edges and where each edge comes from.
        let mut edge_origin: HashMap<(String, String), (FieldPath, Range<usize>)> = HashMap::new();
        let mut edges: Vec<(String, Vec<String>)> = Vec::new();
        for node in &nodes {
            let mut dependencies: Vec<String> = Vec::new();
            let iterators: Vec<&str> = node.for_each.iter().map(|d| d.name.as_str()).collect();
            let groups: [(&[Field], Context); 3] = [
                (&node.fields, Context::Template),
                (&node.include_when, Context::IncludeWhen),
                (&node.ready_when, Context::ReadyWhen),
            ];
            let for_each_fields: Vec<Field> =
                node.for_each.iter().map(|d| d.field.clone()).collect();
            for (fields, context) in groups.into_iter().chain(std::iter::once((
                for_each_fields.as_slice(),
                Context::ForEach,
            ))) {
                for field in fields {
                    for reference in self.check_references(field, context, node, &ids, &iterators) {
                        edge_origin
                            .entry((node.id.clone(), reference.root.clone()))
                            .or_insert_with(|| (field.path.clone(), reference.span.clone()));
                        if !dependencies.contains(&reference.root) {
                            dependencies.push(reference.root);
                        }
                    }
                }
            }
            if dag.contains(&node.id) {
                edges.push((node.id.clone(), dependencies));
            }
        }
        for field in &status {
            let none = Node {
                id: String::new(),
                index: usize::MAX,
                kind: NodeKind::Template,
                api_version: String::new(),
                object_kind: String::new(),
                object: Value::Null,
                fields: Vec::new(),
                include_when: Vec::new(),
                ready_when: Vec::new(),
                for_each: Vec::new(),
                dependencies: Vec::new(),
            };
            self.check_references(field, Context::Status, &none, &ids, &[]);
        }
        for (id, dependencies) in &edges {
            if let Err(error) = dag.add_dependencies(id, dependencies) {
                let (kind, origin) = match error {
                    DagError::Cycle(cycle) => {
                        let origin = cycle
                            .get(1)
                            .and_then(|next| edge_origin.get(&(cycle[0].clone(), next.clone())));
                        (GraphErrorKind::Cycle(cycle.clone()), origin)
                    }
                    // Self references and unknown ids were reported with their expression.
                    _ => continue,
                };
                let (path, span) = origin.cloned().map_or_else(
                    || (resources_path.clone(), None),
                    |(path, span)| (path, Some(span)),
                );
                self.error(&path, span, kind);
            }
        }
        for node in &mut nodes {
            node.dependencies = dag
                .dependencies(&node.id)
                .into_iter()
                .map(str::to_owned)
                .collect();
        }
        if self.errors.iter().all(|error| error.kind.is_warning()) {
            Ok(Graph {
                nodes,
                status,
                warnings: self.errors,
                dag,
            })
        } else {
            Err(self.errors)
        }
    }

    fn check_schema_names(&mut self, rgd: &ResourceGraphDefinition) {
        let schema = &rgd.spec.schema;
        let path = FieldPath::root().key("spec").key("schema");
        let kind_ok = Regex::new(r"^[A-Z][a-zA-Z0-9]{0,62}$")
            .expect("the pattern is valid")
            .is_match(&schema.kind);
        if !kind_ok {
            self.error(
                &path.key("kind"),
                None,
                GraphErrorKind::InvalidKind(schema.kind.clone()),
            );
        }
        let version_ok = Regex::new(r"^v\d+(?:(?:alpha|beta)\d+)?$")
            .expect("the pattern is valid")
            .is_match(&schema.api_version);
        if !version_ok {
            self.error(
                &path.key("apiVersion"),
                None,
                GraphErrorKind::InvalidVersion(schema.api_version.clone()),
            );
        }
        if let Some(scope) = &schema.scope
            && !matches!(scope.as_str(), "Namespaced" | "Cluster")
        {
            self.error(
                &path.key("scope"),
                None,
                GraphErrorKind::InvalidScope(scope.clone()),
            );
        }
    }

    fn node(&mut self, resource: &RgdResource, index: usize, path: &FieldPath) -> Option<Node> {
        let (kind, object, object_path) = match (&resource.template, &resource.external_ref) {
            (Some(template), None) => (NodeKind::Template, template, path.key("template")),
            (None, Some(external)) => (NodeKind::ExternalRef, external, path.key("externalRef")),
            _ => {
                self.error(path, None, GraphErrorKind::TemplateXorExternalRef);
                return None;
            }
        };
        if kind == NodeKind::ExternalRef && !resource.for_each.is_empty() {
            self.error(
                &path.key("forEach"),
                None,
                GraphErrorKind::ExternalRefForEach,
            );
        }
        let problem = object_problem(object);
        if let Some(problem) = problem {
            self.error(
                &object_path,
                None,
                GraphErrorKind::NotAnObject {
                    id: resource.id.clone(),
                    problem: problem.to_owned(),
                },
            );
        } else if kind == NodeKind::ExternalRef {
            let metadata = &object["metadata"];
            if metadata.get("name").is_some() == metadata.get("selector").is_some() {
                self.error(
                    &object_path.key("metadata"),
                    None,
                    GraphErrorKind::ExternalRefTarget,
                );
            }
        }
        if kind == NodeKind::Template {
            for field in ["labels", "annotations"] {
                let Some(entries) = object
                    .get("metadata")
                    .and_then(|m| m.get(field))
                    .and_then(Value::as_object)
                else {
                    continue;
                };
                for key in entries.keys() {
                    if key.starts_with("kro.run/") || key.starts_with("internal.kro.run/") {
                        self.error(
                            &object_path.key("metadata").key(field).key(key),
                            None,
                            GraphErrorKind::ReservedMetadataKey {
                                field,
                                key: key.clone(),
                            },
                        );
                    }
                }
            }
        }
        let mut fields = Vec::new();
        self.collect_fields(object, &object_path, &mut fields);
        let include_when = self.conditions(
            &resource.include_when,
            &path.key("includeWhen"),
            "includeWhen",
        );
        let ready_when = self.conditions(&resource.ready_when, &path.key("readyWhen"), "readyWhen");
        let mut for_each = Vec::new();
        for (i, entry) in resource.for_each.iter().enumerate() {
            let entry_path = path.key("forEach").index(i);
            let Some((name, Value::String(text))) = entry
                .as_object()
                .filter(|map| map.len() == 1)
                .and_then(|map| map.iter().next())
            else {
                self.error(&entry_path, None, GraphErrorKind::BadForEach);
                continue;
            };
            let field_path = entry_path.key(name);
            if let Some(field) = self.standalone(text, &field_path, "forEach") {
                for_each.push(Dimension {
                    name: name.clone(),
                    field,
                });
            }
        }
        Some(Node {
            id: resource.id.clone(),
            index,
            kind,
            api_version: object["apiVersion"].as_str().unwrap_or_default().to_owned(),
            object_kind: object["kind"].as_str().unwrap_or_default().to_owned(),
            object: object.clone(),
            fields,
            include_when,
            ready_when,
            for_each,
            dependencies: Vec::new(),
        })
    }

    fn check_iterators(&mut self, node: &Node, ids: &BTreeSet<String>, path: &FieldPath) {
        let pattern = lower_camel();
        let mut seen = BTreeSet::new();
        for (i, dimension) in node.for_each.iter().enumerate() {
            let at = path.key("forEach").index(i);
            let (id, name) = (node.id.clone(), dimension.name.clone());
            let kind = if !pattern.is_match(&name) {
                GraphErrorKind::InvalidIterator { id, name }
            } else if is_reserved(&name) {
                GraphErrorKind::ReservedIterator { id, name }
            } else if ids.contains(&name) {
                GraphErrorKind::IteratorConflict { id, name }
            } else if !seen.insert(name.clone()) {
                GraphErrorKind::DuplicateIterator { id, name }
            } else {
                continue;
            };
            self.error(&at, None, kind);
        }
    }

    fn conditions(
        &mut self,
        entries: &[String],
        path: &FieldPath,
        field: &'static str,
    ) -> Vec<Field> {
        entries
            .iter()
            .enumerate()
            .filter_map(|(i, text)| self.standalone(text, &path.index(i), field))
            .collect()
    }

    /// A field that must be exactly one expression.
    fn standalone(&mut self, text: &str, path: &FieldPath, field: &'static str) -> Option<Field> {
        let parsed = self.parse(text, path)?;
        if !parsed.is_standalone() {
            self.error(
                path,
                Some(0..text.len()),
                GraphErrorKind::NotStandalone { field },
            );
            return None;
        }
        Some(parsed)
    }

    fn parse(&mut self, text: &str, path: &FieldPath) -> Option<Field> {
        match Template::parse(text) {
            Ok(template) => {
                for expression in template.expressions() {
                    if let Err(errors) = self.evaluator.compile(&expression.source) {
                        for error in errors {
                            let start = expression.inner.start;
                            self.error(
                                path,
                                Some(error.span.start + start..error.span.end + start),
                                error.kind.into(),
                            );
                        }
                    }
                }
                let references = template
                    .expressions()
                    .flat_map(|expression| {
                        references(&expression.source)
                            .into_iter()
                            .map(|mut reference| {
                                reference.span = reference.span.start + expression.inner.start
                                    ..reference.span.end + expression.inner.start;
                                reference
                            })
                    })
                    .collect();
                Some(Field {
                    path: path.clone(),
                    template,
                    references,
                })
            }
            Err(error) => {
                self.error(path, Some(error.span()), error.into());
                None
            }
        }
    }

    /// Every string value of `value` with expressions (mapping keys are not evaluated).
    fn collect_fields(&mut self, value: &Value, path: &FieldPath, out: &mut Vec<Field>) {
        match value {
            Value::String(text) => {
                if let Some(field) = self.parse(text, path)
                    && field.template.has_expressions()
                {
                    out.push(field);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.collect_fields(item, &path.index(i), out);
                }
            }
            Value::Object(entries) => {
                for (key, item) in entries {
                    self.collect_fields(item, &path.key(key), out);
                }
            }
            _ => {}
        }
    }

    fn status_fields(&mut self, rgd: &ResourceGraphDefinition) -> Vec<Field> {
        let path = FieldPath::root().key("spec").key("schema").key("status");
        let mut fields = Vec::new();
        if let Value::Object(entries) = &rgd.spec.schema.status {
            for (key, value) in entries {
                if key == "state" {
                    continue;
                }
                if key == "conditions" && value.is_array() {
                    continue;
                }
                self.status_leaves(value, &path.key(key), &mut fields);
            }
        } else if !rgd.spec.schema.status.is_null() {
            self.error(&path, None, GraphErrorKind::StatusWithoutExpression);
        }
        fields
    }

    fn status_leaves(&mut self, value: &Value, path: &FieldPath, out: &mut Vec<Field>) {
        match value {
            Value::Object(entries) => {
                for (key, child) in entries {
                    self.status_leaves(child, &path.key(key), out);
                }
            }
            Value::String(text) => {
                if let Some(field) = self.parse(text, path) {
                    if field.template.has_expressions() {
                        out.push(field);
                    } else {
                        self.error(path, None, GraphErrorKind::StatusWithoutExpression);
                    }
                }
            }
            _ => self.error(path, None, GraphErrorKind::StatusWithoutExpression),
        }
    }

    /// Checks what `field`'s expressions read and returns the references that are edges.
    fn check_references(
        &mut self,
        field: &Field,
        context: Context,
        node: &Node,
        ids: &BTreeSet<String>,
        iterators: &[&str],
    ) -> Vec<Reference> {
        let mut edges = Vec::new();
        for expression in field.template.expressions() {
            let inside = |r: &&Reference| {
                r.span.start >= expression.inner.start && r.span.end <= expression.inner.end
            };
            let mut unknown: Vec<&Reference> = Vec::new();
            for reference in field.references.iter().filter(inside) {
                let root = reference.root.as_str();
                let is_resource = ids.contains(root);
                match context {
                    Context::ReadyWhen => {
                        let collection = !node.for_each.is_empty();
                        if root == node.id || (collection && root == "each") {
                            continue;
                        }
                        if is_resource || root == "schema" {
                            self.error(
                                &field.path,
                                Some(reference.span.clone()),
                                GraphErrorKind::ReadyWhenReference {
                                    id: node.id.clone(),
                                    found: root.to_owned(),
                                },
                            );
                        } else {
                            unknown.push(reference);
                        }
                    }
                    _ if root == "schema" => {}
                    Context::Template | Context::IncludeWhen | Context::ForEach
                        if root == node.id =>
                    {
                        self.error(
                            &field.path,
                            Some(reference.span.clone()),
                            GraphErrorKind::SelfReference,
                        );
                    }
                    _ if is_resource => {
                        if context != Context::Status {
                            edges.push(reference.clone());
                        }
                    }
                    Context::ForEach if iterators.contains(&root) => self.error(
                        &field.path,
                        Some(reference.span.clone()),
                        GraphErrorKind::IteratorReference(root.to_owned()),
                    ),
                    Context::Template if iterators.contains(&root) => {}
                    _ => unknown.push(reference),
                }
            }
            if let Some(first) = unknown.first() {
                let names: BTreeSet<String> = unknown.iter().map(|r| r.root.clone()).collect();
                self.error(
                    &field.path,
                    Some(first.span.clone()),
                    GraphErrorKind::UnknownIdentifiers {
                        expression: expression.source.clone(),
                        names: names.into_iter().collect(),
                    },
                );
            }
        }
        edges
    }
}

/// Kro's check that a template looks like a Kubernetes object.
fn object_problem(object: &Value) -> Option<&'static str> {
    let Some(map) = object.as_object() else {
        return Some("apiVersion field not found");
    };
    match map.get("apiVersion") {
        None => return Some("apiVersion field not found"),
        Some(v) if !v.is_string() => return Some("apiVersion field is not a string"),
        _ => {}
    }
    match map.get("kind") {
        None => return Some("kind field not found"),
        Some(v) if !v.is_string() => return Some("kind field is not a string"),
        _ => {}
    }
    match map.get("metadata") {
        None => Some("metadata field not found"),
        Some(v) if !v.is_object() => Some("metadata field is not a map"),
        _ => None,
    }
}

#[cfg(test)]
#[expect(
    clippy::needless_pass_by_value,
    reason = "fixtures are built inline with json!"
)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rgd(resources: Value) -> ResourceGraphDefinition {
        serde_json::from_value(json!({
            "apiVersion": "kro.run/v1alpha1",
            "kind": "ResourceGraphDefinition",
            "metadata": {"name": "t"},
            "spec": {
                "schema": {"apiVersion": "v1alpha1", "kind": "App", "spec": {"name": "string"}},
                "resources": resources
            }
        }))
        .unwrap()
    }

    fn cm(id: &str, data: Value) -> Value {
        json!({"id": id, "template": {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "${schema.spec.name}"}, "data": data}})
    }

    fn errors(resources: Value) -> Vec<String> {
        Graph::build(&rgd(resources))
            .unwrap_err()
            .iter()
            .map(|e| format!("{} {:?}: {e}", e.path, e.span))
            .collect()
    }

    #[test]
    fn edges_come_from_templates_for_each_and_include_when_but_not_ready_when() {
        let graph = Graph::build(&rgd(json!([
            {"id": "service", "template": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                "spec": {"selector": "${deployment.spec.selector.matchLabels}"}},
             "readyWhen": ["${service.spec.clusterIP != \"\"}"]},
            {"id": "deployment", "template": {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "${config.metadata.name}-x"}},
             "includeWhen": ["${flags.data.enabled == 'true'}"]},
            cm("config", json!({})),
            cm("flags", json!({})),
        ])))
        .unwrap();
        assert_eq!(
            graph.topological_order(),
            ["config", "flags", "deployment", "service"]
        );
        assert_eq!(
            graph.node("deployment").unwrap().dependencies,
            ["config", "flags"]
        );
        assert_eq!(
            graph.deletion_layers(),
            vec![vec!["service"], vec!["deployment"], vec!["config", "flags"]]
        );
        assert_eq!(graph.apply_orders()["config"], 1);
        assert_eq!(graph.apply_orders()["service"], 3);
    }

    #[test]
    fn cycles_self_references_and_unknown_identifiers_are_located() {
        assert_eq!(
            errors(json!([
                cm("a", json!({"x": "${b.data.x}"})),
                cm("b", json!({"x": "v-${a.data.x}"}))
            ])),
            ["spec.resources[0].template.data.x Some(2..10): graph contains a cycle: a -> b -> a"]
        );
        assert_eq!(
            errors(json!([cm("a", json!({"x": "${a.data.y}"}))])),
            ["spec.resources[0].template.data.x Some(2..10): self references are not allowed"]
        );
        assert_eq!(
            errors(json!([cm(
                "a",
                json!({"x": "p-${size(ghost.items) + zed}"})
            )])),
            [
                "spec.resources[0].template.data.x Some(9..20): expression \"size(ghost.items) + zed\" references unknown identifiers: [ghost zed]"
            ]
        );
    }

    #[test]
    fn ids_are_checked_like_kro() {
        assert_eq!(
            errors(json!([
                cm("spec", json!({})),
                cm("my-cm", json!({})),
                cm("a", json!({})),
                cm("a", json!({}))
            ])),
            [
                "spec.resources[0].id None: naming convention violation: id spec is a reserved keyword in KRO",
                "spec.resources[1].id None: naming convention violation: id my-cm is not a valid KRO resource id: must be lower camelCase",
                "spec.resources[3].id None: found duplicate resource IDs a",
            ]
        );
    }

    #[test]
    fn for_each_iterators_are_variables_of_their_own_template_only() {
        let graph = Graph::build(&rgd(json!([
            {"id": "regions", "forEach": [{"region": "${schema.spec.regions}"}],
             "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-${region}"}},
             "readyWhen": ["${each.data != null}"]},
        ])))
        .unwrap();
        assert_eq!(graph.nodes[0].for_each[0].name, "region");
        assert_eq!(
            errors(json!([
                {"id": "a", "forEach": [{"x": "${schema.spec.l}"}, {"y": "${x}"}],
                 "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "${x}-${y}"}}},
                cm("b", json!({"v": "${x}"})),
            ])),
            [
                "spec.resources[0].forEach[1].y Some(2..3): forEach iterators may not reference each other: x is an iterator",
                "spec.resources[1].template.data.v Some(2..3): expression \"x\" references unknown identifiers: [x]",
            ]
        );
    }

    #[test]
    fn structure_problems_are_reported() {
        assert_eq!(
            errors(json!([
                {"id": "a"},
                {"id": "b", "template": {"kind": "ConfigMap"}},
                {"id": "c", "externalRef": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}},
                {"id": "d", "template": {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"labels": {"kro.run/owned": "x", "app": "y"}}},
                 "includeWhen": ["x-${schema.spec.on}"], "readyWhen": ["${schema.spec.name == 'x'}"]},
            ])),
            [
                "spec.resources[0] None: exactly one of template or externalRef must be provided",
                "spec.resources[1].template None: resource b is not a valid Kubernetes object: apiVersion field not found",
                "spec.resources[2].externalRef.metadata None: externalRef metadata must set exactly one of name or selector",
                "spec.resources[3].template.metadata.labels[\"kro.run/owned\"] None: labels key \"kro.run/owned\" uses a prefix Kro owns (kro.run/, internal.kro.run/): Kro sets those keys itself",
                "spec.resources[3].includeWhen[0] Some(0..19): includeWhen entries must be standalone expressions: a single ${...} and nothing else",
                "spec.resources[3].readyWhen[0] Some(2..18): readyWhen expressions may only reference the resource itself (d), found schema",
            ]
        );
    }
}
