//! Loader tests: every block type decoded from native syntax, structural diagnostics (with
//! the source text their span covers), module trees from disk, and JSON/HCL equivalence.

use super::{load, load_sources};
use crate::config::*;
use crate::diag::Diagnostics;
use tarn_sdk::{Mode, Type, Value};

fn load_hcl(src: &str) -> (Config, Diagnostics) {
    load_sources(&[("main.tarn.hcl", src)])
}

fn text_at(cfg: &Config, span: crate::diag::Span) -> String {
    cfg.sources.files[span.file].text[span.start..span.end].to_string()
}

/// Asserts exactly the given (summary, spanned text, detail fragment) diagnostics, in order.
fn expect_diags(src: &str, want: &[(&str, &str, &str)]) {
    let (cfg, diags) = load_hcl(src);
    let got: Vec<(String, String, String)> = diags
        .iter()
        .map(|d| (d.summary.clone(), d.span.map(|s| text_at(&cfg, s)).unwrap_or_default(), d.detail.clone()))
        .collect();
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((gs, gt, gd), (ws, wt, wd)) in got.iter().zip(want) {
        assert_eq!(gs, ws, "{got:#?}");
        assert_eq!(gt, wt, "{got:#?}");
        assert!(gd.contains(wd), "{gd} should contain {wd}");
    }
}

pub(crate) const FULL: &str = r#"
tarn {
  required_providers {
    null = { source = "tarn/null", version = "1.0" }
  }
  backend "sqlite" {
    path = ".tarn/state.db"
  }
}

variable "name" {
  type        = string
  default     = "web"
  description = "The name."
  sensitive   = false
  nullable    = false
  validation {
    condition     = length(var.name) > 0
    error_message = "Must not be empty."
  }
}

variable "servers" {
  type = map(object({ size = string, port = optional(number, 80) }))
}

locals {
  full = "${var.name}-x"
  n    = 2
}

provider "null" {}

provider "null" {
  alias = "other"
  token = "abc"
}

resource "null_resource" "a" {
  count    = local.n
  provider = null.other
  triggers = { name = local.full }
  nested {
    x = 1
  }
  lifecycle {
    prevent_destroy       = true
    create_before_destroy = true
    ignore_changes        = [triggers, tags["x"]]
    replace_triggered_by  = [null_resource.b.id]
  }
}

resource "null_resource" "b" {
  for_each   = var.servers
  depends_on = [null_resource.a]
  lifecycle {
    ignore_changes = all
  }
}

data "null_data" "d" {
  input = null_resource.b["x"].id
}

output "out" {
  value       = null_resource.a[0].id
  description = "Out."
  sensitive   = true
  depends_on  = [null_resource.b]
}

module "net" {
  source     = "./net"
  count      = 1
  cidr       = "10.0.0.0/16"
  depends_on = [null_resource.a]
  providers = {
    null = null.other
  }
}

moved {
  from = null_resource.old
  to   = null_resource.a[0]
}

import {
  to       = null_resource.b["x"]
  id       = "abc-123"
  provider = null.other
}
"#;

