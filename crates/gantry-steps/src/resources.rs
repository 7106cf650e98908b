//! What a promotion runner needs from loaded manifests, shared by `gantry task run` and
//! `gantry serve`: the PromotionTasks a Stage's template refers to ([`Tasks`]), the Project data
//! expression functions read ([`promotion_data`]) and the credential Secrets
//! ([`credentials`]).
//!
//! Everything here reads a [`ResourceSet`]; nothing touches the network or the disk.

use gantry_api::ResourceSet;
use gantry_api::kargo::PromotionTaskSpec;
use gantry_api::resource::Object;
use gantry_core::credentials::{CRED_TYPE_LABEL, CredentialError, CredentialStore};
use gantry_engine::{PromotionData, TaskSource};
use gantry_expr::SecretData;

/// The PromotionTasks of one namespace and every ClusterPromotionTask of a set.
#[derive(Clone, Copy, Debug)]
pub struct Tasks<'a> {
    /// The Project's namespace.
    pub namespace: &'a str,
    /// The manifests.
    pub set: &'a ResourceSet,
}

impl TaskSource for Tasks<'_> {
    fn promotion_task(&self, name: &str) -> Option<&PromotionTaskSpec> {
        self.set.resources.iter().find_map(|r| match &r.object {
            Object::PromotionTask(task)
                if r.name == name && r.namespace.as_deref() == Some(self.namespace) =>
            {
                Some(&task.spec)
            }
            _ => None,
        })
    }

    fn cluster_promotion_task(&self, name: &str) -> Option<&PromotionTaskSpec> {
        self.set.resources.iter().find_map(|r| match &r.object {
            Object::ClusterPromotionTask(task) if r.name == name => Some(&task.spec),
            _ => None,
        })
    }
}

/// Project data for expression functions and steps from the manifests of `namespace`:
/// Warehouses, Freight documents and Secrets (values kept as [`SecretData`]). The caller adds
/// the promotion's own Freight and the Stage's requested Freight.
pub fn promotion_data(set: &ResourceSet, namespace: &str) -> PromotionData {
    let mut data = PromotionData::default();
    for resource in &set.resources {
        if resource.namespace.as_deref() != Some(namespace) {
            continue;
        }
        match &resource.object {
            Object::Warehouse(warehouse) => {
                data.warehouses
                    .insert(resource.name.clone(), warehouse.clone());
            }
            Object::Freight(freight) => {
                data.all_freight
                    .insert(resource.name.clone(), freight.clone());
            }
            Object::Secret(secret) => {
                let values = secret
                    .data
                    .keys()
                    .chain(secret.string_data.keys())
                    .filter_map(|key| secret.value(key).map(|v| (key.clone(), v)))
                    .collect();
                let generic = secret
                    .metadata
                    .labels
                    .get(CRED_TYPE_LABEL)
                    .is_some_and(|t| t == "generic");
                data.secrets.insert(
                    resource.name.clone(),
                    SecretData {
                        data: values,
                        generic,
                    },
                );
            }
            _ => {}
        }
    }
    data
}

/// The credential Secrets of `namespace` (every namespace when `None`), ready for lookups, and
/// the ones that cannot be used.
pub fn credentials(
    set: &ResourceSet,
    namespace: Option<&str>,
) -> (CredentialStore, Vec<CredentialError>) {
    let secrets = set.resources.iter().filter_map(|r| match &r.object {
        Object::Secret(secret)
            if namespace.is_none_or(|namespace| r.namespace.as_deref() == Some(namespace)) =>
        {
            Some(secret)
        }
        _ => None,
    });
    CredentialStore::from_secrets(secrets)
}

#[cfg(test)]
mod tests {
    use gantry_api::LoadOptions;
    use gantry_core::credentials::CredentialType;

    use super::*;

    const MANIFESTS: &str = "\
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata:
  name: bump
  namespace: shop
spec:
  steps:
    - uses: git-clone
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: app
  namespace: shop
spec:
  subscriptions: []
---
apiVersion: v1
kind: Secret
metadata:
  name: repo
  namespace: shop
  labels:
    kargo.akuity.io/cred-type: git
stringData:
  repoURL: https://git.example/shop.git
  username: bot
  password: hunter2
---
apiVersion: v1
kind: Secret
metadata:
  name: other
  namespace: elsewhere
  labels:
    kargo.akuity.io/cred-type: git
stringData:
  repoURL: https://git.example/other.git
  username: bot
  password: hunter3
";

    fn set() -> ResourceSet {
        ResourceSet::load_str("manifests.yaml", MANIFESTS, LoadOptions::default())
    }

    #[test]
    fn tasks_are_found_in_their_namespace_only() {
        let set = set();
        let tasks = Tasks {
            namespace: "shop",
            set: &set,
        };
        assert!(tasks.promotion_task("bump").is_some());
        let elsewhere = Tasks {
            namespace: "other",
            set: &set,
        };
        assert!(elsewhere.promotion_task("bump").is_none());
    }

    #[test]
    fn promotion_data_holds_the_namespace_warehouses_and_secrets() {
        let set = set();
        let data = promotion_data(&set, "shop");
        assert_eq!(data.warehouses.keys().collect::<Vec<_>>(), ["app"]);
        assert_eq!(data.secrets.keys().collect::<Vec<_>>(), ["repo"]);
        assert_eq!(
            data.secrets["repo"]
                .data
                .get("username")
                .map(String::as_str),
            Some("bot")
        );
    }

    #[test]
    fn credentials_can_be_limited_to_one_namespace() {
        let set = set();
        let (all, problems) = credentials(&set, None);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(
            all.lookup(CredentialType::Git, "https://git.example/other.git")
                .is_some()
        );
        let (shop, _) = credentials(&set, Some("shop"));
        assert!(
            shop.lookup(CredentialType::Git, "https://git.example/shop.git")
                .is_some()
        );
        assert!(
            shop.lookup(CredentialType::Git, "https://git.example/other.git")
                .is_none()
        );
    }
}
