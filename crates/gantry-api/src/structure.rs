//! Structural checks: one resource at a time, no references followed.
//!
//! Required fields and types are enforced while decoding ([`crate::load`]); this module checks
//! what decoding cannot: names and patterns, enum values, ranges, exactly-one-of rules, and
//! deprecated or removed fields (with their replacement). Cross-resource checks live in
//! `gantry-core`.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnostic::{self, Check, Diagnostic};
use crate::kargo::{
    self, ChartSubscription, CommitSelectionStrategy, ExpressionVariable, GitSubscription,
    ImageSelectionStrategy, ImageSubscription, PromotionPolicy, PromotionStep, SelectionPolicy,
};
use crate::load::ResourceSet;
use crate::path::FieldPath;
use crate::resource::{Kind, Object, Resource};
use crate::suggest;

static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([0-9]+(\.[0-9]+)?(s|m|h))+$").expect("constant pattern compiles")
});
static IMAGE_REPO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([A-Za-z0-9_]+([.-][A-Za-z0-9_]+)*(:[0-9]+)?/)?([A-Za-z0-9_]+([.-][A-Za-z0-9_]+)*)(/[A-Za-z0-9_]+([.-][A-Za-z0-9_]+)*)*$",
    )
    .expect("constant pattern compiles")
});
static CHART_REPO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(https?|oci)://[A-Za-z0-9.\-_]+(:[0-9]+)?(/.*)?$")
        .expect("constant pattern compiles")
});
static BRANCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z0-9]([a-zA-Z0-9._/-]*[a-zA-Z0-9_-])?$").expect("constant pattern compiles")
});
static VAR_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z_][a-zA-Z0-9_]*$").expect("constant pattern compiles"));
static RGD_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-zA-Z0-9]*$").expect("constant pattern compiles"));

/// Whether `text` is a Go duration of the form Kargo's CRDs accept (`5m0s`, `1h`, `30s`).
pub fn is_duration(text: &str) -> bool {
    DURATION.is_match(text)
}

/// Whether `text` is a DNS-1123 subdomain (Kubernetes object names).
pub fn is_dns_subdomain(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && text.as_bytes()[0].is_ascii_alphanumeric()
        && text.as_bytes()[text.len() - 1].is_ascii_alphanumeric()
}

/// Whether `text` is a DNS-1123 label (namespaces, subscription names).
pub fn is_dns_label(text: &str) -> bool {
    is_dns_subdomain(text) && text.len() <= 63 && !text.contains('.')
}

/// Runs every structural check over a loaded set.
pub fn check(set: &ResourceSet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for resource in &set.resources {
        let mut checker = Checker {
            resource,
            out: &mut out,
        };
        checker.check();
    }
    duplicates(set, &mut out);
    out
}

fn duplicates(set: &ResourceSet, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(Kind, Option<&str>, &str), &Resource> = HashMap::new();
    for resource in &set.resources {
        if resource.name.is_empty() {
            continue;
        }
        let key = (
            resource.kind,
            resource.namespace.as_deref(),
            resource.name.as_str(),
        );
        if let Some(first) = seen.get(&key) {
            out.push(
                Diagnostic::new(
                    &diagnostic::DUPLICATE_RESOURCE,
                    format!("{} is defined more than once", resource.display_name()),
                )
                .at_location(Some(resource.name_location()))
                .label("second definition")
                .related(first.name_location(), "first defined here")
                .help("rename one of them, or remove the copy"),
            );
        } else {
            seen.insert(key, resource);
        }
    }
}

struct Checker<'a> {
    resource: &'a Resource,
    out: &'a mut Vec<Diagnostic>,
}

