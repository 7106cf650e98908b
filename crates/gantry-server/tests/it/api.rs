//! The HTTP API of a running server on 127.0.0.1:0: auth, reads, commands, errors, the SSE
//! stream and `/metrics`, over the seed-like pipeline on a real git server.

use std::time::Duration;

use gantry_server::Handle;
use gantry_server::api::{AdminToken, ApiOptions};
use serde_json::{Value, json};

use crate::fixture::{Fixture, current_freight, eventually, verified_in};

/// A running router and a client for it.
pub(crate) struct Api {
    pub(crate) base: String,
    pub(crate) token: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn client() -> reqwest::Client {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Serves the router of `handle` on `listener`.
pub(crate) async fn serve_on(
    listener: tokio::net::TcpListener,
    handle: Handle,
    open_reads: bool,
) -> Api {
    let token = AdminToken::load_or_create(handle.data_dir()).unwrap();
    let mut options = ApiOptions::new(token.clone());
    options.open_reads = open_reads;
    let router = gantry_server::http::router(handle, options);
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Api {
        base: format!("http://127.0.0.1:{port}"),
        token: token.expose().to_owned(),
        client: client(),
        task,
    }
}

pub(crate) async fn serve(handle: Handle, open_reads: bool) -> Api {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_on(listener, handle, open_reads).await
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    Token,
    None,
    Wrong(&'a str),
}

impl Api {
    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
    ) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match auth {
            Auth::Token => request.bearer_auth(&self.token),
            Auth::None => request,
            Auth::Wrong(token) => request.bearer_auth(token),
        }
    }

    async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    pub(crate) async fn get_as(&self, path: &str, auth: Auth<'_>) -> (u16, Value) {
        Self::send(self.request(reqwest::Method::GET, path, auth)).await
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let (status, value) = self.get_as(path, Auth::Token).await;
        assert_eq!(status, 200, "GET {path}: {value}");
        value
    }

    pub(crate) async fn post_as(&self, path: &str, body: &Value, auth: Auth<'_>) -> (u16, Value) {
        let request = self
            .request(reqwest::Method::POST, path, auth)
            .header("content-type", "application/json")
            .body(body.to_string());
        Self::send(request).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(path, body, Auth::Token).await
    }

    pub(crate) async fn raw(&self, request: reqwest::RequestBuilder) -> reqwest::Response {
        request.send().await.unwrap()
    }

    pub(crate) fn post_raw(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.base))
    }

    /// Opens the SSE stream.
    async fn stream(&self, query: &str, last_event_id: Option<i64>) -> Sse {
        let mut request = self.request(
            reqwest::Method::GET,
            &format!("/api/v1/events/stream{query}"),
            Auth::Token,
        );
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Sse {
            response,
            buffer: String::new(),
        }
    }
}

/// A server-sent-events reader.
struct Sse {
    response: reqwest::Response,
    buffer: String,
}

/// One SSE message.
#[derive(Debug, Default)]
struct Message {
    event: String,
    id: Option<i64>,
    data: Value,
}

