//! Lazy checkouts: a `git-clone` without `sparse` materialises only the repository's top-level
//! files; a step that touches a path inside the worktree brings that directory in first
//! (`git sparse-checkout add`). A promotion thus costs O(files its steps touch), not O(repository
//! size) — see `../shared/design/performance-notes.md`. A step that needs the whole tree (a
//! path naming the worktree root itself, or `git-clear`) turns the sparse checkout off.
//!
//! A worktree is lazy when `git-clone` left the marker file [`LAZY_MARKER`] in its git dir, so
//! the state survives a process restart.

use std::path::Path;

use gantry_engine::StepError;

/// Marker file in a worktree's git dir: the checkout grows on demand.
pub const LAZY_MARKER: &str = "gantry-lazy-checkout";

/// The worktree enclosing `path` (below `root`), if any: the nearest ancestor holding a `.git`
/// file.
pub fn enclosing_worktree(root: &Path, path: &Path) -> Option<std::path::PathBuf> {
    let mut current = Some(path);
    while let Some(dir) = current {
        if !dir.starts_with(root) {
            return None;
        }
        if dir.join(".git").is_file() {
            return Some(dir.to_path_buf());
        }
        current = dir.parent();
    }
    None
}

/// Makes sure `path` (a file or directory, existing or about to be written) is materialised if
/// it lies in a lazy worktree.
pub fn ensure(git: &gantry_git::Git, root: &Path, path: &Path) -> Result<(), StepError> {
    let Some(worktree_path) = enclosing_worktree(root, path) else {
        return Ok(());
    };
    let worktree = gantry_git::Worktree::open(git, &worktree_path)
        .map_err(|e| StepError::retryable(e.to_string()))?;
    if !worktree.git_dir().join(LAZY_MARKER).is_file() {
        return Ok(());
    }
    let relative = path.strip_prefix(&worktree_path).unwrap_or(path);
    let result = if relative.as_os_str().is_empty() {
        worktree.disable_sparse()
    } else {
        // A directory in the tree (or one about to be made) is added as it is; a file brings in
        // its directory. Top-level files are always present.
        let dir = if path.is_dir() || path.extension().is_none() && !path.exists() {
            Some(relative)
        } else {
            relative.parent().filter(|p| !p.as_os_str().is_empty())
        };
        match dir {
            Some(dir) => worktree.sparse_add(&[dir.to_string_lossy().into_owned()]),
            None => Ok(()),
        }
    };
    result.map_err(|e| {
        StepError::retryable(format!("failed to check out {}: {e}", relative.display()))
    })
}
