//! `yaml-update`: set existing scalar values in a YAML file, keeping every other byte.
//!
//! Kargo's algorithm, which users see in their git diffs: the file is parsed only to find where
//! the scalar at each key starts, and the new value is spliced in there as text. Comments, blank
//! lines, key order and the quoting of everything else stay as they were. Only the first
//! document of a multi-document file is searched (as go-yaml's `Unmarshal` reads only the
//! first); gantry skips documents that hold nothing but comments when picking it.
//!
//! Deliberate differences from Kargo, each of which only changes output that Kargo gets wrong:
//! - a trailing `# comment` on the updated line is kept (Kargo replaces the rest of the line);
//! - only the scalar is replaced, so the rest of a flow collection (`[a, b]`, `{a: 1, b: 2}`)
//!   survives, and several updates on one line all apply (Kargo keeps the last);
//! - multi-line scalars (block `|`/`>`, folded plain or quoted) are replaced whole instead of
//!   leaving their continuation lines behind; a multi-line string written into a block scalar
//!   stays a literal block;
//! - anchors and tags before the value (`&a`, `!!str`) are kept, and keys reached through an
//!   alias or a `<<` merge are refused instead of editing the anchored original;
//! - a string is also double-quoted when its plain form would not read back as the same string
//!   (YAML 1.1 words such as `yes`, `: ` or ` #` inside, a leading indicator, surrounding
//!   spaces, control characters); a value that was single- or double-quoted keeps its quote
//!   style; numbers, booleans and `null` are written bare even where the old value was quoted;
//! - integers print as integers and `null` as `null`; lists and objects as one-line JSON;
//! - an empty value (`key:`) gets ` value` after the colon;
//! - the final-newline state of the input is kept (Kargo always ends the file with `\n`). Like
//!   Kargo, every `\r\n` becomes `\n`.

use gantry_api::yaml::{Content, Node, Style, parse_stream};
use serde_json::Value;

use super::yaml_scalar::{literal_block, plain_is_safe, single_quoted};
use super::{
    Change, EditError, Edited, Segment, Update, go_display, go_quote, kargo_quotes, line_col,
    parse_key, path_prefix, update_commit_message,
};

/// Applies `updates` in order (a later update of the same key wins) and returns the new text.
pub fn yaml_update(text: &str, updates: &[Update]) -> Result<Edited, EditError> {
    let root = first_document(text)?;
    let mut splices: Vec<Splice> = Vec::new();
    let mut changes = Vec::with_capacity(updates.len());
    for update in updates {
        let segments = parse_key(&update.key)?;
        let Some(root) = &root else {
            return Err(EditError::KeyNotFound {
                key: update.key.clone(),
                reason: "the file holds no YAML document".to_owned(),
            });
        };
        let target = locate(text, root, &segments, &update.key)?;
        let splice = splice_for(text, &target, &update.value, &update.key)?;
        changes.push(Change {
            key: update.key.clone(),
            line: line_col(text, splice.start).0,
        });
        splices.retain(|earlier| earlier.start != splice.start);
        splices.push(splice);
    }
    splices.sort_by_key(|splice| std::cmp::Reverse(splice.start));
    let mut out = text.to_owned();
    let mut limit = text.len();
    for splice in &splices {
        if splice.end > limit {
            return Err(EditError::NotEditable {
                key: splice.key.clone(),
                reason: "its value overlaps another updated value".to_owned(),
            });
        }
        out.replace_range(splice.start..splice.end, &splice.text);
        limit = splice.start;
    }
    Ok(Edited {
        text: normalize_line_endings(out),
        changes,
    })
}

/// Kargo's commit message: `Updated <path>` and `- key: value` per update, where a string that
/// looks like a number, boolean or JSON is `%q`-quoted and every other value prints as `%v`.
pub fn commit_message(path: &str, updates: &[Update]) -> String {
    update_commit_message(path, updates, |value| match value {
        Value::String(s) if kargo_quotes(s) => go_quote(s),
        other => go_display(other),
    })
}

