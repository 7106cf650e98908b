//! Stage rules on the running server: soak time before auto-promotion downstream, and a
//! verification gantry cannot run reported as an error, never passed.

use std::time::{Duration, Instant};

use gantry_store::{EventQuery, kinds};

use crate::fixture::{Fixture, current_freight, eventually, promotions, verified_in};

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
