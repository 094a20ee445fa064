//! The conformance suite any plugin can be run through (`tarn providers check PATH`). It drives
//! the plugin with the same [`PluginProvider`] tarn uses in a run: handshake, schema, JSON-RPC
//! manners, then a full life cycle of one test subject — configure, plan, create, read, adopt,
//! import, concurrent reads, update, delete (twice) — and a clean exit when stdin closes.
//!
//! The subject (a resource type, a provider configuration, and the attributes to create and to
//! update to) comes from a fixture file or from the `test_subject` of the plugin's handshake.
//! Each check passes, fails with a sentence saying what was expected, or is skipped (with the
//! reason: a method the plugin does not implement, or an earlier failure it depends on).

use crate::connection::{Failure, Launch, Timeouts};
use crate::protocol::{code, method};
use crate::provider::{PluginProvider, start};
use crate::redact::Redactor;
use crate::wire::decode;
use serde_json::Value as Json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, Provider, ReadRequest, ResourceSchema, UpdateRequest,
    Value,
};

/// Every check, in the order they run.
pub const CHECKS: &[&str] = &[
    "handshake",
    "schema",
    "unknown method",
    "test subject",
    "configure",
    "plan create",
    "create",
    "read after create",
    "adopt",
    "import",
    "concurrent reads",
    "plan update",
    "update",
    "read after update",
    "errors are classified",
    "delete",
    "read after delete",
    "delete again",
    "exit on stdin close",
];

/// What the suite creates and updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub type_name: String,
    pub provider_config: Value,
    pub create: Value,
    pub update: Value,
}

