//! Kargo kinds (`kargo.akuity.io/v1alpha1`), field for field as upstream spells them.
//!
//! Defaults follow Kargo's CRDs (Warehouse `interval` `5m0s`, `discoveryLimit` 20,
//! `strictSemvers` true, `freightCreationPolicy` `Automatic`...). Enum-like fields keep unknown
//! values (see [`crate::meta`]) so that validation can point at them. Deprecated and removed
//! fields are still read, so that validation can name their replacement.

use std::collections::BTreeMap;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::meta::{LabelSelector, ObjectMeta, string_enum};

/// The API group and version of every Kargo kind.
pub const API_VERSION: &str = "kargo.akuity.io/v1alpha1";

/// Annotation on an Argo CD Application that lets Stages update it (`<project>:<stage>`, comma
/// separated).
pub const ANNOTATION_AUTHORIZED_STAGE: &str = "kargo.akuity.io/authorized-stage";
/// Label on credential Secrets (`git`, `helm`, `image`, `generic`).
pub const LABEL_CRED_TYPE: &str = "kargo.akuity.io/cred-type";

fn default_interval() -> String {
    "5m0s".to_owned()
}

fn default_discovery_limit() -> i64 {
    20
}

fn yes() -> bool {
    true
}

// ---------------------------------------------------------------------------------------------
// Project, ProjectConfig, ClusterConfig

/// A Kargo project (cluster-scoped; its name is the namespace of its resources).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `Project`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Removed upstream in v1.7 (see [`ProjectConfig`]); still read for older repositories.
    #[serde(default)]
    pub spec: Option<ProjectSpec>,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// The pre-v1.7 `Project.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectSpec {
    /// Equivalent to `ProjectConfig.spec.promotionPolicies`.
    pub promotion_policies: Vec<PromotionPolicy>,
}

/// Project-level settings: promotion policies, webhook receivers, links.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectConfig {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `ProjectConfig`.
    pub kind: String,
    /// Metadata (name must equal the project's).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The settings.
    #[serde(default)]
    pub spec: ProjectConfigSpec,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// `ProjectConfig.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectConfigSpec {
    /// Evaluated in order, first match wins.
    pub promotion_policies: Vec<PromotionPolicy>,
    /// Inbound webhook receivers.
    pub webhook_receivers: Vec<WebhookReceiverConfig>,
    /// Links shown on Freight.
    pub freight_links: Vec<DeepLink>,
    /// Links shown on Stages.
    pub stage_links: Vec<DeepLink>,
    /// Promotion windows (an Enterprise feature upstream; read, not enforced).
    pub promotion_windows: Vec<serde_json::Value>,
}

/// One promotion policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionPolicy {
    /// Exact Stage name (deprecated upstream in favour of `stageSelector`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Which Stages the policy applies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_selector: Option<PromotionPolicySelector>,
    /// Whether newest available Freight is promoted automatically.
    pub auto_promotion_enabled: bool,
    /// Automatic rollback (an Enterprise feature upstream; read, not enforced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_rollback: Option<serde_json::Value>,
}

/// `stageSelector` of a promotion policy: a name (exact, `regex:`, `regexp:` or `glob:`) and
/// inline label selectors; all given parts must match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionPolicySelector {
    /// Exact name, `regex:<re>`, `regexp:<re>` or `glob:<pattern>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Exact label matches.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<crate::meta::LabelSelectorRequirement>,
}

impl PromotionPolicySelector {
    /// The label part as a [`LabelSelector`].
    pub fn label_selector(&self) -> LabelSelector {
        LabelSelector {
            match_labels: self.match_labels.clone(),
            match_expressions: self.match_expressions.clone(),
        }
    }
}

/// One webhook receiver: a name and exactly one provider block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookReceiverConfig {
    /// The receiver's name.
    pub name: String,
    /// GitHub.
    pub github: Option<serde_json::Value>,
    /// GitLab.
    pub gitlab: Option<serde_json::Value>,
    /// Bitbucket.
    pub bitbucket: Option<serde_json::Value>,
    /// Gitea.
    pub gitea: Option<serde_json::Value>,
    /// Docker Hub.
    pub dockerhub: Option<serde_json::Value>,
    /// Quay.
    pub quay: Option<serde_json::Value>,
    /// Harbor.
    pub harbor: Option<serde_json::Value>,
    /// Artifactory.
    pub artifactory: Option<serde_json::Value>,
    /// Azure.
    pub azure: Option<serde_json::Value>,
    /// Generic receiver with actions.
    pub generic: Option<serde_json::Value>,
    /// A CNCF Distribution registry (`docker-registry`) posting its notification events
    /// (gantry extension; `secretRef` to a Secret with a `secret` key).
    pub distribution: Option<serde_json::Value>,
}

