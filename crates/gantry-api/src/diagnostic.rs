//! Diagnostics: what validation found, where, and how to fix it.
//!
//! A [`Diagnostic`] is plain data: a stable [`Code`] from the [`CHECKS`] catalogue, a severity,
//! a message, a primary location (file + byte span), optional related locations and a hint.
//! Rendering (rustc-style snippets, JSON) is the caller's job; the CLI uses miette.

use std::fmt;
use std::sync::Arc;

use crate::source::SourceFile;
use crate::yaml::Span;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The pipeline will not work as written.
    Error,
    /// It works, but probably not as intended, or it will break soon.
    Warning,
    /// Worth knowing (for instance: promotion to this Stage is manual).
    Note,
}

impl Severity {
    /// `error`, `warning` or `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A check of the catalogue: a stable code, a short name and its severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Check {
    /// Stable code such as `G0301`.
    pub code: &'static str,
    /// Kebab-case name such as `no-project`.
    pub name: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// One line saying what it finds.
    pub summary: &'static str,
}

/// The code of a check, as carried by a diagnostic.
pub type Code = &'static Check;

macro_rules! checks {
    ($($ident:ident = $code:literal, $name:literal, $severity:ident, $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $ident: Check = Check {
                code: $code,
                name: $name,
                severity: Severity::$severity,
                summary: $summary,
            };
        )*
        /// Every check, in code order.
        pub const CHECKS: &[Check] = &[$($ident),*];
    };
}

