//! A real smart-HTTP git server with basic auth on a random loopback port.
//!
//! nginx checks the credentials (`auth_basic`, a `{PLAIN}` htpasswd entry) and hands requests over
//! FastCGI to fcgiwrap, which runs git's own `git-http-backend` on the bare repositories in a
//! temporary directory. Fetches and pushes both need the credentials. nginx runs with
//! `master_process off` (one process, no workers), so it always runs as the user that started it
//! and can reach fcgiwrap's socket without a `user` directive. Both processes get their own
//! process group, which `Drop` kills as a whole (fcgiwrap forks workers) before the temporary
//! directory is removed.
//!
//! For a server that outlives the process that started it (the README quickstart), start it with
//! [`GitServer::start_in`] in a directory of your choice and call [`GitServer::detach`]: the
//! processes keep running and their ids are returned, for the caller to stop later.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::error::FixtureError;
use crate::fixture::{fixture_repo, git};

/// How long the server may take to come up.
const STARTUP: Duration = Duration::from_secs(10);

/// Where a server keeps its files: a temporary directory removed on drop, or a directory the
/// caller chose, which is left in place.
#[derive(Debug)]
pub(crate) enum Workdir {
    /// Removed when dropped.
    Temp(TempDir),
    /// Owned by the caller.
    Kept(PathBuf),
}

impl Workdir {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Self::Temp(dir) => dir.path(),
            Self::Kept(path) => path,
        }
    }

    /// Makes sure the directory stays: a temporary one is no longer removed on drop.
    pub(crate) fn keep(&mut self) {
        let kept = Self::Kept(self.path().to_owned());
        if let Self::Temp(dir) = std::mem::replace(self, kept) {
            let _ = dir.keep();
        }
    }
}

/// A running git server; stopped and deleted on drop.
#[derive(Debug)]
pub struct GitServer {
    dir: Workdir,
    port: u16,
    username: String,
    password: String,
    /// `None` once detached.
    nginx: Option<Child>,
    /// `None` once detached.
    fcgiwrap: Option<Child>,
}

impl GitServer {
    /// Starts the server on 127.0.0.1 with a random free port, accepting only
    /// `username`/`password`, and returns once it answers.
    pub fn start(username: &str, password: &str) -> Result<Self, FixtureError> {
        let dir = tempfile::Builder::new()
            .prefix("gantry-git-server-")
            .tempdir()
            .map_err(|source| FixtureError::io("create the server directory", source))?;
        Self::launch(Workdir::Temp(dir), username, password)
    }

    /// Like [`Self::start`], with the server's files (`nginx.conf`, `htpasswd`, logs, `repos/`)
    /// in `dir`, which is created when missing and left in place when the server stops.
    pub fn start_in(dir: &Path, username: &str, password: &str) -> Result<Self, FixtureError> {
        fs_err::create_dir_all(dir)
            .map_err(|source| FixtureError::io("create the server directory", source))?;
        let dir = std::path::absolute(dir)
            .map_err(|source| FixtureError::io("resolve the server directory", source))?;
        Self::launch(Workdir::Kept(dir), username, password)
    }

    /// Leaves the server running after this value is gone (its directory too, even a temporary
    /// one) and returns the ids of its processes, nginx first then fcgiwrap. Each leads its own
    /// process group: `kill -TERM -<id>` stops it with its children.
    pub fn detach(mut self) -> Vec<u32> {
        self.dir.keep();
        [self.nginx.take(), self.fcgiwrap.take()]
            .into_iter()
            .flatten()
            .map(|child| child.id())
            .collect()
    }

