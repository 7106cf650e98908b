use std::time::SystemTime;

use gantry_api::kargo::{Health, VerificationInfo};
use gantry_engine::{Phase, PromotionStatus};
use gantry_store::{
    EventQuery, FinishedPromotion, NewPromotion, PromotionQuery, Store, StoreError, collection_id,
};

use crate::freight;

fn store_with_freight(ids: &[&str]) -> Store {
    let store = Store::open_in_memory().unwrap();
    for (i, id) in ids.iter().enumerate() {
        let mut f = freight(
            id,
            "w",
            &format!("1.0.{i}"),
            &format!("2026-01-01T00:00:{i:02}Z"),
        );
        f.alias = Some(format!("alias-{id}"));
        store.insert_freight("p", &f).unwrap();
    }
    store
}

fn new(stage: &str, freight: &str) -> NewPromotion {
    NewPromotion {
        project: "p".into(),
        stage: stage.into(),
        freight: freight.into(),
        actor: Some("alice".into()),
        spec: serde_json::json!({"steps": [{"uses": "git-clone"}]}),
    }
}

fn status(phase: Phase, step: usize) -> PromotionStatus {
    PromotionStatus {
        phase,
        current_step: step,
        ..Default::default()
    }
}

fn finished(phase: Phase, message: Option<&str>) -> PromotionStatus {
    let mut status = status(phase, 3);
    status.message = message.map(Into::into);
    status.finished_at = Some("2026-03-01T12:00:00Z".into());
    status.state.insert(
        "commit".into(),
        serde_json::json!({"commit": "0123456789abcdef"}),
    );
    status
}

fn finish<'a>(name: &'a str, status: &'a PromotionStatus) -> FinishedPromotion<'a> {
    FinishedPromotion {
        project: "p",
        name,
        status,
        actor: None,
        details: serde_json::Map::new(),
    }
}

#[test]
fn promotion_names_follow_kargo_and_the_queue_is_creation_order() {
    let store = store_with_freight(&["abcdef0123", "bbbbbbbbbb"]);
    let first = store.create_promotion(&new("dev", "abcdef0123")).unwrap();
    let second = store.create_promotion(&new("dev", "bbbbbbbbbb")).unwrap();
    let third = store.create_promotion(&new("dev", "abcdef0123")).unwrap();
    let parts: Vec<&str> = first.name.split('.').collect();
    assert_eq!(parts.len(), 3, "{}", first.name);
    assert_eq!(parts[0], "dev");
    assert_eq!(parts[1].len(), 26);
    assert_eq!(parts[2], "abcdef0");
    assert_eq!(first.name, first.name.to_lowercase());
    assert!(first.name < second.name && second.name < third.name);
    assert_eq!(first.status.phase, Phase::Pending);
    assert_eq!(first.spec["steps"][0]["uses"], "git-clone");

    assert_eq!(
        store.next_pending("p", "dev").unwrap().unwrap().name,
        first.name
    );
    // The running one stays at the head even when an older one is pending.
    store
        .save_promotion_status("p", &second.name, &status(Phase::Running, 0))
        .unwrap();
    let queue: Vec<String> = store
        .promotion_queue("p", "dev")
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        queue,
        [second.name.clone(), first.name.clone(), third.name.clone()]
    );
    assert_eq!(
        store.next_pending("p", "dev").unwrap().unwrap().name,
        second.name
    );
    assert!(store.next_pending("p", "prod").unwrap().is_none());
    let running = store.running_promotions().unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].name, second.name);
    let unfinished: Vec<String> = store
        .unfinished_promotions()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        unfinished,
        [first.name.clone(), second.name.clone(), third.name.clone()]
    );

    let listed = store
        .list_promotions(
            "p",
            &PromotionQuery {
                freight: Some("abcdef0123".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].name, third.name, "newest first");
}

#[test]
fn promoting_unknown_freight_is_refused() {
    let store = store_with_freight(&[]);
    let error = store.create_promotion(&new("dev", "nope")).unwrap_err();
    assert!(
        matches!(error, StoreError::FreightNotFound { .. }),
        "{error:?}"
    );
}

