//! No input makes an editor panic: each returns a value or an error.

use gantry_steps::edit::Update;
use gantry_steps::edit::json_update::json_update;
use gantry_steps::edit::kustomize_image::{ImageSet, set_images};
use gantry_steps::edit::toml_update::{toml_parse, toml_update};
use gantry_steps::edit::yaml_merge::yaml_merge;
use gantry_steps::edit::yaml_update::yaml_update;
use proptest::prelude::*;

fn yaml_like() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "([a-z]{1,3}|: |:|- |-|\\n|  |'|\"|#|\\||>|&a |\\*a|!t |\\[|\\]|\\{|\\}|, |---\\n|\\\\|\\t|é){0,40}",
    )
    .unwrap()
}

fn exercise(text: &str) {
    let updates = [
        Update::new("a", "x"),
        Update::new("a.b", 1),
        Update::new("0", true),
        Update::new("a.0.b", "multi\nline"),
    ];
    for update in &updates {
        let _ = yaml_update(text, std::slice::from_ref(update));
        let _ = json_update(text, std::slice::from_ref(update));
        let _ = toml_update(text, std::slice::from_ref(update));
    }
    let _ = toml_parse(text);
    let _ = yaml_merge(&[text, text]);
    let image = ImageSet {
        name: "a".to_owned(),
        tag: Some("1".to_owned()),
        ..ImageSet::default()
    };
    let _ = set_images(text, &[image]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
        exercise(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in yaml_like()) {
        exercise(&text);
    }

    #[test]
    fn json_like_text_never_panics(
        text in proptest::string::string_regex("([{}\\[\\]:, \\n]|\"a\"|\"b\"|1|null|\"\\\\\"\"){0,30}").unwrap()
    ) {
        exercise(&text);
    }
}
