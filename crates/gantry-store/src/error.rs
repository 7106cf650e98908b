//! The one error type of the store. Every variant names what was being attempted; database
//! failures carry the operation (`insert freight`) and keep SQLite's error as their source.

use std::path::PathBuf;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or configured.
    #[error("failed to open the state database {path}")]
    Open {
        /// The database file (`:memory:` for an in-memory store).
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database file could not be created with private permissions.
    #[error("failed to create the state database {path}")]
    Create {
        /// The database file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused write-ahead logging (some network file systems do).
    #[error("the state database {path} cannot use write-ahead logging (journal mode is {mode})")]
    NoWal {
        /// The database file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// The file is an SQLite database of some other program.
    #[error(
        "{path} is not a gantry state database (application id {application_id:#x}, schema version {version})"
    )]
    NotGantry {
        /// The database file.
        path: PathBuf,
        /// The `application_id` found.
        application_id: i64,
        /// The `user_version` found.
        version: i64,
    },
    /// The database was written by a newer gantry.
    #[error(
        "the state database {path} has schema version {found}, newer than version {supported} that this gantry knows; upgrade gantry or use another data dir"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The schema version in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// A schema migration failed; the database stays at the previous version.
    #[error("failed to migrate the state database {path} to schema version {version}")]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The version that failed.
        version: i64,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A query or statement failed.
    #[error("state database error while trying to {operation}")]
    Database {
        /// What was being done (`insert freight`).
        operation: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored JSON document does not decode (written by a buggy or newer gantry).
    #[error("stored {what} does not decode")]
    Decode {
        /// Which document (`status of stage dev in project p`).
        what: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be encoded as JSON.
    #[error("failed to encode {what} as JSON")]
    Encode {
        /// Which value.
        what: &'static str,
        /// The encoding error.
        #[source]
        source: serde_json::Error,
    },
    /// Freight without `metadata.name` (its id) cannot be stored.
    #[error("freight from {origin} has no name (its id)")]
    FreightWithoutName {
        /// `Warehouse/name`.
        origin: String,
    },
    /// Freight with this id exists with other artifacts: ids are content hashes, so this is a bug
    /// or a hash collision.
    #[error("freight {id} already exists in project {project} with different content")]
    FreightConflict {
        /// The Project.
        project: String,
        /// The Freight id.
        id: String,
    },
    /// No Freight with this id (or alias).
    #[error("freight {freight} not found in project {project}")]
    FreightNotFound {
        /// The Project.
        project: String,
        /// The id or alias asked for.
        freight: String,
    },
    /// Another Freight of the Project has this alias.
    #[error("alias {alias} is already used by another freight in project {project}")]
    AliasTaken {
        /// The Project.
        project: String,
        /// The alias.
        alias: String,
    },
    /// No Promotion with this name.
    #[error("promotion {name} not found in project {project}")]
    PromotionNotFound {
        /// The Project.
        project: String,
        /// The Promotion's name.
        name: String,
    },
    /// A Promotion that ended cannot change.
    #[error("promotion {name} already finished as {phase}; its status cannot change")]
    PromotionFinished {
        /// The Promotion's name.
        name: String,
        /// Its terminal phase.
        phase: String,
    },
    /// A phase change that the Promotion lifecycle does not allow.
    #[error("promotion {name} cannot go from {from} to {to}{hint}")]
    InvalidTransition {
        /// The Promotion's name.
        name: String,
        /// The stored phase.
        from: String,
        /// The requested phase.
        to: String,
        /// How to do it instead, when there is a way (starts with `; `).
        hint: &'static str,
    },
    /// The Stage holds no Freight, so there is nothing to verify.
    #[error("stage {stage} in project {project} holds no freight to verify")]
    NoCurrentFreight {
        /// The Project.
        project: String,
        /// The Stage.
        stage: String,
    },
}

/// Adds the operation to rusqlite errors.
pub(crate) trait During<T> {
    /// Wraps an error as [`StoreError::Database`].
    fn during(self, operation: &'static str) -> Result<T, StoreError>;
}

impl<T> During<T> for rusqlite::Result<T> {
    fn during(self, operation: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Database { operation, source })
    }
}

/// Decodes a stored JSON document.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Decode {
        what: what(),
        source,
    })
}

/// Encodes a value as JSON.
pub(crate) fn encode<T: serde::Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { what, source })
}

/// Whether an error is a violated UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Database {
            source: rusqlite::Error::SqliteFailure(failure, _),
            ..
        } if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
