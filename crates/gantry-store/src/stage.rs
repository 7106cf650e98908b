//! Stage status, keyed by (project, stage): Freight history (newest first, at most 10, each
//! collection with its verification history), current and last Promotion, health, holds, the
//! failed-promotion memory that keeps auto-promotion from retrying, and metadata.

use std::time::SystemTime;

use gantry_api::kargo::{
    FreightCollection, FreightReference, Health, PromotionReference, PromotionReferenceStatus,
    StageStatus, VerificationInfo,
};
use rusqlite::{OptionalExtension, params};
use sha1_smol::Sha1;

use crate::error::{During, StoreError, decode, encode};
use crate::store::{Reader, Store, Tx};
use crate::time::now_millis;

/// How many Freight collections a Stage remembers (Kargo: 10).
pub const FREIGHT_HISTORY_LIMIT: usize = 10;
/// How many verification attempts a collection remembers (Kargo: 10).
pub const VERIFICATION_HISTORY_LIMIT: usize = 10;
/// How many failed Freight a Stage remembers for auto-promotion.
pub const FAILED_PROMOTIONS_LIMIT: usize = 20;

/// A collection's id: `hex(SHA1(join(sorted(freight names), ",")))`, as Kargo computes it.
pub fn collection_id<'a>(freight_names: impl IntoIterator<Item = &'a str>) -> String {
    let mut names: Vec<&str> = freight_names.into_iter().collect();
    names.sort_unstable();
    Sha1::from(names.join(",")).digest().to_string()
}

/// A collection of these Freight (keyed by origin, `Warehouse/name`), with its id.
pub fn freight_collection(items: impl IntoIterator<Item = FreightReference>) -> FreightCollection {
    let items: std::collections::BTreeMap<String, FreightReference> = items
        .into_iter()
        .map(|item| (item.origin_key(), item))
        .collect();
    FreightCollection {
        id: collection_id(items.values().map(|item| item.name.as_str())),
        items,
        verification_history: Vec::new(),
    }
}

/// Puts a collection at the head of a history (unless the head already is that collection) and
/// keeps the newest [`FREIGHT_HISTORY_LIMIT`].
pub fn record_in_history(history: &mut Vec<FreightCollection>, collection: FreightCollection) {
    if history.first().is_some_and(|head| head.id == collection.id) {
        return;
    }
    history.insert(0, collection);
    history.truncate(FREIGHT_HISTORY_LIMIT);
}

fn enforce_limits(status: &mut StageStatus) {
    status.freight_history.truncate(FREIGHT_HISTORY_LIMIT);
    for collection in &mut status.freight_history {
        collection
            .verification_history
            .truncate(VERIFICATION_HISTORY_LIMIT);
    }
    while status.failed_promotions.len() > FAILED_PROMOTIONS_LIMIT {
        let oldest = status
            .failed_promotions
            .iter()
            .min_by(|a, b| a.1.finished_at.cmp(&b.1.finished_at))
            .map(|(freight, _)| freight.clone());
        match oldest {
            Some(freight) => status.failed_promotions.remove(&freight),
            None => break,
        };
    }
}

