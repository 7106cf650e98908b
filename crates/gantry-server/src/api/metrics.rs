//! `GET /metrics`: Prometheus metrics in the OpenMetrics text format (`prometheus-client`).
//!
//! | metric | kind | labels | from |
//! |---|---|---|---|
//! | `gantry_http_requests_total` | counter | `method`, `route`, `status` | every API/webhook request |
//! | `gantry_http_request_duration_seconds` | histogram | `method`, `route` | every API/webhook request |
//! | `gantry_freight_created_total` | counter | `project` | `FreightCreated` events |
//! | `gantry_discovery_failures_total` | counter | `project` | `DiscoveryFailed` events |
//! | `gantry_warehouse_refreshes_total` | counter | `trigger` (`api`, `webhook`) | refreshes asked for |
//! | `gantry_webhook_requests_total` | counter | `receiver`, `outcome` | webhook receivers |
//! | `gantry_promotions_total` | counter | `phase` (`Pending` = created, `Running` = started, then the end) | promotion events |
//! | `gantry_promotions_active` | gauge | `phase` (`Pending`, `Running`) | the store, at scrape time |
//! | `gantry_promotion_duration_seconds` | histogram | `phase` | ended Promotions |
//! | `gantry_promotion_step_duration_seconds` | histogram | `step` (the step kind) | steps of ended Promotions |
//!
//! The event-derived metrics follow the event log with a cursor at scrape time, so they count
//! everything the store has logged (also before this process started) and need no task of
//! their own. Step times come from the stored step records, which have whole-second precision.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gantry_store::{EventQuery, PromotionQuery, Store, kinds};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::ApiState;
use super::error::Problem;

type Labels = Vec<(&'static str, String)>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

fn request_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
    ])
}

fn step_histogram() -> Histogram {
    Histogram::new([0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0])
}

