//! One task per Warehouse: discover every subscription on the Warehouse's interval (never more
//! often than `--min-interval`) and at once on refresh; save the status and conditions; create
//! Freight from the best artifact of every subscription when the creation policy and criteria
//! allow; tell the controller.
//!
//! Guarantees: a failed discovery keeps the previous artifacts and reports the reason in the
//! `Healthy` condition (logged as a `DiscoveryFailed` event when the reason changes); the same
//! artifacts never make a second Freight (ids are content hashes); a status whose only change
//! would be the discovery time is not rewritten, so an idle Warehouse causes no writes and no
//! [`crate::Change`]s (`discoveredAt` is when the artifacts last changed).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gantry_api::kargo::{Condition, DiscoveredArtifacts, Warehouse, WarehouseStatus};
use gantry_api::time::{format_rfc3339, parse_go_duration};
use gantry_core::warehouse::{CreationDecision, build_freight, creation_decision};
use gantry_store::{InsertOutcome, NewEvent, StoreError, kinds};
use tokio::sync::mpsc;

use super::discovery::{Found, Request};
use super::{Context, Internal, RefreshRequest};
use crate::{ApiError, ChangeKind, PushedTag, RefreshOutcome};

/// Someone waiting for a refresh.
type Reply = tokio::sync::oneshot::Sender<Result<RefreshOutcome, ApiError>>;

/// Kargo's default when `interval` does not parse (validation reports it).
const DEFAULT_INTERVAL: Duration = Duration::from_mins(5);

/// The Warehouse's loop; ends when the server stops or the task is aborted.
pub(crate) async fn run(
    context: Arc<Context>,
    project: String,
    name: String,
    spec: Warehouse,
    mut requests: mpsc::UnboundedReceiver<RefreshRequest>,
) {
    let interval = parse_go_duration(&spec.spec.interval)
        .unwrap_or(DEFAULT_INTERVAL)
        .max(context.options.min_interval);
    let mut stopped = context.stopped.clone();
    let mut previous: Option<Arc<DiscoveredArtifacts>> = None;
    let mut replies: Vec<Reply> = Vec::new();
    let mut pushed: Vec<PushedTag> = Vec::new();
    // Whether the next discovery must ask for every tag: the first one, one on the interval,
    // one a plain refresh asked for, one after a failure (whose notified tags were not seen).
    let mut full = true;
    // When the last discovery that asked for every tag started: the interval counts from it,
    // so notifications arriving more often than the interval do not put the full one off.
    let mut last_full = tokio::time::Instant::now();
    tracing::info!(project, warehouse = name, ?interval, "watching warehouse");
    loop {
        if context.stopping() {
            return;
        }
        full |= last_full.elapsed() >= interval;
        let notified_only = !full && !pushed.is_empty();
        let Round {
            outcome,
            artifacts,
            started,
            unsettled,
        } = discover(
            &context,
            &project,
            &name,
            &spec,
            previous.clone(),
            std::mem::take(&mut pushed).into(),
            notified_only,
        )
        .await;
        if !notified_only {
            last_full = started;
        }
        // A tag the registry did not yet serve as notified may have been taken as it was:
        // the next discovery reads every tag again.
        full = artifacts.is_none() || unsettled;
        if artifacts.is_some() {
            previous = artifacts;
        }
        let reply = outcome.map_err(|error| ApiError::internal(&error));
        if let Ok(outcome) = &reply
            && outcome.created
        {
            context.tell(Internal::FreightCreated {
                project: project.clone(),
            });
        }
        for waiting in replies.drain(..) {
            let _ = waiting.send(reply.clone());
        }
        // The interval counts from the last full discovery, but never leaves less than half
        // of it after this one (a discovery that queued or took long is not chained at once).
        let now = tokio::time::Instant::now();
        let wait = tokio::time::sleep_until((last_full + interval).max(now + interval / 2));
        tokio::select! {
            _ = stopped.changed() => return,
            () = wait => full = true,
            request = requests.recv() => match request {
                Some(request) => {
                    let mut take = |request: RefreshRequest| {
                        replies.extend(request.reply);
                        full |= request.pushed.is_empty();
                        for tag in request.pushed {
                            // A tag pushed twice counts with the digest it was pushed with last.
                            pushed.retain(|known| {
                                known.repository != tag.repository || known.tag != tag.tag
                            });
                            pushed.push(tag);
                        }
                    };
                    take(request);
                    // Requests that queued up meanwhile are answered by the same discovery.
                    while let Ok(more) = requests.try_recv() {
                        take(more);
                    }
                }
                None => return,
            },
        }
    }
}

/// What one discovery did.
struct Round {
    outcome: Result<RefreshOutcome, StoreError>,
    /// When every subscription was discovered: the artifacts (for the next short-circuit).
    artifacts: Option<Arc<DiscoveredArtifacts>>,
    /// When the discovery got its permit and started.
    started: tokio::time::Instant,
    /// A notified tag was still not served as notified when the discovery gave up waiting.
    unsettled: bool,
}

