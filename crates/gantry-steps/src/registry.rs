//! The catalogue of built-in steps and what they get from the engine.
//!
//! ```text
//!  gantry-engine Orchestrator ──StepRunner::run──► Registry ──► schema check ──► Step::run
//!                                                     │                            │
//!                                                     └── Services (git, work dir, ┘
//!                                                         credentials, metadata, http)
//! ```
//!
//! Every step is one file in this crate with the same shape: a config struct (serde), a
//! `struct XStep;` implementing [`Step`], and its tests. [`Registry::builtin`] lists them all.
//! Config is checked against the step's JSON Schema (from `gantry-core`) before it is parsed; an
//! invalid config is a terminal failure naming the field.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gantry_core::credentials::CredentialStore;
use gantry_engine::{StepError, StepInfo, StepRequest, StepResult, StepRunner, StepStatus};
use serde::de::DeserializeOwned;

use crate::workdir::WorkDir;

/// One built-in step.
pub trait Step: Send + Sync {
    /// The `uses:` name.
    fn kind(&self) -> &'static str;
    /// Defaults the orchestrator applies.
    fn info(&self) -> StepInfo {
        StepInfo::default()
    }
    /// Runs the step with a schema-checked config.
    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError>;
}

/// A Stage or Freight metadata update requested by `set-metadata`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetadataUpdate {
    /// `Stage` or `Freight`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Keys to set.
    pub values: serde_json::Map<String, serde_json::Value>,
}

/// Where `set-metadata` writes. The server applies updates to its store; the CLI records them.
pub trait MetadataSink: Send + Sync {
    /// Applies one update.
    fn apply(&self, update: &MetadataUpdate) -> Result<(), String>;
}

/// Records updates in memory.
#[derive(Debug, Default)]
pub struct RecordedMetadata(pub Mutex<Vec<MetadataUpdate>>);

impl MetadataSink for RecordedMetadata {
    fn apply(&self, update: &MetadataUpdate) -> Result<(), String> {
        self.0
            .lock()
            .map_err(|_| "metadata store poisoned".to_owned())?
            .push(update.clone());
        Ok(())
    }
}

/// What steps may use: handed in by whoever runs the Promotion.
pub struct Services {
    /// The git adapter (cached mirrors).
    pub git: Arc<gantry_git::Git>,
    /// Credential Secrets.
    pub credentials: Arc<CredentialStore>,
    /// The Promotion's work dir.
    pub work_dir: WorkDir,
    /// Where `set-metadata` writes.
    pub metadata: Arc<dyn MetadataSink>,
    /// Run everything but `git-push` (which reports the diff it would push instead).
    pub dry_run: bool,
    /// Step kinds or aliases to mark `Skipped` without running them (local runs).
    pub skip: Vec<String>,
}

impl Services {
    /// The git checkouts in the work dir (made by `git-clone`), found without a git process
    /// once the steps opened them.
    pub fn checkouts(&self) -> Vec<gantry_git::Worktree> {
        let mut found = Vec::new();
        let mut stack = vec![self.work_dir.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            if dir.join(".git").is_file() {
                found.extend(gantry_git::Worktree::open(&self.git, &dir).ok());
                continue;
            }
            if let Ok(entries) = fs_err::read_dir(&dir) {
                for entry in entries.flatten() {
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(entry.path());
                    }
                }
            }
        }
        found
    }

    /// The repositories of [`Services::checkouts`]: each URL (without userinfo) with the
    /// credentials its `repoURL` carried, if it carried any (a credential Secret, looked up by
    /// URL, wins over them).
    pub fn checkout_remotes(&self) -> Vec<(String, Option<gantry_git::Credentials>)> {
        let mut remotes: Vec<_> = self
            .checkouts()
            .iter()
            .map(|worktree| {
                (
                    worktree.url().to_owned(),
                    crate::git_clone::url_credentials(worktree),
                )
            })
            .collect();
        remotes.sort_by(|a, b| a.0.cmp(&b.0));
        remotes.dedup_by(|a, b| a.0 == b.0);
        remotes
    }

    /// Removes the work dir at the end of a promotion: every git checkout in it is unregistered
    /// from its mirror first. Errors are returned but leave nothing inconsistent (a stale
    /// worktree registration is pruned by the next checkout of that mirror).
    pub fn cleanup(&self) -> Result<(), String> {
        for worktree in self.checkouts() {
            worktree.remove().map_err(|e| e.to_string())?;
        }
        self.work_dir.remove().map_err(|e| e.to_string())
    }
}

/// What one step run sees.
pub struct StepContext<'a> {
    /// The request from the orchestrator.
    pub request: &'a StepRequest<'a>,
    /// The capabilities.
    pub services: &'a Services,
}

