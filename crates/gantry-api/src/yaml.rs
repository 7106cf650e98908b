//! A YAML tree that remembers where every node came from.
//!
//! gantry reads Kubernetes-style YAML the way Kubernetes tooling does (`sigs.k8s.io/yaml`, which
//! sits on go-yaml v2): YAML 1.1 scalar typing for plain scalars (`yes`/`on` are booleans, `0755`
//! is octal, `1.10` is the float `1.1`), merge keys (`<<`), anchors and aliases, and duplicate
//! keys rejected. Every node keeps its byte [`Span`] in the source text so that validation can
//! point at the exact line and column of a field.
//!
//! The tree is built from `saphyr-parser` events without recursion, with limits on nesting depth
//! and on alias expansion, so no input can exhaust the stack or memory.
//!
//! Start at [`parse_stream`]. This module does no I/O.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

/// Nesting deeper than this is rejected (Kubernetes objects are far shallower).
pub const MAX_DEPTH: usize = 128;
/// Total nodes one document may expand to, aliases included ("billion laughs" guard).
pub const MAX_NODES: usize = 1_000_000;

/// A byte range `start..end` in a source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte (inclusive).
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes).
    pub fn new(start: usize, end: usize) -> Self {
        Self {
            start,
            end: end.max(start),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// How a node was written in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A plain (unquoted) scalar: subject to YAML 1.1 typing.
    Plain,
    /// A single- or double-quoted scalar: always a string.
    Quoted,
    /// A literal (`|`) or folded (`>`) block scalar: always a string.
    Block,
    /// A sequence or a mapping.
    Collection,
}

/// One node of the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node is in the source.
    pub span: Span,
    /// How it was written.
    pub style: Style,
    /// What it holds.
    pub content: Content,
}

/// The value of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// `null`, `~` or nothing.
    Null,
    /// A boolean (YAML 1.1 words included).
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A float (may be infinite or NaN: `.inf`, `.nan`).
    Float(f64),
    /// A string.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<Entry>),
}

/// One key/value pair of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key as a string (non-string scalar keys are stringified as Kubernetes does).
    pub key: String,
    /// Where the key is.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

/// A YAML syntax or structure error at a position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// What is wrong, starting lowercase.
    pub message: String,
    /// Where.
    pub span: Span,
}

/// One document of a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Its root node.
    pub root: Node,
}

impl Node {
    /// The entries if this node is a mapping.
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.content {
            Content::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items if this node is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.content {
            Content::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The string if this node is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.content {
            Content::String(s) => Some(s),
            _ => None,
        }
    }

    /// The entry for `key` if this node is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|entry| entry.key == key)
    }

    /// The value for `key` if this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|entry| &entry.value)
    }

    /// A short name of the node's type for messages ("a string", "a mapping"...).
    pub fn type_name(&self) -> &'static str {
        match &self.content {
            Content::Null => "null",
            Content::Bool(_) => "a boolean",
            Content::Int(_) | Content::UInt(_) => "an integer",
            Content::Float(_) => "a number",
            Content::String(_) => "a string",
            Content::Seq(_) => "a list",
            Content::Map(_) => "a mapping",
        }
    }

    /// Converts the tree into JSON, the way `sigs.k8s.io/yaml` does. Non-finite floats, which
    /// JSON cannot hold, become strings (`.inf`, `-.inf`, `.nan`).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.content {
            Content::Null => J::Null,
            Content::Bool(b) => J::Bool(*b),
            Content::Int(i) => J::from(*i),
            Content::UInt(u) => J::from(*u),
            Content::Float(f) => serde_json::Number::from_f64(*f).map_or_else(
                || {
                    J::String(if f.is_nan() {
                        ".nan".to_owned()
                    } else if *f > 0.0 {
                        ".inf".to_owned()
                    } else {
                        "-.inf".to_owned()
                    })
                },
                J::Number,
            ),
            Content::String(s) => J::String(s.clone()),
            Content::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Content::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|entry| (entry.key.clone(), entry.value.to_json()))
                    .collect(),
            ),
        }
    }

    fn count(&self) -> usize {
        match &self.content {
            Content::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Content::Map(entries) => 1 + entries.iter().map(|e| e.value.count()).sum::<usize>(),
            _ => 1,
        }
    }
}

