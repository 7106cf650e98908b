//! A promotion's work dir, and the confinement of every path a step config names.
//!
//! Step configs name paths relative to the work dir (`./repo/develop/instance.yaml`). Resolving
//! one rejects absolute paths, `..` that leaves the work dir, and symlinks on the way that lead
//! outside it; paths a step writes may also not point into a `.git` directory.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Why a config path was refused.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// An absolute path.
    #[error("path {path:?} must be relative to the work dir")]
    Absolute {
        /// The path as given.
        path: String,
    },
    /// `..` leaves the work dir.
    #[error("path {path:?} leaves the work dir")]
    Escapes {
        /// The path as given.
        path: String,
    },
    /// A symlink leads outside the work dir.
    #[error("path {path:?} goes through a symlink that leads outside the work dir")]
    Symlink {
        /// The path as given.
        path: String,
    },
    /// A write into `.git`.
    #[error("path {path:?} is inside a .git directory; steps may not write there")]
    GitDir {
        /// The path as given.
        path: String,
    },
    /// The path is empty.
    #[error("path is empty")]
    Empty,
}

/// A work-dir failure.
#[derive(Debug, thiserror::Error)]
#[error("failed to prepare the work dir {path}")]
pub struct WorkDirError {
    path: PathBuf,
    #[source]
    source: io::Error,
}

/// A promotion's work dir (0700).
#[derive(Debug, Clone)]
pub struct WorkDir {
    root: PathBuf,
}

impl WorkDir {
    /// Opens an existing directory as a work dir.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, WorkDirError> {
        let path = path.as_ref();
        let root = path.canonicalize().map_err(|source| WorkDirError {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self { root })
    }

    /// Opens the directory, creating it (mode 0700, parents as needed) when missing.
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<Self, WorkDirError> {
        let path = path.as_ref();
        let error = |source| WorkDirError {
            path: path.to_path_buf(),
            source,
        };
        if !path.exists() {
            fs_err::create_dir_all(path).map_err(error)?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(error)?;
        }
        Self::open(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Deletes the work dir and everything in it.
    pub fn remove(&self) -> io::Result<()> {
        match fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Resolves a path the step reads.
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, PathError> {
        self.confine(relative, false)
    }

    /// Resolves a path the step writes (also refused inside `.git`).
    pub fn resolve_for_write(&self, relative: &str) -> Result<PathBuf, PathError> {
        self.confine(relative, true)
    }

    fn confine(&self, relative: &str, write: bool) -> Result<PathBuf, PathError> {
        if relative.is_empty() {
            return Err(PathError::Empty);
        }
        let given = || relative.to_owned();
        let path = Path::new(relative);
        if path.is_absolute() {
            return Err(PathError::Absolute { path: given() });
        }
        let mut current = self.root.clone();
        let mut hops = 0;
        let mut pending: Vec<std::ffi::OsString> = path
            .components()
            .rev()
            .filter_map(|c| match c {
                Component::CurDir => None,
                other => Some(other.as_os_str().to_owned()),
            })
            .collect();
        while let Some(part) = pending.pop() {
            if part == ".." {
                if current == self.root {
                    return Err(PathError::Escapes { path: given() });
                }
                current.pop();
                continue;
            }
            if write && part == ".git" {
                return Err(PathError::GitDir { path: given() });
            }
            let next = current.join(&part);
            match fs::symlink_metadata(&next) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    hops += 1;
                    if hops > 40 {
                        return Err(PathError::Symlink { path: given() });
                    }
                    let target =
                        fs::read_link(&next).map_err(|_| PathError::Symlink { path: given() })?;
                    if target.is_absolute() {
                        let Ok(inside) = target.strip_prefix(&self.root) else {
                            return Err(PathError::Symlink { path: given() });
                        };
                        current.clone_from(&self.root);
                        pending.extend(inside.components().rev().map(|c| c.as_os_str().to_owned()));
                    } else {
                        pending.extend(
                            target
                                .components()
                                .rev()
                                .filter(|c| !matches!(c, Component::CurDir))
                                .map(|c| c.as_os_str().to_owned()),
                        );
                    }
                    // A `..` in the target that leaves the root is caught above.
                    if !current.starts_with(&self.root) {
                        return Err(PathError::Symlink { path: given() });
                    }
                }
                _ => current = next,
            }
        }
        if !current.starts_with(&self.root) {
            return Err(PathError::Escapes { path: given() });
        }
        Ok(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work() -> (tempfile::TempDir, WorkDir) {
        let temp = tempfile::tempdir().unwrap();
        let dir = WorkDir::open_or_create(temp.path().join("w")).unwrap();
        (temp, dir)
    }

    #[test]
    fn relative_paths_stay_inside() {
        let (_temp, dir) = work();
        let root = dir.path().to_path_buf();
        assert_eq!(dir.resolve("./a/b.yaml").unwrap(), root.join("a/b.yaml"));
        assert_eq!(dir.resolve("a/../b").unwrap(), root.join("b"));
        for bad in ["../x", "a/../../x", "/etc/passwd", ""] {
            assert!(dir.resolve(bad).is_err(), "{bad}");
        }
        assert!(dir.resolve(".git/config").is_ok());
        let error = dir.resolve_for_write("repo/.git/config").unwrap_err();
        assert_eq!(
            error.to_string(),
            "path \"repo/.git/config\" is inside a .git directory; steps may not write there"
        );
    }

    #[test]
    fn symlinks_out_are_refused_and_symlinks_in_followed() {
        let (temp, dir) = work();
        let root = dir.path().to_path_buf();
        fs_err::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.join("inside")).unwrap();
        std::os::unix::fs::symlink(temp.path(), root.join("out")).unwrap();
        std::os::unix::fs::symlink("../..", root.join("real/up")).unwrap();
        assert_eq!(dir.resolve("inside/f").unwrap(), root.join("real/f"));
        let error = dir.resolve("out/secret").unwrap_err();
        assert_eq!(
            error.to_string(),
            "path \"out/secret\" goes through a symlink that leads outside the work dir"
        );
        assert!(dir.resolve("real/up/x").is_err());
    }

    #[test]
    fn work_dirs_are_private() {
        let (_temp, dir) = work();
        let mode = fs_err::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        dir.remove().unwrap();
        assert!(!dir.path().exists());
    }
}
