//! A loaded resource: its typed object, its YAML tree and its file.

use std::fmt;
use std::sync::Arc;

use crate::argocd::{Application, ApplicationSet};
use crate::core_v1::Secret;
use crate::diagnostic::Location;
use crate::kargo::{
    ClusterConfig, Freight, Project, ProjectConfig, Promotion, PromotionTask, Stage, Warehouse,
};
use crate::kro::ResourceGraphDefinition;
use crate::meta::ObjectMeta;
use crate::path::{self, FieldPath};
use crate::source::SourceFile;
use crate::yaml::{Node, Span};

/// Every kind gantry reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Kargo `Project` (cluster-scoped).
    Project,
    /// Kargo `ProjectConfig`.
    ProjectConfig,
    /// Kargo `ClusterConfig` (cluster-scoped).
    ClusterConfig,
    /// Kargo `Warehouse`.
    Warehouse,
    /// Kargo `Freight`.
    Freight,
    /// Kargo `Stage`.
    Stage,
    /// Kargo `Promotion`.
    Promotion,
    /// Kargo `PromotionTask`.
    PromotionTask,
    /// Kargo `ClusterPromotionTask` (cluster-scoped).
    ClusterPromotionTask,
    /// Argo CD `Application`.
    Application,
    /// Argo CD `ApplicationSet`.
    ApplicationSet,
    /// Kro `ResourceGraphDefinition` (cluster-scoped).
    ResourceGraphDefinition,
    /// Kubernetes `Secret`.
    Secret,
}

impl Kind {
    /// Every kind.
    pub const ALL: &'static [Kind] = &[
        Kind::Project,
        Kind::ProjectConfig,
        Kind::ClusterConfig,
        Kind::Warehouse,
        Kind::Freight,
        Kind::Stage,
        Kind::Promotion,
        Kind::PromotionTask,
        Kind::ClusterPromotionTask,
        Kind::Application,
        Kind::ApplicationSet,
        Kind::ResourceGraphDefinition,
        Kind::Secret,
    ];

    /// The `kind:` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Project => "Project",
            Kind::ProjectConfig => "ProjectConfig",
            Kind::ClusterConfig => "ClusterConfig",
            Kind::Warehouse => "Warehouse",
            Kind::Freight => "Freight",
            Kind::Stage => "Stage",
            Kind::Promotion => "Promotion",
            Kind::PromotionTask => "PromotionTask",
            Kind::ClusterPromotionTask => "ClusterPromotionTask",
            Kind::Application => "Application",
            Kind::ApplicationSet => "ApplicationSet",
            Kind::ResourceGraphDefinition => "ResourceGraphDefinition",
            Kind::Secret => "Secret",
        }
    }

    /// The `apiVersion:` gantry reads for this kind.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Application | Kind::ApplicationSet => crate::argocd::API_VERSION,
            Kind::ResourceGraphDefinition => crate::kro::API_VERSION,
            Kind::Secret => "v1",
            _ => crate::kargo::API_VERSION,
        }
    }

    /// The API group (empty for core).
    pub fn group(self) -> &'static str {
        self.api_version()
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// Whether objects of this kind live in a namespace.
    pub fn is_namespaced(self) -> bool {
        !matches!(
            self,
            Kind::Project
                | Kind::ClusterConfig
                | Kind::ClusterPromotionTask
                | Kind::ResourceGraphDefinition
        )
    }

    /// The kind with this `kind:` spelling, whatever its group.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The typed object.
#[derive(Clone, Debug, PartialEq)]
#[expect(missing_docs, reason = "one variant per kind, named after it")]
#[expect(
    clippy::large_enum_variant,
    reason = "resources are few and live as long as the set"
)]
pub enum Object {
    Project(Project),
    ProjectConfig(ProjectConfig),
    ClusterConfig(ClusterConfig),
    Warehouse(Warehouse),
    Freight(Freight),
    Stage(Stage),
    Promotion(Promotion),
    PromotionTask(PromotionTask),
    ClusterPromotionTask(PromotionTask),
    Application(Application),
    ApplicationSet(ApplicationSet),
    ResourceGraphDefinition(ResourceGraphDefinition),
    Secret(Secret),
}

