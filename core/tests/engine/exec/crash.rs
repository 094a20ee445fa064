//! A simulated `kill -9` in the middle of a create, against real state (SQLite file) and
//! objects persisted as files: the apply future is dropped while the provider call hangs after
//! making the object; a "new process" (fresh backend and provider on the same files) recovers.

use super::support::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tarn_core::exec::{FailurePolicy, RecoverContext, Resolution, apply, recover};
use tarn_provider_fault::{FaultProvider, Settings};
use tarn_sdk::{Provider, Value};
use tarn_state::{Backend, RunOutcome, SqliteBackend};

fn fault_at(dir: &std::path::Path) -> Arc<FaultProvider> {
    Arc::new(FaultProvider::with_settings(Settings { dir: Some(dir.join("objects")), ..Settings::default() }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_killed_mid_call_is_adopted_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    {
        // The first process.
        let mut h = Harness::new();
        h.fault = fault_at(dir.path());
        let backend = Arc::new(SqliteBackend::open(&db).unwrap());
        let mut p = PlanBuilder::default();
        let a = p.create("a", obj("a", &[]));
        let b = p.create("b", obj("b", &[("hang_create", Value::Bool(true))]));
        p.edge(a, b);
        let mut ctx = h.context(Harness::options(FailurePolicy::Rollback, 2));
        ctx.backend = backend.clone();
        let plan = p.build();
        let task = tokio::spawn(async move { apply(&plan, ctx).await });
        // Wait until b's object exists (the provider is now hanging), then "kill".
        for _ in 0..200 {
            if h.fault.objects().unwrap().len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(h.fault.objects().unwrap().len(), 2);
        task.abort();
        let _ = task.await;
        let rows = backend.snapshot().await.unwrap().resources;
        assert_eq!(rows.len(), 1, "only a was recorded before the kill");
    }

    // The next process: fresh backend and provider instances on the same files.
    let backend = Arc::new(SqliteBackend::open(&db).unwrap());
    let fault = fault_at(dir.path());
    let ctx = RecoverContext {
        providers: HashMap::from([("fault".to_string(), fault.clone() as Arc<dyn Provider>)]),
        backend: backend.clone(),
        schemas: HashMap::from([("fault".to_string(), fault.schema())]),
        events: Arc::new(Recorder::default()),
        deadlines: Default::default(),
    };
    let recovered = recover(ctx).await.unwrap();
    assert_eq!(recovered.len(), 1);
    assert!(matches!(recovered[0].resolution, Resolution::Adopted { .. }), "{recovered:?}");
    let snap = backend.snapshot().await.unwrap();
    let mut names: Vec<String> =
        snap.resources.iter().map(|r| r.attributes["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, vec!["a", "b"], "no object exists that tarn does not know about");
    assert!(backend.open_intents().await.unwrap().is_empty());
    assert_eq!(backend.history().await.unwrap()[0].outcome, RunOutcome::Interrupted);
}
