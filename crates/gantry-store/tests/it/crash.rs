use std::process::Command;

use gantry_engine::{Phase, PromotionStatus};
use gantry_store::{EventQuery, NewEvent, NewPromotion, PromotionQuery, Store};

use crate::freight;

const CHILD: &str = "GANTRY_STORE_CRASH_CHILD";

fn write_some(store: &Store) -> String {
    for i in 0..50 {
        store
            .insert_freight(
                "p",
                &freight(
                    &format!("f{i:03}"),
                    "w",
                    &format!("1.0.{i}"),
                    "2026-01-01T00:00:00Z",
                ),
            )
            .unwrap();
    }
    let promotion = store
        .create_promotion(&NewPromotion {
            project: "p".into(),
            stage: "dev".into(),
            freight: "f000".into(),
            ..Default::default()
        })
        .unwrap();
    let running = PromotionStatus {
        phase: Phase::Running,
        current_step: 2,
        ..Default::default()
    };
    store
        .save_promotion_status("p", &promotion.name, &running)
        .unwrap();
    for i in 0..20 {
        store
            .append_event(&NewEvent::new("Test", "stage/dev", format!("event {i}")))
            .unwrap();
    }
    promotion.name
}

fn assert_all_there(store: &Store, promotion: &str) {
    assert_eq!(store.read(|r| r.freight_count("p")).unwrap(), 50);
    let running = store.running_promotions().unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].name, promotion);
    assert_eq!(running[0].status.current_step, 2);
    assert_eq!(store.events(&EventQuery::default()).unwrap().len(), 20);
}

/// Not a test on its own: the child process of the crash test (does nothing without its
/// environment variable).
#[test]
fn child_process_that_writes_and_aborts() {
    let Some(path) = std::env::var_os(CHILD) else {
        return;
    };
    let store = Store::open(path).unwrap();
    let name = write_some(&store);
    println!("promotion={name}");
    std::process::abort();
}

#[test]
fn committed_writes_survive_a_crash_of_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::child_process_that_writes_and_aborts",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "the child should have aborted");
    let name = stdout
        .lines()
        .find_map(|line| line.split_once("promotion=").map(|(_, name)| name.trim()))
        .unwrap_or_else(|| panic!("child output: {stdout}"));
    assert!(
        dir.path().join("state.db-wal").exists(),
        "the crash left the write-ahead log behind"
    );
    let store = Store::open(&path).unwrap();
    assert_all_there(&store, name);
}

#[test]
fn a_store_dropped_without_shutdown_is_readable_by_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let first = Store::open(&path).unwrap();
    let name = write_some(&first);
    // Leak the connections: no close, no checkpoint.
    std::mem::forget(first);
    let second = Store::open(&path).unwrap();
    assert_all_there(&second, &name);
    // And it can carry on writing where the first stopped.
    let next = second
        .create_promotion(&NewPromotion {
            project: "p".into(),
            stage: "dev".into(),
            freight: "f001".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(next.name > name, "{} > {name}", next.name);
    let all = second
        .list_promotions("p", &PromotionQuery::default())
        .unwrap();
    assert_eq!(all.len(), 2);
}
