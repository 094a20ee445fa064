//! Decoding of the declarations that are not resources, providers or module calls:
//! `variable`, `locals`, `output`, `tarn {}`, `moved` and `import`. Split from `decode` only to
//! keep files small; the same rules apply (collect every problem, evaluate only constants).

use super::decode::Decoder;
use super::model::*;
use super::statics::{self, reference_list};
use crate::diag::Diagnostic;
use tarn_sdk::Type;

const VARIABLE_ARGS: &[&str] = &["type", "default", "description", "sensitive", "nullable"];
const OUTPUT_ARGS: &[&str] = &["value", "description", "sensitive", "depends_on"];

fn missing(name: &str, block: &str, b: &Block) -> Diagnostic {
    let block = crate::text::article(block);
    Diagnostic::error(
        "Missing required argument",
        format!("The argument \"{name}\" is required in {block} block, but no definition was found."),
    )
    .at(b.label_spans.first().copied().unwrap_or(b.kind_span))
}

pub fn variable(d: &mut Decoder, b: &Block) {
    let name = b.labels[0].clone();
    d.check_only(&b.body, "variable", VARIABLE_ARGS, &["validation"]);
    let (ty, type_defaults) = match b.body.attributes.get("type") {
        Some(a) => d.variable_type(&a.value).unwrap_or((Type::Any, None)),
        None => (Type::Any, None),
    };
    let validations = conditions(d, b, "validation");
    let var = Variable {
        name: name.clone(),
        ty,
        default: b.body.attributes.get("default").map(|a| a.value.clone()),
        description: d.string(&b.body, "description"),
        sensitive: d.boolean(&b.body, "sensitive").unwrap_or(false),
        nullable: d.boolean(&b.body, "nullable").unwrap_or(true),
        validations,
        span: b.span,
        type_defaults,
    };
    if let Some(prev) = d.module.variables.get(&name) {
        let diag = Diagnostic::error(
            "Duplicate variable declaration",
            format!("A variable named \"{name}\" was already declared in this module. Variable names must be unique within a module."),
        )
        .at(b.label_spans.first().copied().unwrap_or(b.span))
        .related(prev.span, "previously declared here");
        d.push(diag);
        return;
    }
    d.module.variables.insert(name, var);
}

/// The `kind` blocks (validation, precondition, postcondition, assert) in `b`: a condition and
/// its error message each.
pub fn conditions(d: &mut Decoder, b: &Block, kind: &str) -> Vec<Validation> {
    let mut out = Vec::new();
    for v in b.body.blocks.iter().filter(|v| v.kind == kind) {
        d.check_only(&v.body, kind, &["condition", "error_message"], &[]);
        let cond = v.body.attributes.get("condition");
        let msg = v.body.attributes.get("error_message");
        match (cond, msg) {
            (Some(c), Some(m)) => {
                out.push(Validation { condition: c.value.clone(), error_message: m.value.clone(), span: v.span })
            }
            (None, _) => d.push(missing("condition", kind, v)),
            (_, None) => d.push(missing("error_message", kind, v)),
        }
    }
    out
}

/// `check "NAME" { assert {...} }`. Terraform's scoped data source inside a check is not
/// supported: a `data` block there is refused by name.
pub fn check(d: &mut Decoder, b: &Block) {
    let name = b.labels[0].clone();
    d.check_only(&b.body, "check", &[], &["assert"]);
    let asserts = conditions(d, b, "assert");
    if asserts.is_empty() {
        d.push(
            Diagnostic::error(
                "Missing assert block",
                format!("The check \"{name}\" has no assert block; add `assert {{ condition = ..., error_message = \"...\" }}`."),
            )
            .at(b.label_spans.first().copied().unwrap_or(b.kind_span)),
        );
    }
    if let Some(prev) = d.module.checks.iter().find(|c| c.name == name) {
        let prev = prev.span;
        d.push(
            Diagnostic::error(
                "Duplicate check block",
                format!("A check named \"{name}\" was already declared in this module. Check names must be unique within a module."),
            )
            .at(b.label_spans.first().copied().unwrap_or(b.span))
            .related(prev, "previously declared here"),
        );
        return;
    }
    d.module.checks.push(Check { name, asserts, span: b.span });
}