/// Maps the parser's character indices to byte offsets.
struct Offsets {
    /// Empty when the text is ASCII (index == offset).
    bytes: Vec<usize>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let bytes = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        Self {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.bytes.is_empty() {
            char_index.min(self.len)
        } else {
            self.bytes.get(char_index).copied().unwrap_or(self.len)
        }
    }

    fn span(&self, span: saphyr_parser::Span) -> Span {
        Span::new(self.byte(span.start.index()), self.byte(span.end.index()))
    }
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<(String, Span, bool)>,
        merges: Vec<Node>,
        /// Key → entry index, built once a mapping is large enough for linear duplicate
        /// checks to matter (values files with thousands of keys).
        index: Option<HashMap<String, usize>>,
    },
}

/// Mappings with more entries than this get a key index for duplicate detection.
const INDEX_AT: usize = 32;

struct Builder<'a> {
    offsets: &'a Offsets,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
}

impl Builder<'_> {
    fn fail(message: impl Into<String>, span: Span) -> YamlError {
        YamlError {
            message: message.into(),
            span,
        }
    }

    fn push(&mut self, node: Node, anchor: usize, raw: Option<&str>) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Self::fail(
                format!("document expands to more than {MAX_NODES} nodes"),
                node.span,
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                key,
                merges,
                index,
                ..
            }) => match key.take() {
                None => {
                    let is_merge = node.style == Style::Plain && node.as_str() == Some("<<");
                    // Plain keys keep their text: `on:` stays "on", as users mean it.
                    let text = match raw {
                        Some(raw) => raw.to_owned(),
                        None => key_text(&node)?,
                    };
                    *key = Some((text, node.span, is_merge));
                    Ok(())
                }
                Some((_, _, true)) => {
                    merges.push(node);
                    Ok(())
                }
                Some((text, key_span, false)) => {
                    if index.is_none() && entries.len() >= INDEX_AT {
                        *index = Some(
                            entries
                                .iter()
                                .enumerate()
                                .map(|(i, entry)| (entry.key.clone(), i))
                                .collect(),
                        );
                    }
                    let existing = match index {
                        Some(index) => index.get(&text).map(|i| &entries[*i]),
                        None => entries.iter().find(|entry| entry.key == text),
                    };
                    if let Some(first) = existing {
                        let line_hint = first.key_span.start;
                        return Err(YamlError {
                            message: format!(
                                "duplicate key `{text}` in a mapping (first defined at byte {line_hint})"
                            ),
                            span: key_span,
                        });
                    }
                    if let Some(index) = index {
                        index.insert(text.clone(), entries.len());
                    }
                    entries.push(Entry {
                        key: text,
                        key_span,
                        value: node,
                    });
                    Ok(())
                }
            },
        }
    }

    fn finish_map(
        start: usize,
        end: usize,
        mut entries: Vec<Entry>,
        merges: Vec<Node>,
    ) -> Result<Node, YamlError> {
        for merge in merges {
            let sources: Vec<&Node> = match &merge.content {
                Content::Map(_) => vec![&merge],
                Content::Seq(items) => items.iter().collect(),
                _ => {
                    return Err(Self::fail(
                        "a merge key `<<` needs a mapping or a list of mappings",
                        merge.span,
                    ));
                }
            };
            for source in sources {
                let Content::Map(source_entries) = &source.content else {
                    return Err(Self::fail(
                        "a merge key `<<` needs a mapping or a list of mappings",
                        source.span,
                    ));
                };
                for entry in source_entries {
                    if !entries.iter().any(|e| e.key == entry.key) {
                        entries.push(entry.clone());
                    }
                }
            }
        }
        Ok(Node {
            span: Span::new(start, end),
            style: Style::Collection,
            content: Content::Map(entries),
        })
    }
}

