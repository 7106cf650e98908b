//! The append-only event and audit log: who promoted what, when, with which commit. Rows cannot
//! be changed or deleted (triggers refuse it); ids only grow (`AUTOINCREMENT`), so a reader can
//! follow the log with a cursor ([`EventQuery::after`]), as a server-sent-events stream does.

use std::fmt::Write as _;

use rusqlite::{Row, params, params_from_iter, types::Value as SqlValue};
use serde::{Deserialize, Serialize};

use crate::error::{During, StoreError, decode, encode};
use crate::store::{Reader, Store, Tx};
use crate::time::{now_millis, rfc3339_millis};

/// Event kinds gantry writes (Kargo's event reasons where Kargo has one).
pub mod kinds {
    /// A Warehouse created Freight.
    pub const FREIGHT_CREATED: &str = "FreightCreated";
    /// A Freight was approved for a Stage.
    pub const FREIGHT_APPROVED: &str = "FreightApproved";
    /// A Freight was verified in a Stage.
    pub const FREIGHT_VERIFICATION_SUCCEEDED: &str = "FreightVerificationSucceeded";
    /// Verifying a Freight in a Stage failed.
    pub const FREIGHT_VERIFICATION_FAILED: &str = "FreightVerificationFailed";
    /// A Promotion was created.
    pub const PROMOTION_CREATED: &str = "PromotionCreated";
    /// A Promotion started running.
    pub const PROMOTION_STARTED: &str = "PromotionStarted";
    /// A Promotion succeeded.
    pub const PROMOTION_SUCCEEDED: &str = "PromotionSucceeded";
    /// A Promotion failed.
    pub const PROMOTION_FAILED: &str = "PromotionFailed";
    /// A Promotion errored.
    pub const PROMOTION_ERRORED: &str = "PromotionErrored";
    /// A Promotion was aborted.
    pub const PROMOTION_ABORTED: &str = "PromotionAborted";
    /// A Warehouse discovery failed.
    pub const DISCOVERY_FAILED: &str = "DiscoveryFailed";
}

/// An event to append.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewEvent {
    /// The Project, when the event belongs to one.
    pub project: Option<String>,
    /// What happened (see [`kinds`]).
    pub kind: String,
    /// What it happened to (`promotion/dev.01h….abc1234`, `stage/dev`, `freight/<id>`).
    pub subject: String,
    /// Who did it (`admin`, `webhook:github`), `None` for gantry itself.
    pub actor: Option<String>,
    /// One line for people.
    pub message: String,
    /// Structured details (commit ids, Freight, phase...); `null` is stored as `{}`.
    pub details: serde_json::Value,
}

impl NewEvent {
    /// An event of `kind` about `subject`.
    pub fn new(
        kind: impl Into<String>,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            subject: subject.into(),
            message: message.into(),
            ..Self::default()
        }
    }

    /// In this Project.
    #[must_use]
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Done by this actor.
    #[must_use]
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// With these details.
    #[must_use]
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A logged event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Its position in the log (grows by at least 1 per event, never reused).
    pub id: i64,
    /// When it was logged (RFC 3339, milliseconds).
    pub time: String,
    /// The Project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// What happened.
    pub kind: String,
    /// What it happened to.
    pub subject: String,
    /// Who did it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// One line for people.
    pub message: String,
    /// Structured details.
    pub details: serde_json::Value,
}

/// Which events [`Reader::events`] returns; the filters combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events of this Project.
    pub project: Option<String>,
    /// Only events of this kind.
    pub kind: Option<String>,
    /// Only events about this subject.
    pub subject: Option<String>,
    /// Only events with a larger id (a stream's cursor).
    pub after: Option<i64>,
    /// Only events with a smaller id (paging backwards).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: Option<usize>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
}

fn event(row: &Row<'_>) -> rusqlite::Result<Result<Event, StoreError>> {
    let id: i64 = row.get(0)?;
    let at_ms: i64 = row.get(1)?;
    let details: String = row.get(7)?;
    let fields = Event {
        id,
        time: rfc3339_millis(at_ms),
        project: row.get(2)?,
        kind: row.get(3)?,
        subject: row.get(4)?,
        actor: row.get(5)?,
        message: row.get(6)?,
        details: serde_json::Value::Null,
    };
    Ok(decode(&details, || format!("details of event {id}"))
        .map(|details| Event { details, ..fields }))
}

