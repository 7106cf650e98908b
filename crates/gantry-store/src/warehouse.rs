//! Warehouse status, keyed by (project, warehouse): what the last discovery found, its
//! conditions (a failed discovery's reason and message live there) and the last Freight id.

use gantry_api::kargo::WarehouseStatus;
use rusqlite::{OptionalExtension, params};

use crate::error::{During, StoreError, decode, encode};
use crate::store::{Reader, Store, Tx};
use crate::time::now_millis;

impl Reader<'_> {
    /// The status of a Warehouse, if one was saved.
    pub fn warehouse_status(
        &self,
        project: &str,
        warehouse: &str,
    ) -> Result<Option<WarehouseStatus>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT status FROM warehouse_status WHERE project = ?1 AND warehouse = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![project, warehouse], |row| row.get(0))
                    .optional()
            })
            .during("read a warehouse status")?;
        text.map(|text| {
            decode(&text, || {
                format!("status of warehouse {warehouse} in project {project}")
            })
        })
        .transpose()
    }

    /// The saved statuses of a Project's Warehouses, by name.
    pub fn warehouse_statuses(
        &self,
        project: &str,
    ) -> Result<Vec<(String, WarehouseStatus)>, StoreError> {
        let rows: Vec<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT warehouse, status FROM warehouse_status WHERE project = ?1
                 ORDER BY warehouse",
            )
            .and_then(|mut stmt| {
                stmt.query_map([project], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .during("list warehouse statuses")?;
        rows.into_iter()
            .map(|(name, text)| {
                let status = decode(&text, || {
                    format!("status of warehouse {name} in project {project}")
                })?;
                Ok((name, status))
            })
            .collect()
    }
}

impl Tx<'_> {
    /// Saves (replaces) the status of a Warehouse.
    pub fn save_warehouse_status(
        &self,
        project: &str,
        warehouse: &str,
        status: &WarehouseStatus,
    ) -> Result<(), StoreError> {
        let text = encode(status, "warehouse status")?;
        self.conn()
            .prepare_cached(
                "INSERT INTO warehouse_status (project, warehouse, status, updated_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (project, warehouse)
                 DO UPDATE SET status = excluded.status, updated_ms = excluded.updated_ms",
            )
            .and_then(|mut stmt| stmt.execute(params![project, warehouse, text, now_millis()]))
            .during("save a warehouse status")?;
        Ok(())
    }

    /// Changes the status of a Warehouse (starting from the default when none was saved) and
    /// returns the result.
    pub fn update_warehouse_status(
        &self,
        project: &str,
        warehouse: &str,
        change: impl FnOnce(&mut WarehouseStatus),
    ) -> Result<WarehouseStatus, StoreError> {
        let mut status = self
            .reader()
            .warehouse_status(project, warehouse)?
            .unwrap_or_default();
        change(&mut status);
        self.save_warehouse_status(project, warehouse, &status)?;
        Ok(status)
    }

    /// Forgets the status of a Warehouse (removed from the config); whether there was one.
    pub fn delete_warehouse_status(
        &self,
        project: &str,
        warehouse: &str,
    ) -> Result<bool, StoreError> {
        let deleted = self
            .conn()
            .execute(
                "DELETE FROM warehouse_status WHERE project = ?1 AND warehouse = ?2",
                params![project, warehouse],
            )
            .during("delete a warehouse status")?;
        Ok(deleted > 0)
    }
}

impl Store {
    /// See [`Reader::warehouse_status`].
    pub fn warehouse_status(
        &self,
        project: &str,
        warehouse: &str,
    ) -> Result<Option<WarehouseStatus>, StoreError> {
        self.read(|r| r.warehouse_status(project, warehouse))
    }

    /// See [`Reader::warehouse_statuses`].
    pub fn warehouse_statuses(
        &self,
        project: &str,
    ) -> Result<Vec<(String, WarehouseStatus)>, StoreError> {
        self.read(|r| r.warehouse_statuses(project))
    }

    /// See [`Tx::save_warehouse_status`].
    pub fn save_warehouse_status(
        &self,
        project: &str,
        warehouse: &str,
        status: &WarehouseStatus,
    ) -> Result<(), StoreError> {
        self.write(|tx| tx.save_warehouse_status(project, warehouse, status))
    }

    /// See [`Tx::update_warehouse_status`].
    pub fn update_warehouse_status(
        &self,
        project: &str,
        warehouse: &str,
        change: impl FnOnce(&mut WarehouseStatus),
    ) -> Result<WarehouseStatus, StoreError> {
        self.write(|tx| tx.update_warehouse_status(project, warehouse, change))
    }
}

#[cfg(test)]
mod tests {
    use gantry_api::kargo::{
        Condition, DiscoveredArtifacts, DiscoveredImageReference, ImageDiscoveryResult,
    };

    use super::*;

    fn discovered() -> WarehouseStatus {
        WarehouseStatus {
            last_freight_id: Some("abc".into()),
            discovered_artifacts: Some(DiscoveredArtifacts {
                discovered_at: Some("2026-01-01T00:00:00Z".into()),
                images: vec![ImageDiscoveryResult {
                    repo_url: "registry.local/app".into(),
                    references: vec![DiscoveredImageReference {
                        tag: "1.0.0".into(),
                        digest: "sha256:00".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn warehouse_statuses_round_trip_per_project_and_name() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.warehouse_status("p", "w").unwrap(), None);
        store
            .save_warehouse_status("p", "w", &discovered())
            .unwrap();
        store
            .save_warehouse_status("q", "w", &WarehouseStatus::default())
            .unwrap();
        assert_eq!(
            store.warehouse_status("p", "w").unwrap(),
            Some(discovered())
        );
        assert_eq!(
            store.warehouse_status("q", "w").unwrap(),
            Some(WarehouseStatus::default())
        );
        let failed = store
            .update_warehouse_status("p", "w", |status| {
                status.conditions = vec![Condition {
                    type_: "Healthy".into(),
                    status: "False".into(),
                    reason: Some("DiscoveryFailed".into()),
                    message: Some("registry unreachable".into()),
                    ..Default::default()
                }];
            })
            .unwrap();
        assert_eq!(
            failed.discovered_artifacts,
            discovered().discovered_artifacts,
            "a failed discovery keeps what the last one found"
        );
        let all = store.warehouse_statuses("p").unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0].1.conditions[0].reason.as_deref(),
            Some("DiscoveryFailed")
        );
        assert!(
            store
                .write(|tx| tx.delete_warehouse_status("p", "w"))
                .unwrap()
        );
        assert_eq!(store.warehouse_status("p", "w").unwrap(), None);
    }
}
