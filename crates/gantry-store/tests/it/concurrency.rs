use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use gantry_engine::{Phase, PromotionStatus};
use gantry_store::{EventQuery, FinishedPromotion, NewEvent, NewPromotion, Store};

use crate::freight;

#[test]
fn threads_writing_events_and_promotions_at_once_never_see_busy_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = Store::open(&path).unwrap();
    // A second store on the same file: separate connections, as a second process would have.
    let other = Store::open(&path).unwrap();
    for stage in 0..2 {
        store
            .insert_freight(
                "p",
                &freight(
                    &format!("f{stage}"),
                    "w",
                    &format!("{stage}"),
                    "2026-01-01T00:00:00Z",
                ),
            )
            .unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for (thread_index, handle) in [&store, &store, &store, &other].into_iter().enumerate() {
        let handle = handle.clone();
        writers.push(thread::spawn(move || {
            for i in 0..200 {
                handle
                    .append_event(
                        &NewEvent::new("Test", format!("thread/{thread_index}"), format!("{i}"))
                            .project("p"),
                    )
                    .unwrap();
            }
        }));
    }
    for stage in 0..2 {
        let handle = if stage == 0 {
            store.clone()
        } else {
            other.clone()
        };
        writers.push(thread::spawn(move || {
            let stage_name = format!("stage{stage}");
            for _ in 0..25 {
                let promotion = handle
                    .create_promotion(&NewPromotion {
                        project: "p".into(),
                        stage: stage_name.clone(),
                        freight: format!("f{stage}"),
                        ..Default::default()
                    })
                    .unwrap();
                for step in 0..3 {
                    let status = PromotionStatus {
                        phase: Phase::Running,
                        current_step: step,
                        ..Default::default()
                    };
                    handle
                        .save_promotion_status("p", &promotion.name, &status)
                        .unwrap();
                }
                let end = PromotionStatus {
                    phase: Phase::Succeeded,
                    current_step: 3,
                    ..Default::default()
                };
                handle
                    .promotion_finished(&FinishedPromotion {
                        project: "p",
                        name: &promotion.name,
                        status: &end,
                        actor: None,
                        details: serde_json::Map::new(),
                    })
                    .unwrap();
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..2 {
        let handle = store.clone();
        let done = Arc::clone(&done);
        readers.push(thread::spawn(move || {
            let mut reads = 0u32;
            while !done.load(Ordering::Relaxed) {
                handle
                    .events(&EventQuery {
                        newest_first: true,
                        limit: Some(20),
                        ..Default::default()
                    })
                    .unwrap();
                handle.next_pending("p", "stage0").unwrap();
                handle.stage_status("p", "stage1").unwrap();
                reads += 1;
            }
            reads
        }));
    }
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }

    let events = store.events(&EventQuery::default()).unwrap();
    assert_eq!(events.len(), 4 * 200 + 2 * 25);
    assert!(events.windows(2).all(|pair| pair[0].id < pair[1].id));
    for stage in 0..2 {
        let stage_name = format!("stage{stage}");
        let status = store.stage_status("p", &stage_name).unwrap().unwrap();
        assert!(status.last_promotion.is_some());
        assert!(store.next_pending("p", &stage_name).unwrap().is_none());
    }
    assert!(store.running_promotions().unwrap().is_empty());
}

#[test]
fn promotions_created_from_two_stores_on_one_file_keep_their_queue_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let a = Store::open(&path).unwrap();
    let b = Store::open(&path).unwrap();
    a.insert_freight("p", &freight("f", "w", "1", "2026-01-01T00:00:00Z"))
        .unwrap();
    let mut names = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 { &a } else { &b };
        let promotion = store
            .create_promotion(&NewPromotion {
                project: "p".into(),
                stage: "dev".into(),
                freight: "f".into(),
                ..Default::default()
            })
            .unwrap();
        names.push(promotion.name);
    }
    let queue: Vec<String> = a
        .promotion_queue("p", "dev")
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(queue, names, "queue order is creation order");
}