fn key_text(node: &Node) -> Result<String, YamlError> {
    Ok(match &node.content {
        Content::String(s) => s.clone(),
        Content::Null => "null".to_owned(),
        Content::Bool(b) => b.to_string(),
        Content::Int(i) => i.to_string(),
        Content::UInt(u) => u.to_string(),
        Content::Float(f) => f.to_string(),
        Content::Seq(_) | Content::Map(_) => {
            return Err(YamlError {
                message: "complex mapping keys (a list or mapping used as a key) are not supported"
                    .to_owned(),
                span: node.span,
            });
        }
    })
}

fn scan_error(offsets: &Offsets, error: &ScanError) -> YamlError {
    let at = offsets.byte(error.marker().index());
    YamlError {
        message: error.info().to_owned(),
        span: Span::new(at, at),
    }
}

/// Parses every document of a YAML stream.
///
/// Returns the documents read before the first error, and that error if there was one. Empty
/// documents (only comments, or `---` with nothing after it) are skipped.
pub fn parse_stream(text: &str) -> (Vec<Document>, Option<YamlError>) {
    let offsets = Offsets::new(text);
    let mut documents = Vec::new();
    let mut builder = Builder {
        offsets: &offsets,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
    };
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(pair) => pair,
            Err(error) => return (documents, Some(scan_error(&offsets, &error))),
        };
        if let Err(error) = handle(&mut builder, &mut documents, event, span) {
            return (documents, Some(error));
        }
    }
    (documents, None)
}

fn handle(
    builder: &mut Builder<'_>,
    documents: &mut Vec<Document>,
    event: Event<'_>,
    span: saphyr_parser::Span,
) -> Result<(), YamlError> {
    let here = builder.offsets.span(span);
    match event {
        Event::DocumentStart(_) => {
            builder.anchors.clear();
            builder.nodes = 0;
            builder.root = None;
        }
        Event::DocumentEnd => {
            if let Some(root) = builder.root.take()
                && root.content != Content::Null
            {
                documents.push(Document { root });
            }
        }
        Event::Scalar(value, style, anchor, tag) => {
            let node = scalar(&value, style, tag.as_deref(), here)?;
            builder.push(node, anchor, Some(&value))?;
        }
        Event::Alias(id) => {
            let Some(target) = builder.anchors.get(&id) else {
                return Err(Builder::fail("alias to an unknown anchor", here));
            };
            let size = target.count();
            if builder.nodes + size > MAX_NODES {
                return Err(Builder::fail(
                    format!("aliases expand the document beyond {MAX_NODES} nodes"),
                    here,
                ));
            }
            builder.nodes += size.saturating_sub(1);
            let node = target.clone();
            builder.push(node, 0, None)?;
        }
        Event::SequenceStart(anchor, _) => {
            if builder.stack.len() >= MAX_DEPTH {
                return Err(Builder::fail(
                    format!("nesting deeper than {MAX_DEPTH} levels"),
                    here,
                ));
            }
            builder.stack.push(Frame::Seq {
                start: here.start,
                anchor,
                items: Vec::new(),
            });
        }
        Event::MappingStart(anchor, _) => {
            if builder.stack.len() >= MAX_DEPTH {
                return Err(Builder::fail(
                    format!("nesting deeper than {MAX_DEPTH} levels"),
                    here,
                ));
            }
            builder.stack.push(Frame::Map {
                start: here.start,
                anchor,
                entries: Vec::new(),
                key: None,
                merges: Vec::new(),
                index: None,
            });
        }
        Event::SequenceEnd => {
            let Some(Frame::Seq {
                start,
                anchor,
                items,
            }) = builder.stack.pop()
            else {
                return Err(Builder::fail("unbalanced end of sequence", here));
            };
            let end = items.last().map_or(here.end, |last| last.span.end);
            let node = Node {
                span: Span::new(start, end),
                style: Style::Collection,
                content: Content::Seq(items),
            };
            builder.push(node, anchor, None)?;
        }
        Event::MappingEnd => {
            let Some(Frame::Map {
                start,
                anchor,
                entries,
                key,
                merges,
                ..
            }) = builder.stack.pop()
            else {
                return Err(Builder::fail("unbalanced end of mapping", here));
            };
            if let Some((text, key_span, _)) = key {
                return Err(Builder::fail(
                    format!("key `{text}` has no value"),
                    key_span,
                ));
            }
            let end = entries
                .iter()
                .map(|entry| entry.value.span.end)
                .chain(merges.iter().map(|node| node.span.end))
                .max()
                .unwrap_or(here.end)
                .max(start);
            let node = Builder::finish_map(start, end, entries, merges)?;
            builder.push(node, anchor, None)?;
        }
        Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
    }
    Ok(())
}

