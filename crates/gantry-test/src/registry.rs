//! A real OCI registry on a random loopback port: Debian's `docker-registry` (distribution 2.8)
//! with anonymous, htpasswd basic or bearer-token auth, and a pusher to fill it.
//!
//! ```text
//!  test / client under test ──HTTP──► docker-registry serve <tempdir>/config.yml (127.0.0.1:<random>)
//!         │                                 │  storage: <tempdir>/storage (filesystem, deletes on)
//!         │                                 │  log:     <tempdir>/registry.log
//!         │                                 └─ auth: none | htpasswd (<tempdir>/htpasswd, bcrypt)
//!         │                                          | token (realm = token server, rootcertbundle)
//!         └──basic auth──► token server (thread in the test process, 127.0.0.1:<random>) ── JWT
//! ```
//!
//! Where to start: [`Registry::start_anonymous`], [`Registry::start_basic`] or
//! [`Registry::start_token`], then [`Registry::push_image`], [`Registry::push_index`] and
//! [`Registry::tag_existing`] to fill it, from an [`ImageSpec`] or [`IndexSpec`]; [`Registry::push_images`] for many
//! distinct images.
//! The pusher does what a client must do in each mode (basic credentials, or the bearer token
//! dance starting from the registry's `WWW-Authenticate` challenge); its own token requests are
//! left out of [`Registry::token_requests`], so that a test can count those of the client it
//! checks.
//!
//! Caveats: the pusher uses reqwest's blocking client; call it from a thread that may block
//! (inside an async test, from `spawn_blocking`). Distribution 2.8 ignores the page size of tag
//! lists (`?n=`) and sends no `Link` header, so pagination cannot be tested here; it also lists
//! tags in directory order, not sorted. The process is killed and its directory (in `/dev/shm`
//! when there is one) removed on drop.
//!
//! For a registry that outlives the process that started it (the README quickstart):
//! [`Registry::start_anonymous_in`] a directory of your choice, [`Registry::detach`] to leave
//! it running, and [`Registry::attach_anonymous`] from another process to push to it.

mod image;
mod push;
mod token;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

pub use image::{ImageSpec, IndexSpec, ManifestFlavour, Platform};
pub use push::{FetchedManifest, PushError, PushedImage, PushedIndex};

use crate::error::FixtureError;
use crate::server::{Workdir, find_program, free_port, kill_group};
use token::{KeyHeader, SigningKey, TokenServer};

/// How long the registry may take to come up.
const STARTUP: Duration = Duration::from_secs(15);

/// How a [`Registry`] checks its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// No auth: everything is allowed to everyone.
    Anonymous,
    /// HTTP basic auth against an htpasswd file (bcrypt).
    Basic,
    /// Bearer tokens (JWT) from the harness's token server, which wants basic credentials.
    Token,
}

/// The mode with its secrets.
enum Auth {
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    Token {
        username: String,
        password: String,
        server: TokenServer,
    },
}

/// A running registry; killed and deleted on drop.
pub struct Registry {
    dir: Workdir,
    port: u16,
    /// `None` once detached, or when attached to a registry another process started.
    child: Option<Child>,
    auth: Auth,
    /// The pusher's HTTP client, made on first use.
    client: OnceLock<reqwest::blocking::Client>,
    /// The pusher's bearer tokens, per repository.
    tokens: Mutex<HashMap<String, String>>,
}

impl Registry {
    /// Starts a registry without auth.
    pub fn start_anonymous() -> Result<Self, FixtureError> {
        let dir = temp_dir()?;
        Self::launch(dir, Auth::Anonymous, None)
    }

    /// Starts a registry without auth with its files (`config.yml`, `registry.log`,
    /// `storage/`) in `dir`, created when missing and left in place when the registry stops;
    /// with `notify`, it POSTs its notification events there as
    /// [`Self::start_anonymous_notifying`] does.
    pub fn start_anonymous_in(dir: &Path, notify: Option<&str>) -> Result<Self, FixtureError> {
        fs_err::create_dir_all(dir)
            .map_err(|source| FixtureError::io("create the registry directory", source))?;
        let dir = std::path::absolute(dir)
            .map_err(|source| FixtureError::io("resolve the registry directory", source))?;
        Self::launch(Workdir::Kept(dir), Auth::Anonymous, notify)
    }

