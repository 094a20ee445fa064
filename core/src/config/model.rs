//! The configuration model: what a module directory declares, with expressions kept unevaluated
//! (as hcl-edit trees with spans) so that evaluation can happen per instance, in graph order,
//! with unknowns. This is the contract between the loader and the planner.

use crate::diag::{SourceMap, Span};
use indexmap::IndexMap;
use std::path::PathBuf;
use tarn_sdk::{Mode, Type};

/// An unevaluated expression and where it was written.
///
/// Spans inside `expr` (hcl-edit's) are byte offsets into the text that was parsed, which for
/// `*.tarn.json` files is a slice of the file. `span.start` is always the file offset of `expr`
/// itself, so `span.start - expr.span().start` maps every inner span into the file; use
/// [`Expr::sub_span`] rather than doing this by hand.
#[derive(Debug, Clone)]
pub struct Expr {
    pub expr: hcl::edit::expr::Expression,
    pub span: Span,
}

impl Expr {
    /// The file span of a sub-expression's hcl-edit range (`None` ranges give the whole span).
    pub fn sub_span(&self, range: Option<std::ops::Range<usize>>) -> Span {
        use hcl::edit::Span as _;
        let base = self.expr.span().map(|r| self.span.start.saturating_sub(r.start)).unwrap_or(0);
        match range {
            Some(r) if self.expr.span().is_some() => {
                Span { file: self.span.file, start: base + r.start, end: base + r.end.max(r.start) }
            }
            _ => self.span,
        }
    }
}

/// An attribute `name = expr`.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub name_span: Span,
    pub value: Expr,
}

/// The body of a block: attributes and nested blocks, in source order.
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub attributes: IndexMap<String, Attribute>,
    pub blocks: Vec<Block>,
    pub span: Option<Span>,
}

/// A nested block, e.g. `healthcheck { ... }` inside a resource.
#[derive(Debug, Clone)]
pub struct Block {
    pub kind: String,
    pub labels: Vec<String>,
    pub body: Body,
    pub span: Span,
    /// Where the block type name was written (for "unknown block type" and similar).
    pub kind_span: Span,
    /// One span per label, in order.
    pub label_spans: Vec<Span>,
}

/// A loaded configuration: the root module, its module tree, and all source text.
#[derive(Debug, Clone)]
pub struct Config {
    pub sources: SourceMap,
    pub root: ModuleTree,
    /// SHA-256 over every file's path and content, in a stable order: binds saved plans.
    pub hash: String,
}

#[derive(Debug, Clone)]
pub struct ModuleTree {
    pub module: Module,
    /// Child modules by call name (`module "net" {}` → "net").
    pub children: IndexMap<String, ModuleTree>,
}

/// One module directory.
#[derive(Debug, Clone, Default)]
pub struct Module {
    pub dir: PathBuf,
    pub settings: Settings,
    pub variables: IndexMap<String, Variable>,
    pub locals: IndexMap<String, Local>,
    pub outputs: IndexMap<String, Output>,
    /// Keyed by `TYPE.NAME` for managed resources and `data.TYPE.NAME` for data sources.
    pub resources: IndexMap<String, Resource>,
    pub providers: Vec<ProviderConfig>,
    pub module_calls: IndexMap<String, ModuleCall>,
    pub moved: Vec<Moved>,
    pub imports: Vec<Import>,
    /// `check "NAME" {}` blocks: assertions reported as warnings, never stopping a run.
    pub checks: Vec<Check>,
    /// `removed {}` blocks: objects to take out of management, forgotten or destroyed.
    pub removed: Vec<Removed>,
}

/// The `tarn {}` block.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `required_providers { local = { source = "...", version = "..." } }`, by local name.
    pub required_providers: IndexMap<String, RequiredProvider>,
    pub backend: Option<Backend>,
    /// `required_version = ">= 1.2, < 2.0"`: the tarn versions this configuration accepts.
    pub required_version: Option<Constraint>,
    /// `on_interrupt = "keep" | "rollback"`: what the first SIGINT/SIGTERM during an apply
    /// does with what finished; `--on-interrupt` overrides it. `None`: keep.
    pub on_interrupt: Option<crate::exec::InterruptPolicy>,
    pub span: Option<Span>,
}

/// A version constraint as written (`">= 1.2, < 2.0"`, `"~> 0.4"`), with where it was written.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct RequiredProvider {
    pub source: Option<String>,
    pub version: Option<String>,
    pub span: Span,
    /// Where `version` was written (the entry's value).
    pub version_span: Span,
}