    fn launch(dir: Workdir, username: &str, password: &str) -> Result<Self, FixtureError> {
        let nginx = find_program("nginx", "nginx-light")?;
        let fcgiwrap = find_program("fcgiwrap", "fcgiwrap")?;
        let backend = git_http_backend()?;
        let root = dir.path();
        for sub in ["repos", "home", "tmp"] {
            fs_err::create_dir_all(root.join(sub))
                .map_err(|source| FixtureError::io("create the server directory", source))?;
        }
        fs_err::write(
            root.join("htpasswd"),
            format!("{username}:{{PLAIN}}{password}\n"),
        )
        .map_err(|source| FixtureError::io("write htpasswd", source))?;

        let socket = root.join("fcgiwrap.sock");
        let mut fcgiwrap = Command::new(&fcgiwrap)
            .arg("-c")
            .arg("4")
            .arg("-s")
            .arg(format!("unix:{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| FixtureError::io("start fcgiwrap", source))?;
        let deadline = Instant::now() + STARTUP;
        while !socket.exists() {
            if Instant::now() > deadline || matches!(fcgiwrap.try_wait(), Ok(Some(_))) {
                kill_group(&mut fcgiwrap);
                return Err(FixtureError::ServerStart {
                    server: "fcgiwrap".into(),
                    log: format!("no socket at {}", socket.display()),
                });
            }
            thread::sleep(Duration::from_millis(5));
        }

        let mut last_error = String::new();
        // A free port can be taken between probing and nginx binding it: try a few.
        for _ in 0..5 {
            let port = free_port()?;
            let config = root.join("nginx.conf");
            fs_err::write(&config, nginx_config(root, port, &backend))
                .map_err(|source| FixtureError::io("write nginx.conf", source))?;
            let mut child = Command::new(&nginx)
                .arg("-p")
                .arg(root)
                .arg("-c")
                .arg(&config)
                .arg("-e")
                .arg(root.join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .map_err(|source| FixtureError::io("start nginx", source))?;
            if wait_for_port(&mut child, port) {
                return Ok(Self {
                    dir,
                    port,
                    username: username.to_owned(),
                    password: password.to_owned(),
                    nginx: Some(child),
                    fcgiwrap: Some(fcgiwrap),
                });
            }
            kill_group(&mut child);
            last_error = fs_err::read_to_string(root.join("error.log")).unwrap_or_default();
        }
        kill_group(&mut fcgiwrap);
        Err(FixtureError::ServerStart {
            server: "nginx".into(),
            log: last_error,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The username the server accepts.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password the server accepts.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `http://127.0.0.1:<port>/<name>.git`, without credentials.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{}", self.port, repo_file_name(name))
    }

    /// `http://<user>:<password>@127.0.0.1:<port>/<name>.git` (percent-encoded userinfo).
    pub fn url_with_credentials(&self, name: &str) -> String {
        format!(
            "http://{}:{}@127.0.0.1:{}/{}",
            percent_encode(&self.username),
            percent_encode(&self.password),
            self.port,
            repo_file_name(name)
        )
    }

    /// Where the bare repository `name` lives on disk.
    pub fn repo_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("repos").join(repo_file_name(name))
    }

    /// Creates an empty bare repository `name` (first branch `main`) that accepts pushes and
    /// partial clones (`--filter=blob:none`).
    pub fn create_repo(&self, name: &str) -> Result<PathBuf, FixtureError> {
        let path = self.repo_path(name);
        fs_err::create_dir_all(&path)
            .map_err(|source| FixtureError::io("create the repository", source))?;
        git(
            &path,
            &["init", "--quiet", "--bare", "--initial-branch=main"],
        )?;
        git(&path, &["config", "http.receivepack", "true"])?;
        git(&path, &["config", "uploadpack.allowFilter", "true"])?;
        Ok(path)
    }

    /// Creates repository `name` holding `files` in one commit on `main` (pushed through the file
    /// system, not HTTP); returns the bare repository's path.
    pub fn seed_repo(&self, name: &str, files: &[(&str, &str)]) -> Result<PathBuf, FixtureError> {
        let path = self.create_repo(name)?;
        let work = self.dir.path().join("tmp").join(repo_file_name(name));
        fixture_repo(&work, files)?;
        git(&work, &["push", "--quiet", &path.to_string_lossy(), "main"])?;
        fs_err::remove_dir_all(&work)
            .map_err(|source| FixtureError::io("remove the seed checkout", source))?;
        Ok(path)
    }

    /// nginx's access log so far (one line per request, with status codes).
    pub fn access_log(&self) -> String {
        fs_err::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        for child in [self.nginx.as_mut(), self.fcgiwrap.as_mut()]
            .into_iter()
            .flatten()
        {
            kill_group(child);
        }
    }
}

/// `name.git` unless `name` already ends with `.git`.
fn repo_file_name(name: &str) -> String {
    if Path::new(name)
        .extension()
        .is_some_and(|extension| extension == "git")
    {
        name.to_owned()
    } else {
        format!("{name}.git")
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Kills the process group led by `child` (it was started with `process_group(0)`), then the
/// child itself, and reaps it.
pub(crate) fn kill_group(child: &mut Child) {
    // Best effort throughout: the processes may already be gone.
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -9 -{} 2>/dev/null", child.id()))
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

pub(crate) fn free_port() -> Result<u16, FixtureError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|source| FixtureError::io("find a free port", source))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|source| FixtureError::io("find a free port", source))
}

/// Waits until `port` accepts connections; `false` when nginx exited or the time ran out.
fn wait_for_port(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + STARTUP;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Finds `program` in `PATH` or the sbin folders (not always in a non-root `PATH`).
pub(crate) fn find_program(program: &str, package: &str) -> Result<PathBuf, FixtureError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| FixtureError::MissingProgram {
            program: program.into(),
            package: package.into(),
        })
}

/// Debian's `git-http-backend`, or the one next to the `git` in `PATH`.
fn git_http_backend() -> Result<PathBuf, FixtureError> {
    let debian = Path::new("/usr/lib/git-core/git-http-backend");
    if debian.is_file() {
        return Ok(debian.to_owned());
    }
    let exec_path = git(Path::new("/"), &["--exec-path"])?;
    let backend = Path::new(&exec_path).join("git-http-backend");
    if backend.is_file() {
        Ok(backend)
    } else {
        Err(FixtureError::MissingProgram {
            program: "git-http-backend".into(),
            package: "git".into(),
        })
    }
}

fn nginx_config(root: &Path, port: u16, backend: &Path) -> String {
    let root = root.display();
    let backend = backend.display();
    format!(
        r#"# gantry test git server
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{
    worker_connections 512;
}}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/tmp/client_body;
    fastcgi_temp_path {root}/tmp/fastcgi;
    proxy_temp_path {root}/tmp/proxy;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            auth_basic "gantry test git";
            auth_basic_user_file {root}/htpasswd;
            fastcgi_pass unix:{root}/fcgiwrap.sock;
            fastcgi_read_timeout 300s;
            fastcgi_param SCRIPT_FILENAME {backend};
            fastcgi_param GIT_PROJECT_ROOT {root}/repos;
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param GIT_CONFIG_NOSYSTEM 1;
            fastcgi_param HOME {root}/home;
            fastcgi_param PATH_INFO $uri;
            fastcgi_param REMOTE_USER $remote_user;
            fastcgi_param REMOTE_ADDR $remote_addr;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param CONTENT_TYPE $content_type;
            fastcgi_param CONTENT_LENGTH $content_length;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
        }}
    }}
}}
"#
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn the_server_serves_clones_and_pushes_only_with_the_credentials() {
        let server = GitServer::start("alice", "p@ss word").unwrap();
        server
            .seed_repo("demo", &[("README.md", "hello\n")])
            .unwrap();
        let work = tempfile::tempdir().unwrap();
        let clone = work.path().join("clone");
        git(
            work.path(),
            &[
                "clone",
                "--quiet",
                &server.url_with_credentials("demo"),
                &clone.to_string_lossy(),
            ],
        )
        .unwrap();
        assert_eq!(
            fs_err::read_to_string(clone.join("README.md")).unwrap(),
            "hello\n"
        );

        crate::write_files(&clone, &[("new.txt", "x")]).unwrap();
        let pushed = crate::commit_all(&clone, "add new").unwrap();
        git(&clone, &["push", "--quiet", "origin", "main"]).unwrap();
        assert_eq!(
            git(&server.repo_path("demo"), &["rev-parse", "main"]).unwrap(),
            pushed
        );

        let denied = git(
            work.path(),
            &[
                "ls-remote",
                &server.url("demo").replace("://", "://alice:wrong@"),
            ],
        )
        .unwrap_err();
        assert!(
            denied.to_string().contains("Authentication failed"),
            "{denied}"
        );
        assert!(server.access_log().contains(" 401 "));
    }

    #[test]
    fn a_missing_program_fails_with_a_pointer_to_the_test_script() {
        let error = find_program("gantry-no-such-program", "gantry-pkg").unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("gantry-pkg") && message.contains("scripts/test.sh"),
            "{message}"
        );
    }

    /// Whether a process still runs (a zombie counts as gone).
    pub(crate) fn alive(pid: u32) -> bool {
        fs_err::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }

    /// Whether any thread of `pid` still runs: a multi-threaded process (the Go registry)
    /// shows its leader as a zombie while its other threads are still closing its sockets.
    fn any_thread_alive(pid: u32) -> bool {
        let Ok(tasks) = fs_err::read_dir(format!("/proc/{pid}/task")) else {
            return false;
        };
        tasks.filter_map(Result::ok).any(|task| {
            task.file_name()
                .to_str()
                .and_then(|tid| tid.parse::<u32>().ok())
                .is_some_and(|tid| {
                    fs_err::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).is_ok_and(
                        |stat| {
                            !stat
                                .rsplit(')')
                                .next()
                                .unwrap_or("")
                                .trim_start()
                                .starts_with(['Z', 'X'])
                        },
                    )
                })
        })
    }

    /// Stops a detached process group as a user would (`kill -TERM -<pid>`), waiting until
    /// every thread of its leader is gone.
    pub(crate) fn stop_group(pid: u32) {
        Command::new("kill")
            .args(["-TERM", "--", &format!("-{pid}")])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(pid) || any_thread_alive(pid) {
            assert!(Instant::now() < deadline, "process {pid} still runs");
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether `port` refuses connections within a few seconds: a port just closed can be
    /// taken by a server another test starts, so the check allows for the kernel's and the
    /// neighbours' timing rather than asserting on a single attempt.
    pub(crate) fn refused_soon(port: u16) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_err() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_detached_server_keeps_serving_from_its_directory_until_its_processes_are_stopped() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("git");
        let server = GitServer::start_in(&dir, "u", "p").unwrap();
        server.seed_repo("demo", &[("a.txt", "a\n")]).unwrap();
        let (port, url) = (server.port(), server.url_with_credentials("demo"));
        let pids = server.detach();
        assert_eq!(pids.len(), 2, "{pids:?}");
        assert!(pids.iter().all(|&pid| alive(pid)), "{pids:?}");
        let heads = git(parent.path(), &["ls-remote", &url, "main"]).unwrap();
        assert!(heads.ends_with("refs/heads/main"), "{heads}");
        assert!(dir.join("nginx.conf").is_file() && dir.join("repos/demo.git").is_dir());
        for &pid in &pids {
            stop_group(pid);
        }
        assert!(refused_soon(port), "port {port} still answers");
        assert!(dir.join("access.log").is_file());
    }

    #[test]
    fn dropping_the_server_stops_it_and_removes_its_directory() {
        let server = GitServer::start("u", "p").unwrap();
        let (port, dir) = (server.port(), server.dir.path().to_owned());
        drop(server);
        assert!(refused_soon(port), "port {port} still answers");
        assert!(!dir.exists());
    }
}
