//! The expression environment of a step (Kargo's `BuildCtxMap`): `ctx`, `vars`, `outputs` and,
//! inside an inflated task, `task.outputs`; and the [`Host`] that adds the current step and the
//! statuses so far to the caller's data, for `success()`, `failure()` and `status()`.

use std::collections::BTreeMap;

use gantry_api::kargo::{Freight, FreightRequest, Warehouse};
use gantry_expr::{Host, SecretData, Value};

use crate::inflate::Var;
use crate::status::PromotionStatus;
use crate::step::PromotionContext;

fn map(entries: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::map(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

/// `ctx` for a step (`meta.step.alias` is the step's alias).
pub fn ctx(context: &PromotionContext, alias: Option<&str>) -> Value {
    let freight = &context.target_freight;
    let mut target = vec![
        ("name", Value::string(freight.name.as_str())),
        (
            "origin",
            map([("name", Value::string(freight.origin.name.as_str()))]),
        ),
    ];
    if let Some(freight_alias) = &freight.alias {
        target.push(("alias", Value::string(freight_alias.as_str())));
    }
    let mut meta = vec![(
        "promotion",
        map([
            (
                "actor",
                Value::string(context.actor.as_deref().unwrap_or_default()),
            ),
            ("rollback", Value::Bool(context.rollback)),
        ]),
    )];
    if let Some(alias) = alias {
        meta.push(("step", map([("alias", Value::string(alias))])));
    }
    map([
        ("uiBaseUrl", Value::string(context.ui_base_url.as_str())),
        ("project", Value::string(context.project.as_str())),
        ("stage", Value::string(context.stage.as_str())),
        ("promotion", Value::string(context.promotion.as_str())),
        ("targetFreight", map(target)),
        ("meta", map(meta)),
    ])
}

/// The environment: `ctx`, `vars` and, when given, `outputs` and `task.outputs`.
pub fn environment(
    ctx: &Value,
    vars: &BTreeMap<String, Value>,
    outputs: Option<(&PromotionStatus, Option<&str>)>,
) -> Value {
    let mut env = BTreeMap::from([
        ("ctx".to_owned(), ctx.clone()),
        ("vars".to_owned(), Value::map(vars.clone())),
    ]);
    if let Some((status, namespace)) = outputs {
        let all = status
            .state
            .iter()
            .map(|(alias, output)| (alias.clone(), Value::from_json(output)))
            .collect();
        env.insert("outputs".to_owned(), Value::map(all));
        if let Some(namespace) = namespace {
            let prefix = format!("{namespace}::");
            let task = status
                .state
                .iter()
                .filter_map(|(alias, output)| {
                    alias
                        .strip_prefix(&prefix)
                        .map(|inner| (inner.to_owned(), Value::from_json(output)))
                })
                .collect();
            env.insert("task".to_owned(), map([("outputs", Value::map(task))]));
        }
    }
    Value::map(env)
}

/// Evaluates variables in order; each sees the ones before it.
pub fn evaluate_vars(
    vars: &[Var],
    into: &mut BTreeMap<String, Value>,
    ctx: &Value,
    outputs: Option<(&PromotionStatus, Option<&str>)>,
    host: &dyn Host,
) -> Result<(), String> {
    for var in vars {
        let template = gantry_expr::Template::compile(&var.value)
            .map_err(|e| format!("variable {:?}: {}", var.name, e.message))?;
        let env = environment(ctx, into, outputs);
        let value = template
            .render(&env, host)
            .map_err(|e| format!("variable {:?}: {}", var.name, e.message))?;
        into.insert(var.name.clone(), value);
    }
    Ok(())
}

/// The caller's data plus the step being evaluated and the statuses so far.
pub struct StepHost<'a> {
    /// The caller's data.
    pub inner: &'a dyn Host,
    /// The step being evaluated.
    pub current: &'a str,
    /// Statuses of the steps before it.
    pub statuses: Vec<gantry_expr::StepStatus>,
}

impl<'a> StepHost<'a> {
    /// Collects the statuses recorded in `status`.
    pub fn new(inner: &'a dyn Host, current: &'a str, status: &PromotionStatus) -> Self {
        let statuses = status
            .step_execution_metadata
            .iter()
            .filter(|meta| meta.alias != current)
            .filter_map(|meta| {
                meta.status.map(|s| gantry_expr::StepStatus {
                    alias: meta.alias.clone(),
                    status: s.as_str().to_owned(),
                    continue_on_error: meta.continue_on_error,
                })
            })
            .collect();
        Self {
            inner,
            current,
            statuses,
        }
    }
}

impl Host for StepHost<'_> {
    fn freight(&self) -> &[Freight] {
        self.inner.freight()
    }

    fn requested_freight(&self) -> &[FreightRequest] {
        self.inner.requested_freight()
    }

    fn warehouse(&self, name: &str) -> Result<Option<&Warehouse>, String> {
        self.inner.warehouse(name)
    }

    fn freight_by_name(&self, name: &str) -> Result<Option<&Freight>, String> {
        self.inner.freight_by_name(name)
    }

    fn stage_metadata(&self, name: &str) -> Result<Option<serde_json::Value>, String> {
        self.inner.stage_metadata(name)
    }

    fn config_map(
        &self,
        name: &str,
        shared: bool,
    ) -> Result<Option<BTreeMap<String, String>>, String> {
        self.inner.config_map(name, shared)
    }

    fn secret(&self, name: &str, shared: bool) -> Result<Option<SecretData>, String> {
        self.inner.secret(name, shared)
    }

    fn current_step(&self) -> Option<&str> {
        Some(self.current)
    }

    fn step_statuses(&self) -> &[gantry_expr::StepStatus] {
        &self.statuses
    }
}

