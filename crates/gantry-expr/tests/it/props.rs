//! No input makes parsing or evaluation panic, and work stays bounded.

use gantry_expr::{Expression, Limits, NoHost, Template};
use proptest::prelude::*;

use crate::default_env;

fn exercise(source: &str) {
    if let Ok(expression) = Expression::compile(source) {
        let limits = Limits {
            max_steps: 20_000,
            ..Limits::default()
        };
        let _ = expression.eval_with(&default_env(), &NoHost, limits);
    }
    if let Ok(template) = Template::compile(source) {
        let _ = template.render(&default_env(), &NoHost);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,80}") {
        exercise(&source);
    }

    #[test]
    fn expression_like_text_never_panics(
        source in proptest::string::string_regex(
            "([a-z#.$]{1,6}|[0-9]{1,3}|'[a-z]{0,3}'|[-+*/%^!<>=?:|&,;()\\[\\]{} ]|\\.\\.|\\?\\?|\\?\\.|map\\(|filter\\(|reduce\\(|let x = |\\$\\{\\{|\\}\\}){0,40}"
        ).unwrap()
    ) {
        exercise(&source);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for source in [
        format!("{}1{}", "(".repeat(5000), ")".repeat(5000)),
        format!("{}1", "-".repeat(100_000)),
        format!("{}1{}", "[".repeat(3000), "]".repeat(3000)),
        format!("{}true", "!".repeat(10_000)),
        "a.".repeat(5000) + "b",
    ] {
        let error = Expression::compile(&source).unwrap_err();
        assert!(
            error.message.contains("nests too deeply") || error.message.contains("expected"),
            "{}",
            error.message
        );
    }
}

#[test]
fn runaway_work_is_stopped() {
    for (source, want) in [
        ("len(1..100000000)", "over the limit"),
        ("repeat('x', 100000000)", "over the limit"),
        ("reduce(1..90000, #acc + len(1..90000), 0)", "steps"),
        ("reduce(1..2000, [#acc], [])", "nests deeper"),
        (
            "map(1..300, repeat('ab', 3000)) | join('')",
            "over the limit",
        ),
    ] {
        let error = Expression::compile(source)
            .unwrap()
            .eval(&default_env(), &NoHost)
            .unwrap_err();
        assert!(error.message.contains(want), "{source}: {}", error.message);
    }
}
