//! Provider setup: one provider instance per provider configuration in use (the default and
//! each alias, per module that declares its own blocks; modules inherit their caller's default
//! configurations or get them through `providers = {}`), each configured with its evaluated
//! provider block. Instances come from a [`ProviderFactory`] the CLI supplies; core never
//! names a concrete provider. Also gathers the schemas planning needs.

use super::scope::{Binding, Expansion, InstId, Instances, World};
use crate::config::{Config, ModuleTree};
use crate::deadline::{self, CallDeadlines, Deadlined};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::graph::{ProviderAddr, provider_key};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use tarn_sdk::{Address, ModuleStep, Provider, ProviderSchema, Value};
use tarn_state::Snapshot;

/// Makes provider instances by name. Implemented by the CLI, the only composition root.
pub trait ProviderFactory: Send + Sync {
    /// A fresh, unconfigured instance of provider `name`, or `None` when tarn has no such
    /// provider.
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>>;
    /// Every provider name the factory knows, for messages.
    fn names(&self) -> Vec<String>;
}

/// Provider schemas by provider name (`null`, `local`).
pub type Schemas = HashMap<String, ProviderSchema>;

/// The configured provider instances of one run, by configuration key (`null`,
/// `null.alias`, `module.m.null`), their schemas, and the run's limits on one call to them
/// (which refresh, data reads, refinements and imports apply).
#[derive(Clone, Default)]
pub struct ProviderSet {
    instances: BTreeMap<String, Arc<dyn Provider>>,
    schemas: Schemas,
    deadlines: CallDeadlines,
}

impl ProviderSet {
    /// The provider serving configuration key `key` (`ResourceChange::provider`), every call
    /// to it under the set's limits ([`Deadlined`]).
    pub fn get(&self, key: &str) -> Option<Arc<dyn Provider>> {
        self.instances.get(key).map(|p| Deadlined::wrap(p.clone(), self.deadlines))
    }
    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }
    /// The instances by configuration key, as the executor takes them (it applies the limits
    /// itself).
    pub fn to_map(&self) -> HashMap<String, Arc<dyn Provider>> {
        self.instances.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.instances.keys().map(String::as_str)
    }
    /// The limits on one provider call (the defaults unless the run set its own).
    pub fn deadlines(&self) -> CallDeadlines {
        self.deadlines
    }
    /// The same set under the run's limits on one provider call.
    pub fn with_deadlines(mut self, deadlines: CallDeadlines) -> Self {
        self.deadlines = deadlines;
        self
    }
    /// A set from ready instances (tests, and callers that configure providers themselves).
    pub fn from_instances(instances: impl IntoIterator<Item = (String, Arc<dyn Provider>)>) -> Self {
        let mut set = ProviderSet::default();
        for (key, p) in instances {
            set.schemas.entry(p.name().to_string()).or_insert_with(|| p.schema());
            set.instances.insert(key, p);
        }
        set
    }
}

/// Parses a configuration key back into its parts: `module.a.module.b.null.x`.
pub fn parse_provider_key(key: &str) -> ProviderAddr {
    let mut rest = key;
    let mut module = Vec::new();
    while let Some(after) = rest.strip_prefix("module.") {
        match after.split_once('.') {
            Some((m, tail)) => {
                module.push(m.to_string());
                rest = tail;
            }
            None => break,
        }
    }
    let (name, alias) = match rest.split_once('.') {
        Some((n, a)) => (n.to_string(), Some(a.to_string())),
        None => (rest.to_string(), None),
    };
    ProviderAddr { module, name, alias }
}

/// Provider configurations in use by key: the address and its first user (for messages).
type Wanted = BTreeMap<String, (ProviderAddr, Option<(String, Span)>)>;

struct NoInstances;

impl Instances for NoInstances {
    fn expansion(&self, _: &[ModuleStep], _: &str) -> Option<std::sync::Arc<Expansion>> {
        None
    }
    fn value(&self, _: &Address, _: &[crate::eval::Step]) -> Option<(Value, usize, Option<InstId>)> {
        None
    }
}

/// What a run tells provider setup besides the configuration, the state and the variables:
/// where provider blocks are evaluated (the workspace, `path.cwd` and `abspath`'s directory,
/// `pathexpand`'s home) and the limit on one provider call, `configure` included. A struct so
/// that what a run adds later is a field, not a new parameter of [`ProviderSetup`]'s method.
///
/// [`ProviderSetup`]: crate::run::ProviderSetup
#[derive(Debug, Clone, Copy)]
pub struct SetupContext<'a> {
    pub workspace: &'a str,
    pub cwd: &'a Path,
    /// The home directory of the run's user; `None`: not known (`pathexpand("~")` fails).
    pub home: Option<&'a Path>,
    pub deadlines: CallDeadlines,
}

