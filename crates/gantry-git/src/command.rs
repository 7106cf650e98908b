//! Running one git process: isolated environment, credentials, timeout, redacted output.
//!
//! Every git process gantry starts goes through [`Runner`]: the environment is cleared and
//! rebuilt (see `git.rs` for what goes in: `GIT_CONFIG_NOSYSTEM`, a gantry-owned global config,
//! a gantry `HOME`, `GIT_TERMINAL_PROMPT=0`, `LC_ALL=C`, `GIT_ASKPASS`), credentials are added to
//! that one child's environment only (`GANTRY_GIT_USERNAME`, `GANTRY_GIT_PASSWORD`, read by the
//! askpass script), and the child is killed when it outlives the timeout. Stderr is redacted
//! before anything else sees it.
//!
//! Caveat: on timeout only the git process itself is killed; a helper it started (such as
//! `git-remote-https`) sees its pipe close and exits on its own.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{GitError, Result, classify};
use crate::git::Author;
use crate::secret::{Credentials, Redactor};

/// Environment variable the askpass script answers username prompts from.
pub(crate) const USERNAME_VAR: &str = "GANTRY_GIT_USERNAME";
/// Environment variable the askpass script answers password prompts from.
pub(crate) const PASSWORD_VAR: &str = "GANTRY_GIT_PASSWORD";

/// The most stderr kept in an error message, in bytes (the tail is kept).
const MAX_MESSAGE: usize = 4000;

/// Starts git processes with gantry's isolated environment and a timeout.
#[derive(Debug)]
pub(crate) struct Runner {
    program: PathBuf,
    env: Vec<(OsString, OsString)>,
    timeout: Duration,
    author: Author,
}

impl Runner {
    pub(crate) fn new(
        program: PathBuf,
        env: Vec<(OsString, OsString)>,
        timeout: Duration,
        author: Author,
    ) -> Self {
        Self {
            program,
            env,
            timeout,
            author,
        }
    }

    /// A git invocation in `dir`; `action` names it in errors ("fetch", "commit").
    pub(crate) fn git<'a>(&'a self, dir: &'a Path, action: impl Into<String>) -> Invocation<'a> {
        Invocation {
            runner: self,
            dir,
            action: action.into(),
            args: Vec::new(),
            credentials: None,
            url: None,
            stdin: None,
            author: None,
        }
    }
}

/// One git command being prepared; [`Invocation::run`] or [`Invocation::output`] runs it.
pub(crate) struct Invocation<'a> {
    runner: &'a Runner,
    dir: &'a Path,
    action: String,
    args: Vec<OsString>,
    credentials: Option<&'a Credentials>,
    url: Option<&'a str>,
    stdin: Option<Vec<u8>>,
    author: Option<&'a Author>,
}

/// What a finished git process printed.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    /// Redacted.
    pub(crate) stderr: String,
}

impl Output {
    /// Stdout as text, without the trailing newline.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim_end().to_owned()
    }
}

