//! The apply-time finalizer: re-evaluates an instance's configuration once the values its plan
//! left unknown are known, reading applied values for resources and re-deriving variables,
//! locals, module values and `each.value` from the same configuration (the scope is shared
//! with planning). It never changes the action: a final value that contradicts a known
//! planned value is reported as a bug, never applied. With the same scope it judges the
//! instance's preconditions before its operation and its postconditions after it.

use super::conditions::Verdict;
use super::diff::{propose, replacement};
use super::model::{Action, AppliedValues, Finalizer, Plan, ResourceChange};
use super::providers::{Schemas, parse_provider_key};
use super::scope::{Binding, Expansion, InstId, Instances, KnownCalls, World, descend};
use super::{RootVariables, expand, schema_check};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::eval::Step;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tarn_sdk::{Address, InstanceKey, ModuleStep, Value};

/// Implements [`Finalizer`] for the executor. Owns what it needs, so it can outlive the
/// planner's borrows.
pub struct ApplyEvaluator {
    config: Arc<Config>,
    variables: RootVariables,
    schemas: Schemas,
    workspace: String,
    cwd: PathBuf,
    home: Option<PathBuf>,
    planned: HashMap<Address, Value>,
    expansions: HashMap<(Vec<ModuleStep>, String), Arc<Expansion>>,
    /// Module call instances whose bindings are known, shared by every operation's world.
    known_calls: KnownCalls,
}

impl ApplyEvaluator {
    pub fn new(config: Arc<Config>, variables: RootVariables, schemas: Schemas, plan: &Plan, cwd: PathBuf) -> Self {
        let mut planned = HashMap::new();
        let mut keys: HashMap<(Vec<ModuleStep>, String), Vec<Option<InstanceKey>>> = HashMap::new();
        for c in &plan.changes {
            if c.action == Action::Delete {
                continue;
            }
            let a = &c.address;
            let block = match a.mode {
                tarn_sdk::Mode::Managed => format!("{}.{}", a.type_name, a.name),
                tarn_sdk::Mode::Data => format!("data.{}.{}", a.type_name, a.name),
            };
            keys.entry((a.module.clone(), block)).or_default().push(a.key.clone());
            if let Some(v) = &c.after {
                planned.insert(a.clone(), v.clone());
            }
        }
        let expansions = keys
            .into_iter()
            .map(|(k, ks)| {
                let exp = match ks.first() {
                    Some(Some(InstanceKey::Int(_))) => Expansion::Count(ks.len()),
                    Some(Some(InstanceKey::Str(_))) => Expansion::ForEach(
                        ks.into_iter()
                            .filter_map(|k| match k {
                                Some(InstanceKey::Str(s)) => Some(s),
                                _ => None,
                            })
                            .collect(),
                    ),
                    _ => Expansion::Single,
                };
                (k, Arc::new(exp))
            })
            .collect();
        ApplyEvaluator {
            config,
            variables,
            schemas,
            workspace: plan.binding.workspace.clone(),
            cwd,
            home: None,
            planned,
            expansions,
            known_calls: KnownCalls::default(),
        }
    }

    /// Sets the run's home directory, for `pathexpand` in expressions evaluated at apply time.
    pub fn with_home(mut self, home: Option<PathBuf>) -> Self {
        self.home = home;
        self
    }
}

impl ApplyEvaluator {
    /// The `count.index` / `each.*` an instance's expressions see.
    fn binding(&self, world: &World, resource: &crate::config::Resource, a: &Address) -> Result<Binding, Diagnostics> {
        Ok(match &a.key {
            Some(InstanceKey::Str(k)) => {
                // A for_each over a whole block: read the one element, not every instance of
                // the block (once per operation, that would cost instances² per apply).
                if let Some(e) = resource.for_each.as_ref()
                    && let Some((value, _)) = expand::element(world, &a.module, e, k)
                {
                    return Ok(Binding::Each { key: k.clone(), value, deps: Arc::from(Vec::new()) });
                }
                let x = expand::expand(
                    world,
                    &a.module,
                    resource.count.as_ref(),
                    resource.for_each.as_ref(),
                    &a.to_string(),
                )?;
                Binding::for_key(&a.key, x.each.as_ref(), &x.deps.into())
            }
            k => Binding::for_key(k, None, &Arc::from(Vec::new())),
        })
    }
}

fn messages(d: &Diagnostics) -> String {
    d.iter().map(|d| format!("{}: {}", d.summary, d.detail)).collect::<Vec<_>>().join("; ")
}

