use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gantry_store::{FreightQuery, InsertOutcome, Store, StoreError};

use crate::freight;

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

#[test]
fn inserting_the_same_freight_twice_is_a_no_op_and_other_content_under_its_id_is_refused() {
    let store = Store::open_in_memory().unwrap();
    let f = freight("aaa1", "w", "1.0.0", "2026-01-01T00:00:00Z");
    assert_eq!(
        store.insert_freight("p", &f).unwrap(),
        InsertOutcome::Inserted
    );
    let mut later = f.clone();
    later.discovered_at = Some("2026-02-02T00:00:00Z".into());
    assert_eq!(
        store.insert_freight("p", &later).unwrap(),
        InsertOutcome::AlreadyExists
    );
    let stored = store.freight("p", "aaa1").unwrap().unwrap();
    assert_eq!(
        stored.freight.discovered_at.as_deref(),
        Some("2026-01-01T00:00:00Z"),
        "the first insert wins"
    );
    let other = freight("aaa1", "w", "2.0.0", "2026-01-01T00:00:00Z");
    let error = store.insert_freight("p", &other).unwrap_err();
    assert!(
        matches!(error, StoreError::FreightConflict { .. }),
        "{error:?}"
    );
    // The same id in another Project is another Freight.
    assert_eq!(
        store.insert_freight("q", &other).unwrap(),
        InsertOutcome::Inserted
    );
    let mut unnamed = f.clone();
    unnamed.metadata.name = None;
    assert!(matches!(
        store.insert_freight("p", &unnamed).unwrap_err(),
        StoreError::FreightWithoutName { .. }
    ));
}

#[test]
fn freight_is_found_by_id_or_alias_and_aliases_are_unique_per_project() {
    let store = Store::open_in_memory().unwrap();
    let mut a = freight("aaa1", "w", "1.0.0", "2026-01-01T00:00:00Z");
    a.alias = Some("brave-otter".into());
    store.insert_freight("p", &a).unwrap();
    assert!(store.alias_taken("p", "brave-otter").unwrap());
    assert!(!store.alias_taken("q", "brave-otter").unwrap());

    let mut b = freight("bbb2", "w", "1.1.0", "2026-01-02T00:00:00Z");
    b.alias = Some("brave-otter".into());
    let error = store.insert_freight("p", &b).unwrap_err();
    assert!(matches!(error, StoreError::AliasTaken { .. }), "{error:?}");
    assert!(
        store.freight("p", "bbb2").unwrap().is_none(),
        "nothing half-written"
    );
    store.insert_freight("q", &b).unwrap();

    b.alias = None;
    store.insert_freight("p", &b).unwrap();
    let error = store
        .set_freight_alias("p", "bbb2", Some("brave-otter"))
        .unwrap_err();
    assert!(matches!(error, StoreError::AliasTaken { .. }), "{error:?}");
    store
        .set_freight_alias("p", "bbb2", Some("calm-yak"))
        .unwrap();
    assert_eq!(
        store.find_freight("p", "calm-yak").unwrap().unwrap().id(),
        "bbb2"
    );
    assert_eq!(
        store.find_freight("p", "aaa1").unwrap().unwrap().id(),
        "aaa1"
    );
    assert_eq!(
        store
            .freight_by_alias("p", "brave-otter")
            .unwrap()
            .unwrap()
            .id(),
        "aaa1"
    );
    assert!(store.find_freight("p", "nope").unwrap().is_none());
    assert!(matches!(
        store.set_freight_alias("p", "nope", Some("x")).unwrap_err(),
        StoreError::FreightNotFound { .. }
    ));
}

#[test]
fn an_alias_is_generated_inside_the_insert_transaction_with_a_probe_of_taken_aliases() {
    let store = Store::open_in_memory().unwrap();
    let mut first = freight("aaa1", "w", "1.0.0", "2026-01-01T00:00:00Z");
    first.alias = Some("alias-0".into());
    store.insert_freight("p", &first).unwrap();
    // A generator shaped like gantry_core::alias::generate: the first candidate not taken.
    let generate =
        |taken: &dyn Fn(&str) -> bool| (0..100).map(|i| format!("alias-{i}")).find(|a| !taken(a));
    let second = freight("bbb2", "w", "1.1.0", "2026-01-02T00:00:00Z");
    let (outcome, alias) = store
        .insert_freight_with_alias("p", &second, generate)
        .unwrap();
    assert_eq!(outcome, InsertOutcome::Inserted);
    assert_eq!(alias.as_deref(), Some("alias-1"));
    // Again: the stored alias comes back, no new one is drawn.
    let (outcome, alias) = store
        .insert_freight_with_alias("p", &second, |_| Some("never".into()))
        .unwrap();
    assert_eq!(outcome, InsertOutcome::AlreadyExists);
    assert_eq!(alias.as_deref(), Some("alias-1"));
}

