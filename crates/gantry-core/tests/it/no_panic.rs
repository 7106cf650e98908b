//! Arbitrary bytes and arbitrary YAML never panic the loader or the validator.

use gantry_api::{LoadOptions, ResourceSet};
use gantry_core::lint;
use proptest::prelude::*;

fn run(text: &str) {
    let set = ResourceSet::load_str("fuzz.yaml", text, LoadOptions::default());
    let _ = lint::validate(&set);
}

/// YAML-ish text built from the tokens that matter: keys of Kargo resources, indentation,
/// flow syntax, anchors, expressions.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("apiVersion: kargo.akuity.io/v1alpha1\n".to_owned()),
        Just("apiVersion: argoproj.io/v1alpha1\n".to_owned()),
        Just("kind: Stage\n".to_owned()),
        Just("kind: Warehouse\n".to_owned()),
        Just("kind: PromotionTask\n".to_owned()),
        Just("kind: Project\n".to_owned()),
        Just("kind: Application\n".to_owned()),
        Just("metadata:\n  name: x\n  namespace: p\n".to_owned()),
        Just("spec:\n".to_owned()),
        Just("  steps:\n".to_owned()),
        Just("  - uses: git-clone\n".to_owned()),
        Just("  - task: {name: t}\n".to_owned()),
        Just("    config: {path: ./r/${{ vars.x }}, checkout: [{path: ./r}]}\n".to_owned()),
        Just("  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {stages: [a, b]}\n".to_owned()),
        Just("  subscriptions:\n  - image: {repoURL: a}\n".to_owned()),
        Just("  vars:\n  - name: x\n    value: ${{ outputs.a }}\n".to_owned()),
        Just("---\n".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("<<: *a\n".to_owned()),
        Just("${{".to_owned()),
        Just("}}".to_owned()),
        Just("[".to_owned()),
        Just("{".to_owned()),
        Just(": ".to_owned()),
        Just("- ".to_owned()),
        Just("  ".to_owned()),
        Just("\n".to_owned()),
        Just("\"".to_owned()),
        "[a-z0-9 .:#-]{0,12}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        run(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_yaml_never_panics(text in yamlish()) {
        run(&text);
    }
}