#[test]
fn step_progress_is_saved_whole_and_finished_promotions_never_change() {
    let store = store_with_freight(&["f1"]);
    let promotion = store.create_promotion(&new("dev", "f1")).unwrap();
    let mut progress = status(Phase::Running, 1);
    progress
        .state
        .insert("clone".into(), serde_json::json!({"path": "/work/x"}));
    store
        .save_promotion_status("p", &promotion.name, &progress)
        .unwrap();
    assert_eq!(
        store
            .promotion("p", &promotion.name)
            .unwrap()
            .unwrap()
            .status,
        progress
    );
    let error = store
        .save_promotion_status("p", &promotion.name, &status(Phase::Pending, 0))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::InvalidTransition { .. }),
        "{error:?}"
    );
    let error = store
        .save_promotion_status("p", &promotion.name, &finished(Phase::Succeeded, None))
        .unwrap_err();
    assert!(error.to_string().contains("promotion_finished"), "{error}");

    let done = finished(Phase::Succeeded, None);
    store
        .promotion_finished(&finish(&promotion.name, &done))
        .unwrap();
    let error = store
        .save_promotion_status("p", &promotion.name, &progress)
        .unwrap_err();
    assert!(
        matches!(error, StoreError::PromotionFinished { .. }),
        "{error:?}"
    );
    let error = store
        .promotion_finished(&finish(&promotion.name, &finished(Phase::Failed, None)))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::PromotionFinished { .. }),
        "{error:?}"
    );
    let stored = store.promotion("p", &promotion.name).unwrap().unwrap();
    assert_eq!(stored.status, done);
    assert!(store.running_promotions().unwrap().is_empty());
    let error = store
        .save_promotion_status("p", "dev.nope.f1", &progress)
        .unwrap_err();
    assert!(
        matches!(error, StoreError::PromotionNotFound { .. }),
        "{error:?}"
    );
}

