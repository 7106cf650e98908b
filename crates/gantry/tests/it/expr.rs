//! `gantry expr eval`: values as JSON, errors with a caret, env files.

use crate::{gantry, stderr, stdout};

fn env_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn templates_print_coerced_values_as_json() {
    let env =
        env_file("vars:\n  version: '1.10'\n  labels: {team: payments}\nctx:\n  stage: uat\n");
    let path = env.path().to_str().unwrap();
    for (template, want) in [
        ("${{ vars.version }}", "1.1"),
        ("${{ quote(vars.version) }}", "\"1.10\""),
        ("v${{ 40 + 2 }}", "\"v42\""),
        ("${{ vars.labels }}", "{\n  \"team\": \"payments\"\n}"),
        (
            "./envs/${{ ctx.stage }}/values.yaml",
            "\"./envs/uat/values.yaml\"",
        ),
        ("no expressions", "\"no expressions\""),
    ] {
        let output = gantry(&["expr", "eval", "--env", path, template]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{template}: {}",
            stderr(&output)
        );
        assert_eq!(stdout(&output).trim_end(), want, "{template}");
    }
}

#[test]
fn raw_expressions_skip_template_rules() {
    let output = gantry(&["expr", "eval", "--raw", "'1.10'"]);
    assert_eq!(stdout(&output).trim_end(), "\"1.10\"");
    let output = gantry(&[
        "expr",
        "eval",
        "--raw",
        "filter(1..6, # % 2 == 0) | map(# * 10)",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output).trim_end(), "[\n  20,\n  40,\n  60\n]");
}

#[test]
fn errors_point_at_the_failing_part() {
    let output = gantry(&["expr", "eval", "tag: ${{ vars.image.tag }}"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty());
    insta::assert_snapshot!("expr_eval_runtime_error", stderr(&output));
    let output = gantry(&["expr", "eval", "--raw", "map(items, # +)"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("expr_eval_syntax_error", stderr(&output));
}

#[test]
fn env_files_are_checked() {
    let reserved = env_file("quote: 1\n");
    let output = gantry(&[
        "expr",
        "eval",
        "--env",
        reserved.path().to_str().unwrap(),
        "x",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("\"quote\" is a forbidden key in the environment map"));
    let list = env_file("- a\n- b\n");
    let output = gantry(&["expr", "eval", "--env", list.path().to_str().unwrap(), "x"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(":1:1: the environment must be a mapping"),
        "{}",
        stderr(&output)
    );
    let broken = env_file("vars: [\n");
    let output = gantry(&[
        "expr",
        "eval",
        "--env",
        broken.path().to_str().unwrap(),
        "x",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let json = env_file("{\"vars\": {\"n\": 2}}");
    let output = gantry(&[
        "expr",
        "eval",
        "--env",
        json.path().to_str().unwrap(),
        "${{ vars.n * 21 }}",
    ]);
    assert_eq!(stdout(&output).trim_end(), "42");
}

#[test]
fn values_json_cannot_hold_are_errors() {
    let output = gantry(&["expr", "eval", "--raw", "0 / 0"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot be encoded as JSON"),
        "{}",
        stderr(&output)
    );
}
