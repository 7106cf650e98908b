//! Writing JSON values as YAML the way Kubernetes manifests look: block style, two-space
//! indentation, sequences at the indentation of their key (`kubectl` style), keys in the
//! value's own order, strings plain when a YAML 1.1 or 1.2 reader gets the same string back,
//! double-quoted otherwise, and multi-line strings as literal blocks.
//!
//! Deterministic by construction (no maps are re-sorted here; use an ordered value), so the
//! output can be snapshot-tested. Comments, anchors and flow style are never written.

use std::fmt::Write as _;

use serde_json::Value;

use crate::yaml::{Content, resolve_plain};

/// One YAML document (without `---`), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Writes `map` whose first key goes at the current position (already indented).
fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str(&string_text(key, indent, true));
        out.push(':');
        match value {
            Value::Object(child) if !child.is_empty() => {
                out.push('\n');
                pad(out, indent + 2);
                write_map(out, child, indent + 2);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                pad(out, indent);
                write_seq(out, items, indent);
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// Writes `items` whose first `- ` goes at the current position (already indented).
fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(child) if !child.is_empty() => write_map(out, child, indent + 2),
            Value::Array(nested) if !nested.is_empty() => write_seq(out, nested, indent + 2),
            scalar => {
                out.push_str(&scalar_text(scalar, indent + 2));
                out.push('\n');
            }
        }
    }
}

fn scalar_text(value: &Value, indent: usize) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_text(s, indent, false),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
    }
}

/// A string as a plain scalar, a literal block (values only) or a double-quoted scalar.
fn string_text(s: &str, indent: usize, is_key: bool) -> String {
    if plain_is_safe(s) {
        return s.to_owned();
    }
    if !is_key && let Some(block) = literal_block(s, indent) {
        return block;
    }
    double_quoted(s)
}

fn is_printable(c: char) -> bool {
    !(c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}'))
}

/// Whether `s` reads back as the same string when written plain, in block context.
pub fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let second = s.chars().nth(1);
    if s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace)
        || s.ends_with(':')
        || s.chars().any(|c| c == '\t' || !is_printable(c))
        || "[]{},#&*!|>'\"%@`".contains(first)
        || ("-?:".contains(first) && second.is_none_or(char::is_whitespace))
        || s.contains(": ")
        || s.contains(" #")
        || s.starts_with("---")
        || s.starts_with("...")
    {
        return false;
    }
    // YAML 1.1 timestamps (`2024-01-02`) are not strings for every reader.
    let bytes = s.as_bytes();
    if bytes.len() >= 5 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' {
        return false;
    }
    // Booleans, nulls and numbers in YAML 1.1 (a superset of 1.2's for these words).
    matches!(resolve_plain(s), Content::String(ref text) if text == s) && !matches!(s, "<<" | "=")
}

/// `s` as a literal block whose lines are indented by `indent`, when one can hold it.
fn literal_block(s: &str, indent: usize) -> Option<String> {
    if !s.contains('\n')
        || s.chars()
            .any(|c| c != '\n' && (c == '\r' || !is_printable(c) && c != '\t'))
    {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let first_content = body.split('\n').find(|line| !line.is_empty())?;
    if first_content.starts_with([' ', '\t']) {
        return None;
    }
    let chomping = match s.len() - body.len() {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomping}");
    let lines: Vec<&str> = if chomping == "+" {
        s[..s.len() - 1].split('\n').collect()
    } else {
        body.split('\n').collect()
    };
    for line in lines {
        out.push('\n');
        if !line.is_empty() {
            pad(&mut out, indent.max(2));
            out.push_str(line);
        }
    }
    Some(out)
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if !is_printable(c) => {
                let code = u32::from(c);
                if code <= 0xff {
                    let _ = write!(out, "\\x{code:02x}");
                } else {
                    let _ = write!(out, "\\u{code:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manifests_look_like_kubectl_output() {
        let value = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
            "data": {"port": "8080", "enabled": "true", "empty": "", "expr": "${schema.spec.name}",
                     "script": "echo a\necho b\n", "note": "a: b", "tab": "a\tb"},
            "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443}], "list": [[1, 2], []], "none": null, "map": {}}
        });
        assert_eq!(
            to_yaml(&value),
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
data:
  port: "8080"
  enabled: "true"
  empty: ""
  expr: ${schema.spec.name}
  script: |
    echo a
    echo b
  note: "a: b"
  tab: "a\tb"
spec:
  ports:
  - port: 80
    name: http
  - port: 443
  list:
  - - 1
    - 2
  - []
  none: null
  map: {}
"#
        );
    }

    #[test]
    fn every_written_string_reads_back_the_same() {
        let samples = [
            "yes",
            "No",
            "~",
            "1.10",
            "0755",
            "1e3",
            "-",
            "- a",
            "a #b",
            "#x",
            "2024-01-02",
            "line\n",
            "two\nlines",
            "\n\nx",
            " lead",
            "trail ",
            "ü",
            "a'b\"c",
            "x\r\ny",
            "\u{7}",
            "a:b",
            "key:",
            "@x",
            "%x",
            "...",
            "---x",
            "a\n\n",
            "  indented\nblock",
        ];
        for sample in samples {
            let text = to_yaml(&json!({"k": sample, sample: 1}));
            let (docs, error) = crate::yaml::parse_stream(&text);
            assert!(error.is_none(), "{sample:?} => {text}");
            let back = docs[0].root.to_json();
            assert_eq!(back["k"], json!(sample), "{sample:?} => {text}");
            assert_eq!(back[sample], json!(1), "{sample:?} => {text}");
        }
    }
}
