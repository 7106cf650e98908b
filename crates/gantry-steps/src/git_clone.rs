//! `git-clone`: checks out a repository into the work dir, one worktree per `checkout[]` entry,
//! from a cached bare mirror (fetched, never cloned again). Without `sparse`, the checkout is
//! lazy: only top-level files, and later steps bring in the directories they touch.
//!
//! Output: `commits{<as or path>: HEAD}`.

use std::collections::BTreeSet;

use gantry_core::credentials::{CredentialStore, CredentialType};
use gantry_engine::{StepError, StepResult};
use gantry_git::{Checkout, Credentials, MirrorOptions, Sparse, Target};
use serde::Deserialize;

use crate::materialize::LAZY_MARKER;
use crate::registry::{Step, StepContext, output};

/// The `git-clone` step.
pub struct GitClone;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    #[serde(rename = "repoURL")]
    repo_url: String,
    checkout: Vec<CheckoutConfig>,
    #[serde(default)]
    author: Option<AuthorConfig>,
    #[serde(default)]
    blobless: bool,
    #[serde(default)]
    recurse_submodules: bool,
    #[serde(default)]
    #[serde(rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckoutConfig {
    path: String,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    create: bool,
    #[serde(default)]
    sparse: Option<Vec<String>>,
    #[serde(default, rename = "as")]
    alias: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AuthorConfig {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) signing_key: Option<String>,
}

/// File in a worktree's git dir holding the author `git-clone` configured (name, then email).
pub(crate) const AUTHOR_FILE: &str = "gantry-author";
/// File in a worktree's git dir holding credentials that came inside the repository URL
/// (mode 0600, removed with the worktree), so a resumed promotion can still push.
pub(crate) const URL_CREDENTIALS_FILE: &str = "gantry-url-credentials";

/// The credentials for a repository: a `cred-type: git` Secret, else userinfo in the URL.
pub(crate) fn credentials_for(context: &StepContext<'_>, url: &str) -> Option<Credentials> {
    let (_, from_url) = gantry_git::split_credentials(url);
    secret_credentials(&context.services.credentials, url).or(from_url)
}

/// The credentials of the `cred-type: git` Secret matching `url`, as the git adapter takes
/// them (what every git operation of a Project tries first).
pub fn secret_credentials(store: &CredentialStore, url: &str) -> Option<Credentials> {
    store
        .lookup(CredentialType::Git, url)
        .map(|c| Credentials::new(c.username.clone(), c.password.expose().to_owned()))
}

/// A git failure as a step error: transient ones are retried.
pub(crate) fn to_step_error(error: &gantry_git::GitError) -> StepError {
    if error.is_transient() {
        StepError::retryable(error.to_string())
    } else {
        StepError::failed(error.to_string())
    }
}

