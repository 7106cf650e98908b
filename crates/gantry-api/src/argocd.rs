//! Argo CD kinds (`argoproj.io/v1alpha1`): `Application` and `ApplicationSet`.
//!
//! Tool blocks (`helm`, `kustomize`, `directory`, `plugin`) and generators are kept as JSON for
//! now; the sync layer types them when it needs them.

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;

/// The API group and version of Argo CD kinds.
pub const API_VERSION: &str = "argoproj.io/v1alpha1";

/// An Argo CD Application: one source (or several) synced to one destination.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `Application`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What to sync where.
    pub spec: ApplicationSpec,
    /// A requested operation (sibling of `spec`).
    #[serde(default)]
    pub operation: Option<serde_json::Value>,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// `Application.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationSpec {
    /// AppProject (`default` always exists).
    pub project: Option<String>,
    /// Single source.
    pub source: Option<ApplicationSource>,
    /// Several sources (wins over `source`).
    pub sources: Vec<ApplicationSource>,
    /// Where to sync.
    pub destination: ApplicationDestination,
    /// Automation.
    pub sync_policy: Option<SyncPolicy>,
    /// Diff exclusions.
    pub ignore_differences: Vec<serde_json::Value>,
    /// UI info.
    pub info: Vec<serde_json::Value>,
    /// History length.
    pub revision_history_limit: Option<i64>,
    /// Source hydrator.
    pub source_hydrator: Option<serde_json::Value>,
}

/// One source of an Application.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationSource {
    /// Git, Helm or OCI repository.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Branch, tag, commit, or chart version.
    pub target_revision: Option<String>,
    /// Directory in the repository.
    pub path: Option<String>,
    /// Helm chart name (Helm repositories).
    pub chart: Option<String>,
    /// Name for `$ref/...` use by other sources.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// Source name.
    pub name: Option<String>,
    /// Directory options.
    pub directory: Option<serde_json::Value>,
    /// Helm options.
    pub helm: Option<serde_json::Value>,
    /// Kustomize options.
    pub kustomize: Option<serde_json::Value>,
    /// Config management plugin.
    pub plugin: Option<serde_json::Value>,
}

/// `spec.destination`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationDestination {
    /// Cluster API URL.
    pub server: Option<String>,
    /// Or cluster name.
    pub name: Option<String>,
    /// Namespace for namespaced resources without one.
    pub namespace: Option<String>,
}

/// `spec.syncPolicy`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncPolicy {
    /// Automated sync.
    pub automated: Option<AutomatedSync>,
    /// Options such as `CreateNamespace=true`.
    pub sync_options: Vec<String>,
    /// Metadata for a created namespace.
    pub managed_namespace_metadata: Option<serde_json::Value>,
    /// Retry of failed syncs.
    pub retry: Option<serde_json::Value>,
}

/// `syncPolicy.automated`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutomatedSync {
    /// `null` means on.
    pub enabled: Option<bool>,
    /// Delete resources gone from git.
    pub prune: bool,
    /// Re-sync on live drift.
    pub self_heal: bool,
    /// Allow pruning everything.
    pub allow_empty: bool,
}

/// Generates Applications from generators and a template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSet {
    /// `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `ApplicationSet`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Generators and template.
    pub spec: ApplicationSetSpec,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// `ApplicationSet.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationSetSpec {
    /// Parameter generators (`list`, `git`, `matrix`...).
    pub generators: Vec<serde_json::Value>,
    /// The Application template (`metadata` + `spec`, strings templated).
    pub template: serde_json::Value,
    /// Go templates instead of fasttemplate.
    pub go_template: bool,
    /// Go template options (`missingkey=error`).
    pub go_template_options: Vec<String>,
    /// Patch applied after rendering.
    pub template_patch: Option<String>,
    /// Application lifecycle policy.
    pub sync_policy: Option<serde_json::Value>,
    /// Rollout strategy.
    pub strategy: Option<serde_json::Value>,
    /// Fields kept on generated Applications.
    pub preserved_fields: Option<serde_json::Value>,
    /// Fields users may edit on generated Applications.
    pub ignore_application_differences: Vec<serde_json::Value>,
}
