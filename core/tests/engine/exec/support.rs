//! Test support for executor tests: a plan builder over `fault_object`s, an event recorder, a
//! finalizer, and helpers to seed prior state and build the apply context.

use super::memory::{MemoryBackend, run_start};
use indexmap::IndexMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tarn_core::Diagnostics;
use tarn_core::exec::{ApplyContext, ApplyOptions, CancelToken, Event, EventSink, FailurePolicy};
use tarn_core::plan::{
    Action, AppliedValues, ExecGraph, Finalizer, Op, OpKind, Phase, Plan, PlanBinding, PlanMode, ResourceChange,
};
use tarn_provider_fault::FaultProvider;
use tarn_sdk::{Address, CreateRequest, Provider, Value};
use tarn_state::{Backend, ResourceRecord};

pub const TYPE: &str = "fault_object";

pub fn addr(name: &str) -> Address {
    Address::managed(TYPE, name)
}

/// A fault_object's planned attributes: `name` plus the given knobs/values.
pub fn obj(name: &str, extra: &[(&str, Value)]) -> Value {
    let mut m = IndexMap::new();
    m.insert("name".to_string(), Value::string(name));
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    Value::Map(m)
}

pub fn num(n: f64) -> Value {
    Value::number(n)
}

#[derive(Default)]
pub struct PlanBuilder {
    changes: Vec<ResourceChange>,
    ops: Vec<Op>,
    edges: Vec<(u32, u32)>,
}

impl PlanBuilder {
    fn change(&mut self, name: &str, action: Action, before: Option<Value>, after: Option<Value>) -> u32 {
        self.changes.push(ResourceChange {
            address: addr(name),
            provider: "fault".into(),
            action,
            before,
            after,
            reasons: vec![],
            irreversible: matches!(action, Action::DeleteThenCreate),
            notes: vec![],
            dependencies: vec![],
            deposed: None,
            prior_provider: None,
        });
        self.changes.len() as u32 - 1
    }

    fn op(&mut self, kind: OpKind, change: u32, phase: Phase) -> u32 {
        self.ops.push(Op { kind, change, phase });
        self.ops.len() as u32 - 1
    }

    pub fn create(&mut self, name: &str, after: Value) -> u32 {
        let c = self.change(name, Action::Create, None, Some(after));
        self.op(OpKind::Create, c, Phase::Main)
    }

    pub fn update(&mut self, name: &str, before: Value, after: Value) -> u32 {
        let c = self.change(name, Action::Update, Some(before), Some(after));
        self.op(OpKind::Update, c, Phase::Main)
    }

    /// A plain delete, in the final-destroy phase.
    pub fn delete(&mut self, name: &str, before: Value) -> u32 {
        let c = self.change(name, Action::Delete, Some(before), None);
        self.op(OpKind::Delete, c, Phase::FinalDestroy)
    }

    /// Delete-then-create replace, in the replace phase: returns (delete, create), ordered by an
    /// edge. Ops that wait for the create must be in that phase too (`edge` moves them).
    pub fn replace(&mut self, name: &str, before: Value, after: Value) -> (u32, u32) {
        let c = self.change(name, Action::DeleteThenCreate, Some(before), Some(after));
        let d = self.op(OpKind::Delete, c, Phase::Replace);
        let k = self.op(OpKind::Create, c, Phase::Replace);
        self.edge(d, k);
        (d, k)
    }

    /// A data source read at apply time (address `data.fault_object.NAME`).
    pub fn read_data(&mut self, name: &str, config: Value) -> u32 {
        let c = self.change(name, Action::Read, None, Some(config));
        self.changes[c as usize].address = Address::data(TYPE, name);
        self.op(OpKind::ReadData, c, Phase::Main)
    }

    /// create_before_destroy replace: returns (create, delete of the old object, final phase).
    pub fn replace_cbd(&mut self, name: &str, before: Value, after: Value) -> (u32, u32) {
        let c = self.change(name, Action::CreateThenDelete, Some(before), Some(after));
        let k = self.op(OpKind::Create, c, Phase::Main);
        let d = self.op(OpKind::Delete, c, Phase::FinalDestroy);
        self.edge(k, d);
        (k, d)
    }

    /// `after` runs only once `before` finished (in `before`'s phase at the earliest, as the
    /// planner places it).
    pub fn edge(&mut self, before: u32, after: u32) {
        self.edges.push((before, after));
        let phase = self.ops[before as usize].phase.max(self.ops[after as usize].phase);
        self.ops[after as usize].phase = phase;
        let dep = self.changes[self.ops[before as usize].change as usize].address.clone();
        let change = self.ops[after as usize].change as usize;
        if self.changes[change].address != dep {
            self.changes[change].dependencies.push(dep);
        }
    }

