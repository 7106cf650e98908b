//! `http`: sends one HTTP request and decides from the response whether the step succeeded,
//! failed for good, should be retried, or is still waiting (polling).
//!
//! The expressions (`successExpression`, `failureExpression`, `errorExpression`,
//! `outputs[].fromExpression`) are bare expr-lang expressions evaluated by the step against
//! one variable, `response`:
//!
//! | field | value |
//! |---|---|
//! | `response.status` | the status code (int) |
//! | `response.headers` | header name (canonical, `Content-Type`) → list of values, as Go's `http.Header` |
//! | `response.header('x-name')` | the first value of a header (any case), `""` when absent |
//! | `response.body` | JSON or YAML parsed, `text/plain` as a string, an empty map when empty or unparsable |
//!
//! Outcome, as Kargo decides it: `failureExpression` true ⇒ terminal failure (it wins over
//! success; `errorExpression`, when it gives a non-empty string, is appended to the message);
//! `successExpression` true ⇒ success with the outputs; neither expression set ⇒ 2xx succeeds
//! and any other status is a retryable error; otherwise the step is `Running` and asks to be run
//! again after `pollInterval` (30s by default, never less than 10s).
//!
//! Differences from Kargo, all deliberate:
//! - Expressions are compiled before the request is sent, so a typo never costs a `POST`.
//! - A non-boolean success or failure result is coerced the way Go's `strconv.ParseBool` reads
//!   its string form (`"true"`, `"1"`, `"F"`...) instead of always being an error.
//! - `response.typo` is an error naming the fields instead of a silent `nil`.
//! - `bodyFromFile` (a work-dir path) is an addition; the response cap is 10 MiB (Kargo: 2 MiB).
//! - Outputs are also evaluated, best effort, on a terminal failure and kept with the error.
//!
//! Secrets: header values are never put in messages, and the URL is shown as its origin only
//! (`https://hooks.example.com`), since user info, paths and queries may hold tokens.
//!
//! Caveat: the client is `reqwest`'s blocking one; run the step from a thread that may block
//! (not from inside an async task). TLS is rustls with the ring provider, installed here once
//! as the process default when none is installed yet.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::Read;
use std::sync::{Arc, Once};
use std::time::Duration;

use gantry_engine::{StepError, StepResult};
use gantry_expr::{Expression, Object, Value};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::parse_outputs::{OutputSpec, io_reason};
use crate::registry::{Step, StepContext};

/// The `http` step.
pub struct Http;

/// The largest response body read (bigger ones are an error).
const MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;
/// Per-request timeout when the config sets none (Kargo's default).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Delay between polls when the config sets none.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// The shortest delay between polls.
const MIN_POLL_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    query_params: Vec<NameValue>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_from_file: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    poll_interval: Option<String>,
    #[serde(default)]
    proxy: Option<String>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    insecure_skip_tls_verify: bool,
    #[serde(default)]
    response_content_type: Option<String>,
    #[serde(default)]
    success_expression: Option<String>,
    #[serde(default)]
    failure_expression: Option<String>,
    #[serde(default)]
    error_expression: Option<String>,
    #[serde(default)]
    outputs: Vec<OutputSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameValue {
    name: String,
    value: String,
}

/// A config expression, compiled, with the field it came from for messages.
struct Compiled {
    field: String,
    source: String,
    expression: Expression,
}

impl Compiled {
    /// Compiles a set (non-empty) expression; a syntax error is a terminal failure.
    fn new(field: &str, source: Option<&String>) -> Result<Option<Self>, StepError> {
        let Some(source) = source.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let expression = Expression::compile(source)
            .map_err(|e| StepError::failed(format!("invalid {field} {source:?}: {}", e.message)))?;
        Ok(Some(Self {
            field: field.to_owned(),
            source: source.clone(),
            expression,
        }))
    }

    fn eval(&self, env: &Value, context: &StepContext<'_>) -> Result<Value, String> {
        self.expression
            .eval(env, context.request.data)
            .map_err(|e| format!("{} {:?}: {}", self.field, self.source, e.message))
    }

    /// Evaluates to a boolean; other values go through `strconv.ParseBool` on their string form.
    fn eval_bool(&self, env: &Value, context: &StepContext<'_>) -> Result<bool, String> {
        let value = self.eval(env, context)?;
        parse_bool(&value).ok_or_else(|| {
            format!(
                "{} {:?} did not evaluate to a boolean (got {})",
                self.field,
                self.source,
                value.go_type_name()
            )
        })
    }
}

