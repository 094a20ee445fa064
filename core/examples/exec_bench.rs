//! Executor benchmark: prints figures, asserts nothing. Run in release mode:
//!
//! ```text
//! cargo run --release -p tarn-core --example exec_bench [-- <instant ops, default 100000>]
//! ```
//!
//! 1. 1,000 independent fault_objects with 20 ms latency at parallelism 10: the ideal is
//!    100 waves × 20 ms = 2 s; the ratio to it is the executor's overhead.
//! 2. N instantaneous null_resource creates: throughput of dispatcher + workers + journal +
//!    state writes, against a discarding backend (the executor's own cost), an in-memory one,
//!    and SqliteBackend on a temporary file at parallelism 10 and 64 (its group commit
//!    coalesces more writes per transaction when more operations are in flight).

#[path = "../tests/engine/exec/memory.rs"]
#[allow(dead_code)]
mod memory;

use async_trait::async_trait;
use indexmap::IndexMap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tarn_core::Diagnostics;
use tarn_core::exec::{ApplyContext, ApplyOptions, ApplyOutcome, CancelToken, Event, EventSink, FailurePolicy, apply};
use tarn_core::plan::{
    Action, AppliedValues, ExecGraph, Finalizer, Op, OpKind, Phase, Plan, PlanBinding, PlanMode, ResourceChange,
};
use tarn_sdk::{Address, Provider, Value};
use tarn_state::{
    Backend, JournalEntry, JournalRecord, LockHolder, LockInfo, LockOptions, OutputRecord, ResourceRecord, RunOutcome,
    RunRecord, RunStart, Snapshot, StateError,
};

struct Quiet;
impl EventSink for Quiet {
    fn emit(&self, _event: Event) {}
}

struct NoFinalizer;
impl Finalizer for NoFinalizer {
    fn finalize(&self, change: &ResourceChange, _: &dyn AppliedValues) -> Result<Value, Diagnostics> {
        Ok(change.after.clone().unwrap_or_default())
    }
}

/// A backend that stores nothing: isolates the executor's own cost.
struct Discard;

