//! The remote commands (`get`, `describe`, `promote`, `approve`, `refresh`, `abort`, `history`,
//! `rollback`, `explain`) against a real `gantry serve` process running the seed-like pipeline
//! on a real git server; `completion`.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gantry_test::GitServer;
use serde_json::Value;

use crate::{gantry, stderr, stdout};

const USER: &str = "promoter";
const PASSWORD: &str = "s3cr3t-t0ken";
const INSTANCE: &str = "apiVersion: kro.run/v1alpha1\nkind: WebApplication\nmetadata:\n  name: frontend\nspec:\n  values:\n    deployment:\n      tag: initial\n";
const PIPELINE: &str = include_str!("../../../../tests/fixtures/serve/pipeline.yaml");
const PATIENCE: Duration = Duration::from_mins(1);

/// A git server, the pipeline, a gate the production steps wait on, and `gantry serve`.
struct Served {
    server: GitServer,
    _temp: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    child: Child,
    gate: mpsc::Sender<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP endpoint that answers `200 {}` each time the test opens it.
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

fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    stream.read_to_string(&mut response).is_ok() && response.contains(" 200 ")
}

fn wait<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Served {
    fn start() -> Self {
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
                ],
            )
            .unwrap();
        let temp = tempfile::tempdir().unwrap();
        let config = temp.path().join("config");
        let data = temp.path().join("data");
        std::fs::create_dir_all(&config).unwrap();
        let (gate, gate_port) = gate();
        let pipeline = PIPELINE
            .replace("APP_URL", &server.url("app"))
            .replace("GITOPS_URL", &server.url("gitops"))
            .replace("PORT", &server.port().to_string())
            .replace("GATE", &gate_port.to_string())
            .replace("USER", USER)
            .replace("PASSWORD", PASSWORD);
        std::fs::write(config.join("pipeline.yaml"), pipeline).unwrap();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["serve", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--min-interval", "1h"])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(File::create(temp.path().join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        wait("gantry serve to answer", || healthy(port).then_some(()));
        Self {
            server,
            _temp: temp,
            data,
            port,
            child,
            gate,
        }
    }

    /// Runs a remote command against this server (token from the data directory).
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("GANTRY_SERVER", format!("http://127.0.0.1:{}", self.port))
            .env("GANTRY_DATA_DIR", &self.data)
            .env_remove("GANTRY_TOKEN")
            .env_remove("GANTRY_PROJECT")
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "gantry {args:?}: {}",
            stderr(&output)
        );
        stdout(&output)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&args)).unwrap()
    }

    fn gitops_head(&self) -> String {
        gantry_test::git(&self.server.repo_path("gitops"), &["rev-parse", "main"]).unwrap()
    }
}

fn items(value: &Value) -> &Vec<Value> {
    value["items"].as_array().unwrap()
}

/// Replaces what changes from run to run (ids, aliases, promotion names, ages, commits).
fn redact(text: &str, secrets: &[(&str, &str)]) -> String {
    let mut text = text.to_owned();
    for (value, placeholder) in secrets {
        if !value.is_empty() {
            text = text.replace(value, placeholder);
        }
    }
    text
}