impl<'a> Invocation<'a> {
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_owned()));
        self
    }

    /// Credentials answered through askpass, and redacted from the output.
    pub(crate) fn credentials(mut self, credentials: Option<&'a Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// The (clean) repository URL named in errors.
    pub(crate) fn url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    pub(crate) fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Author and committer for commits this command makes (default: the configured author).
    pub(crate) fn author(mut self, author: Option<&'a Author>) -> Self {
        self.author = author;
        self
    }

    /// Runs git and fails unless it exits 0.
    pub(crate) fn run(self) -> Result<Output> {
        let action = self.action.clone();
        let url = self.url;
        let output = self.output()?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(classify(&action, url, output.failure_message()))
        }
    }

    /// Runs git and returns what it printed whatever its exit status; fails only when git cannot
    /// be started or times out.
    pub(crate) fn output(self) -> Result<Output> {
        let runner = self.runner;
        let started = Instant::now();
        // The subcommand only: later arguments may name URLs or paths users consider private.
        let subcommand = subcommand_of(&self.args);
        let author = self.author.unwrap_or(&runner.author);
        let mut command = Command::new(&runner.program);
        command
            .current_dir(self.dir)
            .args(&self.args)
            .env_clear()
            .envs(runner.env.iter().map(|(key, value)| (key, value)))
            .env("GIT_AUTHOR_NAME", &author.name)
            .env("GIT_AUTHOR_EMAIL", &author.email)
            .env("GIT_COMMITTER_NAME", &author.name)
            .env("GIT_COMMITTER_EMAIL", &author.email)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(credentials) = self.credentials {
            command
                .env(USERNAME_VAR, &credentials.username)
                .env(PASSWORD_VAR, credentials.password.expose());
        }
        let mut child = command.spawn().map_err(|source| GitError::Spawn {
            program: runner.program.clone(),
            dir: self.dir.to_owned(),
            source,
        })?;

        if let (Some(input), Some(mut pipe)) = (self.stdin, child.stdin.take()) {
            // A writer thread, so a child that does not read its input cannot block us.
            thread::spawn(move || {
                // A child that exits without reading everything closes the pipe: not our error.
                let _ignored = pipe.write_all(&input);
            });
        }
        let (sender, receiver) = mpsc::channel::<(bool, Vec<u8>)>();
        for (is_stdout, pipe) in [
            (
                true,
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            ),
            (
                false,
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn Read + Send>),
            ),
        ] {
            let sender = sender.clone();
            thread::spawn(move || {
                let mut buffer = Vec::new();
                if let Some(mut pipe) = pipe {
                    // A read error ends the stream; what was read so far is kept.
                    let _ignored = pipe.read_to_end(&mut buffer);
                }
                // The receiver is gone only after a timeout: nothing to report then.
                let _ignored = sender.send((is_stdout, buffer));
            });
        }
        drop(sender);

        let deadline = Instant::now() + runner.timeout;
        let (mut stdout, mut stderr) = (None, None);
        let timed_out = loop {
            if stdout.is_some() && stderr.is_some() {
                break false;
            }
            match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok((true, buffer)) => stdout = Some(buffer),
                Ok((false, buffer)) => stderr = Some(buffer),
                Err(mpsc::RecvTimeoutError::Timeout) => break true,
                Err(mpsc::RecvTimeoutError::Disconnected) => break false,
            }
        };
        let status = if timed_out {
            None
        } else {
            // Both pipes are closed, so git is exiting; still bound the wait.
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if Instant::now() < deadline => {
                        thread::sleep(Duration::from_millis(1));
                    }
                    Ok(None) => break None,
                    Err(source) => {
                        return Err(GitError::io(
                            format!("wait for git {}", self.action),
                            source,
                        ));
                    }
                }
            }
        };
        let Some(status) = status else {
            // Either call fails only when git exited in the meantime: nothing left to stop.
            let _ignored = child.kill();
            let _ignored = child.wait();
            return Err(GitError::Timeout {
                action: self.action,
                timeout: runner.timeout,
            });
        };
        tracing::debug!(
            action = %self.action,
            subcommand,
            status = status.code(),
            elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "git finished"
        );
        let redactor = Redactor::new(self.credentials);
        let mut stdout = stdout.unwrap_or_default();
        if !status.success() {
            // Commands that report on stdout (rebase) may echo a URL there too.
            stdout = redactor
                .redact(&String::from_utf8_lossy(&stdout))
                .into_bytes();
        }
        Ok(Output {
            status,
            stdout,
            stderr: redactor.redact(&String::from_utf8_lossy(&stderr.unwrap_or_default())),
        })
    }
}

/// The git subcommand among `args` (the first word that is neither an option nor the value of
/// `-c`/`-C`).
fn subcommand_of(args: &[OsString]) -> String {
    let mut words = args.iter().map(|arg| arg.to_string_lossy());
    while let Some(word) = words.next() {
        if word == "-c" || word == "-C" {
            words.next();
        } else if !word.starts_with('-') {
            return word.into_owned();
        }
    }
    String::new()
}

impl Output {
    /// The message for an error: stderr, or stdout when git said nothing on stderr; the tail only.
    pub(crate) fn failure_message(&self) -> String {
        let stdout = String::from_utf8_lossy(&self.stdout);
        let text = if self.stderr.trim().is_empty() {
            stdout.trim()
        } else {
            self.stderr.trim()
        };
        if text.len() <= MAX_MESSAGE {
            return text.to_owned();
        }
        let mut start = text.len() - MAX_MESSAGE;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        format!("...{}", &text[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(timeout: Duration) -> Runner {
        let path = std::env::var_os("PATH").unwrap_or_default();
        Runner::new(
            PathBuf::from("sh"),
            vec![("PATH".into(), path)],
            timeout,
            Author::default(),
        )
    }

    #[test]
    fn a_process_that_outlives_the_timeout_is_killed() {
        let runner = runner(Duration::from_millis(200));
        let started = Instant::now();
        let error = runner
            .git(Path::new("."), "sleep")
            .args(["-c", "sleep 5"])
            .output()
            .expect_err("must time out");
        assert!(matches!(error, GitError::Timeout { .. }), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn credentials_reach_the_child_environment_and_are_redacted_from_stderr() {
        let runner = runner(Duration::from_secs(10));
        let credentials = Credentials::new("user", "t0ps3cret");
        let output = runner
            .git(Path::new("."), "echo")
            .args([
                "-c",
                "echo \"$GANTRY_GIT_USERNAME\"; echo \"pw=$GANTRY_GIT_PASSWORD\" >&2; exit 3",
            ])
            .credentials(Some(&credentials))
            .output()
            .expect("runs");
        assert_eq!(output.text(), "user");
        assert_eq!(output.stderr.trim(), "pw=***");
        assert_eq!(output.status.code(), Some(3));
    }

    #[test]
    fn stdin_is_passed_and_large_output_does_not_deadlock() {
        let runner = runner(Duration::from_secs(10));
        let input = "x".repeat(1 << 20);
        let output = runner
            .git(Path::new("."), "cat")
            .args(["-c", "cat; cat >&2 </dev/null"])
            .stdin(input.clone())
            .run()
            .expect("runs");
        assert_eq!(output.stdout.len(), input.len());
    }
}
