//! The commands that talk to a running `gantry serve`: a blocking HTTP client for its JSON API
//! (`/api/v1`), the settings it resolves (server URL, token, Project), and kubectl-style output
//! (aligned tables, `Key: value` descriptions, or the API's JSON/YAML with `-o`).
//!
//! Settings: `--server` / `GANTRY_SERVER` (default `http://127.0.0.1:8080`, where `gantry serve`
//! listens by default); `--token` / `GANTRY_TOKEN`, else the token in `<data-dir>/admin-token`
//! (`--data-dir` / `GANTRY_DATA_DIR`, default as for `gantry serve`); `-n` / `GANTRY_PROJECT`,
//! else the server's only Project. Failures print `error: ...` (and a `hint:`) on stderr and
//! exit 1; a server-side failure (HTTP 5xx) exits 2.

pub(crate) mod act;
pub(crate) mod describe;
pub(crate) mod explain;
pub(crate) mod get;
pub(crate) mod history;
pub(crate) mod promote;

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use serde_json::Value;

use crate::cli::{OutputFormat, ServerArgs};
use crate::commands::ExitStatus;

/// Where `gantry serve` listens unless told otherwise.
pub(crate) const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// A remote call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RemoteError {
    /// The server could not be reached.
    #[error("cannot reach the gantry server at {server}: {reason}")]
    Connect {
        /// Its URL.
        server: String,
        /// Why (without the URL, which is already said).
        reason: String,
    },
    /// The server answered with an error.
    #[error("{message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's error kind.
        kind: String,
        /// The API's message.
        message: String,
    },
    /// The answer was not JSON.
    #[error("the server's answer to {path} is not JSON")]
    Decode {
        /// The API path.
        path: String,
    },
    /// The settings cannot work.
    #[error("{0}")]
    Settings(String),
}

/// A client bound to one server.
pub(crate) struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::blocking::Client,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// Installs rustls' ring provider (for `https://` servers) unless one is installed already.
fn install_crypto_provider() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The reqwest error and its causes, without the URL.
fn describe_error(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

impl Client {
    /// A client from the flags and environment.
    pub(crate) fn new(args: &ServerArgs) -> Result<Self, RemoteError> {
        install_crypto_provider();
        let base = args
            .server
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let base = base.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(RemoteError::Settings(format!(
                "--server {base:?} is not an http:// or https:// URL"
            )));
        }
        let token = args.token.clone().filter(|t| !t.is_empty()).or_else(|| {
            let dir = crate::commands::task::run::data_dir(args.data_dir.as_deref());
            fs_err::read_to_string(dir.join("admin-token"))
                .ok()
                .map(|text| text.trim().to_owned())
                .filter(|t| !t.is_empty())
        });
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_mins(10))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| RemoteError::Settings(describe_error(error)))?;
        Ok(Self { base, token, http })
    }

    fn send(
        &self,
        request: reqwest::blocking::RequestBuilder,
        path: &str,
    ) -> Result<Value, RemoteError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().map_err(|error| RemoteError::Connect {
            server: self.base.clone(),
            reason: describe_error(error),
        })?;
        let status = response.status().as_u16();
        let bytes = response.bytes().map_err(|error| RemoteError::Connect {
            server: self.base.clone(),
            reason: describe_error(error),
        })?;
        let value: Option<Value> = serde_json::from_slice(&bytes).ok();
        if (200..300).contains(&status) {
            return value.ok_or_else(|| RemoteError::Decode {
                path: path.to_owned(),
            });
        }
        let error = value.as_ref().and_then(|v| v.get("error"));
        let text = |key: &str| {
            error
                .and_then(|e| e.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Err(RemoteError::Api {
            status,
            kind: text("kind").unwrap_or_default(),
            message: text("message")
                .unwrap_or_else(|| format!("the server answered HTTP {status} to {path}")),
        })
    }

    /// `GET /api/v1{path}`.
    pub(crate) fn get(&self, path: &str) -> Result<Value, RemoteError> {
        let url = format!("{}/api/v1{path}", self.base);
        self.send(self.http.get(url), path)
    }

    /// `POST /api/v1{path}` with a JSON body.
    pub(crate) fn post(&self, path: &str, body: &Value) -> Result<Value, RemoteError> {
        let url = format!("{}/api/v1{path}", self.base);
        let request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(request, path)
    }

    /// The Project to work in: `-n`, else the server's only one.
    pub(crate) fn project(&self, args: &ServerArgs) -> Result<String, RemoteError> {
        if let Some(project) = args.project.clone().filter(|p| !p.is_empty()) {
            return Ok(project);
        }
        let projects = self.get("/projects")?;
        let names: Vec<String> = items(&projects)
            .iter()
            .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        match names.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(RemoteError::Settings(
                "the server has no projects".to_owned(),
            )),
            many => Err(RemoteError::Settings(format!(
                "the server has {} projects ({}); pick one with -n PROJECT",
                many.len(),
                many.join(", ")
            ))),
        }
    }
}

