//! `${...}` expressions inside strings, and the identifiers a CEL expression reads.
//!
//! **Extraction** ([`Template::parse`]) follows Kro's parser: scan for `${`, then walk to the
//! matching `}` counting `{`/`}` that are not inside a CEL string literal (`"..."` or `'...'`,
//! backslash escapes honoured). A `${` met inside an expression but outside a string literal is
//! an error (nested expressions are not allowed), which is why `${"${VAR}"}` is the way to
//! write a literal `${VAR}`: the inner one sits in a string literal. A string that is exactly
//! one expression is *standalone* (its value replaces the field, whatever its type); any other
//! string with expressions is a *string template* whose parts must all be strings. An `${`
//! without its `}` is an error, as in Kro's current parser (older Kro kept it as text).
//!
//! **References** ([`references`]) are found without evaluating or fully parsing CEL: a small
//! lexer skips string literals, and every identifier that is not a field selection (`.x`), a
//! function name (`size(`), a namespaced function (`math.greatest(`), a literal keyword or a
//! variable bound by a comprehension macro (`list.map(x, x * 2)`, `all(k, v, ...)`,
//! `cel.bind(x, ...)`) is a root reference, reported with the field chain that follows it
//! (`schema.spec.?name` gives root `schema`, path `spec.name`). That is enough to build the
//! dependency graph; type checking comes with the CEL evaluator.
//!
//! Spans are byte offsets within the string the expression came from.

use std::ops::Range;

/// The opening delimiter.
pub const OPEN: &str = "${";

/// Why a string's expressions could not be extracted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// `${` inside an expression, outside a string literal.
    #[error("nested expressions are not allowed unless inside string literals")]
    Nested {
        /// Where the inner `${` is.
        span: Range<usize>,
    },
    /// `${` without the matching `}`.
    #[error("unterminated expression: `${{` without a matching `}}`")]
    Unterminated {
        /// From the `${` to the end of the string.
        span: Range<usize>,
    },
}

impl ExprError {
    /// Where in the string the problem is.
    pub fn span(&self) -> Range<usize> {
        match self {
            ExprError::Nested { span } | ExprError::Unterminated { span } => span.clone(),
        }
    }
}

/// One `${...}` of a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expression {
    /// The CEL source between the delimiters.
    pub source: String,
    /// The whole `${...}`.
    pub span: Range<usize>,
    /// The CEL source alone.
    pub inner: Range<usize>,
}

/// A piece of a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// An expression.
    Expr(Expression),
}

/// A string split into literal text and expressions.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Template {
    /// The parts in order; never two texts in a row, no empty text.
    pub parts: Vec<Part>,
}

impl Template {
    /// Splits `text` into literal parts and `${...}` expressions.
    pub fn parse(text: &str) -> Result<Template, ExprError> {
        let bytes = text.as_bytes();
        let mut parts = Vec::new();
        let mut position = 0;
        while let Some(found) = text[position..].find(OPEN) {
            let open = position + found;
            if open > position {
                parts.push(Part::Text(text[position..open].to_owned()));
            }
            let close = matching_close(bytes, open)?;
            let inner = open + OPEN.len()..close;
            parts.push(Part::Expr(Expression {
                source: text[inner.clone()].to_owned(),
                span: open..close + 1,
                inner,
            }));
            position = close + 1;
        }
        if position < text.len() {
            parts.push(Part::Text(text[position..].to_owned()));
        }
        Ok(Template { parts })
    }

    /// Whether the string is exactly one expression (its value may have any type).
    pub fn is_standalone(&self) -> bool {
        matches!(self.parts.as_slice(), [Part::Expr(_)])
    }

    /// Whether the string holds any expression.
    pub fn has_expressions(&self) -> bool {
        self.parts.iter().any(|part| matches!(part, Part::Expr(_)))
    }

    /// The expressions, in order.
    pub fn expressions(&self) -> impl Iterator<Item = &Expression> {
        self.parts.iter().filter_map(|part| match part {
            Part::Expr(expression) => Some(expression),
            Part::Text(_) => None,
        })
    }
}

