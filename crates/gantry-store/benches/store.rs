//! `cargo bench -p gantry-store --bench store`: the state store on a real file (WAL,
//! `synchronous=NORMAL`), one transaction per call as the server makes them. Prints:
//! freight inserts per second, promotion step-state save latency (p50/p95), event appends per
//! second, promotion finish latency, and the open time of a database holding 10,000 Freight.

#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark prints figures"
)]

use std::time::{Duration, Instant};

use gantry_api::kargo::{Freight, FreightOrigin, Image};
use gantry_api::meta::ObjectMeta;
use gantry_engine::{Phase, PromotionStatus, StepExecutionMetadata, StepStatus};
use gantry_store::{EventQuery, FinishedPromotion, FreightQuery, NewEvent, NewPromotion, Store};

const FREIGHT: usize = 10_000;
const SAVES: usize = 2_000;
const EVENTS: usize = 10_000;

fn freight(i: usize) -> Freight {
    Freight {
        api_version: "kargo.akuity.io/v1alpha1".into(),
        kind: "Freight".into(),
        metadata: ObjectMeta {
            name: Some(format!("{i:040x}")),
            ..Default::default()
        },
        alias: Some(format!("alias-{i}")),
        discovered_at: Some(format!(
            "2026-01-01T{:02}:{:02}:{:02}Z",
            i / 3600 % 24,
            i / 60 % 60,
            i % 60
        )),
        origin: FreightOrigin {
            kind: "Warehouse".into(),
            name: format!("svc-{}", i % 20),
        },
        images: vec![Image {
            repo_url: format!("registry.example.com/team/svc-{}", i % 20),
            tag: Some(format!("1.{}.{}", i / 100, i % 100)),
            digest: Some(format!("sha256:{i:064x}")),
            annotations: [
                (
                    "org.opencontainers.image.revision".to_owned(),
                    format!("{i:040x}"),
                ),
                (
                    "org.opencontainers.image.source".to_owned(),
                    "https://git.example.com/team/svc".to_owned(),
                ),
            ]
            .into(),
            subscription_name: None,
        }],
        ..Default::default()
    }
}

/// A status like a six-step promotion's halfway through: metadata per step and some outputs.
fn status(step: usize) -> PromotionStatus {
    let mut status = PromotionStatus {
        phase: Phase::Running,
        current_step: step,
        started_at: Some("2026-01-01T00:00:00Z".into()),
        ..Default::default()
    };
    for (i, alias) in ["clone", "update", "commit", "push", "argocd", "notify"]
        .iter()
        .enumerate()
        .take(step + 1)
    {
        status.step_execution_metadata.push(StepExecutionMetadata {
            alias: (*alias).to_owned(),
            started_at: Some("2026-01-01T00:00:00Z".into()),
            finished_at: (i < step).then(|| "2026-01-01T00:00:01Z".into()),
            status: Some(if i < step {
                StepStatus::Succeeded
            } else {
                StepStatus::Running
            }),
            ..Default::default()
        });
        status.state.insert(
            (*alias).to_owned(),
            serde_json::json!({
                "commit": format!("{i:040x}"),
                "commitMessage": "Updated develop/frontend/instance.yaml to use new image\n\nregistry.example.com/team/frontend:1.2.3",
                "path": "/var/lib/gantry/work/dev.01j0000000000000000000000.abcdef0/repo",
            }),
        );
    }
    status
}