impl Checker<'_> {
    fn report(
        &mut self,
        check: &'static Check,
        path: &FieldPath,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let location = self.resource.location(path);
        self.push(check, location, message)
    }

    fn report_key(
        &mut self,
        check: &'static Check,
        path: &FieldPath,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let location = self.resource.key_location(path);
        self.push(check, location, message)
    }

    fn push(
        &mut self,
        check: &'static Check,
        location: diagnostic::Location,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.out
            .push(Diagnostic::new(check, message).at_location(Some(location)));
        self.out.last_mut().expect("just pushed")
    }

    fn check(&mut self) {
        self.metadata();
        let resource = self.resource;
        match &resource.object {
            Object::Project(project) => {
                if let Some(spec) = &project.spec {
                    if !spec.promotion_policies.is_empty() {
                        let name = &resource.name;
                        self.report_key(
                            &diagnostic::LEGACY_PROJECT_POLICIES,
                            &FieldPath::parse("spec.promotionPolicies"),
                            "`Project.spec.promotionPolicies` is the pre-v1.7 form; Kargo v1.7+ reads promotion policies from a ProjectConfig",
                        )
                        .set_label("accepted by gantry as a ProjectConfig")
                        .set_help(format!(
                            "move them to `kind: ProjectConfig` with `metadata: {{name: {name}, namespace: {name}}}` and `spec.promotionPolicies`, using `stageSelector: {{name: <stage>}}`"
                        ));
                    }
                    self.policies(
                        &spec.promotion_policies,
                        &FieldPath::parse("spec.promotionPolicies"),
                        false,
                    );
                }
            }
            Object::ProjectConfig(config) => {
                self.policies(
                    &config.spec.promotion_policies,
                    &FieldPath::parse("spec.promotionPolicies"),
                    true,
                );
            }
            Object::ClusterConfig(_) => {
                if resource.name != "cluster" {
                    self.report(
                        &diagnostic::INVALID_NAME,
                        &FieldPath::parse("metadata.name"),
                        "a ClusterConfig must be named `cluster`",
                    )
                    .set_help("set `metadata.name: cluster`; any other ClusterConfig is ignored");
                }
            }
            Object::Warehouse(warehouse) => self.warehouse(warehouse),
            Object::Stage(stage) => self.stage(stage),
            Object::PromotionTask(task) | Object::ClusterPromotionTask(task) => {
                let path = FieldPath::parse("spec");
                self.vars(&task.spec.vars, &path.key("vars"));
                if task.spec.steps.is_empty() {
                    self.report(
                        &diagnostic::EMPTY_LIST,
                        &path.key("steps"),
                        format!("{} has no steps", resource.kind),
                    )
                    .set_help("add at least one step, such as `- uses: git-clone`");
                }
                for (index, step) in task.spec.steps.iter().enumerate() {
                    let step_path = path.key("steps").index(index);
                    if step.task.is_some() {
                        self.report_key(
                            &diagnostic::NESTED_TASK,
                            &step_path.key("task"),
                            "a task step cannot refer to another task",
                        )
                        .set_help(
                            "inline the other task's steps here; tasks are inflated one level only",
                        );
                        continue;
                    }
                    self.step(step, &step_path);
                }
            }
            Object::Promotion(promotion) => {
                let spec = &promotion.spec;
                if spec.stage.is_empty() {
                    self.report(
                        &diagnostic::MISSING_FIELD,
                        &FieldPath::parse("spec.stage"),
                        "a Promotion needs `spec.stage`",
                    );
                }
                if spec.freight.is_some() == spec.origin.is_some() {
                    self.report(
                        &diagnostic::FIELD_COMBINATION,
                        &FieldPath::parse("spec"),
                        "a Promotion needs exactly one of `spec.freight` and `spec.origin`",
                    );
                }
            }
            Object::Freight(freight) => {
                if freight.origin.kind != "Warehouse" {
                    self.report(
                        &diagnostic::INVALID_ENUM,
                        &FieldPath::parse("origin.kind"),
                        format!(
                            "Freight origin kind `{}` is not supported",
                            freight.origin.kind
                        ),
                    )
                    .set_help("the only origin kind is `Warehouse`");
                }
                if freight.commits.is_empty()
                    && freight.images.is_empty()
                    && freight.charts.is_empty()
                    && freight.artifacts.is_empty()
                {
                    self.report(
                        &diagnostic::EMPTY_LIST,
                        &FieldPath::root(),
                        "Freight must reference at least one artifact",
                    )
                    .set_help("add `images`, `commits`, `charts` or `artifacts`");
                }
            }
            Object::Application(application) => {
                let spec = &application.spec;
                if spec.source.is_none()
                    && spec.sources.is_empty()
                    && spec.source_hydrator.is_none()
                {
                    self.report(
                        &diagnostic::MISSING_FIELD,
                        &FieldPath::parse("spec"),
                        "an Application needs `spec.source` or `spec.sources`",
                    );
                }
                if spec.destination.server.is_some() && spec.destination.name.is_some() {
                    self.report(
                        &diagnostic::FIELD_COMBINATION,
                        &FieldPath::parse("spec.destination"),
                        "`destination.server` and `destination.name` are mutually exclusive",
                    )
                    .set_help("keep one of them");
                }
            }
            Object::ResourceGraphDefinition(rgd) => {
                let schema = &rgd.spec.schema;
                let kind_ok = schema.kind.len() <= 63
                    && schema.kind.starts_with(|c: char| c.is_ascii_uppercase())
                    && schema.kind.chars().all(|c| c.is_ascii_alphanumeric());
                if !kind_ok {
                    self.report(
                        &diagnostic::INVALID_PATTERN,
                        &FieldPath::parse("spec.schema.kind"),
                        format!("`{}` is not a valid kind", schema.kind),
                    )
                    .set_help("use UpperCamelCase letters and digits, such as `WebApplication`");
                }
                let mut ids: HashMap<&str, usize> = HashMap::new();
                for (index, node) in rgd.spec.resources.iter().enumerate() {
                    let path = FieldPath::parse("spec.resources").index(index);
                    if !RGD_ID.is_match(&node.id) {
                        self.report(
                            &diagnostic::INVALID_PATTERN,
                            &path.key("id"),
                            format!("resource id `{}` is not lowerCamelCase", node.id),
                        )
                        .set_help(
                            "ids match ^[a-z][a-zA-Z0-9]*$, such as `deployment` or `webService`",
                        );
                    }
                    if ids.insert(&node.id, index).is_some() {
                        self.report(
                            &diagnostic::DUPLICATE_RESOURCE,
                            &path.key("id"),
                            format!("resource id `{}` is used twice", node.id),
                        );
                    }
                    if node.template.is_some() == node.external_ref.is_some() {
                        self.report(
                            &diagnostic::FIELD_COMBINATION,
                            &path,
                            format!(
                                "resource `{}` needs exactly one of `template` and `externalRef`",
                                node.id
                            ),
                        );
                    }
                }
            }
            Object::Secret(secret) => {
                if let Some(cred_type) = secret.metadata.labels.get(kargo::LABEL_CRED_TYPE) {
                    if !["git", "helm", "image", "generic"].contains(&cred_type.as_str()) {
                        self.report(&diagnostic::INVALID_ENUM, &FieldPath::parse("metadata.labels"), format!("credential type `{cred_type}` is not one of git, helm, image, generic"));
                    } else if cred_type != "generic"
                        && secret.value("repoURL").is_none()
                        && secret.value("repoURLPattern").is_none()
                    {
                        self.report(&diagnostic::MISSING_FIELD, &FieldPath::root(), format!("a `{cred_type}` credential Secret needs a `repoURL` (or `repoURLPattern`) key"))
                            .set_help("add `stringData: {repoURL: https://host/org/repo.git, username: ..., password: ...}`");
                    }
                }
            }
            Object::ApplicationSet(_) => {}
        }
    }

    fn metadata(&mut self) {
        let resource = self.resource;
        let path = FieldPath::parse("metadata.name");
        if resource.name.is_empty() {
            if resource.kind != Kind::Promotion || resource.metadata().generate_name.is_none() {
                self.report(
                    &diagnostic::INVALID_NAME,
                    &path,
                    format!("{} has no `metadata.name`", resource.kind),
                )
                .set_help("every resource needs a name: lowercase letters, digits, `-` and `.`");
            }
        } else if !is_dns_subdomain(&resource.name) {
            self.report(&diagnostic::INVALID_NAME, &path, format!("`{}` is not a valid Kubernetes name", resource.name))
                .set_label("invalid name")
                .set_help("names use lowercase letters, digits, `-` and `.`, start and end with a letter or digit, at most 253 characters");
        }
        if let Some(namespace) = &resource.metadata().namespace
            && resource.kind.is_namespaced()
            && !is_dns_label(namespace)
        {
            self.report(
                &diagnostic::INVALID_NAME,
                &FieldPath::parse("metadata.namespace"),
                format!("`{namespace}` is not a valid namespace name"),
            )
            .set_help("namespaces use lowercase letters, digits and `-`, at most 63 characters");
        }
    }

    fn enum_value(&mut self, path: &FieldPath, value: &str, allowed: &[&str], what: &str) {
        let mut diagnostic = Diagnostic::new(
            &diagnostic::INVALID_ENUM,
            format!("`{value}` is not a valid {what}"),
        )
        .at_location(Some(self.resource.location(path)))
        .label(format!("expected one of {}", allowed.join(", ")));
        if let Some(candidate) = suggest::similar(value, allowed.iter().copied()) {
            diagnostic.set_help(format!("did you mean `{candidate}`?"));
        }
        self.out.push(diagnostic);
    }

    fn duration(&mut self, path: &FieldPath, value: &str) {
        if !is_duration(value) {
            self.report(
                &diagnostic::INVALID_DURATION,
                path,
                format!("`{value}` is not a valid duration"),
            )
            .set_label("expected a duration")
            .set_help(
                "use Go duration syntax with h, m and s units, such as `5m0s`, `1h` or `90s`",
            );
        }
    }

    fn discovery_limit(&mut self, path: &FieldPath, value: i64) {
        if !(1..=100).contains(&value) {
            self.report(
                &diagnostic::OUT_OF_RANGE,
                path,
                format!("discoveryLimit {value} is out of range"),
            )
            .set_label("must be between 1 and 100")
            .set_help("the default is 20");
        }
    }

    fn regexes(&mut self, path: &FieldPath, patterns: &[String]) {
        for (index, pattern) in patterns.iter().enumerate() {
            self.regex(&path.index(index), pattern);
        }
    }

    fn regex(&mut self, path: &FieldPath, pattern: &str) {
        let Err(error) = Regex::new(pattern) else {
            return;
        };
        let reason = error
            .to_string()
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_owned();
        self.report(&diagnostic::INVALID_REGEX, path, format!("regular expression does not compile: {reason}"))
            .set_help("use RE2 syntax (Go regexp); it is matched unanchored, so add ^ and $ to match whole tags");
    }

    fn vars(&mut self, vars: &[ExpressionVariable], path: &FieldPath) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (index, var) in vars.iter().enumerate() {
            let var_path = path.index(index).key("name");
            if !VAR_NAME.is_match(&var.name) {
                self.report(&diagnostic::INVALID_PATTERN, &var_path, format!("`{}` is not a valid var name", var.name))
                    .set_help("var names match ^[a-zA-Z_]\\w*$ (letters, digits, `_`), so that `vars.name` works in expressions");
            }
            if let Some(first) = seen.insert(&var.name, index) {
                let first_location = self.resource.location(&path.index(first).key("name"));
                self.report(
                    &diagnostic::FIELD_COMBINATION,
                    &var_path,
                    format!("var `{}` is defined twice; the later one wins", var.name),
                )
                .set_severity(diagnostic::Severity::Warning);
                if let Some(last) = self.out.last_mut() {
                    last.related.push(diagnostic::Related {
                        location: first_location,
                        message: "first defined here".to_owned(),
                    });
                }
            }
        }
    }

    fn policies(&mut self, policies: &[PromotionPolicy], path: &FieldPath, modern: bool) {
        for (index, policy) in policies.iter().enumerate() {
            let policy_path = path.index(index);
            match (&policy.stage, &policy.stage_selector) {
                (Some(_), Some(_)) | (None, None) => {
                    self.report(
                        &diagnostic::FIELD_COMBINATION,
                        &policy_path,
                        "a promotion policy needs exactly one of `stage` and `stageSelector`",
                    );
                }
                (Some(stage), None) if modern => {
                    self.report_key(
                        &diagnostic::DEPRECATED_FIELD,
                        &policy_path.key("stage"),
                        "`stage` is deprecated in promotion policies",
                    )
                    .set_help(format!("use `stageSelector: {{name: {stage}}}`"));
                }
                (_, Some(selector)) => {
                    if let Some(name) = &selector.name {
                        let pattern = name
                            .strip_prefix("regex:")
                            .or_else(|| name.strip_prefix("regexp:"));
                        if let Some(pattern) = pattern {
                            self.regex(&policy_path.key("stageSelector").key("name"), pattern);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn warehouse(&mut self, warehouse: &kargo::Warehouse) {
        let spec = &warehouse.spec;
        let path = FieldPath::parse("spec");
        self.duration(&path.key("interval"), &spec.interval);
        if let kargo::FreightCreationPolicy::Unknown(value) = &spec.freight_creation_policy {
            self.enum_value(
                &path.key("freightCreationPolicy"),
                value,
                kargo::FreightCreationPolicy::VALUES,
                "freightCreationPolicy",
            );
        }
        if spec.subscriptions.is_empty() {
            self.report(&diagnostic::EMPTY_LIST, &path.key("subscriptions"), "a Warehouse needs at least one subscription")
                .set_help("add `- image: {repoURL: ...}`, `- git: {repoURL: ...}` or `- chart: {repoURL: ...}`");
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut repos: HashMap<(&str, String), usize> = HashMap::new();
        for (index, subscription) in spec.subscriptions.iter().enumerate() {
            let sub_path = path.key("subscriptions").index(index);
            let types = subscription.types();
            if types.len() != 1 {
                let message = if types.is_empty() {
                    "subscription has no type".to_owned()
                } else {
                    format!(
                        "subscription has {} types ({}); it needs exactly one",
                        types.len(),
                        types.join(", ")
                    )
                };
                self.report(&diagnostic::SUBSCRIPTION_TYPE, &sub_path, message)
                    .set_help("each list item is one of `image:`, `git:` or `chart:`; make a separate item for each");
            }
            if let Some(name) = &subscription.name {
                if !is_dns_label(name) {
                    self.report(
                        &diagnostic::INVALID_NAME,
                        &sub_path.key("name"),
                        format!("subscription name `{name}` is not a valid DNS label"),
                    );
                }
                if names.insert(name, index).is_some() {
                    self.report(
                        &diagnostic::DUPLICATE_RESOURCE,
                        &sub_path.key("name"),
                        format!("subscription name `{name}` is used twice in this Warehouse"),
                    );
                }
            }
            if let Some(image) = &subscription.image {
                self.image_subscription(image, &sub_path.key("image"));
                if repos
                    .insert(("image", image.repo_url.clone()), index)
                    .is_some()
                {
                    self.report(&diagnostic::FIELD_COMBINATION, &sub_path.key("image").key("repoURL"), format!("image repository `{}` is subscribed twice", image.repo_url))
                        .set_help("a Warehouse may subscribe to a repository once per type; use a second Warehouse");
                }
            }
            if let Some(git) = &subscription.git {
                self.git_subscription(git, &sub_path.key("git"));
            }
            if let Some(chart) = &subscription.chart {
                self.chart_subscription(chart, &sub_path.key("chart"));
            }
            for (key, config) in &subscription.other {
                if !config.is_object() {
                    self.report(&diagnostic::SUBSCRIPTION_TYPE, &sub_path.key(key.clone()), format!("`{key}` is not a known subscription type"))
                        .set_help(match suggest::similar(key, ["image", "git", "chart", "name"]) {
                            Some(candidate) => format!("did you mean `{candidate}`?"),
                            None => "subscription types are `image`, `git`, `chart`, or a generic type whose value is a mapping".to_owned(),
                        });
                }
            }
        }
    }

    fn image_subscription(&mut self, image: &ImageSubscription, path: &FieldPath) {
        let repo = &image.repo_url;
        if !IMAGE_REPO.is_match(repo) {
            let help = if repo.contains("://") {
                "write the repository without a scheme, such as `ghcr.io/org/app`".to_owned()
            } else if repo
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':') || last.contains('@'))
            {
                "remove the tag or digest: the Warehouse discovers tags itself".to_owned()
            } else {
                "use a repository reference such as `docker.io/library/nginx`".to_owned()
            };
            self.report(
                &diagnostic::INVALID_PATTERN,
                &path.key("repoURL"),
                format!(
                    "`{}` is not a valid image repository",
                    crate::redact::url(repo)
                ),
            )
            .set_help(help);
        }
        if let ImageSelectionStrategy::Unknown(value) = &image.image_selection_strategy {
            self.enum_value(
                &path.key("imageSelectionStrategy"),
                value,
                ImageSelectionStrategy::VALUES,
                "imageSelectionStrategy",
            );
        }
        if image.semver_constraint.is_some() {
            let replacement = image.semver_constraint.clone().unwrap_or_default();
            self.report_key(
                &diagnostic::REMOVED_FIELD,
                &path.key("semverConstraint"),
                "`semverConstraint` was removed from image subscriptions in Kargo v1.9",
            )
            .set_label("no longer read")
            .set_help(format!("rename it to `constraint: {replacement}`"));
        }
        if image.allow_tags.is_some() {
            self.report_key(
                &diagnostic::REMOVED_FIELD,
                &path.key("allowTags"),
                "`allowTags` makes discovery fail since Kargo v1.11",
            )
            .set_help("use `allowTagsRegexes: [\"<regex>\"]`");
        }
        if image.ignore_tags.is_some() {
            self.report_key(
                &diagnostic::REMOVED_FIELD,
                &path.key("ignoreTags"),
                "`ignoreTags` makes discovery fail since Kargo v1.11",
            )
            .set_help("use `ignoreTagsRegexes: [\"^<tag>$\"]`");
        }
        if image.image_selection_strategy == ImageSelectionStrategy::Digest
            && image.constraint.as_deref().is_none_or(str::is_empty)
        {
            self.report(
                &diagnostic::FIELD_COMBINATION,
                path,
                "the Digest strategy needs `constraint`: the mutable tag to follow",
            )
            .set_help("add `constraint: latest` (or whichever tag moves)");
        }
        if image.image_selection_strategy == ImageSelectionStrategy::SemVer {
            self.semver_constraint(&path.key("constraint"), image.constraint.as_deref());
        }
        self.regexes(&path.key("allowTagsRegexes"), &image.allow_tags_regexes);
        self.regexes(&path.key("ignoreTagsRegexes"), &image.ignore_tags_regexes);
        self.discovery_limit(&path.key("discoveryLimit"), image.discovery_limit);
        if let Some(platform) = &image.platform {
            let parts: Vec<&str> = platform.split('/').collect();
            if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
                self.report(
                    &diagnostic::INVALID_PATTERN,
                    &path.key("platform"),
                    format!("`{platform}` is not a platform"),
                )
                .set_help("use os/arch[/variant], such as `linux/amd64` or `linux/arm64/v8`");
            }
        }
    }

    fn git_subscription(&mut self, git: &GitSubscription, path: &FieldPath) {
        self.git_url(&path.key("repoURL"), &git.repo_url);
        if let CommitSelectionStrategy::Unknown(value) = &git.commit_selection_strategy {
            self.enum_value(
                &path.key("commitSelectionStrategy"),
                value,
                CommitSelectionStrategy::VALUES,
                "commitSelectionStrategy",
            );
        }
        if let Some(branch) = &git.branch {
            if branch.is_empty() || branch.len() > 255 || !BRANCH.is_match(branch) {
                self.report(
                    &diagnostic::INVALID_PATTERN,
                    &path.key("branch"),
                    format!("`{branch}` is not a valid branch name"),
                );
            }
            if git.commit_selection_strategy != CommitSelectionStrategy::NewestFromBranch {
                self.report_key(
                    &diagnostic::FIELD_COMBINATION,
                    &path.key("branch"),
                    format!(
                        "`branch` is ignored by the {} strategy",
                        git.commit_selection_strategy
                    ),
                )
                .set_severity(diagnostic::Severity::Warning)
                .set_help("tag strategies look at tags of the whole repository; remove `branch`");
            }
        }
        if git.allow_tags.is_some() {
            self.report_key(
                &diagnostic::DEPRECATED_FIELD,
                &path.key("allowTags"),
                "`allowTags` is deprecated",
            )
            .set_help("use `allowTagsRegexes: [\"<regex>\"]`");
        }
        if git.ignore_tags.is_some() {
            self.report_key(
                &diagnostic::DEPRECATED_FIELD,
                &path.key("ignoreTags"),
                "`ignoreTags` is deprecated",
            )
            .set_help("use `ignoreTagsRegexes: [\"^<tag>$\"]`");
        }
        if git.commit_selection_strategy == CommitSelectionStrategy::SemVer {
            self.semver_constraint(
                &path.key("semverConstraint"),
                git.semver_constraint.as_deref(),
            );
        }
        self.regexes(&path.key("allowTagsRegexes"), &git.allow_tags_regexes);
        self.regexes(&path.key("ignoreTagsRegexes"), &git.ignore_tags_regexes);
        self.discovery_limit(&path.key("discoveryLimit"), git.discovery_limit);
    }

    fn git_url(&mut self, path: &FieldPath, url: &str) {
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        let scp = scheme.is_none() && url.contains('@') && url.contains(':');
        match scheme {
            Some("http" | "https" | "file") => {}
            Some("ssh") => {
                self.report(
                    &diagnostic::DEPRECATED_FIELD,
                    path,
                    "SSH repository URLs are deprecated (removal in Kargo v1.13)",
                )
                .set_help("use an https:// URL with a credential Secret");
            }
            None if scp => {
                self.report(
                    &diagnostic::DEPRECATED_FIELD,
                    path,
                    "SSH repository URLs are deprecated (removal in Kargo v1.13)",
                )
                .set_help("use an https:// URL with a credential Secret");
            }
            _ => {
                self.report(
                    &diagnostic::INVALID_PATTERN,
                    path,
                    format!("`{}` is not a git repository URL", crate::redact::url(url)),
                )
                .set_help("use https://host/org/repo.git");
            }
        }
    }

    fn chart_subscription(&mut self, chart: &ChartSubscription, path: &FieldPath) {
        let repo = &chart.repo_url;
        if !CHART_REPO.is_match(repo) {
            self.report(
                &diagnostic::INVALID_PATTERN,
                &path.key("repoURL"),
                format!(
                    "`{}` is not a chart repository URL",
                    crate::redact::url(repo)
                ),
            )
            .set_help("use https://charts.example.com or oci://registry/org/chart");
        } else if repo.starts_with("oci://") {
            if chart.name.as_deref().is_some_and(|name| !name.is_empty()) {
                self.report_key(
                    &diagnostic::FIELD_COMBINATION,
                    &path.key("name"),
                    "`name` must be empty for an oci:// chart repository",
                )
                .set_help("the chart name is the last path segment of repoURL");
            }
        } else if chart.name.as_deref().is_none_or(str::is_empty) {
            self.report(
                &diagnostic::MISSING_FIELD,
                path,
                "an HTTP chart repository needs the chart `name`",
            );
        }
        self.semver_constraint(
            &path.key("semverConstraint"),
            chart.semver_constraint.as_deref(),
        );
        self.discovery_limit(&path.key("discoveryLimit"), chart.discovery_limit);
    }

    /// A non-empty constraint must parse as Masterminds semver (Kargo checks it at discovery).
    fn semver_constraint(&mut self, path: &FieldPath, constraint: Option<&str>) {
        let Some(text) = constraint.filter(|c| !c.is_empty()) else {
            return;
        };
        let Err(error) = crate::semver::Constraint::parse(text) else {
            return;
        };
        self.report(
            &diagnostic::INVALID_PATTERN,
            path,
            format!("`{text}` is not a semver constraint: {error}"),
        )
        .set_help("use Masterminds syntax such as `^1.2`, `~1.2.3`, `>=1.0.0, <2.0.0` or `1.x`");
    }

    fn stage(&mut self, stage: &kargo::Stage) {
        let spec = &stage.spec;
        let path = FieldPath::parse("spec");
        self.vars(&spec.vars, &path.key("vars"));
        if spec.requested_freight.is_empty() {
            self.report(&diagnostic::EMPTY_LIST, &path.key("requestedFreight"), "a Stage needs at least one requested Freight origin")
                .set_help("add `requestedFreight: [{origin: {kind: Warehouse, name: <warehouse>}, sources: {direct: true}}]`");
        }
        for (index, request) in spec.requested_freight.iter().enumerate() {
            let request_path = path.key("requestedFreight").index(index);
            if request.origin.kind != "Warehouse" {
                self.enum_value(
                    &request_path.key("origin").key("kind"),
                    &request.origin.kind,
                    &["Warehouse"],
                    "origin kind",
                );
            }
            let sources = &request.sources;
            let sources_path = request_path.key("sources");
            if !sources.direct && sources.stages.is_empty() {
                self.report(&diagnostic::FIELD_COMBINATION, &sources_path, "no Freight can ever be available: `direct` is false and no upstream `stages` are listed")
                    .set_help("set `direct: true` to take Freight from the Warehouse, or list upstream Stages");
            }
            if let Some(soak) = &sources.required_soak_time {
                self.duration(&sources_path.key("requiredSoakTime"), soak);
            }
            if let kargo::AvailabilityStrategy::Unknown(value) = &sources.availability_strategy {
                self.enum_value(
                    &sources_path.key("availabilityStrategy"),
                    value,
                    kargo::AvailabilityStrategy::VALUES,
                    "availabilityStrategy",
                );
            }
            if let Some(options) = &sources.auto_promotion_options {
                let policy_path = sources_path
                    .key("autoPromotionOptions")
                    .key("selectionPolicy");
                match &options.selection_policy {
                    SelectionPolicy::Unknown(value) => self.enum_value(
                        &policy_path,
                        value,
                        SelectionPolicy::VALUES,
                        "selectionPolicy",
                    ),
                    SelectionPolicy::MatchUpstream if sources.stages.len() != 1 => {
                        self.report(
                            &diagnostic::FIELD_COMBINATION,
                            &policy_path,
                            "MatchUpstream needs exactly one upstream Stage",
                        )
                        .set_help("list exactly one Stage in `sources.stages`");
                    }
                    _ => {}
                }
            }
        }
        if let Some(template) = &spec.promotion_template {
            let template_path = path.key("promotionTemplate").key("spec");
            self.vars(&template.spec.vars, &template_path.key("vars"));
            for (index, step) in template.spec.steps.iter().enumerate() {
                self.step(step, &template_path.key("steps").index(index));
            }
        }
    }

    fn step(&mut self, step: &PromotionStep, path: &FieldPath) {
        match (&step.uses, &step.task) {
            (Some(_), Some(_)) => {
                self.report(&diagnostic::STEP_USES_XOR_TASK, path, "a step has both `uses` and `task`")
                    .set_help("a step either runs a step kind (`uses`) or inflates a PromotionTask (`task`); split it in two");
            }
            (None, None) => {
                self.report(&diagnostic::STEP_USES_XOR_TASK, path, "a step has neither `uses` nor `task`")
                    .set_help("add `uses: <step kind>` (such as git-clone) or `task: {name: <PromotionTask>}`");
            }
            (Some(uses), None) => {
                if uses == "helm-update-image" {
                    self.report(&diagnostic::REMOVED_FIELD, &path.key("uses"), "step kind `helm-update-image` was removed in Kargo v1.3")
                        .set_help("use `yaml-update` on the values file, with `value: ${{ imageFrom(\"<repo>\").Tag }}`");
                }
            }
            (None, Some(_)) => {
                if step.continue_on_error || step.retry.is_some() {
                    self.report(
                        &diagnostic::FIELD_COMBINATION,
                        path,
                        "a task step cannot set `continueOnError` or `retry`",
                    )
                    .set_help("set them on the steps inside the PromotionTask");
                }
            }
        }
        if let Some(timeout) = step.retry.as_ref().and_then(|retry| retry.timeout.as_ref()) {
            self.duration(&path.key("retry").key("timeout"), timeout);
        }
        self.vars(&step.vars, &path.key("vars"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadOptions;

    fn codes(text: &str) -> Vec<(String, usize)> {
        let set = ResourceSet::load_str("t.yaml", text, LoadOptions::default());
        assert!(
            set.diagnostics
                .iter()
                .all(|d| d.severity != diagnostic::Severity::Error),
            "{:?}",
            set.diagnostics
        );
        check(&set)
            .iter()
            .map(|d| {
                (
                    d.code().to_owned(),
                    d.location.as_ref().unwrap().line_col().0,
                )
            })
            .collect()
    }

    #[test]
    fn patterns() {
        assert!(is_duration("5m0s") && is_duration("1h") && is_duration("1.5h"));
        assert!(!is_duration("5 min") && !is_duration("300") && !is_duration("5ms"));
        assert!(is_dns_subdomain("frontend-dev-stage") && !is_dns_subdomain("Frontend"));
        assert!(is_dns_label("develop") && !is_dns_label("a.b"));
        assert!(IMAGE_REPO.is_match("docker.io/zxc204fghasd/wsp-web-server-v2"));
        assert!(IMAGE_REPO.is_match("localhost:5000/app"));
        assert!(!IMAGE_REPO.is_match("nginx:1.2"));
    }

    #[test]
    fn warehouse_checks() {
        let found = codes(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  interval: 5 minutes\n  subscriptions:\n  - image:\n      repoURL: nginx:1.2\n      imageSelectionStrategy: Semver\n      semverConstraint: ^1.0\n      discoveryLimit: 500\n      allowTagsRegexes: ['(']\n  - {}\n",
        );
        assert_eq!(
            found,
            vec![
                ("G0103".to_owned(), 5),
                ("G0111".to_owned(), 8),
                ("G0102".to_owned(), 9),
                ("G0108".to_owned(), 10),
                ("G0110".to_owned(), 12),
                ("G0104".to_owned(), 11),
                ("G0106".to_owned(), 13),
            ]
        );
    }

    #[test]
    fn invalid_semver_constraints_are_reported_where_kargo_reads_them() {
        let found = codes(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  subscriptions:\n  - image: {repoURL: ghcr.io/a/b, constraint: '>= 1.x.y'}\n  - image: {repoURL: ghcr.io/a/c, constraint: '^1.2 || ~2'}\n  - image: {repoURL: ghcr.io/a/d, imageSelectionStrategy: Lexical, constraint: 'anything'}\n  - git: {repoURL: 'https://example.com/r.git', commitSelectionStrategy: SemVer, semverConstraint: 'v1 -'}\n  - chart: {repoURL: 'oci://ghcr.io/a/chart', semverConstraint: '1.0 ||'}\n",
        );
        assert_eq!(
            found,
            vec![
                ("G0111".to_owned(), 6),
                ("G0111".to_owned(), 9),
                ("G0111".to_owned(), 10),
            ]
        );
    }
}