#[test]
fn every_block_type_is_decoded() {
    let (cfg, diags) = load_hcl(FULL);
    assert!(diags.is_empty(), "{diags:#?}");
    let m = &cfg.root.module;
    let s = &m.settings;
    assert_eq!(s.required_providers["null"].source.as_deref(), Some("tarn/null"));
    assert_eq!(s.backend.as_ref().map(|b| b.kind.as_str()), Some("sqlite"));
    let name = &m.variables["name"];
    assert_eq!(name.ty, Type::String);
    assert_eq!(name.description.as_deref(), Some("The name."));
    assert!(!name.nullable && !name.sensitive);
    assert_eq!(name.validations.len(), 1);
    let servers = &m.variables["servers"];
    assert_eq!(servers.ty.to_string(), "map(object({size = string, port = optional(number)}))");
    assert_eq!(servers.type_defaults.as_ref().unwrap().children["*"].values["port"], Value::number(80.0));
    assert_eq!(m.locals.keys().collect::<Vec<_>>(), ["full", "n"]);
    assert_eq!(m.providers.len(), 2);
    assert_eq!(m.providers[1].alias.as_deref(), Some("other"));
    assert!(m.providers[1].body.attributes.contains_key("token"));
    let a = &m.resources["null_resource.a"];
    assert!(a.count.is_some());
    assert_eq!(a.provider.as_ref().map(|p| (p.name.as_str(), p.alias.as_deref())), Some(("null", Some("other"))));
    assert!(a.body.attributes.contains_key("triggers") && !a.body.attributes.contains_key("count"));
    assert_eq!(a.body.blocks.len(), 1);
    assert!(a.lifecycle.prevent_destroy && a.lifecycle.create_before_destroy);
    assert_eq!(a.lifecycle.ignore_changes, IgnoreChanges::Attributes(vec!["triggers".into(), "tags".into()]));
    assert_eq!(a.lifecycle.replace_triggered_by[0].path, ["null_resource", "b", "id"]);
    let b = &m.resources["null_resource.b"];
    assert!(b.for_each.is_some());
    assert_eq!(b.depends_on[0].path, ["null_resource", "a"]);
    assert_eq!(b.lifecycle.ignore_changes, IgnoreChanges::All);
    assert_eq!(m.resources["data.null_data.d"].mode, Mode::Data);
    let out = &m.outputs["out"];
    assert!(out.sensitive);
    assert_eq!(out.depends_on.len(), 1);
    let net = &m.module_calls["net"];
    assert_eq!(net.source, "./net");
    assert!(net.inputs.contains_key("cidr") && !net.inputs.contains_key("source"));
    assert_eq!(net.providers[0].0, "null");
    assert_eq!(m.moved[0].to.to_string(), "null_resource.a[0]");
    assert_eq!(m.imports[0].to.to_string(), "null_resource.b[\"x\"]");
    assert_eq!(m.imports[0].provider.as_ref().unwrap().alias.as_deref(), Some("other"));
}

#[test]
fn structural_problems_are_all_reported_with_spans() {
    expect_diags(
        r#"
resorce "a" "b" {}
variable "v" {
  tpye = string
}
variable "v" {}
resource "null_resource" "a" {
  count    = 1
  for_each = {}
  depends_on = ["x", 1 + 2]
}
resource "null_resource" "a" {}
locals {
  x = 1
}
locals {
  x = 2
}
output "o" {
  valeu = 1
}
variable "t" {
  type = lst(string)
}
"#,
        &[
            ("Unsupported block type", "resorce", "Did you mean \"resource\"?"),
            ("Unsupported argument", "tpye", "Did you mean \"type\"?"),
            ("Duplicate variable declaration", "\"v\"", "already declared"),
            ("Invalid combination of \"count\" and \"for_each\"", "for_each", "mutually exclusive"),
            ("Invalid reference", "\"x\"", "must be a reference"),
            ("Invalid reference", "1 + 2", "must be a reference"),
            ("Duplicate resource \"null_resource.a\" configuration", "\"a\"", "already declared"),
            ("Duplicate local value definition", "x", "already defined"),
            ("Unsupported argument", "valeu", "Did you mean \"value\"?"),
            ("Missing required argument", "\"o\"", "\"value\" is required"),
            ("Invalid type specification", "lst(string)", "Did you mean \"list\"?"),
        ],
    );
}

#[test]
fn parse_errors_have_positions() {
    let (cfg, diags) = load_hcl("resource \"a\" \"b\" {\n  x = \n}\n");
    assert_eq!(diags.0.len(), 1);
    let d = &diags.0[0];
    assert_eq!(d.summary, "Invalid syntax");
    let (line, _) = cfg.sources.line_col(0, d.span.unwrap().start);
    assert!(line == 2 || line == 3, "line {line}");
}

#[test]
fn modules_load_recursively_and_cycles_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("net/sub")).unwrap();
    std::fs::write(root.join("main.tarn.hcl"), "module \"net\" {\n  source = \"./net\"\n}\n").unwrap();
    std::fs::write(root.join("net/a.tarn.hcl"), "variable \"cidr\" {}\nmodule \"sub\" {\n  source = \"./sub\"\n}\n")
        .unwrap();
    std::fs::write(root.join("net/sub/x.tarn.hcl"), "module \"back\" {\n  source = \"../..\"\n}\n").unwrap();
    std::fs::write(root.join("ignored.tf"), "garbage").unwrap();
    std::fs::write(root.join(".#main.tarn.hcl"), "garbage").unwrap();
    std::fs::write(root.join("#main.tarn.hcl#"), "garbage").unwrap();
    let (cfg, diags) = load(root);
    let cfg = cfg.unwrap();
    assert_eq!(diags.0.len(), 1, "{diags:#?}");
    assert_eq!(diags.0[0].summary, "Module source cycle");
    let net = &cfg.root.children["net"];
    assert!(net.module.variables.contains_key("cidr"));
    assert!(net.children.contains_key("sub"));
    assert_eq!(cfg.sources.files.len(), 3);
    assert_eq!(cfg.hash.len(), 64);
    // The hash changes with content and is stable otherwise.
    let (again, _) = load(root);
    assert_eq!(again.unwrap().hash, cfg.hash);
    std::fs::write(root.join("net/a.tarn.hcl"), "variable \"cidr\" {}\n").unwrap();
    assert_ne!(load(root).0.unwrap().hash, cfg.hash);
}