/// Percent-encodes one path segment.
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The `items` of a list answer.
pub(crate) fn items(value: &Value) -> &[Value] {
    value
        .get("items")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Prints a failure and picks the exit status.
pub(crate) fn fail(error: &RemoteError, args: &ServerArgs) -> ExitStatus {
    eprintln!("error: {error}");
    match error {
        RemoteError::Connect { .. } => {
            eprintln!(
                "hint: start one with `gantry serve --config DIR`, or point to it with --server URL or GANTRY_SERVER"
            );
            ExitStatus::Failure
        }
        RemoteError::Api { status: 401, .. } => {
            let dir = crate::commands::task::run::data_dir(args.data_dir.as_deref());
            eprintln!(
                "hint: pass --token or set GANTRY_TOKEN; the server's token is in {}",
                dir.join("admin-token").display()
            );
            ExitStatus::Failure
        }
        RemoteError::Api { status, .. } if *status >= 500 => ExitStatus::Internal,
        _ => ExitStatus::Failure,
    }
}

/// Runs a remote command: errors of the call become messages and exit statuses.
pub(crate) fn run_remote(
    args: &ServerArgs,
    command: impl FnOnce(&Client) -> Result<Output, RemoteError>,
) -> anyhow::Result<ExitStatus> {
    let outcome = Client::new(args).and_then(|client| command(&client));
    match outcome {
        Ok(output) => {
            let text = match args.output {
                OutputFormat::Json => {
                    let mut text = serde_json::to_string_pretty(&output.value)
                        .context("formatting the answer as JSON")?;
                    text.push('\n');
                    text
                }
                OutputFormat::Yaml => gantry_api::emit::to_yaml(&output.value),
                OutputFormat::Table => output.table,
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            out.write_all(text.as_bytes())
                .context("writing the output")?;
            Ok(ExitStatus::Success)
        }
        Err(error) => Ok(fail(&error, args)),
    }
}

/// What a remote command prints: the API answer as JSON/YAML with `-o`, else its table or
/// description.
pub(crate) struct Output {
    /// The answer.
    pub(crate) value: Value,
    /// Its table, description or confirmation line.
    pub(crate) table: String,
}

/// Columns aligned like kubectl's: left-aligned, three spaces apart, upper-case headers, `<none>`
/// for empty cells.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| {
                    if cell.is_empty() {
                        "<none>".to_owned()
                    } else {
                        cell.clone()
                    }
                })
                .collect()
        })
        .collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i] - cell.chars().count() + 3;
                text.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// A string field by JSON pointer ("" when missing).
pub(crate) fn text(value: &Value, pointer: &str) -> String {
    match value.pointer(pointer) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The first seven characters of an id.
pub(crate) fn short(id: &str) -> String {
    id.chars().take(7).collect()
}

/// kubectl's AGE: `45s`, `12m`, `3h`, `2d` since an RFC 3339 time ("" when unknown).
pub(crate) fn age(time: &str) -> String {
    let Some(then) = gantry_api::time::parse_rfc3339(time) else {
        return String::new();
    };
    let seconds = SystemTime::now()
        .duration_since(then)
        .map_or(0, |d| d.as_secs());
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// `alias (id7)`, or the id when there is no alias.
pub(crate) fn freight_label(freight: &Value) -> String {
    let id = text(freight, "/metadata/name");
    match freight.get("alias").and_then(Value::as_str) {
        Some(alias) if !alias.is_empty() => format!("{alias} ({})", short(&id)),
        _ => id,
    }
}

/// A one-line summary of a Freight's artifacts: `repo:tag`, `repo@commit7`, `chart:version`.
pub(crate) fn artifacts(freight: &Value) -> String {
    let mut parts = Vec::new();
    let list = |key: &str| {
        freight
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let last_segment = |url: &str| {
        url.trim_end_matches('/')
            .trim_end_matches(".git")
            .rsplit('/')
            .next()
            .unwrap_or(url)
            .to_owned()
    };
    for image in list("images") {
        let repo = last_segment(&text(&image, "/repoURL"));
        let tag = text(&image, "/tag");
        if tag.is_empty() {
            parts.push(format!("{repo}@{}", short(&text(&image, "/digest"))));
        } else {
            parts.push(format!("{repo}:{tag}"));
        }
    }
    for commit in list("commits") {
        let repo = last_segment(&text(&commit, "/repoURL"));
        let tag = text(&commit, "/tag");
        if tag.is_empty() {
            parts.push(format!("{repo}@{}", short(&text(&commit, "/id"))));
        } else {
            parts.push(format!("{repo}:{tag}"));
        }
    }
    for chart in list("charts") {
        let name = text(&chart, "/name");
        let name = if name.is_empty() {
            last_segment(&text(&chart, "/repoURL"))
        } else {
            name
        };
        parts.push(format!("{name}:{}", text(&chart, "/version")));
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tables_align_columns_like_kubectl() {
        let text = table(
            &["NAME", "PHASE"],
            &[
                vec!["develop".into(), "Succeeded".into()],
                vec!["production".into(), String::new()],
            ],
        );
        assert_eq!(
            text,
            "NAME         PHASE\ndevelop      Succeeded\nproduction   <none>\n"
        );
    }

    #[test]
    fn artifacts_are_summarised_on_one_line() {
        let freight = json!({
            "images": [{"repoURL": "127.0.0.1:5000/team/frontend", "tag": "1.2.0"}],
            "commits": [{"repoURL": "https://git.example/app.git", "id": "0123456789abcdef"}],
        });
        assert_eq!(artifacts(&freight), "frontend:1.2.0,app@0123456");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("dev.01ab-x_y~"), "dev.01ab-x_y~");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn ages_read_like_kubectls() {
        assert_eq!(age("not a time"), "");
        let recent = gantry_api::time::format_rfc3339(SystemTime::now());
        assert!(age(&recent).ends_with('s'), "{}", age(&recent));
        assert_eq!(age("2000-01-01T00:00:00Z").chars().last(), Some('d'));
    }
}