/// A UI link template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeepLink {
    /// Title.
    pub title: String,
    /// URL (an expression).
    pub url: String,
    /// Description.
    pub description: Option<String>,
    /// Condition (an expression).
    #[serde(rename = "if")]
    pub condition: Option<String>,
}

/// Cluster-wide settings (must be named `cluster`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfig {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `ClusterConfig`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The settings.
    #[serde(default)]
    pub spec: ClusterConfigSpec,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// `ClusterConfig.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterConfigSpec {
    /// Receivers that refresh Warehouses in every project.
    pub webhook_receivers: Vec<WebhookReceiverConfig>,
    /// Default committer identity.
    pub git_client: Option<GitClientConfig>,
    /// Links shown on Freight.
    pub freight_links: Vec<DeepLink>,
    /// Links shown on Stages.
    pub stage_links: Vec<DeepLink>,
    /// Promotion windows (Enterprise upstream; read, not enforced).
    pub promotion_windows: Vec<serde_json::Value>,
}

/// Committer identity and signing key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GitClientConfig {
    /// Author name.
    pub name: Option<String>,
    /// Author email.
    pub email: Option<String>,
    /// Secret holding a GPG key.
    pub signing_key_secret: Option<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// Warehouse

/// Watches repositories and turns what it finds into Freight.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Warehouse {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `Warehouse`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What to watch.
    pub spec: WarehouseSpec,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

string_enum! {
    /// Whether Freight is created automatically.
    FreightCreationPolicy default Automatic {
        /// Create Freight from the newest artifacts after each discovery.
        Automatic = "Automatic",
        /// Never create Freight automatically.
        Manual = "Manual",
    }
}

/// `Warehouse.spec`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarehouseSpec {
    /// Controller shard.
    #[serde(default)]
    pub shard: Option<String>,
    /// Discovery interval, Go duration (`5m0s`).
    #[serde(default = "default_interval")]
    pub interval: String,
    /// `Automatic` (default) or `Manual`.
    #[serde(default)]
    pub freight_creation_policy: FreightCreationPolicy,
    /// An expression that must be true to create Freight automatically.
    #[serde(default)]
    pub freight_creation_criteria: Option<FreightCreationCriteria>,
    /// What to watch (at least one).
    pub subscriptions: Vec<Subscription>,
}

impl Default for WarehouseSpec {
    fn default() -> Self {
        Self {
            shard: None,
            interval: default_interval(),
            freight_creation_policy: FreightCreationPolicy::default(),
            freight_creation_criteria: None,
            subscriptions: Vec::new(),
        }
    }
}

/// `freightCreationCriteria`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreightCreationCriteria {
    /// A bare expr-lang expression (no `${{ }}`).
    pub expression: String,
}

/// One subscription: an optional name and exactly one type block.
///
/// Upstream encodes the type as the key: `image`, `git`, `chart`, or any other key for a
/// generic subscription. All keys found are kept so that validation can report a subscription
/// with none or several.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Optional name (part of the Freight id when set).
    pub name: Option<String>,
    /// Container image repository.
    pub image: Option<ImageSubscription>,
    /// Git repository.
    pub git: Option<GitSubscription>,
    /// Helm chart.
    pub chart: Option<ChartSubscription>,
    /// Other keys: generic subscriptions, by type key.
    #[serde(skip)]
    pub other: Vec<(String, serde_json::Value)>,
}

impl Subscription {
    /// The type keys present (`image`, `git`, `chart` or generic ones), in that order.
    pub fn types(&self) -> Vec<&str> {
        let mut types = Vec::new();
        if self.image.is_some() {
            types.push("image");
        }
        if self.git.is_some() {
            types.push("git");
        }
        if self.chart.is_some() {
            types.push("chart");
        }
        types.extend(self.other.iter().map(|(key, _)| key.as_str()));
        types
    }
}