checks! {
    IO = "G0001", "io", Error, "a path could not be read";
    YAML_SYNTAX = "G0002", "yaml-syntax", Error, "a file is not valid YAML or JSON";
    NOT_A_RESOURCE = "G0003", "not-a-resource", Note, "a document has no apiVersion/kind and was skipped";
    UNKNOWN_KIND = "G0004", "unknown-kind", Note, "a resource kind gantry does not read was listed and skipped";
    UNKNOWN_FIELD = "G0005", "unknown-field", Warning, "a field is not part of the resource's schema";
    TYPE_MISMATCH = "G0006", "type-mismatch", Error, "a field has the wrong type";
    MISSING_FIELD = "G0007", "missing-field", Error, "a required field is missing";
    API_VERSION = "G0008", "unsupported-api-version", Error, "a known kind has an apiVersion gantry does not read";
    DUPLICATE_RESOURCE = "G0009", "duplicate-resource", Error, "the same resource is defined twice";
    INVALID_NAME = "G0101", "invalid-name", Error, "a name is missing or not a valid Kubernetes name";
    INVALID_ENUM = "G0102", "invalid-enum", Error, "a field has a value outside its allowed set";
    INVALID_DURATION = "G0103", "invalid-duration", Error, "a duration is not in Go form such as 5m0s";
    OUT_OF_RANGE = "G0104", "out-of-range", Error, "a number is outside its allowed range";
    STEP_USES_XOR_TASK = "G0105", "step-uses-xor-task", Error, "a step needs exactly one of `uses` and `task`";
    SUBSCRIPTION_TYPE = "G0106", "subscription-type", Error, "a subscription needs exactly one of image, git, chart (or one generic type)";
    DEPRECATED_FIELD = "G0107", "deprecated-field", Warning, "a field still works but is deprecated";
    REMOVED_FIELD = "G0108", "removed-field", Error, "a field or step kind was removed upstream";
    LEGACY_PROJECT_POLICIES = "G0109", "legacy-project-policies", Warning, "Project.spec.promotionPolicies is the pre-v1.7 form of ProjectConfig";
    INVALID_REGEX = "G0110", "invalid-regex", Error, "a regular expression does not compile";
    INVALID_PATTERN = "G0111", "invalid-pattern", Error, "a value does not match its required pattern";
    EMPTY_LIST = "G0112", "empty-list", Error, "a list that needs at least one item is empty";
    FIELD_COMBINATION = "G0113", "field-combination", Error, "fields are combined in a way that cannot work";
    UNKNOWN_WAREHOUSE = "G0201", "unknown-warehouse", Error, "a requested Freight origin names no Warehouse";
    UNKNOWN_UPSTREAM = "G0202", "unknown-upstream-stage", Error, "an upstream Stage does not exist";
    UPSTREAM_LACKS_ORIGIN = "G0203", "upstream-lacks-origin", Error, "an upstream Stage does not request the same origin";
    STAGE_CYCLE = "G0204", "stage-cycle", Error, "Stages form a cycle through their upstream sources";
    UNKNOWN_TASK = "G0205", "unknown-task", Error, "a `task:` reference resolves to no PromotionTask";
    MISSING_TASK_VAR = "G0206", "missing-task-var", Error, "a task var without a default is supplied by nobody";
    UNKNOWN_STEP = "G0207", "unknown-step-kind", Error, "`uses` names no known step kind";
    NESTED_TASK = "G0208", "nested-task", Error, "a PromotionTask step refers to another task";
    PROJECT_CONFIG_NAME = "G0209", "project-config-name", Error, "a ProjectConfig is not named after its project";
    STEP_CONFIG_MISSING = "G0210", "step-config-missing", Error, "a step's config lacks a required field";
    STEP_CONFIG_UNKNOWN = "G0211", "step-config-unknown", Warning, "a step's config has a field the step does not read";
    NO_PROJECT = "G0301", "no-project", Error, "a namespace has Stages but no Project, so nothing is ever promoted";
    MANUAL_PROMOTION = "G0302", "manual-promotion", Note, "no promotion policy enables auto-promotion for a Stage";
    ARGOCD_UNAUTHORIZED = "G0303", "argocd-unauthorized", Error, "an Argo CD Application lacks the authorized-stage annotation for a Stage that updates it";
    PATH_OUTSIDE_CHECKOUT = "G0304", "path-outside-checkout", Error, "a step path is not under any checkout of an earlier git-clone";
    GIT_NO_CREDENTIALS = "G0305", "git-no-credentials", Warning, "an HTTP(S) git repository has no credential Secret and no token";
    DUPLICATE_ALIAS = "G0306", "duplicate-alias", Error, "two steps share an alias (`as`)";
    UNKNOWN_OUTPUT = "G0307", "unknown-output", Error, "an expression reads outputs of a step alias that no earlier step has";
    UNDEFINED_VAR = "G0308", "undefined-var", Error, "an expression reads a var that is not defined";
    TOKEN_IN_URL = "G0309", "token-in-url", Warning, "a credential is written inside a repository URL";
    POLICY_MATCHES_NOTHING = "G0310", "policy-matches-nothing", Warning, "a promotion policy names a Stage that does not exist";
    UNCLOSED_EXPRESSION = "G0401", "unclosed-expression", Error, "an expression delimiter `${{` or `${%` is never closed";
    EXPRESSION_SYNTAX = "G0402", "expression-syntax", Error, "an expression does not parse";
    UNKNOWN_VARIABLE = "G0403", "unknown-variable", Warning, "an expression reads a variable Kargo does not provide there (it evaluates to nil)";
    RGD_SCHEMA = "G0501", "rgd-schema", Error, "a ResourceGraphDefinition's schema is invalid (SimpleSchema grammar, kind, version, scope, status fields)";
    RGD_RESOURCE_ID = "G0502", "rgd-resource-id", Error, "an RGD resource id (or forEach iterator) is reserved, not lowerCamelCase or duplicated";
    RGD_RESOURCE = "G0503", "rgd-resource", Error, "an RGD resource is malformed (template vs externalRef, object shape, forEach, standalone conditions)";
    RGD_EXPRESSION = "G0504", "rgd-expression", Error, "an RGD `${...}` expression does not parse or calls a function that does not exist";
    RGD_UNKNOWN_REFERENCE = "G0505", "rgd-unknown-reference", Error, "an RGD expression reads an identifier that is not schema, a resource id or a variable in scope";
    RGD_CYCLE = "G0506", "rgd-cycle", Error, "RGD resources depend on themselves or on each other in a cycle";
    RGD_UNSUPPORTED_FUNCTION = "G0507", "rgd-unsupported-function", Warning, "an RGD expression calls a Kro function gantry cannot evaluate offline";
    RGD_TYPE_MISMATCH = "G0508", "rgd-type-mismatch", Error, "an RGD expression reads an instance field of the wrong type (a non-string in a string template, a non-boolean includeWhen, a non-list forEach)";
}

