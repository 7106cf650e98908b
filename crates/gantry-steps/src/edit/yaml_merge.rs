//! `yaml-merge`: layer YAML documents into one, the way Helm layers values files.
//!
//! The first input is the base and each later one is laid over it: mappings merge key by key,
//! recursively; anything else (scalars, sequences, a mapping replacing a scalar or the reverse)
//! replaces what was there; a `null` value deletes the key (and `null`s inside a mapping that is
//! added fresh are dropped too, since there is nothing to delete). Only the first document of an
//! input is read and empty inputs are skipped; no input at all gives an empty output.
//!
//! The output is a clean serialisation, not a splice: block style, 2-space indentation with
//! sequences indented under their key, keys in first-seen order, plain scalars written as they
//! were in their file (`0755`, `1.10`, `yes` keep their text and so their meaning), other
//! strings quoted only when a plain scalar would not read back as the same string, multi-line
//! strings as literal blocks. Comments are not kept. Anchors, aliases and `<<` merge keys are
//! expanded. (Kargo's newest implementation instead keeps an explicit `null`, comments and
//! aliases; gantry follows the documented "null deletes" behaviour that Helm users expect.)

use std::collections::HashMap;

use gantry_api::yaml::{Content, Node, Style, parse_stream};

use super::yaml_scalar::{literal_block, plain_or_quoted};
use super::{EditError, line_col};

/// Merges `docs` in order and returns the merged YAML (empty when every input is empty).
pub fn yaml_merge(docs: &[&str]) -> Result<String, EditError> {
    let mut merged: Option<Tree> = None;
    for (index, text) in docs.iter().enumerate() {
        let (mut documents, error) = parse_stream(text);
        if documents.is_empty() {
            if let Some(error) = error {
                let (line, column) = line_col(text, error.span.start);
                return Err(EditError::MergeInput {
                    index,
                    line,
                    column,
                    message: error.message,
                });
            }
            continue;
        }
        let tree = Tree::from_node(text, &documents.swap_remove(0).root);
        merged = Some(match merged {
            None => tree,
            Some(base) => merge(base, tree),
        });
    }
    let mut out = String::new();
    match &merged {
        None => {}
        Some(Tree::Map(entries)) if !entries.is_empty() => write_map(&mut out, entries, 0, false),
        Some(Tree::Seq(items)) if !items.is_empty() => write_seq(&mut out, items, 0, false),
        Some(other) => write_scalar_line(&mut out, other, 2),
    }
    Ok(out)
}

/// A document reduced to what the merge and the output need.
#[derive(Clone, Debug, PartialEq)]
enum Tree {
    /// A scalar, with its source text when it can be written back verbatim.
    Scalar(Content, Option<String>),
    Seq(Vec<Tree>),
    Map(Vec<(Key, Tree)>),
}

#[derive(Clone, Debug, PartialEq)]
struct Key {
    text: String,
    /// Written plain in its file: it can be written the same way again.
    plain: bool,
}

impl Tree {
    fn from_node(text: &str, node: &Node) -> Self {
        match &node.content {
            Content::Seq(items) => {
                Self::Seq(items.iter().map(|i| Self::from_node(text, i)).collect())
            }
            Content::Map(entries) => Self::Map(
                entries
                    .iter()
                    .map(|entry| {
                        let source = text.get(entry.key_span.start..entry.key_span.end);
                        let key = Key {
                            plain: source == Some(entry.key.as_str())
                                && !entry.key.starts_with(['"', '\'', '&', '!', '*', '?'])
                                && !entry.key.contains('\n'),
                            text: entry.key.clone(),
                        };
                        (key, Self::from_node(text, &entry.value))
                    })
                    .collect(),
            ),
            scalar => {
                let source = text
                    .get(node.span.start..node.span.end)
                    .filter(|source| {
                        node.style == Style::Plain
                            && !source.is_empty()
                            && !source.contains(['\n', '\r'])
                            && !source.starts_with(['&', '!', '*'])
                    })
                    .map(str::to_owned);
                Self::Scalar(scalar.clone(), source)
            }
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Self::Scalar(Content::Null, _))
    }
}

