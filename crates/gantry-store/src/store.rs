//! Opening the database, and the two ways in: [`Store::read`] (a consistent snapshot on a read
//! connection) and [`Store::write`] (one immediate transaction on the single write connection).
//!
//! ```text
//!  Store (Clone = Arc) ──► writer: Mutex<Connection>      BEGIN IMMEDIATE … COMMIT, one at a time
//!                     └──► readers: [Mutex<Connection>]   BEGIN … (WAL: never blocked by the writer)
//! ```
//!
//! Guarantees: every [`Store::write`] closure is one transaction: it commits when the closure
//! returns `Ok` and rolls back, leaving nothing half-written, when it returns `Err` or panics.
//! Writers of one process never see `SQLITE_BUSY` (they queue on the mutex); the `busy_timeout`
//! covers other processes on the same file. Committed writes survive a crash of the process
//! (WAL, `synchronous=NORMAL`); the last transactions before a power loss may be lost, never
//! corrupted.
//!
//! Assumptions: the calls block, so async code calls them from `spawn_blocking` or a dedicated
//! thread. Caveats: inside a `write` closure, read through [`Tx::reader`], not through the
//! `Store` (the store's readers do not see the open transaction, and an in-memory store has only
//! the one connection, so a nested call would deadlock).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{During, StoreError};
use crate::migrate::{MIGRATIONS, migrate};
use crate::promotion::UlidClock;

/// How to open a [`Store`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Read connections (at least 1; ignored in memory, where reads share the one connection).
    pub readers: usize,
    /// How long to wait for another process's lock before failing with `SQLITE_BUSY`.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            readers: 2,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// gantry's runtime state database. Cheap to clone (an `Arc`), `Send` and `Sync`.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    ulids: Mutex<UlidClock>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.shared.path)
            .field("readers", &self.shared.readers.len())
            .finish_non_exhaustive()
    }
}

/// A read-only view of the database: a snapshot inside [`Store::read`], or the open transaction
/// inside [`Store::write`] (through [`Tx::reader`]).
#[derive(Clone, Copy)]
pub struct Reader<'c> {
    pub(crate) conn: &'c Connection,
}

/// An open write transaction (see [`Store::write`]).
pub struct Tx<'c> {
    pub(crate) tx: rusqlite::Transaction<'c>,
    pub(crate) ulids: &'c Mutex<UlidClock>,
}

