//! An in-memory state backend for executor tests and the executor benchmark: the Backend
//! contract without IO, plus fault switches (fail a row write for one address) and a log of
//! every call, so tests can check what was written and in which order. Rows are keyed by
//! address, and a deposed object by `ADDRESS (deposed KEY)`.

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tarn_state::{
    Backend, JournalEntry, JournalPhase, JournalRecord, LockHolder, LockInfo, LockOptions, OutputRecord,
    ResourceRecord, RunOutcome, RunRecord, RunStart, Snapshot, StateBatch, StateError,
};

#[derive(Default)]
pub struct MemoryBackend {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    serial: i64,
    resources: BTreeMap<String, ResourceRecord>,
    outputs: Vec<OutputRecord>,
    journal: Vec<JournalRecord>,
    runs: Vec<RunRecord>,
    fail_put_for: Option<String>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every `put_resource` of this address fails from now on.
    pub fn fail_puts_for(&self, address: &str) {
        self.lock().fail_put_for = Some(address.to_string());
    }

    pub fn journal_entries(&self) -> Vec<JournalRecord> {
        self.lock().journal.clone()
    }

    /// Every row: current objects by address, deposed ones by `ADDRESS (deposed KEY)`.
    pub fn resources(&self) -> BTreeMap<String, ResourceRecord> {
        self.lock().resources.clone()
    }

    /// The deposed rows only.
    pub fn deposed(&self) -> Vec<ResourceRecord> {
        self.lock().resources.values().filter(|r| r.deposed.is_some()).cloned().collect()
    }

    pub fn runs(&self) -> Vec<RunRecord> {
        self.lock().runs.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn holder() -> LockHolder {
    LockHolder { user: "test".into(), host: "localhost".into(), pid: 1, command: "test".into() }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn describe(&self) -> String {
        "memory".into()
    }
    async fn lock(&self, holder: LockHolder, _opts: LockOptions) -> Result<LockInfo, StateError> {
        Ok(LockInfo { id: "lock".into(), holder, acquired_at: String::new(), expires_at: String::new(), generation: 0 })
    }
    async fn heartbeat(&self, _lock_id: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn unlock(&self, _lock_id: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn force_unlock(&self, _lock_id: &str) -> Result<(), StateError> {
        Ok(())
    }
    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        Ok(None)
    }
    async fn snapshot(&self) -> Result<Snapshot, StateError> {
        let g = self.lock();
        Ok(Snapshot {
            lineage: "test".into(),
            serial: g.serial,
            resources: g.resources.values().cloned().collect(),
            outputs: g.outputs.clone(),
        })
    }
    async fn begin_run(&self, run: RunStart) -> Result<String, StateError> {
        let mut g = self.lock();
        g.serial += 1;
        let id = format!("r{}", g.runs.len() + 1);
        let serial = g.serial;
        g.runs.push(RunRecord {
            id: id.clone(),
            command: run.command,
            holder: run.holder,
            started_at: String::new(),
            finished_at: None,
            outcome: RunOutcome::Running,
            summary: run.summary,
            serial,
        });
        Ok(id)
    }
    async fn finish_run(
        &self,
        run_id: &str,
        outcome: RunOutcome,
        summary: serde_json::Value,
    ) -> Result<(), StateError> {
        let mut g = self.lock();
        let run = g
            .runs
            .iter_mut()
            .find(|r| r.id == run_id)
            .ok_or_else(|| StateError::Storage(format!("no run {run_id}")))?;
        run.outcome = outcome;
        run.summary = summary;
        run.finished_at = Some("now".into());
        Ok(())
    }
    async fn history(&self) -> Result<Vec<RunRecord>, StateError> {
        Ok(self.runs())
    }
    async fn put_resource(&self, record: ResourceRecord) -> Result<(), StateError> {
        let mut g = self.lock();
        if g.fail_put_for.as_deref() == Some(record.address.as_str()) {
            return Err(StateError::Storage(format!("injected failure writing {}", record.address)));
        }
        g.resources.insert(row_key(&record.address, record.deposed.as_deref()), record);
        Ok(())
    }
    async fn delete_resource(&self, address: &str) -> Result<(), StateError> {
        self.lock().resources.remove(address);
        Ok(())
    }
    async fn delete_deposed(&self, address: &str, key: &str) -> Result<(), StateError> {
        self.lock().resources.remove(&row_key(address, Some(key)));
        Ok(())
    }
    async fn set_outputs(&self, outputs: Vec<OutputRecord>) -> Result<(), StateError> {
        self.lock().outputs = outputs;
        Ok(())
    }
    async fn apply_batch(&self, batch: StateBatch) -> Result<(), StateError> {
        // One mutex guard: atomic like a transaction.
        let mut g = self.lock();
        for a in &batch.delete {
            g.resources.remove(a);
        }
        for r in batch.put {
            g.resources.insert(row_key(&r.address, r.deposed.as_deref()), r);
        }
        if let Some(outputs) = batch.outputs {
            g.outputs = outputs;
        }
        if let Some(s) = batch.serial_at_least {
            g.serial = g.serial.max(s);
        }
        Ok(())
    }
    async fn workspaces(&self) -> Result<Vec<String>, StateError> {
        Ok(vec!["default".into()])
    }
    async fn delete_workspace(&self) -> Result<(), StateError> {
        *self.lock() = Inner::default();
        Ok(())
    }
    async fn journal(&self, entry: JournalEntry) -> Result<i64, StateError> {
        let mut g = self.lock();
        let seq = g.journal.len() as i64 + 1;
        if entry.phase == JournalPhase::Outcome
            && let Some(intent) = entry.intent_seq.and_then(|s| g.journal.get_mut(s as usize - 1))
        {
            intent.closed = true;
        }
        let closed = entry.phase == JournalPhase::Outcome;
        g.journal.push(JournalRecord { seq, at: String::new(), entry, closed });
        Ok(seq)
    }
    async fn open_intents(&self) -> Result<Vec<JournalRecord>, StateError> {
        Ok(self.lock().journal.iter().filter(|r| r.entry.phase == JournalPhase::Intent && !r.closed).cloned().collect())
    }
    async fn close_intent(&self, seq: i64, _note: &str) -> Result<(), StateError> {
        if let Some(r) = self.lock().journal.get_mut(seq as usize - 1) {
            r.closed = true;
        }
        Ok(())
    }
    async fn run_journal(&self, run_id: &str) -> Result<Vec<JournalRecord>, StateError> {
        Ok(self.lock().journal.iter().filter(|r| r.entry.run_id == run_id).cloned().collect())
    }
}

fn row_key(address: &str, deposed: Option<&str>) -> String {
    match deposed {
        Some(key) => format!("{address} (deposed {key})"),
        None => address.to_string(),
    }
}

pub fn run_start() -> RunStart {
    RunStart { command: "apply".into(), holder: holder(), summary: serde_json::json!({}) }
}
