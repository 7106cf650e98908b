//! `gantry serve` as a process: it refuses a config that does not validate, serves `/healthz`,
//! holds its data directory, survives `kill -9` in the middle of a Promotion without pushing
//! twice, reloads its config on SIGHUP (keeping it when the edit does not validate), and stops
//! gracefully on SIGTERM.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gantry_test::GitServer;

use crate::{gantry, stderr};

const USER: &str = "promoter";
const PASSWORD: &str = "s3cr3t-t0ken";
const INSTANCE: &str = "apiVersion: kro.run/v1alpha1\nkind: WebApplication\nmetadata:\n  name: frontend\nspec:\n  values:\n    deployment:\n      tag: initial\n";
const PIPELINE: &str = include_str!("../../../../tests/fixtures/serve/pipeline.yaml");
const PATIENCE: Duration = Duration::from_mins(1);

/// An HTTP endpoint that reports each request and answers it when the test says so.
struct Gate {
    port: u16,
    arrivals: mpsc::Receiver<()>,
    open: mpsc::Sender<()>,
}

impl Gate {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, opened) = mpsc::channel::<()>();
        let (arrived, arrivals) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                let _ = arrived.send(());
                if opened.recv().is_err() {
                    return;
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
            }
        });
        Self {
            port,
            arrivals,
            open,
        }
    }

    fn wait_for_request(&self) {
        self.arrivals
            .recv_timeout(PATIENCE)
            .expect("the gate step to call the gate");
    }
}

struct Fixture {
    server: GitServer,
    temp: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
    gate: Gate,
}

impl Fixture {
    fn new(policy_stages: &str) -> Self {
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
        let gate = Gate::start();
        let pipeline = PIPELINE
            .replace("APP_URL", &server.url("app"))
            .replace("GITOPS_URL", &server.url("gitops"))
            .replace("PORT", &server.port().to_string())
            .replace("GATE", &gate.port.to_string())
            .replace("USER", USER)
            .replace("PASSWORD", PASSWORD)
            .replace(
                "        name: develop\n      autoPromotionEnabled: true",
                &format!("        name: {policy_stages}\n      autoPromotionEnabled: true"),
            );
        std::fs::write(config.join("pipeline.yaml"), pipeline).unwrap();
        Self {
            server,
            temp,
            config,
            data,
            gate,
        }
    }

    /// Starts `gantry serve`; its log goes to `serve-<n>.log`.
    fn serve(&self, n: u32) -> (Child, u16, PathBuf) {
        let port = free_port();
        let log = self.temp.path().join(format!("serve-{n}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        wait(&format!("gantry serve to answer on port {port}"), || {
            healthz(port).filter(|body| body.contains("\"status\":\"ok\""))
        });
        (child, port, log)
    }

    fn gitops(&self, path: &str) -> (String, usize) {
        let bare = self.server.repo_path("gitops");
        let file = gantry_test::git(&bare, &["show", &format!("main:{path}")]).unwrap();
        let count = gantry_test::git(&bare, &["rev-list", "--count", "main"])
            .unwrap()
            .parse()
            .unwrap();
        (file, count)
    }

