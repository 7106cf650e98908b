//! The catalogue of promotion step kinds: the 35 that Kargo's open-source build registers,
//! with the top-level config fields each reads and the ones it requires.
//!
//! Validation uses it to flag unknown step kinds, missing required config and config fields a
//! step does not read. The full JSON schema of each config is in [`crate::step_schemas`]; a
//! test there keeps the schemas' top-level `properties` and `required` equal to this table.

/// One step kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepKind {
    /// `uses:` spelling.
    pub name: &'static str,
    /// Required top-level config fields.
    pub required: &'static [&'static str],
    /// Every top-level config field it reads (empty with `open` for free-form configs).
    pub fields: &'static [&'static str],
    /// Free-form config (`compose-output`).
    pub open: bool,
    /// Whether the step works inside a git checkout at `path` (validated against git-clone).
    pub path_in_checkout: bool,
}

const fn step(
    name: &'static str,
    required: &'static [&'static str],
    fields: &'static [&'static str],
) -> StepKind {
    StepKind {
        name,
        required,
        fields,
        open: false,
        path_in_checkout: false,
    }
}

const fn in_checkout(mut kind: StepKind) -> StepKind {
    kind.path_in_checkout = true;
    kind
}

/// Every step kind, sorted by name.
pub const STEP_KINDS: &[StepKind] = &[
    step("argocd-update", &["apps"], &["apps"]),
    step("argocd-wait", &["apps"], &["apps"]),
    StepKind {
        name: "compose-output",
        required: &[],
        fields: &[],
        open: true,
        path_in_checkout: false,
    },
    step(
        "copy",
        &["inPath", "outPath"],
        &["inPath", "outPath", "ignore"],
    ),
    step("delete", &[], &["path", "paths", "pathsAreGlobs", "strict"]),
    step("fail", &[], &["message"]),
    step(
        "file-write",
        &["path", "contents"],
        &["path", "contents", "permissions", "overwrite"],
    ),
    in_checkout(step("git-clear", &["path"], &["path"])),
    step(
        "git-clone",
        &["repoURL", "checkout"],
        &[
            "repoURL",
            "checkout",
            "author",
            "blobless",
            "recurseSubmodules",
            "insecureSkipTLSVerify",
        ],
    ),
    in_checkout(step(
        "git-commit",
        &["path"],
        &["path", "message", "messageFromSteps", "author"],
    )),
    step(
        "git-merge-pr",
        &["repoURL", "prNumber"],
        &[
            "repoURL",
            "prNumber",
            "mergeMethod",
            "wait",
            "pollInterval",
            "provider",
            "insecureSkipTLSVerify",
        ],
    ),
    step(
        "git-open-pr",
        &["repoURL", "sourceBranch", "targetBranch"],
        &[
            "repoURL",
            "sourceBranch",
            "targetBranch",
            "title",
            "description",
            "labels",
            "provider",
            "createTargetBranch",
            "insecureSkipTLSVerify",
        ],
    ),
    in_checkout(step(
        "git-push",
        &["path"],
        &[
            "path",
            "targetBranch",
            "generateTargetBranch",
            "tag",
            "force",
            "maxAttempts",
            "provider",
        ],
    )),
    in_checkout(step(
        "git-tag",
        &["path", "tag", "message"],
        &["path", "tag", "message", "force"],
    )),
    step(
        "git-wait-for-pr",
        &["repoURL", "prNumber"],
        &[
            "repoURL",
            "prNumber",
            "provider",
            "pollInterval",
            "insecureSkipTLSVerify",
        ],
    ),
    step(
        "github-push",
        &["path"],
        &[
            "path",
            "targetBranch",
            "generateTargetBranch",
            "force",
            "maxAttempts",
            "insecureSkipTLSVerify",
        ],
    ),
    step(
        "helm-template",
        &["path", "outPath", "releaseName"],
        &[
            "path",
            "outPath",
            "releaseName",
            "outLayout",
            "useReleaseName",
            "namespace",
            "valuesFiles",
            "ignoreMissingValueFiles",
            "setValues",
            "buildDependencies",
            "includeCRDs",
            "disableHooks",
            "skipTests",
            "kubeVersion",
            "apiVersions",
        ],
    ),
    in_checkout(step("helm-update-chart", &["path"], &["path", "charts"])),
    step(
        "http",
        &["url"],
        &[
            "url",
            "method",
            "headers",
            "queryParams",
            "body",
            "bodyFromFile",
            "timeout",
            "pollInterval",
            "proxy",
            "insecureSkipTLSVerify",
            "responseContentType",
            "successExpression",
            "failureExpression",
            "errorExpression",
            "outputs",
        ],
    ),
    step(
        "http-download",
        &["url", "outPath"],
        &[
            "url",
            "outPath",
            "allowOverwrite",
            "headers",
            "queryParams",
            "timeout",
            "insecureSkipTLSVerify",
        ],
    ),
    in_checkout(step(
        "json-parse",
        &["path", "outputs"],
        &["path", "outputs"],
    )),
    in_checkout(step(
        "json-update",
        &["path", "updates"],
        &["path", "updates"],
    )),
    step(
        "kustomize-build",
        &["path", "outPath"],
        &["path", "outPath", "outputFormat", "plugin"],
    ),
    in_checkout(step("kustomize-set-image", &["path"], &["path", "images"])),
    step(
        "oci-download",
        &["imageRef", "outPath"],
        &[
            "imageRef",
            "outPath",
            "mediaType",
            "allowOverwrite",
            "insecureSkipTLSVerify",
        ],
    ),
    step(
        "oci-push",
        &["srcRef", "destRef"],
        &["srcRef", "destRef", "annotations", "insecureSkipTLSVerify"],
    ),
    step("set-freight-alias", &["name", "alias"], &["name", "alias"]),
    step("set-metadata", &["updates"], &["updates"]),
    step(
        "tar",
        &["inPath", "outPath"],
        &["inPath", "outPath", "ignore", "gzip"],
    ),
    in_checkout(step(
        "toml-parse",
        &["path", "outputs"],
        &["path", "outputs"],
    )),
    in_checkout(step(
        "toml-update",
        &["path", "updates"],
        &["path", "updates"],
    )),
    step(
        "untar",
        &["inPath", "outPath"],
        &["inPath", "outPath", "ignore", "stripComponents"],
    ),
    step(
        "yaml-merge",
        &["inFiles", "outFile"],
        &["inFiles", "outFile", "ignoreMissingFiles"],
    ),
    in_checkout(step(
        "yaml-parse",
        &["path", "outputs"],
        &["path", "outputs"],
    )),
    in_checkout(step(
        "yaml-update",
        &["path", "updates"],
        &["path", "updates"],
    )),
];

