//! Tokens of expr-lang source, with byte spans.

use crate::error::{Error, ErrorKind, Span};

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    /// An identifier or a word operator (`not`, `in`, `matches`, ...).
    Ident(String),
    /// `#`, `#index`, `#acc` (the name without `#`; empty for `#`).
    Pointer(String),
    /// Punctuation and symbol operators.
    Op(&'static str),
    Eof,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

const OPERATORS: [&str; 32] = [
    "**", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "..", "+", "-", "*", "/", "%", "^", "<",
    ">", "!", "?", ":", ".", ",", "(", ")", "[", "]", "{", "}", "|", ";", "=",
];

/// Splits source into tokens. `offset` is added to every span (the expression's position in its
/// template string).
pub(crate) fn tokenize(src: &str, offset: usize) -> Result<Vec<Token>, Error> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let span = |start: usize, end: usize| Span::new(offset + start, offset + end);
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let Some(end) = src[i + 2..].find("*/") else {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    "unclosed comment: `/*` without `*/`",
                    span(i, bytes.len()),
                ));
            };
            i += 2 + end + 2;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (tok, end) = number(src, i)
                .map_err(|m| Error::new(ErrorKind::Syntax, m, span(start, start + 1)))?;
            let end = end.max(i + 1);
            tokens.push(Token {
                tok,
                span: span(start, end),
            });
            i = end;
            continue;
        }
        if c == b'"' || c == b'\'' {
            let (text, end) = quoted(src, i)
                .map_err(|(m, at, len)| Error::new(ErrorKind::Syntax, m, span(at, at + len)))?;
            tokens.push(Token {
                tok: Tok::Str(text),
                span: span(start, end),
            });
            i = end;
            continue;
        }
        if c == b'`' {
            let Some(len) = src[i + 1..].find('`') else {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    "unterminated raw string: add the closing backtick",
                    span(i, bytes.len()),
                ));
            };
            tokens.push(Token {
                tok: Tok::Str(src[i + 1..i + 1 + len].to_owned()),
                span: span(start, i + len + 2),
            });
            i += len + 2;
            continue;
        }
        if c == b'#' {
            let name_len = ident_len(&src[i + 1..]);
            tokens.push(Token {
                tok: Tok::Pointer(src[i + 1..i + 1 + name_len].to_owned()),
                span: span(start, i + 1 + name_len),
            });
            i += 1 + name_len;
            continue;
        }
        let len = ident_len(&src[i..]);
        if len > 0 {
            tokens.push(Token {
                tok: Tok::Ident(src[i..i + len].to_owned()),
                span: span(start, i + len),
            });
            i += len;
            continue;
        }
        if let Some(op) = OPERATORS.iter().find(|op| src[i..].starts_with(**op)) {
            tokens.push(Token {
                tok: Tok::Op(op),
                span: span(start, i + op.len()),
            });
            i += op.len();
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('?');
        return Err(Error::new(
            ErrorKind::Syntax,
            format!("unexpected character {ch:?}"),
            span(i, i + ch.len_utf8()),
        ));
    }
    tokens.push(Token {
        tok: Tok::Eof,
        span: span(bytes.len(), bytes.len()),
    });
    Ok(tokens)
}

fn ident_len(s: &str) -> usize {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        let ok = if i == 0 {
            c.is_alphabetic() || c == '_' || c == '$'
        } else {
            c.is_alphanumeric() || c == '_' || c == '$'
        };
        if !ok {
            break;
        }
        len = i + c.len_utf8();
    }
    len
}

