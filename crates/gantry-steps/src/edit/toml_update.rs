//! `toml-update` and `toml-parse`: set existing scalar values in a TOML file, keeping every
//! other byte; read a TOML file as JSON.
//!
//! As in Kargo, the file is parsed only to find the byte range of the scalar at each key
//! (`toml_edit` keeps spans), and the new value replaces exactly that range: comments, spacing,
//! key order and the quoting of everything else are untouched. Keys use Kargo's syntax
//! ([`super::parse_key`]): a segment names a table key or, inside an array or an array of tables
//! (`[[x]]`), a 0-based index. The key must exist and hold a scalar (string, integer, float,
//! boolean or date-time); creating keys is not supported, as in Kargo.
//!
//! Values are written the way Kargo's encoder (go-toml v2) writes them: strings as literal
//! `'...'` unless they contain `'` or control characters (then basic `"..."` with escapes),
//! booleans and numbers bare. One difference: Kargo decodes every config number as a float and
//! so writes `3` as `3.0`; gantry writes integers as integers and floats with a `.0` when they
//! have no fraction.

use std::fmt::Write as _;

use serde_json::Value;
use toml_edit::{Array, ArrayOfTables, Document, InlineTable, Item, Table};

use super::{
    Change, EditError, Edited, Segment, Update, json_type, line_col, parse_key, path_prefix,
    update_commit_message,
};

/// Applies `updates` in order (a later update of the same key wins) and returns the new text.
pub fn toml_update(text: &str, updates: &[Update]) -> Result<Edited, EditError> {
    let document = parse(text)?;
    let mut splices: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut changes = Vec::with_capacity(updates.len());
    for update in updates {
        let segments = parse_key(&update.key)?;
        let span = locate(document.as_table(), &segments, &update.key)?;
        let replacement = format_value(&update.key, &update.value)?;
        changes.push(Change {
            key: update.key.clone(),
            line: line_col(text, span.start).0,
        });
        splices.retain(|(earlier, _)| earlier.start != span.start);
        splices.push((span, replacement));
    }
    splices.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.to_owned();
    for (span, replacement) in splices {
        out.replace_range(span, &replacement);
    }
    Ok(Edited { text: out, changes })
}

/// Reads a TOML document as JSON (keys in document order). Date-times become their RFC 3339
/// text; `nan` and `inf` floats, which JSON cannot hold, become the strings `nan`, `inf`, `-inf`.
pub fn toml_parse(text: &str) -> Result<Value, EditError> {
    let document = parse(text)?;
    Ok(table_to_json(document.as_table()))
}

/// Kargo's `toml-update` commit message: `- key: value` with the value as written to the file
/// (so strings appear in single quotes).
pub fn commit_message(path: &str, updates: &[Update]) -> String {
    update_commit_message(path, updates, |value| {
        format_value("", value).unwrap_or_else(|_| super::go_display(value))
    })
}

fn parse(text: &str) -> Result<Document<&str>, EditError> {
    Document::parse(text).map_err(|error| {
        let (line, column) = line_col(text, error.span().map_or(0, |span| span.start));
        EditError::Parse {
            format: "TOML",
            line,
            column,
            message: error.message().trim_end().to_owned(),
        }
    })
}

