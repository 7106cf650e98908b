//! The resource specs the server runs: the config directory loaded with the Foundation loader,
//! validated like `gantry validate`, and indexed by Project.
//!
//! A [`Config`] is immutable; the server swaps in a new one (behind a `watch` channel) when the
//! directory changes and the new one validates, and keeps the old one otherwise. Which files
//! changed is found by a fingerprint: the path, size and mtime of every file the loader would
//! read, cheap enough to poll every second.
//!
//! A namespace is a Project when it holds a `Project` resource (validation refuses Stages in a
//! namespace without one). Its promotion policies are the `ProjectConfig`'s (named like the
//! Project), else the legacy `Project.spec.promotionPolicies`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use gantry_api::diagnostic::{Diagnostic, Severity};
use gantry_api::kargo::{PromotionPolicy, PromotionTaskSpec, Stage, Warehouse};
use gantry_api::resource::{Object, Resource};
use gantry_api::{LoadOptions, ResourceSet};
use gantry_core::credentials::CredentialStore;

/// One Project's resources, as indexes into [`Config::set`]'s resources.
#[derive(Clone, Debug, Default)]
pub struct ProjectIndex {
    /// The Project's name (= its namespace).
    pub name: String,
    /// The `Project` resource.
    pub project: usize,
    /// The `ProjectConfig` named like the Project, if any.
    pub project_config: Option<usize>,
    /// Warehouses by name.
    pub warehouses: BTreeMap<String, usize>,
    /// Stages by name.
    pub stages: BTreeMap<String, usize>,
    /// PromotionTasks by name.
    pub tasks: BTreeMap<String, usize>,
    /// The promotion policies in force (ProjectConfig's, else the legacy Project's).
    pub policies: Vec<PromotionPolicy>,
    /// The credential Secrets of the Project's namespace.
    pub credentials: Arc<CredentialStore>,
    /// Credential Secrets that cannot be used, with why.
    pub credential_problems: Vec<String>,
}

/// A loaded, validated config directory.
#[derive(Debug)]
pub struct Config {
    /// The directory it was loaded from.
    pub dir: PathBuf,
    /// Everything the loader read.
    pub set: ResourceSet,
    /// Projects by name.
    pub projects: BTreeMap<String, ProjectIndex>,
    /// ClusterPromotionTasks by name.
    pub cluster_tasks: BTreeMap<String, usize>,
    /// Counts up from 1 with every config the server switches to.
    pub generation: u64,
    /// When it was loaded.
    pub loaded_at: SystemTime,
    /// Warnings validation reported (they do not stop the config).
    pub warnings: Vec<Diagnostic>,
    pub(crate) fingerprint: Fingerprint,
}

/// The config directory does not validate; the diagnostics say why (errors first).
#[derive(Debug, thiserror::Error)]
#[error("the config in {} has {} error(s)", dir.display(), errors.len())]
pub struct ConfigError {
    /// The directory.
    pub dir: PathBuf,
    /// The errors (severity `Error`).
    pub errors: Vec<Diagnostic>,
    /// Everything that was loaded, for printing the errors with their sources.
    pub set: ResourceSet,
}

impl ConfigError {
    /// One line per error: `file:line:col: error[G0201]: message`.
    pub fn lines(&self) -> Vec<String> {
        self.errors.iter().map(one_line).collect()
    }
}

/// A diagnostic on one line, for logs.
pub fn one_line(diagnostic: &Diagnostic) -> String {
    let place = diagnostic.location.as_ref().map_or_else(String::new, |at| {
        let (line, column) = at.line_col();
        format!("{}:{line}:{column}: ", at.file.name())
    });
    format!(
        "{place}{}[{}]: {}",
        diagnostic.severity.as_str(),
        diagnostic.check.code,
        diagnostic.message
    )
}