/// `backend "sqlite" { path = ... }`: arguments must be literals (no references).
#[derive(Debug, Clone)]
pub struct Backend {
    pub kind: String,
    pub body: Body,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    /// The declared type constraint; `Type::Any` when absent.
    pub ty: Type,
    pub default: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Validation>,
    pub span: Span,
    /// Defaults of `optional(type, default)` attributes in the type constraint, if any.
    pub type_defaults: Option<TypeDefaults>,
}

/// Defaults for optional object attributes of a type constraint, mirroring its shape:
/// `values` holds the defaults of this object level's attributes; `children` descends into
/// attributes by name, and into collection elements under the key `"*"`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeDefaults {
    pub values: IndexMap<String, tarn_sdk::Value>,
    pub children: IndexMap<String, TypeDefaults>,
}

/// A `validation`, `precondition`, `postcondition` or `assert` block: a condition and the
/// message shown when it is false.
#[derive(Debug, Clone)]
pub struct Validation {
    pub condition: Expr,
    pub error_message: Expr,
    pub span: Span,
}

/// A `check "NAME" { assert { condition = ..., error_message = ... } }` block.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub asserts: Vec<Validation>,
    pub span: Span,
}

/// A `removed { from = TYPE.NAME  lifecycle { destroy = false } }` block: the object leaves
/// management; `destroy` false forgets it (its row goes, the object stays), true destroys it.
#[derive(Debug, Clone)]
pub struct Removed {
    pub from: tarn_sdk::Address,
    pub destroy: bool,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub value: Expr,
    pub description: Option<String>,
    pub sensitive: bool,
    pub depends_on: Vec<Reference>,
    /// Judged at plan; a false one stops the plan.
    pub preconditions: Vec<Validation>,
    pub span: Span,
}

/// A static reference written in configuration, e.g. `null_resource.a` in `depends_on`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Leading attribute names: `["null_resource", "a", "id"]`, `["var", "x"]`, `["count", "index"]`.
    pub path: Vec<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
    /// `provider = local.alias` meta-argument; `None` uses the default configuration of the
    /// provider implied by the type's prefix.
    pub provider: Option<ProviderRef>,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Reference>,
    /// Everything that is not a meta-argument and not `lifecycle`.
    pub body: Body,
    pub lifecycle: Lifecycle,
    pub span: Span,
}

impl Resource {
    /// `TYPE.NAME` or `data.TYPE.NAME`: the key in [`Module::resources`].
    pub fn key(&self) -> String {
        match self.mode {
            Mode::Managed => format!("{}.{}", self.type_name, self.name),
            Mode::Data => format!("data.{}.{}", self.type_name, self.name),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    /// Attribute names whose changes are ignored; `all` ignores every attribute.
    pub ignore_changes: IgnoreChanges,
    pub replace_triggered_by: Vec<Reference>,
    /// Checked at plan, per instance; a false one stops the plan.
    pub preconditions: Vec<Validation>,
    /// Checked after the object's create or update (`self` is the new object); a false one
    /// fails that operation.
    pub postconditions: Vec<Validation>,
    pub span: Option<Span>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum IgnoreChanges {
    #[default]
    None,
    All,
    Attributes(Vec<String>),
}

/// `provider = NAME` or `provider = NAME.ALIAS`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRef {
    pub name: String,
    pub alias: Option<String>,
    pub span: Span,
}

/// A `provider "NAME" { alias = ..., ... }` block.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub name: String,
    pub alias: Option<String>,
    pub body: Body,
    pub span: Span,
}

/// A `module "NAME" { source = "./dir", ... }` block.
#[derive(Debug, Clone)]
pub struct ModuleCall {
    pub name: String,
    pub source: String,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Reference>,
    /// Input variables: every attribute that is not a meta-argument.
    pub inputs: IndexMap<String, Attribute>,
    /// `providers = { local = local.alias }`.
    pub providers: Vec<(String, ProviderRef)>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Moved {
    pub from: tarn_sdk::Address,
    pub to: tarn_sdk::Address,
    pub span: Span,
}

/// An `import {}` block (root module only; the planner checks that).
#[derive(Debug, Clone)]
pub struct Import {
    /// The target; with `for_each` and a key expression, the address without its key.
    pub to: tarn_sdk::Address,
    /// With `for_each`: the instance key of `to` as an expression (`[each.key]`), evaluated
    /// per element.
    pub to_key: Option<Expr>,
    pub id: Expr,
    pub for_each: Option<Expr>,
    pub provider: Option<ProviderRef>,
    pub span: Span,
}
