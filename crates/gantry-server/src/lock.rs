//! The data directory's lock: one server per data directory.
//!
//! `<data-dir>/gantry.lock` is held with an exclusive advisory lock (`flock`) for as long as the
//! server runs; the file records the holder's process id for people. The lock goes away with the
//! process, even when it is killed, so a stale file never blocks a restart.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another gantry server (pid {holder}) uses the data directory {}", dir.display())]
    Held {
        /// The data directory.
        dir: PathBuf,
        /// The holder's process id, as it wrote it (`unknown` if unreadable).
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("failed to lock {}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Holds the lock until dropped.
#[derive(Debug)]
pub(crate) struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock of `dir` (created if missing), failing at once when it is held.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join("gantry.lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        fs_err::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder: if holder.is_empty() {
                        "unknown".to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let error = DataDirLock::acquire(dir.path()).unwrap_err();
        assert!(
            matches!(&error, LockError::Held { holder, .. } if *holder == std::process::id().to_string()),
            "{error:?}"
        );
        drop(first);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