/// Go's `strconv.ParseBool` applied to a value's `fmt.Sprint` form.
fn parse_bool(value: &Value) -> Option<bool> {
    if let Value::Bool(b) = value {
        return Some(*b);
    }
    match value.to_go_string().as_str() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Every expression of the config, compiled before anything is sent.
struct Expressions {
    success: Option<Compiled>,
    failure: Option<Compiled>,
    error: Option<Compiled>,
    outputs: Vec<(String, Compiled)>,
}

impl Expressions {
    fn compile(config: &Config) -> Result<Self, StepError> {
        let mut outputs = Vec::with_capacity(config.outputs.len());
        for spec in &config.outputs {
            let field = format!("output {:?}: fromExpression", spec.name);
            if let Some(compiled) = Compiled::new(&field, Some(&spec.from_expression))? {
                outputs.push((spec.name.clone(), compiled));
            }
        }
        Ok(Self {
            success: Compiled::new("successExpression", config.success_expression.as_ref())?,
            failure: Compiled::new("failureExpression", config.failure_expression.as_ref())?,
            error: Compiled::new("errorExpression", config.error_expression.as_ref())?,
            outputs,
        })
    }

    fn outputs(
        &self,
        env: &Value,
        context: &StepContext<'_>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        let mut output = serde_json::Map::new();
        for (name, compiled) in &self.outputs {
            let json = compiled
                .eval(env, context)?
                .to_json()
                .map_err(|e| format!("output {name:?}: {e}"))?;
            output.insert(name.clone(), json);
        }
        Ok(output)
    }

    /// The outputs that evaluate, ignoring the others (kept with a terminal failure).
    fn outputs_best_effort(
        &self,
        env: &Value,
        context: &StepContext<'_>,
    ) -> serde_json::Map<String, serde_json::Value> {
        self.outputs
            .iter()
            .filter_map(|(name, compiled)| {
                let json = compiled.eval(env, context).ok()?.to_json().ok()?;
                Some((name.clone(), json))
            })
            .collect()
    }
}

impl Step for Http {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn run(&self, context: &StepContext<'_>) -> Result<StepResult, StepError> {
        let config: Config = context.config()?;
        let expressions = Expressions::compile(&config)?;
        let timeout = duration(config.timeout.as_deref(), "timeout")?.unwrap_or(DEFAULT_TIMEOUT);
        let poll_interval = duration(config.poll_interval.as_deref(), "pollInterval")?
            .unwrap_or(DEFAULT_POLL_INTERVAL)
            .max(MIN_POLL_INTERVAL);
        let url = request_url(&config)?;
        let origin = url.origin().ascii_serialization();
        let method = config.method.as_deref().unwrap_or("GET");
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| {
            StepError::failed(format!("invalid config: method {method:?} is not valid"))
        })?;
        let headers = request_headers(&config.headers)?;
        let body = match (&config.body, &config.body_from_file) {
            (Some(_), Some(_)) => {
                return Err(StepError::failed(
                    "invalid config: set at most one of body and bodyFromFile",
                ));
            }
            (Some(body), None) => Some(body.clone().into_bytes()),
            (None, Some(file)) => {
                let path = context.path(file)?;
                Some(fs_err::read(&path).map_err(|e| {
                    StepError::failed(format!("failed to read {file}: {}", io_reason(&e)))
                })?)
            }
            (None, None) => None,
        };

        let client = client(&config, timeout)?;
        let mut request = client.request(method, url).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        let mut response = request.send().map_err(|e| {
            StepError::retryable(if e.is_timeout() {
                format!("request to {origin} timed out after {timeout:?}")
            } else {
                format!("request to {origin} failed: {}", describe(e))
            })
        })?;
        let status = i64::from(response.status().as_u16());
        let headers = response_headers(response.headers());
        let bytes = read_body(&mut response, &origin)?;
        let content_type = config.response_content_type.clone().unwrap_or_else(|| {
            headers
                .get("Content-Type")
                .and_then(|values| values.first())
                .map(|value| media_type(value))
                .unwrap_or_default()
        });
        let body = parse_body(&bytes, &content_type).map_err(|e| {
            StepError::retryable(format!("HTTP ({status}) response from {origin}: {e}"))
        })?;
        let env = Value::map(BTreeMap::from([(
            "response".to_owned(),
            Value::Object(Arc::new(Response::new(status, headers, body))),
        )]));

        let success = expressions
            .success
            .as_ref()
            .map(|c| c.eval_bool(&env, context))
            .transpose()
            .map_err(StepError::retryable)?;
        let failure = expressions
            .failure
            .as_ref()
            .map(|c| c.eval_bool(&env, context))
            .transpose()
            .map_err(StepError::retryable)?;
        match (success, failure) {
            (_, Some(true)) => {
                let mut message = format!("HTTP ({status}) response met failure criteria");
                if let Some(Ok(Value::String(detail))) = expressions
                    .error
                    .as_ref()
                    .map(|c| c.expression.eval(&env, context.request.data))
                    && !detail.is_empty()
                {
                    let _ = write!(message, ": {detail:?}");
                }
                Err(StepError::failed(message)
                    .with_output(expressions.outputs_best_effort(&env, context)))
            }
            (Some(true), _) => succeeded(&expressions, &env, context),
            (None, None) if (200..300).contains(&status) => succeeded(&expressions, &env, context),
            (None, None) => Err(StepError::retryable(format!(
                "HTTP ({status}) response from {origin} is not a success (2xx)"
            ))),
            _ => Ok(StepResult {
                message: Some(format!(
                    "HTTP ({status}) response met neither success nor failure criteria"
                )),
                ..StepResult::running(Some(poll_interval))
            }),
        }
    }
}