/// Where the walk is: toml_edit has a different type for each kind of container.
#[derive(Clone, Copy)]
enum At<'a> {
    Table(&'a Table),
    InlineTable(&'a InlineTable),
    Array(&'a Array),
    ArrayOfTables(&'a ArrayOfTables),
    Scalar(&'a toml_edit::Value),
}

impl<'a> At<'a> {
    fn of_item(item: &'a Item) -> Option<Self> {
        match item {
            Item::None => None,
            Item::Value(value) => Some(Self::of_value(value)),
            Item::Table(table) => Some(Self::Table(table)),
            Item::ArrayOfTables(array) => Some(Self::ArrayOfTables(array)),
        }
    }

    fn of_value(value: &'a toml_edit::Value) -> Self {
        match value {
            toml_edit::Value::Array(array) => Self::Array(array),
            toml_edit::Value::InlineTable(table) => Self::InlineTable(table),
            scalar => Self::Scalar(scalar),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Table(_) => "a table",
            Self::InlineTable(_) => "an inline table",
            Self::Array(_) => "an array",
            Self::ArrayOfTables(_) => "an array of tables",
            Self::Scalar(toml_edit::Value::String(_)) => "a string",
            Self::Scalar(toml_edit::Value::Integer(_)) => "an integer",
            Self::Scalar(toml_edit::Value::Float(_)) => "a float",
            Self::Scalar(toml_edit::Value::Boolean(_)) => "a boolean",
            Self::Scalar(_) => "a date-time",
        }
    }
}

fn locate(
    root: &Table,
    segments: &[Segment],
    key: &str,
) -> Result<std::ops::Range<usize>, EditError> {
    let not_found = |reason: String| EditError::KeyNotFound {
        key: key.to_owned(),
        reason,
    };
    let mut at = At::Table(root);
    for (i, segment) in segments.iter().enumerate() {
        let here = path_prefix(segments, i);
        let missing_key = || not_found(format!("{here} has no key `{}`", segment.name));
        let index = || {
            segment.index().ok_or_else(|| {
                not_found(format!(
                    "{here} is {} and `{}` is not an index",
                    at.describe(),
                    segment.name
                ))
            })
        };
        let past_end = |index: usize, len: usize| {
            not_found(format!(
                "{here} has {len} item(s), so index {index} is past its end"
            ))
        };
        at = match at {
            At::Table(table) => table
                .get(&segment.name)
                .and_then(At::of_item)
                .ok_or_else(missing_key)?,
            At::InlineTable(table) => table
                .get(&segment.name)
                .map(At::of_value)
                .ok_or_else(missing_key)?,
            At::Array(array) => {
                let index = index()?;
                array
                    .get(index)
                    .map(At::of_value)
                    .ok_or_else(|| past_end(index, array.len()))?
            }
            At::ArrayOfTables(array) => {
                let index = index()?;
                array
                    .get(index)
                    .map(At::Table)
                    .ok_or_else(|| past_end(index, array.len()))?
            }
            At::Scalar(_) => {
                return Err(not_found(format!(
                    "{here} is {}, which has no key `{}`",
                    at.describe(),
                    segment.name
                )));
            }
        };
    }
    match at {
        At::Scalar(value) => value.span().ok_or_else(|| EditError::NotEditable {
            key: key.to_owned(),
            reason: "the parser kept no position for its value".to_owned(),
        }),
        other => Err(EditError::NotScalar {
            key: key.to_owned(),
            found: other.describe(),
        }),
    }
}

/// A scalar as go-toml v2 encodes it.
fn format_value(key: &str, value: &Value) -> Result<String, EditError> {
    let unsupported = |expected| EditError::UnsupportedValue {
        key: key.to_owned(),
        found: json_type(value),
        expected,
    };
    match value {
        Value::String(s) => Ok(toml_string(s)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i.to_string())
            } else if n.is_u64() {
                Err(unsupported(
                    "TOML integers are limited to 64-bit signed values",
                ))
            } else {
                let mut text = format!("{}", n.as_f64().unwrap_or_default());
                if !text.contains('.') {
                    text.push_str(".0");
                }
                Ok(text)
            }
        }
        _ => Err(unsupported(
            "toml-update writes only strings, numbers and booleans",
        )),
    }
}

/// A literal string when it can hold `s`, else a basic string with escapes.
fn toml_string(s: &str) -> String {
    let needs_basic = s
        .chars()
        .any(|c| c == '\'' || (c.is_ascii_control() && c != '\t'));
    if !needs_basic {
        return format!("'{s}'");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn table_to_json(table: &Table) -> Value {
    Value::Object(
        table
            .iter()
            .filter_map(|(key, item)| item_to_json(item).map(|value| (key.to_owned(), value)))
            .collect(),
    )
}

fn item_to_json(item: &Item) -> Option<Value> {
    match item {
        Item::None => None,
        Item::Value(value) => Some(value_to_json(value)),
        Item::Table(table) => Some(table_to_json(table)),
        Item::ArrayOfTables(array) => Some(Value::Array(array.iter().map(table_to_json).collect())),
    }
}

fn value_to_json(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => {
            let f = *f.value();
            serde_json::Number::from_f64(f).map_or_else(
                || {
                    Value::String(
                        if f.is_nan() {
                            "nan"
                        } else if f > 0.0 {
                            "inf"
                        } else {
                            "-inf"
                        }
                        .to_owned(),
                    )
                },
                Value::Number,
            )
        }
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(array) => Value::Array(array.iter().map(value_to_json).collect()),
        toml_edit::Value::InlineTable(table) => Value::Object(
            table
                .iter()
                .map(|(key, value)| (key.to_owned(), value_to_json(value)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn update(text: &str, key: &str, value: Value) -> Result<String, EditError> {
        toml_update(text, &[Update::new(key, value)]).map(|edited| edited.text)
    }

    #[test]
    fn scalars_are_replaced_byte_for_byte() {
        // Kargo's own cases first.
        let cases: &[(&str, &str, Value, &str)] = &[
            (
                "title = \"old\"\nactive = true\n",
                "title",
                json!("new"),
                "title = 'new'\nactive = true\n",
            ),
            (
                "title = \"old\" # keep me\nactive = true\n",
                "title",
                json!("new"),
                "title = 'new' # keep me\nactive = true\n",
            ),
            (
                "\"example.com/version\" = \"1.0.0\"\n",
                r"example\.com/version",
                json!("2.0.0"),
                "\"example.com/version\" = '2.0.0'\n",
            ),
            (
                "values = [1, 2, 3]\n",
                "values.1",
                json!(42),
                "values = [1, 42, 3]\n",
            ),
            (
                "service = { name = \"api\", port = 8080 }\n",
                "service.port",
                json!(9090),
                "service = { name = \"api\", port = 9090 }\n",
            ),
            (
                "[[services]]\nname = \"api\"\nport = 8080\n\n[[services]]\nname = \"web\"\nport = 8081\n",
                "services.1.port",
                json!(9090),
                "[[services]]\nname = \"api\"\nport = 8080\n\n[[services]]\nname = \"web\"\nport = 9090\n",
            ),
            (
                "[a.b]\nc = 1 # n\n",
                "a.b.c",
                json!(2.5),
                "[a.b]\nc = 2.5 # n\n",
            ),
            ("a.b.c = 1\n", "a.b.c", json!(3.0), "a.b.c = 3.0\n"),
            ("x = 1\n", "x", json!(true), "x = true\n"),
            ("x = 'a'\n", "x", json!("it's"), "x = \"it's\"\n"),
            ("x = 'a'\n", "x", json!("tab\there"), "x = 'tab\there'\n"),
            (
                "x = 'a'\n",
                "x",
                json!("l1\nl2\u{1}"),
                "x = \"l1\\nl2\\u0001\"\n",
            ),
            (
                "x = 'a'\n",
                "x",
                json!("back\\slash"),
                "x = 'back\\slash'\n",
            ),
            (
                "x = \"\"\"\nmulti\n\"\"\"\ny = 1\n",
                "x",
                json!("one"),
                "x = 'one'\ny = 1\n",
            ),
            (
                "d = 1979-05-27T07:32:00Z\n",
                "d",
                json!("later"),
                "d = 'later'\n",
            ),
            ("x = 1\r\ny = 2\r\n", "y", json!(3), "x = 1\r\ny = 3\r\n"),
        ];
        for (input, key, value, want) in cases {
            assert_eq!(
                update(input, key, value.clone()).as_deref(),
                Ok(*want),
                "{key} in {input:?}"
            );
        }
    }

    #[test]
    fn several_updates_apply_and_report_lines() {
        let text = "a = 1\n[t]\nb = 2\nc = [1, 2]\n";
        let edited = toml_update(
            text,
            &[
                Update::new("t.c.0", 9),
                Update::new("a", 0),
                Update::new("t.b", 7),
                Update::new("t.b", 8),
            ],
        )
        .unwrap();
        assert_eq!(edited.text, "a = 0\n[t]\nb = 8\nc = [9, 2]\n");
        let lines: Vec<usize> = edited.changes.iter().map(|c| c.line).collect();
        assert_eq!(lines, [4, 1, 3, 3]);
    }

    #[test]
    fn missing_keys_tables_and_bad_values_are_errors() {
        let text = "[service]\nname = \"api\"\nports = [1]\n[[s]]\nx = 1\n";
        let cases = [
            ("service", "addresses a table, not a scalar value"),
            ("service.ports", "addresses an array"),
            ("s", "addresses an array of tables"),
            (
                "missing",
                "key path `missing` not found: the top level has no key `missing`",
            ),
            (
                "service.ports.1",
                "has 1 item(s), so index 1 is past its end",
            ),
            ("s.x", "`s` is an array of tables and `x` is not an index"),
            (
                "service.name.x",
                "`service.name` is a string, which has no key `x`",
            ),
        ];
        for (key, want) in cases {
            let error = update(text, key, json!("v")).unwrap_err();
            assert!(error.to_string().contains(want), "{key}: {error}");
        }
        for value in [json!(null), json!([1]), json!({"a": 1}), json!(u64::MAX)] {
            let error = update("x = 1\n", "x", value).unwrap_err();
            assert!(
                matches!(error, EditError::UnsupportedValue { .. }),
                "{error}"
            );
        }
        let error = update("key = \n", "key", json!(1)).unwrap_err();
        let EditError::Parse { line, column, .. } = error else {
            panic!("{error:?}");
        };
        assert_eq!((line, column), (1, 7));
    }

    #[test]
    fn documents_parse_to_json_in_order() {
        let text = "title = 'T'\nn = 1\nf = 1.5\ninf = inf\nd = 1979-05-27\n[owner]\nname = \"x\"\n\
                    tags = [\"a\", { k = true }]\n[[items]]\nid = 1\n[[items]]\nid = 2\n";
        assert_eq!(
            toml_parse(text).unwrap(),
            json!({
                "title": "T", "n": 1, "f": 1.5, "inf": "inf", "d": "1979-05-27",
                "owner": {"name": "x", "tags": ["a", {"k": true}]},
                "items": [{"id": 1}, {"id": 2}],
            })
        );
        assert!(matches!(
            toml_parse("a = [\n"),
            Err(EditError::Parse { .. })
        ));
    }

    #[test]
    fn commit_messages_show_values_as_written() {
        let updates = [
            Update::new("title", "new"),
            Update::new("port", 9090),
            Update::new("on", true),
        ];
        assert_eq!(
            commit_message("config.toml", &updates),
            "Updated config.toml\n\n- title: 'new'\n- port: 9090\n- on: true"
        );
    }
}
