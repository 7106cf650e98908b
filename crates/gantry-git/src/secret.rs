//! Secrets, repository credentials, and URLs with credentials inside.
//!
//! A password or token is wrapped in [`Secret`] from the moment gantry reads it, so that `Debug`
//! and `Display` print `***`. Repository URLs may carry userinfo (`https://user:token@host/r.git`,
//! as Kargo users write them); [`split_credentials`] turns such a URL into a clean URL plus
//! [`Credentials`], and [`Redactor`] scrubs both from any text git prints before it reaches an
//! error. Credentials reach git only through the environment of one child process (see
//! `command.rs`), never through argv or a config file.

use std::fmt;

/// A string that never prints: `Debug` and `Display` show `***`.
///
/// Read the value with [`Secret::expose`] only where it is handed to its consumer.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for handing it to the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// A username and password (or token) for an HTTP(S) git repository.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The username git sends (providers that authenticate by token accept most names).
    pub username: String,
    /// The password or token.
    pub password: Secret,
}

impl Credentials {
    /// Credentials from a username and a password or token.
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A token-only URL (`https://token@host`) puts the token in the username too.
        let username: &dyn fmt::Debug = if self.username == self.password.expose() {
            &"***"
        } else {
            &self.username
        };
        f.debug_struct("Credentials")
            .field("username", username)
            .field("password", &self.password)
            .finish()
    }
}

/// Splits the userinfo off an `http(s)` URL: the URL without it, and the credentials it held.
///
/// `https://user:pass@host/r.git` gives `user` / `pass`; a token alone (`https://tok@host/r.git`)
/// is used as both username and password, so that it works whether the server reads the token
/// from the username (GitHub) or from the password (GitLab, Gitea). Percent-escapes are decoded.
/// Other schemes are returned unchanged: in `ssh://git@host/r` the userinfo is the ssh user.
pub fn split_credentials(url: &str) -> (String, Option<Credentials>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_owned(), None);
    };
    let scheme = &url[..scheme_end];
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return (url.to_owned(), None);
    }
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_owned(), None);
    };
    let clean = format!("{}://{}", scheme, &rest[at + 1..]);
    let userinfo = &rest[..at];
    let credentials = match userinfo.split_once(':') {
        Some((user, password)) => Some(Credentials::new(
            percent_decode(user),
            percent_decode(password),
        )),
        None if userinfo.is_empty() => None,
        None => {
            let token = percent_decode(userinfo);
            Some(Credentials::new(token.clone(), token))
        }
    };
    (clean, credentials)
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Scrubs secrets out of text git printed: the userinfo of every URL, and the password text.
#[derive(Debug, Default)]
pub struct Redactor<'a> {
    credentials: Option<&'a Credentials>,
}

impl<'a> Redactor<'a> {
    /// A redactor that also hides the given credentials' password (and a token-only username).
    pub fn new(credentials: Option<&'a Credentials>) -> Self {
        Self { credentials }
    }

    /// The text with userinfo and secrets replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = gantry_api::redact::url(text);
        if let Some(credentials) = self.credentials {
            let password = credentials.password.expose();
            if !password.is_empty() {
                out = out.replace(password, "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "*** ***");
        let credentials = Credentials::new("kargo", "hunter2");
        let debug = format!("{credentials:?}");
        assert!(
            debug.contains("kargo") && !debug.contains("hunter2"),
            "{debug}"
        );
    }

    #[test]
    fn a_token_only_username_is_hidden_in_debug() {
        let (_, credentials) = split_credentials("https://ghp_abc@github.com/o/r.git");
        let debug = format!("{:?}", credentials.expect("token in url"));
        assert!(!debug.contains("ghp_abc"), "{debug}");
    }

    #[test]
    fn userinfo_is_split_off_http_urls() {
        let (url, credentials) = split_credentials("https://kargo:s%40cret@host/org/repo.git");
        assert_eq!(url, "https://host/org/repo.git");
        let credentials = credentials.expect("credentials in url");
        assert_eq!(credentials.username, "kargo");
        assert_eq!(credentials.password.expose(), "s@cret");

        let (url, credentials) = split_credentials("https://tok@host/repo.git");
        assert_eq!(url, "https://host/repo.git");
        let credentials = credentials.expect("token in url");
        assert_eq!(
            (credentials.username.as_str(), credentials.password.expose()),
            ("tok", "tok")
        );

        assert_eq!(
            split_credentials("https://host/a@b.git"),
            ("https://host/a@b.git".to_owned(), None)
        );
        assert_eq!(
            split_credentials("ssh://git@host/r.git"),
            ("ssh://git@host/r.git".to_owned(), None)
        );
        assert_eq!(
            split_credentials("/srv/repo.git"),
            ("/srv/repo.git".to_owned(), None)
        );
    }

    #[test]
    fn redactor_hides_userinfo_and_password() {
        let credentials = Credentials::new("u", "pa55word");
        let redactor = Redactor::new(Some(&credentials));
        assert_eq!(
            redactor.redact("fatal: https://u:pa55word@h/r.git said pa55word"),
            "fatal: https://***@h/r.git said ***"
        );
    }
}
