//! Cycle reporting: every strongly connected component with more than one node (or a node that
//! refers to itself) becomes one diagnostic naming the whole cycle `a -> b -> a`, where each
//! arrow reads "refers to", with the span of every reference in `related`.

use super::build::BlockGraph;
use crate::diag::{Diagnostic, Diagnostics};
use petgraph::Direction;
use petgraph::graph::NodeIndex;
use std::collections::{HashMap, HashSet, VecDeque};

pub(super) fn report(g: &BlockGraph) -> Diagnostics {
    let mut diags = Diagnostics::default();
    for scc in petgraph::algo::tarjan_scc(&g.graph) {
        let self_loop = scc.len() == 1 && g.graph.find_edge(scc[0], scc[0]).is_some();
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let members: HashSet<NodeIndex> = scc.iter().copied().collect();
        let Some(&start) = scc.iter().min() else { continue };
        let path = shortest_cycle(g, start, &members);
        let labels: Vec<String> = path.iter().map(|&n| g.node(n).label()).collect();
        let mut d = Diagnostic::error(
            "Cycle in dependency graph",
            format!(
                "These objects refer to each other in a cycle: {}. Break the cycle by removing one of these references.",
                labels.join(" -> ")
            ),
        )
        .maybe_at(g.node(start).span);
        for pair in path.windows(2) {
            let (dependant, dependency) = (pair[0], pair[1]);
            if let Some(e) = g.graph.find_edge(dependency, dependant)
                && let Some(span) = g.graph[e].span
            {
                d = d.related(span, format!("{} refers to {}", g.node(dependant).label(), g.node(dependency).label()));
            }
        }
        diags.push(d);
    }
    diags
}

/// The shortest path start -> ... -> start following "refers to" (incoming edges), inside the
/// component.
fn shortest_cycle(g: &BlockGraph, start: NodeIndex, members: &HashSet<NodeIndex>) -> Vec<NodeIndex> {
    let mut prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut end = None;
    'bfs: while let Some(n) = queue.pop_front() {
        for dep in g.graph.neighbors_directed(n, Direction::Incoming) {
            if !members.contains(&dep) {
                continue;
            }
            if dep == start {
                end = Some(n);
                break 'bfs;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(dep) {
                e.insert(n);
                queue.push_back(dep);
            }
        }
    }
    let mut path = vec![start];
    let mut cur = end;
    let mut back = Vec::new();
    while let Some(n) = cur {
        if n == start {
            break;
        }
        back.push(n);
        cur = prev.get(&n).copied();
    }
    back.reverse();
    path.extend(back);
    path.push(start);
    path
}
