//! Writing YAML scalars so that they read back as the same string: when a plain scalar is safe,
//! how to quote, and literal blocks for multi-line text. Shared by the YAML editors.
//!
//! "Reads back" is judged for both YAML 1.1 readers (go-yaml v2 / `sigs.k8s.io/yaml`, which
//! Kubernetes tooling and Helm use: `yes`, `on`, `0755`, `1_000` are not strings there) and YAML
//! 1.2 readers (go-yaml v3, the Kargo steps themselves).

use gantry_api::yaml::{Content, resolve_plain};

use super::{go_quote, is_printable};

/// Whether `s` can be written as a plain scalar and read back as the same string.
pub(crate) fn plain_is_safe(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let last = s.chars().next_back().unwrap_or(first);
    if first.is_whitespace() || last.is_whitespace() || last == ':' {
        return false;
    }
    if s.chars().any(|c| c == '\t' || !is_printable(c)) {
        return false;
    }
    if matches!(
        first,
        ',' | '['
            | ']'
            | '{'
            | '}'
            | '#'
            | '&'
            | '*'
            | '!'
            | '|'
            | '>'
            | '\''
            | '"'
            | '%'
            | '@'
            | '`'
    ) {
        return false;
    }
    // `-`, `?` and `:` start an indicator when followed by a space or nothing.
    if matches!(first, '-' | '?' | ':') && s[1..].chars().next().is_none_or(char::is_whitespace) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") {
        return false;
    }
    if in_flow && s.contains([',', '[', ']', '{', '}', ':']) {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if is_timestamp_like(s) {
        return false;
    }
    // YAML 1.1 typing (a superset of 1.2's core schema for these purposes).
    matches!(resolve_plain(s), Content::String(ref text) if text == s)
}

/// YAML 1.1 `!!timestamp` starts with a date: `2001-12-14`, `2001-12-14t21:59:43.10-05:00`.
fn is_timestamp_like(s: &str) -> bool {
    let bytes = s.as_bytes();
    let digits = |from: usize, min: usize, max: usize| -> Option<usize> {
        let count = bytes[from.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        (min..=max).contains(&count).then_some(from + count)
    };
    let Some(i) = digits(0, 4, 4) else {
        return false;
    };
    if bytes.get(i) != Some(&b'-') {
        return false;
    }
    let Some(i) = digits(i + 1, 1, 2) else {
        return false;
    };
    if bytes.get(i) != Some(&b'-') {
        return false;
    }
    let Some(i) = digits(i + 1, 1, 2) else {
        return false;
    };
    i == bytes.len() || matches!(bytes[i], b'T' | b't' | b' ' | b'\t')
}

/// `s` plain if that is safe, else double-quoted.
pub(crate) fn plain_or_quoted(s: &str, in_flow: bool) -> String {
    if plain_is_safe(s, in_flow) {
        s.to_owned()
    } else {
        go_quote(s)
    }
}

/// `s` in single quotes (`'` doubled), if single quotes can hold it on one line.
pub(crate) fn single_quoted(s: &str) -> Option<String> {
    if s.chars().any(|c| c == '\t' || !is_printable(c)) {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

/// `s` as a literal block scalar (`|`, `|-` or `|+` by its trailing newlines) whose content
/// lines are indented by `indent` spaces. Returns the header and the lines, each line ending
/// with `\n`. `None` when a literal block cannot hold `s` without an indentation indicator or
/// escapes (leading spaces on the first line, control characters, `\r`).
pub(crate) fn literal_block(s: &str, indent: usize) -> Option<String> {
    if !s.contains('\n')
        || s.chars()
            .any(|c| c != '\n' && c != '\t' && !is_printable(c))
    {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let lines: Vec<&str> = body.split('\n').collect();
    // The first non-empty line sets the indentation: it must not start with a space, and no
    // earlier (empty-looking) line may hold spaces.
    for line in &lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) || line.trim().is_empty() {
            return None;
        }
        break;
    }
    if lines.iter().all(|line| line.is_empty()) {
        return None;
    }
    let chomping = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let pad = " ".repeat(indent.max(1));
    let mut out = format!("|{chomping}\n");
    for line in &lines {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_that_read_back_unchanged_are_safe() {
        for s in [
            "v1.2.3",
            "Dark side",
            "my-app:v2.0.0",
            "ghcr.io/org/app@sha256:abc",
            "http://example.com/a#b",
            "a:b",
            "-x",
            "?x",
            "1.2.3",
            "héllo",
            "key=value",
            "<<",
        ] {
            assert!(plain_is_safe(s, false), "{s:?}");
        }
    }

    #[test]
    fn plain_scalars_that_would_change_meaning_are_unsafe() {
        for s in [
            "",
            " lead",
            "trail ",
            "yes",
            "On",
            "~",
            "null",
            "42",
            "0755",
            "1_000",
            "1.10",
            ".inf",
            "a: b",
            "a #b",
            "#c",
            "*ref",
            "&a",
            "!tag",
            "{x}",
            "[x]",
            "@x",
            "`x",
            "%x",
            "|",
            ">",
            "'q",
            "\"q",
            "- x",
            "-",
            "?",
            ":",
            "x:",
            "multi\nline",
            "tab\there",
            "---",
            "...",
            "2024-01-02",
            "2001-12-14t21:59:43.10-05:00",
            "\u{feff}bom",
        ] {
            assert!(!plain_is_safe(s, false), "{s:?}");
        }
        assert!(plain_is_safe("a,b", false));
        assert!(!plain_is_safe("a,b", true), "commas end flow scalars");
        assert!(!plain_is_safe("a]", true));
        assert!(
            !plain_is_safe("a:b", true),
            "go-yaml v2 reads `:` as a value indicator in flow"
        );
    }

    #[test]
    fn single_quotes_double_the_quote_and_refuse_control_characters() {
        assert_eq!(single_quoted("it's").as_deref(), Some("'it''s'"));
        assert_eq!(single_quoted("42").as_deref(), Some("'42'"));
        assert_eq!(single_quoted("a\nb"), None);
    }

    #[test]
    fn literal_blocks_choose_chomping_from_trailing_newlines() {
        let cases = [
            ("a\nb\n", 2, Some("|\n  a\n  b\n")),
            ("a\nb", 4, Some("|-\n    a\n    b\n")),
            ("a\n\nb\n\n\n", 2, Some("|+\n  a\n\n  b\n\n\n")),
            ("\nfirst empty\n", 2, Some("|\n\n  first empty\n")),
            ("  indented first\nx\n", 2, None),
            ("one line", 2, None),
            ("cr\r\nlf\n", 2, None),
            ("\n\n", 2, None),
        ];
        for (input, indent, want) in cases {
            assert_eq!(literal_block(input, indent).as_deref(), want, "{input:?}");
        }
    }
}
