//! `kustomize-set-image`: `kustomize edit set image` on a kustomization's `images:` list.
//!
//! Kargo's merge rules: each requested image replaces the entry with the same `name` whole
//! (fields it does not set are cleared), except that `*` in `newName`, `newTag` or `digest`
//! keeps the existing entry's value (or clears it when there is none); entries nobody asked for
//! stay; a digest wins over a tag when both are given; the list is sorted by `name` (byte
//! order); each entry is written with `name`, `newName`, `tagSuffix`, `newTag`, `digest` in
//! that order, empty ones left out.
//!
//! Difference from Kargo, which re-marshals the whole file: only the top-level `images:` block
//! is rewritten (or appended when there is none); every other byte of the file, comments
//! included, stays. The block keeps the file's sequence indentation when it had one (Kargo's
//! writer puts `-` at the key's column). Only the first YAML document is read.

use std::collections::BTreeMap;

use gantry_api::yaml::{Content, Entry, Node, Style, parse_stream};

use super::yaml_scalar::plain_or_quoted;
use super::{EditError, line_col};

/// The file names kustomize recognises, in its order of preference.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// One image a step sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageSet {
    /// The `name` the kustomization matches (the image as written in the manifests).
    pub name: String,
    /// The replacement image name; `*` keeps the existing one.
    pub new_name: Option<String>,
    /// The tag; `*` keeps the existing one. Ignored when `digest` is set.
    pub tag: Option<String>,
    /// The digest; `*` keeps the existing one.
    pub digest: Option<String>,
}

/// One entry of a kustomization's `images:` list (empty strings are absent fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KustomizeImage {
    /// `name`.
    pub name: String,
    /// `newName`.
    pub new_name: String,
    /// `tagSuffix`.
    pub tag_suffix: String,
    /// `newTag`.
    pub new_tag: String,
    /// `digest`.
    pub digest: String,
}

/// The result of [`set_images`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagesSet {
    /// The whole new kustomization file.
    pub text: String,
    /// The merged `images:` list as written, sorted by name.
    pub images: Vec<KustomizeImage>,
}

const KEEP: &str = "*";

/// Picks the kustomization file among the names of the regular files in a directory.
pub fn find_kustomization<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<&'static str, EditError> {
    let present: Vec<&str> = names.into_iter().collect();
    let found: Vec<&'static str> = KUSTOMIZATION_FILE_NAMES
        .into_iter()
        .filter(|name| present.contains(name))
        .collect();
    match found.as_slice() {
        [] => Err(EditError::NoKustomization),
        [one] => Ok(one),
        many => Err(EditError::AmbiguousKustomization {
            found: many.iter().map(|name| (*name).to_owned()).collect(),
        }),
    }
}

/// Merges `images` into the kustomization's `images:` list and rewrites only that block.
pub fn set_images(text: &str, images: &[ImageSet]) -> Result<ImagesSet, EditError> {
    let root = first_document(text)?;
    let entries = match &root {
        None => None,
        Some(node) => match &node.content {
            Content::Map(entries) => Some(entries),
            Content::Null => None,
            _ => return Err(shape("the document is not a mapping")),
        },
    };
    if let Some(root) = &root
        && text.as_bytes().get(root.span.start) == Some(&b'{')
    {
        return Err(shape(
            "the document is a flow mapping (`{...}`), which is not supported",
        ));
    }
    let images_entry = entries.and_then(|entries| entries.iter().find(|e| e.key == "images"));
    let existing = match images_entry {
        Some(entry) => read_images(text, &entry.value)?,
        None => Vec::new(),
    };
    if images.is_empty() {
        return Ok(ImagesSet {
            text: text.to_owned(),
            images: existing,
        });
    }
    let merged = merge(&existing, images)?;

    let (start, end, key_column, dash_column) =
        placement(text, root.as_ref(), entries, images_entry)?;
    let mut block = String::new();
    if start > 0 && !text[..start].ends_with('\n') {
        block.push('\n');
    }
    block.push_str(&" ".repeat(key_column));
    block.push_str("images:\n");
    for image in &merged {
        let fields = [
            ("name", &image.name),
            ("newName", &image.new_name),
            ("tagSuffix", &image.tag_suffix),
            ("newTag", &image.new_tag),
            ("digest", &image.digest),
        ];
        let mut first = true;
        for (field, value) in fields.into_iter().filter(|(_, value)| !value.is_empty()) {
            block.push_str(&" ".repeat(dash_column));
            block.push_str(if first { "- " } else { "  " });
            first = false;
            block.push_str(field);
            block.push_str(": ");
            block.push_str(&plain_or_quoted(value, false));
            block.push('\n');
        }
    }
    let mut out = String::with_capacity(text.len() + block.len());
    out.push_str(&text[..start]);
    out.push_str(&block);
    out.push_str(&text[end..]);
    Ok(ImagesSet {
        text: out,
        images: merged,
    })
}

