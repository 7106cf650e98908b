//! A checkout of a mirror where a promotion edits files, commits and tags.
//!
//! Worktrees come from [`crate::Mirror::worktree`] and survive restarts: [`Worktree::open`]
//! finds the mirror, the remote URL (from the mirror's config, without credentials) and the
//! tracked branch (from the `gantry-branch` file in the worktree's git dir) again. Staging always
//! takes everything, deletions included, and respects sparse checkouts: files outside the cone
//! are neither materialised nor seen as deleted. Pushing lives in `push.rs`.

use std::io;
use std::path::{Path, PathBuf};

use crate::command::Invocation;
use crate::error::{GitError, Result};
use crate::git::{Author, Git, Remote};
use crate::mirror::{check_ref_name, cone_dirs, is_object_id, mirror_name, resolve_commit};
use crate::secret::Credentials;

/// File in a worktree's git dir naming the branch the worktree tracks.
pub(crate) const BRANCH_FILE: &str = "gantry-branch";

/// A detached checkout of a [`crate::Mirror`].
#[derive(Debug, Clone)]
pub struct Worktree {
    pub(crate) git: Git,
    pub(crate) path: PathBuf,
    pub(crate) git_dir: PathBuf,
    pub(crate) mirror: PathBuf,
    pub(crate) remote: Remote,
    pub(crate) branch: Option<String>,
}

/// What [`Worktree::commit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// `HEAD` afterwards: the new commit, or the existing one when there was nothing to commit.
    pub commit: String,
    /// Whether a commit was made.
    pub created: bool,
}

/// What opening a worktree learnt from git, kept by [`Git`] so that the steps of one promotion,
/// which each open the same worktree, start no git process for it after the first.
#[derive(Debug, Clone)]
pub(crate) struct Opened {
    /// The text of `<worktree>/.git` (`gitdir: ...`) when it was opened: a worktree removed and
    /// made again elsewhere, or replaced by something else, no longer matches it.
    dot_git: String,
    git_dir: PathBuf,
    mirror: PathBuf,
    url: String,
}

impl Opened {
    /// Records a worktree just added to `mirror` at `path` (its `.git` file names its git dir),
    /// so that opening it needs no git process. Does nothing when `.git` is not as expected:
    /// opening then asks git.
    pub(crate) fn remember_new(git: &Git, path: &Path, mirror: &Path, url: &str) {
        let Ok(dot_git) = fs_err::read_to_string(path.join(".git")) else {
            return;
        };
        let Some(named) = dot_git.strip_prefix("gitdir: ").map(str::trim_end) else {
            return;
        };
        let git_dir = path.join(named);
        if git_dir.parent() != Some(mirror.join("worktrees").as_path()) {
            return;
        }
        git.remember_opened(
            path.to_owned(),
            Self {
                dot_git,
                git_dir,
                mirror: mirror.to_owned(),
                url: url.to_owned(),
            },
        );
    }
}

