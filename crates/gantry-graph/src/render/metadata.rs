//! What Kro adds to every child it applies, and the namespace it puts them in.
//!
//! Labels (Kro's `metadata` package and instance controller): `kro.run/owned`,
//! `kro.run/kro-version` (only when the version is given: gantry does not know which Kro would
//! apply), `kro.run/instance-id` (only when the instance carries `metadata.uid`: the API
//! server assigns it), `kro.run/instance-name`, `kro.run/instance-namespace` (namespaced
//! instances), `kro.run/instance-group`, `kro.run/instance-version`, `kro.run/instance-kind`,
//! `app.kubernetes.io/managed-by: kro`, `kro.run/node-id`, for collection items
//! `kro.run/collection-index` and `kro.run/collection-size`, and the ApplySet membership label
//! `applyset.kubernetes.io/part-of`. Annotation: `internal.kro.run/apply-order`. Kro's values
//! win over a template's own labels of the same keys.
//!
//! Namespaces: a namespaced instance's children without `metadata.namespace` land in the
//! instance's namespace (Kro applies them there). Whether a kind is namespaced comes from the
//! cluster's REST mapping in Kro; offline, the well-known cluster-scoped kinds are listed in
//! [`CLUSTER_SCOPED_KINDS`] and every other kind is taken as namespaced.

use serde_json::{Map, Value};

use crate::eval::digest;

/// The ApplySet membership label.
pub const APPLYSET_PART_OF: &str = "applyset.kubernetes.io/part-of";
/// The annotation holding a child's apply order.
pub const APPLY_ORDER: &str = "internal.kro.run/apply-order";

/// Kinds that are cluster-scoped (no namespace is added to them).
pub const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "ResourceGraphDefinition",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// What identifies the instance the children belong to.
#[derive(Clone, Debug)]
pub(crate) struct Owner {
    pub(crate) name: String,
    /// `None` for a cluster-scoped instance.
    pub(crate) namespace: Option<String>,
    pub(crate) uid: Option<String>,
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) kind: String,
    pub(crate) kro_version: Option<String>,
}

impl Owner {
    /// The ApplySet id of the instance (KEP-3659): `applyset-<id>-v1`, `<id>` being the
    /// unpadded URL-safe base64 of SHA-256 over `<name>.<namespace>.<kind>.<group>`.
    pub(crate) fn applyset_id(&self) -> String {
        let unencoded = format!(
            "{}.{}.{}.{}",
            self.name,
            self.namespace.as_deref().unwrap_or(""),
            self.kind,
            self.group
        );
        format!(
            "applyset-{}-v1",
            crate::eval::base64_url(&digest::sha256(unencoded.as_bytes()))
        )
    }

    fn labels(&self, id: &str, collection: Option<(usize, usize)>) -> Vec<(String, String)> {
        let mut labels = vec![
            ("kro.run/owned".to_owned(), "true".to_owned()),
            ("app.kubernetes.io/managed-by".to_owned(), "kro".to_owned()),
            ("kro.run/instance-name".to_owned(), self.name.clone()),
            ("kro.run/instance-group".to_owned(), self.group.clone()),
            ("kro.run/instance-version".to_owned(), self.version.clone()),
            ("kro.run/instance-kind".to_owned(), self.kind.clone()),
            ("kro.run/node-id".to_owned(), id.to_owned()),
            (APPLYSET_PART_OF.to_owned(), self.applyset_id()),
        ];
        if let Some(version) = &self.kro_version {
            labels.push(("kro.run/kro-version".to_owned(), version.clone()));
        }
        if let Some(namespace) = &self.namespace {
            labels.push(("kro.run/instance-namespace".to_owned(), namespace.clone()));
        }
        if let Some(uid) = &self.uid {
            labels.push(("kro.run/instance-id".to_owned(), uid.clone()));
        }
        if let Some((index, size)) = collection {
            labels.push(("kro.run/collection-index".to_owned(), index.to_string()));
            labels.push(("kro.run/collection-size".to_owned(), size.to_string()));
        }
        labels.sort();
        labels
    }
}

/// Whether objects of `kind` live in a namespace (see the module docs).
pub fn is_namespaced(kind: &str) -> bool {
    !CLUSTER_SCOPED_KINDS.contains(&kind)
}

/// Adds the namespace, labels and annotation Kro sets on a child. `namespace_pending` keeps
/// the namespace out when the template's own namespace could not be rendered.
pub(crate) fn decorate(
    object: &mut Value,
    owner: &Owner,
    id: &str,
    collection: Option<(usize, usize)>,
    apply_order: usize,
    namespace_pending: bool,
) {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(metadata) = object
        .as_object_mut()
        .and_then(|object| object.get_mut("metadata"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if let Some(namespace) = &owner.namespace
        && is_namespaced(&kind)
        && !namespace_pending
        && metadata.get("namespace").is_none_or(Value::is_null)
    {
        // Right after the name, where people write it.
        let entries = std::mem::take(metadata);
        for (key, value) in entries {
            let after_name = key == "name";
            metadata.insert(key, value);
            if after_name {
                metadata.insert("namespace".to_owned(), Value::String(namespace.clone()));
            }
        }
        metadata
            .entry("namespace".to_owned())
            .or_insert_with(|| Value::String(namespace.clone()));
    }
    let labels = entry_map(metadata, "labels");
    for (key, value) in owner.labels(id, collection) {
        labels.insert(key, Value::String(value));
    }
    let annotations = entry_map(metadata, "annotations");
    annotations.insert(
        APPLY_ORDER.to_owned(),
        Value::String(apply_order.to_string()),
    );
}

fn entry_map<'a>(metadata: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = metadata
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("replaced by an object just above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn owner() -> Owner {
        Owner {
            name: "web-app".into(),
            namespace: Some("develop".into()),
            uid: None,
            group: "kro.run".into(),
            version: "v1alpha1".into(),
            kind: "WebApplication".into(),
            kro_version: None,
        }
    }

    #[test]
    fn the_applyset_id_follows_kep_3659() {
        assert_eq!(
            owner().applyset_id(),
            "applyset-Obu5IZAslsrSmgvFkYvzDwmqqGaKUdbSQYNdlTo2VAE-v1"
        );
    }

    #[test]
    fn children_get_the_instance_namespace_and_kro_labels_but_cluster_kinds_no_namespace() {
        let mut deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"kro.run/owned": "false", "app": "x"}}});
        decorate(
            &mut deployment,
            &owner(),
            "deployment",
            Some((1, 3)),
            2,
            false,
        );
        assert_eq!(deployment["metadata"]["namespace"], "develop");
        let labels = &deployment["metadata"]["labels"];
        assert_eq!(labels["kro.run/owned"], "true");
        assert_eq!(labels["app"], "x");
        assert_eq!(labels["kro.run/node-id"], "deployment");
        assert_eq!(labels["kro.run/collection-index"], "1");
        assert_eq!(labels["kro.run/collection-size"], "3");
        assert!(labels.get("kro.run/instance-id").is_none());
        assert_eq!(
            deployment["metadata"]["annotations"][APPLY_ORDER],
            json!("2")
        );
        let mut namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}});
        decorate(&mut namespace, &owner(), "ns", None, 1, false);
        assert!(namespace["metadata"].get("namespace").is_none());
    }
}