impl Step for GitClone {
    fn kind(&self) -> &'static str {
        "git-clone"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        if config.recurse_submodules {
            return Err(StepError::failed("recurseSubmodules is not supported yet"));
        }
        let _ = config.insecure_skip_tls_verify;
        if config
            .author
            .as_ref()
            .is_some_and(|a| a.signing_key.is_some())
        {
            return Err(StepError::failed(
                "author.signingKey (commit signing) is not supported yet",
            ));
        }
        let mut names = BTreeSet::new();
        for checkout in &config.checkout {
            let name = checkout
                .alias
                .clone()
                .unwrap_or_else(|| checkout.path.clone());
            if !names.insert(name.clone()) {
                return Err(StepError::failed(format!(
                    "checkout name {name:?} is used more than once"
                )));
            }
            let refs = [&checkout.branch, &checkout.commit, &checkout.tag];
            if refs.iter().filter(|r| r.is_some()).count() > 1 {
                return Err(StepError::failed(format!(
                    "checkout {name:?}: set at most one of branch, commit and tag"
                )));
            }
        }
        let credentials = credentials_for(context, &config.repo_url);
        let git = &context.services.git;
        let mirror = git
            .mirror_with(
                &config.repo_url,
                credentials.as_ref(),
                MirrorOptions {
                    blobless: config.blobless,
                    // A fetch the server started ahead, when the Warehouse was told of a new
                    // artifact, is as good as one started now (see `GitOptions::fetch_reuse`).
                    reuse_recent_fetch: true,
                },
            )
            .map_err(|e| to_step_error(&e))?;
        let mut commits = serde_json::Map::new();
        for checkout in &config.checkout {
            let path = context.checkout_path(&checkout.path)?;
            if path.exists() {
                // A restarted promotion: start this checkout afresh.
                match gantry_git::Worktree::open(git, &path) {
                    Ok(worktree) => worktree.remove().map_err(|e| to_step_error(&e))?,
                    Err(_) => fs_err::remove_dir_all(&path)
                        .map_err(|e| StepError::failed(e.to_string()))?,
                }
            }
            let target = match (&checkout.branch, &checkout.commit, &checkout.tag) {
                (Some(branch), _, _) => Target::Branch(branch.clone()),
                (_, Some(commit), _) => Target::Commit(commit.clone()),
                (_, _, Some(tag)) => Target::Tag(tag.clone()),
                _ => Target::DefaultBranch,
            };
            let lazy = checkout.sparse.is_none();
            let sparse = match &checkout.sparse {
                Some(dirs) => Sparse::Dirs(dirs.clone()),
                None => Sparse::Lazy,
            };
            let worktree = mirror
                .worktree(
                    &path,
                    &Checkout::new(target)
                        .with_create(checkout.create)
                        .with_sparse(sparse),
                    credentials.as_ref(),
                )
                .map_err(|e| to_step_error(&e))?;
            let git_dir = worktree.git_dir().to_path_buf();
            if lazy {
                fs_err::write(git_dir.join(LAZY_MARKER), b"")
                    .map_err(|e| StepError::failed(e.to_string()))?;
            }
            if let Some(author) = &config.author {
                let text = format!(
                    "{}\n{}\n",
                    author.name.as_deref().unwrap_or_default(),
                    author.email.as_deref().unwrap_or_default()
                );
                fs_err::write(git_dir.join(AUTHOR_FILE), text)
                    .map_err(|e| StepError::failed(e.to_string()))?;
            }
            if let (None, Some(creds)) = (
                context
                    .services
                    .credentials
                    .lookup(CredentialType::Git, &config.repo_url),
                gantry_git::split_credentials(&config.repo_url).1,
            ) {
                save_url_credentials(&git_dir, &creds)?;
            }
            let head = worktree.head().map_err(|e| to_step_error(&e))?;
            commits.insert(
                checkout
                    .alias
                    .clone()
                    .unwrap_or_else(|| checkout.path.clone()),
                head.into(),
            );
        }
        Ok(StepResult::succeeded(output([("commits", commits.into())])))
    }
}

fn save_url_credentials(
    git_dir: &std::path::Path,
    credentials: &Credentials,
) -> Result<(), StepError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(git_dir.join(URL_CREDENTIALS_FILE))
        .map_err(|e| {
            StepError::failed(format!("failed to keep the repository credentials: {e}"))
        })?;
    let text = format!(
        "{}\n{}\n",
        credentials.username,
        credentials.password.expose()
    );
    file.write_all(text.as_bytes())
        .map_err(|e| StepError::failed(format!("failed to keep the repository credentials: {e}")))
}

/// Opens the worktree at a config path, with the credentials it was cloned with.
pub(crate) fn open_worktree(
    context: &StepContext<'_>,
    relative: &str,
) -> Result<gantry_git::Worktree, StepError> {
    let path = context.checkout_path(relative)?;
    let mut worktree = gantry_git::Worktree::open(&context.services.git, &path).map_err(|e| {
        StepError::failed(format!(
            "{relative} is not a git checkout made by git-clone: {e}"
        ))
    })?;
    let credentials = secret_credentials(&context.services.credentials, worktree.url())
        .or_else(|| url_credentials(&worktree));
    worktree.set_credentials(credentials);
    Ok(worktree)
}

/// The credentials that were in the `repoURL` a worktree was cloned from, if any.
pub(crate) fn url_credentials(worktree: &gantry_git::Worktree) -> Option<Credentials> {
    let text = fs_err::read_to_string(worktree.git_dir().join(URL_CREDENTIALS_FILE)).ok()?;
    let mut lines = text.lines();
    Some(Credentials::new(
        lines.next()?.to_owned(),
        lines.next().unwrap_or_default().to_owned(),
    ))
}

/// The author `git-clone` configured for a worktree.
pub(crate) fn configured_author(worktree: &gantry_git::Worktree) -> Option<gantry_git::Author> {
    let text = fs_err::read_to_string(worktree.git_dir().join(AUTHOR_FILE)).ok()?;
    let mut lines = text.lines();
    let name = lines.next().filter(|n| !n.is_empty())?;
    let email = lines.next().unwrap_or_default();
    Some(gantry_git::Author::new(name, email))
}
