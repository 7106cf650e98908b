//! Encodings the functions need, written to match Go's output byte for byte: base64, `%q`
//! quoting, JSON decoding with float numbers, and YAML in the style of `go.yaml.in/yaml/v3`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::value::{Value, format_float_g};

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Strict standard base64 (padding required), as Go's `StdEncoding.DecodeString`.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (index, chunk) in bytes.chunks(4).enumerate() {
        let last = index == bytes.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|b| **b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0_u32;
        for (i, byte) in chunk.iter().enumerate() {
            let value = if i >= 4 - pad {
                0
            } else {
                u32::try_from(BASE64.iter().position(|c| c == byte)?).ok()?
            };
            n = (n << 6) | value;
        }
        let decoded = n.to_be_bytes();
        let decoded = [decoded[1], decoded[2], decoded[3]];
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

/// JSON decoded the way Go decodes into `any`: every number is a float64.
pub(crate) fn from_json_float(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::Array(items) => {
            Value::array(items.iter().map(from_json_float).collect())
        }
        serde_json::Value::Object(entries) => Value::map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), from_json_float(v)))
                .collect(),
        ),
        other => Value::from_json(other),
    }
}

/// Go's `strconv.Quote` (`%q` of a string).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if u32::from(c) < 0x20 || u32::from(c) == 0x7f => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_go_printable(c) => out.push(c),
            c if u32::from(c) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` for non-ASCII characters: not a control, not a
/// format character, not a separator other than the ASCII space.
fn is_go_printable(c: char) -> bool {
    let code = u32::from(c);
    !(c.is_control()
        || (0x80..0xa0).contains(&code)
        || matches!(code, 0xa0 | 0xad | 0x2028 | 0x2029 | 0xfeff)
        || (0x2000..=0x200f).contains(&code)
        || (0x202a..=0x202f).contains(&code)
        || (0x2060..=0x206f).contains(&code)
        || code == 0x3000
        || (0xfff9..=0xfffb).contains(&code))
}

/// YAML the way `go.yaml.in/yaml/v3`'s `Marshal` writes it: 4-space indentation, sorted keys,
/// sequences indented under their key, ambiguous strings double-quoted, multi-line strings as
/// literal blocks. Ends with a newline.
pub(crate) fn to_yaml(value: &Value) -> String {
    let value = value.json_form();
    let mut out = String::new();
    match &value {
        Value::Map(map) if !map.entries().is_empty() => yaml_map(&mut out, map.entries(), 0),
        Value::Array(array) if !array.items().is_empty() => yaml_seq(&mut out, array.items(), 0),
        scalar => {
            out.push_str(&yaml_scalar(scalar, 0));
            out.push('\n');
        }
    }
    out
}

const INDENT: usize = 4;

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn yaml_map(out: &mut String, entries: &BTreeMap<String, Value>, indent: usize) {
    let mut first = true;
    for (key, value) in entries {
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str(&yaml_string(key, indent));
        out.push(':');
        yaml_child(out, value, indent);
    }
}

fn yaml_seq(out: &mut String, items: &[Value], indent: usize) {
    let mut first = true;
    for item in items {
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str("- ");
        match item {
            Value::Map(map) if !map.entries().is_empty() => {
                yaml_map(out, map.entries(), indent + 2);
            }
            Value::Array(array) if !array.items().is_empty() => {
                yaml_seq(out, array.items(), indent + 2);
            }
            scalar => {
                out.push_str(&yaml_scalar(scalar, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// Writes what follows `key:`.
fn yaml_child(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Map(map) if !map.entries().is_empty() => {
            out.push('\n');
            pad(out, indent + INDENT);
            yaml_map(out, map.entries(), indent + INDENT);
        }
        Value::Array(array) if !array.items().is_empty() => {
            out.push('\n');
            pad(out, indent + INDENT);
            yaml_seq(out, array.items(), indent + INDENT);
        }
        scalar => {
            out.push(' ');
            out.push_str(&yaml_scalar(scalar, indent + INDENT));
            out.push('\n');
        }
    }
}

fn yaml_scalar(value: &Value, indent: usize) -> String {
    match value {
        Value::Nil => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => ".nan".to_owned(),
        Value::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.to_owned(),
        Value::Float(f) => format_float_g(*f),
        Value::String(s) => yaml_string(s, indent),
        Value::Map(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(object) => yaml_scalar(&object.to_json(), indent),
    }
}

/// Would a plain scalar with this text read back as something other than a string?
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: [&str; 30] = [
        "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y", "Y",
        "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", ".nan",
    ];
    if WORDS.contains(&s) || matches!(s, "-.inf" | "+.inf" | "-.Inf" | ".NaN" | ".NAN" | "<<") {
        return true;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let plain = body.replace('_', "");
    let is_int = plain.bytes().all(|b| b.is_ascii_digit())
        || plain
            .strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        || plain
            .strip_prefix("0o")
            .is_some_and(|o| !o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        || plain
            .strip_prefix("0b")
            .is_some_and(|o| !o.is_empty() && o.bytes().all(|b| b == b'0' || b == b'1'));
    let is_float = body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
        && body.parse::<f64>().is_ok();
    let is_date = s.len() >= 10
        && s.as_bytes()[..10].iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    is_int || is_float || is_date
}

fn plain_allowed(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with('\t') || s.ends_with('\t') {
        return false;
    }
    if "[]{},#&*!|>'\"%@`".contains(first) {
        return false;
    }
    let second = s.chars().nth(1);
    if "-?:".contains(first) && second.is_none_or(|c| c == ' ') {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    !(s.contains(": ") || s.contains(" #") || s.ends_with(':'))
}