/// `removed { from = ADDRESS  lifecycle { destroy = BOOL } }`; `destroy` defaults to true, as
/// in Terraform and OpenTofu.
pub fn removed(d: &mut Decoder, b: &Block) {
    d.check_only(&b.body, "removed", &["from"], &["lifecycle"]);
    let Some(from) = b.body.attributes.get("from") else {
        d.push(missing("from", "removed", b));
        return;
    };
    let mut destroy = true;
    for lc in b.body.blocks.iter().filter(|x| x.kind == "lifecycle") {
        d.check_only(&lc.body, "lifecycle", &["destroy"], &[]);
        destroy = d.boolean(&lc.body, "destroy").unwrap_or(true);
    }
    let Ok(from) = statics::address(&from.value, d.is_json).map_err(|x| d.push(x)) else { return };
    if from.key.is_some() {
        d.push(
            Diagnostic::error(
                "Invalid removed address",
                "A removed block names a whole resource (`null_resource.a`), not one instance: every instance of it leaves management.",
            )
            .at(b.body.attributes["from"].value.span),
        );
        return;
    }
    d.module.removed.push(Removed { from, destroy, span: b.span });
}

pub fn locals(d: &mut Decoder, b: &Block) {
    for nested in &b.body.blocks {
        d.push(
            Diagnostic::error(
                "Unsupported block type",
                format!(
                    "Blocks of type \"{}\" are not expected in a locals block; locals are attributes: `name = value`.",
                    nested.kind
                ),
            )
            .at(nested.kind_span),
        );
    }
    for a in b.body.attributes.values() {
        if let Some(prev) = d.module.locals.get(&a.name) {
            let diag = Diagnostic::error(
                "Duplicate local value definition",
                format!("A local value named \"{}\" was already defined in this module. Local value names must be unique within a module.", a.name),
            )
            .at(a.name_span)
            .related(prev.span, "previously defined here");
            d.push(diag);
            continue;
        }
        let span = crate::diag::Span {
            file: a.name_span.file,
            start: a.name_span.start,
            end: a.value.span.end.max(a.name_span.end),
        };
        d.module.locals.insert(a.name.clone(), Local { name: a.name.clone(), value: a.value.clone(), span });
    }
}

pub fn output(d: &mut Decoder, b: &Block) {
    let name = b.labels[0].clone();
    d.check_only(&b.body, "output", OUTPUT_ARGS, &["precondition"]);
    let Some(value) = b.body.attributes.get("value") else {
        d.push(missing("value", "output", b));
        return;
    };
    let depends_on = match b.body.attributes.get("depends_on") {
        Some(a) => reference_list(&a.value, d.is_json, "depends_on", &mut d.diags),
        None => Vec::new(),
    };
    let out = Output {
        name: name.clone(),
        value: value.value.clone(),
        description: d.string(&b.body, "description"),
        sensitive: d.boolean(&b.body, "sensitive").unwrap_or(false),
        depends_on,
        preconditions: conditions(d, b, "precondition"),
        span: b.span,
    };
    if let Some(prev) = d.module.outputs.get(&name) {
        let diag = Diagnostic::error(
            "Duplicate output definition",
            format!("An output named \"{name}\" was already defined in this module. Output names must be unique within a module."),
        )
        .at(b.label_spans.first().copied().unwrap_or(b.span))
        .related(prev.span, "previously defined here");
        d.push(diag);
        return;
    }
    d.module.outputs.insert(name, out);
}

