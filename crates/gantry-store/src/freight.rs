//! Freight, keyed by (project, id): immutable content, a mutable alias (unique per project,
//! enforced by a UNIQUE index) and a mutable status (`currentlyIn`, `verifiedIn`, `approvedFor`,
//! `metadata`).
//!
//! Ids are content hashes (computed by `gantry-core`, not here), so inserting the same Freight
//! again is a no-op, and the same id with other artifacts is refused as a conflict.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::SystemTime;

use gantry_api::kargo::{ApprovedStage, CurrentStage, Freight, FreightStatus, VerifiedStage};
use gantry_api::time::{format_go_duration, format_rfc3339, parse_go_duration};
use rusqlite::{OptionalExtension, Row, params, params_from_iter};
use serde::Serialize;

use crate::error::{During, StoreError, decode, encode, is_unique_violation};
use crate::store::{Reader, Store, Tx};
use crate::time::{millis, now_millis, parse_millis, rfc3339_millis};

/// What [`Tx::insert_freight`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The Freight is new and was stored.
    Inserted,
    /// The same Freight (same id, same artifacts) was already stored; nothing changed.
    AlreadyExists,
}

/// A stored Freight and its status.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FreightRecord {
    /// The Freight (with its current alias; `status` is `None`, see [`FreightRecord::status`]).
    pub freight: Freight,
    /// Its status.
    pub status: FreightStatus,
    /// When the store first saw it (RFC 3339, milliseconds).
    pub created_at: String,
}

impl FreightRecord {
    /// The Freight's id.
    pub fn id(&self) -> &str {
        self.freight.metadata.name.as_deref().unwrap_or_default()
    }

    /// The Freight with its status inside, as Kargo shows it (and as expression functions such
    /// as `freightMetadata()` read it).
    pub fn into_kargo(self) -> Freight {
        let mut freight = self.freight;
        freight.status = serde_json::to_value(&self.status).ok();
        freight
    }
}

/// Which Freight [`Reader::list_freight`] returns; the filters combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FreightQuery {
    /// Only Freight from this Warehouse.
    pub warehouse: Option<String>,
    /// Only Freight currently in this Stage.
    pub currently_in: Option<String>,
    /// Only Freight verified in this Stage.
    pub verified_in: Option<String>,
    /// Only Freight approved for this Stage.
    pub approved_for: Option<String>,
    /// At most this many.
    pub limit: Option<usize>,
}

/// The part of a Freight its id is computed from; what must not change under one id.
fn identity(freight: &Freight) -> serde_json::Value {
    serde_json::json!({
        "origin": freight.origin,
        "commits": freight.commits,
        "images": freight.images,
        "charts": freight.charts,
        "artifacts": freight.artifacts,
    })
}

const COLUMNS: &str = "id, alias, created_ms, content, status";

fn record(project: &str, row: &Row<'_>) -> rusqlite::Result<Result<FreightRecord, StoreError>> {
    let id: String = row.get(0)?;
    let alias: Option<String> = row.get(1)?;
    let created_ms: i64 = row.get(2)?;
    let content: String = row.get(3)?;
    let status: String = row.get(4)?;
    Ok((|| {
        let mut freight: Freight =
            decode(&content, || format!("freight {id} in project {project}"))?;
        freight.alias = alias;
        let status = decode(&status, || {
            format!("status of freight {id} in project {project}")
        })?;
        Ok(FreightRecord {
            freight,
            status,
            created_at: rfc3339_millis(created_ms),
        })
    })())
}