/// Loads and validates the config directory. `generation` is recorded in the result.
pub fn load(dir: &Path, generation: u64) -> Result<Config, Box<ConfigError>> {
    let fingerprint = Fingerprint::of(dir);
    let set = ResourceSet::load_paths(&[dir], LoadOptions::default());
    let report = gantry_core::lint::validate(&set);
    let (errors, rest): (Vec<Diagnostic>, Vec<Diagnostic>) = report
        .diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(Box::new(ConfigError {
            dir: dir.to_path_buf(),
            errors,
            set,
        }));
    }
    let warnings = rest
        .into_iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    let (projects, cluster_tasks) = index(&set);
    Ok(Config {
        dir: dir.to_path_buf(),
        set,
        projects,
        cluster_tasks,
        generation,
        loaded_at: SystemTime::now(),
        warnings,
        fingerprint,
    })
}

fn index(set: &ResourceSet) -> (BTreeMap<String, ProjectIndex>, BTreeMap<String, usize>) {
    let mut projects: BTreeMap<String, ProjectIndex> = BTreeMap::new();
    let mut cluster_tasks = BTreeMap::new();
    for (i, resource) in set.resources.iter().enumerate() {
        if let Object::Project(_) = resource.object {
            projects.insert(
                resource.name.clone(),
                ProjectIndex {
                    name: resource.name.clone(),
                    project: i,
                    ..ProjectIndex::default()
                },
            );
        }
        if let Object::ClusterPromotionTask(_) = resource.object {
            cluster_tasks.insert(resource.name.clone(), i);
        }
    }
    for (i, resource) in set.resources.iter().enumerate() {
        let Some(project) = resource
            .namespace
            .as_deref()
            .and_then(|ns| projects.get_mut(ns))
        else {
            continue;
        };
        let name = resource.name.clone();
        match &resource.object {
            Object::ProjectConfig(_) if name == project.name => project.project_config = Some(i),
            Object::Warehouse(_) => {
                project.warehouses.insert(name, i);
            }
            Object::Stage(_) => {
                project.stages.insert(name, i);
            }
            Object::PromotionTask(_) => {
                project.tasks.insert(name, i);
            }
            _ => {}
        }
    }
    for project in projects.values_mut() {
        let from_config = project
            .project_config
            .and_then(|i| match &set.resources[i].object {
                Object::ProjectConfig(config) => Some(&config.spec.promotion_policies),
                _ => None,
            })
            .filter(|policies| !policies.is_empty());
        let legacy = match &set.resources[project.project].object {
            Object::Project(p) => p.spec.as_ref().map(|spec| &spec.promotion_policies),
            _ => None,
        };
        project.policies = from_config.or(legacy).cloned().unwrap_or_default();
        let (credentials, problems) =
            gantry_steps::resources::credentials(set, Some(&project.name));
        project.credentials = Arc::new(credentials);
        project.credential_problems = problems.iter().map(ToString::to_string).collect();
    }
    (projects, cluster_tasks)
}

impl Config {
    /// The resource at `index` of [`Config::set`].
    pub fn resource(&self, index: usize) -> &Resource {
        &self.set.resources[index]
    }

    /// A Project's index.
    pub fn project(&self, name: &str) -> Option<&ProjectIndex> {
        self.projects.get(name)
    }

    /// A Warehouse.
    pub fn warehouse(&self, project: &str, name: &str) -> Option<&Warehouse> {
        let index = *self.project(project)?.warehouses.get(name)?;
        match &self.resource(index).object {
            Object::Warehouse(warehouse) => Some(warehouse),
            _ => None,
        }
    }

