//! `json-update`: tidwall/sjson `Set` semantics, edited in place.
//!
//! Paths follow sjson: `.` separates segments, `\` makes the next character literal, a leading
//! `:` marks a numeric-looking segment as an object key, a number indexes an array, `-1` appends
//! to an array, and missing objects and arrays on the way are created (a scalar in the way is
//! replaced by one). As in Kargo, the value must be a string, number or boolean; strings are
//! encoded the way sjson does (Go's `json.Marshal` only when they hold `"`, `\`, control or
//! non-ASCII characters), floats in Go's `'f'` form.
//!
//! Differences from sjson, all about layout: an existing value is replaced in place exactly as
//! sjson does, but a new member or item is written in the style of its container (the
//! whitespace before the first member and around its colon) instead of sjson's `,"key":value`
//! squeezed before the closing brace, and array items past the end are appended without
//! re-serialising the array. sjson's query and modifier syntax (`*`, `?`, `#`, `@`, `|`) is not
//! supported: such paths are errors unless the characters are escaped.

use std::fmt::Write as _;

use serde_json::Value;

use super::json_scan::{JsonKind, JsonNode, Member, Scanner};
use super::{
    Change, EditError, Edited, Update, go_display, go_quote, json_type, line_col,
    update_commit_message,
};

/// A path segment in sjson syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PathSegment {
    name: String,
    /// Written with a leading `:`: never an array index when creating.
    forced_key: bool,
}

impl PathSegment {
    /// The segment as an array index: decimal digits only, and not forced to be a key.
    fn index(&self) -> Option<usize> {
        (!self.forced_key && !self.name.is_empty() && self.name.bytes().all(|b| b.is_ascii_digit()))
            .then(|| self.name.parse().ok())
            .flatten()
    }

    fn is_append(&self) -> bool {
        !self.forced_key && self.name == "-1"
    }
}

/// Creating more than this many `null`s to reach an index is refused.
const MAX_FILL: usize = 10_000;

/// Applies `updates` in order and returns the new text.
pub fn json_update(text: &str, updates: &[Update]) -> Result<Edited, EditError> {
    // Each edit keeps the text valid, so only the input needs checking.
    if !text.trim().is_empty()
        && let Err(error) = serde_json::from_str::<Value>(text)
    {
        return Err(EditError::Parse {
            format: "JSON",
            line: error.line(),
            column: error.column(),
            message: strip_position(&error.to_string()),
        });
    }
    let mut current = text.to_owned();
    let mut changes = Vec::with_capacity(updates.len());
    for update in updates {
        let raw = encode_value(&update.key, &update.value)?;
        let segments = parse_path(&update.key)?;
        let (next, at) = set(&current, &segments, &raw, &update.key)?;
        changes.push(Change {
            key: update.key.clone(),
            line: line_col(&next, at).0,
        });
        current = next;
    }
    Ok(Edited {
        text: current,
        changes,
    })
}

/// Kargo's `json-update` commit message: every string value is `%q`-quoted, other values print
/// as `%v`.
pub fn commit_message(path: &str, updates: &[Update]) -> String {
    update_commit_message(path, updates, |value| match value {
        Value::String(s) => go_quote(s),
        other => go_display(other),
    })
}

fn parse_path(key: &str) -> Result<Vec<PathSegment>, EditError> {
    let invalid = |reason: &str| EditError::InvalidKey {
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    if key.is_empty() {
        return Err(invalid("the path is empty"));
    }
    let mut segments = Vec::new();
    let mut chars = key.chars().peekable();
    loop {
        let mut segment = PathSegment {
            name: String::new(),
            forced_key: false,
        };
        if chars.peek() == Some(&':') {
            chars.next();
            segment.forced_key = true;
        }
        let mut more = false;
        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    more = true;
                    break;
                }
                // sjson drops a trailing lone backslash.
                '\\' => segment.name.extend(chars.next()),
                '*' | '?' | '#' | '@' | '|' => {
                    return Err(invalid(
                        "sjson's query and modifier characters (`*?#@|`) are not supported; \
                         escape them with `\\` to mean the character itself",
                    ));
                }
                other => segment.name.push(other),
            }
        }
        if segment.name.is_empty() {
            return Err(invalid("it has an empty segment"));
        }
        segments.push(segment);
        if !more {
            return Ok(segments);
        }
    }
}

