//! Repository URL normalisation, as Kargo compares and hashes URLs.

/// Normalises a git URL the way Kargo's `NormalizeGit` does: lowercase, trimmed; for http(s)
/// and ssh URLs userinfo is dropped (http) and one trailing `/` then one `.git` are removed;
/// SCP-style `user@host:path` becomes `ssh://user@host/path`. A URL with a query string is
/// returned unmodified.
pub fn normalize_git(url: &str) -> String {
    let trimmed: String = url.trim().chars().filter(|c| !c.is_control()).collect();
    if trimmed.contains('?') {
        return trimmed;
    }
    let lower = trimmed.to_lowercase();
    let strip = |rest: &str| -> String {
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        rest.strip_suffix(".git").unwrap_or(rest).to_owned()
    };
    if let Some((scheme, rest)) = lower.split_once("://") {
        return match scheme {
            "http" | "https" => {
                let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
                let host = authority
                    .rsplit_once('@')
                    .map_or(authority, |(_, host)| host);
                if path.is_empty() {
                    format!("{scheme}://{}", strip(host))
                } else {
                    format!("{scheme}://{host}/{}", strip(path))
                }
            }
            _ => format!("{scheme}://{}", strip(rest)),
        };
    }
    if let Some((user_host, path)) = lower.split_once(':')
        && user_host.contains('@')
        && !path.starts_with("//")
    {
        let path = path.trim_start_matches('/');
        return format!("ssh://{user_host}/{}", strip(path));
    }
    lower
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_normalise_like_kargo() {
        assert_eq!(
            normalize_git("https://GitHub.com/Org/Repo.git/"),
            "https://github.com/org/repo"
        );
        assert_eq!(
            normalize_git("https://user:tok@github.com/org/repo.git"),
            "https://github.com/org/repo"
        );
        assert_eq!(
            normalize_git("git@github.com:org/repo.git"),
            "ssh://git@github.com/org/repo"
        );
        assert_eq!(
            normalize_git("ssh://git@github.com/org/repo.git"),
            "ssh://git@github.com/org/repo"
        );
        assert_eq!(
            normalize_git("https://h/x?ref=Main"),
            "https://h/x?ref=Main"
        );
    }
}
