//! `cargo bench -p gantry-expr --bench templates`: compile and render every config of the seed
//! PromotionTask (`tests/fixtures/seed/pipeline/promotion-task.yaml`, 7 expressions in 6 step
//! configs), with `imageFrom()` answered from an in-memory Freight collection, and print
//! figures.
//!
//! Target: a whole task's configs in well under 100 µs, so expressions never show next to git.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    reason = "a benchmark prints figures and fails loudly"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use gantry_api::kargo::{Freight, FreightRequest, Warehouse};
use gantry_api::{LoadOptions, Object, ResourceSet};
use gantry_expr::{Config, Host, Value};

struct Seed {
    freight: Vec<Freight>,
    requests: Vec<FreightRequest>,
    warehouse: Warehouse,
}

impl Host for Seed {
    fn freight(&self) -> &[Freight] {
        &self.freight
    }
    fn requested_freight(&self) -> &[FreightRequest] {
        &self.requests
    }
    fn warehouse(&self, name: &str) -> Result<Option<&Warehouse>, String> {
        Ok((self.warehouse.metadata.name.as_deref() == Some(name)).then_some(&self.warehouse))
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seed/pipeline");
    let set = ResourceSet::load_paths(&[root], LoadOptions::default());
    let mut configs = Vec::new();
    let mut vars = serde_json::Map::new();
    let mut warehouse = None;
    for resource in &set.resources {
        match &resource.object {
            Object::PromotionTask(task) => {
                for var in &task.spec.vars {
                    vars.insert(
                        var.name.clone(),
                        serde_json::json!(var.value.clone().unwrap_or_default()),
                    );
                }
                for step in &task.spec.steps {
                    if let Some(config) = &step.config {
                        configs.push(config.clone());
                    }
                }
            }
            Object::Warehouse(w) => warehouse = Some(w.clone()),
            _ => {}
        }
    }
    let warehouse = warehouse.unwrap();
    let freight: Freight = serde_json::from_value(serde_json::json!({
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight", "metadata": {"name": "abc123"},
        "origin": {"kind": "Warehouse", "name": warehouse.metadata.name},
        "images": [{"repoURL": vars["imageRepo"], "tag": "1.10.0", "digest": "sha256:0f"}],
    }))
    .unwrap();
    let host = Seed {
        requests: vec![serde_json::from_value(serde_json::json!({"origin": {"kind": "Warehouse", "name": warehouse.metadata.name}})).unwrap()],
        freight: vec![freight],
        warehouse,
    };
    let env = Value::from_json(&serde_json::json!({
        "ctx": {"project": "develop", "stage": "frontend-dev-stage", "promotion": "p1"},
        "vars": vars,
        "task": {"outputs": {"update-image": {"commitMessage": "Updated tag"}, "commit": {"commit": "0a1b2c3d"}}},
    }));
    let expressions: usize = configs
        .iter()
        .map(|c| c.to_string().matches("${{").count())
        .sum();

    // sanity: the rendered tag is the quoted string, as Kargo writes it
    let compiled: Vec<Config> = configs
        .iter()
        .map(|c| Config::compile(c).unwrap())
        .collect();
    let rendered = compiled[2]
        .render(&env, &host)
        .unwrap()
        .to_go_json()
        .unwrap();
    assert!(rendered.contains(r#""value":"1.10.0""#), "{rendered}");

    let rounds = 15;
    let per_round = 2_000;
    let mut compile_only = Vec::new();
    let mut render_only = Vec::new();
    let mut both = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..per_round {
            for config in &configs {
                std::hint::black_box(Config::compile(config).unwrap());
            }
        }
        compile_only.push(start.elapsed() / per_round);
        let start = Instant::now();
        for _ in 0..per_round {
            for config in &compiled {
                std::hint::black_box(config.render(&env, &host).unwrap());
            }
        }
        render_only.push(start.elapsed() / per_round);
        let start = Instant::now();
        for _ in 0..per_round {
            for config in &configs {
                let config = Config::compile(config).unwrap();
                std::hint::black_box(config.render(&env, &host).unwrap());
            }
        }
        both.push(start.elapsed() / per_round);
    }
    let (compile_only, render_only, both) =
        (median(compile_only), median(render_only), median(both));
    let per_sec = |d: Duration| 1.0 / d.as_secs_f64();
    println!(
        "seed PromotionTask: {} step configs, {expressions} expressions (median of {rounds} rounds of {per_round})",
        configs.len()
    );
    println!(
        "  compile all configs:           {compile_only:>10.2?}  ({:>9.0} tasks/s)",
        per_sec(compile_only)
    );
    println!(
        "  render all (compiled once):    {render_only:>10.2?}  ({:>9.0} tasks/s, {:>9.0} expressions/s)",
        per_sec(render_only),
        per_sec(render_only) * expressions as f64
    );
    println!(
        "  compile + render all:          {both:>10.2?}  ({:>9.0} tasks/s, {:>9.0} expressions/s)",
        per_sec(both),
        per_sec(both) * expressions as f64
    );
}
