//! Rendering an instance of an RGD into the manifests Kro would apply, offline.
//!
//! ```text
//!  instance ──► checked against the compiled SimpleSchema (defaults applied, unknown
//!               fields pruned): the `schema` variable
//!  graph ─────► each resource in topological order:
//!                 dependency skipped ──► skipped too
//!                 externalRef ─────────► not rendered; what reads it is pending
//!                 includeWhen false ───► skipped (and, through the rule above, its dependents)
//!                 forEach ─────────────► one object per element of the cartesian product
//!                 template ────────────► every `${...}` evaluated; standalone expressions keep
//!                                        their type, string templates concatenate strings
//!                 namespace, labels, apply-order annotation (see [`metadata`])
//! ```
//!
//! **Desired versus observed.** An expression reading another resource is evaluated against
//! that resource's *rendered template* (its desired state). Whatever only the cluster knows
//! is reported as [`Pending`], never invented: anything under `.status`, fields the template
//! does not set (`service.spec.clusterIP`, `metadata.uid`...), anything of an `externalRef`,
//! and fields that are themselves pending. A pending field is left out of its manifest (a
//! pending list element is dropped) and the manifest is marked incomplete; Kro itself would
//! wait and apply the resource once the data exists. A pending `includeWhen` or `forEach`
//! makes the whole resource (and its dependents) pending. `readyWhen` and the instance's
//! status need observed state and are not evaluated.
//!
//! Errors carry the resource id, the offending RGD field and the bytes of the expression (see
//! [`crate::locate`]); instance errors carry the path inside the instance.

pub mod metadata;

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use gantry_api::kro::ResourceGraphDefinition;
use gantry_api::path::{FieldPath, Segment};
use serde_json::{Map, Value};

use crate::crd::DEFAULT_GROUP;
use crate::eval::{CompileErrorKind, EvalError, Evaluator, Program, from_json};
use crate::expr::Part;
use crate::graph::{Field, Graph, Node, NodeKind};
use crate::{Error, schema};
use metadata::Owner;

/// Knobs of [`render`].
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// The namespace of an instance that sets none (as with `kubectl -n`).
    pub default_namespace: String,
    /// The Kro version to write in `kro.run/kro-version`; without it the label is left out.
    pub kro_version: Option<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            default_namespace: "default".to_owned(),
            kro_version: None,
        }
    }
}

/// What rendering produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// The instance as Kro sees it: defaults applied, unknown fields pruned.
    pub instance: Value,
    /// The manifests, in apply order.
    pub manifests: Vec<Manifest>,
    /// What could not be rendered offline.
    pub pending: Vec<Pending>,
    /// Resources left out by `includeWhen`.
    pub skipped: Vec<Skipped>,
    /// `externalRef` resources: read from the cluster, never rendered.
    pub external: Vec<String>,
    /// Instance fields the schema does not know, removed as the API server would.
    pub pruned: Vec<String>,
}

/// One rendered object.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The resource id.
    pub id: String,
    /// The item's position, for a `forEach` collection.
    pub index: Option<usize>,
    /// Kro's apply order (`internal.kro.run/apply-order`).
    pub apply_order: usize,
    /// The object.
    pub object: Value,
    /// Whether every field rendered (no pending field was left out).
    pub complete: bool,
}

/// A field (or a whole resource) that needs data only the cluster has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The resource id (`id[2]` for a collection item).
    pub resource: String,
    /// The field inside the manifest; the root for a whole resource.
    pub path: FieldPath,
    /// The field of the RGD holding the expression.
    pub source: FieldPath,
    /// The expression (the whole field's text).
    pub expression: String,
    /// Why it cannot be rendered.
    pub reason: PendingReason,
}