    /// A Project's Warehouses, by name.
    pub fn warehouses<'a>(
        &'a self,
        project: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Warehouse)> + 'a {
        self.project(project)
            .into_iter()
            .flat_map(|p| p.warehouses.iter())
            .filter_map(|(name, i)| match &self.resource(*i).object {
                Object::Warehouse(warehouse) => Some((name.as_str(), warehouse)),
                _ => None,
            })
    }

    /// A Stage.
    pub fn stage(&self, project: &str, name: &str) -> Option<&Stage> {
        let index = *self.project(project)?.stages.get(name)?;
        match &self.resource(index).object {
            Object::Stage(stage) => Some(stage),
            _ => None,
        }
    }

    /// A Project's Stages, by name.
    pub fn stages<'a>(
        &'a self,
        project: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Stage)> + 'a {
        self.project(project)
            .into_iter()
            .flat_map(|p| p.stages.iter())
            .filter_map(|(name, i)| match &self.resource(*i).object {
                Object::Stage(stage) => Some((name.as_str(), stage)),
                _ => None,
            })
    }

    /// A Project's promotion policies (empty for an unknown Project).
    pub fn policies(&self, project: &str) -> &[PromotionPolicy] {
        self.project(project).map_or(&[], |p| p.policies.as_slice())
    }

    /// A PromotionTask of a Project.
    pub fn promotion_task(&self, project: &str, name: &str) -> Option<&PromotionTaskSpec> {
        let index = *self.project(project)?.tasks.get(name)?;
        match &self.resource(index).object {
            Object::PromotionTask(task) => Some(&task.spec),
            _ => None,
        }
    }

    /// A ClusterPromotionTask.
    pub fn cluster_promotion_task(&self, name: &str) -> Option<&PromotionTaskSpec> {
        let index = *self.cluster_tasks.get(name)?;
        match &self.resource(index).object {
            Object::ClusterPromotionTask(task) => Some(&task.spec),
            _ => None,
        }
    }

    /// Whether the files under the directory differ from the ones this config was loaded from.
    #[cfg(test)]
    pub(crate) fn changed_on_disk(&self) -> bool {
        Fingerprint::of(&self.dir) != self.fingerprint
    }
}

/// Path, size and modification time of every file under a directory that the loader reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

impl Fingerprint {
    pub(crate) fn of(dir: &Path) -> Self {
        let mut entries = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(path) = stack.pop() {
            let Ok(read) = fs_err::read_dir(&path) else {
                continue;
            };
            for entry in read.flatten() {
                let path = entry.path();
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if hidden {
                    continue;
                }
                let Ok(meta) = entry.metadata() else {
                    continue;
                };
                if meta.is_dir() {
                    stack.push(path);
                } else if matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                ) {
                    entries.push((path, meta.len(), meta.modified().ok()));
                }
            }
        }
        entries.sort();
        Self(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINE: &str = "\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  promotionPolicies:
    - stage: dev
      autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: app
  namespace: shop
spec:
  subscriptions:
    - git:
        repoURL: https://example.invalid/app.git
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: dev
  namespace: shop
spec:
  requestedFreight:
    - origin:
        kind: Warehouse
        name: app
      sources:
        direct: true
";

    #[test]
    fn a_valid_directory_is_indexed_by_project_with_legacy_policies() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("pipeline.yaml"), PIPELINE).unwrap();
        let config = load(dir.path(), 1).unwrap();
        let project = config.project("shop").unwrap();
        assert_eq!(project.warehouses.keys().collect::<Vec<_>>(), ["app"]);
        assert_eq!(project.stages.keys().collect::<Vec<_>>(), ["dev"]);
        assert_eq!(project.policies.len(), 1);
        assert!(config.stage("shop", "dev").is_some());
        assert!(config.warehouse("shop", "app").is_some());
        assert!(config.stage("shop", "prod").is_none());
        assert!(!config.changed_on_disk());
    }

    #[test]
    fn an_invalid_directory_reports_its_errors_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let broken = PIPELINE.replace("name: app\n      sources", "name: nope\n      sources");
        fs_err::write(dir.path().join("pipeline.yaml"), broken).unwrap();
        let error = load(dir.path(), 1).unwrap_err();
        let lines = error.lines();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("pipeline.yaml:") && l.contains("error[G0201]")),
            "{lines:?}"
        );
    }

    #[test]
    fn the_fingerprint_sees_edits_and_new_files_but_not_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("a.yaml"), "a: 1\n").unwrap();
        let before = Fingerprint::of(dir.path());
        fs_err::write(dir.path().join(".hidden.yaml"), "x").unwrap();
        fs_err::write(dir.path().join("notes.txt"), "x").unwrap();
        assert_eq!(Fingerprint::of(dir.path()), before);
        fs_err::write(dir.path().join("a.yaml"), "a: 22\n").unwrap();
        assert_ne!(Fingerprint::of(dir.path()), before);
    }
}