#[async_trait]
impl Backend for Discard {
    fn describe(&self) -> String {
        "discard".into()
    }
    async fn lock(&self, holder: LockHolder, _: LockOptions) -> Result<LockInfo, StateError> {
        Ok(LockInfo { id: String::new(), holder, acquired_at: String::new(), expires_at: String::new(), generation: 0 })
    }
    async fn heartbeat(&self, _: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn unlock(&self, _: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn force_unlock(&self, _: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        Ok(None)
    }
    async fn snapshot(&self) -> Result<Snapshot, StateError> {
        Ok(Snapshot { lineage: String::new(), serial: 0, resources: vec![], outputs: vec![] })
    }
    async fn begin_run(&self, _: RunStart) -> Result<String, StateError> {
        Ok("bench".into())
    }
    async fn finish_run(&self, _: &str, _: RunOutcome, _: serde_json::Value) -> Result<(), StateError> {
        Ok(())
    }
    async fn history(&self) -> Result<Vec<RunRecord>, StateError> {
        Ok(vec![])
    }
    async fn put_resource(&self, _: ResourceRecord) -> Result<(), StateError> {
        Ok(())
    }
    async fn delete_resource(&self, _: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn delete_deposed(&self, _: &str, _: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn set_outputs(&self, _: Vec<OutputRecord>) -> Result<(), StateError> {
        Ok(())
    }
    async fn apply_batch(&self, _: tarn_state::StateBatch) -> Result<(), StateError> {
        Ok(())
    }
    async fn workspaces(&self) -> Result<Vec<String>, StateError> {
        Ok(vec![])
    }
    async fn delete_workspace(&self) -> Result<(), StateError> {
        Ok(())
    }
    async fn journal(&self, _: JournalEntry) -> Result<i64, StateError> {
        Ok(0)
    }
    async fn open_intents(&self) -> Result<Vec<JournalRecord>, StateError> {
        Ok(vec![])
    }
    async fn close_intent(&self, _: i64, _: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn run_journal(&self, _: &str) -> Result<Vec<JournalRecord>, StateError> {
        Ok(vec![])
    }
}

fn plan_of(type_name: &str, provider: &str, n: usize, attrs: impl Fn(usize) -> Value) -> Plan {
    let changes = (0..n)
        .map(|i| ResourceChange {
            address: Address::managed(type_name, format!("r{i}")),
            provider: provider.into(),
            action: Action::Create,
            before: None,
            after: Some(attrs(i)),
            reasons: vec![],
            irreversible: false,
            notes: Vec::new(),
            dependencies: vec![],
            deposed: None,
            prior_provider: None,
        })
        .collect();
    let ops = (0..n as u32).map(|change| Op { kind: OpKind::Create, change, phase: Phase::Main }).collect();
    Plan {
        format_version: 1,
        tarn_version: "bench".into(),
        created_at: String::new(),
        binding: PlanBinding {
            lineage: String::new(),
            serial: 0,
            config_hash: String::new(),
            workspace: "default".into(),
        },
        mode: PlanMode::Normal,
        variables: IndexMap::new(),
        changes,
        outputs: vec![],
        drift: vec![],
        graph: ExecGraph { ops, edges: vec![] },
    }
}

async fn run(
    plan: &Plan,
    key: &str,
    provider: Arc<dyn Provider>,
    backend: Arc<dyn Backend>,
    parallelism: usize,
) -> Duration {
    let ctx = ApplyContext {
        providers: HashMap::from([(key.to_string(), provider.clone())]),
        backend,
        finalizer: Arc::new(NoFinalizer),
        schemas: HashMap::from([(provider.name().to_string(), provider.schema())]),
        options: ApplyOptions { parallelism, on_failure: FailurePolicy::Rollback, ..ApplyOptions::default() },
        events: Arc::new(Quiet),
        cancel: CancelToken::new(),
        run: memory::run_start(),
    };
    let started = Instant::now();
    let report = apply(plan, ctx).await.expect("apply");
    assert_eq!(report.outcome, ApplyOutcome::Success, "{:?}", report.failed.first());
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let instant_ops: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);

    // The floor: the same 1,000 sleeps through a bare semaphore (tokio's timer rounds up to
    // the next millisecond, so the floor is above the 2 s ideal).
    let floor = {
        let sem = Arc::new(tokio::sync::Semaphore::new(10));
        let started = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..1000 {
            let permit = sem.clone().acquire_owned().await.expect("semaphore");
            set.spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                drop(permit);
            });
        }
        while set.join_next().await.is_some() {}
        started.elapsed()
    };
    println!("bare tokio floor for 1000 x 20 ms at 10 in flight: {:.3} s", floor.as_secs_f64());

    let slow = plan_of("fault_object", "fault", 1000, |i| {
        Value::map([("name", Value::string(format!("o{i}"))), ("latency_ms", Value::number(20.0))])
    });
    let fault: Arc<dyn Provider> = Arc::new(tarn_provider_fault::FaultProvider::new());
    let t = run(&slow, "fault", fault, Arc::new(memory::MemoryBackend::new()), 10).await;
    println!(
        "1000 creates x 20 ms, parallelism 10: {:.3} s (ideal 2.000 s, ratio {:.3}; vs floor {:.3})",
        t.as_secs_f64(),
        t.as_secs_f64() / 2.0,
        t.as_secs_f64() / floor.as_secs_f64()
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let fast = plan_of("null_resource", "null", instant_ops, |_| Value::map([("triggers", Value::Null)]));
    let sqlite = |name: &str| -> Arc<dyn Backend> {
        Arc::new(tarn_state::SqliteBackend::open(&dir.path().join(name)).expect("sqlite"))
    };
    for (label, backend, parallelism) in [
        ("discarding backend (executor only)", Arc::new(Discard) as Arc<dyn Backend>, 10),
        ("in-memory backend", Arc::new(memory::MemoryBackend::new()) as Arc<dyn Backend>, 10),
        ("SqliteBackend (temp file)", sqlite("a.db"), 10),
        ("SqliteBackend (temp file)", sqlite("b.db"), 64),
    ] {
        let t = run(&fast, "null", tarn_provider_null::provider(), backend, parallelism).await;
        println!(
            "{instant_ops} instant creates, parallelism {parallelism}, {label}: {:.3} s ({:.0} ops/s, {:.1} µs/op)",
            t.as_secs_f64(),
            instant_ops as f64 / t.as_secs_f64(),
            t.as_micros() as f64 / instant_ops as f64
        );
    }
}
