//! Decoding: turns the generic [`Body`] of one file (from native or JSON syntax) into the
//! declarations of a [`Module`]: resources, data sources, variables, locals, outputs,
//! providers, module calls, `tarn {}`, `moved` and `import`. Every structural problem is
//! collected as a diagnostic with a span; decoding goes on after each one.
//!
//! It evaluates nothing itself: loading-time constants go to the `Constants` it was given (see `statics`).

use super::model::*;
use super::statics::{self, Constants, constant_bool, constant_string, provider_ref, reference_list};
use super::types;
use crate::diag::{Diagnostic, did_you_mean};
use tarn_sdk::Mode;

pub(crate) const TOP_LEVEL: &[&str] = &[
    "resource", "data", "variable", "locals", "output", "provider", "module", "tarn", "moved", "import", "check",
    "removed",
];

/// Collects one module's declarations across its files.
pub struct Decoder<'m> {
    pub module: &'m mut Module,
    pub diags: Vec<Diagnostic>,
    pub is_json: bool,
    /// Evaluates loading-time constants (supplied by the reader's caller; config never evaluates).
    pub constants: &'m dyn Constants,
}

/// How many labels each top-level block takes.
pub(crate) fn label_count(kind: &str) -> Option<usize> {
    Some(match kind {
        "resource" | "data" => 2,
        "variable" | "output" | "provider" | "module" | "check" => 1,
        "locals" | "tarn" | "moved" | "import" | "removed" => 0,
        _ => return None,
    })
}

/// Only local module sources are supported: `./dir`, `../dir`.
pub(crate) fn is_local_source(s: &str) -> bool {
    s.starts_with("./") || s.starts_with("../") || s == "." || s == ".."
}

fn unknown_argument(name: &str, span: crate::diag::Span, block: &str, allowed: &[&str]) -> Diagnostic {
    let hint =
        did_you_mean(name, allowed.iter().copied()).map(|s| format!(" Did you mean \"{s}\"?")).unwrap_or_default();
    Diagnostic::error(
        "Unsupported argument",
        format!("An argument named \"{name}\" is not expected in a {block} block.{hint}"),
    )
    .at(span)
}

fn unknown_block(b: &Block, parent: &str, allowed: &[&str]) -> Diagnostic {
    let hint = terraform_habit(&b.kind, parent)
        .or_else(|| did_you_mean(&b.kind, allowed.iter().copied()).map(|s| format!(" Did you mean \"{s}\"?")))
        .unwrap_or_default();
    let what = if parent.is_empty() { "here".to_string() } else { format!("in a {parent} block") };
    Diagnostic::error("Unsupported block type", format!("Blocks of type \"{}\" are not expected {what}.{hint}", b.kind))
        .at(b.kind_span)
}

/// What to say where a Terraform habit meets a block tarn spells or does differently.
pub(crate) fn terraform_habit(kind: &str, parent: &str) -> Option<String> {
    match (kind, parent) {
        ("terraform", "") => Some(
            " tarn's settings block is `tarn {}`: rename `terraform {` to `tarn {` (it takes \
             required_providers, required_version and a backend \"sqlite\" or \"postgres\" block)."
                .into(),
        ),
        ("provisioner" | "connection", _) if !parent.is_empty() => Some(
            " tarn has no provisioners: a command run on a host is a resource of its own, with a plan, drift and \
             rollback. Use an SSH-based provider (vsn, pond) or a provider plugin (docs/plugin-protocol.md), \
             ordered with depends_on."
                .into(),
        ),
        _ => None,
    }
}