fn first_document(text: &str) -> Result<Option<Node>, EditError> {
    let (mut documents, error) = parse_stream(text);
    if documents.is_empty() {
        if let Some(error) = error {
            let (line, column) = line_col(text, error.span.start);
            return Err(EditError::Parse {
                format: "YAML",
                line,
                column,
                message: error.message,
            });
        }
        return Ok(None);
    }
    // An error after the first document is ignored, as go-yaml's `Unmarshal` never reads there.
    Ok(Some(documents.swap_remove(0).root))
}

/// The scalar an update addresses.
struct Target<'a> {
    node: &'a Node,
    /// Inside a flow collection, where `,[]{}` end a plain scalar.
    in_flow: bool,
    /// Where the text that belongs to this node may start (after its key or the previous item).
    lower_bound: usize,
}

fn locate<'a>(
    text: &str,
    root: &'a Node,
    segments: &[Segment],
    key: &str,
) -> Result<Target<'a>, EditError> {
    let not_found = |reason: String| EditError::KeyNotFound {
        key: key.to_owned(),
        reason,
    };
    let through_alias = |at: String| EditError::NotEditable {
        key: key.to_owned(),
        reason: format!("{at} is an alias or comes from a `<<` merge, so its text is elsewhere"),
    };
    let mut node = root;
    let mut in_flow = is_flow(text, root);
    let mut lower_bound = root.span.start;
    for (i, segment) in segments.iter().enumerate() {
        let at = path_prefix(segments, i);
        let here = path_prefix(segments, i + 1);
        match &node.content {
            Content::Map(entries) => {
                let Some(entry) = entries.iter().find(|entry| entry.key == segment.name) else {
                    return Err(not_found(format!("{at} has no key `{}`", segment.name)));
                };
                let merged = entry.key_span.start < node.span.start;
                if merged || entry.value.span.start < entry.key_span.end {
                    return Err(through_alias(here));
                }
                lower_bound = entry.key_span.end;
                node = &entry.value;
            }
            Content::Seq(items) => {
                let Some(index) = segment.index() else {
                    return Err(not_found(format!(
                        "{at} is a list and `{}` is not an index",
                        segment.name
                    )));
                };
                let Some(item) = items.get(index) else {
                    return Err(not_found(format!(
                        "{at} has {} item(s), so index {index} is past its end",
                        items.len()
                    )));
                };
                let previous_end = index
                    .checked_sub(1)
                    .map_or(node.span.start, |p| items[p].span.end);
                if item.span.start < previous_end {
                    return Err(through_alias(here));
                }
                lower_bound = previous_end;
                node = item;
            }
            _ => {
                return Err(not_found(format!(
                    "{at} is {}, which has no key `{}`",
                    node.type_name(),
                    segment.name
                )));
            }
        }
        in_flow |= is_flow(text, node);
    }
    if matches!(node.content, Content::Map(_) | Content::Seq(_)) {
        return Err(EditError::NotScalar {
            key: key.to_owned(),
            found: node.type_name(),
        });
    }
    Ok(Target {
        node,
        in_flow,
        lower_bound,
    })
}

fn is_flow(text: &str, node: &Node) -> bool {
    node.style == Style::Collection
        && matches!(text.as_bytes().get(node.span.start), Some(b'[' | b'{'))
}

/// How the old scalar was written, which decides how the new one is.
enum Written {
    Plain,
    Single,
    Double,
    /// A block scalar: its content indentation and the comment on its header line.
    Block {
        indent: usize,
        comment: String,
    },
    /// No text at all (`key:`): the value is inserted.
    Empty {
        needs_space: bool,
    },
}

struct Splice {
    key: String,
    start: usize,
    end: usize,
    text: String,
}