/// `over` laid over `base`.
fn merge(base: Tree, over: Tree) -> Tree {
    match (base, over) {
        (Tree::Map(entries), Tree::Map(overrides)) => {
            // Deleted entries leave a hole so that the index stays valid.
            let mut slots: Vec<Option<(Key, Tree)>> = entries.into_iter().map(Some).collect();
            let mut index: HashMap<String, usize> = slots
                .iter()
                .enumerate()
                .filter_map(|(i, slot)| slot.as_ref().map(|(key, _)| (key.text.clone(), i)))
                .collect();
            for (key, value) in overrides {
                match (index.get(&key.text).copied(), value.is_null()) {
                    (Some(p), true) => {
                        slots[p] = None;
                        index.remove(&key.text);
                    }
                    (None, true) => {}
                    (Some(p), false) => {
                        if let Some((old_key, old)) = slots[p].take() {
                            slots[p] = Some((old_key, merge(old, value)));
                        }
                    }
                    (None, false) => {
                        index.insert(key.text.clone(), slots.len());
                        slots.push(Some((key, merge(Tree::Map(Vec::new()), value))));
                    }
                }
            }
            Tree::Map(slots.into_iter().flatten().collect())
        }
        (_, over) => over,
    }
}

const INDENT: usize = 2;

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_map(out: &mut String, entries: &[(Key, Tree)], indent: usize, first_inline: bool) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        if key.plain {
            out.push_str(&key.text);
        } else {
            out.push_str(&plain_or_quoted(&key.text, false));
        }
        out.push(':');
        match value {
            Tree::Map(children) if !children.is_empty() => {
                out.push('\n');
                write_map(out, children, indent + INDENT, false);
            }
            Tree::Seq(items) if !items.is_empty() => {
                out.push('\n');
                write_seq(out, items, indent + INDENT, false);
            }
            scalar => {
                out.push(' ');
                write_scalar_line(out, scalar, indent + INDENT);
            }
        }
    }
}

fn write_seq(out: &mut String, items: &[Tree], indent: usize, first_inline: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        out.push_str("- ");
        match item {
            Tree::Map(entries) if !entries.is_empty() => {
                write_map(out, entries, indent + INDENT, true);
            }
            Tree::Seq(nested) if !nested.is_empty() => {
                write_seq(out, nested, indent + INDENT, true);
            }
            scalar => write_scalar_line(out, scalar, indent + INDENT),
        }
    }
}

/// A scalar (or empty collection) and its line break; multi-line strings become literal blocks
/// with content at `block_indent`.
fn write_scalar_line(out: &mut String, tree: &Tree, block_indent: usize) {
    match tree {
        Tree::Map(_) => out.push_str("{}"),
        Tree::Seq(_) => out.push_str("[]"),
        Tree::Scalar(_, Some(source)) => out.push_str(source),
        Tree::Scalar(Content::String(s), None) => {
            if let Some(block) = literal_block(s, block_indent) {
                out.push_str(&block);
                return;
            }
            out.push_str(&plain_or_quoted(s, false));
        }
        Tree::Scalar(Content::Null | Content::Seq(_) | Content::Map(_), None) => {
            out.push_str("null");
        }
        Tree::Scalar(Content::Bool(b), None) => out.push_str(if *b { "true" } else { "false" }),
        Tree::Scalar(Content::Int(i), None) => out.push_str(&i.to_string()),
        Tree::Scalar(Content::UInt(u), None) => out.push_str(&u.to_string()),
        Tree::Scalar(Content::Float(f), None) => out.push_str(&yaml_float(*f)),
    }
    out.push('\n');
}

fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let mut text = gantry_expr::format_float_g(f);
    if !text.contains(['.', 'e']) {
        text.push_str(".0");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_documents_override_and_deep_merge() {
        // Kargo's own case, with the exact output.
        let base = "\ncharacter:\n  name: Vader\n  ability: Force\n  affiliation: Empire\n  \
                    saberColor: red\nvehicles:\n- Star Destroyer";
        let overlay = "\ncharacter:\n  name: Luke # Alters character.name from the base\n  \
                       # ability: Force\n  affiliation: Rebel Alliance\n  saberColor: blue\n  \
                       siblings: # new\n  - Leia\nvehicles: # replaces\n- Millennium Falcon";
        assert_eq!(
            yaml_merge(&["", base, overlay]).unwrap(),
            "character:\n  name: Luke\n  ability: Force\n  affiliation: Rebel Alliance\n  \
             saberColor: blue\n  siblings:\n    - Leia\nvehicles:\n  - Millennium Falcon\n"
        );
    }

    #[test]
    fn merge_rules_table() {
        let cases: &[(&[&str], &str)] = &[
            (&[], ""),
            (&["", "# only a comment\n"], ""),
            (&["a: 1\n"], "a: 1\n"),
            (&["a: 1\nb: 2\n", "b: null\nc: 3\n"], "a: 1\nc: 3\n"),
            (&["a: 1\n", "b: ~\n"], "a: 1\n"),
            (
                &["a: {x: 1, y: 2}\n", "a: {y: null, z: {k: null, j: 1}}\n"],
                "a:\n  x: 1\n  z:\n    j: 1\n",
            ),
            (&["a: [1, 2]\n", "a: [3]\n"], "a:\n  - 3\n"),
            (&["a: {x: 1}\n", "a: scalar\n"], "a: scalar\n"),
            (&["a: scalar\n", "a: {x: 1}\n"], "a:\n  x: 1\n"),
            (&["a: 1\n", "[1, 2]\n"], "- 1\n- 2\n"),
            (&["a: 1\n", "just text\n"], "just text\n"),
            (&["a: {}\n", "b: []\n"], "a: {}\nb: []\n"),
            (&["a: 1\n---\nb: 2\n", "c: 3\n"], "a: 1\nc: 3\n"),
            (&["keep: null\n"], "keep: null\n"),
        ];
        for (inputs, want) in cases {
            assert_eq!(yaml_merge(inputs).as_deref(), Ok(*want), "{inputs:?}");
        }
    }

    #[test]
    fn scalars_keep_their_meaning() {
        let input = "mode: 0755\nversion: 1.10\nflag: yes\nnull_word: ~\nq: \"1.10\"\n\
                     s: 'it''s'\nempty: ''\ncolon: \"a: b\"\non: push\n\"quoted key\": 1\n\
                     \"yes\": 2\ntagged: !!float 3\nmulti: |\n  line one\n  line two\n\
                     folded: >-\n  a\n  b\nlist:\n- {name: a, v: [1, {x: y}]}\n- - n1\n  - n2\n";
        let want = "mode: 0755\nversion: 1.10\nflag: yes\nnull_word: ~\nq: \"1.10\"\n\
                    s: it's\nempty: \"\"\ncolon: \"a: b\"\non: push\nquoted key: 1\n\
                    \"yes\": 2\ntagged: 3.0\nmulti: |\n  line one\n  line two\n\
                    folded: a b\nlist:\n  - name: a\n    v:\n      - 1\n      - x: y\n  - - n1\n    - n2\n";
        assert_eq!(yaml_merge(&[input]).as_deref(), Ok(want));
        // The output reads back as the same data.
        let reparsed = parse_stream(want).0.remove(0).root.to_json();
        assert_eq!(reparsed, parse_stream(input).0.remove(0).root.to_json());
    }

    #[test]
    fn anchors_and_merge_keys_are_expanded() {
        let input = "base: &b\n  x: 1\nchild:\n  <<: *b\n  y: 2\ncopy: *b\n";
        assert_eq!(
            yaml_merge(&[input]).as_deref(),
            Ok("base:\n  x: 1\nchild:\n  y: 2\n  x: 1\ncopy:\n  x: 1\n")
        );
    }

    #[test]
    fn nested_blocks_are_indented_under_their_parent() {
        let input = "a:\n  - b: |\n      text\n    c: 1\n";
        assert_eq!(
            yaml_merge(&[input]).as_deref(),
            Ok("a:\n  - b: |\n      text\n    c: 1\n")
        );
    }

    #[test]
    fn invalid_inputs_name_their_position() {
        let error = yaml_merge(&["a: 1\n", "b: [1\n"]).unwrap_err();
        let EditError::MergeInput { index, line, .. } = error else {
            panic!("{error:?}");
        };
        assert_eq!((index, line), (1, 2));
    }
}
