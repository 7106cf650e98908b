//! Static view of Kargo templates (`${{ expr }}` and `${% expr %}`): finding the expressions in
//! a string, the variables they read, and substituting plain `vars.x` references.
//!
//! This is what validation needs before anything runs; evaluation belongs to the expression
//! crate. Scanning follows Kargo exactly: the earliest opening delimiter starts an expression,
//! which ends at the first matching closing delimiter (no nesting).

use std::collections::HashMap;

/// One `${{ ... }}` (or `${% ... %}`) found in a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expression<'a> {
    /// Byte offset of the opening delimiter in the string.
    pub start: usize,
    /// Byte offset just past the closing delimiter.
    pub end: usize,
    /// Byte offset of the body (after the opening delimiter).
    pub body_start: usize,
    /// The text between the delimiters.
    pub body: &'a str,
}

/// An opening delimiter without its closing one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unclosed {
    /// Byte offset of the opening delimiter.
    pub offset: usize,
    /// `${{` or `${%`.
    pub opening: &'static str,
    /// `}}` or `%}`.
    pub closing: &'static str,
}

/// Finds every expression of a template string.
pub fn scan(text: &str) -> Result<Vec<Expression<'_>>, Unclosed> {
    let mut expressions = Vec::new();
    let mut offset = 0;
    loop {
        let rest = &text[offset..];
        let curly = rest.find("${{");
        let percent = rest.find("${%");
        let (at, opening, closing) = match (curly, percent) {
            (None, None) => return Ok(expressions),
            (Some(c), Some(p)) if p < c => (p, "${%", "%}"),
            (Some(c), _) => (c, "${{", "}}"),
            (None, Some(p)) => (p, "${%", "%}"),
        };
        let start = offset + at;
        let body_start = start + 3;
        let Some(close) = text[body_start..].find(closing) else {
            return Err(Unclosed {
                offset: start,
                opening,
                closing,
            });
        };
        let end = body_start + close + closing.len();
        expressions.push(Expression {
            start,
            end,
            body_start,
            body: &text[body_start..body_start + close],
        });
        offset = end;
    }
}

/// What an expression reads from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference<'a> {
    /// `vars.x` or `vars['x']`.
    Var(&'a str),
    /// `outputs.x` or `outputs['x']`.
    Output(&'a str),
    /// `task.outputs.x` or `task.outputs['x']`.
    TaskOutput(&'a str),
}

/// A reference with its byte offset in the expression body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<'a> {
    /// What is read.
    pub reference: Reference<'a>,
    /// Byte offset of the reference's root identifier in the body.
    pub offset: usize,
    /// Length in bytes of the whole reference (`vars.x`).
    pub len: usize,
}

/// The `vars`, `outputs` and `task.outputs` references of an expression body, skipping string
/// literals and member accesses (`a.vars` is not a reference).
pub fn references(body: &str) -> Vec<Located<'_>> {
    let bytes = body.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if matches!(byte, b'"' | b'\'' | b'`') {
            i = skip_string(bytes, i);
            continue;
        }
        if is_ident_start(byte) {
            let start = i;
            while i < bytes.len() && is_ident_char(bytes[i]) {
                i += 1;
            }
            let ident = &body[start..i];
            let preceded_by_dot = body[..start].trim_end().ends_with('.');
            if preceded_by_dot {
                continue;
            }
            match ident {
                "vars" | "outputs" => {
                    if let Some((name, end)) = member(body, i) {
                        let reference = if ident == "vars" {
                            Reference::Var(name)
                        } else {
                            Reference::Output(name)
                        };
                        found.push(Located {
                            reference,
                            offset: start,
                            len: end - start,
                        });
                        i = end;
                    }
                }
                "task" => {
                    if let Some(("outputs", after_outputs)) = member(body, i)
                        && let Some((name, end)) = member(body, after_outputs)
                    {
                        found.push(Located {
                            reference: Reference::TaskOutput(name),
                            offset: start,
                            len: end - start,
                        });
                        i = end;
                    }
                }
                _ => {}
            }
            continue;
        }
        i += 1;
    }
    found
}

