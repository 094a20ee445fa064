//! DOT rendering of the block graph for `tarn graph`: one node per configuration object with a
//! clean label, edges pointing from an object to what it depends on (Terraform's convention).

use super::build::{BlockGraph, NodeKind};
use petgraph::visit::EdgeRef;
use std::fmt::Write;

pub fn to_dot(g: &BlockGraph) -> String {
    let mut out = String::from("digraph tarn {\n  rankdir = \"RL\";\n  node [fontname = \"sans-serif\"];\n");
    for id in g.graph.node_indices() {
        let n = &g.graph[id];
        let shape = match n.kind {
            NodeKind::Resource => "box",
            NodeKind::ModuleCall => "component",
            NodeKind::Provider => "diamond",
            NodeKind::Variable | NodeKind::Local | NodeKind::Output => "note",
        };
        let _ = writeln!(out, "  n{} [label={:?} shape={shape}];", id.index(), n.label());
    }
    for e in g.graph.edge_references() {
        let _ = writeln!(out, "  n{} -> n{};", e.target().index(), e.source().index());
    }
    out.push_str("}\n");
    out
}
