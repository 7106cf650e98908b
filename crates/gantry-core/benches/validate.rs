//! `cargo bench -p gantry-core --bench validate`: load and validate 1,000 resources in 200
//! files (40 projects × 5 files × 25 resources), and print the figures.
//!
//! Target: well under a second on the project's 2-core machine.

#![allow(
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark writes fixtures and prints figures"
)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use gantry_api::{LoadOptions, ResourceSet};
use gantry_core::lint;

fn project(dir: &std::path::Path, p: usize) -> std::io::Result<()> {
    let ns = format!("team-{p}");
    let mut files: Vec<(String, String)> = Vec::new();
    files.push((
        "project.yaml".into(),
        format!(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata:\n  name: {ns}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata:\n  name: {ns}\n  namespace: {ns}\nspec:\n  promotionPolicies:\n  - stageSelector: {{name: 'glob:*-dev'}}\n    autoPromotionEnabled: true\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: repo\n  namespace: {ns}\n  labels: {{kargo.akuity.io/cred-type: git}}\nstringData:\n  repoURL: https://git.example.com/{ns}/gitops.git\n  password: x\n"
        ),
    ));
    let mut warehouses = String::new();
    let mut stages = String::new();
    let mut apps = String::new();
    for s in 0..5 {
        let _ = write!(
            warehouses,
            "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata:\n  name: svc-{s}\n  namespace: {ns}\nspec:\n  subscriptions:\n  - image:\n      repoURL: ghcr.io/{ns}/svc-{s}\n      allowTagsRegexes: ['^v?[0-9]+\\.[0-9]+\\.[0-9]+$']\n"
        );
        let _ = write!(
            stages,
            "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: svc-{s}-dev\n  namespace: {ns}\nspec:\n  requestedFreight:\n  - origin: {{kind: Warehouse, name: svc-{s}}}\n    sources: {{direct: true}}\n  promotionTemplate:\n    spec:\n      vars:\n      - name: service\n        value: svc-{s}\n      steps:\n      - task: {{name: promote}}\n"
        );
        let _ = write!(
            stages,
            "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: svc-{s}-staging\n  namespace: {ns}\nspec:\n  requestedFreight:\n  - origin: {{kind: Warehouse, name: svc-{s}}}\n    sources: {{stages: [svc-{s}-dev], requiredSoakTime: 1h}}\n  promotionTemplate:\n    spec:\n      vars:\n      - name: service\n        value: svc-{s}\n      steps:\n      - task: {{name: notify}}\n"
        );
        let _ = write!(
            apps,
            "---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {ns}-svc-{s}-dev\n  namespace: argocd\n  annotations:\n    kargo.akuity.io/authorized-stage: {ns}:svc-{s}-dev\nspec:\n  source: {{repoURL: 'https://git.example.com/{ns}/gitops.git', path: dev/svc-{s}}}\n  destination: {{server: https://kubernetes.default.svc, namespace: {ns}}}\n"
        );
    }
    files.push(("warehouses.yaml".into(), warehouses));
    files.push(("stages.yaml".into(), stages));
    files.push(("apps.yaml".into(), apps));
    files.push((
        "task.yaml".into(),
        format!(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata:\n  name: promote\n  namespace: {ns}\nspec:\n  vars:\n  - name: repo\n    value: https://git.example.com/{ns}/gitops.git\n  - name: service\n  steps:\n  - uses: git-clone\n    config:\n      repoURL: ${{{{ vars.repo }}}}\n      checkout: [{{branch: main, path: ./repo}}]\n  - uses: yaml-update\n    as: update\n    config:\n      path: ./repo/dev/${{{{ vars.service }}}}/values.yaml\n      updates:\n      - key: image.tag\n        value: ${{{{ quote(imageFrom('ghcr.io/{ns}/' + vars.service).Tag) }}}}\n  - uses: git-commit\n    as: commit\n    config: {{path: ./repo, message: \"${{{{ task.outputs.update.commitMessage }}}}\"}}\n  - uses: git-push\n    config: {{path: ./repo}}\n  - uses: argocd-update\n    config:\n      apps:\n      - name: {ns}-${{{{ vars.service }}}}-dev\n        sources: [{{repoURL: '${{{{ vars.repo }}}}', desiredRevision: '${{{{ task.outputs.commit.commit }}}}'}}]\n"
        ),
    ));
    if let Some((_, task)) = files.last_mut() {
        let _ = write!(
            task,
            "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata:\n  name: notify\n  namespace: {ns}\nspec:\n  vars:\n  - name: service\n  steps:\n  - uses: http\n    config:\n      url: https://hooks.example.com/${{{{ vars.service }}}}\n      method: POST\n"
        );
    }
    let project_dir = dir.join(&ns);
    std::fs::create_dir_all(&project_dir)?;
    for (name, text) in files {
        std::fs::write(project_dir.join(name), text)?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    for p in 0..40 {
        project(dir.path(), p)?;
    }
    let paths = [dir.path().to_path_buf()];
    let set = ResourceSet::load_paths(&paths, LoadOptions::default());
    let report = lint::validate(&set);
    assert_eq!(set.files.len(), 200);
    let errors: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == gantry_api::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(
        errors.is_empty(),
        "generated pipeline has errors: {errors:?}"
    );
    let resources = set.resources.len();

    let mut load_times = Vec::new();
    let mut total_times = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let set = ResourceSet::load_paths(&paths, LoadOptions::default());
        let loaded = start.elapsed();
        let report = lint::validate(&set);
        std::hint::black_box(&report);
        load_times.push(loaded);
        total_times.push(start.elapsed());
    }
    load_times.sort();
    total_times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "validate: {resources} resources in 200 files ({} findings)",
        report.diagnostics.len()
    );
    println!(
        "  load      median {:7.2} ms   min {:7.2} ms",
        ms(load_times[10]),
        ms(load_times[0])
    );
    println!(
        "  total     median {:7.2} ms   min {:7.2} ms   ({:.0} resources/s)",
        ms(total_times[10]),
        ms(total_times[0]),
        resources as f64 / total_times[10].as_secs_f64()
    );
    Ok(())
}
