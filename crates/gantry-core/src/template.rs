//! Static view of Kargo templates (`${{ expr }}` and `${% expr %}`) for validation: the
//! variables they read, and substitution of plain `vars.x` references. Parsing is the
//! expression crate's.

use std::collections::HashMap;

use gantry_expr::{Expression, Template};

/// What an expression reads from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// `vars.x` or `vars['x']`.
    Var(String),
    /// `outputs.x` or `outputs['x']`.
    Output(String),
    /// `task.outputs.x` or `task.outputs['x']`.
    TaskOutput(String),
    /// A root variable that a promotion step's environment does not have.
    Unknown(String),
}

/// The variables a promotion step's expressions can read.
pub const STEP_VARIABLES: [&str; 5] = ["ctx", "vars", "outputs", "task", "stepMetas"];

/// A reference with its byte offset and length in the template string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// What is read.
    pub reference: Reference,
    /// Byte offset of the access in the string.
    pub offset: usize,
    /// Length in bytes of the access (`vars.x`).
    pub len: usize,
}

/// The references of a template string, or `None` when it does not compile (the syntax
/// check reports that).
pub fn references(text: &str) -> Option<Vec<Located>> {
    let template = Template::compile(text).ok()?;
    let mut found = Vec::new();
    for expression in template.expressions() {
        for reference in expression.references() {
            let path = &reference.path;
            let what = match reference.root.as_str() {
                "vars" if !path.is_empty() => Reference::Var(path[0].clone()),
                "outputs" if !path.is_empty() => Reference::Output(path[0].clone()),
                "task" if path.len() >= 2 && path[0] == "outputs" => {
                    Reference::TaskOutput(path[1].clone())
                }
                root if STEP_VARIABLES.contains(&root) => continue,
                root => Reference::Unknown(root.to_owned()),
            };
            found.push(Located {
                reference: what,
                offset: reference.full_span.start,
                len: reference.full_span.len(),
            });
        }
    }
    Some(found)
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
    let expressions = gantry_expr::scan(text).ok()?;
    if expressions.is_empty() {
        return Some(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for delimited in expressions {
        out.push_str(&text[last..delimited.span.start]);
        let body = &text[delimited.body.start..delimited.body.end];
        let references = Expression::compile(body).ok()?.references();
        let [only] = references.as_slice() else {
            return None;
        };
        let [name] = only.path.as_slice() else {
            return None;
        };
        if only.root != "vars" || only.full_span.len() != body.trim().len() {
            return None;
        }
        let value = vars.get(name)?.as_deref()?;
        out.push_str(&resolve_depth(value, vars, depth + 1)?);
        last = delimited.span.end;
    }
    out.push_str(&text[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_of_a_template() {
        let refs: Vec<Reference> = references(
            "${{ quote(imageFrom(vars.imageRepo, warehouse(vars['warehouseName'])).Tag) }} ${% outputs.commit.commit + task.outputs['update-image'].commitMessage + 'vars.fake' + image.tag + ctx.stage %} ${{ let vars = 1; vars.x }}",
        )
        .unwrap()
        .into_iter()
        .map(|located| located.reference)
        .collect();
        assert_eq!(
            refs,
            vec![
                Reference::Var("imageRepo".into()),
                Reference::Var("warehouseName".into()),
                Reference::Output("commit".into()),
                Reference::TaskOutput("update-image".into()),
                Reference::Unknown("image".into()),
            ]
        );
        assert_eq!(references("${{ vars. }}"), None);
        let located = &references("path: ${{ vars.src }}").unwrap()[0];
        assert_eq!((located.offset, located.len), (10, 8));
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