impl<'de> Deserialize<'de> for Subscription {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SubscriptionVisitor;

        impl<'de> Visitor<'de> for SubscriptionVisitor {
            type Value = Subscription;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a subscription mapping such as `image: {repoURL: ...}`")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Subscription, A::Error> {
                let mut subscription = Subscription::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => subscription.name = map.next_value()?,
                        "image" => subscription.image = Some(map.next_value()?),
                        "git" => subscription.git = Some(map.next_value()?),
                        "chart" => subscription.chart = Some(map.next_value()?),
                        _ => {
                            let config: serde_json::Value = map.next_value()?;
                            subscription.other.push((key, config));
                        }
                    }
                }
                Ok(subscription)
            }
        }

        deserializer.deserialize_map(SubscriptionVisitor)
    }
}

string_enum! {
    /// How image tags are chosen.
    ImageSelectionStrategy default SemVer {
        /// Highest semantic version.
        SemVer = "SemVer",
        /// Lexically greatest tag.
        Lexical = "Lexical",
        /// Most recently built image.
        NewestBuild = "NewestBuild",
        /// Digest behind a mutable tag.
        Digest = "Digest",
    }
}

/// `subscriptions[].image`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSubscription {
    /// Repository without tag, e.g. `docker.io/library/nginx`.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// `SemVer` (default), `Lexical`, `NewestBuild` or `Digest`.
    #[serde(default)]
    pub image_selection_strategy: ImageSelectionStrategy,
    /// SemVer constraint, or the mutable tag for `Digest`.
    #[serde(default)]
    pub constraint: Option<String>,
    /// Removed in Kargo v1.9: use `constraint`.
    #[serde(default)]
    pub semver_constraint: Option<String>,
    /// Only `X.Y.Z` tags count (SemVer only).
    #[serde(default = "yes")]
    pub strict_semvers: bool,
    /// Tags must match one of these (Go regexps, unanchored).
    #[serde(default, rename = "allowTagsRegexes")]
    pub allow_tags_regexes: Vec<String>,
    /// Tags matching any of these are ignored.
    #[serde(default, rename = "ignoreTagsRegexes")]
    pub ignore_tags_regexes: Vec<String>,
    /// Deprecated: use `allowTagsRegexes` (discovery fails upstream when set).
    #[serde(default)]
    pub allow_tags: Option<String>,
    /// Deprecated: use `ignoreTagsRegexes`.
    #[serde(default)]
    pub ignore_tags: Option<Vec<String>>,
    /// `os/arch[/variant]`.
    #[serde(default)]
    pub platform: Option<String>,
    /// Number of references kept (1..=100).
    #[serde(default = "default_discovery_limit")]
    pub discovery_limit: i64,
    /// Cache metadata by tag.
    #[serde(default)]
    pub cache_by_tag: bool,
    /// Skip TLS verification.
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
}

string_enum! {
    /// How commits are chosen.
    CommitSelectionStrategy default NewestFromBranch {
        /// Newest commit of a branch.
        NewestFromBranch = "NewestFromBranch",
        /// Highest semver tag.
        SemVer = "SemVer",
        /// Lexically greatest tag.
        Lexical = "Lexical",
        /// Most recently created tag.
        NewestTag = "NewestTag",
    }
}

/// `subscriptions[].git`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitSubscription {
    /// Repository URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// `NewestFromBranch` (default), `SemVer`, `Lexical` or `NewestTag`.
    #[serde(default)]
    pub commit_selection_strategy: CommitSelectionStrategy,
    /// Branch (NewestFromBranch only; default: the repository's default branch).
    #[serde(default)]
    pub branch: Option<String>,
    /// SemVer constraint (SemVer strategy only).
    #[serde(default)]
    pub semver_constraint: Option<String>,
    /// Only `X.Y.Z` tags count.
    #[serde(default = "yes")]
    pub strict_semvers: bool,
    /// Tag allow list (regexps).
    #[serde(default, rename = "allowTagsRegexes")]
    pub allow_tags_regexes: Vec<String>,
    /// Tag ignore list (regexps).
    #[serde(default, rename = "ignoreTagsRegexes")]
    pub ignore_tags_regexes: Vec<String>,
    /// Deprecated: use `allowTagsRegexes`.
    #[serde(default)]
    pub allow_tags: Option<String>,
    /// Deprecated: use `ignoreTagsRegexes`.
    #[serde(default)]
    pub ignore_tags: Option<Vec<String>>,
    /// Expression over commit or tag metadata.
    #[serde(default)]
    pub expression_filter: Option<String>,
    /// Only commits touching these paths.
    #[serde(default)]
    pub include_paths: Vec<String>,
    /// Ignore commits touching only these paths.
    #[serde(default)]
    pub exclude_paths: Vec<String>,
    /// Commits or tags kept (1..=100).
    #[serde(default = "default_discovery_limit")]
    pub discovery_limit: i64,
    /// Ignore commits older than this (RFC 3339).
    #[serde(default)]
    pub since: Option<String>,
    /// Clone without blobs.
    #[serde(default)]
    pub blobless: bool,
    /// Skip TLS verification.
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
}