impl Reader<'_> {
    fn freight_where(
        self,
        project: &str,
        column: &str,
        value: &str,
    ) -> Result<Option<FreightRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM freight WHERE project = ?1 AND {column} = ?2");
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_row(params![project, value], |row| record(project, row))
                    .optional()
            })
            .during("read a freight")?
            .transpose()
    }

    /// The Freight with this id.
    pub fn freight(&self, project: &str, id: &str) -> Result<Option<FreightRecord>, StoreError> {
        self.freight_where(project, "id", id)
    }

    /// The Freight with this alias.
    pub fn freight_by_alias(
        &self,
        project: &str,
        alias: &str,
    ) -> Result<Option<FreightRecord>, StoreError> {
        self.freight_where(project, "alias", alias)
    }

    /// The Freight with this id, or else with this alias.
    pub fn find_freight(
        &self,
        project: &str,
        id_or_alias: &str,
    ) -> Result<Option<FreightRecord>, StoreError> {
        match self.freight(project, id_or_alias)? {
            Some(found) => Ok(Some(found)),
            None => self.freight_by_alias(project, id_or_alias),
        }
    }

    /// Whether a Freight of the Project has this alias (the probe for
    /// `gantry_core::alias::generate`).
    pub fn alias_taken(&self, project: &str, alias: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT 1 FROM freight WHERE project = ?1 AND alias = ?2")
            .and_then(|mut stmt| stmt.exists(params![project, alias]))
            .during("look up a freight alias")
    }

    /// Freight of a Project, newest first (by `discoveredAt`, then id, descending: the order
    /// auto-promotion picks candidates in).
    pub fn list_freight(
        &self,
        project: &str,
        query: &FreightQuery,
    ) -> Result<Vec<FreightRecord>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM freight f WHERE project = ?1");
        let mut values = vec![project];
        if let Some(warehouse) = &query.warehouse {
            values.push(warehouse);
            let _ = write!(sql, " AND origin_name = ?{}", values.len());
        }
        for (stage, path) in [
            (&query.currently_in, "$.currentlyIn"),
            (&query.verified_in, "$.verifiedIn"),
            (&query.approved_for, "$.approvedFor"),
        ] {
            if let Some(stage) = stage {
                values.push(stage);
                let _ = write!(
                    sql,
                    " AND EXISTS (SELECT 1 FROM json_each(f.status, '{path}') WHERE key = ?{})",
                    values.len()
                );
            }
        }
        sql.push_str(" ORDER BY discovered_ms DESC, id DESC");
        if let Some(limit) = query.limit {
            let _ = write!(sql, " LIMIT {limit}");
        }
        let rows: Vec<Result<FreightRecord, StoreError>> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_map(params_from_iter(values), |row| record(project, row))?
                    .collect()
            })
            .during("list freight")?;
        rows.into_iter().collect()
    }

    /// How many Freight a Project has.
    pub fn freight_count(&self, project: &str) -> Result<u64, StoreError> {
        let count: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM freight WHERE project = ?1")
            .and_then(|mut stmt| stmt.query_row([project], |row| row.get(0)))
            .during("count freight")?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

fn stored_id(freight: &Freight) -> Result<&str, StoreError> {
    freight
        .metadata
        .name
        .as_deref()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| StoreError::FreightWithoutName {
            origin: format!("{}/{}", freight.origin.kind, freight.origin.name),
        })
}