fn number(src: &str, start: usize) -> Result<(Tok, usize), String> {
    let bytes = src.as_bytes();
    let mut i = start;
    let radix_prefix = if bytes[i] == b'0' {
        match bytes.get(i + 1) {
            Some(b'x' | b'X') => Some(16),
            Some(b'o' | b'O') => Some(8),
            Some(b'b' | b'B') => Some(2),
            _ => None,
        }
    } else {
        None
    };
    if let Some(radix) = radix_prefix {
        i += 2;
        let digits_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let digits: String = src[digits_start..i].chars().filter(|c| *c != '_').collect();
        return i64::from_str_radix(&digits, radix)
            .map(|n| (Tok::Int(n), i))
            .map_err(|_| format!("invalid number literal {:?}", &src[start..i]));
    }
    let mut is_float = false;
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
        i += 1;
    }
    // a fraction, but not the range operator `1..2`
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1) != Some(&b'.') {
        let after = bytes.get(i + 1);
        let member = after.is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
        if i == start || after.is_some_and(u8::is_ascii_digit) || !member {
            is_float = true;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            is_float = true;
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    if i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
        let mut end = i;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        return Err(format!("bad number syntax: {:?}", &src[start..end]));
    }
    let text: String = src[start..i].chars().filter(|c| *c != '_').collect();
    if is_float {
        text.parse::<f64>()
            .map(|f| (Tok::Float(f), i))
            .map_err(|_| format!("invalid number literal {:?}", &src[start..i]))
    } else {
        text.parse::<i64>()
            .map(|n| (Tok::Int(n), i))
            .map_err(|_| format!("invalid integer literal {:?}: out of range", &src[start..i]))
    }
}

/// A quoted string with Go escapes; returns the text and the offset after the closing quote.
/// Errors carry (message, offset, length).
fn quoted(src: &str, start: usize) -> Result<(String, usize), (String, usize, usize)> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices().peekable();
    let at = |i: usize| start + 1 + i;
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((out, at(i) + 1));
        }
        if c == '\n' {
            return Err((
                "unterminated string: a quoted string cannot span lines".into(),
                start,
                i + 1,
            ));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        let simple = match e {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        let (count, radix) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => {
                return Err((
                    format!("invalid escape sequence \\{e}"),
                    at(i),
                    1 + e.len_utf8(),
                ));
            }
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(e);
        }
        for _ in 0..count {
            match chars.next() {
                Some((_, d)) if d.is_digit(radix) => digits.push(d),
                _ => {
                    return Err((
                        format!("invalid escape sequence \\{e}{digits}"),
                        at(i),
                        2 + digits.len(),
                    ));
                }
            }
        }
        let code = u32::from_str_radix(&digits, radix).unwrap_or(u32::MAX);
        // expr-lang turns `\xHH` and octal escapes into the code point U+00HH, not a raw byte
        match char::from_u32(code) {
            Some(ch) => out.push(ch),
            None => {
                return Err((
                    format!("invalid escape sequence \\{e}{digits}"),
                    at(i),
                    2 + digits.len(),
                ));
            }
        }
    }
    Err((
        format!("unterminated string: add the closing {quote}"),
        start,
        src.len() - start,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src, 0)
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("1_000 0x1F 0o17 0b101 1.5 1e3 .5 1..3"),
            vec![
                Tok::Int(1000),
                Tok::Int(31),
                Tok::Int(15),
                Tok::Int(5),
                Tok::Float(1.5),
                Tok::Float(1000.0),
                Tok::Float(0.5),
                Tok::Int(1),
                Tok::Op(".."),
                Tok::Int(3),
                Tok::Eof
            ]
        );
        assert!(tokenize("12abc", 0).is_err());
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            toks(r#" "a\n\"b" 'c\'' `raw\n` "\u00e9\x41" "#),
            vec![
                Tok::Str("a\n\"b".into()),
                Tok::Str("c'".into()),
                Tok::Str("raw\\n".into()),
                Tok::Str("é\u{41}".into()),
                Tok::Eof
            ]
        );
        let err = tokenize("'abc", 0).unwrap_err();
        assert!(err.message.contains("unterminated"), "{}", err.message);
        assert!(tokenize(r#""\q""#, 0).is_err());
    }

    #[test]
    fn operators_pointers_and_spans() {
        let tokens = tokenize("a?.b ?? #index // comment", 10).unwrap();
        assert_eq!(tokens[1].tok, Tok::Op("?."));
        assert_eq!(tokens[3].tok, Tok::Op("??"));
        assert_eq!(tokens[4].tok, Tok::Pointer("index".into()));
        assert_eq!(tokens[4].span, Span::new(18, 24));
    }
}
