//! Promotions, keyed by (project, name): what to run (`spec`, opaque to the store), the
//! engine's [`PromotionStatus`] saved after every step, and the queue.
//!
//! Names are Kargo's `<stage>.<ULID>.<freight7>`; the ULIDs of one Stage only grow (even when
//! the clock goes back), so name order is creation order and the queue is name order. One
//! Promotion at a time per Stage: [`Reader::next_pending`] is the running one, else the oldest
//! pending one. A Promotion's status can change until it ends; the end goes through
//! [`Tx::promotion_finished`], which updates the Stage, the Freight and the log in the same
//! transaction, and after which the Promotion never changes again.

use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::time::SystemTime;

use gantry_api::kargo::{
    FailedPromotion, FreightReference, PromotionReference, PromotionReferenceStatus, StageStatus,
};
use gantry_api::time::format_rfc3339;
use gantry_engine::name::{promotion_name, ulid};
use gantry_engine::{Phase, PromotionStatus};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::error::{During, StoreError, decode, encode};
use crate::event::{Event, NewEvent, kinds};
use crate::stage::{freight_collection, record_in_history};
use crate::store::{Reader, Store, Tx};
use crate::time::{now_millis, parse_millis, rfc3339_millis};

/// A Promotion to create.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewPromotion {
    /// The Project.
    pub project: String,
    /// The Stage to promote into.
    pub stage: String,
    /// The Freight id (must be stored).
    pub freight: String,
    /// Who asked (`None` for auto-promotion).
    pub actor: Option<String>,
    /// What the runner needs to run and resume it (inflated steps, vars, context); the store
    /// keeps it as it is.
    pub spec: serde_json::Value,
}

/// A stored Promotion.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionRecord {
    /// The Project.
    pub project: String,
    /// `<stage>.<ulid>.<freight7>`.
    pub name: String,
    /// The Stage.
    pub stage: String,
    /// The Freight id.
    pub freight: String,
    /// Who asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// When it was created (RFC 3339, milliseconds).
    pub created_at: String,
    /// When it last changed (RFC 3339, milliseconds).
    pub updated_at: String,
    /// What to run, as given to [`Tx::create_promotion`].
    pub spec: serde_json::Value,
    /// Progress, as last saved.
    pub status: PromotionStatus,
}

/// Which Promotions [`Reader::list_promotions`] returns; the filters combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromotionQuery {
    /// Only Promotions into this Stage.
    pub stage: Option<String>,
    /// Only Promotions of this Freight id.
    pub freight: Option<String>,
    /// Only unfinished (pending or running) ones.
    pub unfinished: bool,
    /// At most this many.
    pub limit: Option<usize>,
}

/// A Promotion's end, for [`Tx::promotion_finished`].
#[derive(Clone, Debug)]
pub struct FinishedPromotion<'a> {
    /// The Project.
    pub project: &'a str,
    /// The Promotion's name.
    pub name: &'a str,
    /// Its final status (a terminal phase).
    pub status: &'a PromotionStatus,
    /// Who ended it, for the log (default: who created it).
    pub actor: Option<&'a str>,
    /// Details added to the logged event (the commits the steps reported are added anyway).
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// What [`Tx::promotion_finished`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct FinishOutcome {
    /// The Promotion as it ended.
    pub promotion: PromotionRecord,
    /// The Stage's new status.
    pub stage_status: StageStatus,
    /// The logged event.
    pub event: Event,
}

// ---------------------------------------------------------------------------------------------
// ULIDs

const RANDOM_BITS: u32 = 80;
const RANDOM_MASK: u128 = (1 << RANDOM_BITS) - 1;

/// Hands out ULIDs (as 128-bit numbers) that only grow within a process.
#[derive(Debug, Default)]
pub(crate) struct UlidClock {
    last: u128,
}

impl UlidClock {
    /// The next ULID for `now_ms`, above both the last one handed out and `floor`.
    fn next(&mut self, now_ms: i64, floor: u128) -> u128 {
        let state = RandomState::new();
        let random =
            (u128::from(state.hash_one(1u8)) << 64 | u128::from(state.hash_one(2u8))) & RANDOM_MASK;
        let time = u128::from(u64::try_from(now_ms).unwrap_or(0) & 0xFFFF_FFFF_FFFF);
        let value = (time << RANDOM_BITS | random)
            .max(self.last.saturating_add(1))
            .max(floor.saturating_add(1));
        self.last = value;
        value
    }
}

fn ulid_text(value: u128) -> String {
    ulid(u64::try_from(value >> RANDOM_BITS).unwrap_or(0), value)
}

