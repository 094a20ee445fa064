//! Building the block graph: one node per declared object (module-path qualified), one edge per
//! distinct static reference (dependency → dependent), checking that every reference names
//! something declared. All problems are collected; a graph is returned even when some
//! references are broken, so `tarn graph` and `tarn validate` can show everything at once.

use super::cycle;
use super::provider::{ProviderAddr, provider_key};
use crate::config::{Body, Config, Expr, ModuleTree, Reference};
use crate::diag::{Diagnostic, Diagnostics, Span, did_you_mean};
use crate::eval::references;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Variable,
    Local,
    Output,
    Resource,
    ModuleCall,
    Provider,
}

/// A configuration object.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    /// Static module path (call names from the root).
    pub module: Vec<String>,
    /// The name inside its module: variable/local/output name, resource key (`TYPE.NAME`,
    /// `data.TYPE.NAME`), module call name, or provider key (`null`, `null.alias`).
    pub name: String,
    /// Where it is declared; `None` for an implicit provider configuration.
    pub span: Option<Span>,
}

impl Node {
    /// The user-facing label: `var.x`, `null_resource.a`, `module.m.output.o`, `provider.null`.
    pub fn label(&self) -> String {
        let mut s = String::new();
        for m in &self.module {
            s.push_str("module.");
            s.push_str(m);
            s.push('.');
        }
        s.push_str(&local_label(self.kind, &self.name));
        s
    }
}

fn local_label(kind: NodeKind, name: &str) -> String {
    match kind {
        NodeKind::Variable => format!("var.{name}"),
        NodeKind::Local => format!("local.{name}"),
        NodeKind::Output => format!("output.{name}"),
        NodeKind::Resource => name.to_string(),
        NodeKind::ModuleCall => format!("module.{name}"),
        NodeKind::Provider => format!("provider.{name}"),
    }
}

/// Why an edge exists: the reference's span, when it was written in configuration.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    pub span: Option<Span>,
}

/// The block graph. Edges point from a dependency to its dependant.
#[derive(Debug, Clone, Default)]
pub struct BlockGraph {
    pub graph: DiGraph<Node, Edge>,
    /// Every node, dependencies first. Empty when the graph has a cycle.
    pub order: Vec<NodeIndex>,
    index: HashMap<String, NodeIndex>,
}

impl BlockGraph {
    /// The node with this label (see [`Node::label`]).
    pub fn find(&self, label: &str) -> Option<NodeIndex> {
        self.index.get(label).copied()
    }

    pub fn node(&self, id: NodeIndex) -> &Node {
        &self.graph[id]
    }

    /// Direct dependencies of a node.
    pub fn dependencies(&self, id: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.graph.neighbors_directed(id, petgraph::Direction::Incoming)
    }
}

/// Builds the graph of `config` and checks its references and cycles.
pub fn build(config: &Config) -> (BlockGraph, Diagnostics) {
    let mut b = Builder { config, g: BlockGraph::default(), seen: HashSet::new(), diags: Diagnostics::default() };
    b.add_nodes(&config.root, &mut Vec::new());
    b.add_edges(&config.root, &mut Vec::new());
    match petgraph::algo::toposort(&b.g.graph, None) {
        Ok(order) => b.g.order = order,
        Err(_) => b.diags.extend(cycle::report(&b.g)),
    }
    (b.g, b.diags)
}

pub(super) struct Builder<'a> {
    pub(super) config: &'a Config,
    g: BlockGraph,
    seen: HashSet<(NodeIndex, NodeIndex)>,
    pub(super) diags: Diagnostics,
}

fn prefixed(module: &[String], label: &str) -> String {
    let mut s = String::new();
    for m in module {
        s.push_str("module.");
        s.push_str(m);
        s.push('.');
    }
    s.push_str(label);
    s
}