impl StepContext<'_> {
    /// Parses the (schema-checked) config into the step's config type.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, StepError> {
        let value = match &self.request.config {
            serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
            other => other.clone(),
        };
        serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            StepError::failed(if path == "." {
                format!("invalid config: {inner}")
            } else {
                format!("invalid config: config.{path}: {inner}")
            })
        })
    }

    /// A path from the config that the step reads, confined to the work dir and checked out
    /// if it lies in a lazy git checkout.
    pub fn path(&self, relative: &str) -> Result<PathBuf, StepError> {
        let path = self
            .services
            .work_dir
            .resolve(relative)
            .map_err(|e| StepError::failed(e.to_string()))?;
        crate::materialize::ensure(&self.services.git, self.services.work_dir.path(), &path)?;
        Ok(path)
    }

    /// A path from the config that the step writes: confined to the work dir, outside `.git`,
    /// and checked out first if it lies in a lazy git checkout.
    pub fn write_path(&self, relative: &str) -> Result<PathBuf, StepError> {
        let path = self.checkout_path(relative)?;
        crate::materialize::ensure(&self.services.git, self.services.work_dir.path(), &path)?;
        Ok(path)
    }

    /// A path naming a git checkout itself (git steps): confined, never materialised.
    pub fn checkout_path(&self, relative: &str) -> Result<PathBuf, StepError> {
        self.services
            .work_dir
            .resolve_for_write(relative)
            .map_err(|e| StepError::failed(e.to_string()))
    }
}

/// The built-in steps plus the services they share.
pub struct Registry {
    steps: BTreeMap<&'static str, Box<dyn Step>>,
    services: Services,
}

impl Registry {
    /// Every built-in step.
    pub fn builtin(services: Services) -> Self {
        let steps: Vec<Box<dyn Step>> = vec![
            Box::new(crate::argocd_update::ArgocdUpdate),
            Box::new(crate::compose_output::ComposeOutput),
            Box::new(crate::copy::Copy),
            Box::new(crate::delete::Delete),
            Box::new(crate::fail::Fail),
            Box::new(crate::file_write::FileWrite),
            Box::new(crate::git_clear::GitClear),
            Box::new(crate::git_clone::GitClone),
            Box::new(crate::git_commit::GitCommit),
            Box::new(crate::git_push::GitPush),
            Box::new(crate::git_tag::GitTag),
            Box::new(crate::http::Http),
            Box::new(crate::json_parse::JsonParse),
            Box::new(crate::json_update::JsonUpdate),
            Box::new(crate::kustomize_set_image::KustomizeSetImage),
            Box::new(crate::set_metadata::SetMetadata),
            Box::new(crate::toml_parse::TomlParse),
            Box::new(crate::toml_update::TomlUpdate),
            Box::new(crate::yaml_merge::YamlMerge),
            Box::new(crate::yaml_parse::YamlParse),
            Box::new(crate::yaml_update::YamlUpdate),
        ];
        Self {
            steps: steps.into_iter().map(|step| (step.kind(), step)).collect(),
            services,
        }
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.steps.keys().copied()
    }

    /// The shared services.
    pub fn services(&self) -> &Services {
        &self.services
    }
}

impl StepRunner for Registry {
    fn info(&self, kind: &str) -> Option<StepInfo> {
        self.steps.get(kind).map(|step| step.info())
    }

    fn run(&self, request: &StepRequest<'_>) -> Result<StepResult, StepError> {
        let step = self.steps.get(request.kind).ok_or_else(|| {
            StepError::terminal(format!("step kind {:?} is not registered", request.kind))
        })?;
        if self
            .services
            .skip
            .iter()
            .any(|s| s == request.kind || s == request.alias)
        {
            return Ok(StepResult {
                status: StepStatus::Skipped,
                message: Some("skipped on request (--skip)".to_owned()),
                ..StepResult::succeeded(serde_json::Map::new())
            });
        }
        if let Some(schema) = gantry_core::step_schemas::step_schema(request.kind) {
            let config = match &request.config {
                serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
                other => other.clone(),
            };
            let violations = schema.validate(&config);
            if !violations.is_empty() {
                let list: Vec<String> = violations
                    .iter()
                    .map(|v| {
                        if v.instance_path.is_empty() {
                            format!("config: {}", v.message)
                        } else {
                            format!("config.{}: {}", v.instance_path, v.message)
                        }
                    })
                    .collect();
                return Err(StepError::failed(format!(
                    "invalid {} config: {}",
                    request.kind,
                    list.join("; ")
                )));
            }
        }
        step.run(&StepContext {
            request,
            services: &self.services,
        })
    }
}

/// Builds an output map from pairs.
pub fn output<const N: usize>(
    pairs: [(&str, serde_json::Value); N],
) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}
