//! The byte ranges of every value, key and member of a JSON document, so that `json-update`
//! can splice new text in and leave the rest of the file as it was. It expects text that
//! serde_json has already validated and only records positions; on anything else it returns
//! `None` rather than guessing.

/// One JSON value with its byte range.
pub(crate) struct JsonNode {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) kind: JsonKind,
}

impl Member {
    /// Whether the member's key, unescaped, is `name` (keys are only unescaped when they hold
    /// a `\\`, so a lookup in a large object allocates nothing).
    pub(crate) fn has_key(&self, text: &str, name: &str) -> bool {
        let raw = &text[self.key_start..self.key_end];
        let inner = &raw[1..raw.len() - 1];
        if inner.contains('\\') {
            serde_json::from_str::<String>(raw).is_ok_and(|key| key == name)
        } else {
            inner == name
        }
    }
}

pub(crate) enum JsonKind {
    /// A string, number, boolean or null.
    Scalar,
    /// An object's members in document order.
    Object(Vec<Member>),
    /// An array's items.
    Array(Vec<JsonNode>),
}

pub(crate) struct Member {
    pub(crate) key_start: usize,
    pub(crate) key_end: usize,
    pub(crate) value: JsonNode,
}

/// A scanner over JSON that serde_json has already validated: it only records positions.
pub(crate) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    /// The document's root value, or `None` if the text is not valid JSON.
    pub(crate) fn document(mut self) -> Option<JsonNode> {
        self.skip_whitespace();
        self.value()
    }

    fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && matches!(bytes[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn value(&mut self) -> Option<JsonNode> {
        let start = self.pos;
        let kind = match self.peek()? {
            b'{' => {
                self.pos += 1;
                let mut members = Vec::new();
                loop {
                    self.skip_whitespace();
                    match self.peek()? {
                        b'}' => break,
                        b',' => self.pos += 1,
                        _ => {
                            let key_start = self.pos;
                            self.string()?;
                            let key_end = self.pos;
                            self.skip_whitespace();
                            self.pos += 1; // the colon
                            self.skip_whitespace();
                            let value = self.value()?;
                            members.push(Member {
                                key_start,
                                key_end,
                                value,
                            });
                        }
                    }
                }
                self.pos += 1;
                JsonKind::Object(members)
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_whitespace();
                    match self.peek()? {
                        b']' => break,
                        b',' => self.pos += 1,
                        _ => items.push(self.value()?),
                    }
                }
                self.pos += 1;
                JsonKind::Array(items)
            }
            b'"' => {
                self.string()?;
                JsonKind::Scalar
            }
            _ => {
                let bytes = self.text.as_bytes();
                while self.pos < bytes.len()
                    && !matches!(
                        bytes[self.pos],
                        b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'
                    )
                {
                    self.pos += 1;
                }
                JsonKind::Scalar
            }
        };
        Some(JsonNode {
            start,
            end: self.pos,
            kind,
        })
    }

    fn string(&mut self) -> Option<()> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        self.pos += 1;
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => self.pos += 1,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_and_key_has_its_byte_range() {
        let text = " {\"a\" : [1, \"x,]\\\"\", {}], \"b\":null} ";
        let root = Scanner::new(text).document().unwrap();
        assert_eq!((root.start, root.end), (1, text.len() - 1));
        let JsonKind::Object(members) = &root.kind else {
            panic!("not an object");
        };
        assert!(members[0].has_key(text, "a") && members[1].has_key(text, "b"));
        assert!(!members[0].has_key(text, "b"));
        assert_eq!(&text[members[0].key_start..members[0].key_end], "\"a\"");
        let JsonKind::Array(items) = &members[0].value.kind else {
            panic!("not an array");
        };
        let raw: Vec<&str> = items.iter().map(|i| &text[i.start..i.end]).collect();
        assert_eq!(raw, ["1", "\"x,]\\\"\"", "{}"]);
        assert_eq!(&text[members[1].value.start..members[1].value.end], "null");
    }

    #[test]
    fn escaped_keys_are_compared_unescaped() {
        let text = r#"{"k\u0041": 1, "q\"": 2}"#;
        let root = Scanner::new(text).document().unwrap();
        let JsonKind::Object(members) = &root.kind else {
            panic!("not an object");
        };
        assert!(members[0].has_key(text, "kA"));
        assert!(members[1].has_key(text, "q\""));
    }

    #[test]
    fn truncated_text_gives_none() {
        for text in ["{\"a\": [1", "\"open", "{\"a\""] {
            assert!(Scanner::new(text).document().is_none(), "{text}");
        }
    }
}
