//! The seed-like pipeline running in `gantry serve`: discovery, Freight, auto-promotion,
//! promotion by command, restart, faults.

use std::time::{Duration, Instant};

use gantry_engine::{Phase, StepStatus};
use gantry_server::ApiErrorKind;
use gantry_store::{EventQuery, kinds};

use crate::fixture::{
    Fixture, PASSWORD, condition, current_freight, eventually, git, newest_freight, promotions,
    stage_status, verified_in,
};

/// `explain_stage` on the blocking pool.
async fn explain_stage(
    handle: &gantry_server::Handle,
    stage: &str,
) -> gantry_server::explain::StageExplanation {
    let (handle, stage) = (handle.clone(), stage.to_owned());
    tokio::task::spawn_blocking(move || {
        gantry_server::explain::explain_stage(&handle, "shop", &stage).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_flows_to_develop_by_itself_and_to_production_by_command_across_a_restart() {
    let fixture = Fixture::new();
    let first_commit = git(&fixture.app, &["rev-parse", "HEAD"]);
    let server = fixture.start().await;
    let handle = server.handle();
    let mut changes = handle.subscribe();

    // At start the Warehouse is discovered, its Freight auto-promoted to develop.
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    let (_, develop, commits) = fixture.gitops("develop/frontend/instance.yaml");
    assert!(develop.contains(&first_commit), "{develop}");
    assert!(
        develop.contains("replicas: 2 # scaled by hand"),
        "{develop}"
    );
    assert_eq!(commits, 2, "one commit per promotion");
    eventually("verification in develop", || {
        verified_in(&handle, &first, "develop").then_some(())
    })
    .await;
    // The control-flow Stage passes it through; production waits for a person.
    eventually("the pass-through of the control-flow stage", || {
        verified_in(&handle, &first, "approved").then_some(())
    })
    .await;
    assert!(promotions(&handle, "production").is_empty());
    assert_eq!(current_freight(&handle, "production"), None);
    let explained = explain_stage(&handle, "production").await;
    assert!(!explained.auto_promotion);
    assert_eq!(
        explained.origins[0].reason,
        "auto-promotion is off: no promotion policy of the project matches this stage"
    );
    let explained = explain_stage(&handle, "develop").await;
    assert!(explained.auto_promotion);
    assert_eq!(explained.verification.as_deref(), Some("Successful"));
    assert!(
        explained.origins[0]
            .reason
            .starts_with("the newest available freight"),
        "{explained:?}"
    );
    // Every store write was announced, with the event it logged.
    let mut seen = Vec::new();
    while let Ok(change) = changes.try_recv() {
        seen.push(change);
    }
    assert!(
        seen.iter()
            .any(|c| c.kind == gantry_server::ChangeKind::Promotion
                && c.project == "shop"
                && c.event_id.is_some()),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|c| c.kind == gantry_server::ChangeKind::Stage && c.name == "develop")
    );

    // A new commit, a refresh (as a webhook would ask for), and develop follows.
    let before = fixture.gitops_head();
    let second_commit = fixture.push_app_commit("version 2\n");
    let pushed = Instant::now();
    let outcome = handle.refresh_warehouse("shop", "app").await.unwrap();
    assert!(outcome.created, "{outcome:?}");
    let second = outcome.freight.unwrap();
    eventually("the develop commit of the second freight", || {
        (fixture.gitops_head() != before).then_some(())
    })
    .await;
    let latency = pushed.elapsed();
    eprintln!("latency from git push to the GitOps commit (refresh): {latency:?}");
    let (_, develop, commits) = fixture.gitops("develop/frontend/instance.yaml");
    assert!(develop.contains(&second_commit), "{develop}");
    assert_eq!(commits, 3);
    eventually("the second freight verified in develop", || {
        verified_in(&handle, &second, "develop").then_some(())
    })
    .await;

    // Promote it to production by command; the gate step holds the Promotion mid-way.
    let alias = newest_freight(&handle).unwrap().freight.alias.unwrap();
    let name = handle
        .promote("shop", "production", &alias, "tester")
        .await
        .unwrap();
    assert!(name.starts_with("production."), "{name}");
    eventually("the production promotion waiting at its gate", || {
        let record = handle.store().promotion("shop", &name).unwrap()?;
        let gate = record.status.step("gate")?;
        (gate.started_at.is_some() && gate.finished_at.is_none()).then_some(())
    })
    .await;

    // Stop the server while the step runs: the step finishes, is saved, and nothing more runs.
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    fixture.open_gate();
    stopping.await.unwrap();
    let paused = handle.store().promotion("shop", &name).unwrap().unwrap();
    assert_eq!(paused.status.phase, Phase::Running);
    assert_eq!(
        paused.status.step("gate").unwrap().status,
        Some(StepStatus::Succeeded)
    );
    assert!(
        paused.status.step("step-5").is_none(),
        "{:?}",
        paused.status
    );
    let (_, production, commits) = fixture.gitops("production/frontend/instance.yaml");
    assert!(production.contains("tag: initial"), "nothing pushed yet");
    assert_eq!(commits, 3);

    // Start again on the same data dir: the Promotion resumes at git-push (the gate is not
    // asked again: it would never answer).
    drop(handle);
    let server = fixture.start().await;
    let handle = server.handle();
    eventually("the resumed production promotion to succeed", || {
        let record = handle.store().promotion("shop", &name).unwrap()?;
        (record.status.phase == Phase::Succeeded).then_some(())
    })
    .await;
    let (_, production, commits) = fixture.gitops("production/frontend/instance.yaml");
    assert!(production.contains(&second_commit), "{production}");
    assert_eq!(commits, 4, "exactly one more commit");
    assert_eq!(current_freight(&handle, "production"), Some(second.clone()));

    // Nothing lost, nothing duplicated.
    let develop_promotions = promotions(&handle, "develop");
    assert_eq!(develop_promotions.len(), 2, "{develop_promotions:?}");
    assert!(develop_promotions.iter().all(|p| p.2 == "Succeeded"));
    assert_eq!(promotions(&handle, "production").len(), 1);
    let freight = handle
        .store()
        .list_freight("shop", &gantry_store::FreightQuery::default())
        .unwrap();
    assert_eq!(freight.len(), 2);
    let succeeded = handle
        .store()
        .events(&EventQuery {
            kind: Some(kinds::PROMOTION_SUCCEEDED.to_owned()),
            ..EventQuery::default()
        })
        .unwrap();
    assert_eq!(succeeded.len(), 3, "{succeeded:?}");
    assert!(
        succeeded
            .iter()
            .any(|e| e.actor.as_deref() == Some("tester") && e.subject.ends_with(&name))
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_push_fails_the_promotion_keeps_the_stage_and_is_not_retried() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;

    // The remote starts refusing pushes.
    let hook = fixture.server.repo_path("gitops").join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'pushes are frozen' >&2\nexit 1\n").unwrap();
    let mut permissions = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&hook, permissions).unwrap();

    fixture.push_app_commit("version 2\n");
    let outcome = handle.refresh_warehouse("shop", "app").await.unwrap();
    let second = outcome.freight.unwrap();
    let failed = eventually("the develop promotion of the second freight to end", || {
        let list = promotions(&handle, "develop");
        list.iter()
            .find(|p| p.1 == second && p.2 != "Pending" && p.2 != "Running")
            .cloned()
    })
    .await;
    assert_eq!(failed.2, "Failed", "{failed:?}");
    let record = handle
        .store()
        .promotion("shop", &failed.0)
        .unwrap()
        .unwrap();
    let message = record.status.message.unwrap_or_default();
    assert!(message.contains("pushes are frozen"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    assert_eq!(current_freight(&handle, "develop"), Some(first.clone()));
    // The Stage says why it is not ready, keeps its Freight (still verified), and cannot
    // assess health after a failed Promotion.
    let status = stage_status(&handle, "develop").unwrap();
    let (ready, reason, why) = condition(&status, "Ready").unwrap();
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "LastPromotionFailed")
    );
    assert!(why.contains("pushes are frozen"), "{why}");
    assert!(!why.contains(PASSWORD), "{why}");
    let (healthy, reason, _) = condition(&status, "Healthy").unwrap();
    assert_eq!(
        (healthy.as_str(), reason.as_str()),
        ("Unknown", "LastPromotionFailed")
    );
    assert_eq!(status.health.as_ref().unwrap().status, "Unknown");
    assert_eq!(condition(&status, "Verified").unwrap().0, "True");
    assert_eq!(condition(&status, "Promoting"), None);
    assert_eq!(status.freight_summary.as_deref(), Some(first.as_str()));

    // Not retried: re-evaluations (a config reload re-evaluates everything) leave it alone.
    handle.reload_config().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(promotions(&handle, "develop").len(), 2);
    let explained = explain_stage(&handle, "develop").await;
    let reason = &explained.origins[0].reason;
    assert!(
        reason.contains("ended Failed") && reason.contains("not retried automatically"),
        "{reason}"
    );

    // The second Freight never got verified in develop, so production cannot take it.
    let refused = handle
        .promote("shop", "production", &second, "tester")
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ApiErrorKind::Invalid);
    assert!(
        refused
            .message
            .starts_with("Freight is not available to this Stage"),
        "{refused:?}"
    );

    // By hand it is retried, and once the remote accepts again it goes through.
    std::fs::remove_file(&hook).unwrap();
    let retry = handle
        .promote("shop", "develop", &second, "tester")
        .await
        .unwrap();
    eventually("the manual retry to succeed", || {
        let record = handle.store().promotion("shop", &retry).unwrap()?;
        (record.status.phase == Phase::Succeeded).then_some(())
    })
    .await;
    assert_eq!(current_freight(&handle, "develop"), Some(second.clone()));
    let status = eventually("develop to be ready again", || {
        let status = stage_status(&handle, "develop")?;
        (condition(&status, "Ready")?.0 == "True").then_some(status)
    })
    .await;
    assert_eq!(status.freight_summary.as_deref(), Some(second.as_str()));
    assert_eq!(condition(&status, "Healthy").unwrap().0, "True");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_edit_keeps_the_old_config_running() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    let generation = handle.config().generation;

    // A Stage that requests Freight from a Warehouse that does not exist.
    let broken = fixture
        .pipeline()
        .replace("sources:\n        direct: true", "sources:\n        direct: true\n    - origin:\n        kind: Warehouse\n        name: nowhere\n      sources:\n        direct: true");
    fixture.write_config(&broken);
    let errors = handle.reload_config().await.unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("pipeline.yaml:") && e.contains("nowhere")),
        "{errors:?}"
    );
    // The poller sees the same broken files and leaves them alone, too.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(handle.config().generation, generation);

    // The old config keeps promoting.
    let before = fixture.gitops_head();
    let commit = fixture.push_app_commit("version 2\n");
    handle.refresh_warehouse("shop", "app").await.unwrap();
    eventually("develop to follow the new commit", || {
        (fixture.gitops_head() != before).then_some(())
    })
    .await;
    let (_, develop, _) = fixture.gitops("develop/frontend/instance.yaml");
    assert!(develop.contains(&commit));

    // A fixed edit is picked up by the poller.
    fixture.write_config(&fixture.pipeline().replace("interval: 1s", "interval: 2s"));
    eventually("the fixed config", || {
        (handle.config().generation > generation).then_some(())
    })
    .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_finds_a_push_on_the_warehouse_interval_floored_by_the_server() {
    let fixture = Fixture::new();
    // The Warehouse asks for 100ms; the server's floor makes it 200ms.
    fixture.write_config(&fixture.pipeline().replace("interval: 1s", "interval: 0.1s"));
    let mut options = fixture.options();
    options.min_interval = Duration::from_millis(200);
    let server = fixture.start_with(options).await;
    let handle = server.handle();
    eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    let before = fixture.gitops_head();
    let commit = fixture.push_app_commit("version 2\n");
    let pushed = Instant::now();
    eventually("develop to follow the new commit", || {
        (fixture.gitops_head() != before).then_some(())
    })
    .await;
    eprintln!(
        "latency from git push to the GitOps commit (polling every 200ms): {:?}",
        pushed.elapsed()
    );
    let (_, develop, _) = fixture.gitops("develop/frontend/instance.yaml");
    assert!(develop.contains(&commit));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_name_what_is_wrong() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    let error = handle
        .promote("shop", "staging", &first, "tester")
        .await
        .unwrap_err();
    assert_eq!(error.kind, ApiErrorKind::NotFound);
    assert_eq!(error.message, "stage staging not found in project shop");
    let error = handle
        .promote("shop", "develop", "no-such-freight", "tester")
        .await
        .unwrap_err();
    assert_eq!(error.kind, ApiErrorKind::NotFound);
    let error = handle
        .promote("shop", "approved", &first, "tester")
        .await
        .unwrap_err();
    assert_eq!(error.kind, ApiErrorKind::Invalid);
    assert!(
        error.message.contains("defines no promotion steps"),
        "{error:?}"
    );
    let error = handle.refresh_warehouse("shop", "nope").await.unwrap_err();
    assert_eq!(error.kind, ApiErrorKind::NotFound);
    let error = handle
        .abort_promotion("shop", "develop.nope", "tester")
        .await
        .unwrap_err();
    assert_eq!(error.kind, ApiErrorKind::NotFound);
    let done = promotions(&handle, "develop").remove(0).0;
    let error = handle
        .abort_promotion("shop", &done, "tester")
        .await
        .unwrap_err();
    assert_eq!(error.kind, ApiErrorKind::Conflict);

    // Approval makes Freight available to production without develop's verification.
    let record = handle.store().freight("shop", &first).unwrap().unwrap();
    assert!(record.status.approved_for.is_empty());
    handle
        .approve("shop", "production", &first, "tester")
        .await
        .unwrap();
    let record = handle.store().freight("shop", &first).unwrap().unwrap();
    assert!(record.status.approved_for.contains_key("production"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborts_end_a_pending_promotion_at_once_and_a_running_one_after_its_step() {
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
    // A second one queues behind it; aborting it ends it at once.
    let queued = handle
        .promote("shop", "production", &first, "tester")
        .await
        .unwrap();
    assert!(queued > running, "names sort in creation order");
    handle
        .abort_promotion("shop", &queued, "tester")
        .await
        .unwrap();
    let record = handle.store().promotion("shop", &queued).unwrap().unwrap();
    assert_eq!(record.status.phase, Phase::Aborted);

    // The running one ends after the step in progress, which is never cut in half.
    let abort = {
        let handle = handle.clone();
        let running = running.clone();
        tokio::spawn(async move { handle.abort_promotion("shop", &running, "tester").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!abort.is_finished(), "the gate step still runs");
    fixture.open_gate();
    abort.await.unwrap().unwrap();
    let record = handle.store().promotion("shop", &running).unwrap().unwrap();
    assert_eq!(record.status.phase, Phase::Aborted);
    assert_eq!(
        record.status.step("gate").unwrap().status,
        Some(StepStatus::Succeeded)
    );
    assert!(record.status.step("step-5").is_none(), "git-push never ran");
    assert_eq!(current_freight(&handle, "production"), None);
    let (_, production, _) = fixture.gitops("production/frontend/instance.yaml");
    assert!(production.contains("tag: initial"));
    assert!(
        !fixture.data.join("work").join(&running).exists(),
        "the work dir is removed"
    );
    let aborted = handle
        .store()
        .events(&EventQuery {
            kind: Some(kinds::PROMOTION_ABORTED.to_owned()),
            ..EventQuery::default()
        })
        .unwrap();
    assert_eq!(aborted.len(), 2);
    assert!(aborted.iter().all(|e| e.actor.as_deref() == Some("tester")));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_back_by_hand_holds_auto_promotion_until_the_candidate_is_promoted() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    fixture.push_app_commit("version 2\n");
    let second = handle
        .refresh_warehouse("shop", "app")
        .await
        .unwrap()
        .freight
        .unwrap();
    eventually("the second freight in develop", || {
        (current_freight(&handle, "develop") == Some(second.clone())).then_some(())
    })
    .await;

    // Back to the first Freight by hand: develop holds it, auto-promotion stands still.
    let rollback = handle
        .promote("shop", "develop", &first, "tester")
        .await
        .unwrap();
    eventually("the rollback", || {
        let record = handle.store().promotion("shop", &rollback).unwrap()?;
        (record.status.phase == Phase::Succeeded).then_some(())
    })
    .await;
    assert_eq!(current_freight(&handle, "develop"), Some(first.clone()));
    let status = handle
        .store()
        .stage_status("shop", "develop")
        .unwrap()
        .unwrap();
    assert_eq!(
        status.auto_promotion_holds["Warehouse/app"].freight_name,
        first
    );
    handle.reload_config().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(current_freight(&handle, "develop"), Some(first.clone()));
    let explained = explain_stage(&handle, "develop").await;
    assert!(
        explained.origins[0]
            .reason
            .starts_with("auto-promotion is held"),
        "{explained:?}"
    );

    // Promoting the candidate lifts the hold.
    let resume = handle
        .promote("shop", "develop", &second, "tester")
        .await
        .unwrap();
    eventually("the resume", || {
        let record = handle.store().promotion("shop", &resume).unwrap()?;
        (record.status.phase == Phase::Succeeded).then_some(())
    })
    .await;
    let status = handle
        .store()
        .stage_status("shop", "develop")
        .unwrap()
        .unwrap();
    assert!(status.auto_promotion_holds.is_empty(), "{status:?}");
    server.shutdown().await;
}

/// Run with `cargo test -p gantry-server --test it -- --ignored --nocapture latency`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: prints latency percentiles"]
async fn latency_from_push_to_gitops_commit_with_refresh() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    let mut samples = Vec::new();
    for i in 0..20 {
        let before = fixture.gitops_head();
        fixture.push_app_commit(&format!("version {}\n", i + 2));
        let pushed = Instant::now();
        handle.refresh_warehouse("shop", "app").await.unwrap();
        eventually("develop to follow", || {
            (fixture.gitops_head() != before).then_some(())
        })
        .await;
        samples.push(pushed.elapsed());
        // Let verification settle so that the next Promotion is not gated.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    samples.sort();
    eprintln!(
        "push → GitOps commit with refresh, {} samples: p50 {:?}, p95 {:?}, max {:?}",
        samples.len(),
        samples[samples.len() / 2],
        samples[samples.len() * 95 / 100],
        samples[samples.len() - 1]
    );
    server.shutdown().await;
}
