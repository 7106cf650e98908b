//! A bare mirror of one remote, and checking it out into worktrees.
//!
//! [`Mirror::worktree`] is Kargo's `git-clone` checkout without the clone: it resolves the
//! [`Target`] in the mirror, adds a *detached* worktree (`git worktree add --no-checkout
//! --detach`), restricts it to a sparse cone when asked, and only then writes files. Detached
//! worktrees let many promotions work on one branch at once; the branch a worktree tracks is
//! remembered in a `gantry-branch` file inside its git dir, where [`crate::Worktree::branch`]
//! reads it back (also after a restart).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{GitError, Result};
use crate::git::{Git, Remote};
use crate::secret::Credentials;
use crate::worktree::{BRANCH_FILE, Worktree};

/// What to check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The tip of a branch; the worktree tracks it (pushes go there by default).
    Branch(String),
    /// A commit (a full or abbreviated sha, or any revision git resolves); no branch tracked.
    Commit(String),
    /// The commit a tag points at; no branch tracked.
    Tag(String),
    /// The remote's default branch (its `HEAD` when the mirror was cloned); tracked.
    DefaultBranch,
}

/// Which files a worktree materialises.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Sparse {
    /// Every file.
    #[default]
    Full,
    /// Top-level files plus these directories (cone mode; directories, not globs).
    Dirs(Vec<String>),
    /// Top-level files only; add directories later with [`Worktree::sparse_add`].
    Lazy,
}

/// A checkout request: Kargo's `git-clone` `checkout[]` entry, minus the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// What to check out.
    pub target: Target,
    /// For a branch that does not exist on the remote: create it as an orphan with an empty
    /// "Initial commit" and push it at once (as Kargo does). Otherwise the checkout fails.
    pub create: bool,
    /// Which files to materialise.
    pub sparse: Sparse,
}

impl Checkout {
    /// Check out `target`, every file, without creating anything.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            create: false,
            sparse: Sparse::Full,
        }
    }

    /// Check out a branch.
    pub fn branch(name: impl Into<String>) -> Self {
        Self::new(Target::Branch(name.into()))
    }

    /// Check out a commit.
    pub fn commit(sha: impl Into<String>) -> Self {
        Self::new(Target::Commit(sha.into()))
    }

    /// Check out a tag.
    pub fn tag(name: impl Into<String>) -> Self {
        Self::new(Target::Tag(name.into()))
    }

    /// Check out the default branch.
    pub fn default_branch() -> Self {
        Self::new(Target::DefaultBranch)
    }

    /// Sets which files are materialised.
    #[must_use]
    pub fn with_sparse(mut self, sparse: Sparse) -> Self {
        self.sparse = sparse;
        self
    }

    /// Sets whether a missing branch is created.
    #[must_use]
    pub fn with_create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }
}

impl Default for Checkout {
    fn default() -> Self {
        Self::default_branch()
    }
}

/// A bare mirror of one remote repository, up to date as of the [`Git::mirror`] call.
#[derive(Debug, Clone)]
pub struct Mirror {
    git: Git,
    path: PathBuf,
    remote: Remote,
    /// Whether the mirror is a partial clone, once asked (see [`Mirror::is_partial`]).
    partial: OnceLock<bool>,
}

impl Mirror {
    pub(crate) fn new(git: Git, path: PathBuf, remote: Remote) -> Self {
        Self {
            git,
            path,
            remote,
            partial: OnceLock::new(),
        }
    }

    /// The bare repository's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The adapter the mirror belongs to.
    pub(crate) fn git(&self) -> &Git {
        &self.git
    }

    /// Whether the mirror is a partial (blobless) clone; asked once per `Mirror`.
    pub fn is_partial(&self) -> Result<bool> {
        if let Some(partial) = self.partial.get() {
            return Ok(*partial);
        }
        let output = self
            .git
            .runner()
            .git(&self.path, "config")
            .args(["config", "--get", "remote.origin.promisor"])
            .output()?;
        let partial = output.status.success() && output.text() == "true";
        Ok(*self.partial.get_or_init(|| partial))
    }

    /// The remote's URL (or absolute path), without userinfo.
    pub fn url(&self) -> &str {
        &self.remote.url
    }

    /// The normalised URL the mirror is keyed by.
    pub fn key(&self) -> &str {
        &self.remote.key
    }

    /// The commit a revision (`main`, `refs/tags/v1`, a sha) names in the mirror, if any.
    pub fn resolve(&self, revision: &str) -> Result<Option<String>> {
        // A branch names a commit directly: its ref file says which, with no git process.
        if revision.starts_with("refs/heads/")
            && let Some(commit) = read_ref(&self.path, revision)
        {
            return Ok(Some(commit));
        }
        resolve_commit(&self.git, &self.path, revision)
    }

