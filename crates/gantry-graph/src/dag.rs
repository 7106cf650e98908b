//! A directed acyclic graph of named vertices that keeps the user's order.
//!
//! Used twice, as Kro does: for the resources of a graph (an edge means "depends on") and for
//! the custom types of a SimpleSchema. Every vertex has an `order` (its declared index) that
//! breaks ties, so the topological order is dependencies first and otherwise the order the user
//! wrote. Cycles are refused when the edge that closes them is added, and the edges of that
//! call are rolled back, so the graph is acyclic at all times.
//!
//! Unlike Kro, whose Go maps make the reported cycle path depend on iteration order, the cycle
//! search here visits vertices in declared order, so the same input always reports the same
//! path.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

/// Why an operation on a [`Dag`] failed. Messages are Kro's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DagError {
    /// The id is already a vertex.
    #[error("node {0} already exists")]
    Duplicate(String),
    /// An edge names a vertex that does not exist.
    #[error("node {0} does not exist")]
    Missing(String),
    /// A vertex would depend on itself.
    #[error("self references are not allowed")]
    SelfReference,
    /// The edges would close a cycle; the path starts and ends at the same vertex.
    #[error("graph contains a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

#[derive(Clone, Debug)]
struct Vertex {
    id: String,
    order: usize,
    /// Indices of the vertices this one depends on.
    depends_on: BTreeSet<usize>,
}

/// The graph. Vertices are kept in insertion order.
#[derive(Clone, Debug, Default)]
pub struct Dag {
    vertices: Vec<Vertex>,
    index: HashMap<String, usize>,
}

impl Dag {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a vertex; `order` is its declared position (the tie-breaker of every ordering).
    pub fn add_vertex(&mut self, id: &str, order: usize) -> Result<(), DagError> {
        if self.index.contains_key(id) {
            return Err(DagError::Duplicate(id.to_owned()));
        }
        self.index.insert(id.to_owned(), self.vertices.len());
        self.vertices.push(Vertex {
            id: id.to_owned(),
            order,
            depends_on: BTreeSet::new(),
        });
        Ok(())
    }

    /// Whether `id` is a vertex.
    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// The number of vertices.
    pub fn len(&self) -> usize {
        self.vertices.len()
    }

    /// Whether the graph has no vertex.
    pub fn is_empty(&self) -> bool {
        self.vertices.is_empty()
    }

    /// Records that `from` depends on every vertex of `dependencies` (they must come first).
    /// On a cycle, the edges this call added are removed again and the cycle is returned.
    pub fn add_dependencies<S: AsRef<str>>(
        &mut self,
        from: &str,
        dependencies: &[S],
    ) -> Result<(), DagError> {
        let from_index = *self
            .index
            .get(from)
            .ok_or_else(|| DagError::Missing(from.to_owned()))?;
        let mut added = Vec::new();
        for dependency in dependencies {
            let dependency = dependency.as_ref();
            let Some(&to) = self.index.get(dependency) else {
                self.remove_edges(from_index, &added);
                return Err(DagError::Missing(dependency.to_owned()));
            };
            if to == from_index {
                self.remove_edges(from_index, &added);
                return Err(DagError::SelfReference);
            }
            if self.vertices[from_index].depends_on.insert(to) {
                added.push(to);
            }
        }
        if let Some(cycle) = self.find_cycle() {
            self.remove_edges(from_index, &added);
            return Err(DagError::Cycle(cycle));
        }
        Ok(())
    }

    fn remove_edges(&mut self, from: usize, edges: &[usize]) {
        for to in edges {
            self.vertices[from].depends_on.remove(to);
        }
    }

    /// The direct dependencies of `id`, in declared order.
    pub fn dependencies(&self, id: &str) -> Vec<&str> {
        let Some(&index) = self.index.get(id) else {
            return Vec::new();
        };
        let mut deps: Vec<&Vertex> = self.vertices[index]
            .depends_on
            .iter()
            .map(|&i| &self.vertices[i])
            .collect();
        deps.sort_by(|a, b| (a.order, &a.id).cmp(&(b.order, &b.id)));
        deps.into_iter().map(|v| v.id.as_str()).collect()
    }

    /// Vertex indices sorted by (order, id).
    fn declared(&self) -> Vec<usize> {
        let mut all: Vec<usize> = (0..self.vertices.len()).collect();
        all.sort_by(|&a, &b| {
            let (a, b) = (&self.vertices[a], &self.vertices[b]);
            (a.order, &a.id).cmp(&(b.order, &b.id))
        });
        all
    }