impl Tx<'_> {
    /// Stores a new Freight (`metadata.name` is its id; `alias` is kept, `status` ignored: new
    /// Freight has none). The same Freight again is [`InsertOutcome::AlreadyExists`]; the same id
    /// with other artifacts is [`StoreError::FreightConflict`]; a used alias is
    /// [`StoreError::AliasTaken`]. A missing `discoveredAt` is set to now.
    pub fn insert_freight(
        &self,
        project: &str,
        freight: &Freight,
    ) -> Result<InsertOutcome, StoreError> {
        let id = stored_id(freight)?;
        let existing: Option<String> = self
            .conn()
            .prepare_cached("SELECT content FROM freight WHERE project = ?1 AND id = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(params![project, id], |row| row.get(0))
                    .optional()
            })
            .during("look up a freight")?;
        if let Some(existing) = existing {
            let existing: Freight =
                decode(&existing, || format!("freight {id} in project {project}"))?;
            return if identity(&existing) == identity(freight) {
                Ok(InsertOutcome::AlreadyExists)
            } else {
                Err(StoreError::FreightConflict {
                    project: project.to_owned(),
                    id: id.to_owned(),
                })
            };
        }
        if let Some(alias) = &freight.alias
            && self.reader().alias_taken(project, alias)?
        {
            return Err(StoreError::AliasTaken {
                project: project.to_owned(),
                alias: alias.clone(),
            });
        }
        let now = now_millis();
        let mut body = freight.clone();
        body.alias = None;
        body.status = None;
        body.metadata.namespace = Some(project.to_owned());
        let discovered_ms = if let Some(ms) = body.discovered_at.as_deref().and_then(parse_millis) {
            ms
        } else {
            body.discovered_at = Some(format_rfc3339(SystemTime::now()));
            now
        };
        let content = encode(&body, "freight")?;
        self.conn()
            .prepare_cached(
                "INSERT INTO freight (project, id, origin_kind, origin_name, alias,
                                      discovered_ms, created_ms, content)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    project,
                    id,
                    freight.origin.kind,
                    freight.origin.name,
                    freight.alias,
                    discovered_ms,
                    now,
                    content
                ])
            })
            .during("insert a freight")?;
        Ok(InsertOutcome::Inserted)
    }

    /// Like [`Tx::insert_freight`], but when the Freight has no alias, `generate` picks one in
    /// this transaction, given a probe that says whether an alias is taken (pass
    /// `|taken| gantry_core::alias::generate(id, taken)`). Returns the Freight's alias (the
    /// stored one when it already existed).
    pub fn insert_freight_with_alias(
        &self,
        project: &str,
        freight: &Freight,
        generate: impl FnOnce(&dyn Fn(&str) -> bool) -> Option<String>,
    ) -> Result<(InsertOutcome, Option<String>), StoreError> {
        let id = stored_id(freight)?;
        if freight.alias.is_some() {
            let outcome = self.insert_freight(project, freight)?;
            let alias = self
                .reader()
                .freight(project, id)?
                .and_then(|f| f.freight.alias);
            return Ok((outcome, alias));
        }
        if let Some(existing) = self.reader().freight(project, id)? {
            let outcome = self.insert_freight(project, freight)?;
            return Ok((outcome, existing.freight.alias));
        }
        let failure = RefCell::new(None);
        let reader = self.reader();
        let taken = |alias: &str| {
            if failure.borrow().is_some() {
                return true;
            }
            reader.alias_taken(project, alias).unwrap_or_else(|error| {
                failure.replace(Some(error));
                true
            })
        };
        let alias = generate(&taken);
        if let Some(error) = failure.into_inner() {
            return Err(error);
        }
        let mut named = freight.clone();
        named.alias.clone_from(&alias);
        let outcome = self.insert_freight(project, &named)?;
        Ok((outcome, alias))
    }

    /// Sets (or with `None` removes) a Freight's alias.
    pub fn set_freight_alias(
        &self,
        project: &str,
        id: &str,
        alias: Option<&str>,
    ) -> Result<(), StoreError> {
        let updated = self
            .conn()
            .prepare_cached("UPDATE freight SET alias = ?3 WHERE project = ?1 AND id = ?2")
            .and_then(|mut stmt| stmt.execute(params![project, id, alias]))
            .during("set a freight alias")
            .map_err(|error| match (is_unique_violation(&error), alias) {
                (true, Some(alias)) => StoreError::AliasTaken {
                    project: project.to_owned(),
                    alias: alias.to_owned(),
                },
                _ => error,
            })?;
        if updated == 0 {
            return Err(StoreError::FreightNotFound {
                project: project.to_owned(),
                freight: id.to_owned(),
            });
        }
        Ok(())
    }

    /// Changes a Freight's status and returns the result.
    pub fn update_freight_status(
        &self,
        project: &str,
        id: &str,
        change: impl FnOnce(&mut FreightStatus),
    ) -> Result<FreightStatus, StoreError> {
        let text: Option<String> = self
            .conn()
            .prepare_cached("SELECT status FROM freight WHERE project = ?1 AND id = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(params![project, id], |row| row.get(0))
                    .optional()
            })
            .during("read a freight status")?;
        let Some(text) = text else {
            return Err(StoreError::FreightNotFound {
                project: project.to_owned(),
                freight: id.to_owned(),
            });
        };
        let mut status: FreightStatus = decode(&text, || {
            format!("status of freight {id} in project {project}")
        })?;
        change(&mut status);
        let text = encode(&status, "freight status")?;
        self.conn()
            .prepare_cached("UPDATE freight SET status = ?3 WHERE project = ?1 AND id = ?2")
            .and_then(|mut stmt| stmt.execute(params![project, id, text]))
            .during("save a freight status")?;
        Ok(status)
    }

    /// Records that a Freight is in a Stage since `since` (kept when it already was).
    pub fn set_freight_current(
        &self,
        project: &str,
        id: &str,
        stage: &str,
        since: SystemTime,
    ) -> Result<FreightStatus, StoreError> {
        self.update_freight_status(project, id, |status| {
            status
                .currently_in
                .entry(stage.to_owned())
                .or_insert_with(|| CurrentStage {
                    since: Some(format_rfc3339(since)),
                });
        })
    }

    /// Records that a Freight left a Stage at `at`; when it was verified there, the stay counts
    /// towards its longest soak (Kargo's `RemoveCurrentStage`).
    pub fn clear_freight_current(
        &self,
        project: &str,
        id: &str,
        stage: &str,
        at: SystemTime,
    ) -> Result<FreightStatus, StoreError> {
        self.update_freight_status(project, id, |status| {
            let Some(current) = status.currently_in.remove(stage) else {
                return;
            };
            let Some(since) = current.since.as_deref().and_then(parse_millis) else {
                return;
            };
            let Some(verified) = status.verified_in.get_mut(stage) else {
                return;
            };
            let soak = std::time::Duration::from_millis(
                u64::try_from(millis(at).saturating_sub(since)).unwrap_or(0),
            );
            let longest = verified.longest_soak.as_deref().and_then(parse_go_duration);
            if longest.is_none_or(|longest| soak > longest) {
                // Whole seconds, as Kubernetes durations usually print.
                let soak = std::time::Duration::from_secs(soak.as_secs());
                verified.longest_soak = Some(format_go_duration(soak));
            }
        })
    }

    /// Records that a Freight was verified in a Stage (an earlier verification is kept).
    pub fn mark_freight_verified(
        &self,
        project: &str,
        id: &str,
        stage: &str,
        at: SystemTime,
    ) -> Result<FreightStatus, StoreError> {
        self.update_freight_status(project, id, |status| {
            status
                .verified_in
                .entry(stage.to_owned())
                .or_insert_with(|| VerifiedStage {
                    verified_at: Some(format_rfc3339(at)),
                    longest_soak: None,
                });
        })
    }

    /// Records a manual approval of a Freight for a Stage.
    pub fn approve_freight(
        &self,
        project: &str,
        id: &str,
        stage: &str,
        at: SystemTime,
    ) -> Result<FreightStatus, StoreError> {
        self.update_freight_status(project, id, |status| {
            status.approved_for.insert(
                stage.to_owned(),
                ApprovedStage {
                    approved_at: Some(format_rfc3339(at)),
                },
            );
        })
    }

    /// Sets one key of a Freight's metadata (the `set-metadata` step).
    pub fn set_freight_metadata(
        &self,
        project: &str,
        id: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<FreightStatus, StoreError> {
        self.update_freight_status(project, id, |status| {
            status.metadata.insert(key.to_owned(), value);
        })
    }
}