    /// The remote's default branch as recorded in the mirror (`main`), if `HEAD` names one.
    pub fn default_branch(&self) -> Result<Option<String>> {
        if let Ok(head) = fs_err::read_to_string(self.path.join("HEAD"))
            && let Some(branch) = head
                .strip_suffix('\n')
                .and_then(|head| head.strip_prefix("ref: refs/heads/"))
            && is_valid_ref_name(&format!("refs/heads/{branch}"))
        {
            return Ok(Some(branch.to_owned()));
        }
        let output = self
            .git
            .runner()
            .git(&self.path, "symbolic-ref")
            .args(["symbolic-ref", "--quiet", "HEAD"])
            .output()?;
        Ok(output
            .status
            .success()
            .then(|| output.text())
            .and_then(|head| head.strip_prefix("refs/heads/").map(str::to_owned)))
    }

    /// Checks the mirror out at `path` (which must not exist or be empty).
    ///
    /// `credentials` (default: those the mirror was opened with) are kept by the worktree for
    /// lazy blob fetches of blobless mirrors and for pushing.
    ///
    /// Guarantees: the worktree is detached at the resolved commit, tracks the branch for
    /// [`Target::Branch`] and [`Target::DefaultBranch`], and materialises only the files
    /// `checkout.sparse` selects. The mirror lock is held only while the worktree is registered,
    /// not while files are written. On failure the half-made worktree is removed.
    pub fn worktree(
        &self,
        path: impl AsRef<Path>,
        checkout: &Checkout,
        credentials: Option<&Credentials>,
    ) -> Result<Worktree> {
        let path = std::path::absolute(path.as_ref())
            .map_err(|source| GitError::io("resolve the worktree path", source))?;
        let mut remote = self.remote.clone();
        if let Some(credentials) = credentials {
            remote.credentials = Some(credentials.clone());
        }
        let dirs = match &checkout.sparse {
            Sparse::Full => None,
            Sparse::Lazy => Some(Vec::new()),
            Sparse::Dirs(dirs) => cone_dirs(dirs)?,
        };
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)
                .map_err(|source| GitError::io("create the worktree's parent directory", source))?;
        }

        let (commit, branch) = {
            let _lock = self.git.mirror_lock(&self.name())?;
            let (commit, branch) = self.resolve_target(checkout, &remote)?;
            self.git
                .runner()
                .git(&self.path, "worktree add")
                .args(["worktree", "add", "--quiet", "--no-checkout", "--detach"])
                .arg(&path)
                .arg(&commit)
                .run()?;
            (commit, branch)
        };
        crate::worktree::Opened::remember_new(&self.git, &path, &self.path, &self.remote.url);

        let worktree = Worktree::open(&self.git, &path).and_then(|mut worktree| {
            worktree.set_credentials(remote.credentials.clone());
            if let Some(branch) = &branch {
                let file = worktree.git_dir().join(BRANCH_FILE);
                fs_err::write(&file, format!("{branch}\n"))
                    .map_err(|source| GitError::io("record the tracked branch", source))?;
                worktree.set_branch(Some(branch.clone()));
            }
            if let Some(dirs) = &dirs {
                worktree.sparse_set(dirs)?;
            }
            self.git
                .runner()
                .git(&path, "checkout")
                .args(["reset", "--hard", "--quiet", &commit])
                .credentials(remote.credentials.as_ref())
                .url(&remote.url)
                .run()?;
            Ok(worktree)
        });
        match worktree {
            Ok(worktree) => Ok(worktree),
            Err(error) => {
                // Best effort: the error that matters is the checkout's.
                let _ignored = fs_err::remove_dir_all(&path);
                if let Ok(_lock) = self.git.mirror_lock(&self.name()) {
                    let _ignored = self
                        .git
                        .runner()
                        .git(&self.path, "worktree prune")
                        .args(["worktree", "prune"])
                        .run();
                }
                Err(error)
            }
        }
    }

    /// The mirror's directory name (its lock's name).
    pub(crate) fn name(&self) -> String {
        mirror_name(&self.path)
    }

    /// The commit to check out and the branch to track. Called under the mirror lock.
    fn resolve_target(
        &self,
        checkout: &Checkout,
        remote: &Remote,
    ) -> Result<(String, Option<String>)> {
        let branch = match &checkout.target {
            Target::Branch(branch) => branch.clone(),
            Target::DefaultBranch => self.default_branch()?.ok_or_else(|| GitError::Command {
                action: "find the default branch".into(),
                stderr: format!("the mirror of {} has no default branch", remote.url),
            })?,
            Target::Tag(tag) => {
                check_ref_name("refs/tags/", tag)?;
                let commit = self.resolve(&format!("refs/tags/{tag}"))?.ok_or_else(|| {
                    GitError::RefNotFound {
                        url: remote.url.clone(),
                        reference: tag.clone(),
                    }
                })?;
                return Ok((commit, None));
            }
            Target::Commit(revision) => {
                let commit = self
                    .resolve(revision)?
                    .ok_or_else(|| GitError::RefNotFound {
                        url: remote.url.clone(),
                        reference: revision.clone(),
                    })?;
                return Ok((commit, None));
            }
        };
        check_ref_name("refs/heads/", &branch)?;
        if let Some(commit) = self.resolve(&format!("refs/heads/{branch}"))? {
            return Ok((commit, Some(branch)));
        }
        if !checkout.create {
            return Err(GitError::BranchNotFound {
                url: remote.url.clone(),
                branch,
            });
        }
        let commit = self.create_orphan(&branch, remote)?;
        Ok((commit, Some(branch)))
    }

    /// Creates `branch` on the remote as an orphan with one empty "Initial commit", pushes it and
    /// records it in the mirror. If someone else created the branch meanwhile, theirs is used.
    fn create_orphan(&self, branch: &str, remote: &Remote) -> Result<String> {
        let name = self.name();
        let _push = self.git.begin_push(&name);
        let runner = self.git.runner();
        let tree = runner
            .git(&self.path, "mktree")
            .arg("mktree")
            .stdin(Vec::new())
            .run()?
            .text();
        let commit = runner
            .git(&self.path, "commit-tree")
            .args(["commit-tree", &tree, "-m", "Initial commit"])
            .run()?
            .text();
        let reference = format!("refs/heads/{branch}");
        let pushed = runner
            .git(&self.path, "push")
            .args(["push", "--quiet", "--"])
            .arg(&remote.url)
            .arg(format!("{commit}:{reference}"))
            .credentials(remote.credentials.as_ref())
            .url(&remote.url)
            .run();
        match pushed {
            Ok(_) => {
                runner
                    .git(&self.path, "update-ref")
                    .args(["update-ref", &reference, &commit])
                    .run()?;
                Ok(commit)
            }
            Err(GitError::NonFastForward { .. }) => {
                runner
                    .git(&self.path, "fetch")
                    .args(["fetch", "--quiet", "origin"])
                    .arg(format!("+{reference}:{reference}"))
                    .credentials(remote.credentials.as_ref())
                    .url(&remote.url)
                    .run()?;
                self.resolve(&reference)?
                    .ok_or_else(|| GitError::BranchNotFound {
                        url: remote.url.clone(),
                        branch: branch.to_owned(),
                    })
            }
            Err(error) => Err(error),
        }
    }
}

