//! Loading resources from files, folders and strings.
//!
//! [`ResourceSet::load_paths`] walks folders recursively (sorted, hidden entries skipped, only
//! `.yaml`/`.yml`/`.json`; a file named explicitly is read whatever its extension), splits
//! multi-document files, expands `kind: List`, and decodes every resource of a kind gantry reads
//! into its typed form. Problems become diagnostics, never panics: syntax errors, documents that
//! are not resources (notes), unknown kinds (listed as notes), unknown fields (warnings with
//! their location) and type errors (errors, with a hint when YAML typing is the cause).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::diagnostic::{self, Diagnostic};
use crate::path::{FieldPath, Segment};
use crate::resource::{Kind, Object, Resource};
use crate::source::SourceFile;
use crate::suggest;
use crate::yaml::{self, Content, Node, Span, Style};

/// Knobs for loading.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Namespace of namespaced resources that do not set one (as `kubectl -n`).
    pub default_namespace: String,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            default_namespace: "default".to_owned(),
        }
    }
}

/// A document of a kind gantry does not read.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// Where it is.
    pub location: diagnostic::Location,
    /// Its `apiVersion`.
    pub api_version: String,
    /// Its `kind`.
    pub kind: String,
    /// Its `metadata.name`, if any.
    pub name: Option<String>,
}

/// Everything loaded from a set of paths.
#[derive(Debug, Default)]
pub struct ResourceSet {
    /// Every file read, in order.
    pub files: Vec<Arc<SourceFile>>,
    /// Every resource of a known kind, in file order.
    pub resources: Vec<Resource>,
    /// Documents of other kinds.
    pub skipped: Vec<Skipped>,
    /// What loading found.
    pub diagnostics: Vec<Diagnostic>,
    options: LoadOptions,
}