/// Where the `images:` block goes: the byte range it replaces (empty to insert), the column
/// of its key and the column of its items' `-`.
fn placement(
    text: &str,
    root: Option<&Node>,
    entries: Option<&Vec<Entry>>,
    images_entry: Option<&Entry>,
) -> Result<(usize, usize, usize, usize), EditError> {
    let line_start = |offset: usize| text[..offset].rfind('\n').map_or(0, |n| n + 1);
    if let Some(entry) = images_entry {
        let start = line_start(entry.key_span.start);
        if !text[start..entry.key_span.start].trim().is_empty() {
            return Err(shape("`images` does not start its own line"));
        }
        let key_column = entry.key_span.start - start;
        let dash_column = dash_column(text, &entry.value).unwrap_or(key_column);
        let end = line_end(text, entry.value.span.end.max(entry.key_span.end));
        return Ok((start, end, key_column, dash_column));
    }
    // Appended after the last line of the first document's mapping, at its keys' column.
    let column = entries
        .and_then(|entries| entries.first())
        .map_or(0, |first| {
            first.key_span.start - line_start(first.key_span.start)
        });
    let at = match root {
        Some(node) if entries.is_some_and(|entries| !entries.is_empty()) => {
            let content = text[node.span.start..node.span.end].trim_end();
            line_end(text, node.span.start + content.len())
        }
        _ => text.len(),
    };
    Ok((at, at, column, column))
}

/// Kargo's commit message: `Updated <path> to use new image(s)` and one line per image of the
/// merged list (Kargo lists every image of the file, not only the requested ones), sorted by
/// name: `newName` or `name`, then `:tag` and `@digest` when set.
pub fn commit_message(path: &str, images: &[KustomizeImage]) -> String {
    if images.is_empty() {
        return String::new();
    }
    let mut message = format!("Updated {path} to use new image");
    if images.len() > 1 {
        message.push('s');
    }
    message.push('\n');
    let mut sorted: Vec<&KustomizeImage> = images.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for image in sorted {
        let mut reference = if image.new_name.is_empty() {
            image.name.clone()
        } else {
            image.new_name.clone()
        };
        if !image.new_tag.is_empty() {
            reference = format!("{reference}:{}", image.new_tag);
        }
        if !image.digest.is_empty() {
            reference = format!("{reference}@{}", image.digest);
        }
        message.push_str("\n- ");
        message.push_str(&reference);
    }
    message
}

fn shape(reason: &str) -> EditError {
    EditError::Kustomization {
        reason: reason.to_owned(),
    }
}

fn first_document(text: &str) -> Result<Option<Node>, EditError> {
    let (mut documents, error) = parse_stream(text);
    match (documents.is_empty(), error) {
        (true, Some(error)) => {
            let (line, column) = line_col(text, error.span.start);
            Err(EditError::Parse {
                format: "YAML",
                line,
                column,
                message: error.message,
            })
        }
        (true, None) => Ok(None),
        (false, _) => Ok(Some(documents.swap_remove(0).root)),
    }
}

/// The offset just past the line break of the line holding `offset` (or the end of the text).
fn line_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |n| offset + n + 1)
}

/// The column of the `-` before the first item of a block sequence.
fn dash_column(text: &str, value: &Node) -> Option<usize> {
    let first = value.as_seq()?.first()?;
    let line_start = text[..first.span.start].rfind('\n').map_or(0, |n| n + 1);
    let before = &text[line_start..first.span.start];
    let dash = before.find('-')?;
    before[..dash].trim().is_empty().then_some(dash)
}

fn read_images(text: &str, value: &Node) -> Result<Vec<KustomizeImage>, EditError> {
    let items = match &value.content {
        Content::Null => return Ok(Vec::new()),
        Content::Seq(items) => items,
        _ => return Err(shape("`images` is not a list")),
    };
    items
        .iter()
        .map(|item| {
            let Some(entries) = item.as_map() else {
                return Err(shape("an entry of `images` is not a mapping"));
            };
            let mut image = KustomizeImage::default();
            for entry in entries {
                let field = match entry.key.as_str() {
                    "name" => &mut image.name,
                    "newName" => &mut image.new_name,
                    "tagSuffix" => &mut image.tag_suffix,
                    "newTag" => &mut image.new_tag,
                    "digest" => &mut image.digest,
                    _ => continue,
                };
                *field = scalar_text(text, &entry.value)
                    .ok_or_else(|| shape(&format!("`images[].{}` is not a string", entry.key)))?;
            }
            Ok(image)
        })
        .collect()
}