impl Builder<'_> {
    fn add(&mut self, kind: NodeKind, module: &[String], name: &str, span: Option<Span>) -> NodeIndex {
        let node = Node { kind, module: module.to_vec(), name: name.to_string(), span };
        let label = node.label();
        if let Some(&id) = self.g.index.get(&label) {
            return id;
        }
        let id = self.g.graph.add_node(node);
        self.g.index.insert(label, id);
        id
    }

    fn add_nodes(&mut self, tree: &ModuleTree, path: &mut Vec<String>) {
        let m = &tree.module;
        for v in m.variables.values() {
            self.add(NodeKind::Variable, path, &v.name, Some(v.span));
        }
        for l in m.locals.values() {
            self.add(NodeKind::Local, path, &l.name, Some(l.span));
        }
        for o in m.outputs.values() {
            self.add(NodeKind::Output, path, &o.name, Some(o.span));
        }
        for (key, r) in &m.resources {
            self.add(NodeKind::Resource, path, key, Some(r.span));
        }
        for p in &m.providers {
            let key = match &p.alias {
                Some(a) => format!("{}.{a}", p.name),
                None => p.name.clone(),
            };
            self.add(NodeKind::Provider, path, &key, Some(p.span));
        }
        for (name, call) in &m.module_calls {
            self.add(NodeKind::ModuleCall, path, name, Some(call.span));
        }
        for (name, child) in &tree.children {
            path.push(name.clone());
            self.add_nodes(child, path);
            path.pop();
        }
    }

    fn edge(&mut self, from: NodeIndex, to: NodeIndex, span: Option<Span>) {
        if self.seen.insert((from, to)) {
            self.g.graph.add_edge(from, to, Edge { span });
        }
    }

    pub(super) fn node_id(&self, module: &[String], kind: NodeKind, name: &str) -> Option<NodeIndex> {
        self.g.index.get(&prefixed(module, &local_label(kind, name))).copied()
    }

    fn add_edges(&mut self, tree: &ModuleTree, path: &mut Vec<String>) {
        let m = &tree.module;
        let call_node = match path.split_last() {
            Some((last, parent)) => self.node_id(parent, NodeKind::ModuleCall, last),
            None => None,
        };
        let mut members = Vec::new();
        for v in m.variables.values() {
            let id = self.node_id(path, NodeKind::Variable, &v.name).expect("declared above");
            members.push(id);
            if let Some(d) = &v.default {
                self.expr_edges(path, d, id);
            }
        }
        for l in m.locals.values() {
            let id = self.node_id(path, NodeKind::Local, &l.name).expect("declared above");
            members.push(id);
            self.expr_edges(path, &l.value, id);
        }
        for o in m.outputs.values() {
            let id = self.node_id(path, NodeKind::Output, &o.name).expect("declared above");
            members.push(id);
            self.expr_edges(path, &o.value, id);
            self.depends_on_edges(path, &o.depends_on, id);
            for c in &o.preconditions {
                self.expr_edges(path, &c.condition, id);
                self.expr_edges(path, &c.error_message, id);
            }
        }
        for p in &m.providers {
            let key = match &p.alias {
                Some(a) => format!("{}.{a}", p.name),
                None => p.name.clone(),
            };
            let id = self.node_id(path, NodeKind::Provider, &key).expect("declared above");
            members.push(id);
            self.body_edges(path, &p.body, id);
        }
        for (key, r) in &m.resources {
            let id = self.node_id(path, NodeKind::Resource, key).expect("declared above");
            members.push(id);
            self.body_edges(path, &r.body, id);
            for e in [&r.count, &r.for_each].into_iter().flatten() {
                self.expr_edges(path, e, id);
            }
            self.depends_on_edges(path, &r.depends_on, id);
            self.refs_edges(path, &r.lifecycle.replace_triggered_by, id);
            for c in r.lifecycle.preconditions.iter().chain(&r.lifecycle.postconditions) {
                self.expr_edges(path, &c.condition, id);
                self.expr_edges(path, &c.error_message, id);
            }
            match provider_key(self.config, path, r) {
                Ok(addr) => {
                    let pid = self.provider_node(&addr);
                    self.edge(pid, id, r.provider.as_ref().map(|p| p.span));
                }
                Err(detail) => {
                    let span = r.provider.as_ref().map(|p| p.span).unwrap_or(r.span);
                    self.diags.push(
                        Diagnostic::error("Provider configuration not present", detail)
                            .at(span)
                            .for_address(prefixed(path, key)),
                    );
                }
            }
        }
        for (name, call) in &m.module_calls {
            let id = self.node_id(path, NodeKind::ModuleCall, name).expect("declared above");
            members.push(id);
            for e in [&call.count, &call.for_each].into_iter().flatten() {
                self.expr_edges(path, e, id);
            }
            self.depends_on_edges(path, &call.depends_on, id);
            let Some(child) = tree.children.get(name) else { continue };
            path.push(name.clone());
            for (input, attr) in &call.inputs {
                match self.node_id(path, NodeKind::Variable, input) {
                    Some(var) => {
                        path.pop();
                        self.expr_edges(path, &attr.value, var);
                        path.push(name.clone());
                    }
                    None => {
                        let hint = did_you_mean(input, child.module.variables.keys().map(String::as_str))
                            .map(|s| format!(" Did you mean \"{s}\"?"))
                            .unwrap_or_default();
                        self.diags.push(
                            Diagnostic::error(
                                "Unsupported argument",
                                format!("Module \"{name}\" has no input variable named \"{input}\".{hint}"),
                            )
                            .at(attr.name_span),
                        );
                    }
                }
            }
            for v in child.module.variables.values() {
                if v.default.is_none() && !call.inputs.contains_key(&v.name) {
                    self.diags.push(
                        Diagnostic::error(
                            "Missing required argument",
                            format!("The input variable \"{}\" of module \"{name}\" has no default, so the module call must set it.", v.name),
                        )
                        .at(call.span),
                    );
                }
            }
            path.pop();
        }
        if let Some(call) = call_node {
            for id in members {
                self.edge(call, id, None);
            }
        }
        for (name, child) in &tree.children {
            path.push(name.clone());
            self.add_edges(child, path);
            path.pop();
        }
    }

    fn provider_node(&mut self, addr: &ProviderAddr) -> NodeIndex {
        let key = match &addr.alias {
            Some(a) => format!("{}.{a}", addr.name),
            None => addr.name.clone(),
        };
        match self.node_id(&addr.module, NodeKind::Provider, &key) {
            Some(id) => id,
            None => self.add(NodeKind::Provider, &addr.module, &key, None),
        }
    }

    fn body_edges(&mut self, module: &[String], body: &Body, to: NodeIndex) {
        for attr in body.attributes.values() {
            self.expr_edges(module, &attr.value, to);
        }
        for block in &body.blocks {
            self.body_edges(module, &block.body, to);
        }
    }

    fn expr_edges(&mut self, module: &[String], expr: &Expr, to: NodeIndex) {
        let refs = references(expr);
        self.refs_edges(module, &refs, to);
    }

    fn refs_edges(&mut self, module: &[String], refs: &[Reference], to: NodeIndex) {
        for r in refs {
            for from in self.targets(module, r) {
                self.edge(from, to, Some(r.span));
            }
        }
    }

    /// `depends_on`: like references, except that `module.NAME` means everything the module
    /// manages, so every resource inside it (at any depth) must come first.
    fn depends_on_edges(&mut self, module: &[String], refs: &[Reference], to: NodeIndex) {
        for r in refs {
            if r.path.first().map(String::as_str) == Some("module") && r.path.len() == 2 {
                let mut child = module.to_vec();
                child.push(r.path[1].clone());
                let prefix = prefixed(&child, "");
                let inside: Vec<NodeIndex> = self
                    .g
                    .graph
                    .node_indices()
                    .filter(|&n| {
                        self.g.graph[n].kind == NodeKind::Resource && self.g.graph[n].label().starts_with(&prefix)
                    })
                    .collect();
                for from in inside {
                    self.edge(from, to, Some(r.span));
                }
            }
            for from in self.targets(module, r) {
                self.edge(from, to, Some(r.span));
            }
        }
    }
}