impl ResourceSet {
    /// An empty set.
    pub fn new(options: LoadOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Loads files and folders.
    pub fn load_paths<P: AsRef<Path>>(paths: &[P], options: LoadOptions) -> Self {
        let mut set = Self::new(options);
        let mut files = Vec::new();
        for path in paths {
            collect_files(path.as_ref(), true, &mut files, &mut set.diagnostics);
        }
        for path in files {
            match fs_err::read(&path) {
                Ok(bytes) => {
                    let name = path.display().to_string();
                    match String::from_utf8(bytes) {
                        Ok(text) => set.add_source(&path, &name, text),
                        Err(_) => set.diagnostics.push(
                            Diagnostic::new(
                                &diagnostic::YAML_SYNTAX,
                                format!("`{name}` is not UTF-8 text"),
                            )
                            .help("save the file as UTF-8, or move it out of the folder"),
                        ),
                    }
                }
                Err(error) => set
                    .diagnostics
                    .push(Diagnostic::new(&diagnostic::IO, error.to_string())),
            }
        }
        set
    }

    /// Loads one text, shown to users as `name` (used by tests and by callers that read
    /// files themselves).
    pub fn load_str(name: &str, text: &str, options: LoadOptions) -> Self {
        let mut set = Self::new(options);
        set.add_source(Path::new(name), name, text.to_owned());
        set
    }

    /// Parses one file's text and adds its resources.
    pub fn add_source(&mut self, path: &Path, name: &str, text: String) {
        let (documents, error) = yaml::parse_stream(&text);
        let mut file = SourceFile::new(path, name, text);
        for document in &documents {
            hide_secret_values(&document.root, &mut file);
        }
        let file = Arc::new(file);
        self.files.push(Arc::clone(&file));
        for document in documents {
            self.add_document(&file, document.root);
        }
        if let Some(error) = error {
            let message = error.message.trim_end_matches('.').to_owned();
            self.diagnostics.push(
                Diagnostic::new(&diagnostic::YAML_SYNTAX, format!("invalid YAML: {message}"))
                    .at(&file, error.span)
                    .label("here")
                    .help("fix the syntax; documents after this point were not read"),
            );
        }
    }

    fn add_document(&mut self, file: &Arc<SourceFile>, root: Node) {
        if root.as_map().is_none() {
            self.diagnostics.push(
                Diagnostic::new(
                    &diagnostic::NOT_A_RESOURCE,
                    format!("document is {}, not a resource; skipped", root.type_name()),
                )
                .at(file, first_line(file, root.span)),
            );
            return;
        }
        let api_version = root.get("apiVersion").map(string_or_empty);
        let kind = root.get("kind").map(string_or_empty);
        let (api_version, kind) = match (api_version, kind) {
            (Some(api_version), Some(kind)) if !api_version.is_empty() && !kind.is_empty() => {
                (api_version, kind)
            }
            (None, None) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        &diagnostic::NOT_A_RESOURCE,
                        "document has no `apiVersion` or `kind`; skipped",
                    )
                    .at(file, first_line(file, root.span)),
                );
                return;
            }
            (api_version, _) => {
                let missing = if api_version.is_none_or(|v| v.is_empty()) {
                    "apiVersion"
                } else {
                    "kind"
                };
                self.diagnostics.push(
                    Diagnostic::new(
                        &diagnostic::MISSING_FIELD,
                        format!("resource has no `{missing}`"),
                    )
                    .at(file, first_line(file, root.span))
                    .help("every Kubernetes resource needs both `apiVersion` and `kind`"),
                );
                return;
            }
        };

        if kind.ends_with("List")
            && let Some(items) = root.get("items").and_then(Node::as_seq)
        {
            for item in items.iter().cloned() {
                self.add_document(file, item);
            }
            return;
        }

        let Some(known) = Kind::from_name(&kind).filter(|known| {
            let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
            group == known.group()
        }) else {
            let name = root
                .get("metadata")
                .and_then(|meta| meta.get("name"))
                .and_then(Node::as_str)
                .map(str::to_owned);
            let span = root.get("kind").map_or(root.span, |node| node.span);
            self.diagnostics.push(
                Diagnostic::new(
                    &diagnostic::UNKNOWN_KIND,
                    format!("{kind} ({api_version}) is not a kind gantry reads; skipped"),
                )
                .at(file, span),
            );
            self.skipped.push(Skipped {
                location: diagnostic::Location {
                    file: Arc::clone(file),
                    span,
                },
                api_version,
                kind,
                name,
            });
            return;
        };
        if api_version != known.api_version() {
            let span = root.get("apiVersion").map_or(root.span, |node| node.span);
            self.diagnostics.push(
                Diagnostic::new(
                    &diagnostic::API_VERSION,
                    format!(
                        "{kind} has apiVersion `{api_version}`; gantry reads `{}`",
                        known.api_version()
                    ),
                )
                .at(file, span)
                .label("unsupported version")
                .help(format!("use `apiVersion: {}`", known.api_version())),
            );
            return;
        }
        if let Some(object) = self.decode_object(file, &root, known) {
            let metadata = object.metadata();
            let name = metadata.name.clone().unwrap_or_default();
            let namespace = if known.is_namespaced() {
                Some(
                    metadata
                        .namespace
                        .clone()
                        .filter(|namespace| !namespace.is_empty())
                        .unwrap_or_else(|| self.options.default_namespace.clone()),
                )
            } else {
                None
            };
            self.resources.push(Resource {
                file: Arc::clone(file),
                root,
                kind: known,
                name,
                namespace,
                object,
            });
        }
    }

    fn decode_object(&mut self, file: &Arc<SourceFile>, root: &Node, kind: Kind) -> Option<Object> {
        let mut decoder = Decoder {
            file,
            root,
            kind,
            diagnostics: &mut self.diagnostics,
        };
        Some(match kind {
            Kind::Project => Object::Project(decoder.decode()?),
            Kind::ProjectConfig => Object::ProjectConfig(decoder.decode()?),
            Kind::ClusterConfig => Object::ClusterConfig(decoder.decode()?),
            Kind::Warehouse => Object::Warehouse(decoder.decode()?),
            Kind::Freight => Object::Freight(decoder.decode()?),
            Kind::Stage => Object::Stage(decoder.decode()?),
            Kind::Promotion => Object::Promotion(decoder.decode()?),
            Kind::PromotionTask => Object::PromotionTask(decoder.decode()?),
            Kind::ClusterPromotionTask => Object::ClusterPromotionTask(decoder.decode()?),
            Kind::Application => Object::Application(decoder.decode()?),
            Kind::ApplicationSet => Object::ApplicationSet(decoder.decode()?),
            Kind::ResourceGraphDefinition => Object::ResourceGraphDefinition(decoder.decode()?),
            Kind::Secret => Object::Secret(decoder.decode()?),
        })
    }
}