/// The index of the `}` closing the `${` at `open`.
fn matching_close(bytes: &[u8], open: usize) -> Result<usize, ExprError> {
    let mut depth = 1usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut i = open + OPEN.len();
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' | b'\'' => quote = Some(c),
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                return Err(ExprError::Nested { span: i..i + 2 });
            }
            _ => {}
        }
        i += 1;
    }
    Err(ExprError::Unterminated {
        span: open..bytes.len(),
    })
}

/// A root identifier read by an expression, with the fields selected from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The identifier (`schema`, a resource id, a loop variable...).
    pub root: String,
    /// The field names selected after it, up to the first index or call.
    pub path: Vec<String>,
    /// From the root to the last selected field, within the expression source.
    pub span: Range<usize>,
}

impl Reference {
    /// `root.a.b`.
    pub fn dotted(&self) -> String {
        let mut out = self.root.clone();
        for field in &self.path {
            out.push('.');
            out.push_str(field);
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Dot,
    OptionalDot,
    Open(u8),
    Close(u8),
    Comma,
    Colon,
    Literal,
    Other,
}

/// Namespaces of CEL extension functions (`math.greatest(...)`): not variables.
const FUNCTION_NAMESPACES: &[&str] = &[
    "base64", "cel", "encoders", "hash", "json", "lists", "maps", "math", "optional", "random",
    "regex", "sets", "strings",
];

/// Identifiers that are values of the language itself.
const KEYWORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
];

/// Macros that bind one variable (first argument), or two with the two-variable forms.
const ONE_VAR_MACROS: &[&str] = &["map", "filter", "sortBy"];
const TWO_VAR_MACROS: &[&str] = &[
    "all",
    "exists",
    "exists_one",
    "existsOne",
    "transformList",
    "transformMap",
    "transformMapEntry",
];

fn tokenize(source: &str) -> Vec<(Token, Range<usize>)> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // String and bytes literals, with optional r/b prefixes.
        let mut prefix = i;
        while prefix < bytes.len()
            && prefix - i < 2
            && matches!(bytes[prefix], b'r' | b'R' | b'b' | b'B')
        {
            prefix += 1;
        }
        if prefix < bytes.len() && matches!(bytes[prefix], b'"' | b'\'') {
            let raw = bytes[i..prefix].iter().any(|b| matches!(b, b'r' | b'R'));
            i = skip_string(bytes, prefix, raw);
            tokens.push((Token::Literal, start..i));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push((Token::Ident(source[start..i].to_owned()), start..i));
            continue;
        }
        if c.is_ascii_digit() {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || (bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
                    || (matches!(bytes[i], b'+' | b'-') && matches!(bytes[i - 1], b'e' | b'E')))
            {
                i += 1;
            }
            tokens.push((Token::Literal, start..i));
            continue;
        }
        if c == b'`' {
            // A quoted field name (`a.`b-c``): a selection, never a root.
            i += 1;
            while i < bytes.len() && bytes[i] != b'`' {
                i += 1;
            }
            i = (i + 1).min(bytes.len());
            tokens.push((Token::Ident(source[start..i].to_owned()), start..i));
            continue;
        }
        let token = match c {
            b'.' if bytes.get(i + 1) == Some(&b'?') => {
                i += 1;
                Token::OptionalDot
            }
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                while i + 1 < bytes.len() && bytes[i + 1].is_ascii_alphanumeric() {
                    i += 1;
                }
                Token::Literal
            }
            b'.' => Token::Dot,
            b'(' | b'[' | b'{' => Token::Open(c),
            b')' | b']' | b'}' => Token::Close(c),
            b',' => Token::Comma,
            b':' => Token::Colon,
            _ => Token::Other,
        };
        i += 1;
        // Multi-byte characters are "other" as a whole.
        while i < bytes.len() && !source.is_char_boundary(i) {
            i += 1;
        }
        tokens.push((token, start..i));
    }
    tokens
}

/// The index after the string literal whose opening quote is at `open`.
fn skip_string(bytes: &[u8], open: usize, raw: bool) -> usize {
    let quote = bytes[open];
    let triple = bytes.get(open + 1) == Some(&quote) && bytes.get(open + 2) == Some(&quote);
    let mut i = open + if triple { 3 } else { 1 };
    while i < bytes.len() {
        if bytes[i] == b'\\' && !raw {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if !triple {
                return i + 1;
            }
            if bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) {
                return i + 3;
            }
        }
        i += 1;
    }
    bytes.len()
}