/// One discovery: every subscription, then the bookkeeping.
async fn discover(
    context: &Arc<Context>,
    project: &str,
    name: &str,
    spec: &Warehouse,
    previous: Option<Arc<DiscoveredArtifacts>>,
    pushed: Arc<[PushedTag]>,
    notified_only: bool,
) -> Round {
    // Closed only if the context is dropped, which ends this task first.
    let _permit = context.discoveries.acquire().await.ok();
    let started = tokio::time::Instant::now();
    let unsettled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let config = context.config();
    let credentials = config
        .project(project)
        .map(|p| Arc::clone(&p.credentials))
        .unwrap_or_default();
    let mut artifacts = DiscoveredArtifacts::default();
    let mut failure = None;
    for (i, subscription) in spec.spec.subscriptions.iter().enumerate() {
        let discoverer = match context.discoverers.get(subscription) {
            Ok(discoverer) => discoverer,
            Err(message) => {
                failure = Some(format!("subscription {}: {message}", i + 1));
                break;
            }
        };
        let request = Request {
            subscription: subscription.clone(),
            credentials: Arc::clone(&credentials),
            previous: previous.clone(),
            pushed: Arc::clone(&pushed),
            notified_only,
            unsettled: Arc::clone(&unsettled),
        };
        match discoverer.discover(request).await {
            Ok(Found::Git(result)) => artifacts.git.push(result),
            Ok(Found::Image(result)) => artifacts.images.push(result),
            Ok(Found::Chart(result)) => artifacts.charts.push(result),
            Err(message) => {
                failure = Some(format!(
                    "{} subscription {}: {message}",
                    discoverer.kind(),
                    i + 1
                ));
                break;
            }
        }
    }
    let now = SystemTime::now();
    artifacts.discovered_at = Some(rfc3339_millis(now));
    let found = match failure {
        Some(message) => Err(message),
        None => Ok(artifacts),
    };
    let artifacts = found.as_ref().ok().map(|a| Arc::new(a.clone()));
    let task_context = Arc::clone(context);
    let (project_name, warehouse_name, spec) = (project.to_owned(), name.to_owned(), spec.clone());
    let recorded = tokio::task::spawn_blocking(move || {
        record(
            &task_context,
            &project_name,
            &warehouse_name,
            &spec,
            found,
            now,
        )
    })
    .await;
    let outcome = match recorded {
        Ok(result) => result,
        Err(join) => {
            tracing::error!(project, warehouse = name, error = %join, "recording a discovery panicked");
            Ok(RefreshOutcome {
                message: Some("recording the discovery failed".to_owned()),
                ..RefreshOutcome::default()
            })
        }
    };
    match &outcome {
        Ok(outcome) => tracing::debug!(
            project,
            warehouse = name,
            elapsed_ms = started.elapsed().as_millis(),
            freight = outcome.freight.as_deref().unwrap_or("-"),
            created = outcome.created,
            "discovered"
        ),
        Err(error) => tracing::error!(
            project,
            warehouse = name,
            error = error as &dyn std::error::Error,
            "saving a discovery failed"
        ),
    }
    Round {
        outcome,
        artifacts,
        started,
        unsettled: unsettled.load(std::sync::atomic::Ordering::Relaxed),
    }
}

/// RFC 3339 with milliseconds: Freight made within one second still sort newest first.
fn rfc3339_millis(time: SystemTime) -> String {
    let whole = format_rfc3339(time);
    let millis = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    match whole.strip_suffix('Z') {
        Some(head) => format!("{head}.{millis:03}Z"),
        None => whole,
    }
}

/// Sets a condition, keeping its transition time when its status did not change.
pub(crate) fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: Option<String>,
    now: SystemTime,
) {
    let transition = conditions
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| format_rfc3339(now));
    conditions.retain(|c| c.type_ != type_);
    conditions.push(Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message,
        last_transition_time: Some(transition),
        observed_generation: None,
    });
    conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
}

fn healthy(
    status: &mut WarehouseStatus,
    ok: bool,
    reason: &str,
    message: Option<String>,
    now: SystemTime,
) {
    let value = if ok { "True" } else { "False" };
    set_condition(
        &mut status.conditions,
        "Healthy",
        value,
        reason,
        message.clone(),
        now,
    );
    set_condition(&mut status.conditions, "Ready", value, reason, message, now);
}

/// Whether two statuses differ in more than the discovery time.
fn differs(old: &WarehouseStatus, new: &WarehouseStatus) -> bool {
    let strip = |status: &WarehouseStatus| {
        let mut status = status.clone();
        if let Some(artifacts) = &mut status.discovered_artifacts {
            artifacts.discovered_at = None;
        }
        status
    };
    strip(old) != strip(new)
}