/// Instantiates and configures every provider configuration the configuration and the prior
/// state use. Provider blocks may refer to variables and locals (and `path.cwd`, which is
/// `at.cwd`); what depends on resources is unknown at this point and is reported. Every block
/// is evaluated first, then the providers are configured (each `configure` under the read
/// limit of `at.deadlines`, and the set returned under those limits), so that the evaluator
/// (single-threaded by design) is never held across a provider call and the future is `Send`.
pub async fn setup_providers(
    config: &Config,
    snapshot: Option<&Snapshot>,
    root_vars: &super::RootVariables,
    factory: &dyn ProviderFactory,
    at: &SetupContext<'_>,
) -> (ProviderSet, Diagnostics) {
    let mut set = ProviderSet::default().with_deadlines(at.deadlines);
    let mut diags = Diagnostics::default();
    for one in evaluate_blocks(config, snapshot, root_vars, factory, at, &mut set) {
        diags.extend(one.diags);
        let Some((key, provider, value, span)) = one.ready else { continue };
        let limit = set.deadlines.read;
        if let Err(e) = deadline::bounded(limit, "configure", provider.configure(value.unmark_deep())).await {
            diags.push(
                Diagnostic::error(
                    "Provider configuration failed",
                    format!("Provider \"{key}\" rejected its configuration: {}", e.message),
                )
                .maybe_at(span)
                .because(e.kind),
            );
            continue;
        }
        set.instances.insert(key, provider);
    }
    (set, diags)
}

/// One provider configuration after evaluation: its problems, and whether it can be configured.
struct Evaluated {
    diags: Diagnostics,
    ready: Option<Ready>,
}

/// A provider configuration ready to configure: its key, instance, evaluated block and the
/// block's span.
type Ready = (String, Arc<dyn Provider>, Value, Option<Span>);

/// Instantiates every provider configuration in use (schemas go into `set`) and evaluates
/// its block, in key order.
fn evaluate_blocks(
    config: &Config,
    snapshot: Option<&Snapshot>,
    root_vars: &super::RootVariables,
    factory: &dyn ProviderFactory,
    at: &SetupContext<'_>,
    set: &mut ProviderSet,
) -> Vec<Evaluated> {
    // Configuration key → (address, the first user, for messages).
    let mut wanted = Wanted::new();
    collect(config, &config.root, &mut Vec::new(), &mut wanted);
    for rec in snapshot.map(|s| s.resources.as_slice()).unwrap_or_default() {
        let addr = parse_provider_key(&rec.provider);
        wanted.entry(addr.to_string()).or_insert((addr, None));
    }
    let known = factory.names();
    let world = World::new(config, root_vars, &NoInstances, at.workspace, at.cwd, at.home);
    let mut out = Vec::new();
    for (key, (addr, user)) in wanted {
        let mut diags = Diagnostics::default();
        let Some(provider) = factory.instantiate(&addr.name) else {
            let (who, span) = match &user {
                Some((who, span)) => (format!("{who} uses provider \"{}\"", addr.name), Some(*span)),
                None => (format!("The state has objects managed by provider \"{}\"", addr.name), None),
            };
            diags.push(
                Diagnostic::error(
                    "Missing provider",
                    format!("{who}, which this tarn does not have. Known providers: {}.", known.join(", ")),
                )
                .maybe_at(span),
            );
            out.push(Evaluated { diags, ready: None });
            continue;
        };
        set.schemas.entry(addr.name.clone()).or_insert_with(|| provider.schema());
        let block = crate::graph::module_at(config, &addr.module)
            .and_then(|t| t.module.providers.iter().find(|p| p.name == addr.name && p.alias == addr.alias));
        let module: Vec<ModuleStep> = addr.module.iter().map(|m| ModuleStep { name: m.clone(), key: None }).collect();
        let (value, span) = match block {
            Some(b) => {
                let (v, _, d) = world.eval_body(&b.body, &module, &Binding::None);
                diags.extend(d);
                (remove_alias(v), Some(b.span))
            }
            None => (Value::Map(Default::default()), None),
        };
        diags.extend(std::mem::take(&mut *world.diags.borrow_mut()));
        if !value.is_wholly_known() {
            diags.push(
                Diagnostic::error(
                    "Provider configuration depends on unknown values",
                    format!("The configuration of provider \"{key}\" refers to values known only after apply. Provider blocks may use variables and locals computed from them."),
                )
                .maybe_at(span),
            );
            out.push(Evaluated { diags, ready: None });
            continue;
        }
        out.push(Evaluated { diags, ready: Some((key, provider, value, span)) });
    }
    out
}

fn remove_alias(v: Value) -> Value {
    match v {
        Value::Map(mut m) => {
            m.shift_remove("alias");
            Value::Map(m)
        }
        v => v,
    }
}

fn collect(config: &Config, tree: &ModuleTree, path: &mut Vec<String>, wanted: &mut Wanted) {
    for p in &tree.module.providers {
        let addr = ProviderAddr { module: path.clone(), name: p.name.clone(), alias: p.alias.clone() };
        wanted.entry(addr.to_string()).or_insert((addr, Some((format!("provider \"{}\"", p.name), p.span))));
    }
    for (key, r) in &tree.module.resources {
        if let Ok(addr) = provider_key(config, path, r) {
            {
                let who = path.iter().map(|m| format!("module.{m}.")).collect::<String>() + key;
                let span = r.provider.as_ref().map(|p| p.span).unwrap_or(r.span);
                let entry = wanted.entry(addr.to_string()).or_insert((addr, None));
                if entry.1.is_none() {
                    entry.1 = Some((who, span));
                }
            }
        }
    }
    for (name, child) in &tree.children {
        path.push(name.clone());
        collect(config, child, path, wanted);
        path.pop();
    }
}