impl Decoder<'_> {
    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Reports attributes and blocks outside `args`/`blocks`.
    pub(crate) fn check_only(&mut self, body: &Body, block: &str, args: &[&str], blocks: &[&str]) {
        for a in body.attributes.values() {
            if !args.contains(&a.name.as_str()) {
                self.push(unknown_argument(&a.name, a.name_span, block, args));
            }
        }
        for b in &body.blocks {
            if !blocks.contains(&b.kind.as_str()) {
                self.push(unknown_block(b, block, blocks));
            }
        }
    }

    pub(crate) fn string(&mut self, body: &Body, name: &str) -> Option<String> {
        let a = body.attributes.get(name)?;
        constant_string(self.constants, &a.value, &format!("\"{name}\" argument")).map_err(|d| self.push(d)).ok()
    }

    pub(crate) fn boolean(&mut self, body: &Body, name: &str) -> Option<bool> {
        let a = body.attributes.get(name)?;
        constant_bool(self.constants, &a.value, &format!("\"{name}\" argument")).map_err(|d| self.push(d)).ok()
    }

    /// Decodes every top-level block of one file's body.
    pub fn file(&mut self, body: &Body) {
        for a in body.attributes.values() {
            self.push(
                Diagnostic::error(
                    "Unsupported argument",
                    format!("An argument named \"{}\" is not expected at the top level; every declaration is a block, like `resource`, `variable` or `locals`.", a.name),
                )
                .at(a.name_span),
            );
        }
        for b in &body.blocks {
            let Some(want) = label_count(&b.kind) else {
                self.push(unknown_block(b, "", TOP_LEVEL));
                continue;
            };
            if b.labels.len() != want {
                let span = b.label_spans.get(want).copied().unwrap_or(b.kind_span);
                self.push(
                    Diagnostic::error(
                        "Wrong number of block labels",
                        format!(
                            "A {} block takes {want} label{}, but this one has {}.",
                            b.kind,
                            if want == 1 { "" } else { "s" },
                            b.labels.len()
                        ),
                    )
                    .at(span),
                );
                continue;
            }
            match b.kind.as_str() {
                "resource" => self.resource(b, Mode::Managed),
                "data" => self.resource(b, Mode::Data),
                "variable" => super::decode_more::variable(self, b),
                "locals" => super::decode_more::locals(self, b),
                "output" => super::decode_more::output(self, b),
                "provider" => self.provider(b),
                "module" => self.module_call(b),
                "tarn" => super::decode_more::settings(self, b),
                "moved" => super::decode_more::moved(self, b),
                "import" => super::decode_more::import(self, b),
                "check" => super::decode_more::check(self, b),
                "removed" => super::decode_more::removed(self, b),
                _ => {}
            }
        }
    }

    fn resource(&mut self, b: &Block, mode: Mode) {
        let (type_name, name) = (b.labels[0].clone(), b.labels[1].clone());
        let body = &b.body;
        let mut res = Resource {
            mode,
            type_name,
            name,
            provider: None,
            count: body.attributes.get("count").map(|a| a.value.clone()),
            for_each: body.attributes.get("for_each").map(|a| a.value.clone()),
            depends_on: Vec::new(),
            body: Body { span: body.span, ..Body::default() },
            lifecycle: Lifecycle::default(),
            span: b.span,
        };
        if let (Some(_), Some(fe)) = (&res.count, body.attributes.get("for_each")) {
            self.push(
                Diagnostic::error(
                    "Invalid combination of \"count\" and \"for_each\"",
                    "The \"count\" and \"for_each\" meta-arguments are mutually exclusive; only one may be used to create instances.",
                )
                .at(fe.name_span),
            );
        }
        if let Some(a) = body.attributes.get("provider") {
            res.provider = provider_ref(&a.value, self.is_json).map_err(|d| self.push(d)).ok();
        }
        if let Some(a) = body.attributes.get("depends_on") {
            res.depends_on = reference_list(&a.value, self.is_json, "depends_on", &mut self.diags);
        }
        for (k, a) in &body.attributes {
            if !matches!(k.as_str(), "count" | "for_each" | "provider" | "depends_on") {
                res.body.attributes.insert(k.clone(), a.clone());
            }
        }
        let mut seen_lifecycle = false;
        for nested in &body.blocks {
            if nested.kind == "lifecycle" {
                if seen_lifecycle {
                    self.push(
                        Diagnostic::error(
                            "Duplicate lifecycle block",
                            "Only one lifecycle block is allowed in a resource.",
                        )
                        .at(nested.kind_span),
                    );
                }
                seen_lifecycle = true;
                res.lifecycle = self.lifecycle(nested);
            } else {
                res.body.blocks.push(nested.clone());
            }
        }
        let key = res.key();
        if let Some(prev) = self.module.resources.get(&key) {
            let what = if mode == Mode::Data { "data source" } else { "resource" };
            let d = Diagnostic::error(
                format!("Duplicate {what} \"{}\" configuration", key.trim_start_matches("data.")),
                format!("A {what} named \"{}\" of type \"{}\" was already declared. Names must be unique per type within a module.", res.name, res.type_name),
            )
            .at(b.label_spans.get(1).copied().unwrap_or(b.span))
            .related(prev.span, "previously declared here");
            self.push(d);
            return;
        }
        self.module.resources.insert(key, res);
    }

    fn lifecycle(&mut self, b: &Block) -> Lifecycle {
        const ARGS: &[&str] = &["prevent_destroy", "create_before_destroy", "ignore_changes", "replace_triggered_by"];
        self.check_only(&b.body, "lifecycle", ARGS, &["precondition", "postcondition"]);
        let mut lc = Lifecycle { span: Some(b.span), ..Lifecycle::default() };
        lc.prevent_destroy = self.boolean(&b.body, "prevent_destroy").unwrap_or(false);
        lc.preconditions = super::decode_more::conditions(self, b, "precondition");
        lc.postconditions = super::decode_more::conditions(self, b, "postcondition");
        lc.create_before_destroy = self.boolean(&b.body, "create_before_destroy").unwrap_or(false);
        if let Some(a) = b.body.attributes.get("ignore_changes") {
            lc.ignore_changes = self.ignore_changes(&a.value);
        }
        if let Some(a) = b.body.attributes.get("replace_triggered_by") {
            lc.replace_triggered_by = reference_list(&a.value, self.is_json, "replace_triggered_by", &mut self.diags);
        }
        lc
    }

    fn ignore_changes(&mut self, expr: &Expr) -> IgnoreChanges {
        let unquoted = statics::unquote_json(expr, self.is_json);
        if statics::attr_path(&unquoted).is_some_and(|p| p == ["all"]) {
            return IgnoreChanges::All;
        }
        let Some(items) = statics::tuple_items(expr) else {
            self.push(
                Diagnostic::error(
                    "Invalid ignore_changes",
                    "ignore_changes must be `all` or a list of attribute names, like `[tags, labels]`.",
                )
                .at(expr.span),
            );
            return IgnoreChanges::None;
        };
        let mut names = Vec::new();
        for item in items {
            // Terraform 0.11 wrote attribute names as strings; accept both spellings.
            let item = statics::unquote_json(&item, true);
            match statics::reference(&item) {
                Some(r) => names.push(r.path.join(".")),
                None => self.push(
                    Diagnostic::error(
                        "Invalid ignore_changes",
                        "Each element of ignore_changes must be an attribute name of this resource, like `tags`.",
                    )
                    .at(item.span),
                ),
            }
        }
        IgnoreChanges::Attributes(names)
    }

    fn provider(&mut self, b: &Block) {
        let name = b.labels[0].clone();
        let alias = self.string(&b.body, "alias");
        let mut body = b.body.clone();
        body.attributes.shift_remove("alias");
        if let Some(prev) = self.module.providers.iter().find(|p| p.name == name && p.alias == alias) {
            let what = match &alias {
                Some(a) => format!("provider \"{name}\" with alias \"{a}\""),
                None => format!("default provider \"{name}\""),
            };
            let d = Diagnostic::error(
                "Duplicate provider configuration",
                format!("The {what} is already configured. Give additional configurations of the same provider distinct `alias` names."),
            )
            .at(b.label_spans.first().copied().unwrap_or(b.span))
            .related(prev.span, "previously configured here");
            self.push(d);
            return;
        }
        self.module.providers.push(ProviderConfig { name, alias, body, span: b.span });
    }

    fn module_call(&mut self, b: &Block) {
        let name = b.labels[0].clone();
        let body = &b.body;
        let source = match body.attributes.get("source") {
            Some(a) => match constant_string(self.constants, &a.value, "\"source\" argument") {
                Ok(s) if is_local_source(&s) => s,
                Ok(s) => {
                    self.push(
                        Diagnostic::error(
                            "Unsupported module source",
                            format!("Module sources must be local paths starting with \"./\" or \"../\"; \"{s}\" is not. Copy the module into this repository and refer to it by path."),
                        )
                        .at(a.value.span),
                    );
                    String::new()
                }
                Err(d) => {
                    self.push(d);
                    String::new()
                }
            },
            None => {
                self.push(
                    Diagnostic::error("Missing required argument", "The \"source\" argument is required in a module block: the local path of the module, like \"./modules/net\".")
                        .at(b.label_spans.first().copied().unwrap_or(b.span)),
                );
                String::new()
            }
        };
        let mut call = ModuleCall {
            name: name.clone(),
            source,
            count: body.attributes.get("count").map(|a| a.value.clone()),
            for_each: body.attributes.get("for_each").map(|a| a.value.clone()),
            depends_on: Vec::new(),
            inputs: indexmap::IndexMap::new(),
            providers: Vec::new(),
            span: b.span,
        };
        if let (Some(_), Some(fe)) = (&call.count, body.attributes.get("for_each")) {
            self.push(
                Diagnostic::error(
                    "Invalid combination of \"count\" and \"for_each\"",
                    "The \"count\" and \"for_each\" meta-arguments are mutually exclusive; only one may be used to create instances.",
                )
                .at(fe.name_span),
            );
        }
        if let Some(a) = body.attributes.get("depends_on") {
            call.depends_on = reference_list(&a.value, self.is_json, "depends_on", &mut self.diags);
        }
        if let Some(a) = body.attributes.get("providers") {
            self.module_providers(&a.value, &mut call);
        }
        for (k, a) in &body.attributes {
            if !matches!(k.as_str(), "source" | "version" | "count" | "for_each" | "depends_on" | "providers") {
                call.inputs.insert(k.clone(), a.clone());
            }
        }
        for nested in &body.blocks {
            self.push(unknown_block(nested, "module", &[]));
        }
        if let Some(prev) = self.module.module_calls.get(&name) {
            let d = Diagnostic::error(
                "Duplicate module call",
                format!("A module call named \"{name}\" was already declared in this module. Module call names must be unique."),
            )
            .at(b.label_spans.first().copied().unwrap_or(b.span))
            .related(prev.span, "previously declared here");
            self.push(d);
            return;
        }
        self.module.module_calls.insert(name, call);
    }

    fn module_providers(&mut self, expr: &Expr, call: &mut ModuleCall) {
        use hcl::edit::Span as _;
        use hcl::edit::expr::{Expression, ObjectKey};
        let Expression::Object(obj) = &expr.expr else {
            self.push(
                Diagnostic::error("Invalid providers argument", "The providers argument maps the module's provider names to configurations here: `{ local = local.other }`.")
                    .at(expr.span),
            );
            return;
        };
        for (key, value) in obj.iter() {
            let name = match key {
                ObjectKey::Ident(id) => id.value().to_string(),
                ObjectKey::Expression(e) => {
                    let k = Expr { expr: e.clone(), span: expr.sub_span(e.span()) };
                    match statics::attr_path(&k) {
                        Some(p) => p.join("."),
                        None => match e {
                            Expression::String(s) => s.value().to_string(),
                            _ => {
                                self.push(
                                    Diagnostic::error(
                                        "Invalid providers argument",
                                        "Each key must be a provider name.",
                                    )
                                    .at(k.span),
                                );
                                continue;
                            }
                        },
                    }
                }
            };
            let v = Expr { expr: value.expr().clone(), span: expr.sub_span(value.expr().span()) };
            match provider_ref(&v, self.is_json) {
                Ok(r) => call.providers.push((name, r)),
                Err(d) => self.push(d),
            }
        }
    }

    pub(crate) fn variable_type(&mut self, expr: &Expr) -> Option<(tarn_sdk::Type, Option<TypeDefaults>)> {
        let expr = statics::unquote_json(expr, self.is_json);
        types::parse_type(&expr, self.constants).map_err(|d| self.push(d)).ok()
    }
}