/// Parses a ULID (Crockford base 32, any case).
fn parse_ulid(text: &str) -> Option<u128> {
    if text.len() != 26 {
        return None;
    }
    text.bytes().try_fold(0u128, |value, byte| {
        let digit = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
            .iter()
            .position(|c| *c == byte.to_ascii_uppercase())?;
        Some(value << 5 | u128::try_from(digit).ok()?)
    })
}

// ---------------------------------------------------------------------------------------------
// Reads

const COLUMNS: &str = "project, name, stage, freight, actor, created_ms, updated_ms, spec, status";

fn record(row: &Row<'_>) -> rusqlite::Result<Result<PromotionRecord, StoreError>> {
    let project: String = row.get(0)?;
    let name: String = row.get(1)?;
    let created_ms: i64 = row.get(5)?;
    let updated_ms: i64 = row.get(6)?;
    let spec: String = row.get(7)?;
    let status: String = row.get(8)?;
    let stage = row.get(2)?;
    let freight = row.get(3)?;
    let actor = row.get(4)?;
    Ok((|| {
        Ok(PromotionRecord {
            spec: decode(&spec, || format!("spec of promotion {name}"))?,
            status: decode(&status, || format!("status of promotion {name}"))?,
            project,
            name,
            stage,
            freight,
            actor,
            created_at: rfc3339_millis(created_ms),
            updated_at: rfc3339_millis(updated_ms),
        })
    })())
}