fn scalar(
    value: &str,
    style: ScalarStyle,
    tag: Option<&saphyr_parser::Tag>,
    span: Span,
) -> Result<Node, YamlError> {
    let node_style = match style {
        ScalarStyle::Plain => Style::Plain,
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
        ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
    };
    let core_tag = tag
        .filter(|tag| tag.is_yaml_core_schema())
        .map(|tag| tag.suffix.as_str());
    let content = match core_tag {
        Some("str" | "binary" | "timestamp") => Content::String(value.to_owned()),
        Some("null") => Content::Null,
        Some("bool") => match resolve_plain(value) {
            Content::Bool(b) => Content::Bool(b),
            _ => {
                return Err(YamlError {
                    message: format!("`{value}` is tagged !!bool but is not a boolean"),
                    span,
                });
            }
        },
        Some("int") => match resolve_plain(value) {
            content @ (Content::Int(_) | Content::UInt(_)) => content,
            _ => {
                return Err(YamlError {
                    message: format!("`{value}` is tagged !!int but is not an integer"),
                    span,
                });
            }
        },
        Some("float") => match resolve_plain(value) {
            Content::Float(f) => Content::Float(f),
            #[expect(clippy::cast_precision_loss, reason = "YAML asked for a float")]
            Content::Int(i) => Content::Float(i as f64),
            _ => {
                return Err(YamlError {
                    message: format!("`{value}` is tagged !!float but is not a number"),
                    span,
                });
            }
        },
        _ if node_style == Style::Plain => resolve_plain(value),
        _ => Content::String(value.to_owned()),
    };
    Ok(Node {
        span,
        style: node_style,
        content,
    })
}

/// Resolves a plain scalar with go-yaml v2's (YAML 1.1) rules, as Kubernetes tooling does.
pub fn resolve_plain(text: &str) -> Content {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Content::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Content::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Content::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Content::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Content::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Content::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return Content::String(text.to_owned());
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(int) = parse_go_int(&plain) {
        if let Ok(i) = i64::try_from(int) {
            return Content::Int(i);
        }
        if let Ok(u) = u64::try_from(int) {
            return Content::UInt(u);
        }
    }
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return Content::Float(f);
    }
    Content::String(text.to_owned())
}