struct Applied<'a> {
    eval: &'a ApplyEvaluator,
    applied: &'a dyn AppliedValues,
}

impl Instances for Applied<'_> {
    fn expansion(&self, module: &[ModuleStep], key: &str) -> Option<Arc<Expansion>> {
        self.eval.expansions.get(&(module.to_vec(), key.to_string())).cloned()
    }
    fn value(&self, address: &Address, steps: &[Step]) -> Option<(Value, usize, Option<InstId>)> {
        if let Some(v) = self.applied.get(address) {
            let (v, n) = descend(&v, steps);
            return Some((v, n, None));
        }
        self.eval.planned.get(address).map(|v| {
            let (v, n) = descend(v, steps);
            (v, n, None)
        })
    }
}

fn bug(change: &ResourceChange, detail: String) -> Diagnostics {
    Diagnostic::error(
        "Provider produced inconsistent final plan",
        format!("When finalizing {}, {detail} This is a bug in tarn or the provider.", change.address),
    )
    .for_address(&change.address)
    .into()
}

/// Every known part of `planned` must be equal in `final_`.
fn consistent(planned: &Value, final_: &Value) -> bool {
    match (planned.unmark().0, final_.unmark().0) {
        (Value::Unknown, _) => true,
        (Value::List(a) | Value::Set(a), Value::List(b) | Value::Set(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| consistent(x, y))
        }
        (Value::Map(a), Value::Map(b)) => a.iter().all(|(k, v)| b.get(k).is_some_and(|w| consistent(v, w))),
        (a, b) => a == b,
    }
}

impl Finalizer for ApplyEvaluator {
    fn has_conditions(&self) -> bool {
        let mut stack = vec![&self.config.root];
        while let Some(t) = stack.pop() {
            let lc = t.module.resources.values().map(|r| &r.lifecycle);
            if lc.into_iter().any(|l| !l.preconditions.is_empty() || !l.postconditions.is_empty()) {
                return true;
            }
            stack.extend(t.children.values());
        }
        false
    }

    fn conditions(
        &self,
        change: &ResourceChange,
        applied: &dyn AppliedValues,
        object: Option<&Value>,
    ) -> Result<(), String> {
        let a = &change.address;
        let module_path: Vec<String> = a.module.iter().map(|s| s.name.clone()).collect();
        let key = match a.mode {
            tarn_sdk::Mode::Managed => format!("{}.{}", a.type_name, a.name),
            tarn_sdk::Mode::Data => format!("data.{}.{}", a.type_name, a.name),
        };
        let Some(resource) =
            crate::graph::module_at(&self.config, &module_path).and_then(|t| t.module.resources.get(&key))
        else {
            return Ok(());
        };
        let (list, summary) = match object {
            None => (&resource.lifecycle.preconditions, super::conditions::PRECONDITION_FAILED),
            Some(_) => (&resource.lifecycle.postconditions, super::conditions::POSTCONDITION_FAILED),
        };
        if list.is_empty() {
            return Ok(());
        }
        let source = Applied { eval: self, applied };
        let mut world =
            World::new(&self.config, &self.variables, &source, &self.workspace, &self.cwd, self.home.as_deref());
        world.known_calls = Some(&self.known_calls);
        let binding = self.binding(&world, resource, a).map_err(|d| messages(&d))?;
        let mut failures = Vec::new();
        for cond in list {
            match super::conditions::judge(&world, cond, &a.module, &binding, object, &mut Vec::new()) {
                Verdict::Holds | Verdict::Unknown => {}
                Verdict::Fails(message) => failures.push(format!("{summary}: {message}")),
                Verdict::Invalid(d) => failures.push(format!("{summary}: {}", messages(&d))),
            }
        }
        if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
    }

