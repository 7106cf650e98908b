//! The file-editing logic of the config-manipulation steps: pure functions from text to text.
//!
//! | module | step | what it does |
//! |---|---|---|
//! | [`yaml_update`] | `yaml-update` | splices new scalar values into existing keys, keeping every other byte |
//! | [`json_update`] | `json-update` | tidwall/sjson `set` semantics, edited in place |
//! | [`toml_update`] | `toml-update`, `toml-parse` | splices new scalar values into existing keys |
//! | [`yaml_merge`] | `yaml-merge` | layers documents: maps deep-merge, the rest is replaced, `null` deletes |
//! | [`kustomize_image`] | `kustomize-set-image` | `kustomize edit set image` on the `images:` block only |
//!
//! This module holds what they share: the [`Update`] a step asks for, the [`Edited`] text and
//! the [`EditError`] they return, and Kargo's key-path syntax ([`parse_key`]). Private helpers:
//! `go_format` (Go's `%v`/`%q` and Kargo's "looks like a number, boolean or JSON" test, used in
//! files and commit messages), `yaml_scalar` (writing YAML scalars that read back unchanged)
//! and `json_scan` (byte ranges of a JSON document). Nothing here reads or writes files: the
//! steps do that, inside a [`crate::workdir::WorkDir`].

mod go_format;
mod json_scan;
pub mod json_update;
pub mod kustomize_image;
pub mod toml_update;
pub mod yaml_merge;
mod yaml_scalar;
pub mod yaml_update;

use std::fmt::Write as _;

use serde_json::Value;

pub(crate) use go_format::{go_display, go_quote, is_printable, kargo_quotes};

/// One change a step asks for: set the value at `key`.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    /// The key path, in the step's syntax (see [`parse_key`]; `json-update` uses sjson's).
    pub key: String,
    /// The new value, as it came out of the step config.
    pub value: Value,
}

impl Update {
    /// An update of `key` to `value`.
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The result of a splicing editor: the new text and where it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edited {
    /// The whole new file.
    pub text: String,
    /// One entry per update, in the order given.
    pub changes: Vec<Change>,
}

/// Where one update landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The key as the step gave it.
    pub key: String,
    /// The 1-based line of the value in the input.
    pub line: usize,
}

/// Why an edit failed. Messages never quote file content (it may hold secrets), only keys,
/// positions and types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The key path is not valid syntax.
    #[error("invalid key `{key}`: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing exists at the key path.
    #[error("key path `{key}` not found: {reason}")]
    KeyNotFound {
        /// The key as given.
        key: String,
        /// Which part is missing.
        reason: String,
    },
    /// The key path ends at a mapping, list or table.
    #[error("key path `{key}` addresses {found}, not a scalar value")]
    NotScalar {
        /// The key as given.
        key: String,
        /// What is there ("a mapping", "a list"...).
        found: &'static str,
    },
    /// The key path reaches something this editor cannot change in place.
    #[error("key path `{key}` cannot be edited in place: {reason}")]
    NotEditable {
        /// The key as given.
        key: String,
        /// Why.
        reason: String,
    },
    /// The value cannot be written by this editor.
    #[error("value for key `{key}` is {found}, but {expected}")]
    UnsupportedValue {
        /// The key as given.
        key: String,
        /// The JSON type of the value ("a list", "null"...).
        found: &'static str,
        /// What the editor accepts.
        expected: &'static str,
    },
    /// The input does not parse.
    #[error("invalid {format} at line {line}, column {column}: {message}")]
    Parse {
        /// "YAML", "JSON" or "TOML".
        format: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// One of several `yaml-merge` inputs does not parse.
    #[error("invalid YAML in input {index} at line {line}, column {column}: {message}")]
    MergeInput {
        /// 0-based position of the input in the list.
        index: usize,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A kustomization file whose shape the image setter cannot work with.
    #[error("cannot set images in the kustomization: {reason}")]
    Kustomization {
        /// What is wrong.
        reason: String,
    },
    /// No kustomization file in the directory.
    #[error(
        "no kustomization file found (looked for kustomization.yaml, kustomization.yml, Kustomization)"
    )]
    NoKustomization,
    /// More than one kustomization file in the directory.
    #[error("more than one kustomization file found: {}", found.join(", "))]
    AmbiguousKustomization {
        /// The names found.
        found: Vec<String>,
    },
}

impl EditError {
    /// A one-line suggestion for the user, when there is one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::KeyNotFound { .. } => Some(
                "only existing keys can be updated (as in Kargo, see akuity/kargo#3752); add the key \
                 to the file first, and check the spelling and list indexes of the path",
            ),
            Self::NotScalar { .. } => {
                Some("point the key at a single value, e.g. `image.tag` rather than `image`")
            }
            Self::InvalidKey { .. } => Some(
                "keys are dot-separated; write `\\.` for a literal dot and `\\:` for a literal colon",
            ),
            Self::NotEditable { .. } => {
                Some("update the anchored value itself, or restructure the file without aliases")
            }
            Self::AmbiguousKustomization { .. } => {
                Some("keep exactly one kustomization file in the directory")
            }
            _ => None,
        }
    }
}

/// One segment of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The key or index text, unescaped.
    pub name: String,
    /// Written with a leading `:`: a numeric-looking segment is meant as a mapping key.
    pub forced_key: bool,
}

impl Segment {
    /// The segment as a list index (plain decimal digits), if it is one.
    pub fn index(&self) -> Option<usize> {
        (!self.name.is_empty() && self.name.bytes().all(|b| b.is_ascii_digit()))
            .then(|| self.name.parse().ok())
            .flatten()
    }
}