/// Go's `strconv.ParseInt(s, 0, 64)` prefixes: `0x`, `0o`, `0b`, and a leading `0` for octal.
fn parse_go_int(s: &str) -> Option<i128> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) || body.len() > 40 {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    let value = if negative { -magnitude } else { magnitude };
    (i128::from(i64::MIN)..=i128::from(u64::MAX))
        .contains(&value)
        .then_some(value)
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let (mut docs, error) = parse_stream(text);
        assert_eq!(error, None, "{text}");
        assert_eq!(docs.len(), 1, "{text}");
        docs.remove(0).root
    }

    #[test]
    fn plain_scalars_follow_yaml_1_1_typing_like_kubernetes_tools() {
        let cases: &[(&str, Content)] = &[
            ("1.10", Content::Float(1.1)),
            ("1.2.3", Content::String("1.2.3".into())),
            ("0755", Content::Int(493)),
            ("0x1f", Content::Int(31)),
            ("1_000", Content::Int(1000)),
            ("08", Content::Float(8.0)),
            ("yes", Content::Bool(true)),
            ("Off", Content::Bool(false)),
            ("~", Content::Null),
            ("1e3", Content::Float(1000.0)),
            ("v1.2.3", Content::String("v1.2.3".into())),
            ("-12", Content::Int(-12)),
            ("18446744073709551615", Content::UInt(u64::MAX)),
            ("+", Content::String("+".into())),
            (".", Content::String(".".into())),
        ];
        for (text, want) in cases {
            assert_eq!(&resolve_plain(text), want, "{text}");
        }
    }

    #[test]
    fn quoted_and_tagged_scalars_stay_strings() {
        let root = one("a: \"1.10\"\nb: '42'\nc: !!str 7\nd: |\n  x\n");
        assert_eq!(root.get("a").unwrap().as_str(), Some("1.10"));
        assert_eq!(root.get("b").unwrap().as_str(), Some("42"));
        assert_eq!(root.get("c").unwrap().as_str(), Some("7"));
        assert_eq!(root.get("d").unwrap().as_str(), Some("x\n"));
        assert_eq!(root.get("a").unwrap().style, Style::Quoted);
    }

    #[test]
    fn spans_are_byte_offsets_even_after_multibyte_text() {
        let text = "# héllo wörld\nkey: välue\nnext: 1\n";
        let root = one(text);
        let entry = root.entry("next").unwrap();
        assert_eq!(&text[entry.key_span.start..entry.key_span.end], "next");
        let value = root.get("key").unwrap();
        assert_eq!(&text[value.span.start..value.span.end], "välue");
    }

    #[test]
    fn merge_keys_fill_only_missing_keys() {
        let root = one("base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n");
        let child = root.get("child").unwrap();
        assert_eq!(
            child.to_json(),
            serde_json::json!({"y": 3, "x": 1}),
            "explicit keys win over merged ones"
        );
    }

    #[test]
    fn duplicate_keys_are_found_in_large_mappings_too() {
        let mut text = (0..100).fold(String::new(), |mut text, i| {
            use std::fmt::Write as _;
            let _ = writeln!(text, "k{i}: {i}");
            text
        });
        text.push_str("k7: again\n");
        let (_, error) = parse_stream(&text);
        let error = error.expect("duplicate key");
        assert!(
            error.message.contains("duplicate key `k7`"),
            "{}",
            error.message
        );
        let (documents, error) = parse_stream(&text[..text.len() - 10]);
        assert!(error.is_none());
        assert_eq!(documents[0].root.as_map().map(<[Entry]>::len), Some(100));
    }

    #[test]
    fn duplicate_keys_are_rejected_at_the_second_key() {
        let text = "a: 1\nb: 2\na: 3\n";
        let (_, error) = parse_stream(text);
        let error = error.unwrap();
        assert!(error.message.contains("duplicate key `a`"));
        assert_eq!(error.span.start, 10);
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let (docs, error) = parse_stream("---\na: 1\n---\n# only a comment\n---\nb: 2\n");
        assert_eq!(error, None);
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            let items = vec![format!("*a{p}"); 10].join(", ");
            std::fmt::Write::write_fmt(&mut text, format_args!("a{i}: &a{i} [{items}]\n")).unwrap();
        }
        let (_, error) = parse_stream(&text);
        assert!(error.unwrap().message.contains("nodes"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = "[".repeat(10_000);
        let (_, error) = parse_stream(&text);
        assert!(error.is_some());
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let text = "a: 1\nb: [1, 2\n";
        let (_, error) = parse_stream(text);
        let error = error.unwrap();
        assert!(error.span.start > 5, "{error:?}");
    }
}
