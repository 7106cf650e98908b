use gantry_store::{NewEvent, SCHEMA_VERSION, Store, StoreError};
use rusqlite::Connection;

fn user_version(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[test]
fn an_empty_old_database_file_is_migrated_to_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    // A database at version 0, as an interrupted first start could leave it.
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 0;")
        .unwrap();
    let store = Store::open(&path).unwrap();
    store
        .append_event(&NewEvent::new("Test", "s", "after migration"))
        .unwrap();
    drop(store);
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.last_event_id().unwrap(),
        1,
        "reopening keeps the rows"
    );
}

#[test]
fn a_database_from_a_newer_gantry_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(Store::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 3)
        .unwrap();
    let error = Store::open(&path).unwrap_err();
    assert!(
        matches!(error, StoreError::SchemaTooNew { found, supported, .. }
            if found == SCHEMA_VERSION + 3 && supported == SCHEMA_VERSION),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("newer than version"), "{message}");
    assert!(message.contains("upgrade gantry"), "{message}");
    assert!(message.contains("state.db"), "{message}");
    assert_eq!(user_version(&path), SCHEMA_VERSION + 3, "left untouched");
}

#[test]
fn a_database_of_another_program_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE notes (text TEXT);")
        .unwrap();
    let error = Store::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::NotGantry { .. }), "{error:?}");
    assert!(error.to_string().contains("not a gantry state database"));
}