impl Store {
    /// See [`Reader::freight`].
    pub fn freight(&self, project: &str, id: &str) -> Result<Option<FreightRecord>, StoreError> {
        self.read(|r| r.freight(project, id))
    }

    /// See [`Reader::freight_by_alias`].
    pub fn freight_by_alias(
        &self,
        project: &str,
        alias: &str,
    ) -> Result<Option<FreightRecord>, StoreError> {
        self.read(|r| r.freight_by_alias(project, alias))
    }

    /// See [`Reader::find_freight`].
    pub fn find_freight(
        &self,
        project: &str,
        id_or_alias: &str,
    ) -> Result<Option<FreightRecord>, StoreError> {
        self.read(|r| r.find_freight(project, id_or_alias))
    }

    /// See [`Reader::alias_taken`].
    pub fn alias_taken(&self, project: &str, alias: &str) -> Result<bool, StoreError> {
        self.read(|r| r.alias_taken(project, alias))
    }

    /// See [`Reader::list_freight`].
    pub fn list_freight(
        &self,
        project: &str,
        query: &FreightQuery,
    ) -> Result<Vec<FreightRecord>, StoreError> {
        self.read(|r| r.list_freight(project, query))
    }

    /// See [`Tx::insert_freight`].
    pub fn insert_freight(
        &self,
        project: &str,
        freight: &Freight,
    ) -> Result<InsertOutcome, StoreError> {
        self.write(|tx| tx.insert_freight(project, freight))
    }

    /// See [`Tx::insert_freight_with_alias`].
    pub fn insert_freight_with_alias(
        &self,
        project: &str,
        freight: &Freight,
        generate: impl FnOnce(&dyn Fn(&str) -> bool) -> Option<String>,
    ) -> Result<(InsertOutcome, Option<String>), StoreError> {
        self.write(|tx| tx.insert_freight_with_alias(project, freight, generate))
    }

    /// See [`Tx::set_freight_alias`].
    pub fn set_freight_alias(
        &self,
        project: &str,
        id: &str,
        alias: Option<&str>,
    ) -> Result<(), StoreError> {
        self.write(|tx| tx.set_freight_alias(project, id, alias))
    }

    /// See [`Tx::update_freight_status`].
    pub fn update_freight_status(
        &self,
        project: &str,
        id: &str,
        change: impl FnOnce(&mut FreightStatus),
    ) -> Result<FreightStatus, StoreError> {
        self.write(|tx| tx.update_freight_status(project, id, change))
    }

    /// See [`Tx::approve_freight`].
    pub fn approve_freight(
        &self,
        project: &str,
        id: &str,
        stage: &str,
        at: SystemTime,
    ) -> Result<FreightStatus, StoreError> {
        self.write(|tx| tx.approve_freight(project, id, stage, at))
    }

    /// See [`Tx::set_freight_metadata`].
    pub fn set_freight_metadata(
        &self,
        project: &str,
        id: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<FreightStatus, StoreError> {
        self.write(|tx| tx.set_freight_metadata(project, id, key, value))
    }
}
