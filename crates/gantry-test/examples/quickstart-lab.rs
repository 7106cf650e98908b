//! The real components of the README quickstart (`scripts/quickstart.sh` drives it): a git
//! server with basic auth holding a seed-shaped GitOps repository, and a registry that notifies
//! gantry of pushes, left running in the quickstart's directory.
//!
//! ```text
//! quickstart-lab up --dir DIR
//! quickstart-lab push --dir DIR --port REGISTRY_PORT REPOSITORY TAG
//! ```
//!
//! `up` picks a free port for `gantry serve`, then starts, under `DIR`:
//!
//! ```text
//!  DIR/git/       nginx + fcgiwrap + git-http-backend (basic auth), repos/gitops.git seeded
//!                 from tests/fixtures/quickstart/gitops
//!  DIR/registry/  docker-registry (anonymous), notifications POSTed to
//!                 http://127.0.0.1:<gantry port>/webhooks/distribution/<hash>
//!  DIR/config/    gantry's config: tests/fixtures/quickstart/config filled in
//!  DIR/pids/      nginx.pid, fcgiwrap.pid, registry.pid (each leads its process group)
//! ```
//!
//! and prints shell assignments (`GANTRY_PORT=...`, `REGISTRY_HOST=...`, `GITOPS_URL=...`,
//! `GITOPS_REPO=...`, `GIT_USER=...`, `GIT_PASSWORD=...`, `WEBHOOK_PATH=...`) for the script to
//! source. The servers keep running after it exits; stop them by their process groups
//! (`kill -TERM -<pid>`). When anything fails, whatever it started is stopped again.
//!
//! `push` pushes a small image as `REPOSITORY:TAG` to that registry and prints its digest.

use std::error::Error;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use gantry_test::{GitServer, ImageSpec, Registry};

/// The demo credentials of the git server, shown to the user.
const GIT_USER: &str = "quickstart";
const GIT_PASSWORD: &str = "quickstart-demo";

/// Names the webhook path is made of (see `config/project.yaml`).
const PROJECT: &str = "quickstart";
const RECEIVER: &str = "registry";

/// gantry's config, as templates.
const CONFIG: [(&str, &str); 5] = [
    (
        "project.yaml",
        include_str!("../../../tests/fixtures/quickstart/config/project.yaml"),
    ),
    (
        "warehouse.yaml",
        include_str!("../../../tests/fixtures/quickstart/config/warehouse.yaml"),
    ),
    (
        "promotion-task.yaml",
        include_str!("../../../tests/fixtures/quickstart/config/promotion-task.yaml"),
    ),
    (
        "stages.yaml",
        include_str!("../../../tests/fixtures/quickstart/config/stages.yaml"),
    ),
    (
        "secrets.yaml",
        include_str!("../../../tests/fixtures/quickstart/config/secrets.yaml"),
    ),
];

/// The first commit of the GitOps repository, as templates.
const GITOPS: [(&str, &str); 3] = [
    (
        "README.md",
        include_str!("../../../tests/fixtures/quickstart/gitops/README.md"),
    ),
    (
        "develop/frontend/instance.yaml",
        include_str!("../../../tests/fixtures/quickstart/gitops/develop/frontend/instance.yaml"),
    ),
    (
        "production/frontend/instance.yaml",
        include_str!("../../../tests/fixtures/quickstart/gitops/production/frontend/instance.yaml"),
    ),
];

const USAGE: &str = "usage: quickstart-lab up --dir DIR\n       quickstart-lab push --dir DIR --port REGISTRY_PORT REPOSITORY TAG";

fn main() {
    if let Err(error) = run(std::env::args().skip(1).collect()) {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let _ = write!(message, ": {cause}");
            source = cause.source();
        }
        eprintln!("quickstart-lab: {message}");
        std::process::exit(1);
    }
}