    /// A cycle, if any: depth-first from each vertex in declared order, following
    /// "depends on" edges, the path trimmed to start at the repeated vertex.
    fn find_cycle(&self) -> Option<Vec<String>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnStack,
            Done,
        }
        let declared = self.declared();
        let rank: HashMap<usize, usize> =
            declared.iter().enumerate().map(|(r, &i)| (i, r)).collect();
        let mut marks = vec![Mark::New; self.vertices.len()];
        for &start in &declared {
            if marks[start] != Mark::New {
                continue;
            }
            // Iterative DFS: (vertex, its sorted dependencies, next dependency to visit).
            let mut stack: Vec<(usize, Vec<usize>, usize)> = Vec::new();
            let children = |v: usize| {
                let mut deps: Vec<usize> = self.vertices[v].depends_on.iter().copied().collect();
                deps.sort_by_key(|d| rank[d]);
                deps
            };
            marks[start] = Mark::OnStack;
            stack.push((start, children(start), 0));
            while let Some((vertex, deps, next)) = stack.last_mut() {
                if let Some(&dep) = deps.get(*next) {
                    *next += 1;
                    match marks[dep] {
                        Mark::New => {
                            marks[dep] = Mark::OnStack;
                            let deps = children(dep);
                            stack.push((dep, deps, 0));
                        }
                        Mark::OnStack => {
                            let path: Vec<usize> = stack.iter().map(|(v, _, _)| *v).collect();
                            let from = path.iter().position(|&v| v == dep).unwrap_or(0);
                            let mut cycle: Vec<String> = path[from..]
                                .iter()
                                .map(|&v| self.vertices[v].id.clone())
                                .collect();
                            cycle.push(self.vertices[dep].id.clone());
                            return Some(cycle);
                        }
                        Mark::Done => {}
                    }
                } else {
                    marks[*vertex] = Mark::Done;
                    stack.pop();
                }
            }
        }
        None
    }

    /// Every vertex, dependencies first; among vertices that are ready at the same time, the
    /// lowest (order, id) first (Kahn's algorithm with a min-heap).
    pub fn topological_order(&self) -> Vec<String> {
        let mut remaining: Vec<usize> = self.vertices.iter().map(|v| v.depends_on.len()).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); self.vertices.len()];
        for (i, vertex) in self.vertices.iter().enumerate() {
            for &dep in &vertex.depends_on {
                dependents[dep].push(i);
            }
        }
        let key = |i: usize| Reverse((self.vertices[i].order, self.vertices[i].id.clone(), i));
        let mut ready: BinaryHeap<_> = (0..self.vertices.len())
            .filter(|&i| remaining[i] == 0)
            .map(key)
            .collect();
        let mut order = Vec::with_capacity(self.vertices.len());
        while let Some(Reverse((_, id, i))) = ready.pop() {
            order.push(id);
            for &dependent in &dependents[i] {
                remaining[dependent] -= 1;
                if remaining[dependent] == 0 {
                    ready.push(key(dependent));
                }
            }
        }
        order
    }

    /// Layers for deletion: the first holds the vertices nothing depends on, each next layer
    /// the vertices whose dependents are all in earlier layers; the last holds pure
    /// dependencies. Vertices of one layer have no order between them. Each layer is sorted
    /// by (order, id).
    pub fn reverse_layers(&self) -> Vec<Vec<String>> {
        let n = self.vertices.len();
        let mut dependents_left = vec![0usize; n];
        for vertex in &self.vertices {
            for &dep in &vertex.depends_on {
                dependents_left[dep] += 1;
            }
        }
        let declared = self.declared();
        let mut done = vec![false; n];
        let mut layers = Vec::new();
        loop {
            let layer: Vec<usize> = declared
                .iter()
                .copied()
                .filter(|&i| !done[i] && dependents_left[i] == 0)
                .collect();
            if layer.is_empty() {
                break;
            }
            for &i in &layer {
                done[i] = true;
                for &dep in &self.vertices[i].depends_on {
                    dependents_left[dep] -= 1;
                }
            }
            layers.push(layer.iter().map(|&i| self.vertices[i].id.clone()).collect());
        }
        layers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(ids: &[&str]) -> Dag {
        let mut dag = Dag::new();
        for (i, id) in ids.iter().enumerate() {
            dag.add_vertex(id, i).unwrap();
        }
        dag
    }

    #[test]
    fn a_two_node_cycle_is_reported_from_the_node_that_closes_it() {
        let mut d = dag(&["a", "b"]);
        d.add_dependencies("a", &["b"]).unwrap();
        let error = d.add_dependencies("b", &["a"]).unwrap_err();
        assert_eq!(error.to_string(), "graph contains a cycle: a -> b -> a");
        // The offending edge was rolled back.
        assert!(d.dependencies("b").is_empty());
        assert_eq!(d.topological_order(), ["b", "a"]);
    }

    #[test]
    fn self_references_and_unknown_nodes_are_refused() {
        let mut d = dag(&["a"]);
        assert_eq!(
            d.add_dependencies("a", &["a"]).unwrap_err().to_string(),
            "self references are not allowed"
        );
        assert_eq!(
            d.add_dependencies("a", &["zz"]).unwrap_err().to_string(),
            "node zz does not exist"
        );
        assert_eq!(
            d.add_vertex("a", 3).unwrap_err().to_string(),
            "node a already exists"
        );
    }

    #[test]
    fn topological_order_keeps_declared_order_among_independent_nodes() {
        // service depends on deployment, deployment on configmap; "extra" is independent.
        let mut d = dag(&["service", "extra", "deployment", "configmap"]);
        d.add_dependencies("service", &["deployment"]).unwrap();
        d.add_dependencies("deployment", &["configmap"]).unwrap();
        assert_eq!(
            d.topological_order(),
            ["extra", "configmap", "deployment", "service"]
        );
        assert_eq!(
            d.reverse_layers(),
            vec![
                vec!["service", "extra"],
                vec!["deployment"],
                vec!["configmap"]
            ]
        );
    }

    #[test]
    fn a_longer_cycle_path_is_trimmed_to_the_repeated_node() {
        let mut d = dag(&["x", "a", "b", "c"]);
        d.add_dependencies("x", &["a"]).unwrap();
        d.add_dependencies("a", &["b"]).unwrap();
        d.add_dependencies("b", &["c"]).unwrap();
        let error = d.add_dependencies("c", &["a"]).unwrap_err();
        assert_eq!(
            error,
            DagError::Cycle(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
    }
}
