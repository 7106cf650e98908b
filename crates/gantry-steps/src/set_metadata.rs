//! `set-metadata`: upserts keys of a Stage's or Freight's `status.metadata`.

use gantry_engine::{StepError, StepResult};
use serde::Deserialize;

use crate::registry::{MetadataUpdate, Step, StepContext};

/// The `set-metadata` step.
pub struct SetMetadata;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    updates: Vec<Update>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    kind: String,
    name: String,
    values: serde_json::Map<String, serde_json::Value>,
}

impl Step for SetMetadata {
    fn kind(&self) -> &'static str {
        "set-metadata"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        for update in config.updates {
            if update.kind != "Stage" && update.kind != "Freight" {
                return Err(StepError::failed(format!(
                    "invalid config: kind must be Stage or Freight, got {:?}",
                    update.kind
                )));
            }
            context
                .services
                .metadata
                .apply(&MetadataUpdate {
                    kind: update.kind,
                    name: update.name,
                    values: update.values,
                })
                .map_err(StepError::retryable)?;
        }
        Ok(StepResult::succeeded(serde_json::Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Harness;

    #[test]
    fn updates_reach_the_metadata_sink() {
        let harness = Harness::new();
        harness
            .run(
                "set-metadata",
                json!({"updates": [{"kind": "Stage", "name": "dev", "values": {"a": 1}}]}),
            )
            .unwrap();
        let recorded = harness.metadata.0.lock().unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].name, "dev");
        assert_eq!(json!(recorded[0].values), json!({"a": 1}));
    }
}