    /// A handle on an anonymous registry that another process started in `dir` (with
    /// [`Self::start_anonymous_in`], then [`Self::detach`]) and that listens on `port`: it
    /// pushes and reads like the original; dropping it leaves the registry running.
    pub fn attach_anonymous(dir: &Path, port: u16) -> Self {
        Self {
            dir: Workdir::Kept(dir.to_owned()),
            port,
            child: None,
            auth: Auth::Anonymous,
            client: OnceLock::new(),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Leaves the registry running after this value is gone (its directory too, even a
    /// temporary one) and returns the id of its process, which leads its own process group;
    /// `None` when this value did not start it. A token registry's token server is a thread of
    /// this process: it stops when the process ends.
    pub fn detach(mut self) -> Option<u32> {
        self.dir.keep();
        self.child.take().map(|child| child.id())
    }

    /// Starts a registry without auth that POSTs its notification events (push, pull...) to
    /// `url`, as a registry configured with `notifications.endpoints` does (one attempt per
    /// event, 2 s timeout).
    pub fn start_anonymous_notifying(url: &str) -> Result<Self, FixtureError> {
        let dir = temp_dir()?;
        Self::launch(dir, Auth::Anonymous, Some(url))
    }

    /// Starts a registry that wants HTTP basic auth as `username`/`password` (an htpasswd file
    /// with a bcrypt hash made by `htpasswd -B`, from Debian's `apache2-utils`).
    pub fn start_basic(username: &str, password: &str) -> Result<Self, FixtureError> {
        let htpasswd = find_program("htpasswd", "apache2-utils")?;
        let dir = temp_dir()?;
        let mut child = Command::new(htpasswd)
            // -n: print, -i: password from stdin, -B: bcrypt (the only hash distribution
            // reads), -C 4: the lowest cost, since the registry checks it on every request
            .args(["-n", "-i", "-B", "-C", "4", username])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| FixtureError::io("run htpasswd", source))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(password.as_bytes())
                .map_err(|source| FixtureError::io("write to htpasswd's stdin", source))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|source| FixtureError::io("wait for htpasswd", source))?;
        let line = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() || !line.starts_with(&format!("{username}:$2")) {
            return Err(FixtureError::Program {
                program: "htpasswd".into(),
                action: "hash the registry password".into(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        fs_err::write(dir.path().join("htpasswd"), format!("{line}\n"))
            .map_err(|source| FixtureError::io("write htpasswd", source))?;
        Self::launch(
            dir,
            Auth::Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            },
            None,
        )
    }

    /// Starts a registry that wants bearer tokens, and a token server that issues them (ES256
    /// JWTs granting whatever scope is asked for) to `username`/`password` only.
    ///
    /// The signing key and its self-signed certificate (the registry's `rootcertbundle`) are
    /// made with the `openssl` CLI; tokens name the key with an `x5c` header.
    pub fn start_token(username: &str, password: &str) -> Result<Self, FixtureError> {
        let dir = temp_dir()?;
        let key = SigningKey::generate(dir.path())?;
        let server = TokenServer::start(key, username, password)?;
        Self::launch(
            dir,
            Auth::Token {
                username: username.to_owned(),
                password: password.to_owned(),
                server,
            },
            None,
        )
    }

    /// Writes the config and starts the registry, retrying with another port when the one
    /// picked was taken in the meantime.
    fn launch(dir: Workdir, auth: Auth, notify: Option<&str>) -> Result<Self, FixtureError> {
        let binary = find_program("docker-registry", "docker-registry")?;
        let root = dir.path();
        fs_err::create_dir_all(root.join("storage"))
            .map_err(|source| FixtureError::io("create the registry storage", source))?;
        let log_path = root.join("registry.log");
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let config = root.join("config.yml");
            fs_err::write(&config, config_yaml(root, port, &auth, notify))
                .map_err(|source| FixtureError::io("write the registry config", source))?;
            let log = File::create(&log_path)
                .map_err(|source| FixtureError::io("create the registry log", source))?;
            let log_too = log
                .try_clone()
                .map_err(|source| FixtureError::io("create the registry log", source))?;
            let mut command = Command::new(&binary);
            command
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_too)
                .process_group(0);
            // REGISTRY_* variables override the config file: keep the caller's out.
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("REGISTRY_") {
                    command.env_remove(name);
                }
            }
            let mut child = command
                .spawn()
                .map_err(|source| FixtureError::io("start docker-registry", source))?;
            if wait_until_answering(&mut child, port) {
                return Ok(Self {
                    dir,
                    port,
                    child: Some(child),
                    auth,
                    client: OnceLock::new(),
                    tokens: Mutex::new(HashMap::new()),
                });
            }
            kill_group(&mut child);
            last_log = fs_err::read_to_string(&log_path).unwrap_or_default();
        }
        Err(FixtureError::ServerStart {
            server: "docker-registry".into(),
            log: last_log,
        })
    }

    /// How this registry checks clients.
    pub fn auth_mode(&self) -> AuthMode {
        match self.auth {
            Auth::Anonymous => AuthMode::Anonymous,
            Auth::Basic { .. } => AuthMode::Basic,
            Auth::Token { .. } => AuthMode::Token,
        }
    }

    /// The port the registry listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`, the registry part of an image reference (`127.0.0.1:<port>/app:1.0`).
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The username the registry (basic) or token server (token) accepts; `None` when anonymous.
    pub fn username(&self) -> Option<&str> {
        match &self.auth {
            Auth::Anonymous => None,
            Auth::Basic { username, .. } | Auth::Token { username, .. } => Some(username),
        }
    }

    /// The password that goes with [`Self::username`].
    pub fn password(&self) -> Option<&str> {
        match &self.auth {
            Auth::Anonymous => None,
            Auth::Basic { password, .. } | Auth::Token { password, .. } => Some(password),
        }
    }

    /// The token server's URL (`http://127.0.0.1:<port>/token`), the `realm` of the registry's
    /// challenges; `None` unless the registry wants tokens.
    pub fn token_realm(&self) -> Option<String> {
        match &self.auth {
            Auth::Token { server, .. } => Some(server.realm()),
            _ => None,
        }
    }

    /// The `service` of the registry's challenges (and the tokens' audience).
    pub fn token_service(&self) -> &'static str {
        token::SERVICE
    }

