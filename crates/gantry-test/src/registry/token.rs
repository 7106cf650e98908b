//! The bearer-token side of [`Registry::start_token`](super::Registry::start_token): a signing key
//! with a self-signed certificate, JWTs the registry verifies, and a tiny token server.
//!
//! ```text
//!  client ──GET /v2/…──────────────────────────► docker-registry ── 401 Bearer realm=…,service=…,scope=…
//!  client ──GET /token?service=…&scope=… (basic)► token server (this module, 127.0.0.1:<random>)
//!         ◄── {"token": JWT, "access_token": JWT, "expires_in": 300, "issued_at": …}
//!  client ──GET /v2/… Authorization: Bearer JWT─► docker-registry (checks the signature against
//!                                                   rootcertbundle, issuer, audience, expiry, access)
//! ```
//!
//! The key is an ECDSA P-256 key made by the `openssl` CLI together with a self-signed certificate
//! (the registry's `rootcertbundle`); tokens are ES256 JWTs signed with `ring`. The JWT header
//! names the key with `x5c` (the certificate itself), which distribution 2.8 checks against its
//! root bundle; the libtrust `kid` form works too and is kept for tests. The server grants every
//! action a scope asks for, to anyone with the right basic credentials, and answers 401 otherwise.
//! It speaks just enough HTTP/1.1: one request per connection, `Connection: close`.
//!
//! Not done: refresh tokens, OAuth2 POST, anonymous tokens, `offline_token`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};

use crate::error::FixtureError;
use crate::server::find_program;

/// The `service` the registry names in its challenges and the tokens' audience.
pub(crate) const SERVICE: &str = "gantry-test-registry";
/// The tokens' issuer, which the registry checks.
pub(crate) const ISSUER: &str = "gantry-test-token-issuer";
/// The `User-Agent` of the harness's own pusher, whose token requests are not counted.
pub(crate) const PUSHER_AGENT: &str = "gantry-test-pusher";
/// The file (in the registry's directory) holding the certificate, the `rootcertbundle`.
pub(crate) const CERTIFICATE_FILE: &str = "token-cert.pem";
/// How long a token lives, in seconds.
const LIFETIME: u64 = 300;

/// How a JWT header names the key that signed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyHeader {
    /// `x5c`: the signing certificate, which must chain to the registry's root bundle.
    X5c,
    /// `kid`: libtrust's key id of the public key, looked up among the root bundle's keys.
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "only tests issue kid tokens; the server names keys by x5c"
        )
    )]
    Kid,
}

/// An ECDSA P-256 key with its self-signed certificate.
pub(crate) struct SigningKey {
    key_pair: EcdsaKeyPair,
    certificate_der: Vec<u8>,
    key_id: String,
}