impl Worktree {
    /// Opens the worktree at `path`, made earlier by [`crate::Mirror::worktree`]. It has no
    /// credentials until [`Worktree::set_credentials`] (or a push that brings its own).
    pub fn open(git: &Git, path: impl AsRef<Path>) -> Result<Self> {
        let path = std::path::absolute(path.as_ref())
            .map_err(|source| GitError::io("resolve the worktree path", source))?;
        let not_a_worktree = || GitError::NotAWorktree { path: path.clone() };
        if !path.is_dir() {
            return Err(not_a_worktree());
        }
        // `.git` of a linked worktree is a file naming its git dir; a plain read of it tells
        // whether this is still the worktree opened before.
        let dot_git = fs_err::read_to_string(path.join(".git")).ok();
        let (git_dir, mirror, url) = match (dot_git, git.opened(&path)) {
            (Some(dot_git), Some(opened))
                if opened.dot_git == dot_git && opened.git_dir.join("HEAD").is_file() =>
            {
                (opened.git_dir, opened.mirror, opened.url)
            }
            (dot_git, _) => {
                let (git_dir, mirror, url) = Self::inspect(git, &path)?;
                if let Some(dot_git) = dot_git {
                    git.remember_opened(
                        path.clone(),
                        Opened {
                            dot_git,
                            git_dir: git_dir.clone(),
                            mirror: mirror.clone(),
                            url: url.clone(),
                        },
                    );
                }
                (git_dir, mirror, url)
            }
        };
        let remote = Remote::resolve(&url, None)?;
        let branch = match fs_err::read_to_string(git_dir.join(BRANCH_FILE)) {
            Ok(text) => Some(text.trim().to_owned()).filter(|branch| !branch.is_empty()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(GitError::io("read the tracked branch", source)),
        };
        Ok(Self {
            git: git.clone(),
            path,
            git_dir,
            mirror,
            remote,
            branch,
        })
    }

    /// Asks git what `path` is: its git dir, its mirror and the mirror's remote URL. Fails
    /// unless `path` is the top of a linked worktree.
    fn inspect(git: &Git, path: &Path) -> Result<(PathBuf, PathBuf, String)> {
        let not_a_worktree = || GitError::NotAWorktree {
            path: path.to_owned(),
        };
        let output = git
            .runner()
            .git(path, "rev-parse")
            .args([
                "rev-parse",
                "--path-format=absolute",
                "--show-toplevel",
                "--git-dir",
                "--git-common-dir",
            ])
            .output()?;
        let text = output.text();
        let mut lines = text.lines().map(PathBuf::from);
        let (Some(toplevel), Some(git_dir), Some(mirror)) =
            (lines.next(), lines.next(), lines.next())
        else {
            return Err(not_a_worktree());
        };
        let same_dir = |a: &Path, b: &Path| {
            fs_err::canonicalize(a)
                .ok()
                .is_some_and(|a| fs_err::canonicalize(b).ok() == Some(a))
        };
        if !output.status.success() || !same_dir(&toplevel, path) || git_dir == mirror {
            return Err(not_a_worktree());
        }
        let url = git
            .runner()
            .git(path, "config")
            .args(["config", "--get", "remote.origin.url"])
            .output()?;
        if !url.status.success() {
            return Err(not_a_worktree());
        }
        Ok((git_dir, mirror, url.text()))
    }

    /// The worktree's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The worktree's own git dir (`<mirror>/worktrees/<name>`).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The mirror this worktree belongs to.
    pub fn mirror_path(&self) -> &Path {
        &self.mirror
    }

    /// The remote's URL (or absolute path), without userinfo.
    pub fn url(&self) -> &str {
        &self.remote.url
    }

    /// The branch this worktree tracks (`None` for tag and commit checkouts).
    pub fn branch(&self) -> Option<&str> {
        self.branch.as_deref()
    }

    pub(crate) fn set_branch(&mut self, branch: Option<String>) {
        self.branch = branch;
    }

    /// Sets the credentials used for lazy fetches and pushes (held in memory only).
    pub fn set_credentials(&mut self, credentials: Option<Credentials>) {
        self.remote.credentials = credentials;
    }

    /// The commit checked out.
    pub fn head(&self) -> Result<String> {
        // A detached worktree's `HEAD` file holds the commit itself.
        if let Ok(head) = fs_err::read_to_string(self.git_dir.join("HEAD"))
            && let Some(id) = head.strip_suffix('\n')
            && is_object_id(id)
        {
            return Ok(id.to_owned());
        }
        resolve_commit(&self.git, &self.path, "HEAD")?.ok_or_else(|| GitError::Command {
            action: "read HEAD".into(),
            stderr: format!("{} has no HEAD commit", self.path.display()),
        })
    }

    /// Whether only part of the tree is materialised.
    pub fn is_sparse(&self) -> Result<bool> {
        if let Some(sparse) = self.sparse_from_worktree_config() {
            return Ok(sparse);
        }
        let output = self
            .command("config")
            .args(["config", "--type=bool", "--get", "core.sparseCheckout"])
            .output()?;
        Ok(output.status.success() && output.text() == "true")
    }

    /// `core.sparseCheckout` as `git sparse-checkout` writes it into the worktree's own
    /// `config.worktree` (a `[core]` section, one `sparseCheckout = true|false` line), read without
    /// a git process; `None` when the file is absent or says anything less plain.
    fn sparse_from_worktree_config(&self) -> Option<bool> {
        let text = fs_err::read_to_string(self.git_dir.join("config.worktree")).ok()?;
        let mut in_core = false;
        let mut found = None;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_core = line == "[core]";
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                if in_core && line.eq_ignore_ascii_case("sparsecheckout") {
                    return None;
                }
                continue;
            };
            if !key.trim().eq_ignore_ascii_case("sparsecheckout") {
                continue;
            }
            if !in_core || found.is_some() {
                return None;
            }
            found = Some(match value.trim() {
                "true" => true,
                "false" => false,
                _ => return None,
            });
        }
        found
    }

    /// Restricts the worktree to the top-level files plus `dirs` (cone mode).
    pub(crate) fn sparse_set(&self, dirs: &[String]) -> Result<()> {
        self.command("sparse-checkout set")
            .args(["sparse-checkout", "set", "--cone", "--stdin"])
            .stdin(stdin_lines(dirs))
            .run()?;
        Ok(())
    }

    /// Materialises more directories of a sparse worktree (no-op when it is not sparse).
    pub fn sparse_add(&self, dirs: &[String]) -> Result<()> {
        if !self.is_sparse()? {
            return Ok(());
        }
        let Some(dirs) = cone_dirs(dirs)? else {
            return self.disable_sparse();
        };
        if dirs.is_empty() {
            return Ok(());
        }
        self.command("sparse-checkout add")
            .args(["sparse-checkout", "add", "--stdin"])
            .stdin(stdin_lines(&dirs))
            .run()?;
        Ok(())
    }

    /// Materialises every file (for steps that need the whole tree).
    pub fn disable_sparse(&self) -> Result<()> {
        self.command("sparse-checkout disable")
            .args(["sparse-checkout", "disable"])
            .run()?;
        Ok(())
    }

    /// Whether any file differs from `HEAD` (modified, added, deleted or untracked).
    pub fn has_changes(&self) -> Result<bool> {
        let output = self
            .command("status")
            .args(["status", "--porcelain"])
            .run()?;
        Ok(!output.stdout.is_empty())
    }

    /// Stages everything (deletions included) and commits it; with nothing to commit, makes no
    /// commit and returns `HEAD`. `author` defaults to the configured one.
    pub fn commit(&self, message: &str, author: Option<&Author>) -> Result<CommitOutcome> {
        self.stage_all()?;
        // `git commit` itself tells whether anything was staged (exit 1 and its "nothing to
        // commit" status, in the C locale every git process here runs in): no separate diff.
        let output = self
            .command("commit")
            .args([
                "commit",
                "--quiet",
                "--no-verify",
                "--no-gpg-sign",
                "--file=-",
            ])
            .stdin(message)
            .author(author)
            .output()?;
        if output.status.success() {
            return Ok(CommitOutcome {
                commit: self.head()?,
                created: true,
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let nothing_staged = output.status.code() == Some(1)
            && [
                "nothing to commit",
                "nothing added to commit",
                "no changes added to commit",
            ]
            .iter()
            .any(|said| stdout.contains(said));
        if nothing_staged {
            return Ok(CommitOutcome {
                commit: self.head()?,
                created: false,
            });
        }
        Err(GitError::Command {
            action: "commit".into(),
            stderr: output.failure_message(),
        })
    }

    /// Creates the annotated tag `name` on `HEAD` (replacing an existing one when `force`) and
    /// returns the tagged commit. The tag lives in the mirror until it is pushed.
    pub fn tag(&self, name: &str, message: &str, force: bool) -> Result<String> {
        check_ref_name("refs/tags/", name)?;
        let mut tag = self
            .command("tag")
            .args(["tag", "--annotate", "--no-sign", "--file=-"]);
        if force {
            tag = tag.arg("--force");
        }
        tag.args([name, "HEAD"]).stdin(message).run()?;
        self.head()
    }

    /// Removes every file (tracked or not, inside or outside a sparse cone) except `.git`, as
    /// Kargo's `git-clear`: the next commit records the tree as whatever is written afterwards.
    pub fn clear(&self) -> Result<()> {
        self.command("read-tree")
            .args(["read-tree", "--empty"])
            .run()?;
        let entries = fs_err::read_dir(&self.path)
            .map_err(|source| GitError::io("list the worktree", source))?;
        for entry in entries {
            let entry = entry.map_err(|source| GitError::io("list the worktree", source))?;
            if entry.file_name() == ".git" {
                continue;
            }
            let path = entry.path();
            let is_dir = entry
                .file_type()
                .map_err(|source| GitError::io("inspect a worktree entry", source))?
                .is_dir();
            let removed = if is_dir {
                fs_err::remove_dir_all(&path)
            } else {
                fs_err::remove_file(&path)
            };
            removed.map_err(|source| GitError::io("clear the worktree", source))?;
        }
        Ok(())
    }

    /// The unified diff from `revision` to the worktree's files (staging everything first), for
    /// dry runs.
    pub fn diff_against(&self, revision: &str) -> Result<String> {
        let commit = resolve_commit(&self.git, &self.path, revision)?.ok_or_else(|| {
            GitError::RefNotFound {
                url: self.remote.url.clone(),
                reference: revision.to_owned(),
            }
        })?;
        self.stage_all()?;
        let output = self
            .command("diff")
            .args([
                "diff",
                "--cached",
                "--no-color",
                "--no-ext-diff",
                &commit,
                "--",
            ])
            .run()?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Deletes the worktree's files and unregisters it from the mirror.
    pub fn remove(self) -> Result<()> {
        match fs_err::remove_dir_all(&self.path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(GitError::io("remove the worktree", source)),
        }
        let _lock = self.git.mirror_lock(&mirror_name(&self.mirror))?;
        self.git
            .runner()
            .git(&self.mirror, "worktree prune")
            .args(["worktree", "prune"])
            .run()?;
        Ok(())
    }

    /// A git command in the worktree, with its credentials (blobless mirrors fetch file contents
    /// on demand, from almost any command).
    pub(crate) fn command(&self, action: &str) -> Invocation<'_> {
        self.git
            .runner()
            .git(&self.path, action)
            .credentials(self.remote.credentials.as_ref())
            .url(&self.remote.url)
    }

    /// `git add --all`, including paths outside a sparse cone that steps wrote.
    fn stage_all(&self) -> Result<()> {
        self.command("add")
            .args(["add", "--all", "--sparse"])
            .run()?;
        Ok(())
    }
}

/// Newline-terminated lines for `--stdin`.
fn stdin_lines(lines: &[String]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|line| [line.as_bytes(), b"\n"])
        .flatten()
        .copied()
        .collect()
}
