//! Template rendering and Kargo's coercion, rule by rule.

use gantry_expr::{Config, NoHost, PathSegment, Template, Value, check_env, coerce};

use crate::{default_env, env};

fn render(text: &str) -> Value {
    Template::compile(text)
        .unwrap()
        .render(
            &env(
                r#"{"vars": {"version": "1.10", "n": 7, "labels": {"a": "x"}, "multi": "l1\nl2"}}"#,
            ),
            &NoHost,
        )
        .unwrap()
}

fn json(value: &Value) -> String {
    value.to_go_json().unwrap()
}

#[test]
fn strings_without_expressions_stay_strings() {
    assert_eq!(json(&render("42")), r#""42""#);
    assert_eq!(json(&render("true")), r#""true""#);
    assert_eq!(
        json(&render("{{ not an expression }}")),
        r#""{{ not an expression }}""#
    );
}

#[test]
fn coercion_order() {
    // rule a: outer double quotes are stripped and the value stays a string
    assert_eq!(json(&render("${{ quote(40 + 2) }}")), r#""42""#);
    assert_eq!(json(&render("${{ quote(vars.version) }}")), r#""1.10""#);
    assert_eq!(json(&render(r#""${{ vars.n }}""#)), r#""7""#);
    assert_eq!(
        json(&render(r#""${{ 'a' }}" and "${{ 'b' }}""#)),
        r#""a\" and \"b""#
    );
    // rule b: floats, so the classic pitfall: an unquoted "1.10" becomes 1.1
    assert_eq!(json(&render("${{ vars.version }}")), "1.1");
    assert_eq!(json(&render("${{ 40 + 2 }}")), "42");
    assert_eq!(json(&render("${{ '0' }}")), "0");
    assert_eq!(json(&render("${{ '1e3' }}")), "1000");
    assert_eq!(json(&render("${{ '0x10' }}")), "16");
    assert!(matches!(render("${{ 'NaN' }}"), Value::Float(f) if f.is_nan()));
    assert_eq!(json(&render("${{ '1_000' }}")), r#""1_000""#);
    // rule c: bools, Go's ParseBool spellings
    assert_eq!(json(&render("${{ true }}")), "true");
    assert_eq!(json(&render("${{ 'T' }}")), "true");
    assert_eq!(json(&render("${{ 'False' }}")), "false");
    assert_eq!(json(&render("${{ 'yes' }}")), r#""yes""#);
    // rule d: JSON
    assert_eq!(json(&render("${{ vars.labels }}")), r#"{"a":"x"}"#);
    assert_eq!(json(&render("${{ '[1, \"b\"]' }}")), r#"[1,"b"]"#);
    assert_eq!(json(&render("${{ 'null' }}")), "null");
    assert_eq!(json(&render("${{ nil }}")), "null");
    // rule e: anything else stays a string
    assert_eq!(json(&render("v${{ vars.n }}")), r#""v7""#);
    assert_eq!(json(&render("${{ 'a' }}-${% 'b' %}")), r#""a-b""#);
    assert_eq!(
        json(&render("n=${{ vars.labels }}")),
        r#""n={\"a\":\"x\"}""#
    );
}

#[test]
fn one_trailing_newline() {
    assert_eq!(json(&render("${{ 'text' }}\n")), r#""text\n""#);
    assert_eq!(json(&render("${{ 42 }}\n")), "42");
    assert_eq!(json(&render("${{ quote(42) }}\n")), r#""42\n""#);
    // two newlines: only one is stripped, so the quotes stay and so does the text
    assert_eq!(
        json(&render("${% quote({'k': 'v'}) %}\n\n")),
        r#""\"{\"k\":\"v\"}\"\n\n""#
    );
    assert_eq!(
        json(&render("${% quote({'k': 'v'}) %}\n")),
        r#""{\"k\":\"v\"}\n""#
    );
    assert_eq!(json(&render("${{ vars.multi }}")), r#""l1\nl2""#);
}

#[test]
fn quote_family() {
    assert_eq!(json(&render("${{ quote('foo') }}")), r#""foo""#);
    assert_eq!(json(&render("${{ quote(true) }}")), r#""true""#);
    assert_eq!(json(&render("${{ quote(nil) }}")), r#""null""#);
    assert_eq!(json(&render("${{ quote({'k': 1}) }}")), r#""{\"k\":1}""#);
    assert_eq!(json(&render("${{ quote('a\"b') }}")), r#""a\\\"b""#);
    assert_eq!(json(&render("${{ quote(vars.multi) }}")), r#""l1\\nl2""#);
    assert_eq!(json(&render("${{ unsafeQuote('s') }}")), r#""\"s\"""#);
    assert_eq!(json(&render("${{ unsafeQuote(40 + 2) }}")), r#""42""#);
    assert_eq!(
        json(&render("${{ asJSON({'b': [1], 'a': 'x'}) }}")),
        r#""{\n  \"a\": \"x\",\n  \"b\": [\n    1\n  ]\n}\n""#
    );
    assert_eq!(
        json(&render("${% asYAML({'image': {'tag': vars.version}}) %}")),
        r#""image:\n    tag: \"1.10\"\n""#
    );
}

#[test]
fn delimiters() {
    assert_eq!(json(&render("${% '{{.domain}}' %}")), r#""{{.domain}}""#);
    let cut = Template::compile("${{ '{{.domain}}' }}").unwrap_err();
    assert!(
        cut.message.contains("unterminated string"),
        "{}",
        cut.message
    );
    let unclosed = Template::compile("ok ${{ vars.n ").unwrap_err();
    assert_eq!(
        unclosed.message,
        r#"unclosed expression: expected "}}" but reached end of template"#
    );
    assert_eq!(unclosed.span.start, 3);
}

#[test]
fn error_spans_are_template_offsets() {
    let text = "image: ${{ vars.n + }}";
    let error = Template::compile(text).unwrap_err();
    assert_eq!(&text[error.span.start..error.span.end], "");
    assert_eq!(error.span.start, 20);
    let text = "x ${{ vars.missing.deep }}";
    let error = Template::compile(text)
        .unwrap()
        .render(&default_env(), &NoHost)
        .unwrap_err();
    assert_eq!(&text[error.span.start..error.span.end], "vars.missing.deep");
}

#[test]
fn compiled_once_rendered_many_times() {
    let template = Template::compile("${{ vars.n * 2 }}").unwrap();
    for n in 0..5 {
        let env = env(&format!(r#"{{"vars": {{"n": {n}}}}}"#));
        assert_eq!(
            json(&template.render(&env, &NoHost).unwrap()),
            (n * 2).to_string()
        );
    }
}

#[test]
fn coerce_directly() {
    assert_eq!(json(&coerce("+5".into())), "5");
    assert_eq!(json(&coerce(".5".into())), "0.5");
    assert_eq!(json(&coerce("1e400".into())), r#""1e400""#);
    assert_eq!(json(&coerce("\"\"".into())), r#""""#);
    assert_eq!(json(&coerce("\"".into())), r#""\"""#);
    assert_eq!(json(&coerce(String::new())), r#""""#);
    assert_eq!(json(&coerce(" {\"a\": 1} ".into())), r#"{"a":1}"#);
}

#[test]
fn configs_render_leaves_not_keys() {
    let config: serde_json::Value = serde_json::from_str(
        r#"{"path": "./out/${{ ctx.stage }}", "${{ ctx.stage }}": "${{ vars.replicas }}", "list": ["${{ vars.flag }}", 3, null, "plain"], "n": 1.5}"#,
    )
    .unwrap();
    let compiled = Config::compile(&config).unwrap();
    let rendered = compiled.render(&default_env(), &NoHost).unwrap();
    assert_eq!(
        rendered.to_go_json().unwrap(),
        r#"{"${{ ctx.stage }}":3,"list":[true,3,null,"plain"],"n":1.5,"path":"./out/uat"}"#
    );
    let bad: serde_json::Value =
        serde_json::from_str(r#"{"steps": [{"x": "${{ 1 + }}"}]}"#).unwrap();
    let error = Config::compile(&bad).unwrap_err();
    assert_eq!(
        error.path,
        vec![
            PathSegment::Key("steps".into()),
            PathSegment::Index(0),
            PathSegment::Key("x".into())
        ]
    );
    assert_eq!(
        error.to_string(),
        "steps[0].x: unexpected end of the expression: expected a value"
    );
}

#[test]
fn reserved_env_keys() {
    assert!(check_env(&env(r#"{"vars": {}}"#)).is_ok());
    assert_eq!(
        check_env(&env(r#"{"asYAML": 1}"#)).unwrap_err(),
        r#""asYAML" is a forbidden key in the environment map; it is reserved for internal use"#
    );
    assert!(check_env(&env(r#"{"unsafeQuote": 1}"#)).is_ok());
}