#[test]
fn freight_lists_newest_first_per_warehouse_and_by_stage_status() {
    let store = Store::open_in_memory().unwrap();
    for (id, warehouse, day) in [
        ("f1", "front", "01"),
        ("f2", "back", "02"),
        ("f3", "front", "03"),
        ("f4", "front", "03"),
    ] {
        let tag = format!("1.0.{day}-{id}");
        store
            .insert_freight(
                "p",
                &freight(id, warehouse, &tag, &format!("2026-01-{day}T00:00:00Z")),
            )
            .unwrap();
    }
    let ids = |query: &FreightQuery| -> Vec<String> {
        store
            .list_freight("p", query)
            .unwrap()
            .iter()
            .map(|f| f.id().to_owned())
            .collect()
    };
    assert_eq!(ids(&FreightQuery::default()), ["f4", "f3", "f2", "f1"]);
    let front = FreightQuery {
        warehouse: Some("front".into()),
        limit: Some(2),
        ..Default::default()
    };
    assert_eq!(ids(&front), ["f4", "f3"]);
    store
        .write(|tx| {
            tx.set_freight_current("p", "f1", "dev", at(100))?;
            tx.mark_freight_verified("p", "f1", "dev", at(200))?;
            tx.approve_freight("p", "f3", "prod", at(300))?;
            tx.set_freight_current("p", "f2", "dev.eu", at(100))
        })
        .unwrap();
    let query = |currently_in: Option<&str>, verified_in: Option<&str>, approved: Option<&str>| {
        ids(&FreightQuery {
            currently_in: currently_in.map(Into::into),
            verified_in: verified_in.map(Into::into),
            approved_for: approved.map(Into::into),
            ..Default::default()
        })
    };
    assert_eq!(query(Some("dev"), None, None), ["f1"]);
    assert_eq!(
        query(Some("dev.eu"), None, None),
        ["f2"],
        "dots in names are keys, not paths"
    );
    assert_eq!(query(None, Some("dev"), None), ["f1"]);
    assert_eq!(query(None, None, Some("prod")), ["f3"]);
    assert!(query(Some("dev"), None, Some("prod")).is_empty());
    assert_eq!(store.read(|r| r.freight_count("p")).unwrap(), 4);
}

#[test]
fn leaving_a_stage_after_verification_records_the_longest_soak() {
    let store = Store::open_in_memory().unwrap();
    store
        .insert_freight("p", &freight("f1", "w", "1.0.0", "2026-01-01T00:00:00Z"))
        .unwrap();
    let status = store
        .write(|tx| {
            tx.set_freight_current("p", "f1", "dev", at(1_000))?;
            // Already there: `since` is kept.
            tx.set_freight_current("p", "f1", "dev", at(1_500))?;
            tx.mark_freight_verified("p", "f1", "dev", at(1_100))?;
            tx.clear_freight_current("p", "f1", "dev", at(4_600))
        })
        .unwrap();
    assert!(status.currently_in.is_empty());
    assert_eq!(
        status.verified_in["dev"].longest_soak.as_deref(),
        Some("1h0m0s")
    );
    // A shorter stay later does not shorten it.
    let status = store
        .write(|tx| {
            tx.set_freight_current("p", "f1", "dev", at(10_000))?;
            tx.clear_freight_current("p", "f1", "dev", at(10_060))
        })
        .unwrap();
    assert_eq!(
        status.verified_in["dev"].longest_soak.as_deref(),
        Some("1h0m0s")
    );
    assert_eq!(
        status.verified_in["dev"].verified_at.as_deref(),
        Some("1970-01-01T00:18:20Z")
    );
}

#[test]
fn freight_metadata_shows_up_in_the_kargo_shaped_status() {
    let store = Store::open_in_memory().unwrap();
    store
        .insert_freight("p", &freight("f1", "w", "1.0.0", "2026-01-01T00:00:00Z"))
        .unwrap();
    store
        .set_freight_metadata("p", "f1", "ticket", serde_json::json!({"id": 42}))
        .unwrap();
    let kargo = store.freight("p", "f1").unwrap().unwrap().into_kargo();
    assert_eq!(kargo.status.unwrap()["metadata"]["ticket"]["id"], 42);
    assert_eq!(kargo.metadata.namespace.as_deref(), Some("p"));
    assert!(matches!(
        store
            .update_freight_status("p", "missing", |_| {})
            .unwrap_err(),
        StoreError::FreightNotFound { .. }
    ));
}