/// `subscriptions[].chart`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartSubscription {
    /// `https://...` chart repository or `oci://...` registry.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Chart name (required for HTTP repositories, empty for OCI).
    #[serde(default)]
    pub name: Option<String>,
    /// SemVer constraint (empty: newest).
    #[serde(default)]
    pub semver_constraint: Option<String>,
    /// Versions kept (1..=100).
    #[serde(default = "default_discovery_limit")]
    pub discovery_limit: i64,
    /// Skip TLS verification.
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
}

// ---------------------------------------------------------------------------------------------
// Discovery results (`Warehouse.status.discoveredArtifacts`)

/// What one discovery found, per subscription, best first (element 0 is what Freight takes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DiscoveredArtifacts {
    /// When discovery finished (RFC 3339).
    pub discovered_at: Option<String>,
    /// Git subscriptions' results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub git: Vec<GitDiscoveryResult>,
    /// Image subscriptions' results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageDiscoveryResult>,
    /// Chart subscriptions' results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<ChartDiscoveryResult>,
}

/// The commits one git subscription found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GitDiscoveryResult {
    /// Repository URL as written in the subscription.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// The subscription's name, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_name: Option<String>,
    /// Commits, best first.
    pub commits: Vec<DiscoveredCommit>,
    /// The refs seen by `git ls-remote`; equal refs next time mean nothing moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_refs: Option<ObservedRefs>,
}

/// One discovered commit (or tag).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DiscoveredCommit {
    /// Full commit id.
    pub id: String,
    /// Branch it was found on (branch strategies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag it was found through (tag strategies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Subject line, at most 80 characters (`...` when cut).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `Name <email>` of the author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// `Name <email>` of the committer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committer: Option<String>,
    /// Commit date, or the tag's date for annotated tags (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator_date: Option<String>,
}

/// Refs observed by `git ls-remote` during the last discovery.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObservedRefs {
    /// The branch head (branch strategies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_head: Option<String>,
    /// Tag names and the ids they point at (tag strategies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<ObservedTag>,
}

/// One observed tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObservedTag {
    /// Tag name.
    pub name: String,
    /// Object id the tag points at.
    pub id: String,
}

/// The image references one image subscription found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageDiscoveryResult {
    /// Repository as written in the subscription.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// The platform filter, if any (`os/arch[/variant]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The subscription's name, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_name: Option<String>,
    /// References, best first.
    pub references: Vec<DiscoveredImageReference>,
}

/// One discovered image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DiscoveredImageReference {
    /// Tag.
    pub tag: String,
    /// Manifest (or index) digest, `sha256:...`.
    pub digest: String,
    /// OCI annotations of the manifest.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Build time (RFC 3339), when the image says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// The versions one chart subscription found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChartDiscoveryResult {
    /// Repository URL as written in the subscription.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Chart name (HTTP repositories only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The constraint used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semver_constraint: Option<String>,
    /// The subscription's name, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_name: Option<String>,
    /// Versions, best first.
    pub versions: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Freight

/// Where Freight comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreightOrigin {
    /// Only `Warehouse`.
    pub kind: String,
    /// The Warehouse's name.
    pub name: String,
}