/// Why something is pending.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PendingReason {
    /// It reads an `externalRef`.
    #[error("reads externalRef {id}, whose data exists only in the cluster")]
    ExternalRef {
        /// The external resource.
        id: String,
    },
    /// It reads observed state (`.status`, server-set metadata).
    #[error("reads {reference}, which only the cluster reports")]
    Observed {
        /// What it reads.
        reference: String,
    },
    /// It reads a field the desired template does not set.
    #[error("reads {reference}, which the desired template does not set (the cluster fills it)")]
    NotInTemplate {
        /// What it reads.
        reference: String,
    },
    /// It reads a field that is pending itself.
    #[error("reads {reference}, which is pending itself")]
    DependsOnPending {
        /// What it reads.
        reference: String,
    },
    /// The whole resource waits for a dependency that is pending.
    #[error("depends on {id}, which is pending")]
    Dependency {
        /// The dependency.
        id: String,
    },
}

/// A resource left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The resource id.
    pub id: String,
    /// Why.
    pub reason: SkipReason,
}

/// Why a resource was left out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// One of its `includeWhen` conditions is false.
    #[error("includeWhen {condition} is false")]
    IncludeWhen {
        /// The condition.
        condition: String,
    },
    /// A resource it depends on was skipped.
    #[error("depends on {id}, which is skipped")]
    Dependency {
        /// The skipped dependency.
        id: String,
    },
}

/// A problem found while rendering, at an RGD field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct RenderError {
    /// The resource being rendered.
    pub resource: String,
    /// The RGD field holding the expression at fault.
    pub path: FieldPath,
    /// The bytes of that field's string at fault.
    pub span: Option<Range<usize>>,
    /// What went wrong.
    pub kind: RenderErrorKind,
}

/// What went wrong while rendering.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RenderErrorKind {
    /// An expression failed.
    #[error("resource {resource:?}: expression {expression:?} failed: {error}")]
    Evaluation {
        /// The resource.
        resource: String,
        /// The CEL source.
        expression: String,
        /// The failure.
        error: EvalError,
    },
    /// An expression reading an instance field that the instance leaves unset.
    #[error(
        "resource {resource:?}: expression {expression:?} reads {key}, which the instance does not set; give it a default in the schema or read it with `.?{key}.orValue(...)`"
    )]
    MissingInstanceField {
        /// The resource.
        resource: String,
        /// The CEL source.
        expression: String,
        /// The missing key.
        key: String,
    },
    /// A string template part that is not a string (Kro's message).
    #[error(
        "type mismatch in resource {resource:?} at path {path:?}: expression {expression:?} returns type {found:?} but expected {expected:?}"
    )]
    TypeMismatch {
        /// The resource.
        resource: String,
        /// The field in the manifest.
        path: String,
        /// The CEL source.
        expression: String,
        /// The type it returned.
        found: String,
        /// The type needed.
        expected: String,
    },
    /// `omit()` inside a string template.
    #[error(
        "resource {resource:?}: omit() can only be a field's whole value, not part of a string template"
    )]
    OmitInTemplate {
        /// The resource.
        resource: String,
    },
    /// An expression that does not compile (only unsupported functions get this far).
    #[error("resource {resource:?}: {error}")]
    Compile {
        /// The resource.
        resource: String,
        /// Why.
        error: CompileErrorKind,
    },
    /// A rendered object without a name.
    #[error("resource {resource:?} renders without metadata.name")]
    MissingName {
        /// The resource.
        resource: String,
    },
    /// Two rendered objects with one identity.
    #[error("resources {first:?} and {second:?} render the same object {identity}")]
    Duplicate {
        /// The first resource.
        first: String,
        /// The second resource.
        second: String,
        /// `kind namespace/name`.
        identity: String,
    },
}

/// A problem with the instance itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InstanceError {
    /// The offending field of the instance.
    pub path: FieldPath,
    /// What is wrong.
    pub message: String,
}