#[test]
fn the_cli_lists_describes_promotes_explains_and_shows_history_against_a_running_server() {
    let served = Served::start();

    // develop gets the first Freight by itself.
    let develop = wait("the first freight in develop", || {
        let stage = served.json(&["get", "stages", "develop"]);
        let current = stage["items"][0]["currentFreight"][0].clone();
        (!current.is_null()).then_some(current)
    });
    let id = develop["metadata"]["name"].as_str().unwrap().to_owned();
    let alias = develop["alias"].as_str().unwrap().to_owned();
    let develop_head = served.gitops_head();
    wait("verification in develop", || {
        let freight = served.json(&["get", "freight", &alias]);
        let verified = &freight["items"][0]["status"]["verifiedIn"];
        (!verified["develop"].is_null() && !verified["approved"].is_null()).then_some(())
    });

    // Tables.
    insta::assert_snapshot!(served.ok(&["get", "projects"]), @r"
    NAME   WAREHOUSES   STAGES   FREIGHT
    shop   1            3        1
    ");
    let app_head =
        gantry_test::git(&served.server.repo_path("app"), &["rev-parse", "main"]).unwrap();
    let redactions = [
        (id.as_str(), "<id>"),
        (&id[..7], "<id7>"),
        (alias.as_str(), "<alias>"),
        (&app_head[..7], "<app7>"),
    ];
    let stages = served.ok(&["get", "stages"]);
    let stages = stages
        .lines()
        .map(|line| {
            // The promotion name holds a ULID: keep its stage prefix.
            line.split_whitespace()
                .map(|cell| {
                    if cell.starts_with("develop.") {
                        "develop.<ulid>.<id7>".to_owned()
                    } else {
                        cell.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(redact(&stages, &redactions), @r"
    NAME KIND CURRENT FREIGHT READY HEALTH AUTO LAST PROMOTION PHASE
    approved control-flow N/A True <none> off <none> <none>
    develop promotion <alias> (<id7>) True Healthy on develop.<ulid>.<id7> Succeeded
    production promotion 0/1 Fulfilled False <none> off <none> <none>
    ");
    let freight = served.ok(&["get", "freight"]);
    let header = freight.lines().next().unwrap();
    assert_eq!(
        header.find("ALIAS"),
        Some(id.len() + 3),
        "columns three spaces apart after the widest cell: {freight}"
    );
    let row: Vec<&str> = freight.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        row[..5],
        [
            id.as_str(),
            alias.as_str(),
            "Warehouse/app",
            &format!("app@{}", &app_head[..7]),
            "develop"
        ]
    );

    // YAML and JSON carry the same answer.
    let yaml = served.ok(&["get", "warehouses", "-o", "yaml"]);
    assert!(yaml.starts_with("items:"), "{yaml}");
    assert!(yaml.contains("name: app"), "{yaml}");

    // Explanations.
    let explained = served.ok(&["explain", "stage", "production"]);
    insta::assert_snapshot!(redact(&explained, &redactions), @r"
    Stage production (project shop)
      auto-promotion off
      holds: nothing yet
    Warehouse/app: newest freight <alias> (<id7>)
      auto-promotion is off: no promotion policy of the project matches this stage
    ");
    let explained = served.json(&["explain", "stage", "develop"]);
    assert_eq!(explained["autoPromotion"], true);

    // Promote by alias; the gate step holds the Promotion until the test opens it.
    let created = served.ok(&[
        "promote",
        "--stage",
        "production",
        "--freight-alias",
        &alias,
    ]);
    let name = created
        .strip_prefix("promotion ")
        .and_then(|rest| rest.strip_suffix(" created\n"))
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    assert!(name.starts_with("production."), "{name}");
    let queued = served.ok(&["explain", "stage", "production"]);
    assert!(queued.contains(&format!("queued: {name}")), "{queued}");
    served.gate.send(()).unwrap();
    wait("the production promotion to succeed", || {
        let list = served.json(&["get", "promotions", "--stage", "production"]);
        (items(&list)[0]["status"]["phase"] == "Succeeded").then_some(())
    });
    let promotions = served.ok(&["get", "promotions"]);
    assert!(promotions.starts_with("NAME"), "{promotions}");
    assert!(promotions.contains(&name), "{promotions}");
    assert!(promotions.contains("Succeeded   admin"), "{promotions}");

    // Describe.
    let described = served.ok(&["describe", "promotion", &name]);
    assert!(
        described.contains("Phase:              Succeeded"),
        "{described}"
    );
    assert!(described.contains("Steps:\n  STEP"), "{described}");
    for step in ["git-clone", "yaml-update", "git-commit", "http", "git-push"] {
        assert!(described.contains(step), "{described}");
    }
    let head = served.gitops_head();
    assert!(described.contains(&head), "the pushed commit: {described}");
    let described = served.ok(&["describe", "stage", "production"]);
    assert!(
        described.contains(&format!("Current freight:    {alias}")),
        "{described}"
    );
    assert!(described.contains("after develop"), "{described}");
    assert!(
        described.contains("Ready:              True (Verified)"),
        "{described}"
    );
    assert!(
        described.contains("Health:             Healthy"),
        "{described}"
    );
    assert!(
        described.contains("Freight summary:    ")
            && described.contains(&format!("Freight summary:    {id}")),
        "{described}"
    );
    assert!(described.contains("Conditions:\n  TYPE"), "{described}");
    assert!(
        described.contains("Verified   True     Verified   Freight has been verified"),
        "{described}"
    );
    let described = served.ok(&["describe", "freight", &alias]);
    assert!(
        described.contains("Currently in:       develop, production"),
        "{described}"
    );
    let described = served.ok(&["describe", "warehouse", "app"]);
    assert!(described.contains("Healthy"), "{described}");

    // History with the commits the promotions pushed.
    let history = served.ok(&["history", "stage", "production"]);
    assert!(history.contains(&head[..7]), "{history} vs {head}");
    assert_eq!(
        history.matches(&head[..7]).count(),
        1,
        "once per commit: {history}"
    );
    assert!(
        history.lines().nth(1).unwrap().starts_with('*'),
        "{history}"
    );
    let history = served.ok(&["history", "stage", "develop"]);
    assert!(history.contains(&develop_head[..7]), "{history}");

    // Refresh and wait: nothing new.
    let refreshed = served.ok(&["refresh", "warehouse", "app", "--wait"]);
    assert_eq!(
        refreshed,
        format!("warehouse app refreshed: freight {id}\n")
    );
    let refreshed = served.ok(&["refresh", "warehouse", "app"]);
    assert_eq!(refreshed, "refresh of warehouse app requested\n");

    // Failures: exit 1 and a message with a hint.
    let output = served.run(&["abort", "promotion", &name]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("already ended (Succeeded)"),
        "{}",
        stderr(&output)
    );
    let output = served.run(&["rollback", "stage", "production"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("has held no other freight"),
        "{}",
        stderr(&output)
    );
    let output = served.run(&["approve", "--freight", &id, "--stage", "nope"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("nope"), "{}", stderr(&output));
    let output = served.run(&["get", "stages", "--token", "wrong"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("error: the bearer token is not valid"),
        "{err}"
    );
    assert!(
        err.contains("hint: pass --token or set GANTRY_TOKEN"),
        "{err}"
    );
    let output = served.run(&["get", "stages", "-n", "elsewhere"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("project elsewhere not found"));

    // Approve works with the token.
    let approved = served.ok(&[
        "approve",
        "--freight-alias",
        &alias,
        "--stage",
        "production",
    ]);
    assert!(approved.contains("approved freight"), "{approved}");
}

#[test]
fn the_cli_says_when_no_server_answers() {
    let port = free_port();
    let output = gantry(&[
        "get",
        "stages",
        "--server",
        &format!("http://127.0.0.1:{port}"),
        "--token",
        "x",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "cannot reach the gantry server at http://127.0.0.1:{port}"
        )),
        "{err}"
    );
    assert!(err.contains("hint: start one with `gantry serve"), "{err}");
    assert!(!err.contains("x\n"), "{err}");
}

#[test]
fn completion_scripts_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_gantry()"),
        ("zsh", "#compdef gantry"),
        ("fish", "complete -c gantry"),
    ] {
        let output = gantry(&["completion", shell]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains(marker), "{shell}");
    }
    let output = gantry(&["completion", "tcsh"]);
    assert_eq!(output.status.code(), Some(2), "clap rejects unknown shells");
}

#[test]
fn serve_stops_on_sigterm_while_an_event_stream_is_open() {
    let mut served = Served::start();
    let token = std::fs::read_to_string(served.data.join("admin-token")).unwrap();
    let mut stream = TcpStream::connect(("127.0.0.1", served.port)).unwrap();
    stream
        .write_all(
            format!(
                "GET /api/v1/events/stream HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\r\n",
                token.trim()
            )
            .as_bytes(),
        )
        .unwrap();
    let mut head = [0u8; 64];
    let read = stream.read(&mut head).unwrap();
    assert!(
        String::from_utf8_lossy(&head[..read]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head[..read])
    );
    let status = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = wait("gantry serve to stop", || served.child.try_wait().unwrap());
    assert!(exited.success(), "{exited:?}");
}