impl Subject {
    /// `{"type": ..., "provider_config": {...}, "create": {...}, "update": {...}}`.
    pub fn from_json(j: &Json) -> Result<Subject, String> {
        let obj = j.as_object().ok_or("the test subject must be an object")?;
        let field = |k: &str| -> Result<Value, String> {
            match obj.get(k) {
                Some(v @ Json::Object(_)) => decode(v),
                None if k == "provider_config" => Ok(Value::Map(Default::default())),
                _ => Err(format!("the test subject needs \"{k}\", an object of attributes")),
            }
        };
        Ok(Subject {
            type_name: obj
                .get("type")
                .and_then(Json::as_str)
                .ok_or("the test subject needs \"type\", a resource type")?
                .to_string(),
            provider_config: field("provider_config")?,
            create: field("create")?,
            update: field("update")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass(String),
    Fail(String),
    Skip(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub name: &'static str,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub struct Report {
    /// How messages name the plugin.
    pub plugin: String,
    pub results: Vec<CheckResult>,
}

impl Report {
    pub fn passed(&self) -> bool {
        !self.results.iter().any(|r| matches!(r.outcome, Outcome::Fail(_)))
    }
    pub fn count(&self, f: fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.results.iter().find(|r| r.name == name).map(|r| &r.outcome)
    }
}

struct Run {
    results: Vec<CheckResult>,
}

impl Run {
    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.results.push(CheckResult { name, outcome: Outcome::Pass(detail.into()) });
    }
    fn skip(&mut self, name: &'static str, why: impl Into<String>) {
        self.results.push(CheckResult { name, outcome: Outcome::Skip(why.into()) });
    }
    /// Records a failure; the checks not yet run are skipped as depending on it.
    fn fail(mut self, name: &'static str, why: impl Into<String>) -> Vec<CheckResult> {
        self.results.push(CheckResult { name, outcome: Outcome::Fail(why.into()) });
        self.rest(&format!("needs {name}"))
    }
    fn rest(mut self, why: &str) -> Vec<CheckResult> {
        for name in CHECKS {
            if !self.results.iter().any(|r| r.name == *name) {
                self.skip(name, why);
            }
        }
        self.results
    }
}

/// Runs the suite against the program at `program`, naming it `name` in messages. The plugin
/// runs in `dir` (give it an empty temporary directory, so that relative paths in the test
/// subject's configuration stay there).
pub async fn run(
    name: &str,
    program: PathBuf,
    dir: Option<PathBuf>,
    timeouts: Timeouts,
    fixture: Option<Subject>,
) -> Report {
    let launch = Arc::new(Launch { name: name.to_string(), program, args: Vec::new(), dir, timeouts });
    let results = suite(launch.clone(), fixture).await;
    Report { plugin: launch.label(), results }
}

async fn suite(launch: Arc<Launch>, fixture: Option<Subject>) -> Vec<CheckResult> {
    let mut run = Run { results: Vec::new() };
    let redactor = Arc::new(Redactor::default());
    let (conn, handshake) = match start(&launch, redactor.clone()).await {
        Ok(x) => x,
        Err(f) => return run.fail("handshake", f.describe()),
    };
    let version = handshake.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
    run.pass(
        "handshake",
        format!(
            "protocol version {}; the plugin calls itself \"{}\"{version}",
            handshake.protocol_version, handshake.name
        ),
    );

    let schema = match conn.call(method::SCHEMA, Json::Object(Default::default()), launch.timeouts.start).await {
        Ok(answer) => match crate::schema::parse(&answer) {
            Ok(s) => s,
            Err(why) => return run.fail("schema", format!("the schema is invalid: {why}")),
        },
        Err(f) => return run.fail("schema", f.describe()),
    };
    run.pass(
        "schema",
        format!("{} resource type(s), {} data source(s)", schema.resources.len(), schema.data_sources.len()),
    );

    match conn.call("tarn.conformance.no_such_method", Json::Object(Default::default()), launch.timeouts.call).await {
        Err(Failure::Rpc(e)) if e.code == code::METHOD_NOT_FOUND => {
            run.pass("unknown method", "answered with error -32601")
        }
        Err(Failure::Rpc(e)) => {
            return run.fail(
                "unknown method",
                format!("expected JSON-RPC error -32601 (method not found), got error {}: {}", e.code, e.message),
            );
        }
        Ok(_) => return run.fail("unknown method", "expected JSON-RPC error -32601 (method not found), got a result"),
        Err(f) => return run.fail("unknown method", f.describe()),
    }

    let subject = match fixture.map(Ok).or_else(|| handshake.test_subject.as_ref().map(Subject::from_json)) {
        Some(Ok(s)) => s,
        Some(Err(why)) => return run.fail("test subject", why),
        None => {
            conn.close().await;
            return run.rest(
                "no test subject: give one with --fixture FILE, or send \"test_subject\" in the handshake answer",
            );
        }
    };
    let Some(rs) = schema.resources.get(&subject.type_name).cloned() else {
        return run.fail("test subject", format!("the schema has no resource type \"{}\"", subject.type_name));
    };
    if let Err(why) = check_subject(&subject, &rs) {
        return run.fail("test subject", why);
    }
    run.pass("test subject", format!("resource type {}", subject.type_name));

    let provider = PluginProvider::new(launch.clone(), schema.clone(), Some((conn, redactor)));
    lifecycle(run, &provider, &subject, &rs, &launch).await
}

/// Every required attribute is given; nothing is given that the schema does not have.
fn check_subject(subject: &Subject, rs: &ResourceSchema) -> Result<(), String> {
    for (what, v) in [("create", &subject.create), ("update", &subject.update)] {
        let map = v.as_map().ok_or_else(|| format!("\"{what}\" must be an object"))?;
        if let Some(k) = map.keys().find(|k| !rs.attributes.contains_key(*k)) {
            return Err(format!("\"{what}\" sets \"{k}\", which {} does not have", subject.type_name));
        }
        if let Some((k, _)) = rs.attributes.iter().find(|(k, a)| a.required && !map.contains_key(*k)) {
            return Err(format!("\"{what}\" lacks the required attribute \"{k}\""));
        }
    }
    Ok(())
}

/// The planner's proposal: configured values, unknown for computed attributes not set.
fn proposed(rs: &ResourceSchema, config: &Value, prior: Option<&Value>) -> Value {
    let mut out = indexmap::IndexMap::new();
    for (name, attr) in &rs.attributes {
        let set = config.get(name).filter(|v| !v.is_null()).cloned();
        let v = match (set, prior.and_then(|p| p.get(name))) {
            (Some(v), _) => v,
            (None, Some(p)) if attr.computed => p.clone(),
            (None, _) if attr.computed => Value::Unknown,
            (None, _) => Value::Null,
        };
        out.insert(name.clone(), v);
    }
    Value::Map(out)
}

/// The attributes of `want` that `got` does not echo, named (values are not shown: they may
/// be secrets).
fn differences(want: &Value, got: &Value) -> Vec<String> {
    let (Some(w), Some(_)) = (want.as_map(), got.as_map()) else { return vec!["(not an object)".into()] };
    w.iter()
        .filter(|(k, v)| !v.is_unknown() && got.get(k).map(Value::unmark_deep) != Some(v.unmark_deep()))
        .map(|(k, _)| k.clone())
        .collect()
}

fn same(a: &Value, b: &Value) -> bool {
    a.unmark_deep() == b.unmark_deep()
}

async fn lifecycle(
    mut run: Run,
    p: &PluginProvider,
    s: &Subject,
    rs: &ResourceSchema,
    launch: &Launch,
) -> Vec<CheckResult> {
    let t = || s.type_name.clone();
    if let Err(e) = p.configure(s.provider_config.unmark_deep()).await {
        return run.fail("configure", e.message);
    }
    run.pass("configure", "accepted the test configuration");

    let planned =
        match p.plan(PlanRequest { type_name: t(), prior: None, proposed: proposed(rs, &s.create, None) }).await {
            Ok(r) if r.planned.as_map().is_some() => {
                let diff = differences(&s.create, &r.planned);
                if !diff.is_empty() {
                    return run.fail(
                        "plan create",
                        format!("the planned object changes configured attributes: {}", diff.join(", ")),
                    );
                }
                run.pass("plan create", "planned object keeps the configuration");
                r.planned
            }
            Ok(_) => return run.fail("plan create", "the planned value is not an object"),
            Err(e) => return run.fail("plan create", format!("{:?} error: {}", e.class, e.message)),
        };

    // Apply gives create every value known: unknowns left by plan are dropped (null).
    let to_create = match planned.as_map() {
        Some(m) => Value::Map(
            m.iter().map(|(k, v)| (k.clone(), if v.is_unknown() { Value::Null } else { v.clone() })).collect(),
        ),
        None => planned.clone(),
    };
    let correlation = format!("tarn-conformance-{}", std::process::id());
    let created = match p
        .create(CreateRequest { type_name: t(), planned: to_create.clone(), correlation: correlation.clone() })
        .await
    {
        Ok(v) => v,
        Err(e) => return run.fail("create", format!("{:?} error: {}", e.class, e.message)),
    };
    let diff = differences(&s.create, &created);
    let unknown_computed: Vec<&String> = rs
        .attributes
        .iter()
        .filter(|(k, a)| a.computed && created.get(k).is_some_and(|v| !v.is_wholly_known()))
        .map(|(k, _)| k)
        .collect();
    if !diff.is_empty() {
        return run
            .fail("create", format!("the created object does not have the configured value of: {}", diff.join(", ")));
    }
    if !unknown_computed.is_empty() {
        return run.fail("create", format!("computed attributes still unknown after create: {unknown_computed:?}"));
    }
    run.pass("create", "the object has the configured values and every computed one");

    match p.read(ReadRequest { type_name: t(), state: created.clone() }).await {
        Ok(Some(v)) if same(&v, &created) => run.pass("read after create", "reads back what create returned"),
        Ok(Some(_)) => {
            return run.fail("read after create", "read answers an object different from what create returned");
        }
        Ok(None) => return run.fail("read after create", "read says the object does not exist"),
        Err(e) => return run.fail("read after create", e.message),
    }

    match p.adopt(AdoptRequest { type_name: t(), correlation: correlation.clone(), planned: to_create.clone() }).await {
        Ok(Some(v)) if same(&v, &created) => run.pass("adopt", "finds the object by its correlation tag"),
        Ok(Some(_)) => return run.fail("adopt", "adopt found an object different from the one created"),
        Ok(None) => return run.fail("adopt", "adopt did not find the object by the correlation tag create was given"),
        Err(e) if e.message.contains("has no adopt method") => {
            run.skip("adopt", "the plugin does not offer adopt: tarn cannot recover objects an interrupted create made")
        }
        Err(e) => return run.fail("adopt", e.message),
    }

    match created.get("id").and_then(Value::as_str) {
        None => run.skip("import", "the object has no string \"id\" attribute to import by"),
        Some(id) => match p.import(&s.type_name, id).await {
            Ok(Some(v)) if same(&v, &created) => run.pass("import", format!("imports by id \"{id}\"")),
            Ok(Some(_)) => return run.fail("import", "import found an object different from the one created"),
            Ok(None) => return run.fail("import", format!("import did not find id \"{id}\"")),
            Err(e) if e.message.contains("has no import method") => {
                run.skip("import", "the plugin does not offer import")
            }
            Err(e) => return run.fail("import", e.message),
        },
    }

    let reads = (0..8).map(|_| p.read(ReadRequest { type_name: t(), state: created.clone() }));
    let started = Instant::now();
    let answers = futures::future::join_all(reads).await;
    match answers.iter().find(|a| !matches!(a, Ok(Some(v)) if same(v, &created))) {
        None => run.pass(
            "concurrent reads",
            format!("8 reads in flight at once, all answered in {} ms", started.elapsed().as_millis()),
        ),
        Some(Err(e)) => return run.fail("concurrent reads", e.message.clone()),
        Some(_) => return run.fail("concurrent reads", "an answer went to the wrong request, or the object changed"),
    }

    let proposal = proposed(rs, &s.update, Some(&created));
    let planned = match p.plan(PlanRequest { type_name: t(), prior: Some(created.clone()), proposed: proposal }).await {
        Ok(r) if r.planned.as_map().is_some() => {
            run.pass(
                "plan update",
                format!(
                    "requires replacement of: {}",
                    if r.requires_replace.is_empty() { "nothing".into() } else { r.requires_replace.join(", ") }
                ),
            );
            r.planned
        }
        Ok(_) => return run.fail("plan update", "the planned value is not an object"),
        Err(e) => return run.fail("plan update", e.message),
    };
    let to_update = match planned.as_map() {
        Some(m) => Value::Map(
            m.iter()
                .map(|(k, v)| {
                    (k.clone(), if v.is_unknown() { created.get(k).cloned().unwrap_or_default() } else { v.clone() })
                })
                .collect(),
        ),
        None => planned,
    };
    let updated = match p.update(UpdateRequest { type_name: t(), prior: created.clone(), planned: to_update }).await {
        Ok(v) => v,
        Err(e) => return run.fail("update", format!("{:?} error: {}", e.class, e.message)),
    };
    let diff = differences(&s.update, &updated);
    if !diff.is_empty() {
        return run.fail("update", format!("the updated object does not have the new value of: {}", diff.join(", ")));
    }
    run.pass("update", "the object has the new values");

    match p.read(ReadRequest { type_name: t(), state: updated.clone() }).await {
        Ok(Some(v)) if same(&v, &updated) => run.pass("read after update", "reads back what update returned"),
        Ok(Some(_)) => {
            return run.fail("read after update", "read answers an object different from what update returned");
        }
        Ok(None) => return run.fail("read after update", "read says the object does not exist"),
        Err(e) => return run.fail("read after update", e.message),
    }

    let pid = p.pid().await;
    let answer =
        p.read(ReadRequest { type_name: "tarn_conformance_no_such_type".into(), state: updated.clone() }).await;
    let restarted = p.pid().await != pid;
    match answer {
        Ok(_) => {
            return run.fail(
                "errors are classified",
                "reading a type the plugin does not have succeeded; it must be an error",
            );
        }
        Err(e) if restarted || e.message.contains(&launch.label()) => {
            return run
                .fail("errors are classified", format!("expected a JSON-RPC error with a class, but: {}", e.message));
        }
        Err(e) => run.pass("errors are classified", format!("a type it does not have is a {:?} error", e.class)),
    }

    if let Err(e) = p.delete(DeleteRequest { type_name: t(), state: updated.clone() }).await {
        return run.fail("delete", e.message);
    }
    run.pass("delete", "deleted");
    match p.read(ReadRequest { type_name: t(), state: updated.clone() }).await {
        Ok(None) => run.pass("read after delete", "read answers null"),
        Ok(Some(_)) => {
            return run.fail("read after delete", "the object still exists after delete; read must answer null");
        }
        Err(e) => {
            return run.fail(
                "read after delete",
                format!("read must answer null for a deleted object, not an error: {}", e.message),
            );
        }
    }
    match p.delete(DeleteRequest { type_name: t(), state: updated }).await {
        Ok(()) => run.pass("delete again", "deleting what is gone succeeds"),
        Err(e) if e.class == tarn_sdk::ErrorClass::NotFound => {
            run.pass("delete again", "deleting what is gone is a not_found error (accepted)")
        }
        Err(e) => {
            return run.fail("delete again", format!("deleting what is already gone must succeed: {}", e.message));
        }
    }

    let started = Instant::now();
    let status = p.shutdown().await;
    let took = started.elapsed();
    match status {
        _ if took >= launch.timeouts.exit => {
            return run.fail(
                "exit on stdin close",
                format!("it did not exit within {:?} of stdin closing and was killed", launch.timeouts.exit),
            );
        }
        Some(st) if st.success() => {
            run.pass("exit on stdin close", format!("exited with status 0 in {} ms", took.as_millis()))
        }
        Some(st) => {
            return run.fail("exit on stdin close", format!("it must exit with status 0 when stdin closes; it {st}"));
        }
        None => return run.fail("exit on stdin close", "its exit status could not be read"),
    }
    run.results
}