/// Looks a check up by code (`G0301`) or name (`no-project`).
pub fn find_check(code_or_name: &str) -> Option<&'static Check> {
    CHECKS
        .iter()
        .find(|check| check.code.eq_ignore_ascii_case(code_or_name) || check.name == code_or_name)
}

/// A place in a file.
#[derive(Clone, Debug)]
pub struct Location {
    /// The file.
    pub file: Arc<SourceFile>,
    /// The byte range.
    pub span: Span,
}

impl Location {
    /// 1-based line and column of the start.
    pub fn line_col(&self) -> (usize, usize) {
        self.file.line_col(self.span.start)
    }
}

impl PartialEq for Location {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.file, &other.file) && self.span == other.span
    }
}

/// A secondary location with a message ("first defined here").
#[derive(Clone, Debug, PartialEq)]
pub struct Related {
    /// Where.
    pub location: Location,
    /// What it shows.
    pub message: String,
}

/// One finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Which check found it.
    pub check: Code,
    /// Its severity (usually the check's).
    pub severity: Severity,
    /// What is wrong, starting lowercase, no trailing period.
    pub message: String,
    /// Where (absent only for findings about no file at all).
    pub location: Option<Location>,
    /// Short text shown under the caret.
    pub label: Option<String>,
    /// Other places that explain it.
    pub related: Vec<Related>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A finding of `check` with its default severity.
    pub fn new(check: Code, message: impl Into<String>) -> Self {
        Self {
            check,
            severity: check.severity,
            message: message.into(),
            location: None,
            label: None,
            related: Vec::new(),
            help: None,
        }
    }

    /// Sets the primary location.
    #[must_use]
    pub fn at(mut self, file: &Arc<SourceFile>, span: Span) -> Self {
        self.location = Some(Location {
            file: Arc::clone(file),
            span,
        });
        self
    }

    /// Sets the primary location if there is one.
    #[must_use]
    pub fn at_location(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Sets the text under the caret.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the hint.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a related location.
    #[must_use]
    pub fn related(mut self, location: Location, message: impl Into<String>) -> Self {
        self.related.push(Related {
            location,
            message: message.into(),
        });
        self
    }

    /// Overrides the severity.
    #[must_use]
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the hint in place.
    pub fn set_help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the caret text in place.
    pub fn set_label(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = Some(label.into());
        self
    }

    /// Overrides the severity in place.
    pub fn set_severity(&mut self, severity: Severity) -> &mut Self {
        self.severity = severity;
        self
    }

    /// The check's code, e.g. `G0301`.
    pub fn code(&self) -> &'static str {
        self.check.code
    }

    /// A sort key: file, position, code, message.
    pub fn sort_key(&self) -> (String, usize, &'static str, String) {
        match &self.location {
            Some(location) => (
                location.file.name().to_owned(),
                location.span.start,
                self.check.code,
                self.message.clone(),
            ),
            None => (String::new(), 0, self.check.code, self.message.clone()),
        }
    }
}

/// Sorts diagnostics by place and removes exact duplicates (the same finding reached twice,
/// e.g. through two Stages that share a PromotionTask).
pub fn sort_and_dedup(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by_key(Diagnostic::sort_key);
    diagnostics
        .dedup_by(|a, b| a.check == b.check && a.message == b.message && a.location == b.location);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for check in CHECKS {
            assert!(seen.insert(check.code), "duplicate {}", check.code);
            assert!(seen.insert(check.name), "duplicate {}", check.name);
            assert!(check.code.len() == 5 && check.code.starts_with('G'));
        }
        assert_eq!(find_check("no-project").unwrap().code, "G0301");
        assert_eq!(find_check("g0301").unwrap().name, "no-project");
    }
}
