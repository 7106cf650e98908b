//! Source files and positions.
//!
//! A [`SourceFile`] holds the text of one file as read, with a line index for turning byte
//! offsets into 1-based line and column numbers, and the byte ranges that must never be shown
//! (Secret values, credentials inside URLs). Renderers use [`SourceFile::redacted_text`], which
//! has the same length and line layout as the original, so every span stays valid.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::redact;
use crate::yaml::Span;

/// One file that was loaded.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    name: String,
    text: String,
    line_starts: Vec<usize>,
    hidden: Vec<Span>,
}

impl SourceFile {
    /// A file whose text was read from `path`; `name` is how it is shown to users.
    pub fn new(path: impl Into<PathBuf>, name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let hidden = redact::url_credentials(&text);
        Self {
            path: path.into(),
            name: name.into(),
            text,
            line_starts,
            hidden,
        }
    }

    /// The path it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name shown to users (relative to what they passed on the command line).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw text. Never print it whole: use [`SourceFile::redacted_text`].
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Marks a range as secret: it is masked in [`SourceFile::redacted_text`].
    pub fn hide(&mut self, span: Span) {
        self.hidden.push(span);
    }

    /// The text with every secret range masked by `*`, byte for byte (multi-byte characters are
    /// masked as a whole), so offsets and line breaks are unchanged.
    pub fn redacted_text(&self) -> Cow<'_, str> {
        if self.hidden.is_empty() {
            return Cow::Borrowed(&self.text);
        }
        let mut bytes = self.text.as_bytes().to_vec();
        for span in &self.hidden {
            let end = span.end.min(bytes.len());
            let Some(range) = bytes.get_mut(span.start..end) else {
                continue;
            };
            for byte in range {
                if *byte != b'\n' {
                    *byte = b'*';
                }
            }
        }
        // Masking whole UTF-8 sequences keeps the text valid; a span that cut a character
        // in half would not, so fall back to a lossy conversion in that case.
        Cow::Owned(
            String::from_utf8(bytes)
                .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
        )
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        };
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line + 1, column + 1)
    }

    /// Byte offset of the start of a 1-based line.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line.checked_sub(1)?).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let file = SourceFile::new("a.yaml", "a.yaml", "ab\nçd: x\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        assert_eq!(file.line_col(file.text().find('x').unwrap()), (2, 5));
    }

    #[test]
    fn redaction_keeps_length_and_lines() {
        let text = "url: https://user:s3cret@git.example/repo.git\nnext: 1\n";
        let file = SourceFile::new("a.yaml", "a.yaml", text);
        let shown = file.redacted_text();
        assert_eq!(shown.len(), text.len());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("next: 1"));
    }
}