/// An immutable set of artifacts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Freight {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `Freight`.
    pub kind: String,
    /// Metadata (the name is the content id).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Human-friendly alias.
    #[serde(default)]
    pub alias: Option<String>,
    /// When it was discovered.
    #[serde(default)]
    pub discovered_at: Option<String>,
    /// Where it came from.
    pub origin: FreightOrigin,
    /// Git commits.
    #[serde(default)]
    pub commits: Vec<GitCommit>,
    /// Images.
    #[serde(default)]
    pub images: Vec<Image>,
    /// Charts.
    #[serde(default)]
    pub charts: Vec<Chart>,
    /// Generic artifacts.
    #[serde(default)]
    pub artifacts: Vec<serde_json::Value>,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// A commit in Freight.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GitCommit {
    /// Repository URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Commit id.
    pub id: String,
    /// Branch.
    pub branch: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// Subject.
    pub message: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Committer.
    pub committer: Option<String>,
    /// Subscription name.
    pub subscription_name: Option<String>,
}

/// An image in Freight.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Image {
    /// Repository.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Tag.
    pub tag: Option<String>,
    /// Digest.
    pub digest: Option<String>,
    /// OCI annotations.
    pub annotations: BTreeMap<String, String>,
    /// Subscription name.
    pub subscription_name: Option<String>,
}

/// A chart in Freight.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Chart {
    /// Repository.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Name.
    pub name: Option<String>,
    /// Version.
    pub version: String,
    /// Subscription name.
    pub subscription_name: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Stage, Promotion, PromotionTask

/// A promotion target: decides whether Freight is promoted, and how.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `Stage`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The Stage.
    pub spec: StageSpec,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// `Stage.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StageSpec {
    /// Controller shard.
    pub shard: Option<String>,
    /// Vars visible to promotion steps and verification.
    pub vars: Vec<ExpressionVariable>,
    /// Which Freight the Stage takes, from where.
    pub requested_freight: Vec<FreightRequest>,
    /// How to promote (no steps: a control-flow Stage).
    pub promotion_template: Option<PromotionTemplate>,
    /// Verification with Argo Rollouts analysis.
    pub verification: Option<Verification>,
    /// Target selectors (target-aware Stages).
    pub targets: Option<serde_json::Value>,
}

/// A `name`/`value` var.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpressionVariable {
    /// `^[a-zA-Z_]\w*$`.
    pub name: String,
    /// The value (may contain expressions); absent in a PromotionTask means "required input".
    #[serde(default)]
    pub value: Option<String>,
}

/// One requested origin and where Freight from it may come from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreightRequest {
    /// The Warehouse.
    pub origin: FreightOrigin,
    /// Direct and/or upstream Stages.
    #[serde(default)]
    pub sources: FreightSources,
}

string_enum! {
    /// How upstream verification is combined.
    AvailabilityStrategy default OneOf {
        /// Verified in any upstream Stage.
        OneOf = "OneOf",
        /// Verified in every upstream Stage.
        All = "All",
    }
}

string_enum! {
    /// Which Freight auto-promotion picks.
    SelectionPolicy default NewestFreight {
        /// The newest available Freight.
        NewestFreight = "NewestFreight",
        /// Whatever the single upstream Stage has.
        MatchUpstream = "MatchUpstream",
    }
}

/// `requestedFreight[].sources`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FreightSources {
    /// Freight straight from the Warehouse is available.
    pub direct: bool,
    /// Upstream Stages.
    pub stages: Vec<String>,
    /// Continuous time in an upstream Stage required first.
    pub required_soak_time: Option<String>,
    /// `OneOf` (default) or `All`.
    pub availability_strategy: AvailabilityStrategy,
    /// Auto-promotion options.
    pub auto_promotion_options: Option<AutoPromotionOptions>,
}

/// `sources.autoPromotionOptions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutoPromotionOptions {
    /// `NewestFreight` (default) or `MatchUpstream`.
    pub selection_policy: SelectionPolicy,
}

/// `promotionTemplate`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionTemplate {
    /// The template.
    pub spec: PromotionTemplateSpec,
}

/// `promotionTemplate.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionTemplateSpec {
    /// Vars (after the Stage's own).
    pub vars: Vec<ExpressionVariable>,
    /// Steps.
    pub steps: Vec<PromotionStep>,
}

/// A reference to a (Cluster)PromotionTask.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionTaskReference {
    /// The task's name.
    pub name: String,
    /// `PromotionTask` (default) or `ClusterPromotionTask`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Retry settings of a step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionStepRetry {
    /// Soft timeout (Go duration).
    pub timeout: Option<String>,
    /// Consecutive errors tolerated.
    pub error_threshold: Option<i64>,
}

