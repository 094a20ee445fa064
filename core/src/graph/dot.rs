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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_has_clean_labels_and_points_at_dependencies() {
        let src = r#"
variable "n" {
  default = 1
}
resource "null_resource" "a" {
  count = var.n
}
resource "null_resource" "b" {
  triggers = { a = null_resource.a[0].id }
}
"#;
        let (config, d) = crate::load::load_sources(&[("main.tarn.hcl", src)]);
        assert!(!d.has_errors(), "{d:?}");
        let (g, d) = crate::graph::build(&config);
        assert!(d.is_empty(), "{d:?}");
        let dot = to_dot(&g);
        assert!(dot.contains("label=\"null_resource.a\" shape=box"), "{dot}");
        assert!(dot.contains("label=\"provider.null\" shape=diamond"), "{dot}");
        let id = |label: &str| g.find(label).unwrap().index();
        assert!(dot.contains(&format!("n{} -> n{};", id("null_resource.b"), id("null_resource.a"))), "{dot}");
        assert!(dot.contains(&format!("n{} -> n{};", id("null_resource.a"), id("var.n"))), "{dot}");
        let order: Vec<String> = g.order.iter().map(|&n| g.node(n).label()).collect();
        let pos = |l: &str| order.iter().position(|x| x == l).unwrap();
        assert!(pos("var.n") < pos("null_resource.a") && pos("null_resource.a") < pos("null_resource.b"));
    }
}