#[test]
fn missing_directory_gives_no_config() {
    let (cfg, diags) = load(std::path::Path::new("/definitely/not/here"));
    assert!(cfg.is_none());
    assert!(diags.has_errors());
}

pub(crate) const JSON: &str = r#"{
  "//": "JSON syntax maps 1:1 to native syntax",
  "tarn": { "backend": { "sqlite": { "path": ".tarn/state.db" } } },
  "variable": {
    "name": {
      "type": "string",
      "default": "web",
      "validation": [{ "condition": "${length(var.name) > 0}", "error_message": "Must not be empty." }]
    },
    "servers": { "type": "map(object({ size = string, port = optional(number, 80) }))" }
  },
  "locals": { "full": "${var.name}-x", "n": 2, "l": [1, true, null, {"k": "${local.env}"}] },
  "provider": { "null": [{}, { "alias": "other" }] },
  "resource": {
    "null_resource": {
      "a": {
        "count": "${local.n}",
        "provider": "null.other",
        "triggers": { "name": "${local.full}", "list": [1, true, null] },
        "lifecycle": { "ignore_changes": ["triggers"], "replace_triggered_by": ["null_resource.b.id"] }
      },
      "b": { "for_each": "${var.servers}", "depends_on": ["null_resource.a"], "lifecycle": { "ignore_changes": "all" } }
    }
  },
  "output": { "out": { "value": "${null_resource.a[0].id}", "sensitive": true } },
  "moved": [{ "from": "null_resource.old", "to": "null_resource.a[0]" }],
  "import": { "to": "null_resource.b[\"x\"]", "id": "abc-123" }
}"#;

#[test]
fn json_syntax_matches_native_syntax() {
    let (jc, jd) = load_sources(&[("main.tarn.json", JSON)]);
    assert!(jd.is_empty(), "{jd:#?}");
    let (hc, _) = load_hcl(FULL);
    let (j, h) = (&jc.root.module, &hc.root.module);
    assert_eq!(j.settings.backend.as_ref().unwrap().kind, "sqlite");
    assert_eq!(j.variables["name"].ty, h.variables["name"].ty);
    assert_eq!(j.variables["name"].validations.len(), 1);
    assert_eq!(j.variables["servers"].ty, h.variables["servers"].ty);
    assert_eq!(j.variables["servers"].type_defaults, h.variables["servers"].type_defaults);
    assert_eq!(j.providers.len(), 2);
    assert_eq!(j.providers[1].alias.as_deref(), Some("other"));
    let (ja, ha) = (&j.resources["null_resource.a"], &h.resources["null_resource.a"]);
    assert_eq!(ja.provider.as_ref().map(|p| (&p.name, &p.alias)), ha.provider.as_ref().map(|p| (&p.name, &p.alias)));
    assert_eq!(ja.lifecycle.ignore_changes, IgnoreChanges::Attributes(vec!["triggers".into()]));
    assert_eq!(ja.lifecycle.replace_triggered_by[0].path, ha.lifecycle.replace_triggered_by[0].path);
    let jb = &j.resources["null_resource.b"];
    assert_eq!(jb.depends_on[0].path, ["null_resource", "a"]);
    assert_eq!(jb.lifecycle.ignore_changes, IgnoreChanges::All);
    assert_eq!(j.moved[0].to, h.moved[0].to);
    assert_eq!(j.imports[0].to, h.imports[0].to);
    // Expressions in JSON strings evaluate like native ones, and references keep file spans.
    let refs = crate::eval::references(&ja.body.attributes["triggers"].value);
    assert_eq!(refs[0].path, ["local", "full"]);
    assert_eq!(text_at(&jc, refs[0].span), "local.full");
    let r = crate::eval::tests::scope();
    let ctx = crate::eval::EvalContext { resolver: &r, module_dir: std::path::Path::new(".") };
    let v = crate::eval::evaluate(&j.locals["full"].value, &ctx).unwrap();
    assert_eq!(v, Value::string("web-x"));
    let n = crate::eval::evaluate(&j.locals["n"].value, &ctx).unwrap();
    assert_eq!(n, Value::number(2.0));
    let list = crate::eval::evaluate(&j.locals["l"].value, &ctx).unwrap();
    let k = Value::map([("k", Value::string("prod"))]);
    assert_eq!(list, Value::List(vec![Value::number(1.0), Value::Bool(true), Value::Null, k]));
}