fn yaml_string(s: &str, indent: usize) -> String {
    let special = s
        .chars()
        .any(|c| c != '\n' && (c.is_control() || !is_go_printable(c)));
    if s.contains('\n') && !special && !s.starts_with(' ') {
        return literal_block(s, indent);
    }
    if special || s.contains('\n') {
        return double_quoted(s);
    }
    if resolves_to_non_string(s) || s.is_empty() {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "''"))
}

fn literal_block(s: &str, indent: usize) -> String {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    let body = if trailing == 1 { &s[..s.len() - 1] } else { s };
    let body = if trailing > 1 {
        body.strip_suffix('\n').unwrap_or(body)
    } else {
        body
    };
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(&mut out, indent);
            out.push_str(line);
        }
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || !is_go_printable(c) => {
                let code = u32::from(c);
                if code <= 0xff {
                    let _ = write!(out, "\\x{code:02X}");
                } else {
                    let _ = write!(out, "\\u{code:04X}");
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

    #[test]
    fn base64_round_trip_and_strictness() {
        assert_eq!(base64_encode(b"hi"), "aGk=");
        assert_eq!(base64_encode(b"gantry"), "Z2FudHJ5");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("Z2FudHJ5").unwrap(), b"gantry");
        assert!(base64_decode("aGk").is_none());
        assert!(base64_decode("a=Gk").is_none());
        assert!(base64_decode("!!!!").is_none());
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("1.10"), "\"1.10\"");
        assert_eq!(go_quote("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
        assert_eq!(go_quote("\u{1b}[0m"), "\"\\x1b[0m\"");
        assert_eq!(go_quote("héllo ✓"), "\"héllo ✓\"");
        assert_eq!(go_quote("\u{200b}"), "\"\\u200b\"");
    }

    #[test]
    fn yaml_like_go_yaml_v3() {
        let json: serde_json::Value = serde_json::from_str(
            r#"{"image":{"tag":"1.10","repo":"ghcr.io/x"},"ports":[80,443],"enabled":"true","list":[{"b":1,"a":"x: y"}],"empty":{},"none":null,"text":"line1\nline2\n"}"#,
        )
        .unwrap();
        let yaml = to_yaml(&Value::from_json(&json));
        assert_eq!(
            yaml,
            "empty: {}\nenabled: \"true\"\nimage:\n    repo: ghcr.io/x\n    tag: \"1.10\"\nlist:\n    - a: 'x: y'\n      b: 1\nnone: null\nports:\n    - 80\n    - 443\ntext: |\n    line1\n    line2\n"
        );
        assert_eq!(to_yaml(&Value::from("plain")), "plain\n");
        assert_eq!(to_yaml(&Value::from("")), "\"\"\n");
    }
}
