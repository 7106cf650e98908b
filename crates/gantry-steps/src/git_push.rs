//! `git-push`: pushes a checkout's `HEAD` to its branch, `targetBranch`, a generated branch
//! (`kargo/promotion/<promotion>`, implies force) or a tag. A non-fast-forward rejection is
//! retried up to `maxAttempts` (default 10) after rebasing on the remote branch; pushes to one
//! repository branch are serialised. In a dry run nothing is pushed: the output carries the
//! diff the push would send.
//!
//! Output: `branch`, `commit` (and `commitURL` when `provider` is known).

use gantry_engine::{StepError, StepResult};
use gantry_git::PushOptions;
use serde::Deserialize;

use crate::git_clone::{open_worktree, to_step_error};
use crate::registry::{Step, StepContext};

/// The `git-push` step.
pub struct GitPush;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    path: String,
    #[serde(default)]
    target_branch: Option<String>,
    #[serde(default)]
    generate_target_branch: bool,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    max_attempts: Option<u32>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    #[serde(rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
}

fn commit_url(provider: &str, repo_url: &str, commit: &str) -> Option<String> {
    let base = gantry_api::url::normalize_git(repo_url);
    let base = base.strip_prefix("ssh://").map_or(base.clone(), |rest| {
        let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
        format!("https://{rest}")
    });
    Some(match provider {
        "github" | "gitea" | "azure" => format!("{base}/commit/{commit}"),
        "gitlab" => format!("{base}/-/commit/{commit}"),
        "bitbucket" => format!("{base}/commits/{commit}"),
        _ => return None,
    })
}

impl Step for GitPush {
    fn kind(&self) -> &'static str {
        "git-push"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        let _ = config.insecure_skip_tls_verify;
        let chosen = [
            config.target_branch.is_some(),
            config.generate_target_branch,
            config.tag.is_some(),
        ];
        if chosen.iter().filter(|c| **c).count() > 1 {
            return Err(StepError::failed(
                "invalid config: set at most one of targetBranch, generateTargetBranch and tag",
            ));
        }
        let worktree = open_worktree(context, &config.path)?;
        let target_branch = if config.generate_target_branch {
            Some(format!(
                "kargo/promotion/{}",
                context.request.context.promotion
            ))
        } else {
            config.target_branch.clone()
        };
        let branch = target_branch
            .clone()
            .or_else(|| worktree.branch().map(ToOwned::to_owned));
        if context.services.dry_run {
            let head = worktree.head().map_err(|e| to_step_error(&e))?;
            let mut out = serde_json::Map::new();
            out.insert("commit".into(), head.clone().into());
            if let Some(branch) = &branch {
                out.insert("branch".into(), branch.clone().into());
                let diff = worktree
                    .diff_against(&format!("refs/heads/{branch}"))
                    .or_else(|_| worktree.diff_against(&format!("{head}^")))
                    .unwrap_or_default();
                out.insert("diff".into(), diff.into());
            }
            out.insert("dryRun".into(), true.into());
            return Ok(StepResult::succeeded(out));
        }
        if config.tag.is_none() && branch.is_none() {
            return Err(StepError::failed(
                "nothing to push to: the checkout tracks no branch (it was made from a commit or tag); set targetBranch",
            ));
        }
        let options = PushOptions {
            target_branch,
            tag: config.tag.clone(),
            force: config.force || config.generate_target_branch,
            max_attempts: config.max_attempts.unwrap_or(10).max(1),
            ..PushOptions::default()
        };
        let pushed = worktree.push(&options).map_err(|e| to_step_error(&e))?;
        let mut out = serde_json::Map::new();
        if let Some(branch) = pushed.branch.or(branch) {
            out.insert("branch".into(), branch.into());
        }
        if let Some(tag) = pushed.tag {
            out.insert("tag".into(), tag.into());
        }
        if let Some(url) = config
            .provider
            .as_deref()
            .and_then(|p| commit_url(p, worktree.url(), &pushed.commit))
        {
            out.insert("commitURL".into(), url.into());
        }
        out.insert("commit".into(), pushed.commit.into());
        Ok(StepResult::succeeded(out))
    }
}