    pub fn build(self) -> Plan {
        Plan {
            format_version: 1,
            tarn_version: "test".into(),
            created_at: String::new(),
            binding: PlanBinding {
                lineage: "test".into(),
                serial: 0,
                config_hash: String::new(),
                workspace: "default".into(),
            },
            mode: PlanMode::Normal,
            variables: IndexMap::new(),
            changes: self.changes,
            outputs: vec![],
            drift: vec![],
            graph: ExecGraph { ops: self.ops, edges: self.edges },
        }
    }
}

/// Records every event, in order.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Event>>);

impl EventSink for Recorder {
    fn emit(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }

    /// Position of the first event matching `f`.
    pub fn position(&self, f: impl Fn(&Event) -> bool) -> Option<usize> {
        self.events().iter().position(f)
    }

    pub fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events().iter().filter(|e| f(e)).count()
    }
}

/// Fills an unknown `value` with the `id` of the instance named in `value_from` (test rule).
pub struct CopyIdFinalizer;

impl Finalizer for CopyIdFinalizer {
    fn finalize(&self, change: &ResourceChange, applied: &dyn AppliedValues) -> Result<Value, Diagnostics> {
        let mut after = change.after.clone().unwrap_or_default();
        if let Value::Map(m) = &mut after {
            let from = m.get("value_from").and_then(Value::as_str).map(str::to_string);
            if let Some(from) = from {
                let id = applied.get(&addr(&from)).and_then(|v| v.get("id").cloned()).unwrap_or(Value::Unknown);
                m.insert("value".into(), id);
            }
        }
        Ok(after)
    }
}

pub struct Harness {
    pub fault: Arc<FaultProvider>,
    pub backend: Arc<MemoryBackend>,
    pub events: Arc<Recorder>,
    pub cancel: CancelToken,
}

impl Harness {
    pub fn new() -> Self {
        Harness {
            fault: Arc::new(FaultProvider::new()),
            backend: Arc::new(MemoryBackend::new()),
            events: Arc::new(Recorder::default()),
            cancel: CancelToken::new(),
        }
    }

    pub fn options(policy: FailurePolicy, parallelism: usize) -> ApplyOptions {
        ApplyOptions {
            parallelism,
            on_failure: policy,
            on_interrupt: tarn_core::exec::InterruptPolicy::Keep,
            max_attempts: 3,
            retry_base: Duration::from_millis(1),
            deadlines: Default::default(),
            run_id: String::new(),
        }
    }

    pub fn context(&self, options: ApplyOptions) -> ApplyContext {
        self.context_with(self.fault.clone(), options)
    }

    pub fn context_with(&self, provider: Arc<dyn Provider>, options: ApplyOptions) -> ApplyContext {
        ApplyContext {
            providers: HashMap::from([("fault".to_string(), provider)]),
            backend: self.backend.clone(),
            finalizer: Arc::new(CopyIdFinalizer),
            schemas: HashMap::from([("fault".to_string(), self.fault.schema())]),
            options,
            events: self.events.clone(),
            cancel: self.cancel.clone(),
            run: run_start(),
        }
    }

    /// Creates an object through the provider and records it, as a previous apply would have.
    pub async fn seed(&self, name: &str, attrs: Value) -> Value {
        let value = self
            .fault
            .create(CreateRequest { type_name: TYPE.into(), planned: attrs, correlation: format!("seed-{name}") })
            .await
            .unwrap();
        self.backend
            .put_resource(ResourceRecord {
                address: addr(name).to_string(),
                mode: "managed".into(),
                type_name: TYPE.into(),
                provider: "fault".into(),
                attributes: value.to_json_unmarked(),
                sensitive_paths: vec![],
                dependencies: vec![],
                correlation: Some(format!("seed-{name}")),
                schema_version: 0,
                deposed: None,
            })
            .await
            .unwrap();
        value
    }

    /// Names of the objects that really exist, sorted.
    pub fn existing(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .fault
            .objects()
            .unwrap()
            .iter()
            .map(|o| o.attributes.get("name").and_then(Value::as_str).unwrap_or("?").to_string())
            .collect();
        names.sort();
        names
    }

    /// Names recorded in state, sorted.
    pub fn recorded(&self) -> Vec<String> {
        self.backend.resources().values().map(|r| r.attributes["name"].as_str().unwrap_or("?").to_string()).collect()
    }

    /// No two operations on one address overlapped, judging by start/finish events.
    pub fn assert_no_address_overlap(&self) {
        let mut running: HashMap<String, u32> = HashMap::new();
        for e in self.events.events() {
            match e {
                Event::OpStarted { address, .. } => {
                    let n = running.entry(address.to_string()).or_default();
                    assert_eq!(*n, 0, "two operations on {address} at once");
                    *n += 1;
                }
                Event::OpFinished { address, .. } | Event::OpFailed { address, .. } => {
                    *running.entry(address.to_string()).or_default() -= 1;
                }
                _ => {}
            }
        }
        assert_eq!(self.fault.stats().overlaps_detected, 0);
    }
}