/// Splits a key path the way Kargo's `SplitKey` does (used by `yaml-update` and `toml-update`):
/// the key is trimmed, `.` separates segments, `\.` and `\:` are a literal dot and colon, an
/// unescaped `:` may only start a segment (it is dropped and marks the segment as a key), and
/// empty segments are errors. Unlike Kargo, a key ending in a lone `\` is an error too (Kargo
/// drops the backslash silently).
pub fn parse_key(key: &str) -> Result<Vec<Segment>, EditError> {
    let invalid = |reason: &str| EditError::InvalidKey {
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = key.trim();
    if trimmed.is_empty() {
        return Err(invalid("the key is empty"));
    }
    let mut segments = Vec::new();
    let mut current = Segment {
        name: String::new(),
        forced_key: false,
    };
    let mut chars = trimmed.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped @ ('.' | ':')) => current.name.push(escaped),
                Some(_) => return Err(invalid("only `\\.` and `\\:` are valid escapes")),
                None => return Err(invalid("the key ends with a lone `\\`")),
            },
            '.' => {
                if current.name.is_empty() {
                    return Err(invalid("it has an empty segment"));
                }
                segments.push(std::mem::replace(
                    &mut current,
                    Segment {
                        name: String::new(),
                        forced_key: false,
                    },
                ));
            }
            ':' => {
                if !current.name.is_empty() {
                    return Err(invalid(
                        "an unescaped `:` may only start a segment (write `\\:` for a literal colon)",
                    ));
                }
                current.forced_key = true;
            }
            other => current.name.push(other),
        }
    }
    if current.name.is_empty() {
        return Err(invalid("it has an empty segment"));
    }
    segments.push(current);
    Ok(segments)
}

/// The key path up to (not including) segment `n`, for messages: `a.b`, or `the root`.
pub(crate) fn path_prefix(segments: &[Segment], n: usize) -> String {
    if n == 0 {
        return "the top level".to_owned();
    }
    let joined = segments[..n]
        .iter()
        .map(|s| s.name.replace('.', "\\."))
        .collect::<Vec<_>>()
        .join(".");
    format!("`{joined}`")
}

/// A JSON value's type, for messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The commit message every `*-update` step writes: `Updated <path>` and one `- key: value`
/// line per update, values formatted by the step.
pub(crate) fn update_commit_message(
    path: &str,
    updates: &[Update],
    format: impl Fn(&Value) -> String,
) -> String {
    if updates.is_empty() {
        return String::new();
    }
    let mut message = format!("Updated {path}\n");
    for update in updates {
        let _ = write!(message, "\n- {}: {}", update.key, format(&update.value));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(key: &str) -> Vec<(String, bool)> {
        parse_key(key)
            .unwrap()
            .into_iter()
            .map(|s| (s.name, s.forced_key))
            .collect()
    }

    #[test]
    fn keys_split_like_kargo_split_key() {
        let cases: &[(&str, &[(&str, bool)])] = &[
            (
                "foo.bar.bat.baz",
                &[
                    ("foo", false),
                    ("bar", false),
                    ("bat", false),
                    ("baz", false),
                ],
            ),
            (
                r"foo\.bar.bat\.baz",
                &[("foo.bar", false), ("bat.baz", false)],
            ),
            (
                r"foo.bar\:bat.baz",
                &[("foo", false), ("bar:bat", false), ("baz", false)],
            ),
            (
                "foo.bar.:2.baz",
                &[("foo", false), ("bar", false), ("2", true), ("baz", false)],
            ),
            (r"example\.com/version", &[("example.com/version", false)]),
            ("  image.tag \n", &[("image", false), ("tag", false)]),
            (
                "containers.0.image",
                &[("containers", false), ("0", false), ("image", false)],
            ),
            ("ünï.cödé", &[("ünï", false), ("cödé", false)]),
        ];
        for (key, want) in cases {
            let want: Vec<(String, bool)> =
                want.iter().map(|(n, f)| ((*n).to_owned(), *f)).collect();
            assert_eq!(names(key), want, "{key}");
        }
    }

    #[test]
    fn malformed_keys_are_rejected_with_the_reason() {
        let cases = [
            ("", "the key is empty"),
            ("   ", "the key is empty"),
            (".foo", "empty segment"),
            ("foo.", "empty segment"),
            ("foo..bar", "empty segment"),
            (r"foo\nbar", "valid escapes"),
            ("foo:bar", "unescaped `:`"),
            ("foo\\", "lone `\\`"),
        ];
        for (key, reason) in cases {
            let error = parse_key(key).unwrap_err();
            assert!(error.to_string().contains(reason), "{key}: {error}");
            assert!(error.hint().is_some());
        }
    }

    #[test]
    fn numeric_segments_are_indexes() {
        let segments = parse_key("a.0.12.x1.-1").unwrap();
        let indexes: Vec<Option<usize>> = segments.iter().map(Segment::index).collect();
        assert_eq!(indexes, [None, Some(0), Some(12), None, None]);
    }

    #[test]
    fn line_and_column_count_characters() {
        let text = "a: 1\nbé: x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 5), (2, 1));
        assert_eq!(line_col(text, 9), (2, 4));
        assert_eq!(line_col(text, 999), (3, 1));
    }

    #[test]
    fn commit_messages_list_every_update() {
        let updates = [Update::new("a.b", "x"), Update::new("c", 1)];
        assert_eq!(
            update_commit_message("values.yaml", &updates, go_display),
            "Updated values.yaml\n\n- a.b: x\n- c: 1"
        );
        assert_eq!(update_commit_message("v.yaml", &[], go_display), "");
    }
}