    /// How many requests the token server received (with right or wrong credentials), not
    /// counting the harness pusher's own; 0 unless the registry wants tokens.
    pub fn token_requests(&self) -> usize {
        match &self.auth {
            Auth::Token { server, .. } => server.requests().len(),
            _ => 0,
        }
    }

    /// The `scope` parameters of the requests counted by [`Self::token_requests`], one list per
    /// request, in order.
    pub fn token_request_scopes(&self) -> Vec<Vec<String>> {
        match &self.auth {
            Auth::Token { server, .. } => server
                .requests()
                .into_iter()
                .map(|request| request.scopes)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A valid token for `scopes` (`repository:app:pull`), as the token server would issue it,
    /// without going through it; `None` unless the registry wants tokens.
    pub fn issue_token(&self, scopes: &[&str]) -> Option<String> {
        self.issue_token_with(KeyHeader::X5c, scopes)
    }

    fn issue_token_with(&self, header: KeyHeader, scopes: &[&str]) -> Option<String> {
        match &self.auth {
            Auth::Token { server, .. } => Some(server.token(header, &owned(scopes))),
            _ => None,
        }
    }

    /// A token like [`Self::issue_token`]'s (same header, issuer, audience, access) but signed by
    /// a key the registry does not trust: the registry must answer it with 401.
    pub fn forge_token(&self, scopes: &[&str]) -> Option<String> {
        match &self.auth {
            Auth::Token { server, .. } => Some(server.forged_token(&owned(scopes))),
            _ => None,
        }
    }

    /// The registry's log so far (its stderr: one line per request, with status codes).
    pub fn log(&self) -> String {
        fs_err::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The registry's storage directory (filesystem driver root).
    pub fn storage_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("storage")
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("base_url", &self.base_url())
            .field("auth_mode", &self.auth_mode())
            .field("username", &self.username())
            .field("password", &self.password().map(|_| "<redacted>"))
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            kill_group(child);
        }
    }
}

fn owned(scopes: &[&str]) -> Vec<String> {
    scopes.iter().map(|&scope| scope.to_owned()).collect()
}

/// The registry's directory: in `/dev/shm` when there is one, because the filesystem driver
/// fsyncs every link it writes (about a dozen per manifest PUT), which makes tagging on a disk
/// three times slower; in the system's temporary directory otherwise.
fn temp_dir() -> Result<Workdir, FixtureError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("gantry-registry-");
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = builder.tempdir_in(shm)
    {
        return Ok(Workdir::Temp(dir));
    }
    builder
        .tempdir()
        .map(Workdir::Temp)
        .map_err(|source| FixtureError::io("create the registry directory", source))
}

/// A YAML double-quoted scalar (JSON string syntax is a subset).
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn config_yaml(root: &Path, port: u16, auth: &Auth, notify: Option<&str>) -> String {
    let storage = quoted(&root.join("storage").to_string_lossy());
    let secret = {
        let mut bytes = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .expect("the system RNG is available");
        image::sha256_digest(&bytes)
    };
    let auth = match auth {
        Auth::Anonymous => String::new(),
        Auth::Basic { .. } => format!(
            "auth:\n  htpasswd:\n    realm: gantry-test-registry\n    path: {}\n",
            quoted(&root.join("htpasswd").to_string_lossy())
        ),
        Auth::Token { server, .. } => format!(
            "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            quoted(&server.realm()),
            token::SERVICE,
            token::ISSUER,
            quoted(&root.join(token::CERTIFICATE_FILE).to_string_lossy())
        ),
    };
    let notifications = notify.map_or_else(String::new, |url| {
        format!(
            "notifications:\n  endpoints:\n    - name: gantry\n      url: {}\n      timeout: 2s\n      threshold: 1\n      backoff: 1s\n",
            quoted(url)
        )
    });
    format!(
        "# gantry test registry
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
{auth}{notifications}"
    )
}