impl Tx<'_> {
    /// Reads that see this transaction's own changes.
    pub fn reader(&self) -> Reader<'_> {
        Reader { conn: &self.tx }
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.tx
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a closure dropped its transaction, which rolled back: the connection is
    // still consistent, so the poison carries no information.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn configure(
    conn: &Connection,
    path: &Path,
    options: &StoreOptions,
    role: Role,
) -> Result<(), StoreError> {
    let failed = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    conn.busy_timeout(options.busy_timeout).map_err(failed)?;
    // Room for every statement the store prepares, including the filtered list variants.
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(failed)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(failed)?;
    // 512 KiB of page cache per connection (SQLite's default is 2 MiB): the state is small and
    // hot, the OS caches the file anyway, and a server with a thousand Warehouses keeps three
    // connections for as long as it runs.
    conn.pragma_update(None, "cache_size", -512)
        .map_err(failed)?;
    match role {
        Role::Memory => {}
        Role::Writer => {
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                .map_err(failed)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::NoWal {
                    path: path.to_path_buf(),
                    mode,
                });
            }
            // Truncate the WAL file after checkpoints that leave it larger than 32 MiB.
            conn.pragma_update(None, "journal_size_limit", 32 * 1024 * 1024)
                .map_err(failed)?;
        }
        Role::Reader => {
            conn.pragma_update(None, "query_only", true)
                .map_err(failed)?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Role {
    Memory,
    Writer,
    Reader,
}

/// Creates the file readable by its owner only (the WAL and shared-memory files inherit it).
fn create_private(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl Store {
    /// Opens (creating if needed) the database file at `path` with default options, and brings
    /// its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// Opens the database file at `path`.
    pub fn open_with(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        create_private(path)?;
        let open = || {
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })
        };
        let mut writer = open()?;
        configure(&writer, path, options, Role::Writer)?;
        migrate(&mut writer, path, MIGRATIONS)?;
        let readers = (0..options.readers.max(1))
            .map(|_| {
                let reader = open()?;
                configure(&reader, path, options, Role::Reader)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Self::new(path, writer, readers))
    }

    /// A private, empty database in memory (tests, dry runs). Reads and writes share its one
    /// connection.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let path = Path::new(":memory:");
        let mut conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        configure(&conn, path, &StoreOptions::default(), Role::Memory)?;
        migrate(&mut conn, path, MIGRATIONS)?;
        Ok(Self::new(path, conn, Vec::new()))
    }

    fn new(path: &Path, writer: Connection, readers: Vec<Mutex<Connection>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                ulids: Mutex::new(UlidClock::default()),
            }),
        }
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    fn reader_connection(&self) -> MutexGuard<'_, Connection> {
        let readers = &self.shared.readers;
        if readers.is_empty() {
            return lock(&self.shared.writer);
        }
        for reader in readers {
            if let Ok(guard) = reader.try_lock() {
                return guard;
            }
        }
        let next = self.shared.next_reader.fetch_add(1, Ordering::Relaxed);
        lock(&readers[next % readers.len()])
    }

    /// Runs `read` on a consistent snapshot of the committed state.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&Reader<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.reader_connection();
        let snapshot = conn.transaction().during("begin a read")?;
        let result = read(&Reader { conn: &snapshot });
        drop(snapshot);
        result
    }

    /// Runs `write` in one immediate transaction: committed when it returns `Ok`, rolled back
    /// when it returns `Err` (or panics).
    pub fn write<T, E: From<StoreError>>(
        &self,
        write: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = lock(&self.shared.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .during("begin a write")?;
        let tx = Tx {
            tx,
            ulids: &self.shared.ulids,
        };
        let value = write(&tx)?;
        tx.tx.commit().during("commit a write")?;
        Ok(value)
    }

    /// Copies the WAL into the database file and truncates it (the server can call this when
    /// idle; SQLite also checkpoints on its own every 1000 pages).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let conn = lock(&self.shared.writer);
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .during("checkpoint the write-ahead log")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn the_store_is_send_sync_and_clone() {
        assert_send_sync::<Store>();
    }

    #[test]
    fn a_failed_write_rolls_back_everything_it_did() {
        let store = Store::open_in_memory().unwrap();
        let result: Result<(), StoreError> = store.write(|tx| {
            tx.conn()
                .execute("INSERT INTO stage_status VALUES ('p', 's', '{}', 0)", [])
                .during("test insert")?;
            Err(StoreError::NoCurrentFreight {
                project: "p".into(),
                stage: "s".into(),
            })
        });
        assert!(result.is_err());
        let rows: i64 = store
            .read(|r| {
                r.conn
                    .query_row("SELECT count(*) FROM stage_status", [], |row| row.get(0))
                    .during("count")
            })
            .unwrap();
        assert_eq!(rows, 0);
    }

    #[test]
    fn file_databases_use_wal_and_foreign_keys_and_a_read_only_reader() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("state.db")).unwrap();
        let (mode, keys): (String, i64) = store
            .read(|r| {
                let mode = r
                    .conn
                    .pragma_query_value(None, "journal_mode", |row| row.get(0))
                    .during("journal mode")?;
                let keys = r
                    .conn
                    .pragma_query_value(None, "foreign_keys", |row| row.get(0))
                    .during("foreign keys")?;
                Ok((mode, keys))
            })
            .unwrap();
        assert_eq!((mode.as_str(), keys), ("wal", 1));
        let error = store
            .read(|r| {
                r.conn
                    .execute("INSERT INTO stage_status VALUES ('p', 's', '{}', 0)", [])
                    .during("write through a reader")
            })
            .unwrap_err();
        assert!(matches!(error, StoreError::Database { .. }), "{error:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_new_database_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let _store = Store::open(&path).unwrap();
        let mode = path.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