impl Reader<'_> {
    /// The status of a Stage, if one was saved.
    pub fn stage_status(
        &self,
        project: &str,
        stage: &str,
    ) -> Result<Option<StageStatus>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT status FROM stage_status WHERE project = ?1 AND stage = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(params![project, stage], |row| row.get(0))
                    .optional()
            })
            .during("read a stage status")?;
        text.map(|text| {
            decode(&text, || {
                format!("status of stage {stage} in project {project}")
            })
        })
        .transpose()
    }

    /// The saved statuses of a Project's Stages, by name.
    pub fn stage_statuses(&self, project: &str) -> Result<Vec<(String, StageStatus)>, StoreError> {
        let rows: Vec<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT stage, status FROM stage_status WHERE project = ?1 ORDER BY stage",
            )
            .and_then(|mut stmt| {
                stmt.query_map([project], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .during("list stage statuses")?;
        rows.into_iter()
            .map(|(name, text)| {
                let status = decode(&text, || {
                    format!("status of stage {name} in project {project}")
                })?;
                Ok((name, status))
            })
            .collect()
    }
}

impl Tx<'_> {
    /// Saves (replaces) the status of a Stage, cutting histories to their limits.
    pub fn save_stage_status(
        &self,
        project: &str,
        stage: &str,
        status: &StageStatus,
    ) -> Result<(), StoreError> {
        self.store_stage_status(project, stage, &mut status.clone())
    }

    /// Cuts the histories of `status` to their limits and saves it.
    pub(crate) fn store_stage_status(
        &self,
        project: &str,
        stage: &str,
        status: &mut StageStatus,
    ) -> Result<(), StoreError> {
        enforce_limits(status);
        let text = encode(status, "stage status")?;
        self.conn()
            .prepare_cached(
                "INSERT INTO stage_status (project, stage, status, updated_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (project, stage)
                 DO UPDATE SET status = excluded.status, updated_ms = excluded.updated_ms",
            )
            .and_then(|mut stmt| stmt.execute(params![project, stage, text, now_millis()]))
            .during("save a stage status")?;
        Ok(())
    }

    /// Changes the status of a Stage (starting from the default when none was saved) and
    /// returns the result, histories cut to their limits.
    pub fn update_stage_status(
        &self,
        project: &str,
        stage: &str,
        change: impl FnOnce(&mut StageStatus),
    ) -> Result<StageStatus, StoreError> {
        let mut status = self
            .reader()
            .stage_status(project, stage)?
            .unwrap_or_default();
        change(&mut status);
        self.store_stage_status(project, stage, &mut status)?;
        Ok(status)
    }

    /// Forgets the status of a Stage (removed from the config); whether there was one.
    pub fn delete_stage_status(&self, project: &str, stage: &str) -> Result<bool, StoreError> {
        let deleted = self
            .conn()
            .execute(
                "DELETE FROM stage_status WHERE project = ?1 AND stage = ?2",
                params![project, stage],
            )
            .during("delete a stage status")?;
        Ok(deleted > 0)
    }

    /// Sets the Stage's health.
    pub fn set_stage_health(
        &self,
        project: &str,
        stage: &str,
        health: Option<Health>,
    ) -> Result<StageStatus, StoreError> {
        self.update_stage_status(project, stage, |status| status.health = health)
    }

    /// Sets one key of the Stage's metadata (the `set-metadata` step).
    pub fn set_stage_metadata(
        &self,
        project: &str,
        stage: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<StageStatus, StoreError> {
        self.update_stage_status(project, stage, |status| {
            status.metadata.insert(key.to_owned(), value);
        })
    }

    /// Points `currentPromotion` at a stored Promotion (with its Freight and phase), or clears
    /// it.
    pub fn set_current_promotion(
        &self,
        project: &str,
        stage: &str,
        promotion: Option<&str>,
    ) -> Result<StageStatus, StoreError> {
        let reference = match promotion {
            None => None,
            Some(name) => {
                let reader = self.reader();
                let record = reader.promotion(project, name)?.ok_or_else(|| {
                    StoreError::PromotionNotFound {
                        project: project.to_owned(),
                        name: name.to_owned(),
                    }
                })?;
                let freight = reader
                    .freight(project, &record.freight)?
                    .map(|f| FreightReference::of(&f.freight));
                Some(PromotionReference {
                    name: record.name,
                    freight,
                    status: Some(PromotionReferenceStatus {
                        phase: record.status.phase.to_string(),
                        message: record.status.message,
                    }),
                    finished_at: None,
                })
            }
        };
        self.update_stage_status(project, stage, |status| {
            status.current_promotion = reference;
        })
    }

    /// Records a verification attempt of the Freight the Stage holds now (replacing an earlier
    /// record with the same id); a `Successful` one marks every Freight of the collection
    /// verified in the Stage at `at`, in the same transaction.
    pub fn record_verification(
        &self,
        project: &str,
        stage: &str,
        info: VerificationInfo,
        at: SystemTime,
    ) -> Result<StageStatus, StoreError> {
        let mut status = self
            .reader()
            .stage_status(project, stage)?
            .unwrap_or_default();
        let Some(current) = status.freight_history.first_mut() else {
            return Err(StoreError::NoCurrentFreight {
                project: project.to_owned(),
                stage: stage.to_owned(),
            });
        };
        let successful = info.phase == "Successful";
        let history = &mut current.verification_history;
        match history.iter_mut().find(|old| old.id == info.id) {
            Some(old) => *old = info,
            None => history.insert(0, info),
        }
        history.truncate(VERIFICATION_HISTORY_LIMIT);
        if successful {
            for item in current.items.values() {
                self.mark_freight_verified(project, &item.name, stage, at)?;
            }
        }
        self.store_stage_status(project, stage, &mut status)?;
        Ok(status)
    }
}

impl Store {
    /// See [`Reader::stage_status`].
    pub fn stage_status(
        &self,
        project: &str,
        stage: &str,
    ) -> Result<Option<StageStatus>, StoreError> {
        self.read(|r| r.stage_status(project, stage))
    }

    /// See [`Reader::stage_statuses`].
    pub fn stage_statuses(&self, project: &str) -> Result<Vec<(String, StageStatus)>, StoreError> {
        self.read(|r| r.stage_statuses(project))
    }

    /// See [`Tx::save_stage_status`].
    pub fn save_stage_status(
        &self,
        project: &str,
        stage: &str,
        status: &StageStatus,
    ) -> Result<(), StoreError> {
        self.write(|tx| tx.save_stage_status(project, stage, status))
    }

    /// See [`Tx::update_stage_status`].
    pub fn update_stage_status(
        &self,
        project: &str,
        stage: &str,
        change: impl FnOnce(&mut StageStatus),
    ) -> Result<StageStatus, StoreError> {
        self.write(|tx| tx.update_stage_status(project, stage, change))
    }

    /// See [`Tx::record_verification`].
    pub fn record_verification(
        &self,
        project: &str,
        stage: &str,
        info: VerificationInfo,
        at: SystemTime,
    ) -> Result<StageStatus, StoreError> {
        self.write(|tx| tx.record_verification(project, stage, info, at))
    }
}

#[cfg(test)]
mod tests {
    use gantry_api::kargo::FreightOrigin;

    use super::*;

    fn reference(name: &str, warehouse: &str) -> FreightReference {
        FreightReference {
            name: name.into(),
            origin: FreightOrigin {
                kind: "Warehouse".into(),
                name: warehouse.into(),
            },
            ..Default::default()
        }
    }

    #[test]
    fn collection_ids_hash_the_sorted_comma_joined_freight_names() {
        // printf 'a,b' | sha1sum
        assert_eq!(
            collection_id(["b", "a"]),
            "5d8b1241b0484dd20c2cfeca6f692becfbab5d18"
        );
        assert_eq!(collection_id(["b", "a"]), collection_id(["a", "b"]));
        // printf 'abc' | sha1sum
        assert_eq!(
            collection_id(["abc"]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let collection = freight_collection([reference("f2", "w2"), reference("f1", "w1")]);
        assert_eq!(collection.id, collection_id(["f1", "f2"]));
        assert_eq!(
            collection.items.keys().collect::<Vec<_>>(),
            ["Warehouse/w1", "Warehouse/w2"]
        );
    }

    #[test]
    fn the_history_keeps_the_newest_ten_and_does_not_repeat_its_head() {
        let mut history = Vec::new();
        for i in 0..15 {
            record_in_history(
                &mut history,
                freight_collection([reference(&format!("f{i}"), "w")]),
            );
        }
        record_in_history(&mut history, freight_collection([reference("f14", "w")]));
        assert_eq!(history.len(), FREIGHT_HISTORY_LIMIT);
        assert_eq!(history[0].items["Warehouse/w"].name, "f14");
        assert_eq!(history[9].items["Warehouse/w"].name, "f5");
    }

    #[test]
    fn saved_stage_statuses_are_cut_to_the_limits() {
        let store = Store::open_in_memory().unwrap();
        let mut status = StageStatus::default();
        for i in 0..12 {
            let mut collection = freight_collection([reference(&format!("f{i}"), "w")]);
            collection.verification_history = (0..12)
                .map(|v| VerificationInfo {
                    id: format!("v{v}"),
                    phase: "Successful".into(),
                    ..Default::default()
                })
                .collect();
            status.freight_history.push(collection);
        }
        store.save_stage_status("p", "dev", &status).unwrap();
        let saved = store.stage_status("p", "dev").unwrap().unwrap();
        assert_eq!(saved.freight_history.len(), 10);
        assert!(
            saved
                .freight_history
                .iter()
                .all(|c| c.verification_history.len() == 10)
        );
    }

    #[test]
    fn verifying_without_current_freight_is_an_error() {
        let store = Store::open_in_memory().unwrap();
        let error = store
            .record_verification("p", "dev", VerificationInfo::default(), SystemTime::now())
            .unwrap_err();
        assert!(
            matches!(error, StoreError::NoCurrentFreight { .. }),
            "{error:?}"
        );
    }
}
