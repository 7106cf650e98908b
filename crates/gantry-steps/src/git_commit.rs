//! `git-commit`: commits every change in a checkout. Nothing to commit is not an error: no
//! commit is made and `commit` is the existing `HEAD`.

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::git_clone::{AuthorConfig, configured_author, open_worktree, to_step_error};
use crate::registry::{Step, StepContext, output};

/// The `git-commit` step.
pub struct GitCommit;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    path: String,
    message: String,
    #[serde(default)]
    author: Option<AuthorConfig>,
}

impl Step for GitCommit {
    fn kind(&self) -> &'static str {
        "git-commit"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        if config.message.trim().is_empty() {
            return Err(StepError::failed("invalid config: message is empty"));
        }
        let worktree = open_worktree(context, &config.path)?;
        let author = config
            .author
            .and_then(|a| {
                Some(gantry_git::Author::new(
                    a.name?,
                    a.email.unwrap_or_default(),
                ))
            })
            .or_else(|| configured_author(&worktree));
        let outcome = worktree
            .commit(&config.message, author.as_ref())
            .map_err(|e| to_step_error(&e))?;
        Ok(StepResult::succeeded(output([(
            "commit",
            outcome.commit.into(),
        )])))
    }
}