impl Reader<'_> {
    /// Events matching `query`, oldest first unless [`EventQuery::newest_first`].
    pub fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let mut sql = String::from(
            "SELECT id, at_ms, project, kind, subject, actor, message, details FROM event WHERE 1",
        );
        let mut values: Vec<SqlValue> = Vec::new();
        let mut filter = |clause: &str, value: SqlValue| {
            values.push(value);
            let _ = write!(sql, " AND {clause} ?{}", values.len());
        };
        if let Some(project) = &query.project {
            filter("project =", SqlValue::Text(project.clone()));
        }
        if let Some(kind) = &query.kind {
            filter("kind =", SqlValue::Text(kind.clone()));
        }
        if let Some(subject) = &query.subject {
            filter("subject =", SqlValue::Text(subject.clone()));
        }
        if let Some(after) = query.after {
            filter("id >", SqlValue::Integer(after));
        }
        if let Some(before) = query.before {
            filter("id <", SqlValue::Integer(before));
        }
        sql.push_str(if query.newest_first {
            " ORDER BY id DESC"
        } else {
            " ORDER BY id"
        });
        if let Some(limit) = query.limit {
            let _ = write!(sql, " LIMIT {limit}");
        }
        let rows: Vec<Result<Event, StoreError>> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_map(params_from_iter(values), event)?.collect())
            .during("list events")?;
        rows.into_iter().collect()
    }

    /// The id of the newest event (0 when the log is empty).
    pub fn last_event_id(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT coalesce(max(id), 0) FROM event", [], |row| {
                row.get(0)
            })
            .during("read the last event id")
    }
}

impl Tx<'_> {
    /// Appends an event and returns it as logged.
    pub fn append_event(&self, new: &NewEvent) -> Result<Event, StoreError> {
        let details = if new.details.is_null() {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            new.details.clone()
        };
        let text = encode(&details, "event details")?;
        let at_ms = now_millis();
        let id = self
            .conn()
            .prepare_cached(
                "INSERT INTO event (at_ms, project, kind, subject, actor, message, details)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        at_ms,
                        new.project,
                        new.kind,
                        new.subject,
                        new.actor,
                        new.message,
                        text
                    ],
                    |row| row.get(0),
                )
            })
            .during("append an event")?;
        Ok(Event {
            id,
            time: rfc3339_millis(at_ms),
            project: new.project.clone(),
            kind: new.kind.clone(),
            subject: new.subject.clone(),
            actor: new.actor.clone(),
            message: new.message.clone(),
            details,
        })
    }
}

impl Store {
    /// See [`Reader::events`].
    pub fn events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        self.read(|r| r.events(query))
    }

    /// See [`Reader::last_event_id`].
    #[expect(
        clippy::redundant_closure_for_method_calls,
        reason = "the method path is not general over the reader's lifetime"
    )]
    pub fn last_event_id(&self) -> Result<i64, StoreError> {
        self.read(|r| r.last_event_id())
    }

    /// See [`Tx::append_event`].
    pub fn append_event(&self, new: &NewEvent) -> Result<Event, StoreError> {
        self.write(|tx| tx.append_event(new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_listed_with_filters_and_a_cursor() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.last_event_id().unwrap(), 0);
        for (project, kind) in [("a", "X"), ("b", "X"), ("a", "Y"), ("a", "X")] {
            store
                .append_event(
                    &NewEvent::new(kind, "stage/dev", format!("{kind} in {project}"))
                        .project(project)
                        .actor("tester")
                        .details(serde_json::json!({"commit": "abc"})),
                )
                .unwrap();
        }
        let all = store.events(&EventQuery::default()).unwrap();
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(all[0].details["commit"], "abc");
        assert_eq!(all[0].actor.as_deref(), Some("tester"));
        let query = EventQuery {
            project: Some("a".into()),
            kind: Some("X".into()),
            ..EventQuery::default()
        };
        let ids: Vec<i64> = store.events(&query).unwrap().iter().map(|e| e.id).collect();
        assert_eq!(ids, [1, 4]);
        let after = EventQuery {
            after: Some(2),
            ..EventQuery::default()
        };
        let ids: Vec<i64> = store.events(&after).unwrap().iter().map(|e| e.id).collect();
        assert_eq!(ids, [3, 4]);
        let newest = EventQuery {
            newest_first: true,
            limit: Some(2),
            before: Some(4),
            ..EventQuery::default()
        };
        let ids: Vec<i64> = store
            .events(&newest)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, [3, 2]);
        assert_eq!(store.last_event_id().unwrap(), 4);
    }

    #[test]
    fn the_event_log_refuses_changes_and_deletions() {
        let store = Store::open_in_memory().unwrap();
        store.append_event(&NewEvent::new("X", "s", "m")).unwrap();
        for sql in ["UPDATE event SET message = 'forged'", "DELETE FROM event"] {
            let error = store
                .write(|tx| tx.conn().execute(sql, []).during("tamper"))
                .unwrap_err();
            assert!(
                format!("{error:?}").contains("append-only"),
                "{sql}: {error:?}"
            );
        }
        assert_eq!(
            store.events(&EventQuery::default()).unwrap()[0].message,
            "m"
        );
    }
}