fn succeeded(
    expressions: &Expressions,
    env: &Value,
    context: &StepContext<'_>,
) -> Result<StepResult, StepError> {
    let output = expressions
        .outputs(env, context)
        .map_err(StepError::retryable)?;
    Ok(StepResult::succeeded(output))
}

/// A Go duration from the config, `None` when unset.
fn duration(text: Option<&str>, field: &str) -> Result<Option<Duration>, StepError> {
    text.map(|text| {
        gantry_api::time::parse_go_duration(text).ok_or_else(|| {
            StepError::failed(format!(
                "invalid config: {field} {text:?} is not a duration"
            ))
        })
    })
    .transpose()
}

/// The URL with `queryParams` merged in the way Go's `url.Values.Encode` does it: existing and
/// new parameters together, sorted by name (stable within a name), escaped like
/// `url.QueryEscape`.
fn request_url(config: &Config) -> Result<Url, StepError> {
    let mut url = Url::parse(&config.url)
        .map_err(|e| StepError::failed(format!("invalid config: url is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(StepError::failed(format!(
            "invalid config: url must use http or https, not {:?}",
            url.scheme()
        )));
    }
    if !config.query_params.is_empty() {
        let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in url.query_pairs() {
            params
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        for param in &config.query_params {
            params
                .entry(param.name.clone())
                .or_default()
                .push(param.value.clone());
        }
        let query: Vec<String> = params
            .iter()
            .flat_map(|(name, values)| {
                values
                    .iter()
                    .map(move |value| format!("{}={}", query_escape(name), query_escape(value)))
            })
            .collect();
        url.set_query(Some(&query.join("&")));
    }
    Ok(url)
}

/// Go's `url.QueryEscape`.
fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

/// The request headers (repeated names add values); values never appear in messages.
fn request_headers(headers: &[NameValue]) -> Result<HeaderMap, StepError> {
    let mut map = HeaderMap::new();
    for (index, header) in headers.iter().enumerate() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| {
            StepError::failed(format!(
                "invalid config: headers[{index}]: {:?} is not a valid header name",
                header.name
            ))
        })?;
        let value = HeaderValue::from_str(&header.value).map_err(|_| {
            StepError::failed(format!(
                "invalid config: headers[{index}]: the value of {:?} is not a valid header value",
                header.name
            ))
        })?;
        map.append(name, value);
    }
    Ok(map)
}

/// Installs rustls' ring provider as the process default, unless one is installed already.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // an error means another provider is the default already, which is as good
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn client(config: &Config, timeout: Duration) -> Result<reqwest::blocking::Client, StepError> {
    install_crypto_provider();
    let mut builder = reqwest::blocking::Client::builder()
        // Go's http.Client: a zero timeout means none
        .timeout((!timeout.is_zero()).then_some(timeout))
        .danger_accept_invalid_certs(config.insecure_skip_tls_verify);
    if let Some(proxy) = &config.proxy {
        // the proxy URL may hold credentials: never echo it
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .map_err(|_| StepError::failed("invalid config: proxy is not a valid URL"))?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| {
        StepError::terminal(format!("failed to build the HTTP client: {}", describe(e)))
    })
}

