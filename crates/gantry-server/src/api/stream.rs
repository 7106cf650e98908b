//! `GET /api/v1/events/stream`: the server's [`Change`]s as server-sent events.
//!
//! Each message is `event: <kind>` (`warehouse`, `freight`, `stage`, `promotion`, `config`),
//! `data: {"kind","project","name","eventId"?,"event"?}` and, for changes that logged an event,
//! `id: <event id>` with the logged event inside. A client that reconnects with
//! `Last-Event-ID: N` (or `?after=N`) first gets the logged events after `N` from the event log,
//! then live changes; nothing logged is lost or repeated. Changes that log no event (a status
//! update) cannot be replayed. A client too slow for the stream gets `event: lagged` with the
//! number of changes it missed: it should re-read what it shows. `?project=P` keeps one
//! Project's changes (and config reloads). Streams end when [`super::ApiOptions::shutdown`]
//! turns `true`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use gantry_store::{Event, EventQuery, Store};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, watch};

use super::ApiState;
use super::error::Problem;
use crate::{Change, ChangeKind};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StreamParams {
    project: Option<String>,
    after: Option<i64>,
}

/// At most this many logged events are replayed on a reconnect.
const REPLAY_LIMIT: usize = 10_000;

struct Cursor {
    backlog: VecDeque<Event>,
    changes: broadcast::Receiver<Change>,
    /// The newest event id sent.
    last: i64,
    project: Option<String>,
    store: Store,
    shutdown: Option<watch::Receiver<bool>>,
}

/// The kind of thing an event's subject names (`promotion/<name>` → promotion).
fn kind_of(subject: &str) -> (&'static str, &str) {
    let (prefix, name) = subject.split_once('/').unwrap_or(("", subject));
    let kind = match prefix {
        "warehouse" => ChangeKind::Warehouse,
        "freight" => ChangeKind::Freight,
        "stage" => ChangeKind::Stage,
        "promotion" => ChangeKind::Promotion,
        _ => return ("event", name),
    };
    (kind.as_str(), name)
}

fn from_event(event: &Event) -> SseEvent {
    let (kind, name) = kind_of(&event.subject);
    let data = json!({
        "kind": kind,
        "project": event.project,
        "name": name,
        "eventId": event.id,
        "event": event,
    });
    SseEvent::default()
        .event(kind)
        .id(event.id.to_string())
        .data(data.to_string())
}

fn from_change(change: &Change, event: Option<&Event>) -> SseEvent {
    let mut data = serde_json::to_value(change).unwrap_or_default();
    if let Some(event) = event {
        data["event"] = serde_json::to_value(event).unwrap_or_default();
    }
    let mut message = SseEvent::default()
        .event(change.kind.as_str())
        .data(data.to_string());
    if let Some(id) = change.event_id {
        message = message.id(id.to_string());
    }
    message
}

/// The logged events after `after` (oldest first).
fn replay(
    store: &Store,
    project: Option<&str>,
    after: i64,
) -> Result<Vec<Event>, gantry_store::StoreError> {
    let mut events: Vec<Event> = Vec::new();
    let mut cursor = after;
    while events.len() < REPLAY_LIMIT {
        let page = store.events(&EventQuery {
            project: project.map(str::to_owned),
            after: Some(cursor),
            limit: Some(1000),
            ..EventQuery::default()
        })?;
        let Some(last) = page.last() else { break };
        cursor = last.id;
        events.extend(page);
    }
    Ok(events)
}

/// The event a change logged, if any (blocking).
fn logged(store: &Store, id: i64) -> Option<Event> {
    store
        .events(&EventQuery {
            after: Some(id - 1),
            limit: Some(1),
            ..EventQuery::default()
        })
        .ok()?
        .into_iter()
        .find(|event| event.id == id)
}

/// `GET /api/v1/events/stream`.
pub(crate) async fn stream(
    State(state): State<ApiState>,
    Query(params): Query<StreamParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Problem> {
    // Subscribe before reading the log, so nothing falls between the two.
    let changes = state.handle.subscribe();
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<i64>().ok())
                .ok_or_else(|| Problem::bad_request("Last-Event-ID must be an event id"))?,
        ),
        None => params.after,
    };
    let store = state.handle.store().clone();
    let project = params.project.clone();
    let (backlog, last) = match resume {
        Some(after) => {
            let (s, p) = (store.clone(), project.clone());
            let backlog =
                tokio::task::spawn_blocking(move || replay(&s, p.as_deref(), after)).await??;
            let last = backlog.last().map_or(after, |event| event.id);
            (backlog, last)
        }
        None => (Vec::new(), 0),
    };
    let cursor = Cursor {
        backlog: backlog.into(),
        changes,
        last,
        project,
        store,
        shutdown: state.options.shutdown.clone(),
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        if let Some(event) = cursor.backlog.pop_front() {
            let message = from_event(&event);
            return Some((Ok(message), cursor));
        }
        loop {
            let received = match &mut cursor.shutdown {
                Some(shutdown) => tokio::select! {
                    received = cursor.changes.recv() => received,
                    _ = shutdown.wait_for(|stop| *stop) => return None,
                },
                None => cursor.changes.recv().await,
            };
            match received {
                Ok(change) => {
                    let wanted = cursor
                        .project
                        .as_deref()
                        .is_none_or(|p| change.project == p || change.kind == ChangeKind::Config);
                    if !wanted {
                        continue;
                    }
                    let event = match change.event_id {
                        Some(id) if id <= cursor.last => continue,
                        Some(id) => {
                            cursor.last = id;
                            let store = cursor.store.clone();
                            tokio::task::spawn_blocking(move || logged(&store, id))
                                .await
                                .ok()
                                .flatten()
                        }
                        None => None,
                    };
                    let message = from_change(&change, event.as_ref());
                    return Some((Ok(message), cursor));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let message = SseEvent::default()
                        .event("lagged")
                        .data(json!({ "missed": missed }).to_string());
                    return Some((Ok(message), cursor));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_subjects_name_the_kind_of_change() {
        assert_eq!(
            kind_of("promotion/dev.01abc.1234567"),
            ("promotion", "dev.01abc.1234567")
        );
        assert_eq!(kind_of("freight/abc"), ("freight", "abc"));
        assert_eq!(kind_of("warehouse/app"), ("warehouse", "app"));
        assert_eq!(kind_of("other"), ("event", "other"));
    }

    #[test]
    fn a_replay_returns_the_logged_events_after_the_cursor_of_one_project() {
        let store = Store::open_in_memory().unwrap();
        for (project, subject) in [
            ("shop", "freight/a"),
            ("other", "freight/b"),
            ("shop", "freight/c"),
        ] {
            store
                .append_event(
                    &gantry_store::NewEvent::new("FreightCreated", subject, "made")
                        .project(project),
                )
                .unwrap();
        }
        let all = replay(&store, None, 0).unwrap();
        assert_eq!(all.len(), 3);
        let shop = replay(&store, Some("shop"), all[0].id).unwrap();
        assert_eq!(
            shop.iter().map(|e| e.subject.as_str()).collect::<Vec<_>>(),
            ["freight/c"]
        );
        assert_eq!(logged(&store, all[1].id).unwrap().subject, "freight/b");
    }
}
