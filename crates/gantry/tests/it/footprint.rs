//! Memory footprint of `gantry serve` (measurements, run by `scripts/bench-serve.sh`): resident
//! memory when idle with the seed pipeline, and with 1,000 generated Warehouses and Stages.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gantry_test::GitServer;

const USER: &str = "promoter";
const PASSWORD: &str = "s3cr3t-t0ken";
const PIPELINE: &str = include_str!("../../../../tests/fixtures/serve/pipeline.yaml");
const INSTANCE: &str = "apiVersion: kro.run/v1alpha1\nkind: WebApplication\nmetadata:\n  name: frontend\nspec:\n  values:\n    deployment:\n      tag: initial\n";
const PATIENCE: Duration = Duration::from_mins(5);

/// `VmRSS` and `VmHWM` (peak) of a process, in KiB, and its thread count.
fn memory_kib(pid: u32) -> (u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"), field("Threads:"))
}

/// KiB in MiB, for printing.
fn mib(kib: u64) -> f64 {
    f64::from(u32::try_from(kib).unwrap_or(u32::MAX)) / 1024.0
}

/// `GET path` without a token (the server runs with `--open-reads`): the body on 200.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    if !(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200")) {
        return None;
    }
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// The Freight made so far in `project`, from `/metrics`.
fn freight_created(port: u16, project: &str) -> u64 {
    let prefix = format!("gantry_freight_created_total{{project=\"{project}\"}} ");
    get(port, "/metrics")
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix(&prefix))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
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

fn serve(config: &Path, data: &Path, log: &Path) -> (Child, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["serve", "--open-reads", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(File::create(log).unwrap())
        .spawn()
        .unwrap();
    wait("gantry serve to answer", || get(port, "/healthz"));
    (child, port)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// The seed-like pipeline, plus `extra` (generated resources), on the git server.
fn write_config(server: &GitServer, dir: &Path, extra: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let pipeline = PIPELINE
        .replace("APP_URL", &server.url("app"))
        .replace("GITOPS_URL", &server.url("gitops"))
        .replace("PORT", &server.port().to_string())
        .replace("GATE", "9")
        .replace("USER", USER)
        .replace("PASSWORD", PASSWORD);
    std::fs::write(dir.join("pipeline.yaml"), pipeline).unwrap();
    if !extra.is_empty() {
        std::fs::write(dir.join("generated.yaml"), extra).unwrap();
    }
}

/// `count` Warehouses (git, the app repository) and as many Stages (direct from their own
/// Warehouse, the shared task) in Project `bench`, without auto-promotion.
fn generated(server: &GitServer, count: usize) -> String {
    let mut text = format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata:\n  name: bench\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: git\n  namespace: bench\n  labels:\n    kargo.akuity.io/cred-type: git\nstringData:\n  repoURL: {url}\n  username: {USER}\n  password: {PASSWORD}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata:\n  name: promote\n  namespace: bench\nspec:\n  vars:\n    - name: path\n  steps:\n    - uses: git-clone\n      config:\n        repoURL: {gitops}\n        checkout:\n          - branch: main\n            path: ./repo\n    - uses: yaml-update\n      as: update\n      config:\n        path: ./repo/${{{{ vars.path }}}}\n        updates:\n          - key: spec.values.deployment.tag\n            value: ${{{{ quote(commitFrom(\"{url}\").ID) }}}}\n    - uses: git-commit\n      config:\n        path: ./repo\n        message: ${{{{ task.outputs.update.commitMessage }}}}\n    - uses: git-push\n      config:\n        path: ./repo\n",
        url = server.url("app"),
        gitops = server.url("gitops"),
    );
    for i in 0..count {
        let _ = write!(
            text,
            "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata:\n  name: service-{i}\n  namespace: bench\nspec:\n  interval: 1h\n  subscriptions:\n    - git:\n        repoURL: {url}\n        branch: main\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: service-{i}\n  namespace: bench\nspec:\n  requestedFreight:\n    - origin:\n        kind: Warehouse\n        name: service-{i}\n      sources:\n        direct: true\n  promotionTemplate:\n    spec:\n      steps:\n        - task:\n            name: promote\n          vars:\n            - name: path\n              value: services/service-{i}/instance.yaml\n",
            url = server.url("app"),
        );
    }
    text
}

/// Run with `scripts/bench-serve.sh`, or `cargo test --release -p gantry --test it --
/// --ignored --nocapture footprint`.
#[test]
#[ignore = "measurement: prints resident memory"]
fn footprint_idle_with_the_seed_pipeline_and_with_1000_warehouses_and_stages() {
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

    // The seed pipeline: the first Freight reaches develop, then nothing happens.
    let (config, data) = (temp.path().join("seed"), temp.path().join("seed-data"));
    write_config(&server, &config, "");
    let (child, port) = serve(&config, &data, &temp.path().join("seed.log"));
    wait("the first freight", || {
        (freight_created(port, "shop") >= 1).then_some(())
    });
    let bare = server.repo_path("gitops");
    wait("the promotion to develop", || {
        let count = gantry_test::git(&bare, &["rev-list", "--count", "main"]).ok()?;
        (count.trim() == "2").then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    let (rss, peak, threads) = memory_kib(child.id());
    eprintln!(
        "seed pipeline, idle: RSS {:.1} MiB (peak {:.1} MiB), {threads} threads",
        mib(rss),
        mib(peak)
    );
    stop(child);

    // 1,000 Warehouses and Stages: every Warehouse discovered, one Freight each.
    let count: usize = std::env::var("GANTRY_BENCH_WAREHOUSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let (config, data) = (temp.path().join("many"), temp.path().join("many-data"));
    write_config(&server, &config, &generated(&server, count));
    let started = Instant::now();
    let (child, port) = serve(&config, &data, &temp.path().join("many.log"));
    wait("every warehouse's freight", || {
        (freight_created(port, "bench") >= count as u64).then_some(())
    });
    let discovered = started.elapsed();
    let (busy, _, busy_threads) = memory_kib(child.id());
    std::thread::sleep(Duration::from_secs(15));
    let (rss, peak, threads) = memory_kib(child.id());
    eprintln!(
        "{count} warehouses and stages: all discovered in {:.1} s; RSS {:.1} MiB just after ({busy_threads} threads), {:.1} MiB idle 15 s later ({threads} threads; peak {:.1} MiB)",
        discovered.as_secs_f64(),
        mib(busy),
        mib(rss),
        mib(peak)
    );
    let stages = get(port, "/api/v1/projects/bench/stages").unwrap();
    assert!(
        stages.contains("service-999") || count < 1_000,
        "stages listed"
    );
    stop(child);
}