    fn app_head(&self) -> String {
        gantry_test::git(&self.server.repo_path("app"), &["rev-parse", "main"]).unwrap()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /healthz`: the body, when the server answers 200.
fn healthz(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    (response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"))
        .then_some(response)
}

fn wait<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn serve_refuses_a_config_with_errors_and_prints_them() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(
        temp.path().join("stage.yaml"),
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata:\n  name: shop\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: dev\n  namespace: shop\nspec:\n  requestedFreight:\n    - origin:\n        kind: Warehouse\n        name: missing\n      sources:\n        direct: true\n",
    )
    .unwrap();
    let config = temp.path().to_str().unwrap().to_owned();
    let data = temp.path().join("data");
    let output = gantry(&[
        "serve",
        "--config",
        &config,
        "--data-dir",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("G0201"), "{err}");
    assert!(err.contains("stage.yaml"), "{err}");
    assert!(err.contains("the server did not start"), "{err}");
    assert!(!data.join("state.db").exists(), "nothing was started");
}

#[test]
fn serve_survives_kill_9_mid_promotion_pushes_once_and_stops_on_sigterm() {
    let fixture = Fixture::new("regex:^(develop|production)$");
    let commit = fixture.app_head();
    let (mut first, port, log) = fixture.serve(1);

    // A second server on the same data directory is refused.
    let second = gantry(&[
        "serve",
        "--config",
        fixture.config.to_str().unwrap(),
        "--data-dir",
        fixture.data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("uses the data directory"),
        "{}",
        stderr(&second)
    );

    // develop, then production (auto-promoted here) runs until its gate step waits.
    fixture.gate.wait_for_request();
    let (develop, commits) = fixture.gitops("develop/frontend/instance.yaml");
    assert!(develop.contains(&commit), "{develop}");
    assert_eq!(commits, 2);

    // Killed while the gate step runs: nothing is saved for that step.
    first.kill().unwrap();
    first.wait().unwrap();
    fixture.gate.open.send(()).unwrap();
    let first_log = read(&log);
    assert!(!first_log.contains(PASSWORD), "{first_log}");
    assert!(healthz(port).is_none());

    // On restart the gate step runs again, then the push, once.
    let (mut again, _, log) = fixture.serve(2);
    fixture.gate.wait_for_request();
    fixture.gate.open.send(()).unwrap();
    let production = wait("the production commit", || {
        let (file, commits) = fixture.gitops("production/frontend/instance.yaml");
        file.contains(&commit).then_some((file, commits))
    });
    assert_eq!(
        production.1, 3,
        "one commit per promotion: {}",
        production.0
    );
    let status = terminate(&mut again);
    assert!(status.success(), "{status:?}");
    let log = read(&log);
    assert!(log.contains("resuming promotion"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(!log.contains(PASSWORD), "{log}");
    assert_eq!(fixture.gitops("production/frontend/instance.yaml").1, 3);
}

/// The names of the Stages `gantry get stages` lists on the server at `port`.
fn stage_names(fixture: &Fixture, port: u16) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["get", "stages", "-n", "shop", "-o", "json"])
        .env("NO_COLOR", "1")
        .env("GANTRY_SERVER", format!("http://127.0.0.1:{port}"))
        .env("GANTRY_DATA_DIR", &fixture.data)
        .env_remove("GANTRY_TOKEN")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    value["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stage| stage["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Edits a file keeping its size and modification time, so that polling cannot see the edit.
fn edit_unseen(path: &Path, edit: impl FnOnce(&str) -> String) {
    let before = std::fs::read_to_string(path).unwrap();
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    let after = edit(&before);
    assert_ne!(after, before);
    assert_eq!(after.len(), before.len(), "the size must not change");
    std::fs::write(path, after).unwrap();
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    assert_eq!(
        std::fs::metadata(path).unwrap().modified().unwrap(),
        modified
    );
}

fn hangup(child: &Child) {
    let status = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn serve_reloads_its_config_on_sighup_and_keeps_it_when_the_edit_does_not_validate() {
    let fixture = Fixture::new("develop");
    let (mut child, port, log) = fixture.serve(1);
    // It re-executed itself with glibc's arenas limited (see main.rs).
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
    assert!(
        environ
            .split(|b| *b == 0)
            .any(|var| var == b"MALLOC_ARENA_MAX=2"),
        "MALLOC_ARENA_MAX=2 in the server's environment"
    );
    let file = fixture.config.join("pipeline.yaml");
    wait("the approved stage", || {
        stage_names(&fixture, port)
            .contains(&"approved".to_owned())
            .then_some(())
    });

    // Rename a Stage in an edit the one-second poll cannot see.
    edit_unseen(&file, |text| {
        text.replace("  name: approved\n", "  name: verified\n")
    });
    std::thread::sleep(Duration::from_millis(2500));
    let names = stage_names(&fixture, port);
    assert!(
        names.contains(&"approved".to_owned()) && !names.contains(&"verified".to_owned()),
        "the poll must not see the edit: {names:?}"
    );

    // SIGHUP loads it at once.
    let sent = Instant::now();
    hangup(&child);
    wait("the renamed stage after SIGHUP", || {
        let names = stage_names(&fixture, port);
        (names.contains(&"verified".to_owned()) && !names.contains(&"approved".to_owned()))
            .then_some(())
    });
    let took = sent.elapsed();
    eprintln!("SIGHUP to the new config in effect: {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // An edit that does not validate (the Stage requests Freight from a Warehouse that does not
    // exist) is reported on SIGHUP, and the config in force stays.
    edit_unseen(&file, |text| {
        let at = text.rfind("        name: app\n").unwrap();
        format!(
            "{}        name: apx\n{}",
            &text[..at],
            &text[at + "        name: app\n".len()..]
        )
    });
    hangup(&child);
    let reported = wait("the validation errors in the log", || {
        let log = read(&log);
        log.contains("the edited config does not validate")
            .then_some(log)
    });
    assert!(
        reported
            .lines()
            .any(|line| line.contains("pipeline.yaml:") && line.contains("apx")),
        "{reported}"
    );
    assert!(
        reported.contains("SIGHUP: reloading the config"),
        "{reported}"
    );
    let names = stage_names(&fixture, port);
    assert!(names.contains(&"verified".to_owned()), "{names:?}");
    let status = terminate(&mut child);
    assert!(status.success(), "{status:?}");
}
