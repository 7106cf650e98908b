//! Kubernetes object metadata and shared building blocks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `metadata` of every resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectMeta {
    /// The name.
    pub name: Option<String>,
    /// A prefix for server-generated names (used by Promotions).
    pub generate_name: Option<String>,
    /// The namespace (the Kargo project for project-scoped kinds).
    pub namespace: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Finalizers.
    pub finalizers: Vec<String>,
    /// Server-set fields kept as they are when a manifest was exported from a cluster.
    pub uid: Option<String>,
    /// Server-set.
    pub resource_version: Option<String>,
    /// Server-set.
    pub generation: Option<i64>,
    /// Server-set.
    pub creation_timestamp: Option<String>,
    /// Server-set.
    pub deletion_timestamp: Option<String>,
    /// Server-set.
    pub deletion_grace_period_seconds: Option<i64>,
    /// Owners.
    pub owner_references: Vec<serde_json::Value>,
    /// Server-set.
    pub managed_fields: Vec<serde_json::Value>,
    /// Server-set.
    pub self_link: Option<String>,
}

/// A Kubernetes label selector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelector {
    /// Exact label matches.
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One set-based requirement of a [`LabelSelector`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In`/`NotIn`.
    #[serde(default)]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Whether `labels` satisfy the selector (an empty selector matches everything).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
            && self.match_expressions.iter().all(|requirement| {
                let value = labels.get(&requirement.key);
                match requirement.operator.as_str() {
                    "In" => value.is_some_and(|v| requirement.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !requirement.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

/// Declares a string enum that keeps unknown values (so validation can report them with their
/// location instead of failing deserialization of the whole resource).
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident default $default:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value gantry does not know (reported by validation).
            Unknown(String),
        }

        impl $name {
            /// The accepted spellings.
            pub const VALUES: &'static [&'static str] = &[$($text),*];

            /// Parses a value; the empty string means the default, as upstream.
            pub fn parse(text: &str) -> Self {
                match text {
                    "" => Self::$default,
                    $($text => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            /// The spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown(other) => other,
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok(Self::parse(&text))
            }
        }
    };
}

pub(crate) use string_enum;
