//! Exclusive locks around mirror updates and pushes, across threads and processes.
//!
//! A [`Lock`] is named by a lock file under `<data_dir>/git/locks/`. Threads of one process queue
//! on an in-process table first (a mutex and a condition variable), then the holder takes an
//! exclusive `flock` on the file, which orders processes. Both are released on drop, the file
//! lock first. There is no lock timeout: every git call under a lock has its own timeout.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::sync::{Condvar, LazyLock, Mutex, PoisonError};

use crate::error::{GitError, Result};

/// Paths of the locks held in this process.
static HELD: LazyLock<(Mutex<HashSet<PathBuf>>, Condvar)> =
    LazyLock::new(|| (Mutex::new(HashSet::new()), Condvar::new()));

/// An exclusive lock, released on drop.
#[derive(Debug)]
pub(crate) struct Lock {
    path: PathBuf,
    file: Option<File>,
}

impl Lock {
    /// Waits until this thread holds the lock at `path` (created when missing).
    pub(crate) fn acquire(path: PathBuf) -> Result<Self> {
        let (held, released) = &*HELD;
        let mut table = held.lock().unwrap_or_else(PoisonError::into_inner);
        while table.contains(&path) {
            table = released.wait(table).unwrap_or_else(PoisonError::into_inner);
        }
        table.insert(path.clone());
        drop(table);
        // From here on, dropping `lock` releases the in-process entry, also on error.
        let mut lock = Self { path, file: None };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock.path)
            .map_err(|source| {
                GitError::io(format!("open lock file {}", lock.path.display()), source)
            })?;
        file.lock()
            .map_err(|source| GitError::io(format!("lock {}", lock.path.display()), source))?;
        lock.file = Some(file);
        Ok(lock)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Closing the file releases the cross-process lock before other threads wake up.
        drop(self.file.take());
        let (held, released) = &*HELD;
        held.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.path);
        released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;
    use std::time::Duration;

    #[test]
    fn one_thread_at_a_time_holds_a_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (path, inside) = (path.clone(), inside.clone());
                thread::spawn(move || {
                    for _ in 0..5 {
                        let _lock = Lock::acquire(path.clone()).unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        thread::sleep(Duration::from_millis(1));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }

    #[test]
    fn the_file_lock_excludes_other_open_file_descriptions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("y.lock");
        let lock = Lock::acquire(path.clone()).unwrap();
        let other = OpenOptions::new().write(true).open(&path).unwrap();
        assert!(other.try_lock().is_err(), "flock must be held");
        drop(lock);
        assert!(other.try_lock().is_ok());
    }
}
