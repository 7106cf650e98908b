//! Keeping secrets out of output.
//!
//! Tokens and passwords reach gantry inside URLs (`https://user:token@host/repo.git`) and inside
//! Secret manifests. Anything that prints a URL goes through [`url`]; source snippets are masked
//! through [`crate::source::SourceFile::redacted_text`].

use crate::yaml::Span;

/// The URL with its userinfo (`user:password@` or `token@`) replaced by `***@`.
pub fn url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme_end + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        if let Some(at) = authority.rfind('@') {
            out.push_str("***@");
            out.push_str(&authority[at + 1..]);
        } else {
            out.push_str(authority);
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Whether the URL carries credentials (a userinfo part).
pub fn has_credentials(text: &str) -> bool {
    url(text) != text
}

/// Byte ranges of the userinfo of every URL in `text` (what [`url`] hides).
pub fn url_credentials(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut offset = 0;
    while let Some(found) = text[offset..].find("://") {
        let start = offset + found + 3;
        let authority_end = text[start..]
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .map_or(text.len(), |end| start + end);
        if let Some(at) = text[start..authority_end].rfind('@') {
            spans.push(Span::new(start, start + at));
        }
        offset = authority_end.max(start);
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_hidden() {
        assert_eq!(
            url("https://oauth2:glpat-xyz@gitlab.com/a/b.git"),
            "https://***@gitlab.com/a/b.git"
        );
        assert_eq!(url("https://@gitlab.com/x"), "https://***@gitlab.com/x");
        assert_eq!(url("https://github.com/x"), "https://github.com/x");
        assert_eq!(
            url("see ssh://git@h/x and https://t@h/y"),
            "see ssh://***@h/x and https://***@h/y"
        );
        assert!(has_credentials("https://t@h/y"));
        assert!(!has_credentials("git@github.com:a/b.git"));
    }

    #[test]
    fn credential_spans_cover_only_the_userinfo() {
        let text = "a https://u:p@h/x b";
        let spans = url_credentials(text);
        assert_eq!(spans.len(), 1);
        assert_eq!(&text[spans[0].start..spans[0].end], "u:p");
    }
}
