//! Stage status on the running server: `conditions`, `freightSummary` and `health` from no
//! Freight, through a running Promotion, to a verified Stage; the same through the HTTP API.

use std::time::Duration;

use gantry_engine::Phase;
use serde_json::Value;

use crate::fixture::{
    Fixture, condition, current_freight, eventually, stage_status, transition, verified_in,
};

fn triple(status: &str, reason: &str) -> (String, String) {
    (status.to_owned(), reason.to_owned())
}

/// `(status, reason)` of a condition.
fn short(status: &gantry_api::kargo::StageStatus, kind: &str) -> Option<(String, String)> {
    condition(status, kind).map(|(s, r, _)| (s, r))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_conditions_and_freight_summary_follow_freight_promotions_and_verification() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let api = crate::api::serve(handle.clone(), false).await;

    // develop gets the first Freight by itself and is Ready once it is verified.
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    eventually("verification in develop", || {
        verified_in(&handle, &first, "develop").then_some(())
    })
    .await;
    let develop = eventually("develop to be ready", || {
        let status = stage_status(&handle, "develop")?;
        (short(&status, "Ready")? == triple("True", "Verified")).then_some(status)
    })
    .await;
    assert_eq!(develop.freight_summary.as_deref(), Some(first.as_str()));
    assert_eq!(short(&develop, "Healthy"), Some(triple("True", "Healthy")));
    assert_eq!(
        short(&develop, "Verified"),
        Some(triple("True", "Verified"))
    );
    assert_eq!(short(&develop, "Promoting"), None);
    assert_eq!(develop.health.as_ref().unwrap().status, "Healthy");

    // production has no Freight yet.
    let production = eventually("production's first status", || {
        stage_status(&handle, "production").filter(|s| !s.conditions.is_empty())
    })
    .await;
    assert_eq!(
        condition(&production, "Ready"),
        Some((
            "False".to_owned(),
            "NoFreight".to_owned(),
            "Stage has no current Freight".to_owned()
        ))
    );
    assert_eq!(
        short(&production, "Healthy"),
        Some(triple("Unknown", "NoFreight"))
    );
    assert_eq!(
        short(&production, "Verified"),
        Some(triple("Unknown", "NoFreight"))
    );
    assert_eq!(production.freight_summary.as_deref(), Some("0/1 Fulfilled"));
    assert_eq!(production.health, None);
    let not_ready_since = transition(&production, "Ready");

    // The control-flow Stage is simply Ready.
    let approved = eventually("the control-flow stage's status", || {
        stage_status(&handle, "approved").filter(|s| !s.conditions.is_empty())
    })
    .await;
    assert_eq!(short(&approved, "Ready"), Some(triple("True", "Ready")));
    assert_eq!(approved.conditions.len(), 1);
    assert_eq!(approved.freight_summary.as_deref(), Some("N/A"));

    // Transition times have whole seconds: let one pass so that a flip shows.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // A Promotion runs (held at its gate): Promoting, health Unknown, Ready False with the
    // Promotion's reason but the same transition time (it was False already).
    let name = handle
        .promote("shop", "production", &first, "tester")
        .await
        .unwrap();
    let running = eventually("production to be promoting", || {
        let status = stage_status(&handle, "production")?;
        short(&status, "Promoting").is_some().then_some(status)
    })
    .await;
    let (promoting, reason, message) = condition(&running, "Promoting").unwrap();
    assert_eq!(
        (promoting.as_str(), reason.as_str()),
        ("True", "ActivePromotion")
    );
    assert_eq!(message, format!("Promotion {name:?} is currently Running"));
    assert_eq!(
        short(&running, "Ready"),
        Some(triple("False", "ActivePromotion"))
    );
    assert_eq!(transition(&running, "Ready"), not_ready_since);
    assert_eq!(
        short(&running, "Healthy"),
        Some(triple("Unknown", "Promoting"))
    );
    assert_eq!(running.health.as_ref().unwrap().status, "Unknown");
    assert_eq!(running.freight_summary.as_deref(), Some("0/1 Fulfilled"));

    // The API shows the same status.
    let stage = api.get("/api/v1/projects/shop/stages/production").await;
    let conditions = stage["status"]["conditions"].as_array().unwrap();
    let promoting = conditions
        .iter()
        .find(|c| c["type"] == "Promoting")
        .unwrap();
    assert_eq!(promoting["status"], "True");
    assert_eq!(promoting["reason"], "ActivePromotion");
    assert!(promoting["lastTransitionTime"].is_string(), "{promoting}");
    assert_eq!(stage["status"]["freightSummary"], "0/1 Fulfilled");
    assert_eq!(stage["status"]["health"]["status"], "Unknown");

    // It succeeds: the Freight is verified there and the Stage is Ready, now.
    fixture.open_gate();
    eventually("the production promotion to succeed", || {
        let record = handle.store().promotion("shop", &name).unwrap()?;
        (record.status.phase == Phase::Succeeded).then_some(())
    })
    .await;
    let ready = eventually("production to be ready", || {
        let status = stage_status(&handle, "production")?;
        (short(&status, "Ready")? == triple("True", "Verified")).then_some(status)
    })
    .await;
    assert_eq!(ready.freight_summary.as_deref(), Some(first.as_str()));
    assert_eq!(short(&ready, "Healthy"), Some(triple("True", "Healthy")));
    assert_eq!(short(&ready, "Verified"), Some(triple("True", "Verified")));
    assert_eq!(short(&ready, "Promoting"), None);
    assert_eq!(ready.health.as_ref().unwrap().status, "Healthy");
    assert!(
        transition(&ready, "Ready") > not_ready_since,
        "Ready flipped to True later than it became False"
    );
    let stage = api.get("/api/v1/projects/shop/stages/production").await;
    assert_eq!(
        stage["status"]["freightSummary"],
        Value::from(first.clone())
    );
    server.shutdown().await;
}
