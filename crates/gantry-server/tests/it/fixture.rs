//! The seed-like pipeline on a real git server, and helpers to start, stop and watch a server.
//!
//! ```text
//!  app.git (watched)  ──Warehouse app (git, main)──► Freight
//!  gitops.git ◄── develop (direct, auto-promotion, the shared PromotionTask)
//!            ◄── production (upstream develop, manual; inline steps with an `http` gate)
//! ```

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gantry_server::{Handle, Server, ServerOptions};
use gantry_test::GitServer;

pub(crate) const USER: &str = "promoter";
pub(crate) const PASSWORD: &str = "s3cr3t-t0ken";

pub(crate) const INSTANCE: &str = "# The frontend.\napiVersion: kro.run/v1alpha1\nkind: WebApplication\nmetadata:\n  name: frontend # keep this name\nspec:\n  values:\n    deployment:\n      image: registry.local/frontend\n      tag: initial\n      replicas: 2 # scaled by hand\n";

pub(crate) struct Fixture {
    pub(crate) server: GitServer,
    /// Holds every file of the test until it ends.
    _temp: tempfile::TempDir,
    /// A working clone of app.git, for pushing new commits.
    pub(crate) app: PathBuf,
    pub(crate) config: PathBuf,
    pub(crate) data: PathBuf,
    /// The port of the gate the production steps wait on.
    pub(crate) gate_port: u16,
    gate: mpsc::Sender<()>,
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    gantry_test::git(dir, args).unwrap()
}

/// Logs of the server under test, when `GANTRY_LOG` asks for them (`GANTRY_LOG=debug cargo
/// test -- --nocapture`).
fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("GANTRY_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .with_ansi(false)
                .try_init();
        }
    });
}

impl Fixture {
    pub(crate) fn new() -> Self {
        init_logging();
        let server = GitServer::start(USER, PASSWORD).unwrap();
        server
            .seed_repo("app", &[("src/main.txt", "version 1\n")])
            .unwrap();
        server
            .seed_repo(
                "gitops",
                &[
                    ("develop/frontend/instance.yaml", INSTANCE),
                    ("production/frontend/instance.yaml", INSTANCE),
                    ("README.md", "# gitops\n"),
                ],
            )
            .unwrap();
        let temp = tempfile::tempdir().unwrap();
        let app = temp.path().join("app");
        git(
            temp.path(),
            &[
                "clone",
                "-q",
                &server.url_with_credentials("app"),
                app.to_str().unwrap(),
            ],
        );
        let config = temp.path().join("config");
        let data = temp.path().join("data");
        std::fs::create_dir_all(&config).unwrap();
        let (gate, gate_port) = gate();
        let fixture = Self {
            server,
            _temp: temp,
            app,
            config,
            data,
            gate_port,
            gate,
        };
        fixture.write_config(&fixture.pipeline());
        fixture
    }

    /// The pipeline's YAML.
    pub(crate) fn pipeline(&self) -> String {
        let port = self.server.port();
        PIPELINE
            .replace("APP_URL", &self.server.url("app"))
            .replace("GITOPS_URL", &self.server.url("gitops"))
            .replace("PORT", &port.to_string())
            .replace("GATE", &self.gate_port.to_string())
            .replace("USER", USER)
            .replace("PASSWORD", PASSWORD)
    }

    pub(crate) fn write_config(&self, text: &str) {
        std::fs::write(self.config.join("pipeline.yaml"), text).unwrap();
    }

    /// Opens the gate once: one waiting `http` step gets its answer.
    pub(crate) fn open_gate(&self) {
        self.gate.send(()).unwrap();
    }

    /// Commits a change to app.git and pushes it; returns the commit id.
    pub(crate) fn push_app_commit(&self, text: &str) -> String {
        std::fs::write(self.app.join("src/main.txt"), text).unwrap();
        let id = gantry_test::commit_all(&self.app, text.trim()).unwrap();
        git(&self.app, &["push", "-q", "origin", "main"]);
        id
    }

    /// `main` of gitops.git on the server: (commit id, file at `path`, number of commits).
    pub(crate) fn gitops(&self, path: &str) -> (String, String, usize) {
        let bare = self.server.repo_path("gitops");
        let head = git(&bare, &["rev-parse", "main"]);
        let file = git(&bare, &["show", &format!("main:{path}")]);
        let count = git(&bare, &["rev-list", "--count", "main"])
            .parse()
            .unwrap();
        (head, file, count)
    }

    pub(crate) fn gitops_head(&self) -> String {
        git(&self.server.repo_path("gitops"), &["rev-parse", "main"])
    }

