//! Stage rules on the running server: soak time before auto-promotion downstream, a
//! verification gantry cannot run reported as an error, never passed, and Stages leaving the
//! config while their Promotions run (or while the server is stopped).

use std::time::{Duration, Instant};

use gantry_engine::{Phase, StepStatus};
use gantry_store::{EventQuery, kinds};

use crate::fixture::{
    Fixture, condition, current_freight, eventually, promotions, stage_status, verified_in,
    without_stage,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_waits_for_the_soak_time_and_its_analysis_verification_is_an_error() {
    let fixture = Fixture::new();
    let pipeline = fixture
        .pipeline()
        .replace(
            "        name: develop\n      autoPromotionEnabled: true",
            "        name: regex:^(develop|production)$\n      autoPromotionEnabled: true",
        )
        .replace(
            "      sources:\n        stages:\n          - develop\n  promotionTemplate:",
            "      sources:\n        stages:\n          - develop\n        requiredSoakTime: 2s\n  verification:\n    analysisTemplates:\n      - name: smoke\n  promotionTemplate:",
        );
    assert!(pipeline.contains("requiredSoakTime: 2s"), "{pipeline}");
    fixture.write_config(&pipeline);
    fixture.open_gate();
    let server = fixture.start().await;
    let handle = server.handle();

    let freight = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    eventually("verification in develop", || {
        verified_in(&handle, &freight, "develop").then_some(())
    })
    .await;
    let verified = Instant::now();
    assert!(
        promotions(&handle, "production").is_empty(),
        "production must soak first"
    );
    eventually("the production promotion after the soak", || {
        (!promotions(&handle, "production").is_empty()).then_some(())
    })
    .await;
    let waited = verified.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    eprintln!("production was promoted {waited:?} after develop's verification (soak 2s)");

    eventually("the freight in production", || {
        (current_freight(&handle, "production") == Some(freight.clone())).then_some(())
    })
    .await;
    let status = eventually("production's verification", || {
        let status = handle.store().stage_status("shop", "production").unwrap()?;
        let current = status.freight_history.first()?;
        current.verification_history.first().cloned()
    })
    .await;
    assert_eq!(status.phase, "Error");
    assert_eq!(
        status.message.as_deref(),
        Some("AnalysisTemplates are not supported yet")
    );
    assert!(!verified_in(&handle, &freight, "production"));
    let failed = handle
        .store()
        .events(&EventQuery {
            kind: Some(kinds::FREIGHT_VERIFICATION_FAILED.to_owned()),
            ..EventQuery::default()
        })
        .unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_removed_mid_promotion_aborts_its_promotions_after_the_running_step() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    eventually("verification in develop", || {
        verified_in(&handle, &first, "develop").then_some(())
    })
    .await;
    let running = handle
        .promote("shop", "production", &first, "tester")
        .await
        .unwrap();
    eventually("the production promotion at its gate", || {
        let record = handle.store().promotion("shop", &running).unwrap()?;
        let gate = record.status.step("gate")?;
        (gate.finished_at.is_none()).then_some(())
    })
    .await;
    let queued = handle
        .promote("shop", "production", &first, "tester")
        .await
        .unwrap();
    let (_, _, commits) = fixture.gitops("README.md");

    // production leaves the config while its gate step runs.
    let generation = handle.config().generation;
    fixture.write_config(&without_stage(&fixture.pipeline(), "production"));
    handle.reload_config().await.unwrap();
    assert!(handle.config().generation > generation);
    let reason = "stage production was removed from the config";

    // The queued one ends at once; the running step is not cut in half.
    eventually("the queued promotion to be aborted", || {
        let record = handle.store().promotion("shop", &queued).unwrap()?;
        (record.status.phase == Phase::Aborted).then_some(())
    })
    .await;
    let record = handle.store().promotion("shop", &queued).unwrap().unwrap();
    assert_eq!(record.status.message.as_deref(), Some(reason));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let record = handle.store().promotion("shop", &running).unwrap().unwrap();
    assert_eq!(
        record.status.phase,
        Phase::Running,
        "the gate step still runs"
    );

    // Once the step ends, the Promotion ends Aborted with the reason; git-push never runs.
    fixture.open_gate();
    let record = eventually("the running promotion to end", || {
        let record = handle.store().promotion("shop", &running).unwrap()?;
        record.status.phase.is_terminal().then_some(record)
    })
    .await;
    assert_eq!(record.status.phase, Phase::Aborted);
    assert_eq!(record.status.message.as_deref(), Some(reason));
    assert_eq!(
        record.status.step("gate").unwrap().status,
        Some(StepStatus::Succeeded)
    );
    assert!(record.status.step("step-5").is_none(), "git-push never ran");
    let (_, production, after) = fixture.gitops("production/frontend/instance.yaml");
    assert!(production.contains("tag: initial"), "{production}");
    assert_eq!(after, commits, "nothing pushed");
    eventually("the work dir to be removed", || {
        (!fixture.data.join("work").join(&running).exists()).then_some(())
    })
    .await;
    let aborted = handle
        .store()
        .events(&EventQuery {
            kind: Some(kinds::PROMOTION_ABORTED.to_owned()),
            ..EventQuery::default()
        })
        .unwrap();
    assert_eq!(aborted.len(), 2, "{aborted:?}");
    assert!(
        aborted.iter().all(|e| e.message.contains(reason)),
        "{aborted:?}"
    );
    let error = handle
        .promote("shop", "production", &first, "tester")
        .await
        .unwrap_err();
    assert_eq!(error.kind, gantry_server::ApiErrorKind::NotFound);

    // Added back, the Stage works from where it was: not ready after the aborted Promotion,
    // then promoted and ready.
    fixture.write_config(&fixture.pipeline());
    handle.reload_config().await.unwrap();
    let status = eventually("production's status after it came back", || {
        let status = stage_status(&handle, "production")?;
        (condition(&status, "Ready")?.1 == "LastPromotionAborted").then_some(status)
    })
    .await;
    assert_eq!(condition(&status, "Ready").unwrap().2, reason);
    let again = handle
        .promote("shop", "production", &first, "tester")
        .await
        .unwrap();
    fixture.open_gate();
    eventually("the new production promotion to succeed", || {
        let record = handle.store().promotion("shop", &again).unwrap()?;
        (record.status.phase == Phase::Succeeded).then_some(())
    })
    .await;
    assert_eq!(current_freight(&handle, "production"), Some(first.clone()));
    eventually("production to be ready", || {
        let status = stage_status(&handle, "production")?;
        (condition(&status, "Ready")?.0 == "True").then_some(())
    })
    .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_left_running_by_a_stage_removed_while_stopped_is_aborted_at_start() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    eventually("verification in develop", || {
        verified_in(&handle, &first, "develop").then_some(())
    })
    .await;
    let name = handle
        .promote("shop", "production", &first, "tester")
        .await
        .unwrap();
    eventually("the production promotion at its gate", || {
        let record = handle.store().promotion("shop", &name).unwrap()?;
        let gate = record.status.step("gate")?;
        (gate.finished_at.is_none()).then_some(())
    })
    .await;
    // Stopped mid-way: the Promotion stays Running, to resume on the next start.
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    fixture.open_gate();
    stopping.await.unwrap();
    let record = handle.store().promotion("shop", &name).unwrap().unwrap();
    assert_eq!(record.status.phase, Phase::Running);
    drop(handle);

    // It starts again without production: nothing would ever run or end the Promotion.
    fixture.write_config(&without_stage(&fixture.pipeline(), "production"));
    let server = fixture.start().await;
    let handle = server.handle();
    let record = eventually("the orphaned promotion to end", || {
        let record = handle.store().promotion("shop", &name).unwrap()?;
        record.status.phase.is_terminal().then_some(record)
    })
    .await;
    assert_eq!(record.status.phase, Phase::Aborted);
    assert_eq!(
        record.status.message.as_deref(),
        Some("stage production was removed from the config")
    );
    assert!(record.status.step("step-5").is_none(), "git-push never ran");
    let (_, production, _) = fixture.gitops("production/frontend/instance.yaml");
    assert!(production.contains("tag: initial"), "{production}");
    eventually("the work dir to be removed", || {
        (!fixture.data.join("work").join(&name).exists()).then_some(())
    })
    .await;
    server.shutdown().await;
}
