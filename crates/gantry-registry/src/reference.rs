//! Image repository references: what a subscription's `repoURL` names.
//!
//! `127.0.0.1:5000/team/app` is repository `team/app` on registry `127.0.0.1:5000`; `nginx` and
//! `docker.io/nginx` are `library/nginx` on Docker Hub, whose API lives at
//! `registry-1.docker.io`; `ghcr.io/x/y` is `x/y` on `ghcr.io`. The first path component is a
//! registry when it has a `.` or a `:` or is `localhost`, as Docker decides. A `repoURL` never
//! carries a tag or a digest.

use std::fmt;
use std::net::IpAddr;

use crate::error::{RegistryError, Result};

/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";

/// Names Docker Hub is known by in references.
const DOCKER_HUB_ALIASES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// A repository on a registry, e.g. `team/app` on `127.0.0.1:5000`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Repository {
    registry: String,
    path: String,
}

impl Repository {
    /// Parses a subscription's `repoURL` (no scheme, no tag, no digest). `oci://` is accepted
    /// and dropped, for chart repositories.
    pub fn parse(reference: &str) -> Result<Self> {
        let invalid = |reason: &str| RegistryError::InvalidReference {
            reference: gantry_api::redact::url(reference),
            reason: reason.to_owned(),
        };
        let text = reference.trim();
        let text = text.strip_prefix("oci://").unwrap_or(text);
        if text.is_empty() {
            return Err(invalid("it is empty"));
        }
        if text.contains("://") {
            return Err(invalid(
                "it must not have a scheme: write `registry.example.com/team/app`",
            ));
        }
        if text.contains('@') {
            return Err(invalid("it must not contain a digest (`@sha256:...`)"));
        }
        let (registry, path) = match text.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first, rest)
            }
            _ => ("docker.io", text),
        };
        if path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
        {
            return Err(invalid(
                "it must not contain a tag (`:1.2.3`): the subscription selects tags",
            ));
        }
        check_registry(registry).map_err(|reason| invalid(&reason))?;
        check_path(path).map_err(|reason| invalid(&reason))?;
        let lowered = registry.to_ascii_lowercase();
        if DOCKER_HUB_ALIASES.contains(&lowered.as_str()) {
            let path = if path.contains('/') {
                path.to_owned()
            } else {
                format!("library/{path}")
            };
            return Ok(Self {
                registry: DOCKER_HUB_REGISTRY.to_owned(),
                path,
            });
        }
        Ok(Self {
            registry: lowered,
            path: path.to_owned(),
        })
    }

    /// A repository from parts already known to be valid (tests, harnesses).
    pub fn new(registry: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            registry: registry.into(),
            path: path.into(),
        }
    }

    /// The registry, `host[:port]` (`registry-1.docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path on the registry (`library/nginx`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether this is a Docker Hub repository.
    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB_REGISTRY
    }

    /// Whether the registry is on this machine (`localhost`, `127.0.0.0/8`, `[::1]`): such
    /// registries are spoken to over plain HTTP, as Docker and go-containerregistry do.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(host_of(&self.registry))
    }

    /// The token scope for pulling from this repository.
    pub fn pull_scope(&self) -> String {
        format!("repository:{}:pull", self.path)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

/// The host part of `host[:port]` (`[::1]:5000` → `::1`).
pub(crate) fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.split(':').next().unwrap_or(registry)
}

pub(crate) fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(format!("registry `{registry}` has an unclosed `[`"));
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("registry `{registry}` is not a valid IPv6 address"));
        }
        (host, after.strip_prefix(':'))
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    if host.is_empty() {
        return Err("the registry host is empty".to_owned());
    }
    if !registry.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(format!(
            "registry host `{host}` may only hold letters, digits, `.` and `-`"
        ));
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!(
            "registry port `{port}` is not a number up to 65535"
        ));
    }
    Ok(())
}

/// The OCI distribution name grammar: components of `[a-z0-9]+` joined by `.`, `_`, `__` or
/// runs of `-`, separated by `/`.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the repository path is empty".to_owned());
    }
    for component in path.split('/') {
        if !valid_component(component) {
            return Err(format!(
                "path component `{component}` must be lowercase letters and digits, joined by \
                 `.`, `_`, `__` or `-`"
            ));
        }
    }
    Ok(())
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut index = 0;
    while index < bytes.len() {
        let b = bytes[index];
        if alnum(b) {
            index += 1;
            continue;
        }
        let start = index;
        while index < bytes.len() && !alnum(bytes[index]) {
            index += 1;
        }
        let separator = &component[start..index];
        let ok = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|s| s == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> (String, String) {
        let repository = Repository::parse(text).unwrap();
        (
            repository.registry().to_owned(),
            repository.path().to_owned(),
        )
    }

    #[test]
    fn a_registry_with_a_port_keeps_host_port_and_path() {
        assert_eq!(
            parse("127.0.0.1:5000/team/app"),
            ("127.0.0.1:5000".into(), "team/app".into())
        );
        assert!(
            Repository::parse("127.0.0.1:5000/team/app")
                .unwrap()
                .is_loopback()
        );
    }

    #[test]
    fn short_names_go_to_docker_hub_library() {
        assert_eq!(
            parse("nginx"),
            (DOCKER_HUB_REGISTRY.into(), "library/nginx".into())
        );
        assert_eq!(
            parse("docker.io/nginx"),
            (DOCKER_HUB_REGISTRY.into(), "library/nginx".into())
        );
        assert_eq!(
            parse("bitnami/redis"),
            (DOCKER_HUB_REGISTRY.into(), "bitnami/redis".into())
        );
        assert_eq!(
            parse("index.docker.io/library/nginx"),
            (DOCKER_HUB_REGISTRY.into(), "library/nginx".into())
        );
        assert!(Repository::parse("nginx").unwrap().is_docker_hub());
    }

    #[test]
    fn other_registries_keep_their_host() {
        assert_eq!(parse("ghcr.io/x/y"), ("ghcr.io".into(), "x/y".into()));
        assert_eq!(parse("localhost/app"), ("localhost".into(), "app".into()));
        assert_eq!(
            parse("oci://ghcr.io/charts/app"),
            ("ghcr.io".into(), "charts/app".into())
        );
        assert_eq!(parse("[::1]:5000/a/b"), ("[::1]:5000".into(), "a/b".into()));
        assert!(Repository::parse("[::1]:5000/a/b").unwrap().is_loopback());
        assert!(!Repository::parse("ghcr.io/x/y").unwrap().is_loopback());
    }

    #[test]
    fn tags_digests_schemes_and_uppercase_are_rejected_with_reasons() {
        for (text, reason) in [
            ("nginx:1.25", "tag"),
            ("ghcr.io/x/y:latest", "tag"),
            ("ghcr.io/x/y@sha256:abc", "digest"),
            ("https://ghcr.io/x/y", "scheme"),
            ("ghcr.io/X/y", "lowercase"),
            ("", "empty"),
            ("ghcr.io/", "empty"),
            ("r.example:99999/app", "port"),
            ("r.example/a..b", "lowercase"),
        ] {
            let error = Repository::parse(text).unwrap_err().to_string();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[test]
    fn separators_follow_the_distribution_grammar() {
        for ok in ["a.b", "a_b", "a__b", "a---b", "a1"] {
            assert!(valid_component(ok), "{ok}");
        }
        for bad in ["a___b", "-a", "a-", "a._b", "", "A"] {
            assert!(!valid_component(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,40}") {
            let _ = Repository::parse(&text);
        }
    }
}
