//! The Plan: what will change, why, and the execution graph that apply runs unchanged.
//! A plan is a persisted format (`tarn plan --out`): versioned, every field explicit, bound to
//! the state (lineage + serial) and the configuration (hash) it was made from. Sensitive values
//! are never in it in clear text (values are written through `tarn_sdk::value::WireValue`).
//! Also the planner's shared input types ([`PlanInput`], [`PlanOptions`], [`DataRead`]) and
//! its [`PlanOutcome`], which every stage of planning passes along.

use super::{ImportRead, ImportResults, PriorState, RootVariables, Schemas};
use crate::config::Config;
use crate::diag::Diagnostics;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use tarn_sdk::{Address, Value};

/// The digest of a variable value stored in a plan: hex SHA-256 of the lineage and the value's
/// JSON. Lets apply check a sensitive value given again without the plan storing it.
pub fn variable_digest(value: &Value, lineage: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(lineage.as_bytes());
    h.update(value.to_json_unmarked().to_string().as_bytes());
    hex::encode(h.finalize())
}

/// Bumped on every incompatible change of the saved plan format. 2: imports (the `import`
/// reason and op), which an older tarn would apply without importing. 3: the `replace` phase
/// and create_before_destroy deletes in the final phase: a plan of an older tarn would run
/// irreversible deletes before undoable work. Moves to another provider
/// configuration (`prior_provider`) needed no bump: a plan without one is written exactly as
/// before, and a plan with one also holds the `provider_changed` reason, which an older tarn
/// cannot read, so it refuses the plan rather than delete through the wrong configuration.
pub const PLAN_FORMAT_VERSION: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub tarn_version: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub binding: PlanBinding,
    pub mode: PlanMode,
    /// Root module input variables as resolved for this plan.
    pub variables: IndexMap<String, PlannedVariable>,
    /// One entry per resource instance considered, including no-ops, in address order.
    pub changes: Vec<ResourceChange>,
    pub outputs: Vec<OutputChange>,
    /// Objects whose refreshed state differs from the recorded state ("changed outside tarn").
    pub drift: Vec<Drift>,
    pub graph: ExecGraph,
}

/// What a saved plan is only valid against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanBinding {
    pub lineage: String,
    pub serial: i64,
    pub config_hash: String,
    pub workspace: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    Normal,
    Destroy,
    RefreshOnly,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedVariable {
    /// The value; `None` for a sensitive variable (never stored) — apply asks for it again and
    /// checks it against `digest`.
    #[serde(with = "wire_opt")]
    pub value: Option<Value>,
    pub sensitive: bool,
    /// Hex SHA-256 of the value's canonical JSON, salted with the plan's lineage.
    pub digest: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    /// Data source read during apply (its configuration depends on unknowns).
    Read,
    Update,
    /// Replace: destroy the old object first, then create (the default).
    DeleteThenCreate,
    /// Replace with `create_before_destroy`.
    CreateThenDelete,
    Delete,
}

impl Action {
    /// The plan symbol users know from Terraform: `+`, `~`, `-`, `-/+`, `+/-`, `<=`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Read => "<=",
            Action::Update => "~",
            Action::DeleteThenCreate => "-/+",
            Action::CreateThenDelete => "+/-",
            Action::Delete => "-",
        }
    }
}

/// Why an action was chosen, when it is not obvious from the diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeReason {
    /// Attributes that cannot change in place.
    ReplaceBecauseOf { attributes: Vec<String> },
    /// `--replace ADDR`.
    ReplaceByRequest,
    /// `lifecycle { replace_triggered_by }`.
    ReplaceTriggeredBy { by: String },
    /// The object vanished outside tarn and will be created again.
    GoneOutsideTarn,
    /// The block is no longer in configuration.
    NotInConfig,
    /// The instance key is no longer produced by count/for_each.
    KeyNotInConfig,
    /// `--destroy` / `tarn destroy`.
    DestroyRequested,
    /// `moved {}` block.
    Moved { from: String },
    /// Data source read at apply time because its configuration depends on unknowns.
    ReadDeferred,
    /// `import {}` block: the object exists already; apply records it in state (an `Import`
    /// op) before any update. `before` is the object as the provider found it at plan time.
    Import { id: String },
    /// The instance is now assigned another provider configuration (its `provider`
    /// meta-argument, or the configuration a module gets, changed): the object behind `from` is
    /// destroyed through `from` and a new one created through `to`. Keys as in
    /// [`ResourceChange::provider`].
    ProviderChanged { from: String, to: String },
    /// `removed {}` block with `lifecycle { destroy = false }`: the state row is removed
    /// after a successful apply; the object itself is left as it is. The change is a no-op.
    Forget,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: Address,
    /// Provider configuration key: `local`, `local.alias`, prefixed with the module path when
    /// configured in a module: `module.m.local`.
    pub provider: String,
    pub action: Action,
    #[serde(with = "wire_opt")]
    pub before: Option<Value>,
    /// Planned value, with `Value::Unknown` where only apply can tell.
    #[serde(with = "wire_opt")]
    pub after: Option<Value>,
    pub reasons: Vec<ChangeReason>,
    /// The action cannot be undone by a rollback (e.g. deleting a data-bearing object without
    /// create_before_destroy). Flagged before apply.
    pub irreversible: bool,
    /// What an update does beyond the change itself, from the schema's change notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Instance addresses this one depends on (for rollback order and state).
    pub dependencies: Vec<Address>,
    /// Set on the delete of a *deposed* object: an older object of this address that a
    /// create_before_destroy replacement set aside and an interrupted or failed apply left
    /// behind. `None` for the address's current object.
    #[serde(default)]
    pub deposed: Option<String>,
    /// For a replacement that moves the object to another provider configuration (see
    /// [`ChangeReason::ProviderChanged`]): the configuration the old object lives behind, which
    /// its delete goes through; `provider` is the one the new object is created through. Also
    /// set on the create of such an object that refresh found gone (nothing to delete then).
    /// Written only when set, so plans without a move read the same in both directions; a plan
    /// that has one also carries the `provider_changed` reason, which an older tarn refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_provider: Option<String>,
}