/// One step of a promotion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionStep {
    /// A built-in step kind.
    pub uses: Option<String>,
    /// Or a task to inflate.
    pub task: Option<PromotionTaskReference>,
    /// Alias, for outputs.
    #[serde(rename = "as")]
    pub alias: Option<String>,
    /// Condition (expression).
    #[serde(rename = "if")]
    pub condition: Option<String>,
    /// Failure does not fail the promotion.
    pub continue_on_error: bool,
    /// Retry settings.
    pub retry: Option<PromotionStepRetry>,
    /// Step-level vars.
    pub vars: Vec<ExpressionVariable>,
    /// Step configuration (expressions allowed in any string).
    pub config: Option<serde_json::Value>,
}

/// `verification`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Verification {
    /// Analysis templates.
    pub analysis_templates: Vec<AnalysisTemplateReference>,
    /// Labels and annotations for AnalysisRuns.
    pub analysis_run_metadata: Option<serde_json::Value>,
    /// Args (expressions that must yield strings).
    pub args: Vec<ExpressionVariable>,
}

/// A reference to an (Cluster)AnalysisTemplate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisTemplateReference {
    /// Name.
    pub name: String,
    /// `AnalysisTemplate` (default) or `ClusterAnalysisTemplate`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// A request to move Freight into a Stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `Promotion`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What to promote where.
    pub spec: PromotionSpec,
    /// Status, when exported from a cluster.
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// `Promotion.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionSpec {
    /// Target Stage.
    pub stage: String,
    /// Freight name (or `origin`).
    pub freight: Option<String>,
    /// Promote the origin's current candidate.
    pub origin: Option<FreightOrigin>,
    /// Target (target-aware Stages).
    pub target: Option<String>,
    /// Vars (copied from the Stage).
    pub vars: Vec<ExpressionVariable>,
    /// Steps (copied from the Stage, tasks inflated).
    pub steps: Vec<PromotionStep>,
}

/// A reusable, parameterised list of steps (namespaced).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionTask {
    /// `kargo.akuity.io/v1alpha1`.
    pub api_version: String,
    /// `PromotionTask` or `ClusterPromotionTask`.
    pub kind: String,
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The task.
    pub spec: PromotionTaskSpec,
}

/// `PromotionTask.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionTaskSpec {
    /// Inputs: a var without a value is required, one with a value has a default.
    pub vars: Vec<ExpressionVariable>,
    /// Steps (each must use `uses`).
    pub steps: Vec<PromotionStep>,
}

// ---------------------------------------------------------------------------------------------
// Status types (what `gantry serve` records at runtime, shaped like Kargo's `status` blocks)

/// A Kubernetes-style condition (`Ready`, `Healthy`, `Reconciling`...).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Condition {
    /// The condition type (`Ready`).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason (`DiscoveryFailed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human-readable message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When `status` last changed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// The generation the condition was computed for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// `Warehouse.status`: the last discovery and the Freight it led to.
///
/// The last successful discovery time is `discoveredArtifacts.discoveredAt`; a failed discovery
/// keeps the previous artifacts and reports its reason and message in a condition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WarehouseStatus {
    /// `Ready`, `Healthy`, `Reconciling`, `FreightCreated`...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last `kargo.akuity.io/refresh` token handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_refresh: Option<String>,
    /// The generation of the spec last reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The id of the newest Freight created from this Warehouse.
    #[serde(rename = "lastFreightID", skip_serializing_if = "Option::is_none")]
    pub last_freight_id: Option<String>,
    /// What the last successful discovery found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovered_artifacts: Option<DiscoveredArtifacts>,
}

/// `Freight.status`: where the Freight is, where it was verified, where it may go.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FreightStatus {
    /// Stages the Freight is currently in, by Stage name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub currently_in: BTreeMap<String, CurrentStage>,
    /// Stages the Freight was verified in, by Stage name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub verified_in: BTreeMap<String, VerifiedStage>,
    /// Stages the Freight was manually approved for, by Stage name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub approved_for: BTreeMap<String, ApprovedStage>,
    /// Data set by the `set-metadata` step, by key.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

/// An entry of `Freight.status.currentlyIn`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CurrentStage {
    /// Since when the Freight has been in the Stage (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// An entry of `Freight.status.verifiedIn`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VerifiedStage {
    /// When the Freight was verified in the Stage (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    /// The longest completed stay in the Stage, as a Go duration (`1h0m0s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longest_soak: Option<String>,
}

