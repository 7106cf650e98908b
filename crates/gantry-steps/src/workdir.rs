//! A promotion's work directory, and the confinement of every path a step config names.
//!
//! Every path in a step config (`path`, `inPath`, `outPath`...) is relative to the promotion's
//! work directory. [`WorkDir::resolve`] turns one into an absolute path that is guaranteed to
//! stay inside: absolute paths are refused, `..` may not climb above the root, and symlinks
//! are followed component by component (as the kernel would) and refused as soon as one points
//! outside. A symlink that stays inside is fine, and the returned path is the one it leads to,
//! so a later `open` cannot be redirected by the links that were checked. Components that do
//! not exist yet are taken as written. [`WorkDir::resolve_for_write`] also refuses paths into
//! a `.git` directory.
//!
//! Caveat: the check is a snapshot; a process that changes the tree between the check and the
//! use can still race it. Steps run one at a time inside a work directory that only gantry
//! writes to, which is what makes the snapshot sufficient.
//!
//! Lifetime: a directory made by [`WorkDir::create`] is deleted when the last clone of the
//! returned value is dropped, unless [`WorkDir::keep`] was called (e.g. to inspect a failed
//! promotion). One opened with [`WorkDir::open`] or [`WorkDir::open_or_create`] (a named
//! directory that a resumed promotion finds again) stays until [`WorkDir::remove`].

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Following more symlinks than this while resolving one path is an error (Linux's limit).
pub const MAX_SYMLINKS: usize = 40;

/// A step path that may not be used.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The path is empty.
    #[error("the path is empty")]
    Empty,
    /// The path is absolute.
    #[error("path `{path}` is absolute; step paths are relative to the work dir")]
    Absolute {
        /// The path as given.
        path: String,
    },
    /// The path cannot be used at all.
    #[error("path `{path}` is not valid: {reason}")]
    Invalid {
        /// The path as given.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// `..` climbs above the work directory.
    #[error("path `{path}` leaves the work dir through `..`")]
    Escapes {
        /// The path as given.
        path: String,
    },
    /// A symlink on the way points outside the work directory.
    #[error("path `{path}` leaves the work dir through the symlink `{}`", link.display())]
    SymlinkEscapes {
        /// The path as given.
        path: String,
        /// The symlink, relative to the work directory.
        link: PathBuf,
    },
    /// Too many symlinks (or a loop).
    #[error("path `{path}` goes through more than {MAX_SYMLINKS} symlinks")]
    TooManySymlinks {
        /// The path as given.
        path: String,
    },
    /// A write into a `.git` directory.
    #[error("path `{path}` is inside a .git directory; steps may not write there")]
    GitDir {
        /// The path as given.
        path: String,
    },
    /// A component could not be inspected.
    #[error("cannot inspect `{}`", path.display())]
    Inspect {
        /// The absolute path that failed.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// A work directory that could not be made, opened or removed.
#[derive(Debug, thiserror::Error)]
pub enum WorkDirError {
    /// A fresh work directory could not be made.
    #[error("cannot create a work dir in `{}`", parent.display())]
    Create {
        /// Where it was to be made.
        parent: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An existing work directory could not be opened (or created).
    #[error("cannot open the work dir `{}`", path.display())]
    Open {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// What should be a work directory is not a directory.
    #[error("`{}` is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The work directory could not be deleted.
    #[error("cannot remove the work dir `{}`", path.display())]
    Remove {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// A promotion's work directory (mode 0700). Clones share the directory and its clean-up.
#[derive(Debug, Clone)]
pub struct WorkDir {
    /// Canonical (symlink-free) absolute path.
    root: PathBuf,
    /// Present for directories made by [`WorkDir::create`]: deletes them with the last clone.
    cleanup: Option<Arc<Cleanup>>,
}

#[derive(Debug)]
struct Cleanup {
    root: PathBuf,
    keep: AtomicBool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.keep.load(Ordering::Relaxed) {
            // Nothing can be reported from a drop; a leftover directory is only clutter.
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

#[cfg(unix)]
fn make_private(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    // The umask may have taken bits away, or the directory existed: make it exactly 0700.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> io::Result<()> {
    Ok(())
}

impl WorkDir {
    /// Makes a fresh, empty directory (mode 0700) inside `parent`, which must exist. It is
    /// deleted when the last clone of the returned value is dropped, unless
    /// [`WorkDir::keep`] is called.
    pub fn create(parent: impl AsRef<Path>) -> Result<Self, WorkDirError> {
        let parent = parent.as_ref();
        let create_error = |source| WorkDirError::Create {
            parent: parent.to_owned(),
            source,
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!("promotion-{:x}-{nanos:x}-{n}", std::process::id()));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(&path) {
                Ok(()) => {
                    make_private(&path).map_err(create_error)?;
                    let root = std::fs::canonicalize(&path).map_err(create_error)?;
                    let cleanup = Arc::new(Cleanup {
                        root: root.clone(),
                        keep: AtomicBool::new(false),
                    });
                    return Ok(Self {
                        root,
                        cleanup: Some(cleanup),
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(create_error(error)),
            }
        }
        Err(create_error(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free directory name after 100 tries",
        )))
    }

    /// Uses an existing directory. It is not deleted on drop; call [`WorkDir::remove`] for that.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, WorkDirError> {
        let path = path.as_ref();
        let root = std::fs::canonicalize(path).map_err(|source| WorkDirError::Open {
            path: path.to_owned(),
            source,
        })?;
        if !root.is_dir() {
            return Err(WorkDirError::NotADirectory {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            root,
            cleanup: None,
        })
    }

    /// Opens the directory, creating it (mode 0700, parents as needed) when missing. Like
    /// [`WorkDir::open`], it is not deleted on drop.
    pub fn open_or_create(path: impl AsRef<Path>) -> Result<Self, WorkDirError> {
        let path = path.as_ref();
        let open_error = |source| WorkDirError::Open {
            path: path.to_owned(),
            source,
        };
        if !path.exists() {
            fs_err::create_dir_all(path).map_err(open_error)?;
            make_private(path).map_err(open_error)?;
        }
        Self::open(path)
    }

    /// The directory's absolute, symlink-free path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Keeps a directory made by [`WorkDir::create`] when the last clone is dropped.
    pub fn keep(&self) {
        if let Some(cleanup) = &self.cleanup {
            cleanup.keep.store(true, Ordering::Relaxed);
        }
    }

    /// Deletes the directory and everything in it (a directory already gone is fine).
    pub fn remove(&self) -> Result<(), WorkDirError> {
        self.keep();
        match std::fs::remove_dir_all(&self.root) {
            Err(source) if source.kind() != io::ErrorKind::NotFound => Err(WorkDirError::Remove {
                path: self.root.clone(),
                source,
            }),
            _ => Ok(()),
        }
    }

    /// The absolute path for a step path that is only read (see the module docs).
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, PathError> {
        self.resolve_inner(relative, false)
    }

    /// The absolute path for a step path that is written: as [`WorkDir::resolve`], and not
    /// inside a `.git` directory (compared case-insensitively, for case-insensitive disks).
    pub fn resolve_for_write(&self, relative: &str) -> Result<PathBuf, PathError> {
        self.resolve_inner(relative, true)
    }

    fn resolve_inner(&self, relative: &str, for_write: bool) -> Result<PathBuf, PathError> {
        let given = || relative.to_owned();
        if relative.is_empty() {
            return Err(PathError::Empty);
        }
        if relative.contains('\0') {
            return Err(PathError::Invalid {
                path: given(),
                reason: "it contains a NUL byte",
            });
        }
        let path = Path::new(relative);
        if path.has_root() || path.is_absolute() {
            return Err(PathError::Absolute { path: given() });
        }
        // Each pending component remembers the symlink it came from, for messages.
        let mut pending: VecDeque<(OsString, Option<PathBuf>)> =
            components(path).map(|part| (part, None)).collect();
        let mut resolved: Vec<OsString> = Vec::new();
        let mut followed = 0;
        let mut exists = true;
        while let Some((part, origin)) = pending.pop_front() {
            if part == ".." {
                if resolved.pop().is_none() {
                    return Err(match origin {
                        Some(link) => PathError::SymlinkEscapes {
                            path: given(),
                            link,
                        },
                        None => PathError::Escapes { path: given() },
                    });
                }
                continue;
            }
            resolved.push(part);
            if !exists {
                continue;
            }
            let inside: PathBuf = resolved.iter().collect();
            let candidate = self.root.join(&inside);
            let metadata = match std::fs::symlink_metadata(&candidate) {
                Ok(metadata) => metadata,
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    exists = false;
                    continue;
                }
                Err(source) => {
                    return Err(PathError::Inspect {
                        path: candidate,
                        source,
                    });
                }
            };
            if !metadata.file_type().is_symlink() {
                continue;
            }
            followed += 1;
            if followed > MAX_SYMLINKS {
                return Err(PathError::TooManySymlinks { path: given() });
            }
            let target = std::fs::read_link(&candidate).map_err(|source| PathError::Inspect {
                path: candidate.clone(),
                source,
            })?;
            resolved.pop();
            let target_parts: Vec<OsString> = if target.has_root() {
                let Ok(within) = target.strip_prefix(&self.root) else {
                    return Err(PathError::SymlinkEscapes {
                        path: given(),
                        link: inside,
                    });
                };
                resolved.clear();
                components(within).collect()
            } else {
                components(&target).collect()
            };
            for part in target_parts.into_iter().rev() {
                pending.push_front((part, Some(inside.clone())));
            }
        }
        if for_write
            && resolved
                .iter()
                .any(|part| part.to_string_lossy().eq_ignore_ascii_case(".git"))
        {
            return Err(PathError::GitDir { path: given() });
        }
        Ok(resolved
            .iter()
            .fold(self.root.clone(), |path, part| path.join(part)))
    }
}

/// The normal and `..` components of a relative path (`.` and repeated `/` dropped).
fn components(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|component| match component {
        Component::Normal(part) => Some(part.to_owned()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
    })
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::{PermissionsExt as _, symlink};

    use super::*;

    fn setup() -> (tempfile::TempDir, WorkDir) {
        let parent = tempfile::tempdir().unwrap();
        let work = WorkDir::create(parent.path()).unwrap();
        fs_err::create_dir_all(work.path().join("repo/.git")).unwrap();
        fs_err::create_dir_all(work.path().join("repo/env")).unwrap();
        fs_err::write(work.path().join("repo/env/values.yaml"), "a: 1\n").unwrap();
        (parent, work)
    }

    #[test]
    fn created_directories_are_private_and_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let work = WorkDir::create(parent.path()).unwrap();
        let path = work.path().to_owned();
        let mode = fs_err::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(path.starts_with(fs_err::canonicalize(parent.path()).unwrap()));
        let other = WorkDir::create(parent.path()).unwrap();
        assert_ne!(other.path(), path, "every work directory is fresh");
        drop(work);
        assert!(!path.exists());

        let shared = WorkDir::create(parent.path()).unwrap();
        let clone = shared.clone();
        let shared_path = shared.path().to_owned();
        drop(shared);
        assert!(shared_path.is_dir(), "a clone keeps the directory");
        drop(clone);
        assert!(!shared_path.exists(), "the last clone removes it");

        let kept = WorkDir::create(parent.path()).unwrap();
        let kept_path = kept.path().to_owned();
        kept.clone().keep();
        drop(kept);
        assert!(kept_path.is_dir(), "kept directories stay");

        let reopened = WorkDir::open(&kept_path).unwrap();
        drop(reopened);
        assert!(
            kept_path.is_dir(),
            "opened directories are not removed on drop"
        );
        let reopened = WorkDir::open(&kept_path).unwrap();
        reopened.remove().unwrap();
        assert!(!kept_path.exists());
        reopened.remove().unwrap();
    }

    #[test]
    fn named_work_dirs_are_created_private_and_reopened() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("work/promotion-a");
        let work = WorkDir::open_or_create(&path).unwrap();
        let mode = fs_err::metadata(work.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        fs_err::write(work.path().join("state"), "x").unwrap();
        drop(work);
        let again = WorkDir::open_or_create(&path).unwrap();
        assert!(
            again.path().join("state").is_file(),
            "a resumed promotion finds its files"
        );
    }

    #[test]
    fn opening_needs_an_existing_directory() {
        let parent = tempfile::tempdir().unwrap();
        assert!(matches!(
            WorkDir::open(parent.path().join("missing")),
            Err(WorkDirError::Open { .. })
        ));
        let file = parent.path().join("file");
        fs_err::write(&file, "").unwrap();
        assert!(matches!(
            WorkDir::open(&file),
            Err(WorkDirError::NotADirectory { .. })
        ));
        assert!(matches!(
            WorkDir::create(parent.path().join("missing")),
            Err(WorkDirError::Create { .. })
        ));
    }

    #[test]
    fn paths_inside_resolve_to_absolute_paths() {
        let (_parent, work) = setup();
        let root = work.path();
        let cases = [
            ("repo/env/values.yaml", "repo/env/values.yaml"),
            ("./repo//env/./values.yaml", "repo/env/values.yaml"),
            ("repo/env/../env/values.yaml", "repo/env/values.yaml"),
            ("repo/new/dir/file.yaml", "repo/new/dir/file.yaml"),
            ("repo/missing/../env", "repo/env"),
            ("repo/env/values.yaml/x", "repo/env/values.yaml/x"),
            (".", ""),
            (
                "repo/.github/workflows/x.yaml",
                "repo/.github/workflows/x.yaml",
            ),
        ];
        for (relative, want) in cases {
            let want = if want.is_empty() {
                root.to_path_buf()
            } else {
                root.join(want)
            };
            assert_eq!(work.resolve(relative).unwrap(), want, "{relative}");
            assert_eq!(
                work.resolve_for_write(relative).unwrap(),
                want,
                "{relative}"
            );
        }
    }

    #[test]
    fn absolute_escaping_and_empty_paths_are_refused() {
        let (_parent, work) = setup();
        let cases = [
            ("", "the path is empty"),
            ("/etc/passwd", "path `/etc/passwd` is absolute"),
            ("..", "path `..` leaves the work dir through `..`"),
            ("../x", "through `..`"),
            ("repo/../../x", "through `..`"),
            ("repo/missing/../../../x", "through `..`"),
            ("a\0b", "NUL byte"),
        ];
        for (relative, want) in cases {
            let error = work.resolve(relative).unwrap_err();
            assert!(error.to_string().contains(want), "{relative:?}: {error}");
        }
    }

    #[test]
    fn symlinks_that_stay_inside_are_followed() {
        let (_parent, work) = setup();
        let root = work.path();
        symlink("repo/env", root.join("current")).unwrap();
        symlink("../env", root.join("repo/.github-env")).unwrap();
        symlink(root.join("repo"), root.join("absolute-inside")).unwrap();
        symlink("values.yaml", root.join("repo/env/link.yaml")).unwrap();
        let cases = [
            ("current/values.yaml", "repo/env/values.yaml"),
            ("repo/.github-env", "env"),
            ("absolute-inside/env/values.yaml", "repo/env/values.yaml"),
            ("repo/env/link.yaml", "repo/env/values.yaml"),
            ("current/../repo", "repo/repo"),
        ];
        for (relative, want) in cases {
            assert_eq!(
                work.resolve(relative).unwrap(),
                root.join(want),
                "{relative}"
            );
        }
    }

    #[test]
    fn symlinks_that_leave_are_refused_and_named() {
        let (parent, work) = setup();
        let root = work.path();
        fs_err::write(parent.path().join("secret"), "s").unwrap();
        symlink("/etc", root.join("repo/etc")).unwrap();
        symlink("../../..", root.join("repo/env/up")).unwrap();
        symlink(
            parent.path().join("secret"),
            root.join("repo/env/secret.yaml"),
        )
        .unwrap();
        symlink("loop-b", root.join("loop-a")).unwrap();
        symlink("loop-a", root.join("loop-b")).unwrap();
        let cases = [
            ("repo/etc/passwd", "through the symlink `repo/etc`"),
            ("repo/env/up/x", "through the symlink `repo/env/up`"),
            (
                "repo/env/secret.yaml",
                "through the symlink `repo/env/secret.yaml`",
            ),
            ("loop-a/x", "more than 40 symlinks"),
        ];
        for (relative, want) in cases {
            let error = work.resolve(relative).unwrap_err();
            assert!(error.to_string().contains(want), "{relative}: {error}");
        }
    }

    #[test]
    fn writes_into_git_directories_are_refused() {
        let (_parent, work) = setup();
        symlink("repo/.git", work.path().join("hidden")).unwrap();
        for relative in [
            ".git/config",
            "repo/.git/hooks/pre-commit",
            "repo/.GIT/x",
            "hidden/config",
        ] {
            let error = work.resolve_for_write(relative).unwrap_err();
            assert!(
                matches!(error, PathError::GitDir { .. }),
                "{relative}: {error}"
            );
            assert!(
                work.resolve(relative).is_ok(),
                "reading {relative} is allowed"
            );
        }
    }
}
