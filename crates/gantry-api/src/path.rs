//! Field paths (`spec.steps[2].config.path`) and looking them up in a [`Node`] tree.

use std::fmt;

use crate::yaml::{Node, Span};

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path from a document root to a field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The empty path (the document root).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// Parses `spec.steps[2].config` (keys may not contain `.` or `[`; use [`FieldPath::key`]
    /// for those).
    pub fn parse(text: &str) -> Self {
        let mut segments = Vec::new();
        for part in text.split('.').filter(|part| !part.is_empty()) {
            let mut rest = part;
            if let Some(bracket) = rest.find('[') {
                if bracket > 0 {
                    segments.push(Segment::Key(rest[..bracket].to_owned()));
                }
                rest = &rest[bracket..];
                while let Some(stripped) = rest.strip_prefix('[') {
                    let close = stripped.find(']').unwrap_or(stripped.len());
                    if let Ok(index) = stripped[..close].parse() {
                        segments.push(Segment::Index(index));
                    }
                    rest = stripped.get(close + 1..).unwrap_or("");
                }
            } else {
                segments.push(Segment::Key(rest.to_owned()));
            }
        }
        Self(segments)
    }

    /// This path with a key appended.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        Self(segments)
    }

    /// This path with an index appended.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// The last key, if the path ends in one.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last()? {
            Segment::Key(key) => Some(key),
            Segment::Index(_) => None,
        }
    }

    /// The path without its last segment.
    #[must_use]
    pub fn parent(&self) -> Self {
        let mut segments = self.0.clone();
        segments.pop();
        Self(segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in &self.0 {
            match segment {
                Segment::Key(key) => {
                    if key.contains(['.', '[', ']', ' ']) || key.is_empty() {
                        write!(f, "[{key:?}]")?;
                    } else {
                        if !first {
                            f.write_str(".")?;
                        }
                        f.write_str(key)?;
                    }
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// The node at `path`, if it exists.
pub fn node_at<'a>(root: &'a Node, path: &FieldPath) -> Option<&'a Node> {
    let mut node = root;
    for segment in &path.0 {
        node = match segment {
            Segment::Key(key) => node.get(key)?,
            Segment::Index(index) => node.as_seq()?.get(*index)?,
        };
    }
    Some(node)
}

/// The best span for pointing at `path`: the value if it exists, else the nearest existing
/// ancestor (so a missing field points at the object that lacks it).
pub fn value_span(root: &Node, path: &FieldPath) -> Span {
    let mut node = root;
    for segment in &path.0 {
        let next = match segment {
            Segment::Key(key) => node.get(key),
            Segment::Index(index) => node.as_seq().and_then(|items| items.get(*index)),
        };
        match next {
            Some(next) => node = next,
            None => break,
        }
    }
    node.span
}

/// The span of the key that ends `path` (for "unknown field" findings), falling back to
/// [`value_span`].
pub fn key_span(root: &Node, path: &FieldPath) -> Span {
    if let Some(Segment::Key(key)) = path.0.last()
        && let Some(entry) = node_at(root, &path.parent()).and_then(|parent| parent.entry(key))
    {
        return entry.key_span;
    }
    value_span(root, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        let path = FieldPath::parse("spec.steps[2].config.path");
        assert_eq!(path.to_string(), "spec.steps[2].config.path");
        assert_eq!(
            FieldPath::root()
                .key("metadata")
                .key("kargo.akuity.io/x")
                .to_string(),
            "metadata[\"kargo.akuity.io/x\"]"
        );
    }

    #[test]
    fn lookup_falls_back_to_the_nearest_ancestor() {
        let (docs, _) = crate::yaml::parse_stream("spec:\n  steps:\n  - uses: x\n");
        let root = &docs[0].root;
        let step = node_at(root, &FieldPath::parse("spec.steps[0]")).unwrap();
        assert_eq!(
            value_span(root, &FieldPath::parse("spec.steps[0].config")),
            step.span
        );
        assert!(node_at(root, &FieldPath::parse("spec.steps[1]")).is_none());
    }
}
