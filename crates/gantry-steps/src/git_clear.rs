//! `git-clear`: removes every file of a checkout except `.git` (to regenerate it wholesale).
//! A lazy checkout is fully materialised first, so the removal is recorded for every file.

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::git_clone::{open_worktree, to_step_error};
use crate::registry::{Step, StepContext};

/// The `git-clear` step.
pub struct GitClear;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    path: String,
}

impl Step for GitClear {
    fn kind(&self) -> &'static str {
        "git-clear"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        let worktree = open_worktree(context, &config.path)?;
        if worktree.is_sparse().map_err(|e| to_step_error(&e))? {
            worktree.disable_sparse().map_err(|e| to_step_error(&e))?;
        }
        worktree.clear().map_err(|e| to_step_error(&e))?;
        Ok(StepResult::succeeded(serde_json::Map::new()))
    }
}