impl Reader<'_> {
    fn promotions(
        self,
        sql: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<PromotionRecord>, StoreError> {
        let rows: Vec<Result<PromotionRecord, StoreError>> = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_map(values, record)?.collect())
            .during("list promotions")?;
        rows.into_iter().collect()
    }

    /// The Promotion with this name.
    pub fn promotion(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<PromotionRecord>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM promotion WHERE project = ?1 AND name = ?2"
            ))
            .and_then(|mut stmt| stmt.query_row(params![project, name], record).optional())
            .during("read a promotion")?
            .transpose()
    }

    /// A Project's Promotions, newest first.
    pub fn list_promotions(
        &self,
        project: &str,
        query: &PromotionQuery,
    ) -> Result<Vec<PromotionRecord>, StoreError> {
        let mut sql = format!(
            "SELECT {COLUMNS} FROM promotion WHERE project = ?1
             AND (?2 IS NULL OR stage = ?2) AND (?3 IS NULL OR freight = ?3)"
        );
        if query.unfinished {
            sql.push_str(" AND phase IN ('Pending', 'Running')");
        }
        sql.push_str(" ORDER BY created_ms DESC, name DESC");
        if let Some(limit) = query.limit {
            let _ = write!(sql, " LIMIT {limit}");
        }
        self.promotions(&sql, params![project, query.stage, query.freight])
    }

    /// A Stage's unfinished Promotions in the order they run: the running one first, then the
    /// pending ones by name (creation order).
    pub fn promotion_queue(
        &self,
        project: &str,
        stage: &str,
    ) -> Result<Vec<PromotionRecord>, StoreError> {
        self.promotions(
            &format!(
                "SELECT {COLUMNS} FROM promotion
                 WHERE project = ?1 AND stage = ?2 AND phase IN ('Pending', 'Running')
                 ORDER BY phase = 'Running' DESC, name"
            ),
            params![project, stage],
        )
    }

    /// The Promotion a Stage runs now or next: the running one, else the oldest pending one.
    pub fn next_pending(
        &self,
        project: &str,
        stage: &str,
    ) -> Result<Option<PromotionRecord>, StoreError> {
        Ok(self
            .promotions(
                &format!(
                    "SELECT {COLUMNS} FROM promotion
                     WHERE project = ?1 AND stage = ?2 AND phase IN ('Pending', 'Running')
                     ORDER BY phase = 'Running' DESC, name LIMIT 1"
                ),
                params![project, stage],
            )?
            .pop())
    }

    /// Every running Promotion of every Project (to resume after a restart), by Project and
    /// name.
    pub fn running_promotions(&self) -> Result<Vec<PromotionRecord>, StoreError> {
        self.promotions(
            &format!(
                "SELECT {COLUMNS} FROM promotion WHERE phase = 'Running' ORDER BY project, name"
            ),
            &[],
        )
    }

    /// Every pending or running Promotion of every Project, by Project, Stage and name (to end
    /// those whose Stage left the config).
    pub fn unfinished_promotions(&self) -> Result<Vec<PromotionRecord>, StoreError> {
        self.promotions(
            &format!(
                "SELECT {COLUMNS} FROM promotion WHERE phase IN ('Pending', 'Running')
                 ORDER BY project, stage, name"
            ),
            &[],
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Writes

fn phase_text(phase: Phase) -> &'static str {
    phase.as_str()
}

fn parse_phase(text: &str) -> Phase {
    match text {
        "Running" => Phase::Running,
        "Succeeded" => Phase::Succeeded,
        "Failed" => Phase::Failed,
        "Errored" => Phase::Errored,
        "Aborted" => Phase::Aborted,
        _ => Phase::Pending,
    }
}

/// Commit ids the steps reported (`state.<alias>.commit`), for the log.
fn reported_commits(status: &PromotionStatus) -> Vec<serde_json::Value> {
    status
        .state
        .iter()
        .filter_map(|(alias, output)| {
            let commit = output.get("commit")?.as_str()?;
            Some(serde_json::json!({ "step": alias, "commit": commit }))
        })
        .collect()
}

impl Tx<'_> {
    fn stored_phase(&self, project: &str, name: &str) -> Result<Phase, StoreError> {
        let phase: Option<String> = self
            .conn()
            .prepare_cached("SELECT phase FROM promotion WHERE project = ?1 AND name = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(params![project, name], |row| row.get(0))
                    .optional()
            })
            .during("read a promotion phase")?;
        let phase = phase.ok_or_else(|| StoreError::PromotionNotFound {
            project: project.to_owned(),
            name: name.to_owned(),
        })?;
        let phase = parse_phase(&phase);
        if phase.is_terminal() {
            return Err(StoreError::PromotionFinished {
                name: name.to_owned(),
                phase: phase.to_string(),
            });
        }
        Ok(phase)
    }

    fn write_status(
        &self,
        project: &str,
        name: &str,
        status: &PromotionStatus,
    ) -> Result<(), StoreError> {
        let text = encode(status, "promotion status")?;
        self.conn()
            .prepare_cached(
                "UPDATE promotion SET phase = ?3, status = ?4, updated_ms = ?5
                 WHERE project = ?1 AND name = ?2",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    project,
                    name,
                    phase_text(status.phase),
                    text,
                    now_millis()
                ])
            })
            .during("save a promotion status")?;
        Ok(())
    }

    /// Creates a pending Promotion with a fresh name (`<stage>.<ULID>.<freight7>`, after every
    /// earlier Promotion of the Stage).
    pub fn create_promotion(&self, new: &NewPromotion) -> Result<PromotionRecord, StoreError> {
        let reader = self.reader();
        if reader.freight(&new.project, &new.freight)?.is_none() {
            return Err(StoreError::FreightNotFound {
                project: new.project.clone(),
                freight: new.freight.clone(),
            });
        }
        let newest: Option<String> = self
            .conn()
            .prepare_cached(
                "SELECT name FROM promotion WHERE project = ?1 AND stage = ?2
                 ORDER BY name DESC LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![new.project, new.stage], |row| row.get(0))
                    .optional()
            })
            .during("read the newest promotion of a stage")?;
        let floor = newest
            .as_deref()
            .and_then(|name| name.rsplit('.').nth(1))
            .and_then(parse_ulid)
            .unwrap_or(0);
        let now = now_millis();
        let id = {
            let mut clock = self
                .ulids
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            clock.next(now, floor)
        };
        let name = promotion_name(&new.stage, &ulid_text(id), &new.freight);
        let status = PromotionStatus::default();
        let spec = encode(&new.spec, "promotion spec")?;
        let status_text = encode(&status, "promotion status")?;
        self.conn()
            .prepare_cached(
                "INSERT INTO promotion (project, name, stage, freight, phase, actor,
                                        created_ms, updated_ms, spec, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    new.project,
                    name,
                    new.stage,
                    new.freight,
                    phase_text(status.phase),
                    new.actor,
                    now,
                    spec,
                    status_text
                ])
            })
            .during("create a promotion")?;
        Ok(PromotionRecord {
            project: new.project.clone(),
            name,
            stage: new.stage.clone(),
            freight: new.freight.clone(),
            actor: new.actor.clone(),
            created_at: rfc3339_millis(now),
            updated_at: rfc3339_millis(now),
            spec: new.spec.clone(),
            status,
        })
    }

    /// Saves the progress of an unfinished Promotion (call it after every step). Allowed:
    /// Pending → Pending | Running, Running → Running. The end goes through
    /// [`Tx::promotion_finished`].
    pub fn save_promotion_status(
        &self,
        project: &str,
        name: &str,
        status: &PromotionStatus,
    ) -> Result<(), StoreError> {
        let from = self.stored_phase(project, name)?;
        let to = status.phase;
        let hint = if to.is_terminal() {
            "; a promotion ends through promotion_finished"
        } else {
            ""
        };
        if to.is_terminal() || (from == Phase::Running && to == Phase::Pending) {
            return Err(StoreError::InvalidTransition {
                name: name.to_owned(),
                from: from.to_string(),
                to: to.to_string(),
                hint,
            });
        }
        self.write_status(project, name, status)
    }

    /// Ends a Promotion, in one transaction: saves its final status; sets the Stage's
    /// `lastPromotion` and clears its `currentPromotion`; on success records the new Freight
    /// collection in the Stage's history (the promoted Freight replacing the one of the same
    /// origin), moves `currentlyIn` from the Freight that left to the Freight that arrived, and
    /// forgets an earlier failure of this Freight; on failure remembers it (auto-promotion then
    /// leaves this Freight alone); and logs the event.
    pub fn promotion_finished(
        &self,
        finished: &FinishedPromotion<'_>,
    ) -> Result<FinishOutcome, StoreError> {
        let FinishedPromotion {
            project,
            name,
            status,
            ..
        } = *finished;
        let from = self.stored_phase(project, name)?;
        if !status.phase.is_terminal() {
            return Err(StoreError::InvalidTransition {
                name: name.to_owned(),
                from: from.to_string(),
                to: status.phase.to_string(),
                hint: "; save progress with save_promotion_status",
            });
        }
        self.write_status(project, name, status)?;
        let reader = self.reader();
        let promotion =
            reader
                .promotion(project, name)?
                .ok_or_else(|| StoreError::PromotionNotFound {
                    project: project.to_owned(),
                    name: name.to_owned(),
                })?;
        let stage = promotion.stage.as_str();
        let freight = reader
            .freight(project, &promotion.freight)?
            .ok_or_else(|| StoreError::FreightNotFound {
                project: project.to_owned(),
                freight: promotion.freight.clone(),
            })?;
        let finished_at = status
            .finished_at
            .as_deref()
            .and_then(parse_millis)
            .map_or_else(SystemTime::now, crate::time::from_millis);
        let finished_text = format_rfc3339(finished_at);
        let target = FreightReference::of(&freight.freight);
        let mut stage_status = reader.stage_status(project, stage)?.unwrap_or_default();
        stage_status.last_promotion = Some(PromotionReference {
            name: name.to_owned(),
            freight: Some(target.clone()),
            status: Some(PromotionReferenceStatus {
                phase: status.phase.to_string(),
                message: status.message.clone(),
            }),
            finished_at: Some(finished_text.clone()),
        });
        if stage_status
            .current_promotion
            .as_ref()
            .is_none_or(|current| current.name == name)
        {
            stage_status.current_promotion = None;
        }
        if status.phase == Phase::Succeeded {
            let before = stage_status.current_freight().cloned().unwrap_or_default();
            let mut items = before.items.clone();
            items.insert(target.origin_key(), target.clone());
            let after = freight_collection(items.into_values());
            for left in before.items.values() {
                if after.items.values().any(|item| item.name == left.name) {
                    continue;
                }
                match self.clear_freight_current(project, &left.name, stage, finished_at) {
                    Ok(_) | Err(StoreError::FreightNotFound { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            for arrived in after.items.values() {
                if !before.items.values().any(|item| item.name == arrived.name) {
                    self.set_freight_current(project, &arrived.name, stage, finished_at)?;
                }
            }
            record_in_history(&mut stage_status.freight_history, after);
            stage_status.failed_promotions.remove(&promotion.freight);
        } else {
            stage_status.failed_promotions.insert(
                promotion.freight.clone(),
                FailedPromotion {
                    promotion: name.to_owned(),
                    phase: status.phase.to_string(),
                    message: status.message.clone(),
                    finished_at: Some(finished_text),
                },
            );
        }
        self.store_stage_status(project, stage, &mut stage_status)?;

        let shown = freight
            .freight
            .alias
            .clone()
            .unwrap_or_else(|| promotion.freight.chars().take(7).collect());
        let (kind, message) = match status.phase {
            Phase::Succeeded => (
                kinds::PROMOTION_SUCCEEDED,
                format!("promoted freight {shown} to stage {stage}"),
            ),
            phase => {
                let kind = match phase {
                    Phase::Aborted => kinds::PROMOTION_ABORTED,
                    Phase::Errored => kinds::PROMOTION_ERRORED,
                    _ => kinds::PROMOTION_FAILED,
                };
                let verb = match phase {
                    Phase::Aborted => "was aborted",
                    Phase::Errored => "errored",
                    _ => "failed",
                };
                let reason = status
                    .message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                (
                    kind,
                    format!("promotion of freight {shown} to stage {stage} {verb}{reason}"),
                )
            }
        };
        let mut details = serde_json::Map::new();
        details.insert("promotion".into(), name.into());
        details.insert("stage".into(), stage.into());
        details.insert("freight".into(), promotion.freight.clone().into());
        if let Some(alias) = &freight.freight.alias {
            details.insert("alias".into(), alias.clone().into());
        }
        details.insert("phase".into(), status.phase.as_str().into());
        if let Some(message) = &status.message {
            details.insert("message".into(), message.clone().into());
        }
        let commits = reported_commits(status);
        if !commits.is_empty() {
            details.insert("commits".into(), commits.into());
        }
        details.extend(finished.details.clone());
        let event = self.append_event(&NewEvent {
            project: Some(project.to_owned()),
            kind: kind.to_owned(),
            subject: format!("promotion/{name}"),
            actor: finished
                .actor
                .map(str::to_owned)
                .or_else(|| promotion.actor.clone()),
            message,
            details: details.into(),
        })?;
        let promotion = PromotionRecord {
            status: status.clone(),
            ..promotion
        };
        Ok(FinishOutcome {
            promotion,
            stage_status,
            event,
        })
    }
}

impl Store {
    /// See [`Reader::promotion`].
    pub fn promotion(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<PromotionRecord>, StoreError> {
        self.read(|r| r.promotion(project, name))
    }

    /// See [`Reader::list_promotions`].
    pub fn list_promotions(
        &self,
        project: &str,
        query: &PromotionQuery,
    ) -> Result<Vec<PromotionRecord>, StoreError> {
        self.read(|r| r.list_promotions(project, query))
    }

    /// See [`Reader::promotion_queue`].
    pub fn promotion_queue(
        &self,
        project: &str,
        stage: &str,
    ) -> Result<Vec<PromotionRecord>, StoreError> {
        self.read(|r| r.promotion_queue(project, stage))
    }

    /// See [`Reader::next_pending`].
    pub fn next_pending(
        &self,
        project: &str,
        stage: &str,
    ) -> Result<Option<PromotionRecord>, StoreError> {
        self.read(|r| r.next_pending(project, stage))
    }

    /// See [`Reader::running_promotions`].
    #[expect(
        clippy::redundant_closure_for_method_calls,
        reason = "the method path is not general over the reader's lifetime"
    )]
    pub fn running_promotions(&self) -> Result<Vec<PromotionRecord>, StoreError> {
        self.read(|r| r.running_promotions())
    }

    /// See [`Reader::unfinished_promotions`].
    #[expect(
        clippy::redundant_closure_for_method_calls,
        reason = "the method path is not general over the reader's lifetime"
    )]
    pub fn unfinished_promotions(&self) -> Result<Vec<PromotionRecord>, StoreError> {
        self.read(|r| r.unfinished_promotions())
    }

    /// See [`Tx::create_promotion`].
    pub fn create_promotion(&self, new: &NewPromotion) -> Result<PromotionRecord, StoreError> {
        self.write(|tx| tx.create_promotion(new))
    }

    /// See [`Tx::save_promotion_status`].
    pub fn save_promotion_status(
        &self,
        project: &str,
        name: &str,
        status: &PromotionStatus,
    ) -> Result<(), StoreError> {
        self.write(|tx| tx.save_promotion_status(project, name, status))
    }

    /// See [`Tx::promotion_finished`].
    pub fn promotion_finished(
        &self,
        finished: &FinishedPromotion<'_>,
    ) -> Result<FinishOutcome, StoreError> {
        self.write(|tx| tx.promotion_finished(finished))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_grow_even_when_the_clock_goes_back() {
        let mut clock = UlidClock::default();
        let a = clock.next(2_000, 0);
        let b = clock.next(1_000, 0);
        let c = clock.next(2_000, 0);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert!(ulid_text(a) < ulid_text(b));
        let floor = parse_ulid(&ulid_text(c + 1_000_000)).unwrap();
        let d = clock.next(0, floor);
        assert!(d > floor);
    }

    #[test]
    fn ulids_parse_back_in_any_case() {
        let value = 0x0123_4567_89AB_CDEF_0123_4567_89AB_CDEF;
        let text = ulid_text(value);
        assert_eq!(parse_ulid(&text), Some(value));
        assert_eq!(parse_ulid(&text.to_lowercase()), Some(value));
        assert_eq!(parse_ulid("too-short"), None);
        assert_eq!(parse_ulid("UUUUUUUUUUUUUUUUUUUUUUUUUU"), None);
    }
}