/// The JSON text of a value, as sjson writes it.
fn encode_value(key: &str, value: &Value) -> Result<String, EditError> {
    match value {
        Value::String(s) => Ok(encode_string(s)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(if let Some(i) = n.as_i64() {
            i.to_string()
        } else if let Some(u) = n.as_u64() {
            u.to_string()
        } else {
            // Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent.
            format!("{}", n.as_f64().unwrap_or_default())
        }),
        other => Err(EditError::UnsupportedValue {
            key: key.to_owned(),
            found: json_type(other),
            expected: "json-update writes only strings, numbers and booleans",
        }),
    }
}

/// sjson's `appendStringify`: quoted as is unless a byte needs Go's `json.Marshal`.
fn encode_string(s: &str) -> String {
    let must_marshal = s
        .bytes()
        .any(|b| !(b' '..=0x7f).contains(&b) || b == b'"' || b == b'\\');
    if !must_marshal {
        return format!("\"{s}\"");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How the document lays out members, for new ones.
struct Style {
    colon: String,
    unit: String,
}

/// Sets one path; returns the new text and the offset of the written value.
fn set(
    text: &str,
    segments: &[PathSegment],
    raw: &str,
    key: &str,
) -> Result<(String, usize), EditError> {
    if text.trim().is_empty() {
        return Ok((fresh_container(segments, raw, ":", key)?, 0));
    }
    let root = Scanner::new(text).document().ok_or(EditError::Parse {
        format: "JSON",
        line: 1,
        column: 1,
        message: "unexpected structure".to_owned(),
    })?;
    let style = Style::of(text, &root);
    let mut node = &root;
    for (i, segment) in segments.iter().enumerate() {
        match &node.kind {
            JsonKind::Object(members) => {
                if let Some(member) = members.iter().find(|m| m.has_key(text, &segment.name)) {
                    node = &member.value;
                    continue;
                }
                let entry = format!(
                    "{}{}{}",
                    encode_string(&segment.name),
                    style.colon,
                    build(&segments[i + 1..], raw, &style.colon, key)?
                );
                return Ok(append_entry(text, node, &entry, &style));
            }
            JsonKind::Array(items) => {
                let wanted = segment
                    .name
                    .parse::<usize>()
                    .ok()
                    .filter(|_| segment.name.bytes().all(|b| b.is_ascii_digit()));
                if let Some(item) = wanted.and_then(|index| items.get(index)) {
                    node = item;
                    continue;
                }
                let fill = match (segment.index(), segment.is_append()) {
                    (Some(index), _) => index - items.len(),
                    (None, true) => 0,
                    (None, false) => {
                        return Err(EditError::KeyNotFound {
                            key: key.to_owned(),
                            reason: format!(
                                "cannot set array element for non-numeric key `{}`",
                                segment.name
                            ),
                        });
                    }
                };
                check_fill(key, fill)?;
                // Filled nulls use the array's own separator.
                let separator = separator(text, node).unwrap_or_else(|| ",".to_owned());
                let mut entry = format!("null{separator}").repeat(fill);
                entry.push_str(&build(&segments[i + 1..], raw, &style.colon, key)?);
                return Ok(append_entry(text, node, &entry, &style));
            }
            JsonKind::Scalar => {
                let value = fresh_container(&segments[i..], raw, &style.colon, key)?;
                return Ok((splice(text, node.start, node.end, &value), node.start));
            }
        }
    }
    Ok((splice(text, node.start, node.end, raw), node.start))
}

fn splice(text: &str, start: usize, end: usize, with: &str) -> String {
    format!("{}{with}{}", &text[..start], &text[end..])
}

fn check_fill(key: &str, fill: usize) -> Result<(), EditError> {
    if fill > MAX_FILL {
        return Err(EditError::KeyNotFound {
            key: key.to_owned(),
            reason: format!("reaching the index would add more than {MAX_FILL} nulls past the end"),
        });
    }
    Ok(())
}

/// sjson's replacement for a missing or scalar container: an array when the first segment is
/// an index, else an object (even for `-1`).
fn fresh_container(
    segments: &[PathSegment],
    raw: &str,
    colon: &str,
    key: &str,
) -> Result<String, EditError> {
    nest(segments, raw, colon, key, false)
}

/// sjson's `appendBuild`: the value at the end of `segments`, nesting new containers.
fn build(segments: &[PathSegment], raw: &str, colon: &str, key: &str) -> Result<String, EditError> {
    nest(segments, raw, colon, key, true)
}

/// `raw` wrapped in one new container per segment (built without recursion: keys can be long).
/// `-1` makes an array, except as the first segment when `first_append_is_array` is false.
fn nest(
    segments: &[PathSegment],
    raw: &str,
    colon: &str,
    key: &str,
    first_append_is_array: bool,
) -> Result<String, EditError> {
    let mut out = String::new();
    let mut closers = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let append = segment.is_append() && (i > 0 || first_append_is_array);
        if segment.index().is_some() || append {
            let fill = segment.index().unwrap_or(0);
            check_fill(key, fill)?;
            out.push('[');
            out.push_str(&"null,".repeat(fill));
            closers.push(']');
        } else {
            out.push('{');
            out.push_str(&encode_string(&segment.name));
            out.push_str(colon);
            closers.push('}');
        }
    }
    out.push_str(raw);
    out.extend(closers.into_iter().rev());
    Ok(out)
}

/// The text between two entries of a container (`,` included): the one between its last two
/// entries, or a comma and the whitespace before its first entry; `None` when it is empty.
fn separator(text: &str, container: &JsonNode) -> Option<String> {
    let spans: Vec<(usize, usize)> = match &container.kind {
        JsonKind::Object(members) => members.iter().map(|m| (m.key_start, m.value.end)).collect(),
        JsonKind::Array(items) => items.iter().map(|item| (item.start, item.end)).collect(),
        JsonKind::Scalar => Vec::new(),
    };
    match spans.as_slice() {
        [] => None,
        [(first_start, _)] => Some(format!(",{}", &text[container.start + 1..*first_start])),
        [.., (_, previous_end), (last_start, _)] => {
            Some(text[*previous_end..*last_start].to_owned())
        }
    }
}

/// Appends `entry` as the last member or item of `container`, separated like its other
/// entries or, when it is empty, laid out like the document.
fn append_entry(text: &str, container: &JsonNode, entry: &str, style: &Style) -> (String, usize) {
    let last_end = match &container.kind {
        JsonKind::Object(members) => members.last().map(|m| m.value.end),
        JsonKind::Array(items) => items.last().map(|item| item.end),
        JsonKind::Scalar => None,
    };
    if let (Some(insert), Some(last_end)) = (separator(text, container), last_end) {
        let at = last_end + insert.len();
        return (
            splice(text, last_end, last_end, &format!("{insert}{entry}")),
            at,
        );
    }
    // Empty container: `{}` stays on one line, `{\n}` opens up.
    let inner = &text[container.start + 1..container.end - 1];
    if inner.contains('\n') {
        let line_start = text[..container.start].rfind('\n').map_or(0, |n| n + 1);
        let outer: String = text[line_start..container.start]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let before = format!("\n{outer}{}", style.unit);
        let at = container.start + 1 + before.len();
        let with = format!("{before}{entry}\n{outer}");
        (
            splice(text, container.start + 1, container.end - 1, &with),
            at,
        )
    } else {
        let at = container.start + 1;
        (splice(text, at, container.end - 1, entry), at)
    }
}

impl Style {
    fn of(text: &str, root: &JsonNode) -> Self {
        let colon = find_member(root).map_or_else(
            || ":".to_owned(),
            |m| {
                text[m.key_end..m.value.start]
                    .trim_matches(['\n', '\r'])
                    .to_owned()
            },
        );
        let first_child = match &root.kind {
            JsonKind::Object(members) => members.first().map(|m| m.key_start),
            JsonKind::Array(items) => items.first().map(|item| item.start),
            JsonKind::Scalar => None,
        };
        let unit = first_child
            .map(|start| &text[root.start + 1..start])
            .and_then(|between| {
                between
                    .rsplit_once('\n')
                    .map(|(_, indent)| indent.to_owned())
            })
            .filter(|indent| !indent.is_empty())
            .unwrap_or_else(|| "  ".to_owned());
        Self { colon, unit }
    }
}

fn find_member(node: &JsonNode) -> Option<&Member> {
    match &node.kind {
        JsonKind::Object(members) => members.first(),
        JsonKind::Array(items) => items.iter().find_map(find_member),
        JsonKind::Scalar => None,
    }
}

/// serde_json appends " at line L column C" to its messages; we report those separately.
fn strip_position(message: &str) -> String {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
        .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn update(text: &str, key: &str, value: Value) -> Result<String, EditError> {
        json_update(text, &[Update::new(key, value)]).map(|edited| edited.text)
    }

    #[test]
    fn existing_values_are_replaced_in_place() {
        let pretty = "{\n  \"image\": {\n    \"tag\": \"v1\" \n  },\n  \"n\": [1, 2, 3]\n}\n";
        let cases: &[(&str, &str, Value, &str)] = &[
            (
                pretty,
                "image.tag",
                json!("v2"),
                "{\n  \"image\": {\n    \"tag\": \"v2\" \n  },\n  \"n\": [1, 2, 3]\n}\n",
            ),
            (
                pretty,
                "n.1",
                json!(20),
                "{\n  \"image\": {\n    \"tag\": \"v1\" \n  },\n  \"n\": [1, 20, 3]\n}\n",
            ),
            (r#"{"a":1}"#, "a", json!(1.5), r#"{"a":1.5}"#),
            (
                r#"{"a":1}"#,
                "a",
                json!(1e21),
                r#"{"a":1000000000000000000000}"#,
            ),
            (r#"{"a":1}"#, "a", json!(0.000_000_1), r#"{"a":0.0000001}"#),
            (r#"{"a":1}"#, "a", json!(true), r#"{"a":true}"#),
            (r#"{"a":"x"}"#, "a", json!("q\"<"), r#"{"a":"q\"\u003c"}"#),
            (r#"{"a":"x"}"#, "a", json!("<b>&"), r#"{"a":"<b>&"}"#),
            (r#"{"a":"x"}"#, "a", json!("é\n"), r#"{"a":"é\n"}"#),
            (r#"{"a.b":1}"#, r"a\.b", json!(2), r#"{"a.b":2}"#),
            (r#"{"a":{"0":1}}"#, "a.0", json!(2), r#"{"a":{"0":2}}"#),
            (r#"{"a":[5]}"#, "a.:0", json!(6), r#"{"a":[6]}"#),
            (r#"{"k\u0041":1}"#, "kA", json!(2), r#"{"k\u0041":2}"#),
        ];
        for (input, key, value, want) in cases {
            assert_eq!(
                update(input, key, value.clone()).as_deref(),
                Ok(*want),
                "{key} in {input}"
            );
        }
    }

    #[test]
    fn missing_members_are_created_in_the_containers_style() {
        let cases: &[(&str, &str, Value, &str)] = &[
            (r#"{"a":1}"#, "b", json!(2), r#"{"a":1,"b":2}"#),
            (r#"{ "a": 1 }"#, "b", json!(2), r#"{ "a": 1, "b": 2 }"#),
            (
                "{\n  \"a\": 1\n}\n",
                "b.c",
                json!("x"),
                "{\n  \"a\": 1,\n  \"b\": {\"c\": \"x\"}\n}\n",
            ),
            (
                "{\n    \"a\": {\n        \"x\": 1\n    }\n}",
                "a.y",
                json!(2),
                "{\n    \"a\": {\n        \"x\": 1,\n        \"y\": 2\n    }\n}",
            ),
            (r#"{"a":{}}"#, "a.b", json!(1), r#"{"a":{"b":1}}"#),
            (
                "{\n  \"a\": {\n  }\n}",
                "a.b",
                json!(1),
                "{\n  \"a\": {\n    \"b\": 1\n  }\n}",
            ),
            (
                r#"{"a":1}"#,
                "b.0.c",
                json!(true),
                r#"{"a":1,"b":[{"c":true}]}"#,
            ),
            (
                r#"{"a":1}"#,
                "b.2",
                json!(true),
                r#"{"a":1,"b":[null,null,true]}"#,
            ),
            (
                r#"{"a":1}"#,
                "b.:2",
                json!(true),
                r#"{"a":1,"b":{"2":true}}"#,
            ),
            (r#"{"a":1}"#, "b.-1", json!(true), r#"{"a":1,"b":[true]}"#),
            (r#"{"a":1}"#, "a.b", json!(2), r#"{"a":{"b":2}}"#),
            (r#"{"a":"s"}"#, "a.1", json!(2), r#"{"a":[null,2]}"#),
            (r#"{"a":"s"}"#, "a.-1", json!(2), r#"{"a":{"-1":2}}"#),
            ("", "a.b", json!(1), r#"{"a":{"b":1}}"#),
            ("  \n", "0", json!(1), "[1]"),
            ("42", "a", json!(1), r#"{"a":1}"#),
        ];
        for (input, key, value, want) in cases {
            assert_eq!(
                update(input, key, value.clone()).as_deref(),
                Ok(*want),
                "{key} in {input}"
            );
        }
    }

    #[test]
    fn arrays_append_and_fill_with_nulls() {
        let cases: &[(&str, &str, Value, &str)] = &[
            (r#"{"a":[1,2]}"#, "a.-1", json!(3), r#"{"a":[1,2,3]}"#),
            (r#"{"a":[1, 2]}"#, "a.2", json!(3), r#"{"a":[1, 2, 3]}"#),
            (r#"{"a":[1]}"#, "a.3", json!(4), r#"{"a":[1,null,null,4]}"#),
            (r#"{"a":[]}"#, "a.-1", json!("x"), r#"{"a":["x"]}"#),
            (r#"{"a":[]}"#, "a.1", json!("x"), r#"{"a":[null,"x"]}"#),
            ("[\n  1\n]", "-1", json!(2), "[\n  1,\n  2\n]"),
            (
                r#"{"a":[{"b":1}]}"#,
                "a.0.c",
                json!(2),
                r#"{"a":[{"b":1,"c":2}]}"#,
            ),
        ];
        for (input, key, value, want) in cases {
            assert_eq!(
                update(input, key, value.clone()).as_deref(),
                Ok(*want),
                "{key} in {input}"
            );
        }
    }

    #[test]
    fn bad_paths_values_and_documents_are_errors() {
        let error = update(r#"{"a":[1]}"#, "a.x", json!(1)).unwrap_err();
        assert!(error.to_string().contains("non-numeric key `x`"), "{error}");
        let error = update(r#"{"a":[1]}"#, "a.99999999", json!(1)).unwrap_err();
        assert!(error.to_string().contains("past the end"), "{error}");
        for key in ["", "a..b", "a.", "a.*", "friends.#.name", "a|b"] {
            assert!(
                matches!(
                    update("{}", key, json!(1)),
                    Err(EditError::InvalidKey { .. })
                ),
                "{key}"
            );
        }
        assert_eq!(
            update("{}", r"a\*b", json!(1)).as_deref(),
            Ok(r#"{"a*b":1}"#)
        );
        for value in [json!(null), json!([1]), json!({"a": 1})] {
            let error = update("{}", "a", value).unwrap_err();
            assert!(
                matches!(error, EditError::UnsupportedValue { .. }),
                "{error}"
            );
        }
        let error = update("{\n  \"a\": 1,\n}", "a", json!(2)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid JSON at line 3, column 1: trailing comma"
        );
    }

    #[test]
    fn long_paths_build_deep_values_without_recursion() {
        let key = vec!["a"; 20_000].join(".");
        let text = update("{}", &key, json!(1)).unwrap();
        assert_eq!(text.len(), 20_000 * "{\"a\":}".len() + 1);
        assert!(text.starts_with(r#"{"a":{"a":"#));
        assert!(text.ends_with(&format!(":1{}", "}".repeat(20_000))));
    }

    #[test]
    fn updates_apply_in_order_and_report_lines() {
        let text = "{\n  \"a\": 1,\n  \"b\": 2\n}\n";
        let edited = json_update(
            text,
            &[
                Update::new("b", 3),
                Update::new("c", "x"),
                Update::new("c", "y"),
            ],
        )
        .unwrap();
        assert_eq!(
            edited.text,
            "{\n  \"a\": 1,\n  \"b\": 3,\n  \"c\": \"y\"\n}\n"
        );
        let lines: Vec<usize> = edited.changes.iter().map(|c| c.line).collect();
        assert_eq!(lines, [3, 4, 4]);
    }

    #[test]
    fn commit_messages_quote_every_string() {
        let updates = [
            Update::new("version", "1.2.3"),
            Update::new("n", 42),
            Update::new("ok", false),
        ];
        assert_eq!(
            commit_message("package.json", &updates),
            "Updated package.json\n\n- version: \"1.2.3\"\n- n: 42\n- ok: false"
        );
    }
}