impl Object {
    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Project(o) => &o.metadata,
            Object::ProjectConfig(o) => &o.metadata,
            Object::ClusterConfig(o) => &o.metadata,
            Object::Warehouse(o) => &o.metadata,
            Object::Freight(o) => &o.metadata,
            Object::Stage(o) => &o.metadata,
            Object::Promotion(o) => &o.metadata,
            Object::PromotionTask(o) | Object::ClusterPromotionTask(o) => &o.metadata,
            Object::Application(o) => &o.metadata,
            Object::ApplicationSet(o) => &o.metadata,
            Object::ResourceGraphDefinition(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
        }
    }
}

/// One resource read from a file.
#[derive(Clone, Debug)]
pub struct Resource {
    /// The file it came from.
    pub file: Arc<SourceFile>,
    /// Its YAML tree (the document root, or the item of a `List`).
    pub root: Node,
    /// Its kind.
    pub kind: Kind,
    /// `metadata.name` (empty when missing; validation reports that).
    pub name: String,
    /// Its namespace: `metadata.namespace`, or the default namespace for namespaced kinds;
    /// `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// The typed object.
    pub object: Object,
}

impl Resource {
    /// `Kind namespace/name` for messages.
    pub fn display_name(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("{} {namespace}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// Metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        self.object.metadata()
    }

    /// The node at `path`.
    pub fn node(&self, path: &FieldPath) -> Option<&Node> {
        path::node_at(&self.root, path)
    }

    /// Span of the value at `path` (or its nearest existing ancestor).
    pub fn span(&self, path: &FieldPath) -> Span {
        path::value_span(&self.root, path)
    }

    /// Span of the key that ends `path` (or of the value).
    pub fn key_span(&self, path: &FieldPath) -> Span {
        path::key_span(&self.root, path)
    }

    /// Location of the value at `path`.
    pub fn location(&self, path: &FieldPath) -> Location {
        Location {
            file: Arc::clone(&self.file),
            span: self.span(path),
        }
    }

    /// Location of the key at `path`.
    pub fn key_location(&self, path: &FieldPath) -> Location {
        Location {
            file: Arc::clone(&self.file),
            span: self.key_span(path),
        }
    }

    /// Location of `metadata.name` (or the document).
    pub fn name_location(&self) -> Location {
        self.location(&FieldPath::parse("metadata.name"))
    }

    /// Where bytes `range` of a scalar's value are in the file, given the scalar node's span:
    /// exact for plain, single-line quoted and literal block scalars, otherwise found by
    /// searching the raw text, else the whole node.
    pub fn value_location(
        &self,
        node_span: Span,
        value: &str,
        range: std::ops::Range<usize>,
    ) -> Location {
        let file = &self.file;
        let raw = file
            .text()
            .get(node_span.start..node_span.end)
            .unwrap_or("");
        let end = range.end.min(value.len());
        let offset = range.start.min(end);
        let at = |shift: usize| Location {
            file: Arc::clone(file),
            span: Span::new(
                node_span.start + shift,
                node_span.start + shift + (end - offset),
            ),
        };
        if raw == value {
            return at(offset);
        }
        if raw.len() >= 2
            && (raw.starts_with('"') || raw.starts_with('\''))
            && raw.get(1..raw.len() - 1) == Some(value)
        {
            return at(offset + 1);
        }
        if raw.starts_with('|')
            && let Some(shift) = literal_block_offset(raw, value, offset)
        {
            return at(shift);
        }
        if let Some(shift) = value
            .get(offset..end)
            .filter(|needle| !needle.is_empty())
            .and_then(|needle| raw.find(needle))
        {
            return at(shift);
        }
        Location {
            file: Arc::clone(file),
            span: node_span,
        }
    }
}

/// Maps an offset in a literal block scalar's value to an offset in its raw text.
fn literal_block_offset(raw: &str, value: &str, offset: usize) -> Option<usize> {
    let line = value.get(..offset)?.matches('\n').count();
    let column = offset - value[..offset].rfind('\n').map_or(0, |i| i + 1);
    let body_start = raw.find('\n')? + 1;
    let indent = raw[body_start..]
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())?;
    let mut position = body_start;
    for (i, raw_line) in raw[body_start..].split('\n').enumerate() {
        if i == line {
            return Some(position + indent.min(raw_line.len()) + column);
        }
        position += raw_line.len() + 1;
    }
    None
}