/// A mirror's directory name.
pub(crate) fn mirror_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The commit `revision` names in the repository at `dir`, if any.
pub(crate) fn resolve_commit(git: &Git, dir: &Path, revision: &str) -> Result<Option<String>> {
    let output = git
        .runner()
        .git(dir, "rev-parse")
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{revision}^{{commit}}"))
        .output()?;
    Ok(output.status.success().then(|| output.text()))
}

/// Whether `text` is a full object id (SHA-1 or SHA-256, lowercase hex).
pub(crate) fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The object id the ref `name` (`refs/heads/main`) names in the repository at `dir`, read from
/// its loose ref file or else from `packed-refs`, without a git process. `None` when the files do
/// not say so plainly (a symbolic ref, the reftable format, an unusual name, no such ref): the
/// caller then asks git. Git replaces ref files by renaming, so a read sees an old or a new value,
/// never half of one; a ref packed meanwhile is in `packed-refs` before its loose file goes.
pub(crate) fn read_ref(dir: &Path, name: &str) -> Option<String> {
    if !is_valid_ref_name(name) || !name.starts_with("refs/") {
        return None;
    }
    match fs_err::read_to_string(dir.join(name)) {
        Ok(text) => {
            let id = text.strip_suffix('\n')?;
            return is_object_id(id).then(|| id.to_owned());
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) => return None,
    }
    let packed = fs_err::read_to_string(dir.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (id, reference) = line.split_once(' ')?;
        (reference == name && is_object_id(id)).then(|| id.to_owned())
    })
}

/// Fails unless `prefix` + `name` is a ref name git accepts (and `name` is no option).
pub(crate) fn check_ref_name(prefix: &str, name: &str) -> Result<()> {
    if !name.starts_with('-') && is_valid_ref_name(&format!("{prefix}{name}")) {
        Ok(())
    } else {
        Err(GitError::InvalidRefName {
            name: name.to_owned(),
        })
    }
}

