//! The Freight graph: Stages' origins name Warehouses, upstream Stages exist and request the
//! same origin, and Stages form no cycle.

use std::collections::{BTreeMap, BTreeSet};

use gantry_api::diagnostic::{self, Diagnostic};
use gantry_api::{FieldPath, suggest};

use super::index::{Index, Namespace};

pub(crate) fn check(index: &Index<'_>, out: &mut Vec<Diagnostic>) {
    for namespace in index.namespaces.values() {
        references(namespace, out);
        cycles(namespace, out);
    }
}

fn references(namespace: &Namespace<'_>, out: &mut Vec<Diagnostic>) {
    for (resource, stage) in &namespace.stages {
        for (i, request) in stage.spec.requested_freight.iter().enumerate() {
            let path = FieldPath::parse("spec.requestedFreight").index(i);
            let origin = &request.origin;
            if origin.kind == "Warehouse"
                && !namespace.warehouses.contains_key(origin.name.as_str())
            {
                let mut diagnostic = Diagnostic::new(
                    &diagnostic::UNKNOWN_WAREHOUSE,
                    format!("Stage `{}` requests Freight from Warehouse `{}`, which does not exist in this project", resource.name, origin.name),
                )
                .at_location(Some(resource.location(&path.key("origin").key("name"))))
                .label("no such Warehouse");
                let names = namespace.warehouses.keys().copied();
                if let Some(candidate) = suggest::similar(&origin.name, names) {
                    diagnostic.set_help(format!("did you mean `{candidate}`?"));
                } else if namespace.warehouses.is_empty() {
                    diagnostic.set_help("define a Warehouse with this name in the same namespace");
                }
                out.push(diagnostic);
            }
            for (j, upstream) in request.sources.stages.iter().enumerate() {
                let upstream_path = path.key("sources").key("stages").index(j);
                let Some((upstream_resource, upstream_stage)) = namespace.stage(upstream) else {
                    let mut diagnostic = Diagnostic::new(
                        &diagnostic::UNKNOWN_UPSTREAM,
                        format!("upstream Stage `{upstream}` does not exist in this project"),
                    )
                    .at_location(Some(resource.location(&upstream_path)))
                    .label("no such Stage");
                    if let Some(candidate) = suggest::similar(
                        upstream,
                        namespace.stages.iter().map(|(r, _)| r.name.as_str()),
                    ) {
                        diagnostic.set_help(format!("did you mean `{candidate}`?"));
                    }
                    out.push(diagnostic);
                    continue;
                };
                let requests_origin = upstream_stage
                    .spec
                    .requested_freight
                    .iter()
                    .any(|other| other.origin == *origin);
                if !requests_origin {
                    out.push(
                        Diagnostic::new(
                            &diagnostic::UPSTREAM_LACKS_ORIGIN,
                            format!(
                                "upstream Stage `{upstream}` does not request Freight from Warehouse `{}`, so none can come from it",
                                origin.name
                            ),
                        )
                        .at_location(Some(resource.location(&upstream_path)))
                        .related(upstream_resource.name_location(), "upstream Stage defined here")
                        .help(format!(
                            "add `{{origin: {{kind: Warehouse, name: {}}}, ...}}` to the requestedFreight of `{upstream}`",
                            origin.name
                        )),
                    );
                }
            }
        }
    }
}

fn cycles(namespace: &Namespace<'_>, out: &mut Vec<Diagnostic>) {
    let edges: BTreeMap<&str, Vec<(&str, usize, usize)>> = namespace
        .stages
        .iter()
        .map(|(resource, stage)| {
            let upstreams = stage
                .spec
                .requested_freight
                .iter()
                .enumerate()
                .flat_map(|(i, request)| {
                    request
                        .sources
                        .stages
                        .iter()
                        .enumerate()
                        .map(move |(j, name)| (name.as_str(), i, j))
                })
                .collect();
            (resource.name.as_str(), upstreams)
        })
        .collect();
    let mut reported: BTreeSet<BTreeSet<&str>> = BTreeSet::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for start in edges.keys().copied() {
        if done.contains(start) {
            continue;
        }
        // Iterative DFS keeping the current path.
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        let mut on_path: BTreeSet<&str> = BTreeSet::from([start]);
        while let Some((node, next)) = path.last().copied() {
            let upstreams = edges.get(node).map_or(&[][..], Vec::as_slice);
            if next >= upstreams.len() {
                path.pop();
                on_path.remove(node);
                done.insert(node);
                continue;
            }
            if let Some(last) = path.last_mut() {
                last.1 += 1;
            }
            let (upstream, i, j) = upstreams[next];
            if on_path.contains(upstream) {
                let position = path.iter().position(|(n, _)| *n == upstream).unwrap_or(0);
                let members: Vec<&str> = path[position..].iter().map(|(n, _)| *n).collect();
                let key: BTreeSet<&str> = members.iter().copied().collect();
                if reported.insert(key) {
                    let mut shown: Vec<&str> = members.clone();
                    shown.push(upstream);
                    if let Some((resource, _)) = namespace.stage(node) {
                        let location = resource.location(
                            &FieldPath::parse("spec.requestedFreight")
                                .index(i)
                                .key("sources")
                                .key("stages")
                                .index(j),
                        );
                        out.push(
                            Diagnostic::new(
                                &diagnostic::STAGE_CYCLE,
                                format!("Stages form a cycle: {}", shown.join(" -> ")),
                            )
                            .at_location(Some(location))
                            .label("closes the cycle")
                            .help("Freight flows from upstream to downstream Stages; remove one of these upstream links"),
                        );
                    }
                }
                continue;
            }
            if done.contains(upstream) || !edges.contains_key(upstream) {
                continue;
            }
            path.push((upstream, 0));
            on_path.insert(upstream);
        }
    }
}