/// A reqwest error and its causes, without the URL (it may hold tokens).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Response headers by Go's canonical name, values in order.
fn response_headers(headers: &HeaderMap) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        map.entry(canonical_header_name(name.as_str()))
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    map
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: `content-type` → `Content-Type`; names with
/// characters outside HTTP tokens are left as they are.
fn canonical_header_name(name: &str) -> String {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return name.to_owned();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// The media type of a `Content-Type` value, lowercased, without parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Reads the body, failing when it is larger than [`MAX_RESPONSE_BYTES`].
fn read_body(
    response: &mut reqwest::blocking::Response,
    origin: &str,
) -> Result<Vec<u8>, StepError> {
    let too_large = || {
        StepError::retryable(format!(
            "response body from {origin} exceeds the limit of {} MiB",
            MAX_RESPONSE_BYTES / 1024 / 1024
        ))
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    response
        .take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            let reason = match e.into_inner() {
                Some(inner) => match inner.downcast::<reqwest::Error>() {
                    Ok(error) if error.is_timeout() => "timed out".to_owned(),
                    Ok(error) => describe(*error),
                    Err(other) => other.to_string(),
                },
                None => "connection error".to_owned(),
            };
            StepError::retryable(format!(
                "failed to read the response body from {origin}: {reason}"
            ))
        })?;
    if bytes.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The body as the expressions see it, following the (possibly overridden) content type.
fn parse_body(bytes: &[u8], content_type: &str) -> Result<Value, String> {
    let empty = || Value::map(BTreeMap::new());
    if bytes.is_empty() {
        return Ok(empty());
    }
    let json = || serde_json::from_slice::<serde_json::Value>(bytes);
    match content_type.to_ascii_lowercase().as_str() {
        "application/json" => json()
            .map(|document| Value::from_json(&document))
            .map_err(|e| format!("body is not valid JSON: {e}")),
        "application/yaml" | "text/yaml" | "application/x-yaml" => {
            let text =
                std::str::from_utf8(bytes).map_err(|_| "body is not valid YAML: not UTF-8")?;
            if text.trim().is_empty() {
                return Ok(Value::Nil);
            }
            crate::yaml_parse::parse_yaml(text)
                .map(|document| Value::from_json(&document))
                .map_err(|e| format!("body is not valid YAML: {e}"))
        }
        "text/plain" => Ok(Value::string(String::from_utf8_lossy(bytes).into_owned())),
        // unknown types: JSON when it parses, else nothing
        _ => Ok(json().map_or_else(|_| empty(), |document| Value::from_json(&document))),
    }
}

/// `response` in the expressions: a map in Kargo, an object here so that `header()` can be a
/// method.
struct Response {
    status: i64,
    headers: BTreeMap<String, Vec<String>>,
    headers_value: Value,
    body: Value,
}

impl Response {
    fn new(status: i64, headers: BTreeMap<String, Vec<String>>, body: Value) -> Self {
        let headers_value = Value::map(
            headers
                .iter()
                .map(|(name, values)| {
                    let values = values.iter().map(|v| Value::string(v.as_str())).collect();
                    (name.clone(), Value::array(values))
                })
                .collect(),
        );
        Self {
            status,
            headers,
            headers_value,
            body,
        }
    }
}

// header values may be credentials: Debug shows names only
impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Object for Response {
    fn type_name(&self) -> &'static str {
        "Response"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "status" => Some(Value::Int(self.status)),
            "headers" => Some(self.headers_value.clone()),
            "body" => Some(self.body.clone()),
            _ => None,
        }
    }

    fn field_names(&self) -> Vec<&'static str> {
        vec!["status", "headers", "body"]
    }

    fn call(&self, method: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if method != "header" {
            return None;
        }
        Some(match args {
            [Value::String(name)] => Ok(Value::string(
                self.headers
                    .get(&canonical_header_name(name))
                    .and_then(|values| values.first())
                    .map_or("", String::as_str),
            )),
            _ => Err("header() takes one string argument".to_owned()),
        })
    }

    fn to_json(&self) -> Value {
        Value::map(BTreeMap::from([
            ("status".to_owned(), Value::Int(self.status)),
            ("headers".to_owned(), self.headers_value.clone()),
            ("body".to_owned(), self.body.json_form()),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Mutex;
    use std::time::Duration;

    use gantry_engine::StepStatus;
    use serde_json::json;

    use super::*;
    use crate::testing::Harness;

    /// One request as the test server saw it.
    #[derive(Clone, Debug)]
    struct Seen {
        method: String,
        target: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Seen {
        fn header(&self, name: &str) -> Vec<&str> {
            self.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect()
        }
    }

    /// What the test server answers.
    #[derive(Clone)]
    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        delay: Duration,
        content_length: bool,
    }

    impl Reply {
        fn new(status: u16, content_type: &str, body: &str) -> Self {
            Self {
                status,
                headers: vec![("Content-Type".into(), content_type.into())],
                body: body.as_bytes().to_vec(),
                delay: Duration::ZERO,
                content_length: true,
            }
        }

        fn json(status: u16, body: &serde_json::Value) -> Self {
            Self::new(status, "application/json; charset=utf-8", &body.to_string())
        }
    }

    /// A minimal HTTP/1.1 server on a random loopback port: one request per connection.
    struct Server {
        base: String,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Server {
        fn start(reply: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let seen = Arc::new(Mutex::new(Vec::new()));
            let reply = Arc::new(reply);
            let recorded = seen.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let reply = reply.clone();
                    let recorded = recorded.clone();
                    std::thread::spawn(move || {
                        if let Some(request) = read_request(&stream) {
                            recorded.lock().unwrap().push(request.clone());
                            write_reply(stream, &reply(&request));
                        }
                    });
                }
            });
            Self { base, seen }
        }

        fn replying(reply: Reply) -> Self {
            Self::start(move |_| reply.clone())
        }

        fn url(&self, path: &str) -> String {
            format!("{}{path}", self.base)
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
    }

    fn read_request(stream: &TcpStream) -> Option<Seen> {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let mut parts = line.split_whitespace();
        let method = parts.next()?.to_owned();
        let target = parts.next()?.to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).ok()?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':')?;
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        std::io::Read::read_exact(&mut reader, &mut body).ok()?;
        Some(Seen {
            method,
            target,
            headers,
            body: String::from_utf8(body).unwrap(),
        })
    }

    fn write_reply(mut stream: TcpStream, reply: &Reply) {
        std::thread::sleep(reply.delay);
        let mut head = format!("HTTP/1.1 {} Test\r\nConnection: close\r\n", reply.status);
        if reply.content_length {
            write!(head, "Content-Length: {}\r\n", reply.body.len()).unwrap();
        }
        for (name, value) in &reply.headers {
            write!(head, "{name}: {value}\r\n").unwrap();
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&reply.body);
    }

    #[test]
    fn a_json_get_succeeds_with_outputs_from_body_status_and_headers() {
        let mut reply = Reply::json(200, &json!({"version": "1.2.3", "items": [1, 2, 3]}));
        reply.headers.push(("x-request-id".into(), "abc".into()));
        reply.headers.push(("X-Multi".into(), "one".into()));
        reply.headers.push(("X-Multi".into(), "two".into()));
        let server = Server::replying(reply);
        let result = Harness::new()
            .run(
                "http",
                json!({"url": server.url("/api"), "outputs": [
                    {"name": "version", "fromExpression": "response.body.version"},
                    {"name": "count", "fromExpression": "len(response.body.items)"},
                    {"name": "status", "fromExpression": "response.status"},
                    {"name": "requestId", "fromExpression": "response.header('X-REQUEST-ID')"},
                    {"name": "missing", "fromExpression": "response.header('x-nope')"},
                    {"name": "multi", "fromExpression": "response.headers['X-Multi']"},
                ]}),
            )
            .unwrap();
        assert_eq!(result.status, StepStatus::Succeeded);
        assert_eq!(
            json!(result.output),
            json!({"version": "1.2.3", "count": 3, "status": 200, "requestId": "abc",
                   "missing": "", "multi": ["one", "two"]})
        );
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].method.as_str(), seen[0].target.as_str()),
            ("GET", "/api")
        );
    }

    #[test]
    fn success_and_failure_expressions_decide_with_failure_winning() {
        let server = Server::start(|request| match request.target.as_str() {
            "/done" => Reply::json(200, &json!({"state": "done"})),
            "/failed" => Reply::json(
                409,
                &json!({"state": "failed", "message": "quota exceeded"}),
            ),
            _ => Reply::json(200, &json!({"state": "failed", "message": 7})),
        });
        let harness = Harness::new();
        let config = |path: &str| {
            json!({
                "url": server.url(path),
                "successExpression": "response.body.state == 'done' || response.status == 200",
                "failureExpression": "response.body.state == 'failed'",
                "errorExpression": "response.body.message",
                "outputs": [{"name": "state", "fromExpression": "response.body.state"}],
            })
        };
        let result = harness.run("http", config("/done")).unwrap();
        assert_eq!(result.status, StepStatus::Succeeded);
        assert_eq!(json!(result.output), json!({"state": "done"}));

        let error = harness.run("http", config("/failed")).unwrap_err();
        assert!(error.terminal);
        assert_eq!(error.status, StepStatus::Failed);
        assert_eq!(
            error.message,
            r#"HTTP (409) response met failure criteria: "quota exceeded""#
        );
        assert_eq!(json!(error.output), json!({"state": "failed"}));

        // success holds too (status 200), failure still wins; a non-string detail is ignored
        let error = harness.run("http", config("/both")).unwrap_err();
        assert!(error.terminal);
        assert_eq!(error.message, "HTTP (200) response met failure criteria");
    }

    #[test]
    fn a_non_2xx_response_without_expressions_is_a_retryable_error() {
        let server = Server::replying(Reply::new(503, "text/plain", "try later"));
        let error = Harness::new()
            .run("http", json!({"url": server.url("/x")}))
            .unwrap_err();
        assert!(!error.terminal);
        assert_eq!(error.status, StepStatus::Errored);
        assert_eq!(
            error.message,
            format!(
                "HTTP (503) response from {} is not a success (2xx)",
                server.base
            )
        );
    }

    #[test]
    fn an_empty_2xx_response_without_expressions_succeeds_with_an_empty_body_map() {
        let server = Server::replying(Reply::new(204, "application/json", ""));
        let result = Harness::new()
            .run(
                "http",
                json!({"url": server.url("/"), "outputs": [
                    {"name": "body", "fromExpression": "response.body"},
                ]}),
            )
            .unwrap();
        assert_eq!(json!(result.output), json!({"body": {}}));
    }

    #[test]
    fn neither_criterion_met_keeps_the_step_running_for_the_poll_interval() {
        let server = Server::replying(Reply::json(202, &json!({"ready": false})));
        let harness = Harness::new();
        let run = |extra: serde_json::Value| {
            let mut config = json!({
                "url": server.url("/status"),
                "successExpression": "response.body.ready",
                "failureExpression": "response.status >= 500",
            });
            config
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            harness.run("http", config).unwrap()
        };
        let result = run(json!({}));
        assert_eq!(result.status, StepStatus::Running);
        assert_eq!(result.retry_after, Some(Duration::from_secs(30)));
        assert_eq!(
            result.message.as_deref(),
            Some("HTTP (202) response met neither success nor failure criteria")
        );
        let result = run(json!({"pollInterval": "1m30s"}));
        assert_eq!(result.retry_after, Some(Duration::from_secs(90)));
        // the floor is 10s
        let result = run(json!({"pollInterval": "2s"}));
        assert_eq!(result.retry_after, Some(Duration::from_secs(10)));
    }

    #[test]
    fn a_post_sends_its_body_and_headers() {
        let server = Server::replying(Reply::json(201, &json!({"id": 42})));
        let result = Harness::new()
            .run(
                "http",
                json!({
                    "url": server.url("/messages"),
                    "method": "POST",
                    "headers": [
                        {"name": "Authorization", "value": "Bearer s3cr3t"},
                        {"name": "Content-Type", "value": "application/json"},
                        {"name": "X-Tag", "value": "a"},
                        {"name": "X-Tag", "value": "b"},
                    ],
                    "body": "{\"text\":\"hello\"}",
                    "outputs": [{"name": "id", "fromExpression": "response.body.id"}],
                }),
            )
            .unwrap();
        assert_eq!(json!(result.output), json!({"id": 42}));
        let seen = &server.seen()[0];
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.header("authorization"), ["Bearer s3cr3t"]);
        assert_eq!(seen.header("content-type"), ["application/json"]);
        assert_eq!(seen.header("x-tag"), ["a", "b"]);
        assert_eq!(seen.body, r#"{"text":"hello"}"#);
    }

    #[test]
    fn body_from_file_reads_a_work_dir_file_and_stays_inside_it() {
        let server = Server::replying(Reply::json(200, &json!({})));
        let harness = Harness::new();
        harness.write("out/payload.yaml", "image: nginx:1.29\n");
        harness
            .run(
                "http",
                json!({"url": server.url("/"), "method": "PUT", "bodyFromFile": "out/payload.yaml"}),
            )
            .unwrap();
        let seen = &server.seen()[0];
        assert_eq!(
            (seen.method.as_str(), seen.body.as_str()),
            ("PUT", "image: nginx:1.29\n")
        );

        let error = harness
            .run(
                "http",
                json!({"url": server.url("/"), "bodyFromFile": "nope.json"}),
            )
            .unwrap_err();
        assert!(error.terminal);
        assert_eq!(error.message, "failed to read nope.json: no such file");
        let error = harness
            .run(
                "http",
                json!({"url": server.url("/"), "bodyFromFile": "../outside"}),
            )
            .unwrap_err();
        assert!(error.terminal);
        assert!(error.message.contains("outside"), "{}", error.message);
        assert_eq!(server.seen().len(), 1);
    }

    #[test]
    fn query_params_merge_with_the_url_query_and_are_encoded_like_go() {
        let server = Server::replying(Reply::json(200, &json!({})));
        Harness::new()
            .run(
                "http",
                json!({"url": server.url("/search?b=2&a=1"), "queryParams": [
                    {"name": "q", "value": "a b&c/d~*é"},
                    {"name": "a", "value": "0"},
                ]}),
            )
            .unwrap();
        assert_eq!(
            server.seen()[0].target,
            "/search?a=1&a=0&b=2&q=a+b%26c%2Fd~%2A%C3%A9"
        );
    }

    #[test]
    fn a_request_that_times_out_is_retryable_and_names_no_secret() {
        let mut reply = Reply::json(200, &json!({}));
        reply.delay = Duration::from_secs(3);
        let server = Server::replying(reply);
        let url = server
            .url("/hooks/T0/SECRETPATH?token=QUERYTOKEN")
            .replace("http://", "http://user:PASSWORD@");
        let started = std::time::Instant::now();
        let error = Harness::new()
            .run(
                "http",
                json!({"url": url, "timeout": "300ms", "headers": [
                    {"name": "Authorization", "value": "Bearer HEADERTOKEN"},
                ]}),
            )
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(!error.terminal);
        assert_eq!(
            error.message,
            format!("request to {} timed out after 300ms", server.base)
        );
    }

    #[test]
    fn connection_failures_are_retryable_and_name_no_secret() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let error = Harness::new()
            .run(
                "http",
                json!({
                    "url": format!("http://user:PASSWORD@127.0.0.1:{port}/SECRETPATH?t=QUERYTOKEN"),
                    "headers": [{"name": "X-Api-Key", "value": "HEADERTOKEN"}],
                }),
            )
            .unwrap_err();
        assert!(!error.terminal);
        assert!(
            error
                .message
                .starts_with(&format!("request to http://127.0.0.1:{port} failed: ")),
            "{}",
            error.message
        );
        for secret in ["PASSWORD", "SECRETPATH", "QUERYTOKEN", "HEADERTOKEN"] {
            assert!(!error.message.contains(secret), "{}", error.message);
        }
    }

    #[test]
    fn https_to_a_plain_http_server_fails_the_handshake_as_a_retryable_error() {
        let server = Server::replying(Reply::json(200, &json!({})));
        for insecure in [false, true] {
            let error = Harness::new()
                .run(
                    "http",
                    json!({
                        "url": server.url("/").replace("http://", "https://"),
                        "insecureSkipTLSVerify": insecure,
                    }),
                )
                .unwrap_err();
            assert!(!error.terminal, "{}", error.message);
            assert!(
                error.message.starts_with("request to https://127.0.0.1:"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn an_invalid_expression_fails_terminally_before_anything_is_sent() {
        let server = Server::replying(Reply::json(200, &json!({})));
        let harness = Harness::new();
        let error = harness
            .run(
                "http",
                json!({"url": server.url("/"), "method": "POST", "successExpression": "response.status =="}),
            )
            .unwrap_err();
        assert!(error.terminal);
        assert_eq!(error.status, StepStatus::Failed);
        assert!(
            error
                .message
                .starts_with(r#"invalid successExpression "response.status ==": "#),
            "{}",
            error.message
        );
        let error = harness
            .run(
                "http",
                json!({"url": server.url("/"), "outputs": [{"name": "x", "fromExpression": "(("}]}),
            )
            .unwrap_err();
        assert!(error.terminal);
        assert!(
            error
                .message
                .starts_with(r#"invalid output "x": fromExpression "((": "#),
            "{}",
            error.message
        );
        assert!(server.seen().is_empty());
    }

    #[test]
    fn non_boolean_results_are_read_like_go_parse_bool_or_are_an_error() {
        let server = Server::start(|request| {
            let value = request.target.trim_start_matches('/');
            Reply::json(200, &json!({"ok": value}))
        });
        let harness = Harness::new();
        let run = |value: &str| {
            harness.run(
                "http",
                json!({"url": server.url(&format!("/{value}")), "successExpression": "response.body.ok"}),
            )
        };
        assert_eq!(run("true").unwrap().status, StepStatus::Succeeded);
        assert_eq!(run("T").unwrap().status, StepStatus::Succeeded);
        assert_eq!(run("0").unwrap().status, StepStatus::Running);
        let error = run("yes").unwrap_err();
        assert!(!error.terminal);
        assert_eq!(
            error.message,
            r#"successExpression "response.body.ok" did not evaluate to a boolean (got string)"#
        );
    }

    #[test]
    fn the_body_is_parsed_by_content_type_or_its_override() {
        let server = Server::start(|request| match request.target.as_str() {
            "/yaml" => Reply::new(
                200,
                "application/x-yaml",
                "version: '2.0'\nfeatures: [a, b]\n",
            ),
            "/text" => Reply::new(200, "text/plain; charset=utf-8", "{\"not\": \"parsed\"}"),
            "/unknown-json" => Reply::new(200, "application/vnd.api+json", "[1, 2]"),
            "/unknown-other" => Reply::new(200, "text/html", "<p>hi</p>"),
            "/bad-json" => Reply::new(200, "application/json", "{oops"),
            _ => Reply::new(200, "application/octet-stream", "key: value\n"),
        });
        let harness = Harness::new();
        let body = |path: &str, extra: serde_json::Value| {
            let mut config = json!({"url": server.url(path), "outputs": [
                {"name": "body", "fromExpression": "response.body"},
            ]});
            config
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            harness
                .run("http", config)
                .map(|r| r.output["body"].clone())
        };
        assert_eq!(
            body("/yaml", json!({})).unwrap(),
            json!({"version": "2.0", "features": ["a", "b"]})
        );
        assert_eq!(
            body("/text", json!({})).unwrap(),
            json!("{\"not\": \"parsed\"}")
        );
        assert_eq!(body("/unknown-json", json!({})).unwrap(), json!([1, 2]));
        assert_eq!(body("/unknown-other", json!({})).unwrap(), json!({}));
        assert_eq!(
            body(
                "/override",
                json!({"responseContentType": "application/yaml"})
            )
            .unwrap(),
            json!({"key": "value"})
        );
        assert_eq!(
            body("/text", json!({"responseContentType": "application/json"})).unwrap(),
            json!({"not": "parsed"})
        );
        let error = body("/bad-json", json!({})).unwrap_err();
        assert!(!error.terminal);
        assert!(
            error.message.contains("body is not valid JSON"),
            "{}",
            error.message
        );
    }

    #[test]
    fn bodies_over_ten_mebibytes_are_refused_with_or_without_a_length() {
        let big = vec![b'a'; usize::try_from(MAX_RESPONSE_BYTES).unwrap() + 1];
        let reply = Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: big,
            delay: Duration::ZERO,
            content_length: true,
        };
        let streamed = Reply {
            content_length: false,
            ..reply.clone()
        };
        let server = Server::start(move |request| {
            if request.target == "/streamed" {
                streamed.clone()
            } else {
                reply.clone()
            }
        });
        for path in ["/sized", "/streamed"] {
            let error = Harness::new()
                .run("http", json!({"url": server.url(path)}))
                .unwrap_err();
            assert!(!error.terminal);
            assert_eq!(
                error.message,
                format!(
                    "response body from {} exceeds the limit of 10 MiB",
                    server.base
                )
            );
        }
    }

    #[test]
    fn invalid_urls_and_header_values_fail_terminally_without_echoing_values() {
        let harness = Harness::new();
        let error = harness
            .run("http", json!({"url": "ftp://example.com/file"}))
            .unwrap_err();
        assert!(error.terminal);
        assert_eq!(
            error.message,
            r#"invalid config: url must use http or https, not "ftp""#
        );
        let error = harness
            .run("http", json!({"url": "not a url"}))
            .unwrap_err();
        assert!(error.terminal);
        assert!(
            error
                .message
                .starts_with("invalid config: url is not a valid URL")
        );
        let error = harness
            .run(
                "http",
                json!({"url": "http://127.0.0.1:9/", "headers": [
                    {"name": "Authorization", "value": "Bearer SECRET\nInjected: 1"},
                ]}),
            )
            .unwrap_err();
        assert!(error.terminal);
        assert_eq!(
            error.message,
            r#"invalid config: headers[0]: the value of "Authorization" is not a valid header value"#
        );
    }

    #[test]
    fn header_names_are_canonicalised_like_go() {
        assert_eq!(canonical_header_name("content-type"), "Content-Type");
        assert_eq!(canonical_header_name("X-REQUEST-id"), "X-Request-Id");
        assert_eq!(
            canonical_header_name("www-authenticate"),
            "Www-Authenticate"
        );
        assert_eq!(canonical_header_name("bad name"), "bad name");
    }

    #[test]
    fn the_response_debug_form_shows_no_header_values() {
        let response = Response::new(
            200,
            BTreeMap::from([("Set-Cookie".to_owned(), vec!["session=SECRET".to_owned()])]),
            Value::Nil,
        );
        let debug = format!("{response:?}");
        assert!(
            debug.contains("Set-Cookie") && !debug.contains("SECRET"),
            "{debug}"
        );
    }
}