impl ResourceChange {
    /// A change of `address` through `provider` with nothing more to it: no values, reasons,
    /// notes or dependencies, the current object's. Callers fill in what their change has.
    pub fn new(address: Address, provider: impl Into<String>, action: Action) -> ResourceChange {
        ResourceChange {
            address,
            provider: provider.into(),
            action,
            before: None,
            after: None,
            reasons: Vec::new(),
            irreversible: false,
            notes: Vec::new(),
            dependencies: Vec::new(),
            deposed: None,
            prior_provider: None,
        }
    }

    /// The provider configuration an op of this change goes through: the delete of the old
    /// object through the configuration it lives behind, everything else through `provider`.
    pub fn provider_for(&self, kind: OpKind) -> &str {
        match (kind, &self.prior_provider) {
            (OpKind::Delete, Some(old)) => old,
            _ => &self.provider,
        }
    }

    /// Whether this change deletes an object that no rollback can bring back: a removal from
    /// configuration, the delete of a deposed object, or the old half of a delete-then-create
    /// replacement. (The old half of a create_before_destroy replacement is not: until it runs,
    /// a rollback can make the old object current again, and once it has, the new one stays.)
    /// The execution graph orders these after everything a rollback can undo; `irreversible`
    /// says, besides, that the object's data is lost.
    pub fn irreversible_delete(&self) -> bool {
        matches!(self.action, Action::Delete | Action::DeleteThenCreate)
    }