/// A scalar as the string a Go struct field would get; plain numbers keep their text
/// (`newTag: 1.10` is the tag `1.10`).
fn scalar_text(text: &str, node: &Node) -> Option<String> {
    match &node.content {
        Content::Null => Some(String::new()),
        Content::String(s) => Some(s.clone()),
        Content::Seq(_) | Content::Map(_) => None,
        _ if node.style == Style::Plain => {
            text.get(node.span.start..node.span.end).map(str::to_owned)
        }
        Content::Bool(b) => Some(b.to_string()),
        Content::Int(i) => Some(i.to_string()),
        Content::UInt(u) => Some(u.to_string()),
        Content::Float(f) => Some(f.to_string()),
    }
}

fn merge(
    existing: &[KustomizeImage],
    requested: &[ImageSet],
) -> Result<Vec<KustomizeImage>, EditError> {
    let mut targets: BTreeMap<String, KustomizeImage> = BTreeMap::new();
    for image in requested {
        if image.name.is_empty() {
            return Err(shape("an image to set has no name"));
        }
        let digest = image.digest.clone().unwrap_or_default();
        let new_tag = if digest.is_empty() {
            image.tag.clone().unwrap_or_default()
        } else {
            String::new()
        };
        targets.insert(
            image.name.clone(),
            KustomizeImage {
                name: image.name.clone(),
                new_name: image.new_name.clone().unwrap_or_default(),
                tag_suffix: String::new(),
                new_tag,
                digest,
            },
        );
    }
    let requested_names: Vec<String> = targets.keys().cloned().collect();
    for old in existing {
        if requested_names.contains(&old.name) {
            if let Some(target) = targets.get_mut(&old.name) {
                keep_if_asked(&mut target.new_name, &old.new_name);
                keep_if_asked(&mut target.new_tag, &old.new_tag);
                keep_if_asked(&mut target.digest, &old.digest);
            }
        } else {
            targets.insert(old.name.clone(), old.clone());
        }
    }
    Ok(targets
        .into_values()
        .map(|mut image| {
            keep_if_asked(&mut image.new_name, "");
            keep_if_asked(&mut image.new_tag, "");
            keep_if_asked(&mut image.digest, "");
            image
        })
        .collect())
}