/// An entry of `Freight.status.approvedFor`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApprovedStage {
    /// When the Freight was approved for the Stage (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
}

/// A Freight and its artifacts, as Stages and Promotions refer to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FreightReference {
    /// The Freight's name (its id).
    pub name: String,
    /// Where it came from.
    pub origin: FreightOrigin,
    /// Git commits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<GitCommit>,
    /// Images.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    /// Charts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<Chart>,
    /// Generic artifacts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<serde_json::Value>,
}

impl FreightReference {
    /// The reference to a Freight (its name is `metadata.name`).
    pub fn of(freight: &Freight) -> Self {
        Self {
            name: freight.metadata.name.clone().unwrap_or_default(),
            origin: freight.origin.clone(),
            commits: freight.commits.clone(),
            images: freight.images.clone(),
            charts: freight.charts.clone(),
            artifacts: freight.artifacts.clone(),
        }
    }

    /// The key of this Freight's origin in a [`FreightCollection`] (`Warehouse/name`).
    pub fn origin_key(&self) -> String {
        format!("{}/{}", self.origin.kind, self.origin.name)
    }
}

/// The Freight a Stage holds at one time, one per requested origin (`freightHistory[]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FreightCollection {
    /// `hex(SHA1(join(sorted(freight names), ",")))`.
    pub id: String,
    /// The Freight, keyed by origin (`Warehouse/name`).
    pub items: BTreeMap<String, FreightReference>,
    /// Verification attempts of this collection, newest first (at most 10).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verification_history: Vec<VerificationInfo>,
}

/// One verification attempt of a [`FreightCollection`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VerificationInfo {
    /// A unique id of the attempt.
    pub id: String,
    /// Who asked for it (empty when automatic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// When it started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// `Pending`, `Running`, `Successful`, `Failed`, `Error`, `Aborted` or `Inconclusive`.
    pub phase: String,
    /// Why the phase is what it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The analysis run, when there is one (`{namespace, name, phase}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis_run: Option<serde_json::Value>,
    /// When it finished (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_time: Option<String>,
}

/// `Stage.status.health`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Health {
    /// `Healthy`, `NotApplicable`, `Progressing`, `Unknown` or `Unhealthy`.
    pub status: String,
    /// What is wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<String>,
    /// The health checks' input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// The health checks' output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
}

/// `Stage.status.currentPromotion` / `lastPromotion`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionReference {
    /// The Promotion's name.
    pub name: String,
    /// The Freight it promotes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freight: Option<FreightReference>,
    /// Its phase and message (Kargo keeps the whole Promotion status here; gantry the summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<PromotionReferenceStatus>,
    /// When it finished (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// The phase and message of a [`PromotionReference`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PromotionReferenceStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Errored` or `Aborted`.
    pub phase: String,
    /// Why the phase is what it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A durable auto-promotion hold of one origin (`Stage.status.autoPromotionHolds`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutoPromotionHold {
    /// The Freight a user promoted instead of the candidate.
    pub freight_name: String,
    /// The origin held.
    pub origin: FreightOrigin,
    /// The Promotion that placed the hold.
    pub promotion_name: String,
    /// Who promoted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// When (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// The newest Promotion of a Freight into a Stage that ended without success. Auto-promotion
