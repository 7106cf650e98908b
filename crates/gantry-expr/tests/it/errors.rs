//! Snapshots of error rendering: message, help, and a caret under the failing part.

use gantry_expr::{Error, NoHost, Template};

use crate::default_env;

fn render_error(text: &str, error: &Error) -> String {
    let mut out = format!("{text}\n");
    let start = text[..error.span.start].chars().count();
    let width = text[error.span.start..error.span.end]
        .chars()
        .count()
        .max(1);
    out.push_str(&" ".repeat(start));
    out.push_str(&"^".repeat(width));
    out.push_str("\nerror: ");
    out.push_str(&error.message);
    if let Some(help) = &error.help {
        out.push_str("\nhelp: ");
        out.push_str(help);
    }
    out
}

fn first_error(text: &str) -> String {
    let error = match Template::compile(text) {
        Err(e) => e,
        Ok(t) => t.render(&default_env(), &NoHost).unwrap_err(),
    };
    render_error(text, &error)
}

#[test]
fn error_rendering() {
    let cases = [
        "${{ quote(imageFrom(vars.imageRepo).Tag }}",
        "tag: ${{ vars.labels.team + 1 }}",
        "${{ vars.missing.tag }}",
        "${{ uper(vars.labels.team) }}",
        "${{ vars.tags[7] }}",
        "path: ./envs/${{ ctx.stage",
        "${{ map(vars.people, .nme) | join(',') }}",
        "${{ 'a' matches '[' }}",
    ];
    let rendered: Vec<String> = cases.iter().map(|c| first_error(c)).collect();
    insta::assert_snapshot!(rendered.join("\n\n"));
}