/// The `percent`-th percentile (nearest rank) of sorted samples.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let index = (sorted.len().saturating_sub(1) * percent + 50) / 100;
    sorted[index.min(sorted.len().saturating_sub(1))]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let dir = tempfile::tempdir().expect("a temp dir can be created");
    let path = dir.path().join("state.db");
    let store = Store::open(&path).expect("the store opens");

    // Freight inserts, one transaction each.
    let all: Vec<Freight> = (0..FREIGHT).map(freight).collect();
    let started = Instant::now();
    for f in &all {
        store.insert_freight("bench", f).expect("insert");
    }
    let elapsed = started.elapsed();
    println!(
        "freight insert:        {:>9.0} /s  ({FREIGHT} single-row transactions in {:.2} s)",
        FREIGHT as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );

    // Listing the newest Freight of one Warehouse, as availability checks do.
    let query = FreightQuery {
        warehouse: Some("svc-3".into()),
        limit: Some(20),
        ..Default::default()
    };
    let mut lists: Vec<Duration> = (0..200)
        .map(|_| {
            let started = Instant::now();
            store.list_freight("bench", &query).expect("list");
            started.elapsed()
        })
        .collect();
    lists.sort();
    println!(
        "list newest 20 freight: p50 {:>7.1} µs  p95 {:>7.1} µs (of {FREIGHT})",
        micros(percentile(&lists, 50)),
        micros(percentile(&lists, 95))
    );

    // Promotion step-state saves.
    let promotion = store
        .create_promotion(&NewPromotion {
            project: "bench".into(),
            stage: "develop".into(),
            freight: all[0].metadata.name.clone().unwrap_or_default(),
            actor: None,
            spec: serde_json::json!({"steps": ["clone", "update", "commit", "push", "argocd", "notify"]}),
        })
        .expect("create promotion");
    let statuses: Vec<PromotionStatus> = (0..6).map(status).collect();
    let size = serde_json::to_vec(&statuses[5]).map_or(0, |v| v.len());
    let mut saves: Vec<Duration> = (0..SAVES)
        .map(|i| {
            let started = Instant::now();
            store
                .save_promotion_status("bench", &promotion.name, &statuses[i % 6])
                .expect("save");
            started.elapsed()
        })
        .collect();
    saves.sort();
    println!(
        "promotion step save:   p50 {:>7.1} µs  p95 {:>7.1} µs  ({SAVES} saves, status up to {size} bytes)",
        micros(percentile(&saves, 50)),
        micros(percentile(&saves, 95))
    );

    // Promotion finish: the whole unit of work.
    let mut finishes: Vec<Duration> = (0..200)
        .map(|i| {
            let promotion = store
                .create_promotion(&NewPromotion {
                    project: "bench".into(),
                    stage: "staging".into(),
                    // Freight of one Warehouse: a Stage requesting one origin.
                    freight: all[i * 20].metadata.name.clone().unwrap_or_default(),
                    actor: None,
                    spec: serde_json::Value::Null,
                })
                .expect("create promotion");
            let mut end = statuses[5].clone();
            end.phase = Phase::Succeeded;
            let started = Instant::now();
            store
                .promotion_finished(&FinishedPromotion {
                    project: "bench",
                    name: &promotion.name,
                    status: &end,
                    actor: None,
                    details: serde_json::Map::new(),
                })
                .expect("finish");
            started.elapsed()
        })
        .collect();
    finishes.sort();
    println!(
        "promotion finish:      p50 {:>7.1} µs  p95 {:>7.1} µs  (history, freight, promotion, event)",
        micros(percentile(&finishes, 50)),
        micros(percentile(&finishes, 95))
    );

    // Event appends.
    let started = Instant::now();
    for i in 0..EVENTS {
        store
            .append_event(
                &NewEvent::new("PromotionSucceeded", "promotion/x", format!("event {i}"))
                    .project("bench")
                    .details(serde_json::json!({"commit": format!("{i:040x}")})),
            )
            .expect("append");
    }
    let elapsed = started.elapsed();
    println!(
        "event append:          {:>9.0} /s  ({EVENTS} single-row transactions in {:.2} s)",
        EVENTS as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    let started = Instant::now();
    let tail = store
        .events(&EventQuery {
            after: Some(i64::try_from(EVENTS).unwrap_or(0) - 100),
            ..Default::default()
        })
        .expect("events");
    println!(
        "event cursor read:     {:>7.1} µs for {} events after a cursor",
        micros(started.elapsed()),
        tail.len()
    );

    // Open time of the database, now holding 10k Freight.
    store.checkpoint().expect("checkpoint");
    drop(store);
    let size = path.metadata().map_or(0, |m| m.len());
    let mut opens: Vec<Duration> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let store = Store::open(&path).expect("reopen");
            let elapsed = started.elapsed();
            drop(store);
            elapsed
        })
        .collect();
    opens.sort();
    println!(
        "open with {FREIGHT} freight: p50 {:>7.2} ms  p95 {:>7.2} ms  (file {:.1} MiB)",
        percentile(&opens, 50).as_secs_f64() * 1e3,
        percentile(&opens, 95).as_secs_f64() * 1e3,
        size as f64 / (1024.0 * 1024.0)
    );
}
