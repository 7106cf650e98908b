//! Kro kinds (`kro.run/v1alpha1`): `ResourceGraphDefinition`.
//!
//! The SimpleSchema and the templates stay JSON here; the resource-graph crate parses them.

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;

/// The API group and version of Kro kinds.
pub const API_VERSION: &str = "kro.run/v1alpha1";

/// A service blueprint: a schema for instances and a graph of templated resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGraphDefinition {
    /// `kro.run/v1alpha1`.
    pub api_version: String,
    /// `ResourceGraphDefinition`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Schema and resources.
    pub spec: ResourceGraphDefinitionSpec,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// `ResourceGraphDefinition.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGraphDefinitionSpec {
    /// The instance kind's schema.
    pub schema: RgdSchema,
    /// The resources, in user order.
    #[serde(default)]
    pub resources: Vec<RgdResource>,
}

/// `spec.schema`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RgdSchema {
    /// `v1alpha1`-style version of the generated kind.
    pub api_version: String,
    /// The generated kind, e.g. `WebApplication`.
    pub kind: String,
    /// API group (default `kro.run`).
    #[serde(default)]
    pub group: Option<String>,
    /// `Namespaced` (default) or `Cluster`.
    #[serde(default)]
    pub scope: Option<String>,
    /// SimpleSchema of `spec`.
    #[serde(default)]
    pub spec: serde_json::Value,
    /// Named custom types.
    #[serde(default)]
    pub types: serde_json::Value,
    /// Status projections (CEL).
    #[serde(default)]
    pub status: serde_json::Value,
    /// Printer columns.
    #[serde(default)]
    pub additional_printer_columns: Vec<serde_json::Value>,
    /// Short names.
    #[serde(default)]
    pub short_names: Vec<String>,
    /// Categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Labels and annotations of the generated CRD.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// One node of the graph.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RgdResource {
    /// lowerCamelCase id.
    pub id: String,
    /// A Kubernetes object with `${...}` expressions.
    #[serde(default)]
    pub template: Option<serde_json::Value>,
    /// Or a read-only reference to an existing object.
    #[serde(default)]
    pub external_ref: Option<serde_json::Value>,
    /// Readiness conditions.
    #[serde(default)]
    pub ready_when: Vec<String>,
    /// Inclusion conditions.
    #[serde(default)]
    pub include_when: Vec<String>,
    /// Collection dimensions.
    #[serde(default)]
    pub for_each: Vec<serde_json::Value>,
}