fn splice_for(
    text: &str,
    target: &Target<'_>,
    value: &Value,
    key: &str,
) -> Result<Splice, EditError> {
    let (start, mut end, written) = region(text, target, key)?;
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    // Kargo drops whatever follows the value on its line; we keep comments and flow syntax
    // but, like Kargo, drop trailing whitespace.
    if text[end..line_end].trim().is_empty() {
        end = line_end;
    }
    let rendered = render(value, &written, target.in_flow);
    if rendered.starts_with("|+") {
        // A kept-newlines block would take the blank lines after the old one as its own: they
        // go, and only the line break before the next line stays.
        let blank = text[end..].len() - text[end..].trim_start().len();
        if let Some(last_break) = text[end..end + blank].rfind('\n') {
            end += last_break;
        }
    }
    Ok(Splice {
        key: key.to_owned(),
        start,
        end,
        text: rendered,
    })
}

/// The byte range of the old scalar's text, and how it was written.
fn region(
    text: &str,
    target: &Target<'_>,
    key: &str,
) -> Result<(usize, usize, Written), EditError> {
    let node = target.node;
    let bytes = text.as_bytes();
    let mut start = node.span.start;
    let end = node.span.end;
    // Skip the node's properties (`&anchor`, `!tag`): they stay.
    while start < end && matches!(bytes[start], b'&' | b'!') {
        while start < end && !bytes[start].is_ascii_whitespace() {
            start += 1;
        }
        while start < end && bytes[start].is_ascii_whitespace() {
            start += 1;
        }
    }
    let broken = || EditError::NotEditable {
        key: key.to_owned(),
        reason: "the parser reported a position that does not hold its value".to_owned(),
    };
    match node.style {
        Style::Block => block_region(text, target, key),
        Style::Quoted if bytes.get(start) == Some(&b'\'') => {
            let mut i = start + 1;
            loop {
                let quote = i + text[i..].find('\'').ok_or_else(broken)?;
                if bytes.get(quote + 1) == Some(&b'\'') {
                    i = quote + 2;
                } else {
                    return Ok((start, quote + 1, Written::Single));
                }
            }
        }
        Style::Quoted if bytes.get(start) == Some(&b'"') => {
            let mut i = start + 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return Ok((start, i + 1, Written::Double)),
                    _ => i += 1,
                }
            }
            Err(broken())
        }
        Style::Quoted | Style::Collection => Err(broken()),
        Style::Plain if start >= end => {
            let at = if bytes.get(start) == Some(&b':') {
                start + 1
            } else {
                start
            };
            let needs_space = !matches!(at.checked_sub(1).map(|p| bytes[p]), Some(b' ' | b'\t'));
            Ok((at, at, Written::Empty { needs_space }))
        }
        Style::Plain => {
            let trimmed = start + text[start..end].trim_end().len();
            Ok((start, trimmed, Written::Plain))
        }
    }
}