/// Renders `instance` (a whole object: `apiVersion`, `kind`, `metadata`, `spec`) of `rgd`.
/// Every problem is returned: RGD errors ([`Error::Schema`], [`Error::Graph`]), instance
/// errors ([`Error::Instance`]) or evaluation errors ([`Error::Render`]).
pub fn render(
    rgd: &ResourceGraphDefinition,
    instance: &Value,
    options: &RenderOptions,
) -> Result<Rendered, Vec<Error>> {
    let graph = Graph::build(rgd);
    let spec = schema::compile(&rgd.spec.schema);
    let (graph, spec) = match (graph, spec) {
        (Ok(graph), Ok(spec)) => (graph, spec),
        (graph, spec) => {
            let mut errors: Vec<Error> = Vec::new();
            if let Err(error) = spec {
                errors.push(error.into());
            }
            if let Err(graph_errors) = graph {
                errors.extend(
                    graph_errors
                        .into_iter()
                        .filter(|error| !error.kind.is_warning())
                        .map(Error::from),
                );
            }
            return Err(errors);
        }
    };
    let (instance, owner, pruned) = check_instance(rgd, &spec, instance, options)
        .map_err(|errors| errors.into_iter().map(Error::from).collect::<Vec<_>>())?;
    Renderer::new(&graph, instance, owner, pruned)
        .run()
        .map_err(|errors| errors.into_iter().map(Error::from).collect())
}

/// Checks the instance's identity and `spec`; returns it defaulted, its owner data and the
/// pruned fields.
fn check_instance(
    rgd: &ResourceGraphDefinition,
    spec_schema: &Value,
    instance: &Value,
    options: &RenderOptions,
) -> Result<(Value, Owner, Vec<String>), Vec<InstanceError>> {
    let schema = &rgd.spec.schema;
    let group = schema
        .group
        .as_deref()
        .filter(|group| !group.is_empty())
        .unwrap_or(DEFAULT_GROUP);
    let mut errors = Vec::new();
    let mut error = |path: &str, message: String| {
        errors.push(InstanceError {
            path: FieldPath::parse(path),
            message,
        });
    };
    let Some(object) = instance.as_object() else {
        error("", "an instance must be a mapping".to_owned());
        return Err(errors);
    };
    let mut object = object.clone();
    let expected_api = format!("{group}/{}", schema.api_version);
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if api_version != expected_api {
        error(
            "apiVersion",
            format!("apiVersion is {api_version:?}, but the RGD defines {expected_api:?}"),
        );
    }
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != schema.kind {
        error(
            "kind",
            format!("kind is {kind:?}, but the RGD defines {:?}", schema.kind),
        );
    }
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if name.is_empty() {
        error(
            "metadata.name",
            "an instance needs metadata.name".to_owned(),
        );
    }
    let namespaced = schema.scope.as_deref() != Some("Cluster");
    let namespace = if namespaced {
        let namespace = metadata
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty())
            .unwrap_or(&options.default_namespace)
            .to_owned();
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("namespace".to_owned(), Value::String(namespace.clone()));
        }
        Some(namespace)
    } else {
        None
    };
    let uid = metadata
        .get("uid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut spec = object
        .get("spec")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let outcome = schema::validate(spec_schema, &mut spec, "spec");
    for problem in outcome.errors {
        error(&problem.path, problem.message);
    }
    object.insert("spec".to_owned(), spec);
    if !errors.is_empty() {
        return Err(errors);
    }
    let owner = Owner {
        name,
        namespace,
        uid,
        group: group.to_owned(),
        version: schema.api_version.clone(),
        kind: schema.kind.clone(),
        kro_version: options.kro_version.clone(),
    };
    Ok((Value::Object(object), owner, outcome.pruned))
}

/// Metadata fields only the API server sets.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "managedFields",
    "selfLink",
];

/// How far a resource got.
enum State {
    /// Rendered: its objects (one unless a collection), and its pending fields.
    Rendered {
        objects: Vec<Value>,
        collection: bool,
        pending: Vec<FieldPath>,
    },
    /// Left out by `includeWhen` (or a skipped dependency).
    Skipped,
    /// Not known offline (a pending `includeWhen`/`forEach`, or such a dependency).
    Unknown,
    /// An `externalRef`.
    External,
}

