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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use crate::testing::Harness;

    /// A bare "remote" with `develop/app/values.yaml`, `production/app/values.yaml` and a README.
    fn remote(dir: &Path) -> String {
        let work = dir.join("seed");
        gantry_test::fixture_repo(
            &work,
            &[
                ("README.md", "# demo\n"),
                ("develop/app/values.yaml", "image:\n  tag: v1 # pinned\n"),
                ("production/app/values.yaml", "image:\n  tag: v1\n"),
            ],
        )
        .unwrap();
        let bare = dir.join("remote.git");
        gantry_test::git(
            dir,
            &[
                "clone",
                "--quiet",
                "--bare",
                work.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        )
        .unwrap();
        format!("file://{}", bare.display())
    }

    fn remote_log(url: &str, reference: &str) -> String {
        let path = url.trim_start_matches("file://");
        gantry_test::git(Path::new(path), &["log", "--format=%s", reference]).unwrap()
    }

    fn remote_file(url: &str, reference: &str, file: &str) -> String {
        let path = url.trim_start_matches("file://");
        gantry_test::git(Path::new(path), &["show", &format!("{reference}:{file}")]).unwrap()
    }

    #[test]
    fn clone_update_commit_push_touches_only_what_the_steps_need() {
        let temp = tempfile::tempdir().unwrap();
        let url = remote(temp.path());
        let harness = Harness::new();
        let cloned = harness
            .run(
                "git-clone",
                json!({"repoURL": url, "checkout": [{"branch": "main", "path": "./repo"}]}),
            )
            .unwrap();
        assert_eq!(
            cloned.output["commits"]["./repo"].as_str().unwrap().len(),
            40
        );
        assert!(harness.dir().join("repo/README.md").exists());
        assert!(
            !harness.dir().join("repo/develop").exists(),
            "lazy checkout starts with top-level files"
        );
        harness
            .run("yaml-update", json!({"path": "repo/develop/app/values.yaml", "updates": [{"key": "image.tag", "value": "v2"}]}))
            .unwrap();
        assert!(
            !harness.dir().join("repo/production").exists(),
            "untouched folders stay out"
        );
        let committed = harness
            .run(
                "git-commit",
                json!({"path": "./repo", "message": "promote v2"}),
            )
            .unwrap();
        let again = harness
            .run(
                "git-commit",
                json!({"path": "./repo", "message": "nothing"}),
            )
            .unwrap();
        assert_eq!(
            committed.output["commit"], again.output["commit"],
            "no changes, no commit"
        );
        let pushed = harness.run("git-push", json!({"path": "./repo"})).unwrap();
        assert_eq!(pushed.output["branch"], json!("main"));
        assert_eq!(pushed.output["commit"], committed.output["commit"]);
        assert_eq!(remote_log(&url, "main"), "promote v2\nInitial files");
        assert_eq!(
            remote_file(&url, "main", "develop/app/values.yaml"),
            "image:\n  tag: v2 # pinned"
        );
        assert_eq!(
            remote_file(&url, "main", "production/app/values.yaml"),
            "image:\n  tag: v1"
        );
    }

    #[test]
    fn generated_branches_tags_and_clear() {
        let temp = tempfile::tempdir().unwrap();
        let url = remote(temp.path());
        let harness = Harness::new();
        harness
            .run("git-clone", json!({"repoURL": url, "checkout": [{"branch": "main", "path": "out"}], "author": {"name": "Robot", "email": "robot@example.invalid"}}))
            .unwrap();
        harness.run("git-clear", json!({"path": "out"})).unwrap();
        assert!(!harness.dir().join("out/README.md").exists());
        harness
            .run(
                "file-write",
                json!({"path": "out/rendered.yaml", "contents": "kind: List\n"}),
            )
            .unwrap();
        harness
            .run("git-commit", json!({"path": "out", "message": "render"}))
            .unwrap();
        harness
            .run(
                "git-tag",
                json!({"path": "out", "tag": "v1.0.0", "message": "release"}),
            )
            .unwrap();
        let pushed = harness
            .run(
                "git-push",
                json!({"path": "out", "generateTargetBranch": true}),
            )
            .unwrap();
        let branch = "kargo/promotion/dev.01abc.1234567";
        assert_eq!(pushed.output["branch"], json!(branch));
        assert_eq!(remote_log(&url, branch), "render\nInitial files");
        assert_eq!(remote_file(&url, branch, "rendered.yaml"), "kind: List");
        let path = url.trim_start_matches("file://");
        let author = gantry_test::git(
            Path::new(path),
            &["log", "-1", "--format=%an <%ae>", branch],
        )
        .unwrap();
        assert_eq!(author, "Robot <robot@example.invalid>");
        let files =
            gantry_test::git(Path::new(path), &["ls-tree", "-r", "--name-only", branch]).unwrap();
        assert_eq!(files, "rendered.yaml", "git-clear removed every other file");
        harness
            .run("git-push", json!({"path": "out", "tag": "v1.0.0"}))
            .unwrap();
        assert_eq!(remote_log(&url, "v1.0.0"), "render\nInitial files");
        assert_eq!(remote_log(&url, "main"), "Initial files", "main untouched");
    }

    #[test]
    fn a_dry_run_reports_the_diff_and_pushes_nothing() {
        let temp = tempfile::tempdir().unwrap();
        let url = remote(temp.path());
        let harness = Harness::with(gantry_core::credentials::CredentialStore::default(), true);
        harness
            .run(
                "git-clone",
                json!({"repoURL": url, "checkout": [{"branch": "main", "path": "repo"}]}),
            )
            .unwrap();
        harness
            .run("yaml-update", json!({"path": "repo/develop/app/values.yaml", "updates": [{"key": "image.tag", "value": "v3"}]}))
            .unwrap();
        harness
            .run("git-commit", json!({"path": "repo", "message": "v3"}))
            .unwrap();
        let result = harness.run("git-push", json!({"path": "repo"})).unwrap();
        let diff = result.output["diff"].as_str().unwrap();
        assert!(
            diff.contains("-  tag: v1 # pinned\n+  tag: v3 # pinned"),
            "{diff}"
        );
        assert_eq!(remote_log(&url, "main"), "Initial files");
    }

    #[test]
    fn pushing_a_checkout_of_a_missing_branch_fails_clearly() {
        let temp = tempfile::tempdir().unwrap();
        let url = remote(temp.path());
        let harness = Harness::new();
        let error = harness
            .run(
                "git-clone",
                json!({"repoURL": url, "checkout": [{"branch": "nope", "path": "repo"}]}),
            )
            .unwrap_err();
        assert!(error.message.contains("nope"), "{}", error.message);
        assert!(
            !harness.dir().join("repo").exists(),
            "nothing half-made is left"
        );
        harness
            .run("git-clone", json!({"repoURL": url, "checkout": [{"branch": "fresh", "create": true, "path": "repo"}]}))
            .unwrap();
        assert_eq!(remote_log(&url, "fresh"), "Initial commit");
    }
}