/// Whether git accepts `name` as a ref name, by the rules of `git check-ref-format` (without
/// options): checked here rather than by starting git, since every push and checkout asks.
pub(crate) fn is_valid_ref_name(name: &str) -> bool {
    let forbidden = |c: char| {
        c.is_ascii_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    };
    name != "@"
        && name.contains('/')
        && !name.ends_with('.')
        && !name.contains("@{")
        && !name.contains(forbidden)
        && name.split('/').all(|component| {
            !component.is_empty()
                && !component.starts_with('.')
                // git compares case-sensitively: `x.LOCK` is a valid name
                && !component.as_bytes().ends_with(b".lock")
                && !component.contains("..")
        })
}

/// Directories for a cone: relative, without `./` or trailing `/`, no globs. `None` when one of
/// them is the repository root, which means every file.
pub(crate) fn cone_dirs(dirs: &[String]) -> Result<Option<Vec<String>>> {
    let mut cone = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let trimmed = dir.trim().trim_start_matches("./").trim_matches('/');
        if trimmed.is_empty() || trimmed == "." {
            return Ok(None);
        }
        if trimmed.contains(['*', '?', '[', '\n']) || trimmed.split('/').any(|part| part == "..") {
            return Err(GitError::Command {
                action: "sparse checkout".into(),
                stderr: format!("`{dir}` is not a directory of the repository"),
            });
        }
        cone.push(trimmed.to_owned());
    }
    Ok(Some(cone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_read_from_loose_files_then_packed_refs_and_anything_unusual_is_left_to_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        fs_err::create_dir_all(root.join("refs/heads/team")).unwrap();
        fs_err::write(root.join("refs/heads/main"), format!("{a}\n")).unwrap();
        fs_err::write(root.join("refs/heads/team/x"), "ref: refs/heads/main\n").unwrap();
        fs_err::write(root.join("refs/heads/torn"), &a[..20]).unwrap();
        fs_err::write(
            root.join("packed-refs"),
            format!(
                "# pack-refs with: peeled fully-peeled sorted\n{b} refs/heads/main\n{b} refs/heads/packed\n{b} refs/tags/v1\n^{a}\n"
            ),
        )
        .unwrap();
        // The loose file wins over a stale packed entry.
        assert_eq!(read_ref(root, "refs/heads/main"), Some(a.clone()));
        assert_eq!(read_ref(root, "refs/heads/packed"), Some(b.clone()));
        assert_eq!(read_ref(root, "refs/tags/v1"), Some(b));
        for unusual in [
            "refs/heads/team/x",
            "refs/heads/torn",
            "refs/heads/absent",
            "refs/heads/../../etc",
            "HEAD",
        ] {
            assert_eq!(read_ref(root, unusual), None, "{unusual}");
        }
        assert!(is_object_id(&"0".repeat(64)));
        assert!(!is_object_id(&"A".repeat(40)) && !is_object_id("abc"));
    }

    #[test]
    fn cone_directories_are_normalised_and_globs_refused() {
        let dirs = cone_dirs(&["./apps/dev/".into(), "/base".into()]).unwrap();
        assert_eq!(dirs, Some(vec!["apps/dev".to_owned(), "base".to_owned()]));
        assert_eq!(cone_dirs(&["apps".into(), "./".into()]).unwrap(), None);
        assert!(cone_dirs(&["apps/*".into()]).is_err());
        assert!(cone_dirs(&["../x".into()]).is_err());
    }

    #[test]
    fn ref_names_are_judged_as_git_check_ref_format_judges_them() {
        let names = [
            "refs/heads/main",
            "refs/heads/feature/x-1",
            "refs/tags/v1.2.3",
            "refs/heads/kargo/promotion/develop.01abc",
            "refs/heads/ünïcode",
            "refs/heads/a.b",
            "refs/heads/@",
            "refs/heads/a@b",
            "main",
            "@",
            "refs/heads/",
            "/refs/heads/main",
            "refs//heads/main",
            "refs/heads/main.",
            "refs/heads/main.lock",
            "refs/heads/.hidden",
            "refs/heads/a..b",
            "refs/heads/a@{1}",
            "refs/heads/a b",
            "refs/heads/a~1",
            "refs/heads/a^",
            "refs/heads/a:b",
            "refs/heads/a?",
            "refs/heads/a*",
            "refs/heads/a[b",
            "refs/heads/a\\b",
            "refs/heads/tab\there",
            "refs/heads/del\u{7f}",
            "refs/heads/x.lock/y",
            "refs/heads/x/.y",
            "refs/heads/-dash",
            "refs/heads/a/",
            "refs/heads/a.lock.b",
            "refs/heads/x.LOCK",
        ];
        for name in names {
            let git_says = std::process::Command::new("git")
                .args(["check-ref-format", name])
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .status()
                .expect("git runs")
                .success();
            assert_eq!(is_valid_ref_name(name), git_says, "{name:?}");
        }
    }
}