/// Saves a discovery's result and creates its Freight, in one transaction.
fn record(
    context: &Context,
    project: &str,
    name: &str,
    spec: &Warehouse,
    found: Result<DiscoveredArtifacts, String>,
    now: SystemTime,
) -> Result<RefreshOutcome, StoreError> {
    let mut changes = Vec::new();
    let outcome = context.store.write(|tx| {
        let old = tx.reader().warehouse_status(project, name)?.unwrap_or_default();
        let mut status = old.clone();
        let mut outcome = RefreshOutcome::default();
        match found {
            Err(message) => {
                let repeated = old.conditions.iter().any(|c| {
                    c.type_ == "Healthy"
                        && c.status == "False"
                        && c.message.as_deref() == Some(message.as_str())
                });
                healthy(&mut status, false, "DiscoveryFailed", Some(message.clone()), now);
                if !repeated {
                    tracing::warn!(project, warehouse = name, "discovery failed: {message}");
                    let event = tx.append_event(
                        &NewEvent::new(
                            kinds::DISCOVERY_FAILED,
                            format!("warehouse/{name}"),
                            format!("discovery of warehouse {name} failed: {message}"),
                        )
                        .project(project),
                    )?;
                    changes.push((ChangeKind::Warehouse, name.to_owned(), Some(event.id)));
                }
                outcome.message = Some(message);
            }
            Ok(artifacts) => {
                // A discovery whose artifacts did not change keeps the old discovery time.
                let unchanged = old.discovered_artifacts.as_ref().is_some_and(|old| {
                    let mut new = artifacts.clone();
                    new.discovered_at.clone_from(&old.discovered_at);
                    *old == new
                });
                if !unchanged {
                    status.discovered_artifacts = Some(artifacts.clone());
                }
                match build_freight(spec, &artifacts) {
                    Err(error) => {
                        let message = error.to_string();
                        healthy(&mut status, false, error.reason(), Some(message.clone()), now);
                        outcome.message = Some(message);
                    }
                    Ok(freight) => {
                        let id = freight.metadata.name.clone().unwrap_or_default();
                        outcome.freight = Some(id.clone());
                        match creation_decision(spec, &freight) {
                            Err(error) => {
                                let message = error.to_string();
                                healthy(&mut status, false, "InvalidCriteria", Some(message.clone()), now);
                                outcome.message = Some(message);
                            }
                            Ok(CreationDecision::Manual) => {
                                healthy(&mut status, true, "Discovered", None, now);
                                outcome.message = Some(
                                    "freightCreationPolicy is Manual: no freight is created automatically"
                                        .to_owned(),
                                );
                            }
                            Ok(CreationDecision::CriteriaNotMet { expression }) => {
                                healthy(&mut status, true, "Discovered", None, now);
                                outcome.message = Some(format!(
                                    "freightCreationCriteria `{expression}` is false for the newest artifacts"
                                ));
                            }
                            Ok(CreationDecision::Create) => {
                                healthy(&mut status, true, "Discovered", None, now);
                                let (inserted, alias) =
                                    tx.insert_freight_with_alias(project, &freight, |taken| {
                                        gantry_core::alias::generate(&id, taken)
                                    })?;
                                if inserted == InsertOutcome::Inserted {
                                    outcome.created = true;
                                    status.last_freight_id = Some(id.clone());
                                    let shown = alias.clone().unwrap_or_else(|| id.chars().take(7).collect());
                                    let mut details = serde_json::Map::new();
                                    details.insert("warehouse".into(), name.into());
                                    details.insert("freight".into(), id.clone().into());
                                    if let Some(alias) = &alias {
                                        details.insert("alias".into(), alias.clone().into());
                                    }
                                    let event = tx.append_event(
                                        &NewEvent::new(
                                            kinds::FREIGHT_CREATED,
                                            format!("freight/{id}"),
                                            format!("warehouse {name} created freight {shown}"),
                                        )
                                        .project(project)
                                        .details(details.into()),
                                    )?;
                                    tracing::info!(project, warehouse = name, freight = %id, alias = alias.as_deref().unwrap_or("-"), "freight created");
                                    changes.push((ChangeKind::Freight, id.clone(), Some(event.id)));
                                }
                            }
                        }
                    }
                }
            }
        }
        if differs(&old, &status) {
            tx.save_warehouse_status(project, name, &status)?;
            changes.push((ChangeKind::Warehouse, name.to_owned(), None));
        }
        Ok::<_, StoreError>(outcome)
    })?;
    for (kind, subject, event) in changes {
        context.emit(kind, project, &subject, event);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_keeps_its_transition_time_while_its_status_holds() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let t1 = t0 + Duration::from_mins(1);
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            "Healthy",
            "False",
            "DiscoveryFailed",
            Some("a".into()),
            t0,
        );
        set_condition(
            &mut conditions,
            "Healthy",
            "False",
            "DiscoveryFailed",
            Some("b".into()),
            t1,
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].message.as_deref(), Some("b"));
        assert_eq!(conditions[0].last_transition_time, Some(format_rfc3339(t0)));
        set_condition(&mut conditions, "Healthy", "True", "Discovered", None, t1);
        assert_eq!(conditions[0].last_transition_time, Some(format_rfc3339(t1)));
    }
}