/// A block scalar runs from its `|`/`>` header to the end of its last non-blank content line.
fn block_region(
    text: &str,
    target: &Target<'_>,
    key: &str,
) -> Result<(usize, usize, Written), EditError> {
    let bytes = text.as_bytes();
    let missing = || EditError::NotEditable {
        key: key.to_owned(),
        reason: "the block scalar's `|` or `>` header was not found".to_owned(),
    };
    // Between the key (or previous item) and the header there can only be `:`, `-`, `?`,
    // properties, whitespace and comments.
    let mut i = target.lower_bound;
    let indicator = loop {
        match bytes.get(i) {
            Some(b'|' | b'>') => break i,
            Some(b':' | b'-' | b'?' | b' ' | b'\t' | b'\r' | b'\n') => i += 1,
            Some(b'&' | b'!') => {
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            Some(b'#') => i += text[i..].find('\n').ok_or_else(missing)?,
            _ => return Err(missing()),
        }
    };
    let mut header_end = indicator + 1;
    while header_end < bytes.len() && matches!(bytes[header_end], b'+' | b'-' | b'1'..=b'9') {
        header_end += 1;
    }
    let header_line_end = text[header_end..]
        .find('\n')
        .map_or(text.len(), |n| header_end + n);
    let comment = text[header_end..header_line_end]
        .trim_end_matches('\r')
        .trim_end()
        .to_owned();
    let content_start = target.node.span.start.max(header_line_end);
    let content = text
        .get(content_start..target.node.span.end)
        .unwrap_or_default();
    let content_end = content_start + content.trim_end().len();
    let (end, indent) = if content.trim().is_empty() {
        (header_line_end, 2)
    } else {
        let first_line = content.lines().find(|line| !line.trim().is_empty());
        let indent = first_line.map_or(2, |line| line.len() - line.trim_start().len());
        // The content may start at its first non-blank character: count from the line start.
        let line_start = text[..content_start].rfind('\n').map_or(0, |n| n + 1);
        let leading = text[line_start..content_start]
            .bytes()
            .take_while(|b| *b == b' ')
            .count();
        (content_end, indent.max(leading))
    };
    Ok((indicator, end, Written::Block { indent, comment }))
}

fn render(value: &Value, written: &Written, in_flow: bool) -> String {
    match (value, written) {
        (Value::String(s), Written::Block { indent, comment }) => {
            if let Some(block) = literal_block(s, *indent) {
                // The original line break after the last content line stays.
                let block = block.strip_suffix('\n').unwrap_or(&block);
                let (header, lines) = block.split_once('\n').unwrap_or((block, ""));
                format!("{header}{comment}\n{lines}")
            } else {
                format!("{}{comment}", plain_or_kargo_quoted(s, in_flow))
            }
        }
        (Value::String(s), Written::Single) => single_quoted(s).unwrap_or_else(|| go_quote(s)),
        (Value::String(s), Written::Double) => go_quote(s),
        (Value::String(s), Written::Empty { needs_space: true }) => {
            format!(" {}", plain_or_kargo_quoted(s, in_flow))
        }
        (Value::String(s), _) => plain_or_kargo_quoted(s, in_flow),
        (other, Written::Block { comment, .. }) => format!("{}{comment}", go_display(other)),
        (other, Written::Empty { needs_space: true }) => format!(" {}", go_display(other)),
        (other, _) => go_display(other),
    }
}

fn plain_or_kargo_quoted(s: &str, in_flow: bool) -> String {
    if kargo_quotes(s) || !plain_is_safe(s, in_flow) {
        go_quote(s)
    } else {
        s.to_owned()
    }
}

/// Every line ends with `\n`, as Kargo re-emits lines; the final-newline state is kept.
fn normalize_line_endings(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    let mut out = text.replace("\r\n", "\n");
    if out.ends_with('\r') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn update(text: &str, updates: &[(&str, Value)]) -> Result<String, EditError> {
        let updates: Vec<Update> = updates
            .iter()
            .map(|(key, value)| Update::new(*key, value.clone()))
            .collect();
        yaml_update(text, &updates).map(|edited| edited.text)
    }

    #[test]
    fn values_are_spliced_in_like_kargo() {
        // (input, key, value, expected output): Kargo's own cases and the common shapes.
        let cases: &[(&str, &str, Value, &str)] = &[
            (
                "\ncharacters:\n- name: Anakin\n  affiliation: Light side\n",
                "characters.0.affiliation",
                json!("Dark side"),
                "\ncharacters:\n- name: Anakin\n  affiliation: Dark side\n",
            ),
            (
                "\ncharacters:\n- name: Arthur Dent\n  answer: idk\n",
                "characters.0.answer",
                json!(42),
                "\ncharacters:\n- name: Arthur Dent\n  answer: 42\n",
            ),
            (
                "\ncharacters:\n- name: Arthur Dent\n  answer: idk\n",
                "characters.0.answer",
                json!("42"),
                "\ncharacters:\n- name: Arthur Dent\n  answer: \"42\"\n",
            ),
            (
                "example.com/version: v1.0.0\nconfigs:\n  example.com/feature: false\n",
                r"configs.example\.com/feature",
                json!(true),
                "example.com/version: v1.0.0\nconfigs:\n  example.com/feature: true\n",
            ),
            (
                "services:\n  - example.com/label: old-value\n    name: my-service\n",
                r"services.0.example\.com/label",
                json!("new-value"),
                "services:\n  - example.com/label: new-value\n    name: my-service\n",
            ),
            (
                "# top comment\n\nimage:\n  # the tag\n  tag: v1   \n  pullPolicy: 'Always'\n",
                "image.tag",
                json!("v2"),
                "# top comment\n\nimage:\n  # the tag\n  tag: v2\n  pullPolicy: 'Always'\n",
            ),
            ("a: 1\n", "a", json!(1.5), "a: 1.5\n"),
            ("a: 1\n", "a", json!(1_000_000.0), "a: 1e+06\n"),
            ("a: 1\n", "a", json!(1_000_000), "a: 1000000\n"),
            ("a: x\n", "a", json!(null), "a: null\n"),
            ("a: x\n", "a", json!(["p", 2]), "a: [\"p\", 2]\n"),
            ("a: x\n", "a", json!({"k": "v"}), "a: {\"k\": \"v\"}\n"),
            ("a: x\n", "a", json!("true"), "a: \"true\"\n"),
            (
                "a: x\n",
                "a",
                json!("{\"j\": 1}"),
                "a: \"{\\\"j\\\": 1}\"\n",
            ),
            ("a: x\n", "a", json!(""), "a: \"\"\n"),
            ("a: x\n", "a", json!("unicode ✓"), "a: unicode ✓\n"),
            (
                "list:\n  - a\n  - b\n",
                "list.1",
                json!("c"),
                "list:\n  - a\n  - c\n",
            ),
            (
                "a:\n  b:\n    c: 1\n",
                ":a.b.:c",
                json!(2),
                "a:\n  b:\n    c: 2\n",
            ),
            ("'q k': 1\n", "q k", json!(2), "'q k': 2\n"),
        ];
        for (input, key, value, want) in cases {
            let got = update(input, &[(key, value.clone())]);
            assert_eq!(got.as_deref(), Ok(*want), "{key} = {value} in {input:?}");
        }
    }

    #[test]
    fn improvements_over_kargo_keep_the_file_valid() {
        let cases: &[(&str, &str, Value, &str)] = &[
            // trailing comments survive
            (
                "tag: v1 # pinned\n",
                "tag",
                json!("v2"),
                "tag: v2 # pinned\n",
            ),
            (
                "tag: 'v1'  # pinned\n",
                "tag",
                json!("v2"),
                "tag: 'v2'  # pinned\n",
            ),
            (
                "tag: \"v1\"\t# pinned\n",
                "tag",
                json!("v2"),
                "tag: \"v2\"\t# pinned\n",
            ),
            // quote style is kept; single quotes double inner quotes
            ("a: 'x'\n", "a", json!("it's"), "a: 'it''s'\n"),
            ("a: 'x'\n", "a", json!("two\nlines"), "a: \"two\\nlines\"\n"),
            ("a: \"x\"\n", "a", json!("v2"), "a: \"v2\"\n"),
            ("a: \"3\"\n", "a", json!(4), "a: 4\n"),
            // strings that would not read back are quoted
            ("a: x\n", "a", json!("yes"), "a: \"yes\"\n"),
            ("a: x\n", "a", json!("1_000"), "a: \"1_000\"\n"),
            ("a: x\n", "a", json!("a: b"), "a: \"a: b\"\n"),
            ("a: x\n", "a", json!("x #y"), "a: \"x #y\"\n"),
            ("a: x\n", "a", json!("*star"), "a: \"*star\"\n"),
            ("a: x\n", "a", json!(" padded"), "a: \" padded\"\n"),
            ("a: x\n", "a", json!("two\nlines"), "a: \"two\\nlines\"\n"),
            ("a: x\n", "a", json!("2024-01-02"), "a: \"2024-01-02\"\n"),
            // flow collections keep their other items
            ("a: [x, y, z]\n", "a.1", json!("w"), "a: [x, w, z]\n"),
            ("a: [x, y]\n", "a.0", json!("p,q"), "a: [\"p,q\", y]\n"),
            (
                "m: {k: v, j: w}\n",
                "m.k",
                json!("new"),
                "m: {k: new, j: w}\n",
            ),
            ("m: {k: v}\n", "m.k", json!("n"), "m: {k: \"n\"}\n"),
            // multi-line scalars are replaced whole
            (
                "a: plain\n  continued\nb: 1\n",
                "a",
                json!("x"),
                "a: x\nb: 1\n",
            ),
            (
                "a: 'quoted\n  continued'\nb: 1\n",
                "a",
                json!("x"),
                "a: 'x'\nb: 1\n",
            ),
            (
                "a: |\n  one\n  two\n\nb: 1\n",
                "a",
                json!("x"),
                "a: x\n\nb: 1\n",
            ),
            (
                "a: >- # folded\n  one\n  two\nb: 1\n",
                "a",
                json!("x"),
                "a: x # folded\nb: 1\n",
            ),
            (
                "a: |\n    one\nb: 1\n",
                "a",
                json!("new\ntext\n"),
                "a: |\n    new\n    text\nb: 1\n",
            ),
            (
                "- |-\n  one\n- x\n",
                "0",
                json!("a\nb"),
                "- |-\n  a\n  b\n- x\n",
            ),
            ("k:\n  |\n  text\nz: 1\n", "k", json!(7), "k:\n  7\nz: 1\n"),
            (
                "a: |\n  x\n\n\nb: 1\n",
                "a",
                json!("k\n\n"),
                "a: |+\n  k\n\nb: 1\n",
            ),
            // anchors and tags stay
            ("a: &x 1\nb: 2\n", "a", json!(3), "a: &x 3\nb: 2\n"),
            ("a: !!str 1\n", "a", json!("2"), "a: !!str \"2\"\n"),
            // empty values get a value
            ("a:\nb: 1\n", "a", json!("x"), "a: x\nb: 1\n"),
            ("a:   # note\n", "a", json!("x"), "a: x   # note\n"),
            ("l:\n- \n-\n", "l.1", json!("x"), "l:\n- \n- x\n"),
            // line endings: CRLF becomes LF, the missing final newline stays missing
            ("a: 1\r\nb: 2\r\n", "b", json!(3), "a: 1\nb: 3\n"),
            ("a: 1\nb: 2", "b", json!(3), "a: 1\nb: 3"),
        ];
        for (input, key, value, want) in cases {
            let got = update(input, &[(key, value.clone())]);
            assert_eq!(got.as_deref(), Ok(*want), "{key} = {value} in {input:?}");
        }
    }

    #[test]
    fn several_updates_apply_together_and_the_last_of_one_key_wins() {
        let text = "m: {a: 1, b: 2}\nimage:\n  repo: r\n  tag: t\n";
        let got = update(
            text,
            &[
                ("m.a", json!(10)),
                ("m.b", json!(20)),
                ("image.tag", json!("v1")),
                ("image.tag", json!("v2")),
            ],
        );
        assert_eq!(
            got.as_deref(),
            Ok("m: {a: 10, b: 20}\nimage:\n  repo: r\n  tag: v2\n")
        );
        let edited = yaml_update(text, &[Update::new("image.tag", "x")]).unwrap();
        assert_eq!(
            edited.changes,
            [Change {
                key: "image.tag".to_owned(),
                line: 4
            }]
        );
    }

    #[test]
    fn only_the_first_document_is_searched() {
        let text = "a: 1\n---\nb: 2\n---\n{bad\n";
        assert_eq!(
            update(text, &[("a", json!(5))]).as_deref(),
            Ok("a: 5\n---\nb: 2\n---\n{bad\n")
        );
        let error = update(text, &[("b", json!(5))]).unwrap_err();
        assert!(matches!(error, EditError::KeyNotFound { .. }), "{error}");
    }

    #[test]
    fn missing_keys_and_collections_are_errors_that_say_why() {
        let text = "characters:\n  rebels:\n  - name: Skywalker\n";
        let cases = [
            (
                "characters.imperials",
                "key path `characters.imperials` not found: `characters` has no key `imperials`",
            ),
            (
                "characters.rebels.first.name",
                "`characters.rebels` is a list and `first` is not an index",
            ),
            (
                "characters.rebels.3",
                "`characters.rebels` has 1 item(s), so index 3 is past its end",
            ),
            (
                "characters.rebels.0.name.x",
                "`characters.rebels.0.name` is a string, which has no key `x`",
            ),
            (
                "characters.rebels",
                "key path `characters.rebels` addresses a list, not a scalar value",
            ),
            ("characters", "addresses a mapping"),
            ("nope", "the top level has no key `nope`"),
        ];
        for (key, want) in cases {
            let error = update(text, &[(key, json!(1))]).unwrap_err();
            assert!(error.to_string().contains(want), "{key}: {error}");
            assert!(error.hint().is_some(), "{key}");
        }
    }

    #[test]
    fn aliases_and_merged_keys_are_refused() {
        let text = "base: &b {tag: v1}\nprod: *b\nmerged:\n  <<: *b\n  own: 1\nl: [&i 1, *i]\nv: &s x\nw: *s\n";
        for key in ["prod.tag", "merged.tag", "l.1", "w"] {
            let error = update(text, &[(key, json!("v2"))]).unwrap_err();
            assert!(
                matches!(error, EditError::NotEditable { .. }),
                "{key}: {error}"
            );
        }
        assert!(update(text, &[("merged.own", json!(2))]).is_ok());
        assert!(update(text, &[("base.tag", json!("v2"))]).is_ok());
    }

    #[test]
    fn invalid_yaml_is_reported_with_its_position() {
        let text = "characters:\n- name: Anakin\n\taffiliation: Light side\n";
        let error = update(text, &[("characters.0.name", json!("x"))]).unwrap_err();
        let EditError::Parse { line, .. } = error else {
            panic!("{error:?}");
        };
        // The scanner stops at the end of the line before the tab.
        assert_eq!(line, 2);
        assert!(matches!(
            update("", &[("a", json!(1))]),
            Err(EditError::KeyNotFound { .. })
        ));
        assert!(matches!(
            update("a: 1\n", &[("a..b", json!(1))]),
            Err(EditError::InvalidKey { .. })
        ));
    }

    #[test]
    fn no_updates_keep_the_text_except_line_endings() {
        assert_eq!(update("a: 1 # c\n", &[]).as_deref(), Ok("a: 1 # c\n"));
        assert_eq!(update("a: 1\r\n", &[]).as_deref(), Ok("a: 1\n"));
    }

    #[test]
    fn commit_messages_quote_like_kargo() {
        let updates = [
            Update::new("image.tag", "v1.2.3"),
            Update::new("replicas", 3),
            Update::new("version", "42"),
            Update::new("enabled", "true"),
            Update::new("ratio", 0.5),
            Update::new("word", "yes"),
        ];
        assert_eq!(
            commit_message("charts/values.yaml", &updates),
            "Updated charts/values.yaml\n\n- image.tag: v1.2.3\n- replicas: 3\n- version: \"42\"\n- \
             enabled: \"true\"\n- ratio: 0.5\n- word: yes"
        );
    }
}