    /// The import ID when this change imports an existing object (see [`ChangeReason::Import`]).
    pub fn import_id(&self) -> Option<&str> {
        self.reasons.iter().find_map(|r| match r {
            ChangeReason::Import { id } => Some(id.as_str()),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    #[serde(with = "wire_opt")]
    pub before: Option<Value>,
    #[serde(with = "wire_opt")]
    pub after: Option<Value>,
    pub sensitive: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Drift {
    pub address: Address,
    #[serde(with = "wire_opt")]
    pub recorded: Option<Value>,
    /// `None`: the object is gone.
    #[serde(with = "wire_opt")]
    pub actual: Option<Value>,
}

/// The execution graph: typed operations and the order between them. Apply runs exactly this.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExecGraph {
    pub ops: Vec<Op>,
    /// `(before, after)`: op `after` may start only when op `before` has finished. Indices
    /// into `ops`.
    pub edges: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Op {
    pub kind: OpKind,
    /// Index into `Plan::changes`.
    pub change: u32,
    pub phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Create,
    Update,
    Delete,
    ReadData,
    /// Records an existing object in state (provider import + read); never changes it.
    Import,
}

/// The phases of an apply, run in this order, each only when the ones before it succeeded
/// (docs/failure-semantics.md). Everything a rollback can undo runs before any delete that no
/// rollback can undo, so a failure in `Main` is always rolled back whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Creates, updates, reads, imports and create_before_destroy creates: all undoable.
    Main,
    /// Delete-then-create replacements (their delete cannot be undone, but must precede their
    /// create) and every operation that depends on one.
    Replace,
    /// Deletes of objects removed from configuration, of deposed objects, and of the old
    /// objects of create_before_destroy replacements.
    FinalDestroy,
}

/// Values of instances already applied, by address, as the executor learns them.
pub trait AppliedValues: Send + Sync {
    fn get(&self, address: &Address) -> Option<Value>;
}

/// Computes an instance's final configuration at apply time, once the values its plan left
/// unknown are known. Implemented by the planner (it owns evaluation scopes); called by the
/// executor for every create/update whose planned value is not wholly known. It evaluates the
/// same configuration the plan was made from; it never changes the action.
pub trait Finalizer: Send + Sync {
    fn finalize(&self, change: &ResourceChange, applied: &dyn AppliedValues) -> Result<Value, Diagnostics>;

    /// Judges the instance's custom conditions at apply: with `object` `None`, the
    /// preconditions (right before its operation; those the plan could not judge); with the
    /// new object, its postconditions (`self`). `Err` is the failure's message: the operation
    /// fails, under the apply's failure policy. Conditions still unknown are not failures.
    /// Whether [`conditions`](Self::conditions) will be asked: the executor then keeps the
    /// values of applied objects for it.
    fn has_conditions(&self) -> bool {
        false
    }

    fn conditions(
        &self,
        _change: &ResourceChange,
        _applied: &dyn AppliedValues,
        _object: Option<&Value>,
    ) -> Result<(), String> {
        Ok(())
    }
}

/// Serde for `Option<Value>` through the redacting wire form.
mod wire_opt {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use tarn_sdk::Value;
    use tarn_sdk::value::WireValue;

    pub fn serialize<S: Serializer>(v: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().map(WireValue::from).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Ok(Option::<WireValue>::deserialize(d)?.map(|w| w.to_value()))
    }
}

/// What a plan does, counted: the summary line of a rendered plan, its JSON `summary`, and
/// the summary a run records in the history.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub read: usize,
    /// Existing objects an import records (whatever else their change does).
    pub import: usize,
}

impl Counts {
    pub fn of(plan: &Plan) -> Counts {
        let mut c = Counts::default();
        for ch in &plan.changes {
            match ch.action {
                Action::Create => c.add += 1,
                Action::Update => c.change += 1,
                Action::Delete => c.destroy += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    c.add += 1;
                    c.destroy += 1
                }
                Action::Read => c.read += 1,
                Action::NoOp => {}
            }
            if ch.import_id().is_some() {
                c.import += 1;
            }
        }
        c
    }
    pub fn is_empty(&self) -> bool {
        self.add + self.change + self.destroy + self.import == 0
    }
}

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub mode: PlanMode,
    /// `--target`: plan only these (blocks or instances) and what they depend on.
    pub targets: Vec<Address>,
    /// `--exclude`: leave these and everything depending on them out.
    pub excludes: Vec<Address>,
    /// `--replace`: replace these even if unchanged.
    pub replace: Vec<Address>,
    /// The working directory, for `path.cwd`.
    pub cwd: PathBuf,
    /// The home directory of the run's user, for `pathexpand`; `None`: not known, and
    /// `pathexpand("~/…")` is an error. Core never reads `HOME` itself.
    pub home: Option<PathBuf>,
    /// `tarn validate`: plan with every root variable unknown, an unknown count or for_each
    /// standing for one instance, and no provider read (data sources, imports and plan
    /// refinements stay unknown), only to find the configuration's errors.
    pub validate: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            mode: PlanMode::Normal,
            targets: Vec::new(),
            excludes: Vec::new(),
            replace: Vec::new(),
            cwd: PathBuf::from("."),
            home: None,
            validate: false,
        }
    }
}

/// A provider call the plan needs before it can be final: a data source read (a `data`
/// address; its configuration is wholly known at plan time), or the refinement of a managed
/// instance's planned value by `Provider::plan` (a managed address; `config` is the proposed
/// value, `prior` the recorded object).
#[derive(Debug, Clone)]
pub struct DataRead {
    pub address: Address,
    pub provider: String,
    pub type_name: String,
    pub config: Value,
    /// For a plan refinement: the prior object (`None` for a create, and for data reads).
    pub prior: Option<Value>,
}

/// One provider answer about an address.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// What was asked: a data source's configuration, or a managed instance's proposed value.
    pub asked: Value,
    /// Whether a prior object was given: a managed instance's update, not its create.
    pub with_prior: bool,
    /// The data source's result, or the provider's planned value.
    pub value: Value,
    /// For an update: the changed attributes the provider says cannot change in place.
    pub requires_replace: Vec<String>,
}

/// Provider answers so far, by address: for a data source the configuration read with and the
/// result; for a managed instance each proposed value asked about (an update's, then maybe its
/// replacement's) and the provider's plan of it.
pub type DataResults = HashMap<Address, Vec<Answer>>;

/// Everything a plan is made from.
#[derive(Clone, Copy)]
pub struct PlanInput<'a> {
    pub config: &'a Config,
    pub prior: &'a PriorState,
    pub drift: &'a [Drift],
    pub schemas: &'a Schemas,
    pub variables: &'a RootVariables,
    pub data: &'a DataResults,
    /// Objects found by `import {}` blocks so far (see [`plan_with_data`], which reads them).
    pub imported: &'a ImportResults,
    pub options: &'a PlanOptions,
    pub binding: &'a PlanBinding,
}

/// A plan (absent when there are errors or imports are pending), the problems found, and data
/// sources and imports that still need reading.
#[derive(Debug)]
pub struct PlanOutcome {
    pub plan: Option<Plan>,
    pub diagnostics: Diagnostics,
    pub pending_reads: Vec<DataRead>,
    /// Imports to read before the targets can be planned; while any is pending there is no plan.
    pub pending_imports: Vec<ImportRead>,
}