impl Sse {
    async fn next(&mut self) -> Message {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut message = Message::default();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event: ") {
                        value.clone_into(&mut message.event);
                    } else if let Some(value) = line.strip_prefix("id: ") {
                        message.id = value.parse().ok();
                    } else if let Some(value) = line.strip_prefix("data: ") {
                        message.data = serde_json::from_str(value).unwrap();
                    }
                }
                if message.event.is_empty() {
                    continue; // a keep-alive comment
                }
                return message;
            }
            let chunk = tokio::time::timeout(crate::PATIENCE, self.response.chunk())
                .await
                .expect("an SSE message in time")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Skips messages until one satisfies `wanted`.
    async fn until(&mut self, what: &str, wanted: impl Fn(&Message) -> bool) -> Message {
        let deadline = tokio::time::Instant::now() + crate::PATIENCE;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            let message = self.next().await;
            if wanted(&message) {
                return message;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_need_the_token_and_reads_need_it_unless_opened() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let closed = serve(server.handle(), false).await;
    let open = serve(server.handle(), true).await;
    let token_file = fixture.data.join("admin-token");
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap().trim(),
        closed.token
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let (status, body) = closed.get_as("/api/v1/projects", Auth::None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["kind"], "Unauthorized");
    let (status, _) = closed.get_as("/api/v1/projects", Auth::Wrong("nope")).await;
    assert_eq!(status, 401);
    let projects = closed.get("/api/v1/projects").await;
    assert_eq!(projects["items"][0]["name"], "shop");
    assert_eq!(
        projects["items"][0]["stages"],
        json!(["approved", "develop", "production"])
    );

    let (status, _) = open.get_as("/api/v1/projects", Auth::None).await;
    assert_eq!(status, 200);
    let (status, _) = open
        .get_as("/api/v1/projects/shop/stages", Auth::Wrong("nope"))
        .await;
    assert_eq!(
        status, 401,
        "a wrong token is refused even when reads are open"
    );

    let promote = "/api/v1/projects/shop/stages/production/promotions";
    let body = json!({ "freight": "whatever" });
    for api in [&closed, &open] {
        let (status, answer) = api.post_as(promote, &body, Auth::None).await;
        assert_eq!(status, 401, "{answer}");
        assert!(!answer.to_string().contains(&api.token));
        let (status, _) = api.post_as(promote, &body, Auth::Wrong("x")).await;
        assert_eq!(status, 401);
        let (status, _) = api
            .post_as(
                "/api/v1/projects/shop/warehouses/app/refresh",
                &json!({}),
                Auth::None,
            )
            .await;
        assert_eq!(status, 401);
    }
    // With the token the request reaches the controller, which knows no such Freight.
    let (status, answer) = open.post(promote, &body).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["kind"], "NotFound");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reads_the_pipeline_promotes_by_alias_streams_the_change_and_shows_history() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let api = serve(handle.clone(), false).await;
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    eventually("verification in develop", || {
        verified_in(&handle, &first, "develop").then_some(())
    })
    .await;

    // Reads.
    let project = api.get("/api/v1/projects/shop").await;
    assert_eq!(project["warehouses"], json!(["app"]));
    assert_eq!(project["freightCount"], 1);
    let warehouse = api.get("/api/v1/projects/shop/warehouses/app").await;
    assert_eq!(
        warehouse["spec"]["subscriptions"][0]["git"]["branch"],
        "main"
    );
    assert!(
        warehouse["status"]["discoveredArtifacts"].is_object(),
        "{warehouse}"
    );
    let freight = api.get("/api/v1/projects/shop/freight").await;
    let item = &freight["items"][0];
    assert_eq!(item["metadata"]["name"], first.as_str());
    assert_eq!(item["metadata"]["namespace"], "shop");
    let alias = item["alias"].as_str().unwrap().to_owned();
    let by_alias = api
        .get(&format!("/api/v1/projects/shop/freight/{alias}"))
        .await;
    assert_eq!(by_alias["metadata"]["name"], first.as_str());
    let in_develop = api.get("/api/v1/projects/shop/freight?stage=develop").await;
    assert_eq!(in_develop["items"].as_array().unwrap().len(), 1);
    let in_production = api
        .get("/api/v1/projects/shop/freight?stage=production")
        .await;
    assert_eq!(in_production["items"], json!([]));
    let stages = api.get("/api/v1/projects/shop/stages").await;
    let names: Vec<&str> = stages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["approved", "develop", "production"]);
    let develop = api.get("/api/v1/projects/shop/stages/develop").await;
    assert_eq!(
        develop["currentFreight"][0]["metadata"]["name"],
        first.as_str()
    );
    assert_eq!(develop["controlFlow"], false);
    let approved = api.get("/api/v1/projects/shop/stages/approved").await;
    assert_eq!(approved["controlFlow"], true);

    // Explanations in plain words.
    let explained = api
        .get("/api/v1/projects/shop/stages/production/explain")
        .await;
    assert_eq!(
        explained["origins"][0]["reason"],
        "auto-promotion is off: no promotion policy of the project matches this stage"
    );
    let explained = api
        .get("/api/v1/projects/shop/stages/develop/explain")
        .await;
    assert_eq!(explained["autoPromotion"], true);
    assert!(
        explained["origins"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("the newest available freight"),
        "{explained}"
    );

    // Promote by alias while watching the stream.
    let mut stream = api.stream("?project=shop", None).await;
    let (status, created) = api
        .post(
            "/api/v1/projects/shop/stages/production/promotions",
            &json!({ "freightAlias": alias }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let name = created["promotion"].as_str().unwrap().to_owned();
    assert!(name.starts_with("production."), "{name}");
    let message = stream
        .until("the promotion's change", |m| {
            m.event == "promotion" && m.data["name"] == name.as_str()
        })
        .await;
    assert_eq!(message.data["project"], "shop");
    let id = message.id.expect("a logged change has an event id");
    assert_eq!(message.data["event"]["id"], id);
    assert_eq!(message.data["event"]["kind"], "PromotionCreated");

    // The queue and the explanation see it; the gate step holds it.
    let explained = api
        .get("/api/v1/projects/shop/stages/production/explain")
        .await;
    assert!(
        explained["queue"][0].as_str().unwrap().starts_with(&name),
        "{explained}"
    );
    eventually("the production promotion at its gate", || {
        let record = handle.store().promotion("shop", &name).unwrap()?;
        record.status.step("gate").map(|_| ())
    })
    .await;
    fixture.open_gate();
    let done = stream
        .until("the promotion's success", |m| {
            m.data["event"]["kind"] == "PromotionSucceeded"
        })
        .await;
    assert!(done.id.unwrap() > id);

    let promotion = api
        .get(&format!("/api/v1/projects/shop/promotions/{name}"))
        .await;
    assert_eq!(promotion["status"]["phase"], "Succeeded");
    let steps = promotion["steps"].as_array().unwrap();
    let kinds: Vec<&str> = steps.iter().map(|s| s["uses"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["git-clone", "yaml-update", "git-commit", "http", "git-push"]
    );
    assert!(
        steps.iter().all(|s| s["status"] == "Succeeded"),
        "{promotion}"
    );
    let list = api
        .get("/api/v1/projects/shop/stages/production/promotions")
        .await;
    assert_eq!(list["items"][0]["name"], name.as_str());
    assert!(
        list["items"][0].get("spec").is_none(),
        "the internal spec stays inside"
    );

    // History with the commit that the push made.
    let head = fixture.gitops_head();
    let history = api
        .get("/api/v1/projects/shop/stages/production/history")
        .await;
    let entry = &history["items"][0];
    assert_eq!(entry["current"], true);
    assert_eq!(entry["items"][0]["freight"], first.as_str());
    assert_eq!(entry["items"][0]["promotion"], name.as_str());
    assert_eq!(entry["items"][0]["promotedBy"], "admin");
    let commits = entry["items"][0]["gitCommits"].as_array().unwrap();
    assert!(
        commits.iter().any(|c| c["commit"] == head.as_str()),
        "{history} vs {head}"
    );

    // Resuming the stream from an event id replays the log after it, then goes live.
    let mut resumed = api.stream("", Some(id)).await;
    let replayed = resumed.next().await;
    assert!(replayed.id.unwrap() > id, "{replayed:?}");
    assert_eq!(replayed.event, "promotion");

    // The event log with filters.
    let events = api
        .get("/api/v1/events?project=shop&kind=PromotionSucceeded&newestFirst=true&limit=1")
        .await;
    assert_eq!(events["items"][0]["details"]["promotion"], name.as_str());
    let after = api.get(&format!("/api/v1/events?after={id}")).await;
    assert!(
        after["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"].as_i64().unwrap() > id)
    );

    // Metrics counted all of it.
    let metrics = api
        .raw(api.client.get(format!("{}/metrics", api.base)))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gantry_promotions_total{phase=\"Succeeded\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gantry_freight_created_total{project=\"shop\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gantry_promotion_step_duration_seconds_count{step=\"git-push\"}"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("route=\"/api/v1/projects/{project}/stages/{name}/explain\",status=\"200\""),
        "{metrics}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_with_a_kind_and_the_matching_status() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let api = serve(handle.clone(), false).await;
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;

    let (status, body) = api
        .get_as("/api/v1/projects/nope/stages", Auth::Token)
        .await;
    assert_eq!((status, &body["error"]["kind"]), (404, &json!("NotFound")));
    assert_eq!(body["error"]["message"], "project nope not found");
    let (status, body) = api
        .get_as("/api/v1/projects/shop/stages/nope", Auth::Token)
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"]["message"],
        "stage nope not found in project shop"
    );
    let (status, _) = api.get_as("/api/v1/nothing/here", Auth::Token).await;
    assert_eq!(status, 404);

    let promote = "/api/v1/projects/shop/stages/production/promotions";
    let (status, body) = api
        .post(promote, &json!({ "freight": first, "freightAlias": "x" }))
        .await;
    assert_eq!(
        (status, &body["error"]["kind"]),
        (400, &json!("BadRequest"))
    );
    let (status, body) = api.post(promote, &json!({ "freightAlias": first })).await;
    assert_eq!(status, 404, "an id is not an alias: {body}");
    let (status, body) = api.post(promote, &json!({ "bogus": 1 })).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = api
        .post(
            "/api/v1/projects/shop/stages/approved/promotions",
            &json!({ "freight": first }),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["kind"]),
        (422, &json!("Invalid")),
        "{body}"
    );

    // An ended Promotion cannot be aborted.
    let ended = handle
        .store()
        .list_promotions("shop", &gantry_store::PromotionQuery::default())
        .unwrap()
        .into_iter()
        .find(|p| p.status.phase.is_terminal())
        .unwrap();
    let (status, body) = api
        .post(
            &format!("/api/v1/projects/shop/promotions/{}/abort", ended.name),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["kind"]),
        (409, &json!("Conflict")),
        "{body}"
    );

    // Rollback needs history to go back to.
    let (status, body) = api
        .post("/api/v1/projects/shop/stages/develop/rollback", &json!({}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no other freight")
    );

    // Refresh: fire and forget, or wait for the outcome.
    let (status, body) = api
        .post("/api/v1/projects/shop/warehouses/app/refresh", &json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = api
        .post(
            "/api/v1/projects/shop/warehouses/app/refresh?wait=true",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["freight"], first.as_str());
    assert_eq!(body["created"], false);
    let (status, _) = api
        .post("/api/v1/projects/shop/warehouses/nope/refresh", &json!({}))
        .await;
    assert_eq!(status, 404);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_re_promotes_the_freight_the_stage_held_before() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let api = serve(handle.clone(), false).await;
    let first = eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    fixture.push_app_commit("version 2\n");
    let (status, body) = api
        .post(
            "/api/v1/projects/shop/warehouses/app/refresh?wait=true",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let second = body["freight"].as_str().unwrap().to_owned();
    eventually("the second freight in develop", || {
        (current_freight(&handle, "develop")? == second).then_some(())
    })
    .await;
    let (status, body) = api
        .post("/api/v1/projects/shop/stages/develop/rollback", &json!({}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["freight"], first.as_str());
    eventually("the first freight back in develop", || {
        (current_freight(&handle, "develop")? == first).then_some(())
    })
    .await;
    // Auto-promotion holds now (other Freight was promoted by hand) and says so.
    let explained = api
        .get("/api/v1/projects/shop/stages/develop/explain")
        .await;
    assert!(
        explained["origins"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("held"),
        "{explained}"
    );
    // Rolling "back" to what it holds is refused; to the second by name works.
    let (status, _) = api
        .post(
            "/api/v1/projects/shop/stages/develop/rollback",
            &json!({ "to": first }),
        )
        .await;
    assert_eq!(status, 422);
    let (status, body) = api
        .post(
            "/api/v1/projects/shop/stages/develop/rollback",
            &json!({ "to": second }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    server.shutdown().await;
}

/// Run with `cargo test -p gantry-server --test it -- --ignored --nocapture api_latency`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: prints latency percentiles"]
async fn api_latency_of_reads_and_a_promote() {
    let fixture = Fixture::new();
    let server = fixture.start().await;
    let handle = server.handle();
    let api = serve(handle.clone(), false).await;
    eventually("the first freight in develop", || {
        current_freight(&handle, "develop")
    })
    .await;
    let percentiles = |what: &str, mut samples: Vec<Duration>| {
        samples.sort();
        eprintln!(
            "{what}, {} samples: p50 {:?}, p95 {:?}, max {:?}",
            samples.len(),
            samples[samples.len() / 2],
            samples[samples.len() * 95 / 100],
            samples[samples.len() - 1]
        );
    };
    for path in [
        "/api/v1/projects/shop/stages",
        "/api/v1/projects/shop/freight",
        "/api/v1/projects/shop/stages/production/explain",
        "/api/v1/projects/shop/promotions",
    ] {
        let _ = api.get(path).await; // warm up the connection
        let mut samples = Vec::new();
        for _ in 0..500 {
            let started = std::time::Instant::now();
            let _ = api.get(path).await;
            samples.push(started.elapsed());
        }
        percentiles(&format!("GET {path}"), samples);
    }
    server.shutdown().await;
}