pub fn settings(d: &mut Decoder, b: &Block) {
    d.check_only(&b.body, "tarn", &["required_version", "on_interrupt"], &["required_providers", "backend"]);
    if let Some(prev) = d.module.settings.span {
        d.push(
            Diagnostic::error(
                "Duplicate tarn block",
                "Only one tarn block is allowed per module; merge the settings into one block.",
            )
            .at(b.kind_span)
            .related(prev, "first tarn block"),
        );
    }
    d.module.settings.span = Some(b.span);
    if let Some(a) = b.body.attributes.get("required_version")
        && let Some(text) = d.string(&b.body, "required_version")
    {
        d.module.settings.required_version = Some(Constraint { text, span: a.value.span });
    }
    if let Some(a) = b.body.attributes.get("on_interrupt")
        && let Some(text) = d.string(&b.body, "on_interrupt")
    {
        match text.as_str() {
            "keep" => d.module.settings.on_interrupt = Some(crate::exec::InterruptPolicy::Keep),
            "rollback" => d.module.settings.on_interrupt = Some(crate::exec::InterruptPolicy::Rollback),
            other => d.push(
                Diagnostic::error(
                    "Invalid on_interrupt",
                    format!(
                        "\"{other}\" is not an interrupt policy; use \"keep\" (keep what finished, the default) or \
                         \"rollback\" (undo what finished)."
                    ),
                )
                .at(a.value.span),
            ),
        }
    }
    for rp in b.body.blocks.iter().filter(|x| x.kind == "required_providers") {
        for nested in &rp.body.blocks {
            d.push(
                Diagnostic::error(
                    "Unsupported block type",
                    "required_providers holds attributes: `local = { source = \"...\" }`.",
                )
                .at(nested.kind_span),
            );
        }
        for a in rp.body.attributes.values() {
            let entry = match d.constants.constant(&a.value) {
                Ok(v) => v,
                Err(diag) => {
                    d.push(diag);
                    continue;
                }
            };
            let req = match entry.unmark().0 {
                tarn_sdk::Value::String(s) => RequiredProvider {
                    source: None,
                    version: Some(s.clone()),
                    span: a.name_span,
                    version_span: a.value.span,
                },
                tarn_sdk::Value::Map(m) => {
                    for k in m.keys().filter(|k| !matches!(k.as_str(), "source" | "version")) {
                        d.push(
                            Diagnostic::error("Unsupported argument", format!("\"{k}\" is not expected in a required_providers entry; use \"source\" and \"version\"."))
                                .at(a.value.span),
                        );
                    }
                    RequiredProvider {
                        source: m.get("source").and_then(|v| v.as_str()).map(str::to_string),
                        version: m.get("version").and_then(|v| v.as_str()).map(str::to_string),
                        span: a.name_span,
                        version_span: a.value.span,
                    }
                }
                _ => {
                    d.push(
                        Diagnostic::error(
                            "Invalid required_providers entry",
                            "An entry is an object: `{ source = \"...\", version = \"...\" }`.",
                        )
                        .at(a.value.span),
                    );
                    continue;
                }
            };
            d.module.settings.required_providers.insert(a.name.clone(), req);
        }
    }
    for be in b.body.blocks.iter().filter(|x| x.kind == "backend") {
        let Some(kind) = be.labels.first() else {
            d.push(
                Diagnostic::error(
                    "Missing backend kind",
                    "A backend block takes one label, the backend kind: `backend \"sqlite\" { ... }`.",
                )
                .at(be.kind_span),
            );
            continue;
        };
        if let Some(prev) = &d.module.settings.backend {
            let prev = prev.span;
            d.push(
                Diagnostic::error("Duplicate backend configuration", "Only one backend may be configured.")
                    .at(be.kind_span)
                    .related(prev, "first backend"),
            );
            continue;
        }
        for a in be.body.attributes.values() {
            if let Err(diag) = d.constants.constant(&a.value) {
                d.push(diag);
            }
        }
        d.module.settings.backend = Some(Backend { kind: kind.clone(), body: be.body.clone(), span: be.span });
    }
}

pub fn moved(d: &mut Decoder, b: &Block) {
    d.check_only(&b.body, "moved", &["from", "to"], &[]);
    let from = b.body.attributes.get("from");
    let to = b.body.attributes.get("to");
    let (Some(from), Some(to)) = (from, to) else {
        let which = if from.is_none() { "from" } else { "to" };
        d.push(missing(which, "moved", b));
        return;
    };
    let from = statics::address(&from.value, d.is_json).map_err(|x| d.push(x)).ok();
    let to = statics::address(&to.value, d.is_json).map_err(|x| d.push(x)).ok();
    if let (Some(from), Some(to)) = (from, to) {
        d.module.moved.push(Moved { from, to, span: b.span });
    }
}

pub fn import(d: &mut Decoder, b: &Block) {
    d.check_only(&b.body, "import", &["to", "id", "provider", "for_each"], &[]);
    let (Some(to), Some(id)) = (b.body.attributes.get("to"), b.body.attributes.get("id")) else {
        let which = if b.body.attributes.contains_key("to") { "id" } else { "to" };
        d.push(missing(which, "import", b));
        return;
    };
    let provider = match b.body.attributes.get("provider") {
        Some(p) => match statics::provider_ref(&p.value, d.is_json) {
            Ok(r) => Some(r),
            Err(x) => {
                d.push(x);
                None
            }
        },
        None => None,
    };
    let for_each = b.body.attributes.get("for_each").map(|a| a.value.clone());
    let target = match for_each {
        // Only with for_each may the key be an expression (`[each.key]`).
        Some(_) => statics::import_target(&to.value, d.is_json),
        None => statics::address(&to.value, d.is_json).map(|a| (a, None)),
    };
    if let Ok((to, to_key)) = target.map_err(|x| d.push(x)) {
        d.module.imports.push(Import { to, to_key, id: id.value.clone(), for_each, provider, span: b.span });
    }
}