fn run(args: Vec<String>) -> Result<(), Box<dyn Error>> {
    let mut dir = None;
    let mut port = None;
    let mut positional = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = Some(PathBuf::from(args.next().ok_or("--dir needs a value")?)),
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                port = Some(
                    value
                        .parse::<u16>()
                        .map_err(|_| format!("--port {value:?} is not a port"))?,
                );
            }
            _ => positional.push(arg),
        }
    }
    let dir = dir.ok_or(USAGE)?;
    match positional.as_slice() {
        [command] if command == "up" => up(&dir),
        [command, repository, tag] if command == "push" => {
            push(&dir, port.ok_or(USAGE)?, repository, tag)
        }
        _ => Err(USAGE.into()),
    }
}

fn up(dir: &Path) -> Result<(), Box<dyn Error>> {
    let dir = std::path::absolute(dir)?;
    let gantry_port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let secret = random_hex(16)?;
    let webhook_path = format!(
        "/webhooks/distribution/{}",
        sha256_hex(&format!("{PROJECT}{RECEIVER}{secret}"))
    );

    // Dropped (and so stopped) if anything below fails; detached at the end.
    let git = GitServer::start_in(&dir.join("git"), GIT_USER, GIT_PASSWORD)?;
    let registry = Registry::start_anonymous_in(
        &dir.join("registry"),
        Some(&format!("http://127.0.0.1:{gantry_port}{webhook_path}")),
    )?;
    let registry_host = registry.host();
    let gitops_url = git.url("gitops");
    let fill = |template: &str| {
        template
            .replace("__REGISTRY__", &registry_host)
            .replace("__GITOPS_URL__", &gitops_url)
            .replace("__GIT_USER__", GIT_USER)
            .replace("__GIT_PASSWORD__", GIT_PASSWORD)
            .replace("__WEBHOOK_SECRET__", &secret)
    };
    let files: Vec<(&str, String)> = GITOPS
        .iter()
        .map(|(path, template)| (*path, fill(template)))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let gitops_repo = git.seed_repo("gitops", &files)?;
    let config = dir.join("config");
    fs_err::create_dir_all(&config)?;
    for (name, template) in CONFIG {
        fs_err::write(config.join(name), fill(template))?;
    }

    let pids = dir.join("pids");
    fs_err::create_dir_all(&pids)?;
    let mut out = String::new();
    for (name, value) in [
        ("GANTRY_PORT", gantry_port.to_string()),
        ("REGISTRY_HOST", registry_host.clone()),
        ("REGISTRY_PORT", registry.port().to_string()),
        ("GITOPS_URL", gitops_url.clone()),
        ("GITOPS_REPO", gitops_repo.display().to_string()),
        ("GIT_USER", GIT_USER.to_owned()),
        ("GIT_PASSWORD", GIT_PASSWORD.to_owned()),
        ("WEBHOOK_PATH", webhook_path),
    ] {
        writeln!(out, "{name}={}", shell_quote(&value))?;
    }
    let git_pids = git.detach();
    let registry_pid = registry.detach();
    let started: Vec<(&str, u32)> = ["nginx", "fcgiwrap", "registry"]
        .into_iter()
        .zip(git_pids.into_iter().chain(registry_pid))
        .collect();
    for (name, pid) in &started {
        if let Err(error) = fs_err::write(pids.join(format!("{name}.pid")), format!("{pid}\n")) {
            // Nobody could stop them later: stop them now.
            for (_, pid) in &started {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
            return Err(error.into());
        }
    }
    let mut stdout = io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn push(dir: &Path, port: u16, repository: &str, tag: &str) -> Result<(), Box<dyn Error>> {
    let registry = Registry::attach_anonymous(&dir.join("registry"), port);
    // A distinct image per tag, as a build would make.
    let image = ImageSpec::new()
        .label("org.opencontainers.image.version", tag)
        .label("org.opencontainers.image.title", repository);
    let pushed = registry.push_image(repository, tag, &image)?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", pushed.digest)?;
    stdout.flush()?;
    Ok(())
}

fn random_hex(bytes: usize) -> Result<String, Box<dyn Error>> {
    let mut buffer = vec![0u8; bytes];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buffer)
        .map_err(|_| "the system's random number generator failed")?;
    Ok(hex(&buffer))
}

fn sha256_hex(text: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// `'text'` with embedded single quotes escaped, for `sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