/// The variables an item of a resource is rendered with.
struct Scope {
    resource: String,
    bindings: Vec<(String, ::cel::Value)>,
}

struct Renderer<'a> {
    graph: &'a Graph,
    evaluator: Evaluator,
    programs: HashMap<String, Option<Program>>,
    instance: Value,
    schema: ::cel::Value,
    owner: Owner,
    states: HashMap<String, State>,
    variables: HashMap<String, ::cel::Value>,
    apply_orders: HashMap<String, usize>,
    rendered: Rendered,
    errors: Vec<RenderError>,
}

/// What evaluating one field gave.
enum FieldValue {
    Value(Value),
    Omit,
    Pending,
    Failed,
}

impl<'a> Renderer<'a> {
    fn new(graph: &'a Graph, instance: Value, owner: Owner, pruned: Vec<String>) -> Self {
        Renderer {
            graph,
            evaluator: Evaluator::new(),
            programs: HashMap::new(),
            schema: from_json(&instance),
            instance: instance.clone(),
            owner,
            states: HashMap::new(),
            variables: HashMap::new(),
            apply_orders: graph.apply_orders(),
            rendered: Rendered {
                instance,
                manifests: Vec::new(),
                pending: Vec::new(),
                skipped: Vec::new(),
                external: Vec::new(),
                pruned,
            },
            errors: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Rendered, Vec<RenderError>> {
        for id in self.graph.topological_order() {
            if let Some(node) = self.graph.node(&id) {
                let state = self.node(node);
                if let State::Rendered {
                    objects,
                    collection,
                    ..
                } = &state
                {
                    let value = if *collection {
                        Value::Array(objects.clone())
                    } else {
                        objects.first().cloned().unwrap_or(Value::Null)
                    };
                    self.variables.insert(id.clone(), from_json(&value));
                }
                self.states.insert(id, state);
            }
        }
        self.check_identities();
        if self.errors.is_empty() {
            Ok(self.rendered)
        } else {
            Err(self.errors)
        }
    }

    fn node(&mut self, node: &Node) -> State {
        for dependency in &node.dependencies {
            if matches!(self.states.get(dependency), Some(State::Skipped)) {
                self.rendered.skipped.push(Skipped {
                    id: node.id.clone(),
                    reason: SkipReason::Dependency {
                        id: dependency.clone(),
                    },
                });
                return State::Skipped;
            }
        }
        for dependency in &node.dependencies {
            if matches!(self.states.get(dependency), Some(State::Unknown)) {
                self.rendered.pending.push(Pending {
                    resource: node.id.clone(),
                    path: FieldPath::root(),
                    source: FieldPath::root()
                        .key("spec")
                        .key("resources")
                        .index(node.index),
                    expression: String::new(),
                    reason: PendingReason::Dependency {
                        id: dependency.clone(),
                    },
                });
                return State::Unknown;
            }
        }
        if node.kind == NodeKind::ExternalRef {
            self.rendered.external.push(node.id.clone());
            return State::External;
        }
        let scope = Scope {
            resource: node.id.clone(),
            bindings: Vec::new(),
        };
        for condition in &node.include_when {
            let mut pending = Vec::new();
            match self.field(condition, &scope, &FieldPath::root(), &mut pending) {
                FieldValue::Value(Value::Bool(true)) => {}
                FieldValue::Value(Value::Bool(false)) => {
                    self.rendered.skipped.push(Skipped {
                        id: node.id.clone(),
                        reason: SkipReason::IncludeWhen {
                            condition: field_text(condition),
                        },
                    });
                    return State::Skipped;
                }
                FieldValue::Value(other) => {
                    self.type_error(condition, &scope, "", type_of_json(&other), "bool");
                    return State::Unknown;
                }
                FieldValue::Omit => {
                    self.type_error(condition, &scope, "", "optional_type", "bool");
                    return State::Unknown;
                }
                FieldValue::Pending | FieldValue::Failed => return State::Unknown,
            }
        }
        let Some(items) = self.expand(node, &scope) else {
            return State::Unknown;
        };
        let collection = !node.for_each.is_empty();
        let size = items.len();
        let fields: HashMap<&FieldPath, &Field> = node
            .fields
            .iter()
            .map(|field| (&field.path, field))
            .collect();
        let template_path = FieldPath::root()
            .key("spec")
            .key("resources")
            .index(node.index)
            .key("template");
        let apply_order = self.apply_orders.get(&node.id).copied().unwrap_or(1);
        let mut objects = Vec::with_capacity(size);
        let mut all_pending = Vec::new();
        for (index, bindings) in items.into_iter().enumerate() {
            let scope = Scope {
                resource: if collection {
                    format!("{}[{index}]", node.id)
                } else {
                    node.id.clone()
                },
                bindings,
            };
            let mut pending = Vec::new();
            let object = self
                .value(
                    &node.object,
                    &template_path,
                    &FieldPath::root(),
                    &fields,
                    &scope,
                    &mut pending,
                )
                .unwrap_or(Value::Null);
            let mut object = object;
            let namespace_pending = pending
                .iter()
                .any(|path| *path == FieldPath::root().key("metadata").key("namespace"));
            metadata::decorate(
                &mut object,
                &self.owner,
                &node.id,
                collection.then_some((index, size)),
                apply_order,
                namespace_pending,
            );
            let name_pending = pending
                .iter()
                .any(|path| *path == FieldPath::root().key("metadata").key("name"));
            let has_name = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|name| !name.is_empty());
            if !has_name && !name_pending {
                self.errors.push(RenderError {
                    resource: scope.resource.clone(),
                    path: template_path.key("metadata"),
                    span: None,
                    kind: RenderErrorKind::MissingName {
                        resource: scope.resource.clone(),
                    },
                });
            }
            self.rendered.manifests.push(Manifest {
                id: node.id.clone(),
                index: collection.then_some(index),
                apply_order,
                object: object.clone(),
                complete: pending.is_empty(),
            });
            all_pending.extend(pending);
            objects.push(object);
        }
        State::Rendered {
            objects,
            collection,
            pending: all_pending,
        }
    }

    /// The iterator bindings of every item: one empty binding set without `forEach`, the
    /// cartesian product of the dimensions (first dimension outermost) with it. `None` when a
    /// dimension is pending or wrong.
    fn expand(&mut self, node: &Node, scope: &Scope) -> Option<Vec<Vec<(String, ::cel::Value)>>> {
        let mut items: Vec<Vec<(String, ::cel::Value)>> = vec![Vec::new()];
        for dimension in &node.for_each {
            let mut pending = Vec::new();
            let values = match self.field(&dimension.field, scope, &FieldPath::root(), &mut pending)
            {
                FieldValue::Value(Value::Array(values)) => values,
                FieldValue::Value(other) => {
                    self.type_error(&dimension.field, scope, "", type_of_json(&other), "list");
                    return None;
                }
                FieldValue::Omit => {
                    self.type_error(&dimension.field, scope, "", "optional_type", "list");
                    return None;
                }
                FieldValue::Pending | FieldValue::Failed => return None,
            };
            let mut next = Vec::with_capacity(items.len() * values.len());
            for item in &items {
                for value in &values {
                    let mut bindings = item.clone();
                    bindings.push((dimension.name.clone(), from_json(value)));
                    next.push(bindings);
                }
            }
            items = next;
        }
        Some(items)
    }

    /// Renders a template value; `None` leaves it out (omitted or pending).
    fn value(
        &mut self,
        value: &Value,
        rgd_path: &FieldPath,
        manifest_path: &FieldPath,
        fields: &HashMap<&FieldPath, &Field>,
        scope: &Scope,
        pending: &mut Vec<FieldPath>,
    ) -> Option<Value> {
        match value {
            Value::String(_) => match fields.get(rgd_path) {
                Some(field) => match self.field(field, scope, manifest_path, pending) {
                    FieldValue::Value(value) => Some(value),
                    FieldValue::Omit | FieldValue::Pending | FieldValue::Failed => None,
                },
                None => Some(value.clone()),
            },
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| {
                        self.value(
                            item,
                            &rgd_path.index(i),
                            &manifest_path.index(i),
                            fields,
                            scope,
                            pending,
                        )
                    })
                    .collect(),
            )),
            Value::Object(entries) => Some(Value::Object(
                entries
                    .iter()
                    .filter_map(|(key, item)| {
                        self.value(
                            item,
                            &rgd_path.key(key),
                            &manifest_path.key(key),
                            fields,
                            scope,
                            pending,
                        )
                        .map(|value| (key.clone(), value))
                    })
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }

    /// Evaluates one string field (standalone or template).
    fn field(
        &mut self,
        field: &Field,
        scope: &Scope,
        manifest_path: &FieldPath,
        pending: &mut Vec<FieldPath>,
    ) -> FieldValue {
        if let Some(reason) = self.pending_reason(field, scope) {
            self.pend(field, scope, manifest_path, reason, pending);
            return FieldValue::Pending;
        }
        let standalone = field.is_standalone();
        let mut text = String::new();
        for part in &field.template.parts {
            let expression = match part {
                Part::Text(literal) => {
                    text.push_str(literal);
                    continue;
                }
                Part::Expr(expression) => expression,
            };
            let span = expression.inner.clone();
            let Some(output) = self.evaluate(field, scope, &expression.source, span.clone()) else {
                return FieldValue::Failed;
            };
            let output = match output {
                Ok(output) => output,
                Err(EvalError::NoSuchKey(key)) if self.reads_resources(field, scope) => {
                    let reason = self.missing_key_reason(field, scope, &key);
                    self.pend(field, scope, manifest_path, reason, pending);
                    return FieldValue::Pending;
                }
                Err(error) => {
                    let kind = match error {
                        EvalError::NoSuchKey(key)
                            if field.references.iter().any(|r| r.root == "schema") =>
                        {
                            RenderErrorKind::MissingInstanceField {
                                resource: scope.resource.clone(),
                                expression: expression.source.clone(),
                                key,
                            }
                        }
                        error => RenderErrorKind::Evaluation {
                            resource: scope.resource.clone(),
                            expression: expression.source.clone(),
                            error,
                        },
                    };
                    self.errors.push(RenderError {
                        resource: scope.resource.clone(),
                        path: field.path.clone(),
                        span: Some(span),
                        kind,
                    });
                    return FieldValue::Failed;
                }
            };
            if standalone {
                return match output.value {
                    Some(value) => FieldValue::Value(value),
                    None => FieldValue::Omit,
                };
            }
            match output.value {
                Some(Value::String(part)) if output.type_name == "string" => text.push_str(&part),
                None if output.type_name == crate::eval::functions::OMIT_TYPE => {
                    self.errors.push(RenderError {
                        resource: scope.resource.clone(),
                        path: field.path.clone(),
                        span: Some(span),
                        kind: RenderErrorKind::OmitInTemplate {
                            resource: scope.resource.clone(),
                        },
                    });
                    return FieldValue::Failed;
                }
                _ => {
                    self.errors.push(RenderError {
                        resource: scope.resource.clone(),
                        path: field.path.clone(),
                        span: Some(span),
                        kind: RenderErrorKind::TypeMismatch {
                            resource: scope.resource.clone(),
                            path: manifest_path.to_string(),
                            expression: expression.source.clone(),
                            found: output.type_name,
                            expected: "string".to_owned(),
                        },
                    });
                    return FieldValue::Failed;
                }
            }
        }
        FieldValue::Value(Value::String(text))
    }

    fn pend(
        &mut self,
        field: &Field,
        scope: &Scope,
        manifest_path: &FieldPath,
        reason: PendingReason,
        pending: &mut Vec<FieldPath>,
    ) {
        self.rendered.pending.push(Pending {
            resource: scope.resource.clone(),
            path: manifest_path.clone(),
            source: field.path.clone(),
            expression: field_text(field),
            reason,
        });
        pending.push(manifest_path.clone());
    }

    fn type_error(
        &mut self,
        field: &Field,
        scope: &Scope,
        path: &str,
        found: &str,
        expected: &str,
    ) {
        let expression = field
            .template
            .expressions()
            .next()
            .map(|e| e.source.clone())
            .unwrap_or_default();
        let span = field.template.expressions().next().map(|e| e.inner.clone());
        self.errors.push(RenderError {
            resource: scope.resource.clone(),
            path: field.path.clone(),
            span,
            kind: RenderErrorKind::TypeMismatch {
                resource: scope.resource.clone(),
                path: if path.is_empty() {
                    crate::graph::resource_relative(&field.path)
                } else {
                    path.to_owned()
                },
                expression,
                found: found.to_owned(),
                expected: expected.to_owned(),
            },
        });
    }

    /// Compiles (once) and evaluates `source`; `None` when it does not compile (reported).
    fn evaluate(
        &mut self,
        field: &Field,
        scope: &Scope,
        source: &str,
        span: Range<usize>,
    ) -> Option<Result<crate::eval::Output, EvalError>> {
        if !self.programs.contains_key(source) {
            let compiled = match self.evaluator.compile(source) {
                Ok(program) => Some(program),
                Err(errors) => {
                    for error in errors {
                        self.errors.push(RenderError {
                            resource: scope.resource.clone(),
                            path: field.path.clone(),
                            span: Some(error.span.start + span.start..error.span.end + span.start),
                            kind: RenderErrorKind::Compile {
                                resource: scope.resource.clone(),
                                error: error.kind,
                            },
                        });
                    }
                    None
                }
            };
            self.programs.insert(source.to_owned(), compiled);
        }
        let program = self.programs.get(source)?.as_ref()?;
        let roots: BTreeSet<&str> = field.references.iter().map(|r| r.root.as_str()).collect();
        let mut variables: Vec<(&str, &::cel::Value)> = vec![("schema", &self.schema)];
        for (name, value) in &scope.bindings {
            variables.push((name.as_str(), value));
        }
        for root in roots {
            if let Some(value) = self.variables.get(root)
                && !scope.bindings.iter().any(|(name, _)| name == root)
            {
                variables.push((root, value));
            }
        }
        Some(self.evaluator.evaluate(program, &variables))
    }

    fn reads_resources(&self, field: &Field, scope: &Scope) -> bool {
        field.references.iter().any(|r| {
            self.states.contains_key(&r.root)
                && !scope.bindings.iter().any(|(name, _)| *name == r.root)
        })
    }

    /// Why an expression reading `key`, absent at evaluation, is pending.
    fn missing_key_reason(&self, field: &Field, scope: &Scope, key: &str) -> PendingReason {
        for reference in &field.references {
            if scope
                .bindings
                .iter()
                .any(|(name, _)| *name == reference.root)
            {
                continue;
            }
            if let Some(State::Rendered { pending, .. }) = self.states.get(&reference.root)
                && let Some(first) = pending.first()
            {
                return PendingReason::DependsOnPending {
                    reference: format!("{}.{first}", reference.root),
                };
            }
        }
        let roots: Vec<&str> = field
            .references
            .iter()
            .map(|r| r.root.as_str())
            .filter(|root| self.states.contains_key(*root))
            .collect();
        PendingReason::NotInTemplate {
            reference: format!("{key} (of {})", roots.join(", ")),
        }
    }

    /// Whether `field` reads data only the cluster has, and why.
    fn pending_reason(&self, field: &Field, scope: &Scope) -> Option<PendingReason> {
        for reference in &field.references {
            let root = reference.root.as_str();
            if scope.bindings.iter().any(|(name, _)| name == root) {
                continue;
            }
            let first = reference.path.first().map(String::as_str);
            if root == "schema" {
                let observed = first == Some("status")
                    || (first == Some("metadata")
                        && reference
                            .path
                            .get(1)
                            .is_some_and(|key| SERVER_METADATA.contains(&key.as_str()))
                        && walk(&self.instance, &reference.path).is_err());
                if observed {
                    return Some(PendingReason::Observed {
                        reference: reference.dotted(),
                    });
                }
                continue;
            }
            match self.states.get(root) {
                Some(State::External) => {
                    return Some(PendingReason::ExternalRef {
                        id: root.to_owned(),
                    });
                }
                Some(State::Unknown) => {
                    return Some(PendingReason::Dependency {
                        id: root.to_owned(),
                    });
                }
                Some(State::Rendered {
                    objects,
                    collection,
                    pending,
                }) => {
                    if first == Some("status") {
                        return Some(PendingReason::Observed {
                            reference: reference.dotted(),
                        });
                    }
                    if *collection {
                        continue;
                    }
                    let object = objects.first().unwrap_or(&Value::Null);
                    if let Err(depth) = walk(object, &reference.path) {
                        let prefix = &reference.path[..=depth];
                        let overlaps = pending.iter().any(|path| {
                            let keys = keys_of(path);
                            keys.starts_with(prefix) || prefix.starts_with(&keys)
                        });
                        let shown = format!("{root}.{}", prefix.join("."));
                        return Some(if overlaps {
                            PendingReason::DependsOnPending { reference: shown }
                        } else {
                            PendingReason::NotInTemplate { reference: shown }
                        });
                    }
                }
                Some(State::Skipped) | None => {}
            }
        }
        None
    }

    /// Two manifests with one identity are an error.
    fn check_identities(&mut self) {
        let mut seen: HashMap<String, String> = HashMap::new();
        for manifest in &self.rendered.manifests {
            let object = &manifest.object;
            let Some(name) = object.pointer("/metadata/name").and_then(Value::as_str) else {
                continue;
            };
            let api_version = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
            let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
            let namespace = object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            let kind = if group.is_empty() {
                kind.to_owned()
            } else {
                format!("{kind}.{group}")
            };
            let identity = if namespace.is_empty() {
                format!("{kind} {name}")
            } else {
                format!("{kind} {namespace}/{name}")
            };
            let label = match manifest.index {
                Some(index) => format!("{}[{index}]", manifest.id),
                None => manifest.id.clone(),
            };
            if let Some(first) = seen.get(&identity) {
                let index = self.graph.node(&manifest.id).map_or(0, |node| node.index);
                self.errors.push(RenderError {
                    resource: label.clone(),
                    path: FieldPath::root()
                        .key("spec")
                        .key("resources")
                        .index(index)
                        .key("template")
                        .key("metadata")
                        .key("name"),
                    span: None,
                    kind: RenderErrorKind::Duplicate {
                        first: first.clone(),
                        second: label,
                        identity,
                    },
                });
            } else {
                seen.insert(identity, label);
            }
        }
    }
}

/// Follows `path` (keys) in `value`; `Err(i)` when `path[i]` is missing.
fn walk(value: &Value, path: &[String]) -> Result<(), usize> {
    let mut current = value;
    for (i, key) in path.iter().enumerate() {
        match current.get(key.as_str()) {
            Some(next) => current = next,
            None => return Err(i),
        }
    }
    Ok(())
}

fn keys_of(path: &FieldPath) -> Vec<String> {
    path.0
        .iter()
        .filter_map(|segment| match segment {
            Segment::Key(key) => Some(key.clone()),
            Segment::Index(_) => None,
        })
        .collect()
}

/// The field's text as written.
fn field_text(field: &Field) -> String {
    field
        .template
        .parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.clone(),
            Part::Expr(expression) => format!("${{{}}}", expression.source),
        })
        .collect()
}

fn type_of_json(value: &Value) -> &'static str {
    match value {
        Value::Null => "null_type",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "double",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

#[cfg(test)]
mod tests;
