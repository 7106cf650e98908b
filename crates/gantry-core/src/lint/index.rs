//! Lookup tables over a loaded [`ResourceSet`], by namespace.

use std::collections::{BTreeMap, HashMap};

use gantry_api::argocd::Application;
use gantry_api::core_v1::Secret;
use gantry_api::kargo::{Project, ProjectConfig, PromotionTask, Stage, Warehouse};
use gantry_api::{Object, Resource, ResourceSet};

/// A resource and its typed object.
pub(crate) type Pair<'a, T> = (&'a Resource, &'a T);

/// What one namespace holds.
#[derive(Default)]
pub(crate) struct Namespace<'a> {
    pub(crate) warehouses: BTreeMap<&'a str, Pair<'a, Warehouse>>,
    pub(crate) stages: Vec<Pair<'a, Stage>>,
    pub(crate) tasks: BTreeMap<&'a str, Pair<'a, PromotionTask>>,
    pub(crate) project_configs: Vec<Pair<'a, ProjectConfig>>,
    pub(crate) applications: BTreeMap<&'a str, Pair<'a, Application>>,
    pub(crate) secrets: Vec<Pair<'a, Secret>>,
}

impl<'a> Namespace<'a> {
    pub(crate) fn stage(&self, name: &str) -> Option<Pair<'a, Stage>> {
        self.stages
            .iter()
            .find(|(resource, _)| resource.name == name)
            .copied()
    }
}

/// Every namespace, plus cluster-scoped kinds.
pub(crate) struct Index<'a> {
    pub(crate) namespaces: BTreeMap<&'a str, Namespace<'a>>,
    pub(crate) projects: HashMap<&'a str, Pair<'a, Project>>,
    pub(crate) cluster_tasks: BTreeMap<&'a str, Pair<'a, PromotionTask>>,
}

impl<'a> Index<'a> {
    pub(crate) fn new(set: &'a ResourceSet) -> Self {
        let mut index = Index {
            namespaces: BTreeMap::new(),
            projects: HashMap::new(),
            cluster_tasks: BTreeMap::new(),
        };
        for resource in &set.resources {
            let name = resource.name.as_str();
            match &resource.object {
                Object::Project(project) => {
                    index.projects.entry(name).or_insert((resource, project));
                }
                Object::ClusterPromotionTask(task) => {
                    index.cluster_tasks.entry(name).or_insert((resource, task));
                }
                object => {
                    let Some(namespace) = resource.namespace.as_deref() else {
                        continue;
                    };
                    let entry = index.namespaces.entry(namespace).or_default();
                    match object {
                        Object::Warehouse(warehouse) => {
                            entry
                                .warehouses
                                .entry(name)
                                .or_insert((resource, warehouse));
                        }
                        Object::Stage(stage) => entry.stages.push((resource, stage)),
                        Object::PromotionTask(task) => {
                            entry.tasks.entry(name).or_insert((resource, task));
                        }
                        Object::ProjectConfig(config) => {
                            entry.project_configs.push((resource, config));
                        }
                        Object::Application(application) => {
                            entry
                                .applications
                                .entry(name)
                                .or_insert((resource, application));
                        }
                        Object::Secret(secret) => entry.secrets.push((resource, secret)),
                        _ => {}
                    }
                }
            }
        }
        index
    }

    pub(crate) fn namespace(&self, name: &str) -> Option<&Namespace<'a>> {
        self.namespaces.get(name)
    }
}