struct Decoder<'a> {
    file: &'a Arc<SourceFile>,
    root: &'a Node,
    kind: Kind,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Decoder<'_> {
    fn decode<T: DeserializeOwned + serde::Serialize>(&mut self) -> Option<T> {
        let json = self.root.to_json();
        let mut unknown: Vec<FieldPath> = Vec::new();
        let mut track = serde_path_to_error::Track::new();
        let deserializer = serde_path_to_error::Deserializer::new(&json, &mut track);
        let result: Result<T, _> = serde_ignored::deserialize(deserializer, |path| {
            unknown.push(ignored_path(&path));
        });
        match result {
            Ok(value) => {
                if !unknown.is_empty() {
                    let typed = serde_json::to_value(&value).unwrap_or_default();
                    for path in unknown {
                        self.unknown_field(&path, &typed);
                    }
                }
                Some(value)
            }
            Err(error) => {
                let path = error_path(&track.path());
                self.type_error(&path, &error.to_string());
                None
            }
        }
    }

    fn unknown_field(&mut self, path: &FieldPath, typed: &serde_json::Value) {
        let Some(key) = path.last_key() else {
            return;
        };
        let parent = path.parent();
        let known: Vec<String> = json_at(typed, &parent)
            .and_then(serde_json::Value::as_object)
            .map(|object| object.keys().cloned().collect())
            .unwrap_or_default();
        let where_ = if parent.0.is_empty() {
            String::new()
        } else {
            format!(" in `{parent}`")
        };
        let mut diagnostic = Diagnostic::new(
            &diagnostic::UNKNOWN_FIELD,
            format!("unknown field `{key}`{where_} of {}", self.kind),
        )
        .at(self.file, crate::path::key_span(self.root, path))
        .label("not read by gantry or upstream");
        diagnostic = match suggest::similar(key, known.iter().map(String::as_str)) {
            Some(candidate) => diagnostic.help(format!("did you mean `{candidate}`?")),
            None if !known.is_empty() => {
                diagnostic.help(format!("known fields here: {}", known.join(", ")))
            }
            None => diagnostic,
        };
        self.diagnostics.push(diagnostic);
    }

    fn type_error(&mut self, path: &FieldPath, message: &str) {
        let span = crate::path::value_span(self.root, path);
        let node = crate::path::node_at(self.root, path);
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            let where_ = if path.0.is_empty() {
                String::new()
            } else {
                format!(" in `{path}`")
            };
            self.diagnostics.push(
                Diagnostic::new(
                    &diagnostic::MISSING_FIELD,
                    format!("{} is missing required field `{field}`{where_}", self.kind),
                )
                .at(self.file, first_line(self.file, span))
                .label(format!("`{field}` is required here"))
                .help(format!("add `{field}:` to this object")),
            );
            return;
        }
        let message = message.split(" at line ").next().unwrap_or(message);
        // Values inside a Secret must not be echoed back, even when mistyped.
        let secret_value = self.kind == Kind::Secret
            && matches!(path.0.first(), Some(Segment::Key(key)) if key == "data" || key == "stringData");
        let message = if secret_value {
            "invalid type: expected a string (value hidden)"
        } else {
            message
        };
        let mut diagnostic = Diagnostic::new(
            &diagnostic::TYPE_MISMATCH,
            format!("`{path}` of {}: {message}", self.kind),
        )
        .at(self.file, span)
        .label("wrong type");
        if let Some(node) = node.filter(|_| !secret_value)
            && message.contains("expected a string")
            && node.style == Style::Plain
        {
            let raw = self.file.text().get(span.start..span.end).unwrap_or("");
            let reading = match &node.content {
                Content::Float(f) => format!("the number {f}"),
                Content::Int(i) => format!("the number {i}"),
                Content::UInt(u) => format!("the number {u}"),
                Content::Bool(b) => format!("the boolean {b}"),
                Content::Null => "null".to_owned(),
                _ => "something other than a string".to_owned(),
            };
            diagnostic = diagnostic.help(format!(
                "YAML reads unquoted `{raw}` as {reading}; quote it: \"{raw}\""
            ));
        }
        self.diagnostics.push(diagnostic);
    }
}

fn json_at<'a>(value: &'a serde_json::Value, path: &FieldPath) -> Option<&'a serde_json::Value> {
    let mut value = value;
    for segment in &path.0 {
        value = match segment {
            Segment::Key(key) => value.get(key)?,
            Segment::Index(index) => value.get(index)?,
        };
    }
    Some(value)
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> FieldPath {
    let mut segments = Vec::new();
    let mut current = Some(path);
    while let Some(path) = current {
        current = match path {
            serde_ignored::Path::Root => None,
            serde_ignored::Path::Seq { parent, index } => {
                segments.push(Segment::Index(*index));
                Some(*parent)
            }
            serde_ignored::Path::Map { parent, key } => {
                segments.push(Segment::Key(key.clone()));
                Some(*parent)
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => Some(*parent),
        };
    }
    segments.reverse();
    FieldPath(segments)
}

fn error_path(path: &serde_path_to_error::Path) -> FieldPath {
    FieldPath(
        path.iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => None,
            })
            .collect(),
    )
}

fn string_or_empty(node: &Node) -> String {
    node.as_str().map(str::to_owned).unwrap_or_default()
}