impl SigningKey {
    /// Makes a new key and certificate with the `openssl` CLI in `dir`; the certificate is written
    /// to `dir/`[`CERTIFICATE_FILE`], the registry's `rootcertbundle`.
    pub(crate) fn generate(dir: &Path) -> Result<Self, FixtureError> {
        let openssl = find_program("openssl", "openssl")?;
        let key_path = dir.join("token-key.pem");
        let certificate_path = dir.join(CERTIFICATE_FILE);
        let output = Command::new(openssl)
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={ISSUER}"),
                "-keyout",
            ])
            .arg(&key_path)
            .arg("-out")
            .arg(&certificate_path)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| FixtureError::io("run openssl", source))?;
        if !output.status.success() {
            return Err(FixtureError::Program {
                program: "openssl".into(),
                action: "make the token signing key".into(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        let read = |path: &Path, label: &str| -> Result<Vec<u8>, FixtureError> {
            let text = fs_err::read_to_string(path)
                .map_err(|source| FixtureError::io("read the token signing key", source))?;
            pem_decode(&text, label).ok_or_else(|| FixtureError::Program {
                program: "openssl".into(),
                action: "make the token signing key".into(),
                stderr: format!("{} holds no PEM {label} block", path.display()),
            })
        };
        let pkcs8 = read(&key_path, "PRIVATE KEY")?;
        let certificate_der = read(&certificate_path, "CERTIFICATE")?;
        let key_pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|rejected| FixtureError::Program {
            program: "openssl".into(),
            action: "make the token signing key".into(),
            stderr: format!("ring rejected the key: {rejected}"),
        })?;
        let key_id = libtrust_key_id(key_pair.public_key().as_ref());
        Ok(Self {
            key_pair,
            certificate_der,
            key_id,
        })
    }

    /// A key no registry trusts, made by `ring` alone, that signs as if it were `trusted` (same
    /// certificate and key id in the header).
    pub(crate) fn impostor(trusted: &Self) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generating a P-256 key works because the system RNG is available");
        let key_pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .expect("ring reads back the PKCS#8 document it just made");
        Self {
            key_pair,
            certificate_der: trusted.certificate_der.clone(),
            key_id: trusted.key_id.clone(),
        }
    }

    /// An ES256 JWT for `subject` granting `scopes` (`type:name:actions`), valid for
    /// [`LIFETIME`] seconds from now.
    pub(crate) fn token(&self, header: KeyHeader, subject: &str, scopes: &[String]) -> String {
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let now = unix_now();
        let header = match header {
            KeyHeader::X5c => serde_json::json!({
                "typ": "JWT",
                "alg": "ES256",
                "x5c": [STANDARD.encode(&self.certificate_der)],
            }),
            KeyHeader::Kid => serde_json::json!({
                "typ": "JWT",
                "alg": "ES256",
                "kid": self.key_id,
            }),
        };
        let access: Vec<_> = scopes.iter().filter_map(|scope| grant(scope)).collect();
        let claims = serde_json::json!({
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + LIFETIME,
            "nbf": now.saturating_sub(1),
            "iat": now,
            "jti": format!("gantry-test-{now}-{}", SERIAL.fetch_add(1, Ordering::Relaxed)),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key_pair
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .expect("ECDSA signing works because the system RNG is available");
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        )
    }
}

/// The `access` entry for a scope `type:name:actions` (the name may hold colons, e.g. a port),
/// granting every action asked for; `None` for a malformed scope.
fn grant(scope: &str) -> Option<serde_json::Value> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
    Some(serde_json::json!({ "type": kind, "name": name, "actions": actions }))
}