/// The metrics of one server.
pub(crate) struct Metrics {
    registry: Registry,
    http_requests: Family<Labels, Counter>,
    http_duration: HistogramFamily,
    freight_created: Family<Labels, Counter>,
    discovery_failures: Family<Labels, Counter>,
    pub(crate) refreshes: Family<Labels, Counter>,
    pub(crate) webhooks: Family<Labels, Counter>,
    promotions: Family<Labels, Counter>,
    promotions_active: Family<Labels, Gauge>,
    promotion_duration: HistogramFamily,
    step_duration: HistogramFamily,
    /// The last event id counted.
    cursor: Mutex<i64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("gantry");
        let http_requests = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template and status",
            http_requests.clone(),
        );
        let http_duration: HistogramFamily = Family::new_with_constructor(request_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests (up to the response head for streams)",
            http_duration.clone(),
        );
        let freight_created = Family::<Labels, Counter>::default();
        registry.register(
            "freight_created",
            "Freight created by Warehouse discoveries",
            freight_created.clone(),
        );
        let discovery_failures = Family::<Labels, Counter>::default();
        registry.register(
            "discovery_failures",
            "Warehouse discoveries that failed (each new reason once)",
            discovery_failures.clone(),
        );
        let refreshes = Family::<Labels, Counter>::default();
        registry.register(
            "warehouse_refreshes",
            "Warehouse discoveries asked for outside the interval, by trigger",
            refreshes.clone(),
        );
        let webhooks = Family::<Labels, Counter>::default();
        registry.register(
            "webhook_requests",
            "Webhook deliveries, by receiver type and outcome",
            webhooks.clone(),
        );
        let promotions = Family::<Labels, Counter>::default();
        registry.register(
            "promotions",
            "Promotions that entered a phase (Pending = created, Running = started)",
            promotions.clone(),
        );
        let promotions_active = Family::<Labels, Gauge>::default();
        registry.register(
            "promotions_active",
            "Promotions pending or running now",
            promotions_active.clone(),
        );
        let promotion_duration: HistogramFamily = Family::new_with_constructor(step_histogram);
        registry.register(
            "promotion_duration_seconds",
            "Time from the first step's start to the end of ended Promotions",
            promotion_duration.clone(),
        );
        let step_duration: HistogramFamily = Family::new_with_constructor(step_histogram);
        registry.register(
            "promotion_step_duration_seconds",
            "Time each promotion step took, by step kind (whole-second precision)",
            step_duration.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            freight_created,
            discovery_failures,
            refreshes,
            webhooks,
            promotions,
            promotions_active,
            promotion_duration,
            step_duration,
            cursor: Mutex::new(0),
        }
    }

    /// Counts one HTTP request.
    fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&vec![
                ("method", method.to_owned()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.http_duration
            .get_or_create(&vec![
                ("method", method.to_owned()),
                ("route", route.to_owned()),
            ])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a refresh asked for by `trigger`.
    pub(crate) fn refreshed(&self, trigger: &str, count: usize) {
        self.refreshes
            .get_or_create(&vec![("trigger", trigger.to_owned())])
            .inc_by(count as u64);
    }

    /// Counts a webhook delivery.
    pub(crate) fn webhook(&self, receiver: &str, outcome: &str) {
        self.webhooks
            .get_or_create(&vec![
                ("receiver", receiver.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    /// Counts the events logged since the last call, and sets the gauges (blocking).
    fn catch_up(&self, store: &Store, projects: &[String]) -> Result<(), gantry_store::StoreError> {
        let mut cursor = self
            .cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            let events = store.events(&EventQuery {
                after: Some(*cursor),
                limit: Some(1000),
                ..EventQuery::default()
            })?;
            let Some(last) = events.last() else { break };
            *cursor = last.id;
            for event in &events {
                self.count_event(store, event)?;
            }
        }
        drop(cursor);
        let (mut pending, mut running) = (0i64, 0i64);
        for project in projects {
            let unfinished = store.list_promotions(
                project,
                &PromotionQuery {
                    unfinished: true,
                    ..PromotionQuery::default()
                },
            )?;
            for promotion in unfinished {
                match promotion.status.phase {
                    gantry_engine::Phase::Running => running += 1,
                    _ => pending += 1,
                }
            }
        }
        self.promotions_active
            .get_or_create(&vec![("phase", "Pending".to_owned())])
            .set(pending);
        self.promotions_active
            .get_or_create(&vec![("phase", "Running".to_owned())])
            .set(running);
        Ok(())
    }

    fn count_event(
        &self,
        store: &Store,
        event: &gantry_store::Event,
    ) -> Result<(), gantry_store::StoreError> {
        let project = event.project.clone().unwrap_or_default();
        let phase = match event.kind.as_str() {
            kinds::FREIGHT_CREATED => {
                self.freight_created
                    .get_or_create(&vec![("project", project)])
                    .inc();
                return Ok(());
            }
            kinds::DISCOVERY_FAILED => {
                self.discovery_failures
                    .get_or_create(&vec![("project", project)])
                    .inc();
                return Ok(());
            }
            kinds::PROMOTION_CREATED => "Pending",
            kinds::PROMOTION_STARTED => "Running",
            kinds::PROMOTION_SUCCEEDED => "Succeeded",
            kinds::PROMOTION_FAILED => "Failed",
            kinds::PROMOTION_ERRORED => "Errored",
            kinds::PROMOTION_ABORTED => "Aborted",
            _ => return Ok(()),
        };
        self.promotions
            .get_or_create(&vec![("phase", phase.to_owned())])
            .inc();
        if matches!(phase, "Pending" | "Running") {
            return Ok(());
        }
        let Some(name) = event.subject.strip_prefix("promotion/") else {
            return Ok(());
        };
        let Some(record) = store.promotion(&project, name)? else {
            return Ok(());
        };
        if let Some(seconds) = between(
            record.status.started_at.as_deref(),
            record.status.finished_at.as_deref(),
        ) {
            self.promotion_duration
                .get_or_create(&vec![("phase", phase.to_owned())])
                .observe(seconds);
        }
        for step in &record.status.step_execution_metadata {
            let Some(seconds) = between(step.started_at.as_deref(), step.finished_at.as_deref())
            else {
                continue;
            };
            let kind = super::resources::step_kind(&record.spec, &step.alias)
                .unwrap_or_else(|| "unknown".to_owned());
            self.step_duration
                .get_or_create(&vec![("step", kind)])
                .observe(seconds);
        }
        Ok(())
    }

    /// The text exposition.
    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Seconds between two RFC 3339 times.
fn between(start: Option<&str>, end: Option<&str>) -> Option<f64> {
    let start = gantry_api::time::parse_rfc3339(start?)?;
    let end = gantry_api::time::parse_rfc3339(end?)?;
    Some(end.duration_since(start).ok()?.as_secs_f64())
}

/// Middleware: counts and times every request by its route template (never the raw path, which
/// may hold a webhook secret).
pub(crate) async fn track(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics`.
pub(crate) async fn scrape(State(state): State<ApiState>) -> Result<Response, Problem> {
    let metrics = std::sync::Arc::clone(&state.metrics);
    let store = state.handle.store().clone();
    let projects: Vec<String> = state.handle.config().projects.keys().cloned().collect();
    let text = tokio::task::spawn_blocking(move || {
        metrics.catch_up(&store, &projects)?;
        Ok::<_, Problem>(metrics.encode())
    })
    .await??
    .map_err(|error| Problem::internal(&error))?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_in_the_log_become_counters_once() {
        let store = Store::open_in_memory().unwrap();
        store
            .append_event(
                &gantry_store::NewEvent::new(kinds::FREIGHT_CREATED, "freight/abc", "made")
                    .project("shop"),
            )
            .unwrap();
        store
            .append_event(
                &gantry_store::NewEvent::new(kinds::PROMOTION_CREATED, "promotion/x", "queued")
                    .project("shop"),
            )
            .unwrap();
        let metrics = Metrics::new();
        metrics.catch_up(&store, &["shop".to_owned()]).unwrap();
        metrics.catch_up(&store, &["shop".to_owned()]).unwrap();
        metrics.observe_request("GET", "/api/v1/projects", 200, Duration::from_millis(3));
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("gantry_freight_created_total{project=\"shop\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("gantry_promotions_total{phase=\"Pending\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "gantry_http_requests_total{method=\"GET\",route=\"/api/v1/projects\",status=\"200\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("gantry_promotions_active{phase=\"Running\"} 0\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