    pub(crate) fn options(&self) -> ServerOptions {
        let mut options = ServerOptions::new(&self.data);
        // Discovery happens at start and on refresh only, unless a test says otherwise.
        options.min_interval = Duration::from_hours(1);
        options.config_poll = Duration::from_millis(100);
        options
    }

    pub(crate) async fn start(&self) -> Server {
        self.start_with(self.options()).await
    }

    pub(crate) async fn start_with(&self, options: ServerOptions) -> Server {
        let config = gantry_server::config::load(&self.config, 1)
            .unwrap_or_else(|error| panic!("{:?}", error.lines()));
        Server::start(options, config).await.unwrap()
    }
}

/// A one-connection-at-a-time HTTP server that answers `200 {}` each time the test opens it.
fn gate() -> (mpsc::Sender<()>, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (open, opened) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            if opened.recv().is_err() {
                return;
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    (open, port)
}

/// Polls `check` until it gives a value, or fails the test after [`crate::PATIENCE`].
pub(crate) async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            started.elapsed() < crate::PATIENCE,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The Freight a Stage holds now.
pub(crate) fn current_freight(handle: &Handle, stage: &str) -> Option<String> {
    handle
        .store()
        .stage_status("shop", stage)
        .unwrap()
        .and_then(|status| status.freight_history.first().cloned())
        .and_then(|collection| collection.items.values().next().map(|f| f.name.clone()))
}

/// Whether a Freight is verified in a Stage.
pub(crate) fn verified_in(handle: &Handle, freight: &str, stage: &str) -> bool {
    handle
        .store()
        .freight("shop", freight)
        .unwrap()
        .is_some_and(|f| f.status.verified_in.contains_key(stage))
}

/// Names and phases of a Stage's Promotions, oldest first.
pub(crate) fn promotions(handle: &Handle, stage: &str) -> Vec<(String, String, String)> {
    let mut list: Vec<_> = handle
        .store()
        .list_promotions(
            "shop",
            &gantry_store::PromotionQuery {
                stage: Some(stage.to_owned()),
                ..Default::default()
            },
        )
        .unwrap()
        .into_iter()
        .map(|p| (p.name, p.freight, p.status.phase.to_string()))
        .collect();
    list.sort();
    list
}

/// The newest Freight of the Warehouse.
pub(crate) fn newest_freight(handle: &Handle) -> Option<gantry_store::FreightRecord> {
    handle
        .store()
        .list_freight("shop", &gantry_store::FreightQuery::default())
        .unwrap()
        .into_iter()
        .next()
}

const PIPELINE: &str = include_str!("../../../../tests/fixtures/serve/pipeline.yaml");

/// A TCP proxy in front of a server on loopback that the test can take down (connections are
/// cut and new ones refused) and bring back, on the same port.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Proxy {
    pub(crate) fn start(upstream: u16) -> Self {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (flag, connections) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                if !flag.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                {
                    let mut list = connections.lock().unwrap();
                    list.push(client.try_clone().unwrap());
                    list.push(server.try_clone().unwrap());
                }
                let (mut client_read, mut server_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut client_read, &mut server_write);
                    let _ = server_write.shutdown(std::net::Shutdown::Write);
                });
                let (mut server_read, mut client_write) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut server_read, &mut client_write);
                    let _ = client_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Self { port, up, open }
    }

    /// Cuts every connection and refuses new ones.
    pub(crate) fn down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Accepts connections again.
    pub(crate) fn up(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The stored status of a Stage.
pub(crate) fn stage_status(handle: &Handle, stage: &str) -> Option<gantry_api::kargo::StageStatus> {
    handle.store().stage_status("shop", stage).unwrap()
}

/// `(status, reason, message)` of a condition of a Stage status.
pub(crate) fn condition(
    status: &gantry_api::kargo::StageStatus,
    kind: &str,
) -> Option<(String, String, String)> {
    status.conditions.iter().find(|c| c.type_ == kind).map(|c| {
        (
            c.status.clone(),
            c.reason.clone().unwrap_or_default(),
            c.message.clone().unwrap_or_default(),
        )
    })
}

/// The `lastTransitionTime` of a condition.
pub(crate) fn transition(status: &gantry_api::kargo::StageStatus, kind: &str) -> String {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == kind)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap()
}

/// The pipeline's YAML without the Stage `name`.
pub(crate) fn without_stage(pipeline: &str, name: &str) -> String {
    let marker = format!("kind: Stage\nmetadata:\n  name: {name}\n");
    let kept: Vec<&str> = pipeline
        .split("\n---\n")
        .filter(|document| !document.contains(&marker))
        .collect();
    assert_eq!(
        kept.len() + 1,
        pipeline.split("\n---\n").count(),
        "stage {name} is in the pipeline"
    );
    kept.join("\n---\n")
}
