//! Go's value formatting, as Kargo's steps use it in files and commit messages: `%v`, `%q`, and
//! Kargo's test for strings that must be quoted so that they are not read back as another type.

use std::fmt::Write as _;

use serde_json::Value;

/// Go's `%v` of a config value the way Kargo prints it, except: integers stay integers (Kargo
/// decodes every config number as float64, so `1000000` prints `1e+06` there), `null` prints
/// `null` (Go prints `<nil>`), and lists and objects print as one-line JSON (Go prints
/// `[a b]` / `map[a:1]`, which no file format reads back).
pub(crate) fn go_display(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => json_flow(value),
    }
}

/// A JSON number as Go's `%v` prints it: integers as integers, floats like `%g` (`1e+06`).
fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        gantry_expr::format_float_g(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// One-line JSON with a space after `:` and `,` (valid YAML flow style too).
fn json_flow(value: &Value) -> String {
    let mut out = String::new();
    write_flow(&mut out, value);
    out
}

fn write_flow(out: &mut String, value: &Value) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_flow(out, item);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_flow(out, item);
            }
            out.push('}');
        }
        Value::Number(n) => out.push_str(&go_number(n)),
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Go's `strconv.Quote` (`%q`): double quotes, Go escapes, printable Unicode kept. Every escape
/// it produces is also a valid YAML double-quoted escape.
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
            c if is_printable(c) => out.push(c),
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

/// An approximation of Go's `unicode.IsPrint`: not a control, format or separator character
/// other than the ASCII space.
pub(crate) fn is_printable(c: char) -> bool {
    let code = u32::from(c);
    !(c.is_control()
        || matches!(
            code,
            0xa0 | 0xad | 0x2028 | 0x2029 | 0xfeff | 0x3000 | 0xfffe | 0xffff
        )
        || (0x2000..=0x200f).contains(&code)
        || (0x202a..=0x202f).contains(&code)
        || (0x2060..=0x206f).contains(&code)
        || (0xfff9..=0xfffb).contains(&code))
}

/// Kargo's `QuoteIfNecessary` test: a string that Go's `ParseFloat` or `ParseBool` accepts, or
/// that is valid JSON, is written `%q`-quoted so that it is not read back as another type.
pub(crate) fn kargo_quotes(s: &str) -> bool {
    is_go_float(s)
        || matches!(
            s,
            "1" | "t"
                | "T"
                | "TRUE"
                | "true"
                | "True"
                | "0"
                | "f"
                | "F"
                | "FALSE"
                | "false"
                | "False"
        )
        || serde_json::from_str::<Value>(s).is_ok()
}

/// The syntax Go's `strconv.ParseFloat` accepts: decimal floats, `inf`/`infinity`/`nan` in any
/// case, and hexadecimal mantissas with an optional `p` exponent (required with a fraction).
fn is_go_float(s: &str) -> bool {
    let (signed, body) = match s.as_bytes().first() {
        Some(b'+' | b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "infinity" => return true,
        "nan" => return !signed,
        _ => {}
    }
    if lower.contains('_') && !underscores_ok(&lower) {
        return false;
    }
    let lower = lower.replace('_', "");
    if let Some(hex) = lower.strip_prefix("0x") {
        let (mantissa, exponent) = match hex.split_once('p') {
            Some((m, e)) => (m, Some(e)),
            None => (hex, None),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits_ok = !(int_part.is_empty() && frac_part.is_empty())
            && int_part.bytes().all(|b| b.is_ascii_hexdigit())
            && frac_part.bytes().all(|b| b.is_ascii_hexdigit());
        let exponent_ok = exponent.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        });
        return digits_ok && exponent_ok && (exponent.is_some() || !mantissa.contains('.'));
    }
    lower
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && lower
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
        && lower.parse::<f64>().is_ok()
}

/// Go's `underscoreOK`: an underscore must sit between digits (or after a base prefix).
fn underscores_ok(s: &str) -> bool {
    let bytes = s.as_bytes();
    let (mut saw, start, hex) = match bytes {
        [b'0', b'b' | b'o' | b'x', ..] => (b'0', 2, bytes[1] == b'x'),
        _ => (b'^', 0, false),
    };
    for &b in &bytes[start..] {
        if b.is_ascii_digit() || (hex && b.is_ascii_hexdigit()) {
            saw = b'0';
        } else if b == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kargo_quotes_numbers_bools_and_json() {
        for s in [
            "42",
            "1.10",
            "-3",
            "1e5",
            ".5",
            "5.",
            "inf",
            "-Infinity",
            "NaN",
            "0x1p-2",
            "0x10",
            "1_000",
            "1_23.50_0e+1_2",
            "0x_1p0",
            "true",
            "False",
            "t",
            "F",
            "1",
            "0",
            "null",
            "{}",
            "[1]",
            "\"x\"",
            " 42 ",
        ] {
            assert!(kargo_quotes(s), "{s:?} should be quoted");
        }
        for s in [
            "v1.2.3", "yes", "on", "~", "_1", "1__2", "1_", "0x1.8", "+nan", "", "abc", "1.2.3",
        ] {
            assert!(!kargo_quotes(s), "{s:?} should not be quoted");
        }
    }

    #[test]
    fn go_quote_matches_strconv_quote() {
        let cases = [
            ("plain", "\"plain\""),
            ("a\"b\\c", "\"a\\\"b\\\\c\""),
            ("line\nnext\ttab", "\"line\\nnext\\ttab\""),
            ("\u{1}\u{7f}", "\"\\x01\\x7f\""),
            ("héllo ✓", "\"héllo ✓\""),
            ("\u{feff}\u{2028}", "\"\\ufeff\\u2028\""),
        ];
        for (input, want) in cases {
            assert_eq!(go_quote(input), want, "{input:?}");
        }
    }

    #[test]
    fn go_display_prints_config_values() {
        let cases = [
            (json!(42), "42"),
            (json!(-7), "-7"),
            (
                json!(18_446_744_073_709_551_615_u64),
                "18446744073709551615",
            ),
            (json!(1.5), "1.5"),
            (json!(1_000_000.0), "1e+06"),
            (json!(0.000_01), "1e-05"),
            (json!(true), "true"),
            (json!(null), "null"),
            (json!("raw text"), "raw text"),
            (json!(["a", 1]), "[\"a\", 1]"),
            (json!({"k": {"n": [true]}}), "{\"k\": {\"n\": [true]}}"),
        ];
        for (value, want) in cases {
            assert_eq!(go_display(&value), want, "{value}");
        }
    }
}