/// Promotion data held in memory: what the CLI builds from manifests and the server from its
/// store.
#[derive(Clone, Debug, Default)]
pub struct PromotionData {
    /// The Freight collection, one per origin.
    pub freight: Vec<Freight>,
    /// The Stage's requested Freight.
    pub requested_freight: Vec<FreightRequest>,
    /// The Project's Warehouses by name.
    pub warehouses: BTreeMap<String, Warehouse>,
    /// Every known Freight by name.
    pub all_freight: BTreeMap<String, Freight>,
    /// Stage metadata by Stage name.
    pub stage_metadata: BTreeMap<String, serde_json::Value>,
    /// ConfigMaps of the Project by name.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// ConfigMaps of the shared namespace by name.
    pub shared_config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Secrets of the Project by name.
    pub secrets: BTreeMap<String, SecretData>,
    /// Secrets of the shared namespace by name.
    pub shared_secrets: BTreeMap<String, SecretData>,
}

impl Host for PromotionData {
    fn freight(&self) -> &[Freight] {
        &self.freight
    }

    fn requested_freight(&self) -> &[FreightRequest] {
        &self.requested_freight
    }

    fn warehouse(&self, name: &str) -> Result<Option<&Warehouse>, String> {
        Ok(self.warehouses.get(name))
    }

    fn freight_by_name(&self, name: &str) -> Result<Option<&Freight>, String> {
        Ok(self.all_freight.get(name).or_else(|| {
            self.freight
                .iter()
                .find(|f| f.metadata.name.as_deref() == Some(name))
        }))
    }

    fn stage_metadata(&self, name: &str) -> Result<Option<serde_json::Value>, String> {
        Ok(self.stage_metadata.get(name).cloned())
    }

    fn config_map(
        &self,
        name: &str,
        shared: bool,
    ) -> Result<Option<BTreeMap<String, String>>, String> {
        let maps = if shared {
            &self.shared_config_maps
        } else {
            &self.config_maps
        };
        Ok(maps.get(name).cloned())
    }

    fn secret(&self, name: &str, shared: bool) -> Result<Option<SecretData>, String> {
        let secrets = if shared {
            &self.shared_secrets
        } else {
            &self.secrets
        };
        Ok(secrets.get(name).cloned())
    }
}