struct Frame {
    bound: Vec<String>,
    /// A message literal (`Type{field: value}`): identifiers before `:` are field names.
    message: bool,
}

/// The root identifiers `source` (a CEL expression) reads, in order of appearance. Never
/// fails: text that is not valid CEL yields whatever identifiers it seems to hold.
pub fn references(source: &str) -> Vec<Reference> {
    let tokens = tokenize(source);
    let mut frames: Vec<Frame> = Vec::new();
    let mut found = Vec::new();
    let token = |i: usize| tokens.get(i).map(|(t, _)| t);
    let mut i = 0;
    while i < tokens.len() {
        let (current, span) = &tokens[i];
        match current {
            Token::Open(kind) => {
                let mut frame = Frame {
                    bound: Vec::new(),
                    message: false,
                };
                if *kind == b'('
                    && i >= 2
                    && let (Some(Token::Ident(name)), Some(Token::Dot)) =
                        (token(i - 1), token(i - 2))
                {
                    frame.bound = macro_variables(
                        name,
                        &tokens[i + 1..],
                        i >= 3 && token(i - 3) == Some(&Token::Ident("cel".into())),
                    );
                }
                if *kind == b'{'
                    && let Some(Token::Ident(name)) = i.checked_sub(1).and_then(token)
                    && name.starts_with(|c: char| c.is_ascii_uppercase())
                {
                    frame.message = true;
                }
                frames.push(frame);
            }
            Token::Close(_) => {
                frames.pop();
            }
            Token::Ident(name) => {
                let previous = i.checked_sub(1).and_then(token);
                let next = token(i + 1);
                let selected = matches!(previous, Some(Token::Dot | Token::OptionalDot));
                let is_call = next == Some(&Token::Open(b'('));
                let is_message_type = next == Some(&Token::Open(b'{'))
                    && name.starts_with(|c: char| c.is_ascii_uppercase());
                let is_field_name =
                    frames.last().is_some_and(|f| f.message) && next == Some(&Token::Colon);
                let bound = frames.iter().any(|f| f.bound.iter().any(|b| b == name));
                let namespaced_call = FUNCTION_NAMESPACES.contains(&name.as_str())
                    && next == Some(&Token::Dot)
                    && matches!(token(i + 2), Some(Token::Ident(_)))
                    && token(i + 3) == Some(&Token::Open(b'('));
                if !(selected
                    || is_call
                    || is_message_type
                    || is_field_name
                    || bound
                    || namespaced_call
                    || name.starts_with('`')
                    || KEYWORDS.contains(&name.as_str()))
                {
                    let mut path = Vec::new();
                    let mut end = span.end;
                    let mut j = i + 1;
                    while let (
                        Some(Token::Dot | Token::OptionalDot),
                        Some((Token::Ident(field), field_span)),
                    ) = (token(j), tokens.get(j + 1))
                    {
                        if token(j + 2) == Some(&Token::Open(b'(')) {
                            break;
                        }
                        path.push(field.trim_matches('`').to_owned());
                        end = field_span.end;
                        j += 2;
                    }
                    found.push(Reference {
                        root: name.clone(),
                        path,
                        span: span.start..end,
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The variables a macro call binds, given the tokens after its `(`.
fn macro_variables(name: &str, args: &[(Token, Range<usize>)], cel_namespace: bool) -> Vec<String> {
    let ident = |k: usize| match args.get(k) {
        Some((Token::Ident(n), _)) => Some(n.clone()),
        _ => None,
    };
    let comma = |k: usize| matches!(args.get(k), Some((Token::Comma, _)));
    let one_var = ONE_VAR_MACROS.contains(&name) || (cel_namespace && name == "bind");
    let two_var = TWO_VAR_MACROS.contains(&name);
    let mut bound = Vec::new();
    if (one_var || two_var)
        && let Some(first) = ident(0)
        && comma(1)
    {
        bound.push(first);
        if two_var
            && let Some(second) = ident(2)
            && comma(3)
        {
            bound.push(second);
        }
    }
    bound
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exprs(text: &str) -> Vec<(String, Range<usize>)> {
        Template::parse(text)
            .unwrap()
            .expressions()
            .map(|e| (e.source.clone(), e.span.clone()))
            .collect()
    }

    #[test]
    fn extraction_follows_kro_cases() {
        assert_eq!(
            exprs("${resource.field}"),
            [("resource.field".into(), 0..17)]
        );
        assert_eq!(
            exprs("prefix-${resource.field}"),
            [("resource.field".into(), 7..24)]
        );
        assert_eq!(
            exprs("${resource1.field}-middle-${resource2.field}"),
            [
                ("resource1.field".into(), 0..18),
                ("resource2.field".into(), 26..44)
            ]
        );
        assert_eq!(
            exprs("${resource.map['key']}"),
            [("resource.map['key']".into(), 0..22)]
        );
        assert_eq!(
            exprs(r#"${resource.field == "escaped\"quote"}"#),
            [(r#"resource.field == "escaped\"quote""#.into(), 0..37)]
        );
        assert_eq!(
            exprs(r#"${outer("${inner}")}"#),
            [(r#"outer("${inner}")"#.into(), 0..20)]
        );
        assert_eq!(exprs(r#"${"text with }} inside"}"#).len(), 1);
        assert_eq!(
            exprs("${'text with } inside'}"),
            [("'text with } inside'".into(), 0..23)]
        );
        assert_eq!(
            exprs("${condition ? {} : {}}"),
            [("condition ? {} : {}".into(), 0..22)]
        );
        assert!(exprs("plain string").is_empty());
        assert!(exprs("").is_empty());
    }

    #[test]
    fn nested_and_unterminated_expressions_are_errors_with_spans() {
        let error = Template::parse("${outer(${inner})} ${outer}").unwrap_err();
        assert_eq!(error, ExprError::Nested { span: 8..10 });
        assert_eq!(
            error.to_string(),
            "nested expressions are not allowed unless inside string literals"
        );
        let error = Template::parse("ok-${incomplete").unwrap_err();
        assert_eq!(error, ExprError::Unterminated { span: 3..15 });
    }

    #[test]
    fn standalone_versus_string_template() {
        assert!(Template::parse("${a.b}").unwrap().is_standalone());
        assert!(Template::parse(r#"${"${VAR}"}"#).unwrap().is_standalone());
        for text in ["x-${a.b}-y", "${a}${b}", " ${a}", "plain"] {
            assert!(!Template::parse(text).unwrap().is_standalone(), "{text}");
        }
        let template = Template::parse("x-${a.b}-y").unwrap();
        assert_eq!(
            template.parts,
            [
                Part::Text("x-".into()),
                Part::Expr(Expression {
                    source: "a.b".into(),
                    span: 2..8,
                    inner: 4..7
                }),
                Part::Text("-y".into()),
            ]
        );
    }

    fn roots(source: &str) -> Vec<String> {
        references(source).into_iter().map(|r| r.dotted()).collect()
    }

    #[test]
    fn references_skip_fields_functions_literals_and_macro_variables() {
        assert_eq!(roots("schema.spec.name"), ["schema.spec.name"]);
        assert_eq!(
            roots("deployment.spec.selector.matchLabels"),
            ["deployment.spec.selector.matchLabels"]
        );
        assert_eq!(
            roots("schema.spec.?name.orValue('x')"),
            ["schema.spec.name"]
        );
        assert_eq!(
            roots("string(schema.spec.port) + 'deployment.x'"),
            ["schema.spec.port"]
        );
        assert_eq!(
            roots("deployment.status.conditions.exists(c, c.type == \"Available\")"),
            ["deployment.status.conditions"]
        );
        assert_eq!(
            roots("schema.spec.items.map(x, x * 2 + y)"),
            ["schema.spec.items", "y"]
        );
        assert_eq!(roots("m.all(k, v, v > limit)"), ["m", "limit"]);
        assert_eq!(roots("math.greatest(a, 1)"), ["a"]);
        assert_eq!(
            roots("cel.bind(n, schema.spec.n, n + 1)"),
            ["schema.spec.n"]
        );
        assert_eq!(
            roots("true && size(items) > 0 ? {'a': b} : null"),
            ["items", "b"]
        );
        assert_eq!(
            roots("r'raw ${x}' + \"\"\"tri\"ple\"\"\""),
            Vec::<String>::new()
        );
        assert_eq!(roots("a[0].b"), ["a"]);
        let reference = &references("  service.status.x")[0];
        assert_eq!(reference.span, 2..18);
    }
}