    fn finalize(&self, change: &ResourceChange, applied: &dyn AppliedValues) -> Result<Value, Diagnostics> {
        let a = &change.address;
        let module_path: Vec<String> = a.module.iter().map(|s| s.name.clone()).collect();
        let key = match a.mode {
            tarn_sdk::Mode::Managed => format!("{}.{}", a.type_name, a.name),
            tarn_sdk::Mode::Data => format!("data.{}.{}", a.type_name, a.name),
        };
        let Some(resource) =
            crate::graph::module_at(&self.config, &module_path).and_then(|t| t.module.resources.get(&key))
        else {
            return Err(bug(change, "its block is no longer in the configuration.".into()));
        };
        let provider = parse_provider_key(&change.provider);
        let schema = self.schemas.get(&provider.name).and_then(|s| match a.mode {
            tarn_sdk::Mode::Managed => s.resources.get(&a.type_name),
            tarn_sdk::Mode::Data => s.data_sources.get(&a.type_name),
        });
        let Some(schema) = schema else {
            return Err(bug(change, format!("provider \"{}\" has no schema for its type.", provider.name)));
        };
        let source = Applied { eval: self, applied };
        let mut world =
            World::new(&self.config, &self.variables, &source, &self.workspace, &self.cwd, self.home.as_deref());
        world.known_calls = Some(&self.known_calls);
        let binding = self.binding(&world, resource, a)?;
        let (raw, _, mut diags) = world.eval_body(&resource.body, &a.module, &binding);
        diags.extend(std::mem::take(&mut *world.diags.borrow_mut()));
        if diags.has_errors() {
            return Err(diags);
        }
        let (config, diags) = schema_check::check(resource, a, &raw, schema);
        if diags.has_errors() {
            return Err(diags);
        }
        let mut final_ = match change.action {
            Action::Update => propose(schema, &config, change.before.as_ref(), &resource.lifecycle.ignore_changes),
            _ => replacement(schema, &config),
        };
        // Computed attributes the provider predicted at plan time (`Provider::plan`) stay as
        // planned: configuration alone leaves them unknown.
        if let (Some(Value::Map(planned)), Value::Map(f)) = (change.after.as_ref().map(|v| v.unmark().0), &mut final_) {
            for (k, v) in planned {
                let computed = schema.attributes.get(k).is_some_and(|a| a.computed);
                if computed && v.is_wholly_known() && f.get(k).is_some_and(Value::is_unknown) {
                    f.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(planned) = &change.after
            && !consistent(planned, &final_)
        {
            return Err(bug(change, "the final configuration differs from a value the plan already knew.".into()));
        }
        Ok(final_)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{DataResults, PlanBinding, PlanInput, PlanOptions, PriorState, plan};
    use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

    struct Applied(HashMap<Address, Value>);

    impl AppliedValues for Applied {
        fn get(&self, address: &Address) -> Option<Value> {
            self.0.get(address).cloned()
        }
    }

    #[test]
    fn finalizes_through_locals_with_applied_values() {
        let src = r#"
resource "test_thing" "a" {
  name = "a"
}
locals {
  a_id = test_thing.a.id
}
resource "test_thing" "b" {
  count = 2
  name  = "b${count.index}-${local.a_id}"
}
"#;
        let (config, diags) = crate::load::load_sources(&[("main.tarn.hcl", src)]);
        assert!(!diags.has_errors(), "{diags:?}");
        let mut ps = ProviderSchema::default();
        ps.resources.insert(
            "test_thing".into(),
            ResourceSchema::new("t")
                .attr("id", AttributeSchema::computed(Type::String, ""))
                .attr("name", AttributeSchema::required(Type::String, "")),
        );
        let schemas: Schemas = [("test".to_string(), ps)].into_iter().collect();
        let vars = RootVariables::new();
        let binding =
            PlanBinding { lineage: "l".into(), serial: 0, config_hash: String::new(), workspace: "default".into() };
        let options = PlanOptions::default();
        let data = DataResults::new();
        let prior = PriorState::default();
        let outcome = plan(PlanInput {
            config: &config,
            prior: &prior,
            drift: &[],
            schemas: &schemas,
            variables: &vars,
            data: &data,
            imported: &Default::default(),
            options: &options,
            binding: &binding,
        });
        let p = outcome.plan.expect("plans");
        let b1 = p.changes.iter().find(|c| c.address.to_string() == "test_thing.b[1]").unwrap();
        assert_eq!(b1.after.as_ref().unwrap().get("name"), Some(&Value::Unknown));
        let fin = ApplyEvaluator::new(Arc::new(config), vars, schemas, &p, ".".into());
        let applied = Applied(
            [(
                Address::managed("test_thing", "a"),
                Value::map([("id", Value::string("i-7")), ("name", Value::string("a"))]),
            )]
            .into_iter()
            .collect(),
        );
        let v = fin.finalize(b1, &applied).expect("finalizes");
        assert_eq!(v.get("name"), Some(&Value::string("b1-i-7")));
        assert_eq!(v.get("id"), Some(&Value::Unknown));
    }
}