#[test]
fn a_successful_promotion_updates_history_freight_and_log_together() {
    let store = store_with_freight(&["f1", "f2"]);
    let first = store.create_promotion(&new("dev", "f1")).unwrap();
    store
        .write(|tx| tx.set_current_promotion("p", "dev", Some(&first.name)))
        .unwrap();
    assert_eq!(
        store
            .stage_status("p", "dev")
            .unwrap()
            .unwrap()
            .current_promotion
            .unwrap()
            .name,
        first.name
    );
    let done = finished(Phase::Succeeded, None);
    let outcome = store
        .promotion_finished(&finish(&first.name, &done))
        .unwrap();
    let stage = &outcome.stage_status;
    assert!(stage.current_promotion.is_none());
    let last = stage.last_promotion.as_ref().unwrap();
    assert_eq!(last.name, first.name);
    assert_eq!(last.status.as_ref().unwrap().phase, "Succeeded");
    assert_eq!(last.finished_at.as_deref(), Some("2026-03-01T12:00:00Z"));
    let current = stage.current_freight().unwrap();
    assert_eq!(current.id, collection_id(["f1"]));
    assert_eq!(current.items["Warehouse/w"].name, "f1");
    let f1 = store.freight("p", "f1").unwrap().unwrap();
    assert_eq!(
        f1.status.currently_in["dev"].since.as_deref(),
        Some("2026-03-01T12:00:00Z")
    );
    assert_eq!(outcome.event.kind, "PromotionSucceeded");
    assert_eq!(outcome.event.actor.as_deref(), Some("alice"));
    assert_eq!(
        outcome.event.message,
        "promoted freight alias-f1 to stage dev"
    );
    assert_eq!(
        outcome.event.details["commits"][0]["commit"],
        "0123456789abcdef"
    );
    assert_eq!(outcome.event.details["freight"], "f1");

    // Verification marks the collection's Freight verified.
    store
        .record_verification(
            "p",
            "dev",
            VerificationInfo {
                id: "v1".into(),
                phase: "Successful".into(),
                ..Default::default()
            },
            SystemTime::now(),
        )
        .unwrap();
    let f1 = store.freight("p", "f1").unwrap().unwrap();
    assert!(f1.status.verified_in.contains_key("dev"));

    // The next Freight of the same origin replaces it.
    let second = store.create_promotion(&new("dev", "f2")).unwrap();
    let outcome = store
        .promotion_finished(&finish(&second.name, &done))
        .unwrap();
    let history = &outcome.stage_status.freight_history;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].items["Warehouse/w"].name, "f2");
    assert_eq!(history[1].items["Warehouse/w"].name, "f1");
    assert_eq!(history[1].verification_history[0].id, "v1");
    let f1 = store.freight("p", "f1").unwrap().unwrap();
    assert!(f1.status.currently_in.is_empty());
    assert_eq!(
        f1.status.verified_in["dev"].longest_soak.as_deref(),
        Some("0s")
    );
    let f2 = store.freight("p", "f2").unwrap().unwrap();
    assert!(f2.status.currently_in.contains_key("dev"));
    let events = store
        .events(&EventQuery {
            kind: Some("PromotionSucceeded".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(events.len(), 2);
}

#[test]
fn a_failed_promotion_is_remembered_and_the_stage_keeps_its_freight() {
    let store = store_with_freight(&["f1", "f2"]);
    let ok = store.create_promotion(&new("dev", "f1")).unwrap();
    store
        .promotion_finished(&finish(&ok.name, &finished(Phase::Succeeded, None)))
        .unwrap();
    let bad = store.create_promotion(&new("dev", "f2")).unwrap();
    let failed = finished(Phase::Failed, Some("git push rejected"));
    let mut finish_bad = finish(&bad.name, &failed);
    finish_bad.actor = Some("gantry");
    finish_bad
        .details
        .insert("step".into(), serde_json::json!("push"));
    let outcome = store.promotion_finished(&finish_bad).unwrap();
    let stage = &outcome.stage_status;
    assert_eq!(
        stage.current_freight().unwrap().items["Warehouse/w"].name,
        "f1"
    );
    assert_eq!(stage.freight_history.len(), 1);
    let memory = &stage.failed_promotions["f2"];
    assert_eq!(memory.promotion, bad.name);
    assert_eq!(memory.phase, "Failed");
    assert_eq!(memory.message.as_deref(), Some("git push rejected"));
    assert_eq!(outcome.event.kind, "PromotionFailed");
    assert_eq!(outcome.event.actor.as_deref(), Some("gantry"));
    assert_eq!(
        outcome.event.message,
        "promotion of freight alias-f2 to stage dev failed: git push rejected"
    );
    assert_eq!(outcome.event.details["step"], "push");
    let f2 = store.freight("p", "f2").unwrap().unwrap();
    assert!(f2.status.currently_in.is_empty());
    assert!(
        store
            .freight("p", "f1")
            .unwrap()
            .unwrap()
            .status
            .currently_in
            .contains_key("dev")
    );

    // A later success of the same Freight clears the memory.
    let retry = store.create_promotion(&new("dev", "f2")).unwrap();
    let outcome = store
        .promotion_finished(&finish(&retry.name, &finished(Phase::Succeeded, None)))
        .unwrap();
    assert!(outcome.stage_status.failed_promotions.is_empty());
}

#[test]
fn the_freight_history_keeps_ten_collections() {
    let ids: Vec<String> = (0..12).map(|i| format!("f{i:02}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let store = store_with_freight(&refs);
    for id in &ids {
        let promotion = store.create_promotion(&new("dev", id)).unwrap();
        store
            .promotion_finished(&finish(&promotion.name, &finished(Phase::Succeeded, None)))
            .unwrap();
    }
    let stage = store.stage_status("p", "dev").unwrap().unwrap();
    assert_eq!(stage.freight_history.len(), 10);
    assert_eq!(stage.freight_history[0].items["Warehouse/w"].name, "f11");
    assert_eq!(stage.freight_history[9].items["Warehouse/w"].name, "f02");
    let in_dev = store
        .list_freight(
            "p",
            &gantry_store::FreightQuery {
                currently_in: Some("dev".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(in_dev.len(), 1, "only the newest is currently in the stage");
}

#[test]
fn a_unit_of_work_that_fails_leaves_nothing_half_written() {
    let store = store_with_freight(&["f1"]);
    let promotion = store.create_promotion(&new("dev", "f1")).unwrap();
    store
        .save_promotion_status("p", &promotion.name, &status(Phase::Running, 2))
        .unwrap();
    let before_events = store.last_event_id().unwrap();
    let done = finished(Phase::Succeeded, None);
    let result: Result<(), StoreError> = store.write(|tx| {
        tx.promotion_finished(&finish(&promotion.name, &done))?;
        tx.set_stage_health(
            "p",
            "dev",
            Some(Health {
                status: "Healthy".into(),
                ..Default::default()
            }),
        )?;
        // Something after it fails: everything above rolls back.
        Err(StoreError::NoCurrentFreight {
            project: "p".into(),
            stage: "simulated".into(),
        })
    });
    assert!(result.is_err());
    let stored = store.promotion("p", &promotion.name).unwrap().unwrap();
    assert_eq!(stored.status.phase, Phase::Running);
    assert!(store.stage_status("p", "dev").unwrap().is_none());
    assert!(
        store
            .freight("p", "f1")
            .unwrap()
            .unwrap()
            .status
            .currently_in
            .is_empty()
    );
    assert_eq!(store.last_event_id().unwrap(), before_events);
}

#[test]
fn stage_health_and_metadata_are_kept_beside_the_history() {
    let store = store_with_freight(&["f1"]);
    store
        .write(|tx| {
            tx.set_stage_health(
                "p",
                "dev",
                Some(Health {
                    status: "Unhealthy".into(),
                    issues: vec!["app degraded".into()],
                    ..Default::default()
                }),
            )?;
            tx.set_stage_metadata("p", "dev", "owner", serde_json::json!("team-a"))
        })
        .unwrap();
    let statuses = store.stage_statuses("p").unwrap();
    assert_eq!(statuses.len(), 1);
    let (name, status) = &statuses[0];
    assert_eq!(name, "dev");
    assert_eq!(status.health.as_ref().unwrap().issues, ["app degraded"]);
    assert_eq!(status.metadata["owner"], "team-a");
    assert!(
        store
            .write(|tx| tx.delete_stage_status("p", "dev"))
            .unwrap()
    );
    assert!(store.stage_status("p", "dev").unwrap().is_none());
}