/// does not try that Freight again (gantry extension: Kargo derives this from its Promotions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FailedPromotion {
    /// The Promotion's name.
    pub promotion: String,
    /// `Failed`, `Errored` or `Aborted`.
    pub phase: String,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it ended (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// `Stage.status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StageStatus {
    /// `Ready`, `Healthy`, `Promoting`, `Verified`...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last `kargo.akuity.io/refresh` token handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_handled_refresh: Option<String>,
    /// The generation of the spec last reconciled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The Freight the Stage held, newest first (at most 10); element 0 is what it holds now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub freight_history: Vec<FreightCollection>,
    /// A one-line summary of the current Freight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freight_summary: Option<String>,
    /// The Stage's health.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// The Promotion running (or next to run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_promotion: Option<PromotionReference>,
    /// The last Promotion that ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_promotion: Option<PromotionReference>,
    /// Whether a promotion policy enables auto-promotion.
    pub auto_promotion_enabled: bool,
    /// Durable auto-promotion holds, by origin (`Warehouse/name`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub auto_promotion_holds: BTreeMap<String, AutoPromotionHold>,
    /// Freight whose last Promotion into this Stage did not succeed, by Freight name; auto-promotion
    /// skips them (gantry extension).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_promotions: BTreeMap<String, FailedPromotion>,
    /// Data set by the `set-metadata` step, by key.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

impl StageStatus {
    /// The Freight the Stage holds now (element 0 of the history).
    pub fn current_freight(&self) -> Option<&FreightCollection> {
        self.freight_history.first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_policies_write_only_the_fields_they_have() {
        let policy: PromotionPolicy = serde_json::from_value(serde_json::json!({
            "stageSelector": {"name": "glob:dev-*"},
            "autoPromotionEnabled": true,
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            serde_json::json!({
                "stageSelector": {"name": "glob:dev-*"},
                "autoPromotionEnabled": true,
            })
        );
        let legacy: PromotionPolicy =
            serde_json::from_value(serde_json::json!({"stage": "prod"})).unwrap();
        assert_eq!(
            serde_json::to_value(&legacy).unwrap(),
            serde_json::json!({"stage": "prod", "autoPromotionEnabled": false})
        );
    }

    #[test]
    fn stage_and_freight_statuses_read_kargo_exports_and_write_camel_case() {
        let exported = serde_json::json!({
            "freightHistory": [{
                "id": "c0ffee",
                "items": {"Warehouse/app": {
                    "name": "f1",
                    "origin": {"kind": "Warehouse", "name": "app"},
                    "images": [{"repoURL": "registry.local/app", "tag": "1.0.0", "digest": "sha256:00"}]
                }},
                "verificationHistory": [{"id": "v1", "phase": "Successful", "finishTime": "2026-01-01T00:00:00Z"}]
            }],
            "lastPromotion": {
                "name": "dev.01j.f1",
                "freight": {"name": "f1", "origin": {"kind": "Warehouse", "name": "app"}},
                "status": {"phase": "Succeeded", "currentStep": 3, "state": {"x": 1}},
                "finishedAt": "2026-01-01T00:00:00Z"
            },
            "health": {"status": "Healthy"},
            "autoPromotionEnabled": true,
            "observedGeneration": 2
        });
        let status: StageStatus = serde_json::from_value(exported).expect("a Kargo status reads");
        assert_eq!(
            status.current_freight().map(|c| c.id.as_str()),
            Some("c0ffee")
        );
        let last = status.last_promotion.as_ref().expect("last promotion");
        assert_eq!(
            last.status.as_ref().map(|s| s.phase.as_str()),
            Some("Succeeded")
        );
        let written = serde_json::to_value(&status).expect("encodes");
        assert_eq!(
            written["freightHistory"][0]["items"]["Warehouse/app"]["images"][0]["repoURL"],
            "registry.local/app"
        );
        assert!(
            written.get("failedPromotions").is_none(),
            "empty maps are left out"
        );

        let freight: FreightStatus = serde_json::from_value(serde_json::json!({
            "currentlyIn": {"dev": {"since": "2026-01-01T00:00:00Z"}},
            "verifiedIn": {"dev": {"verifiedAt": "2026-01-01T00:00:00Z", "longestSoak": "1h0m0s"}},
            "approvedFor": {"prod": {}},
            "metadata": {"k": {"a": 1}}
        }))
        .expect("a Kargo freight status reads");
        assert_eq!(
            freight.verified_in["dev"].longest_soak.as_deref(),
            Some("1h0m0s")
        );
        assert!(freight.approved_for.contains_key("prod"));

        let warehouse: WarehouseStatus = serde_json::from_value(serde_json::json!({
            "lastFreightID": "f1",
            "conditions": [{"type": "Ready", "status": "False", "reason": "DiscoveryFailed"}]
        }))
        .expect("a Kargo warehouse status reads");
        assert_eq!(warehouse.last_freight_id.as_deref(), Some("f1"));
        assert_eq!(warehouse.conditions[0].type_, "Ready");
        let written = serde_json::to_value(&warehouse).expect("encodes");
        assert_eq!(written["lastFreightID"], "f1");
        assert_eq!(written["conditions"][0]["type"], "Ready");
    }
}
