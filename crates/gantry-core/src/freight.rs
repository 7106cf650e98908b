//! Freight identity: the id Kargo computes from a Freight's origin and artifacts (bit-exact, so
//! ids, history and approvals carry over), and the URL normalisation it relies on.

use gantry_api::kargo::Freight;
use gantry_api::url::normalize_git;

/// `NormalizeImage`: `registry/repository`, with Docker Hub references shortened the way
/// go-containerregistry names them (`nginx`, `library/nginx`, `docker.io/library/nginx` →
/// `nginx`... see tests).
pub fn normalize_image(url: &str) -> String {
    let clean: String = url
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .to_lowercase();
    let without_tag = match clean.rfind(['@']) {
        Some(at) => clean[..at].to_owned(),
        None => clean,
    };
    let mut parts: Vec<&str> = without_tag.split('/').collect();
    let has_registry =
        parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost");
    if has_registry {
        if let Some(last) = parts.last_mut() {
            *last = last.split(':').next().unwrap_or(last);
        }
    } else if let Some(last) = parts.last_mut() {
        *last = last.split(':').next().unwrap_or(last);
    }
    let docker_hub = ["docker.io", "index.docker.io", "registry-1.docker.io"];
    let repository: Vec<&str> = if has_registry && docker_hub.contains(&parts[0]) {
        parts[1..].to_vec()
    } else if has_registry {
        return parts.join("/");
    } else {
        parts
    };
    let repository = repository.join("/");
    repository
        .strip_prefix("library/")
        .filter(|rest| !rest.contains('/'))
        .map_or(repository.clone(), ToOwned::to_owned)
}

/// `NormalizeChart`: lowercased, without `oci://`, then [`normalize_image`] for OCI references;
/// HTTP repository URLs keep their form minus a trailing `/`.
pub fn normalize_chart(url: &str) -> String {
    let clean: String = url
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .to_lowercase();
    if let Some(rest) = clean.strip_prefix("oci://") {
        return normalize_image(rest);
    }
    clean.trim_end_matches('/').to_owned()
}

fn join_path(base: &str, name: &str) -> String {
    let joined = if name.is_empty() {
        base.to_owned()
    } else {
        format!("{base}/{name}")
    };
    let mut out = String::with_capacity(joined.len());
    for c in joined.chars() {
        if c == '/' && out.ends_with('/') && !out.ends_with(":/") {
            continue;
        }
        out.push(c);
    }
    out
}

/// The canonical string the id hashes (useful in `--explain` output and tests).
pub fn canonical(freight: &Freight) -> String {
    let with_subscription = |part: String, subscription: Option<&String>| match subscription {
        Some(name) if !name.is_empty() => format!("{part}:{name}"),
        _ => part,
    };
    let mut parts = Vec::new();
    for commit in &freight.commits {
        let tag = commit
            .tag
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| format!("{t}:"))
            .unwrap_or_default();
        parts.push(with_subscription(
            format!("{}:{tag}{}", normalize_git(&commit.repo_url), commit.id),
            commit.subscription_name.as_ref(),
        ));
    }
    for image in &freight.images {
        parts.push(with_subscription(
            format!(
                "{}:{}@{}",
                image.repo_url,
                image.tag.as_deref().unwrap_or_default(),
                image.digest.as_deref().unwrap_or_default()
            ),
            image.subscription_name.as_ref(),
        ));
    }
    for chart in &freight.charts {
        parts.push(with_subscription(
            format!(
                "{}:{}",
                join_path(
                    &normalize_chart(&chart.repo_url),
                    chart.name.as_deref().unwrap_or_default()
                ),
                chart.version
            ),
            chart.subscription_name.as_ref(),
        ));
    }
    for artifact in &freight.artifacts {
        let field = |key: &str| {
            artifact
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
        };
        parts.push(format!(
            "{}:{}:{}",
            field("artifactType"),
            field("subscriptionName"),
            field("version")
        ));
    }
    parts.sort();
    format!(
        "{}/{}:{}",
        freight.origin.kind,
        freight.origin.name,
        parts.join("|")
    )
}

/// The Freight's id: hex SHA-1 of [`canonical`].
pub fn freight_id(freight: &Freight) -> String {
    sha1_smol::Sha1::from(canonical(freight))
        .digest()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn freight(yaml: &str) -> Freight {
        let json = gantry_api::yaml::parse_stream(yaml).0[0].root.to_json();
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_reference_worked_example_hashes_to_its_id() {
        let f = freight(&format!(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\norigin:\n  kind: Warehouse\n  name: kargo-demo\nimages:\n- repoURL: public.ecr.aws/nginx/nginx\n  tag: 1.29.0\n  digest: sha256:{}\ncommits:\n- repoURL: https://github.com/example/repo\n  id: 3b5c1e0c8f6f1d2a9a1b2c3d4e5f60718293a4b5\n",
            "0".repeat(64)
        ));
        assert_eq!(
            canonical(&f),
            format!(
                "Warehouse/kargo-demo:https://github.com/example/repo:3b5c1e0c8f6f1d2a9a1b2c3d4e5f60718293a4b5|public.ecr.aws/nginx/nginx:1.29.0@sha256:{}",
                "0".repeat(64)
            )
        );
        assert_eq!(freight_id(&f), "452b9784cc35f56db92d6e4c1022502464951b72");
    }

    #[test]
    fn tags_subscriptions_and_charts_enter_the_canonical_string() {
        let f = freight(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\norigin:\n  kind: Warehouse\n  name: w\ncommits:\n- repoURL: https://GitHub.com/a/b.git/\n  id: abc\n  tag: v1\n  subscriptionName: src\ncharts:\n- repoURL: oci://ghcr.io/acme/charts/\n  name: app\n  version: 1.0.0\nimages:\n- repoURL: nginx\n",
        );
        assert_eq!(
            canonical(&f),
            "Warehouse/w:ghcr.io/acme/charts/app:1.0.0|https://github.com/a/b:v1:abc:src|nginx:@"
        );
    }

    #[test]
    fn docker_hub_images_normalise_like_go_containerregistry() {
        for (input, expected) in [
            ("nginx", "nginx"),
            ("library/nginx", "nginx"),
            ("docker.io/library/nginx", "nginx"),
            ("index.docker.io/acme/app:1.0", "acme/app"),
            ("ghcr.io/acme/app", "ghcr.io/acme/app"),
            ("localhost:5000/app:tag", "localhost:5000/app"),
            ("Registry.Example/App@sha256:abc", "registry.example/app"),
        ] {
            assert_eq!(normalize_image(input), expected, "{input}");
        }
    }
}