/// Steps documented upstream for the Enterprise build only.
pub const ENTERPRISE_STEPS: &[&str] = &[
    "wait-for-approval",
    "get-user-input",
    "send-message",
    "record-audit-event",
    "jira",
    "gha-dispatch-workflow",
    "gha-wait-for-workflow",
    "tf-plan",
    "tf-apply",
    "tf-output",
    "hcl-update",
    "jfrog-evidence",
];

/// Looks a step kind up.
pub fn find(name: &str) -> Option<&'static StepKind> {
    STEP_KINDS.iter().find(|kind| kind.name == name)
}

/// Config keys of earlier steps' outputs that produce files outside any checkout.
pub const PRODUCED_PATH_FIELDS: &[&str] = &["outPath", "outFile"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_kargos_35_kinds_sorted_with_required_fields_known() {
        assert_eq!(STEP_KINDS.len(), 35);
        assert!(
            STEP_KINDS
                .windows(2)
                .all(|pair| pair[0].name < pair[1].name)
        );
        for kind in STEP_KINDS {
            for required in kind.required {
                assert!(kind.fields.contains(required), "{} {required}", kind.name);
            }
        }
        assert!(find("yaml-update").unwrap().path_in_checkout);
        assert!(find("helm-update-image").is_none());
    }
}