#[test]
fn json_errors_point_into_the_file() {
    let (cfg, diags) = load_sources(&[("bad.tarn.json", "{\n  \"resource\": {\n    \"a\" 1\n  }\n}")]);
    let d = &diags.0[0];
    assert_eq!(d.summary, "Invalid JSON syntax");
    assert_eq!(cfg.sources.line_col(0, d.span.unwrap().start), (3, 9));
    let (cfg, diags) = load_sources(&[("x.tarn.json", "{\"resorce\": {}, \"locals\": {\"a\": \"${nope.x}\"}}")]);
    assert_eq!(diags.0[0].summary, "Unsupported block type");
    assert_eq!(text_at(&cfg, diags.0[0].span.unwrap()), "\"resorce\"");
    let r = crate::eval::tests::scope();
    let ctx = crate::eval::EvalContext { resolver: &r, module_dir: std::path::Path::new(".") };
    let err = crate::eval::evaluate(&cfg.root.module.locals["a"].value, &ctx).unwrap_err();
    assert_eq!(text_at(&cfg, err.0[0].span.unwrap()), "nope");
}

#[test]
fn formatting_the_full_example_is_stable_and_lossless() {
    let once = format_hcl(FULL).unwrap();
    assert_eq!(format_hcl(&once).unwrap(), once);
    assert_eq!(::hcl::parse(FULL).unwrap(), ::hcl::parse(&once).unwrap());
    let messy: String = FULL.lines().map(|l| format!("{}  \n", l.trim_start())).collect();
    assert_eq!(format_hcl(&messy).unwrap(), once);
}

#[test]
fn json_dynamic_blocks_expand_like_native_ones() {
    let src = r#"{"resource": {"null_resource": {"a": {
        "dynamic": {"rule": {"for_each": "${var.list}", "content": {"port": "${rule.value}"}}}
    }}}}"#;
    let (cfg, d) = load_sources(&[("d.tarn.json", src)]);
    assert!(d.is_empty(), "{d:?}");
    let r = crate::eval::tests::scope();
    let ctx = crate::eval::EvalContext { resolver: &r, module_dir: std::path::Path::new(".") };
    let v = crate::eval::evaluate_body(&cfg.root.module.resources["null_resource.a"].body, &ctx).unwrap();
    assert_eq!(v.get("rule").and_then(|r| r.as_list()).map(|l| l.len()), Some(3));
}

#[test]
fn import_blocks_with_for_each_keep_the_key_as_an_expression() {
    let (cfg, diags) = load_hcl(
        "import {\n  for_each = var.ids\n  to       = null_resource.a[each.key]\n  id       = each.value\n}\n\nimport {\n  for_each = var.ids\n  to       = null_resource.b[\"fixed\"]\n  id       = each.value\n}\n",
    );
    assert!(diags.is_empty(), "{diags:#?}");
    let imports = &cfg.root.module.imports;
    assert_eq!(imports[0].to.to_string(), "null_resource.a");
    let key = imports[0].to_key.as_ref().expect("a key expression");
    assert_eq!(crate::eval::references(key)[0].path, ["each", "key"]);
    assert!(imports[0].for_each.is_some());
    assert_eq!(imports[1].to.to_string(), "null_resource.b[\"fixed\"]");
    assert!(imports[1].to_key.is_none());
    let (jc, jd) = load_sources(&[(
        "main.tarn.json",
        r#"{ "import": [ { "for_each": "${var.ids}", "to": "null_resource.a[each.key]", "id": "${each.value}" } ] }"#,
    )]);
    assert!(jd.is_empty(), "{jd:#?}");
    assert_eq!(jc.root.module.imports[0].to.to_string(), "null_resource.a");
    assert!(jc.root.module.imports[0].to_key.is_some());
    // Without for_each the key must be a literal.
    let (_, diags) = load_hcl("import {\n  to = null_resource.a[each.key]\n  id = \"x\"\n}\n");
    assert_eq!(diags.iter().map(|d| d.summary.as_str()).collect::<Vec<_>>(), ["Invalid address"]);
}
