//! `git-tag`: tags `HEAD` of a checkout with an annotated tag.

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::git_clone::{open_worktree, to_step_error};
use crate::registry::{Step, StepContext, output};

/// The `git-tag` step.
pub struct GitTag;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    path: String,
    tag: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    force: bool,
}

impl Step for GitTag {
    fn kind(&self) -> &'static str {
        "git-tag"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        let worktree = open_worktree(context, &config.path)?;
        let message = config.message.unwrap_or_else(|| config.tag.clone());
        let commit = worktree
            .tag(&config.tag, &message, config.force)
            .map_err(|e| to_step_error(&e))?;
        Ok(StepResult::succeeded(output([("commit", commit.into())])))
    }
}