/// Waits until `GET /v2/` on `port` gets an HTTP answer (200 or 401); `false` when the registry
/// exited or the time ran out.
fn wait_until_answering(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + STARTUP;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let request =
                format!("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
            let mut answer = [0u8; 12];
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_exact(&mut answer).is_ok()
                && answer.starts_with(b"HTTP/1.1 ")
            {
                return true;
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(registry: &Registry, path: &str, token: &str) -> u16 {
        push::install_crypto_provider();
        reqwest::blocking::Client::new()
            .get(format!("{}{path}", registry.base_url()))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    #[test]
    fn the_registry_accepts_tokens_naming_their_key_by_x5c_or_by_libtrust_kid() {
        let registry = Registry::start_token("u", "p").unwrap();
        registry.push_image("app", "1", &ImageSpec::new()).unwrap();
        let scopes = ["repository:app:pull"];
        for header in [KeyHeader::X5c, KeyHeader::Kid] {
            let token = registry.issue_token_with(header, &scopes).unwrap();
            assert_eq!(
                status(&registry, "/v2/app/tags/list", &token),
                200,
                "{header:?}"
            );
        }
        let forged = registry.forge_token(&scopes).unwrap();
        assert_eq!(status(&registry, "/v2/app/tags/list", &forged), 401);
        assert_eq!(status(&registry, "/v2/", &forged), 401);
        assert_eq!(
            status(&registry, "/v2/", &registry.issue_token(&[]).unwrap()),
            200
        );
    }

    #[test]
    fn only_a_token_registry_issues_tokens() {
        let registry = Registry::start_anonymous().unwrap();
        assert!(registry.issue_token(&[]).is_none());
        assert!(registry.forge_token(&[]).is_none());
        assert!(registry.token_realm().is_none());
        assert_eq!(registry.token_requests(), 0);
    }

    #[test]
    fn debug_output_hides_the_password() {
        let registry = Registry::start_basic("alice", "hunter2-secret").unwrap();
        let debug = format!("{registry:?}");
        assert!(!debug.contains("hunter2-secret"), "{debug}");
        assert!(
            debug.contains("alice") && debug.contains("<redacted>"),
            "{debug}"
        );
        let htpasswd = fs_err::read_to_string(registry.dir.path().join("htpasswd")).unwrap();
        assert!(htpasswd.starts_with("alice:$2y$04$"), "{htpasswd}");
    }

    #[test]
    fn dropping_the_registry_stops_it_and_its_token_server_and_removes_its_directory() {
        let registry = Registry::start_token("u", "p").unwrap();
        let dir = registry.dir.path().to_owned();
        let realm = registry.token_realm().unwrap();
        let token_port: u16 = realm
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/token")
            .parse()
            .unwrap();
        let port = registry.port();
        assert!(registry.log().contains("listening on 127.0.0.1:"));
        drop(registry);
        assert!(
            crate::server::tests::refused_soon(port),
            "port {port} still answers"
        );
        assert!(
            crate::server::tests::refused_soon(token_port),
            "port {token_port} still answers"
        );
        assert!(!dir.exists());
    }

    #[test]
    fn a_detached_registry_keeps_serving_from_its_directory_and_takes_pushes_from_a_new_handle() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("registry");
        let registry = Registry::start_anonymous_in(&dir, None).unwrap();
        let port = registry.port();
        let pid = registry.detach().unwrap();
        assert!(crate::server::tests::alive(pid));
        let attached = Registry::attach_anonymous(&dir, port);
        attached
            .push_image("app", "1.0.0", &ImageSpec::new())
            .unwrap();
        drop(attached);
        assert!(crate::server::tests::alive(pid));
        let again = Registry::attach_anonymous(&dir, port);
        assert!(again.fetch_manifest("app", "1.0.0").is_ok());
        assert!(again.log().contains("listening on 127.0.0.1:"));
        assert!(
            again
                .storage_dir()
                .join("docker/registry/v2/repositories/app")
                .is_dir()
        );
        crate::server::tests::stop_group(pid);
        assert!(
            crate::server::tests::refused_soon(port),
            "port {port} still answers"
        );
        assert!(dir.join("config.yml").is_file());
    }

    #[test]
    fn the_registry_starts_quickly() {
        let started = Instant::now();
        let registry = Registry::start_anonymous().unwrap();
        let elapsed = started.elapsed();
        eprintln!("the registry started in {elapsed:?}");
        assert!(elapsed < STARTUP, "{elapsed:?}");
        assert!(registry.storage_dir().is_dir());
    }
}
