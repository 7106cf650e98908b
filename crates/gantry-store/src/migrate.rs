//! Versioned schema migrations with SQLite's `PRAGMA user_version`.
//!
//! Migration `i` (0-based) takes the schema from version `i` to `i + 1`; each runs in its own
//! immediate transaction together with the version bump, so a failure leaves the database at the
//! previous version, whole. A database whose version is newer than the newest migration was
//! written by a newer gantry and is refused rather than misread. `PRAGMA application_id` marks
//! the file as gantry's, so that a stray SQLite file of another program is refused too.
//!
//! To change the schema: add `schema/vN.sql` and append it to [`MIGRATIONS`]. Never edit a
//! migration that has shipped.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{During, StoreError};

/// `PRAGMA application_id` of gantry state databases (`GNTR`).
pub(crate) const APPLICATION_ID: i64 = 0x474E_5452;

/// The migrations, in order; migration `i` produces schema version `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[include_str!("schema/v1.sql")];

/// The schema version this build writes.
#[expect(
    clippy::cast_possible_wrap,
    reason = "a handful of migrations, far below i64::MAX"
)]
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to the newest schema version of `migrations`; returns the version it
/// found.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    migrations: &[&str],
) -> Result<i64, StoreError> {
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .during("read the schema version")?;
    let application_id: i64 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .during("read the application id")?;
    let foreign = if application_id == 0 {
        // A new, empty file is ours to take; anything else without our id is not.
        let objects: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
                [],
                |row| row.get(0),
            )
            .during("inspect the schema")?;
        found != 0 || objects != 0
    } else {
        application_id != APPLICATION_ID
    };
    if foreign {
        return Err(StoreError::NotGantry {
            path: path.to_path_buf(),
            application_id,
            version: found,
        });
    }
    if found > supported {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    for (version, sql) in (1..)
        .zip(migrations)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let failed = |source| StoreError::Migrate {
            path: path.to_path_buf(),
            version,
            source,
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        tx.execute_batch(sql).map_err(failed)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(failed)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_gets_every_migration_and_the_application_id() {
        let mut conn = Connection::open_in_memory().unwrap();
        let found = migrate(&mut conn, Path::new(":memory:"), MIGRATIONS).unwrap();
        assert_eq!(found, 0);
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let id: i64 = conn
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
        // Running again is a no-op.
        assert_eq!(
            migrate(&mut conn, Path::new(":memory:"), MIGRATIONS).unwrap(),
            SCHEMA_VERSION
        );
    }

    #[test]
    fn an_old_database_is_migrated_step_by_step_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        let v1 = "CREATE TABLE t (a INTEGER NOT NULL);";
        let v2 = "ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'new';";
        migrate(&mut conn, Path::new("x"), &[v1]).unwrap();
        conn.execute("INSERT INTO t (a) VALUES (7)", []).unwrap();
        let found = migrate(&mut conn, Path::new("x"), &[v1, v2]).unwrap();
        assert_eq!(found, 1);
        assert_eq!(version(&conn), 2);
        let row: (i64, String) = conn
            .query_row("SELECT a, b FROM t", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(row, (7, "new".to_owned()));
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version_whole() {
        let mut conn = Connection::open_in_memory().unwrap();
        let v1 = "CREATE TABLE t (a INTEGER);";
        let bad = "CREATE TABLE u (a INTEGER); INSERT INTO nowhere VALUES (1);";
        migrate(&mut conn, Path::new("x"), &[v1]).unwrap();
        let error = migrate(&mut conn, Path::new("x"), &[v1, bad]).unwrap_err();
        assert!(
            matches!(error, StoreError::Migrate { version: 2, .. }),
            "{error:?}"
        );
        assert_eq!(version(&conn), 1);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'u'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "the half-done migration was rolled back");
    }

    #[test]
    fn a_database_from_a_newer_gantry_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new("x"), MIGRATIONS).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let error = migrate(&mut conn, Path::new("state.db"), MIGRATIONS).unwrap_err();
        assert!(
            matches!(error, StoreError::SchemaTooNew { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("upgrade gantry"), "{error}");
    }

    #[test]
    fn a_database_of_another_program_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE theirs (x);").unwrap();
        let error = migrate(&mut conn, Path::new("x"), MIGRATIONS).unwrap_err();
        assert!(matches!(error, StoreError::NotGantry { .. }), "{error:?}");
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", 42).unwrap();
        let error = migrate(&mut conn, Path::new("x"), MIGRATIONS).unwrap_err();
        assert!(matches!(error, StoreError::NotGantry { .. }), "{error:?}");
    }
}