/// Parses `.name`, `?.name`, `['name']` or `["name"]` at `at`; returns the name and the offset
/// after it.
fn member(body: &str, at: usize) -> Option<(&str, usize)> {
    let rest = &body[at..];
    let trimmed = rest.trim_start();
    let skipped = rest.len() - trimmed.len();
    let at = at + skipped;
    if let Some(after) = trimmed
        .strip_prefix("?.")
        .or_else(|| trimmed.strip_prefix('.'))
    {
        let dot_len = trimmed.len() - after.len();
        let after_trim = after.trim_start();
        let start = at + dot_len + (after.len() - after_trim.len());
        let len = after_trim.bytes().take_while(|b| is_ident_char(*b)).count();
        if len == 0 || !is_ident_start(after_trim.as_bytes()[0]) {
            return None;
        }
        return Some((&body[start..start + len], start + len));
    }
    if let Some(after) = trimmed.strip_prefix('[') {
        let inner = after.trim_start();
        let quote = *inner.as_bytes().first()?;
        if quote != b'\'' && quote != b'"' {
            return None;
        }
        let name_start = at + 1 + (after.len() - inner.len()) + 1;
        let close = body[name_start..].find(quote as char)?;
        let name = &body[name_start..name_start + close];
        let after_quote = name_start + close + 1;
        let tail = &body[after_quote..];
        let bracket = tail.find(']')?;
        if !tail[..bracket].trim().is_empty() {
            return None;
        }
        return Some((name, after_quote + bracket + 1));
    }
    None
}

fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            byte if byte == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte == b'$'
}

fn is_ident_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$'
}

/// Known var values for static substitution: `Some(value)` when the value is known, `None` when
/// the var exists but its value is not known statically.
pub type KnownVars = HashMap<String, Option<String>>;

/// Substitutes a template whose expressions are all plain var reads (`${{ vars.x }}`,
/// `${{ vars['x'] }}`), recursively (a var may refer to other vars). Returns `None` when any
/// expression does something else or reads a var of unknown value.
pub fn resolve(text: &str, vars: &KnownVars) -> Option<String> {
    resolve_depth(text, vars, 0)
}

fn resolve_depth(text: &str, vars: &KnownVars, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let expressions = scan(text).ok()?;
    if expressions.is_empty() {
        return Some(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for expression in expressions {
        out.push_str(&text[last..expression.start]);
        let body = expression.body.trim();
        let refs = references(body);
        let [only] = refs.as_slice() else {
            return None;
        };
        let Reference::Var(name) = only.reference else {
            return None;
        };
        if only.offset != 0 || only.len != body.len() {
            return None;
        }
        let value = vars.get(name)?.as_deref()?;
        out.push_str(&resolve_depth(value, vars, depth + 1)?);
        last = expression.end;
    }
    out.push_str(&text[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_expressions_and_unclosed_delimiters() {
        let found = scan("a ${{ x }} b ${% y }} %} c").unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].body, " x ");
        assert_eq!(found[1].body, " y }} ");
        assert_eq!(
            scan("ok ${{ x }} then ${{ broken").unwrap_err(),
            Unclosed {
                offset: 17,
                opening: "${{",
                closing: "}}"
            }
        );
        assert!(scan("no expressions {{ here }}").unwrap().is_empty());
    }

    #[test]
    fn references_skip_strings_and_members() {
        let refs: Vec<Reference<'_>> = references(
            " quote(imageFrom(vars.imageRepo, warehouse(vars['warehouseName'])).Tag) + outputs.commit.commit + task.outputs['update-image'].commitMessage + 'vars.fake' + a.vars.no ",
        )
        .into_iter()
        .map(|located| located.reference)
        .collect();
        assert_eq!(
            refs,
            vec![
                Reference::Var("imageRepo"),
                Reference::Var("warehouseName"),
                Reference::Output("commit"),
                Reference::TaskOutput("update-image"),
            ]
        );
    }

    #[test]
    fn resolve_substitutes_plain_var_reads() {
        let mut vars = KnownVars::new();
        vars.insert("src".into(), Some("./repo".into()));
        vars.insert("path".into(), Some("${{ vars.src }}/env".into()));
        vars.insert("dynamic".into(), None);
        assert_eq!(
            resolve("${{ vars.path }}/x.yaml", &vars).as_deref(),
            Some("./repo/env/x.yaml")
        );
        assert_eq!(
            resolve("${{ vars['src'] }}", &vars).as_deref(),
            Some("./repo")
        );
        assert_eq!(resolve("${{ vars.dynamic }}", &vars), None);
        assert_eq!(resolve("${{ upper(vars.src) }}", &vars), None);
        assert_eq!(resolve("plain", &vars).as_deref(), Some("plain"));
    }
}
