//! Resolving one static reference (`var.x`, `module.m.out`, `null_resource.a`) written in a
//! module to the block-graph nodes it names, with a diagnostic and a "did you mean" when it
//! names nothing declared. Must not add edges or evaluate anything.

use super::build::{Builder, NodeKind};
use crate::config::Reference;
use crate::diag::{Diagnostic, did_you_mean};
use petgraph::graph::NodeIndex;

impl Builder<'_> {
    /// The nodes a reference names; reports a diagnostic and returns nothing when it names
    /// nothing declared.
    pub(super) fn targets(&mut self, module: &[String], r: &Reference) -> Vec<NodeIndex> {
        let Some(tree) = super::provider::module_at(self.config, module) else { return Vec::new() };
        let m = &tree.module;
        let p = &r.path;
        let Some(root) = p.first() else { return Vec::new() };
        let where_ = if module.is_empty() {
            "the root module".to_string()
        } else {
            format!("module.{}", module.join(".module."))
        };
        let second = p.get(1).map(String::as_str);
        match root.as_str() {
            "count" | "each" | "path" | "self" | "tarn" | "terraform" => Vec::new(),
            "var" | "local" => {
                let Some(name) = second else { return Vec::new() };
                let (kind, what, names): (_, _, Vec<&str>) = if root == "var" {
                    (NodeKind::Variable, "input variable", m.variables.keys().map(String::as_str).collect())
                } else {
                    (NodeKind::Local, "local value", m.locals.keys().map(String::as_str).collect())
                };
                if let Some(id) = self.node_id(module, kind, name) {
                    return vec![id];
                }
                let hint = did_you_mean(name, names).map(|s| format!(" Did you mean {root}.{s}?")).unwrap_or_default();
                let summary = if root == "var" {
                    "Reference to undeclared input variable"
                } else {
                    "Reference to undeclared local value"
                };
                self.diags.push(
                    Diagnostic::error(summary, format!("No {what} named \"{name}\" is declared in {where_}.{hint}"))
                        .at(r.span),
                );
                Vec::new()
            }
            "module" => {
                let Some(name) = second else { return Vec::new() };
                let Some(call) = self.node_id(module, NodeKind::ModuleCall, name) else {
                    let hint = did_you_mean(name, m.module_calls.keys().map(String::as_str))
                        .map(|s| format!(" Did you mean module.{s}?"))
                        .unwrap_or_default();
                    self.diags.push(
                        Diagnostic::error(
                            "Reference to undeclared module",
                            format!("No module call named \"{name}\" is declared in {where_}.{hint}"),
                        )
                        .at(r.span),
                    );
                    return Vec::new();
                };
                let mut child_path = module.to_vec();
                child_path.push(name.to_string());
                let Some(child) = tree.children.get(name as &str) else { return vec![call] };
                match p.get(2) {
                    Some(out) => match self.node_id(&child_path, NodeKind::Output, out) {
                        Some(id) => vec![id],
                        None => {
                            let hint = did_you_mean(out, child.module.outputs.keys().map(String::as_str))
                                .map(|s| format!(" Did you mean \"{s}\"?"))
                                .unwrap_or_default();
                            self.diags.push(
                                Diagnostic::error(
                                    "Unsupported attribute",
                                    format!("Module \"{name}\" has no output named \"{out}\".{hint}"),
                                )
                                .at(r.span),
                            );
                            Vec::new()
                        }
                    },
                    None => {
                        let mut v = vec![call];
                        v.extend(
                            child.module.outputs.keys().filter_map(|o| self.node_id(&child_path, NodeKind::Output, o)),
                        );
                        v
                    }
                }
            }
            _ => {
                let (key, shown) = if root == "data" {
                    match (p.get(1), p.get(2)) {
                        (Some(t), Some(n)) => (format!("data.{t}.{n}"), "data resource"),
                        _ => return Vec::new(),
                    }
                } else {
                    match second {
                        Some(n) => (format!("{root}.{n}"), "managed resource"),
                        None => return Vec::new(),
                    }
                };
                if let Some(id) = self.node_id(module, NodeKind::Resource, &key) {
                    return vec![id];
                }
                let hint = did_you_mean(&key, m.resources.keys().map(String::as_str))
                    .map(|s| format!(" Did you mean {s}?"))
                    .unwrap_or_default();
                self.diags.push(
                    Diagnostic::error(
                        "Reference to undeclared resource",
                        format!("A {shown} \"{key}\" has not been declared in {where_}.{hint}"),
                    )
                    .at(r.span),
                );
                Vec::new()
            }
        }
    }
}