/// libtrust's key id: the SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32,
/// in twelve colon-separated groups of four.
fn libtrust_key_id(uncompressed_point: &[u8]) -> String {
    // SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 } BIT STRING { 65-byte point }
    const SPKI_PREFIX: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let mut spki = SPKI_PREFIX.to_vec();
    spki.extend_from_slice(uncompressed_point);
    let hash = ring::digest::digest(&ring::digest::SHA256, &spki);
    let encoded = base32(&hash.as_ref()[..30]);
    encoded
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// RFC 4648 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The bytes of the first PEM block labelled `label`.
fn pem_decode(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).ok()
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `seconds` since the epoch as RFC 3339 UTC (`2024-05-01T12:00:00Z`).
pub(crate) fn rfc3339(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rest = seconds % 86_400;
    // Howard Hinnant's civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// One request the token server counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRequest {
    /// The `scope` parameters, in order.
    pub(crate) scopes: Vec<String>,
    /// Whether the credentials were right (a token was issued).
    pub(crate) granted: bool,
}

/// What the server's threads share.
struct State {
    username: String,
    password: String,
    key: SigningKey,
    header: KeyHeader,
    requests: Mutex<Vec<TokenRequest>>,
    stop: AtomicBool,
}

/// A running token server; stopped on drop.
pub(crate) struct TokenServer {
    port: u16,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    /// Starts the server on 127.0.0.1 with a random port; it issues tokens signed by `key` to
    /// `username`/`password`.
    pub(crate) fn start(
        key: SigningKey,
        username: &str,
        password: &str,
    ) -> Result<Self, FixtureError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|source| FixtureError::io("bind the token server", source))?;
        let port = listener
            .local_addr()
            .map_err(|source| FixtureError::io("bind the token server", source))?
            .port();
        let state = Arc::new(State {
            username: username.to_owned(),
            password: password.to_owned(),
            key,
            header: KeyHeader::X5c,
            requests: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let shared = Arc::clone(&state);
        let thread = thread::Builder::new()
            .name("gantry-test-token-server".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = Arc::clone(&shared);
                    // One thread per connection: a client that holds a connection open must
                    // not block the others.
                    let _ = thread::Builder::new()
                        .name("gantry-test-token-request".into())
                        .spawn(move || serve(&shared, stream));
                }
            })
            .map_err(|source| FixtureError::io("start the token server thread", source))?;
        Ok(Self {
            port,
            state,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>/token`, the registry's `realm`.
    pub(crate) fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// The requests counted so far (all but the harness pusher's).
    pub(crate) fn requests(&self) -> Vec<TokenRequest> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A token as the server would issue it to its user, named by `header`.
    pub(crate) fn token(&self, header: KeyHeader, scopes: &[String]) -> String {
        self.state.key.token(header, &self.state.username, scopes)
    }

    /// A token like [`Self::token`] whose signature comes from a key the registry does not trust.
    pub(crate) fn forged_token(&self, scopes: &[String]) -> String {
        SigningKey::impostor(&self.state.key).token(self.state.header, &self.state.username, scopes)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request on `stream`.
fn serve(state: &State, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_request(&stream) else {
        return;
    };
    let (status, extra_header, body) = respond(state, &request);
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(header) = extra_header {
        let _ = write!(response, "{header}\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&body);
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// A parsed request: method, path, query parameters in order, headers with lowercase names.
struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: BTreeMap<String, String>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.take(64 * 1024));
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            break;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    Some(Request {
        method,
        path: path.to_owned(),
        query,
        headers,
    })
}

/// Status line, an extra header and the JSON body for `request`.
fn respond(state: &State, request: &Request) -> (&'static str, Option<String>, String) {
    let error = |code: &str, message: &str| {
        serde_json::json!({ "errors": [{ "code": code, "message": message }] }).to_string()
    };
    if request.method != "GET" || request.path != "/token" {
        return (
            "404 Not Found",
            None,
            error("NOT_FOUND", "only GET /token is served"),
        );
    }
    let scopes: Vec<String> = request
        .query
        .iter()
        .filter(|(name, _)| name == "scope")
        .map(|(_, value)| value.clone())
        .collect();
    let authorized = request
        .headers
        .get("authorization")
        .and_then(|value| basic_credentials(value))
        .is_some_and(|(user, password)| user == state.username && password == state.password);
    let counted = request
        .headers
        .get("user-agent")
        .is_none_or(|agent| !agent.starts_with(PUSHER_AGENT));
    if counted {
        state
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(TokenRequest {
                scopes: scopes.clone(),
                granted: authorized,
            });
    }
    if !authorized {
        return (
            "401 Unauthorized",
            Some("WWW-Authenticate: Basic realm=\"gantry-test-token-server\"".into()),
            error("UNAUTHORIZED", "wrong or missing credentials"),
        );
    }
    let service = request
        .query
        .iter()
        .find(|(name, _)| name == "service")
        .map(|(_, value)| value.as_str());
    if service.is_some_and(|service| service != SERVICE) {
        return (
            "400 Bad Request",
            None,
            error("UNSUPPORTED", "unknown service"),
        );
    }
    let token = state.key.token(state.header, &state.username, &scopes);
    let body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": LIFETIME,
        "issued_at": rfc3339(unix_now()),
    });
    ("200 OK", None, body.to_string())
}

/// `(user, password)` from an `Authorization: Basic …` value.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Decodes `%XX` escapes and `+` (a space in a query).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                if let (Some(high), Some(low)) = (hex(bytes[index + 1]), hex(bytes[index + 2])) {
                    out.push(high << 4 | low);
                    index += 3;
                } else {
                    out.push(b'%');
                    index += 1;
                }
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of one hex digit.
fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_the_rfc_4648_test_vectors() {
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fo"), "MZXQ");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn the_libtrust_key_id_has_twelve_groups_of_four() {
        let id = libtrust_key_id(&[4; 65]);
        let groups: Vec<&str> = id.split(':').collect();
        assert_eq!(groups.len(), 12, "{id}");
        assert!(groups.iter().all(|group| group.len() == 4), "{id}");
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_714_564_800), "2024-05-01T12:00:00Z");
    }

    #[test]
    fn percent_decoding_handles_escapes_plus_and_stray_percents() {
        assert_eq!(
            percent_decode("repository%3Aapp%3Apull%2Cpush"),
            "repository:app:pull,push"
        );
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn a_scope_grants_every_action_it_asks_for() {
        assert_eq!(
            grant("repository:team/app:pull,push").unwrap(),
            serde_json::json!({"type": "repository", "name": "team/app", "actions": ["pull", "push"]})
        );
        assert_eq!(
            grant("registry:catalog:*").unwrap()["actions"],
            serde_json::json!(["*"])
        );
        assert!(grant("nonsense").is_none());
    }
}