fn keep_if_asked(field: &mut String, existing: &str) {
    if field == KEEP {
        existing.clone_into(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(
        name: &str,
        new_name: Option<&str>,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> ImageSet {
        ImageSet {
            name: name.to_owned(),
            new_name: new_name.map(str::to_owned),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        }
    }

    #[test]
    fn only_the_images_block_is_rewritten() {
        let text = "# app overlay\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                    resources:\n  - ../base # shared\nimages:\n  - name: nginx # pinned\n    newTag: 1.0.0\n  \
                    - newName: ghcr.io/org/api\n    name: api\n# trailing comment\nnamePrefix: prod-\n";
        let result = set_images(text, &[set("nginx", None, Some("1.1.0"), None)]).unwrap();
        assert_eq!(
            result.text,
            "# app overlay\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
             resources:\n  - ../base # shared\nimages:\n  - name: api\n    newName: ghcr.io/org/api\n  \
             - name: nginx\n    newTag: 1.1.0\n# trailing comment\nnamePrefix: prod-\n"
        );
        assert_eq!(result.images.len(), 2);
    }

    #[test]
    fn merge_rules_follow_kargo() {
        let text = "images:\n- name: a\n  newName: reg/a\n  newTag: \"1.0\"\n  tagSuffix: -x\n\
                    - name: b\n  digest: sha256:old\n- name: c\n  newTag: v1\n";
        let cases: &[(&[ImageSet], &str)] = &[
            // a requested entry replaces the old one whole
            (
                &[set("a", None, Some("2.0"), None)],
                "images:\n- name: a\n  newTag: \"2.0\"\n- name: b\n  digest: sha256:old\n- name: c\n  newTag: v1\n",
            ),
            // `*` keeps the old field, a digest wins over a tag
            (
                &[set("a", Some("*"), Some("*"), Some("sha256:new"))],
                "images:\n- name: a\n  newName: reg/a\n  digest: sha256:new\n- name: b\n  digest: sha256:old\n- name: c\n  newTag: v1\n",
            ),
            (
                &[set("b", Some("mirror/b"), Some("v2"), Some("*"))],
                "images:\n- name: a\n  newName: reg/a\n  tagSuffix: -x\n  newTag: \"1.0\"\n- name: b\n  newName: mirror/b\n  digest: sha256:old\n- name: c\n  newTag: v1\n",
            ),
            // `*` with nothing to keep clears; new names are sorted in
            (
                &[
                    set("0-first", Some("*"), Some("t"), None),
                    set("bb", None, None, Some("sha256:d")),
                ],
                "images:\n- name: 0-first\n  newTag: t\n- name: a\n  newName: reg/a\n  tagSuffix: -x\n  newTag: \"1.0\"\n- name: b\n  digest: sha256:old\n- name: bb\n  digest: sha256:d\n- name: c\n  newTag: v1\n",
            ),
        ];
        for (requested, want) in cases {
            let got = set_images(text, requested).unwrap();
            assert_eq!(got.text, *want, "{requested:?}");
        }
    }

    #[test]
    fn a_missing_images_block_is_appended() {
        let cases: &[(&str, &str)] = &[
            ("", "images:\n- name: nginx\n  newTag: \"1.25\"\n"),
            (
                "# only a comment\n",
                "# only a comment\nimages:\n- name: nginx\n  newTag: \"1.25\"\n",
            ),
            (
                "resources:\n- a.yaml",
                "resources:\n- a.yaml\nimages:\n- name: nginx\n  newTag: \"1.25\"\n",
            ),
            (
                "resources:\n- a.yaml\n\n# end\n",
                "resources:\n- a.yaml\nimages:\n- name: nginx\n  newTag: \"1.25\"\n\n# end\n",
            ),
            (
                "kind: Kustomization\n---\nother: doc\n",
                "kind: Kustomization\nimages:\n- name: nginx\n  newTag: \"1.25\"\n---\nother: doc\n",
            ),
            ("images:\n", "images:\n- name: nginx\n  newTag: \"1.25\"\n"),
            (
                "images: [] # none yet\nx: 1\n",
                "images:\n- name: nginx\n  newTag: \"1.25\"\nx: 1\n",
            ),
            (
                "images: [{name: nginx, newTag: old}]\n",
                "images:\n- name: nginx\n  newTag: \"1.25\"\n",
            ),
        ];
        for (input, want) in cases {
            let got = set_images(input, &[set("nginx", None, Some("1.25"), None)]).unwrap();
            assert_eq!(got.text, *want, "{input:?}");
        }
    }

    #[test]
    fn no_requested_images_leave_the_file_alone() {
        let text = "images:\n- name: a # keep\n  newTag: 1.10\n";
        let got = set_images(text, &[]).unwrap();
        assert_eq!(got.text, text);
        assert_eq!(
            got.images[0].new_tag, "1.10",
            "plain numbers keep their text"
        );
    }

    #[test]
    fn unusable_kustomizations_are_errors() {
        let cases = [
            ("- a\n", "the document is not a mapping"),
            ("{images: []}\n", "flow mapping"),
            ("images: x\n", "`images` is not a list"),
            ("images:\n- x\n", "not a mapping"),
            ("images:\n- name: [a]\n", "`images[].name` is not a string"),
        ];
        for (text, want) in cases {
            let error = set_images(text, &[set("a", None, Some("1"), None)]).unwrap_err();
            assert!(error.to_string().contains(want), "{text:?}: {error}");
        }
        assert!(matches!(
            set_images("a: [\n", &[set("a", None, Some("1"), None)]),
            Err(EditError::Parse { .. })
        ));
        assert!(set_images("", &[set("", None, Some("1"), None)]).is_err());
    }

    #[test]
    fn commit_messages_list_the_merged_images_sorted() {
        let images = [
            KustomizeImage {
                name: "b".into(),
                new_tag: "v2".into(),
                ..KustomizeImage::default()
            },
            KustomizeImage {
                name: "a".into(),
                new_name: "reg/a".into(),
                new_tag: "1".into(),
                digest: "sha256:x".into(),
                ..KustomizeImage::default()
            },
        ];
        assert_eq!(
            commit_message("overlays/prod", &images),
            "Updated overlays/prod to use new images\n\n- reg/a:1@sha256:x\n- b:v2"
        );
        assert_eq!(
            commit_message("p", &images[..1]),
            "Updated p to use new image\n\n- b:v2"
        );
        assert_eq!(commit_message("p", &[]), "");
    }

    #[test]
    fn the_kustomization_file_is_found_by_name() {
        assert_eq!(
            find_kustomization(["README.md", "kustomization.yaml"]),
            Ok("kustomization.yaml")
        );
        assert_eq!(find_kustomization(["Kustomization"]), Ok("Kustomization"));
        assert_eq!(
            find_kustomization(["values.yaml"]),
            Err(EditError::NoKustomization)
        );
        let error = find_kustomization(["Kustomization", "kustomization.yml"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "more than one kustomization file found: kustomization.yml, Kustomization"
        );
    }
}
