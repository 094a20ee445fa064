//! `tarn console`'s evaluation: one expression, typed by a person, evaluated in the root
//! module with the planner's own scope ([`World`] and its resolver), so `var.*`, `local.*`,
//! `module.*` outputs, resources and data sources, `path.*` and `tarn.workspace` mean exactly
//! what they mean in the configuration. Resource values come from the recorded state: an
//! instance the state does not hold is `Unknown` ("known after apply"). Reads only: no
//! provider is called and nothing is written.

// Diagnostics are the error type of the language front end by design (they carry spans).
#![allow(clippy::result_large_err)]

use super::refresh::PriorState;
use super::scope::{Binding, Expansion, InstId, Instances, World, descend};
use super::{RootVariables, lang};
use crate::config::{Config, Expr};
use crate::diag::{Diagnostic, Diagnostics, FileId, Span};
use crate::eval::Step;
use hcl::edit::Span as _;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tarn_sdk::{Address, InstanceKey, Mode, ModuleStep, Value};

/// The scope a console evaluates in: the configuration, the root variables and the values the
/// state records.
pub struct Console {
    config: Arc<Config>,
    variables: RootVariables,
    workspace: String,
    cwd: PathBuf,
    home: Option<PathBuf>,
    values: HashMap<Address, Value>,
    expansions: HashMap<(Vec<ModuleStep>, String), Arc<Expansion>>,
}

impl Console {
    /// `prior` is the recorded state, unrefreshed ([`super::prior_from_snapshot`]).
    pub fn new(
        config: Arc<Config>,
        variables: RootVariables,
        prior: &PriorState,
        workspace: String,
        cwd: PathBuf,
        home: Option<PathBuf>,
    ) -> Console {
        let mut values = HashMap::new();
        let mut keys: HashMap<(Vec<ModuleStep>, String), Vec<Option<InstanceKey>>> = HashMap::new();
        for o in prior.objects.iter().filter(|o| o.deposed.is_none()) {
            let Some(v) = &o.value else { continue };
            let a = &o.address;
            let block = match a.mode {
                Mode::Managed => format!("{}.{}", a.type_name, a.name),
                Mode::Data => format!("data.{}.{}", a.type_name, a.name),
            };
            keys.entry((a.module.clone(), block)).or_default().push(a.key.clone());
            values.insert(a.clone(), v.clone());
        }
        let expansions = keys
            .into_iter()
            .map(|(k, mut ks)| {
                let exp = match ks.first() {
                    Some(Some(InstanceKey::Int(_))) => {
                        // count: instances 0..n; the list has as many as the highest index.
                        let n = ks
                            .iter()
                            .filter_map(|k| match k {
                                Some(InstanceKey::Int(i)) => Some(*i + 1),
                                _ => None,
                            })
                            .max()
                            .unwrap_or(0);
                        Expansion::Count(n.max(0) as usize)
                    }
                    Some(Some(InstanceKey::Str(_))) => {
                        ks.sort_by(|a, b| a.as_ref().map(|k| k.to_string()).cmp(&b.as_ref().map(|k| k.to_string())));
                        Expansion::ForEach(
                            ks.into_iter()
                                .filter_map(|k| match k {
                                    Some(InstanceKey::Str(s)) => Some(s),
                                    _ => None,
                                })
                                .collect(),
                        )
                    }
                    _ => Expansion::Single,
                };
                (k, Arc::new(exp))
            })
            .collect();
        Console { config, variables, workspace, cwd, home, values, expansions }
    }

    /// Evaluates `expr` in the root module. Problems met on the way (in a local or a module
    /// output it reads) are errors too, not silently unknown values.
    pub fn eval(&self, expr: &Expr) -> Result<Value, Diagnostics> {
        let source = Recorded { console: self };
        let world =
            World::new(&self.config, &self.variables, &source, &self.workspace, &self.cwd, self.home.as_deref());
        let dir = self.config.root.module.dir.clone();
        let binding = Binding::None;
        let resolver =
            super::resolver::ScopeResolver { world: &world, module: &[], binding: &binding, deps: Default::default() };
        let ctx = crate::eval::EvalContext { resolver: &resolver, module_dir: &dir };
        let result = lang::evaluate(expr, &ctx);
        let found = std::mem::take(&mut *world.diags.borrow_mut());
        match result {
            Err(d) => Err(d),
            Ok(_) if found.has_errors() => Err(found),
            Ok(v) => Ok(v),
        }
    }
}

/// Parses one console line, the text of file `file` of the source map, into an expression.
pub fn parse_expression(text: &str, file: FileId) -> Result<Expr, Diagnostic> {
    match hcl::edit::parser::parse_expr(text) {
        Ok(expr) => {
            let whole = Span { file, start: 0, end: text.len() };
            let span = Expr { expr: expr.clone(), span: whole }.sub_span(expr.span());
            Ok(Expr { expr, span })
        }
        Err(e) => Err(crate::config::hcl::parse_error(&e, text, file, 0)),
    }
}

struct Recorded<'a> {
    console: &'a Console,
}

impl Instances for Recorded<'_> {
    fn expansion(&self, module: &[ModuleStep], key: &str) -> Option<Arc<Expansion>> {
        self.console.expansions.get(&(module.to_vec(), key.to_string())).cloned()
    }
    fn value(&self, address: &Address, steps: &[Step]) -> Option<(Value, usize, Option<InstId>)> {
        match self.console.values.get(address) {
            Some(v) => {
                let (v, n) = descend(v, steps);
                Some((v, n, None))
            }
            // An instance of a counted block missing from the state (not applied yet).
            None => Some((Value::Unknown, steps.len(), None)),
        }
    }
}