/// The first line of a span (so whole-object findings show one line, not a whole document).
fn first_line(file: &SourceFile, span: Span) -> Span {
    let text = file.text();
    let end = text
        .get(span.start..span.end)
        .and_then(|slice| slice.find('\n'))
        .map_or(span.end, |newline| span.start + newline);
    Span::new(span.start, end)
}

fn hide_secret_values(root: &Node, file: &mut SourceFile) {
    if root.get("kind").and_then(Node::as_str) == Some("Secret") {
        for key in ["data", "stringData"] {
            if let Some(entries) = root.get(key).and_then(Node::as_map) {
                for entry in entries {
                    file.hide(entry.value.span);
                }
            }
        }
    }
    if let Some(items) = root.get("items").and_then(Node::as_seq) {
        for item in items {
            hide_secret_values(item, file);
        }
    }
}

fn collect_files(
    path: &Path,
    explicit: bool,
    out: &mut Vec<PathBuf>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let metadata = match fs_err::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(&diagnostic::IO, error.to_string())
                    .help("check the path; gantry reads files and folders of YAML or JSON"),
            );
            return;
        }
    };
    if metadata.is_dir() {
        let entries = match fs_err::read_dir(path) {
            Ok(entries) => entries,
            Err(error) => {
                diagnostics.push(Diagnostic::new(&diagnostic::IO, error.to_string()));
                return;
            }
        };
        let mut children: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
            .filter(|entry| {
                entry
                    .file_type()
                    .is_ok_and(|kind| !kind.is_symlink() || entry.path().is_file())
            })
            .map(|entry| entry.path())
            .collect();
        children.sort();
        for child in children {
            collect_files(&child, false, out, diagnostics);
        }
    } else if explicit || is_manifest(path) {
        out.push(path.to_path_buf());
    }
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|ext| ext.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kargo::ImageSelectionStrategy;

    fn load(text: &str) -> ResourceSet {
        ResourceSet::load_str("test.yaml", text, LoadOptions::default())
    }

    #[test]
    fn warehouse_defaults_follow_kargo() {
        let set = load(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata:\n  name: w\n  namespace: p\nspec:\n  subscriptions:\n  - image:\n      repoURL: nginx\n",
        );
        assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
        let Object::Warehouse(warehouse) = &set.resources[0].object else {
            panic!("not a warehouse");
        };
        assert_eq!(warehouse.spec.interval, "5m0s");
        let image = warehouse.spec.subscriptions[0].image.as_ref().unwrap();
        assert_eq!(image.discovery_limit, 20);
        assert!(image.strict_semvers);
        assert_eq!(
            image.image_selection_strategy,
            ImageSelectionStrategy::SemVer
        );
    }

    #[test]
    fn unknown_fields_are_warnings_with_a_suggestion() {
        let set = load(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata:\n  name: w\nspec:\n  subscriptions:\n  - image:\n      repoUrl: nginx\n      repoURL: nginx\n",
        );
        let diagnostic = &set.diagnostics[0];
        assert_eq!(diagnostic.code(), "G0005");
        assert_eq!(diagnostic.help.as_deref(), Some("did you mean `repoURL`?"));
        assert_eq!(diagnostic.location.as_ref().unwrap().line_col(), (8, 7));
        assert_eq!(
            set.resources.len(),
            1,
            "unknown fields do not drop the resource"
        );
    }

    #[test]
    fn unquoted_numbers_in_string_fields_get_a_quoting_hint() {
        let set = load(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: s\nspec:\n  vars:\n  - name: tag\n    value: 1.10\n  requestedFreight: []\n",
        );
        let diagnostic = &set.diagnostics[0];
        assert_eq!(diagnostic.code(), "G0006");
        assert_eq!(diagnostic.location.as_ref().unwrap().line_col(), (8, 12));
        assert!(
            diagnostic.help.as_deref().unwrap().contains("\"1.10\""),
            "{diagnostic:?}"
        );
    }

    #[test]
    fn unknown_kinds_are_listed_and_lists_expanded() {
        let set = load(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n  stringData: {password: hunter2}\n",
        );
        assert_eq!(set.skipped.len(), 1);
        assert_eq!(set.resources.len(), 1);
        assert!(!set.files[0].redacted_text().contains("hunter2"));
    }

    #[test]
    fn missing_required_fields_point_at_the_object() {
        let set = load(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata:\n  name: w\nspec:\n  subscriptions:\n  - image:\n      constraint: ^1\n",
        );
        let diagnostic = &set.diagnostics[0];
        assert_eq!(diagnostic.code(), "G0007");
        assert!(
            diagnostic.message.contains("`repoURL`"),
            "{}",
            diagnostic.message
        );
        assert_eq!(diagnostic.location.as_ref().unwrap().line_col(), (8, 7));
    }
}
