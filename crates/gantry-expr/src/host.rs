//! What functions such as `imageFrom()` and `secret()` read: a trait the promotion engine
//! implements, so that this crate stays pure. Every method has an empty default, which is what
//! Kargo's functions see outside a promotion (no Freight, nothing found).

use std::collections::BTreeMap;

use gantry_api::kargo::{Freight, FreightRequest, Warehouse};

/// A step's execution status, for `success()`, `failure()` and `status()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepStatus {
    /// The step's alias (`task-1::step-2` inside an inflated task).
    pub alias: String,
    /// `Succeeded`, `Failed`, `Errored`, `Skipped`, `Running`.
    pub status: String,
    /// Set when the step's failure must not count (`continueOnError`).
    pub continue_on_error: bool,
}

/// The data of a Secret, decoded, with whether it is labelled as a generic credential
/// (`kargo.akuity.io/cred-type: generic`), which `sharedSecret()` requires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretData {
    /// Keys to decoded values.
    pub data: BTreeMap<String, String>,
    /// Labelled `kargo.akuity.io/cred-type: generic`.
    pub generic: bool,
}

/// Promotion data for expression functions. Errors are messages (the caller adds context).
pub trait Host {
    /// The Promotion's Freight collection: one Freight per origin, ordered by origin
    /// (`Warehouse/name`).
    fn freight(&self) -> &[Freight] {
        &[]
    }

    /// The Stage's requested Freight, in order.
    fn requested_freight(&self) -> &[FreightRequest] {
        &[]
    }

    /// A Warehouse of the Project, by name.
    fn warehouse(&self, name: &str) -> Result<Option<&Warehouse>, String> {
        let _ = name;
        Ok(None)
    }

    /// A Freight of the Project, by name (for `freightMetadata()` and `freightStatus()`).
    fn freight_by_name(&self, name: &str) -> Result<Option<&Freight>, String> {
        let _ = name;
        Ok(None)
    }

    /// A Stage's `status.metadata`, or `None` when the Stage or its metadata is missing.
    fn stage_metadata(&self, name: &str) -> Result<Option<serde_json::Value>, String> {
        let _ = name;
        Ok(None)
    }

    /// A ConfigMap's data; `shared` reads the shared-resources namespace.
    fn config_map(
        &self,
        name: &str,
        shared: bool,
    ) -> Result<Option<BTreeMap<String, String>>, String> {
        let _ = (name, shared);
        Ok(None)
    }

    /// A Secret's decoded data; `shared` reads the shared-resources namespace.
    fn secret(&self, name: &str, shared: bool) -> Result<Option<SecretData>, String> {
        let _ = (name, shared);
        Ok(None)
    }

    /// The alias of the step being evaluated, when evaluating a step.
    fn current_step(&self) -> Option<&str> {
        None
    }

    /// The statuses of the steps run so far, in order.
    fn step_statuses(&self) -> &[StepStatus] {
        &[]
    }
}

/// A host with no promotion data: lookups find nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHost;

impl Host for NoHost {}
