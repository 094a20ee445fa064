//! PostgreSQL backend tests against a real server (see `testing`): the conformance suite, plus
//! what only a server can show — many stacks in one database, schema versions, credentials that
//! never reach messages, unreachable servers, missing schemas, encryption at rest seen by
//! `pg_dump`, TLS by `sslmode`, and copying a workspace to and from SQLite.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::PgBackend;
use super::testing::{TestPostgres, TlsFiles};
use crate::conformance::{Fixture, sample};
use crate::crypto::{EncryptedBackend, Sealer};
use crate::transfer::Transfer;
use crate::{Backend, LockHolder, LockOptions, OutputRecord, StateError};

struct PgFixture {
    url: String,
    schema: String,
}

fn fixture() -> PgFixture {
    let url = TestPostgres::shared().fresh_stack_url();
    let schema = url.rsplit_once("schema=").map(|(_, s)| s.to_string()).expect("schema in the URL");
    PgFixture { url, schema }
}

#[async_trait]
impl Fixture for PgFixture {
    async fn open(&self) -> Result<Box<dyn Backend>, StateError> {
        Ok(Box::new(PgBackend::open(&self.url, None)?))
    }

    async fn open_workspace(&self, workspace: &str) -> Result<Box<dyn Backend>, StateError> {
        Ok(Box::new(PgBackend::open_workspace(&self.url, None, workspace)?))
    }

    async fn corrupt_resource(&self, address: &str) -> Result<(), StateError> {
        let sql = format!(
            "UPDATE \"{}\".resources SET attributes = '{{\"id\": ' WHERE address = '{}'",
            self.schema,
            address.replace('\'', "''")
        );
        TestPostgres::shared().psql("postgres", &sql);
        Ok(())
    }
}

crate::conformance_tests!(fixture());

fn opts(timeout_ms: u64) -> LockOptions {
    LockOptions { timeout: Duration::from_millis(timeout_ms), lease: Duration::from_secs(60) }
}

#[tokio::test]
async fn describe_never_shows_the_password() {
    let pg = TestPostgres::shared();
    let f = fixture();
    let b = PgBackend::open_workspace(&f.url, None, "staging").expect("open");
    let text = b.describe();
    assert!(!text.contains(pg.password()), "{text}");
    assert_eq!(
        text,
        format!("postgres://tarn@127.0.0.1:{}/postgres (schema {}) (workspace staging)", pg.port(), f.schema)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stacks_in_one_database_have_their_own_rows_and_locks() {
    let (a, b) = (fixture(), fixture());
    let (a, b) = (PgBackend::open(&a.url, None).expect("a"), PgBackend::open(&b.url, None).expect("b"));
    a.put_resource(sample("null_resource.x", 1)).await.expect("put in a");
    let held = a.lock(LockHolder::here("tarn apply"), opts(0)).await.expect("lock a");
    let other = b.lock(LockHolder::here("tarn apply"), opts(0)).await.expect("another stack is not blocked");
    assert!(b.snapshot().await.expect("snapshot b").resources.is_empty());
    assert_ne!(a.snapshot().await.expect("a").lineage, b.snapshot().await.expect("b").lineage);
    b.unlock(&other.id).await.expect("unlock b");
    a.unlock(&held.id).await.expect("unlock a");
}

#[tokio::test]
async fn migrations_are_recorded_once_and_a_newer_schema_is_refused() {
    let pg = TestPostgres::shared();
    let f = fixture();
    PgBackend::open(&f.url, None).expect("open").connect().await.expect("connect");
    PgBackend::open(&f.url, None).expect("open").connect().await.expect("reconnect");
    let known = super::schema::known_version();
    let versions =
        pg.psql("postgres", &format!("SELECT COUNT(*), MAX(version) FROM \"{}\".schema_migrations", f.schema));
    assert_eq!(versions.trim(), format!("{known}|{known}"));
    pg.psql("postgres", &format!("INSERT INTO \"{}\".schema_migrations VALUES (99, 'later')", f.schema));
    match PgBackend::open(&f.url, None).expect("open").connect().await {
        Err(StateError::TooNew { found: 99, known: k }) => assert_eq!(k, known),
        other => panic!("expected TooNew, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_name_without_printing_it() {
    let pg = TestPostgres::shared();
    let url = format!("postgres://tarn:not-the-password-77@127.0.0.1:{}/postgres", pg.port());
    let err = PgBackend::open(&url, None).expect("parse").connect().await.expect_err("wrong password").to_string();
    assert!(err.contains("refused the credentials of user \"tarn\""), "{err}");
    assert!(err.contains("PGPASSWORD"), "says where the password comes from: {err}");
    assert!(!err.contains("not-the-password-77"), "{err}");
}

#[tokio::test]
async fn an_unreachable_server_says_where_it_looked() {
    let mut pg = TestPostgres::start();
    let url = pg.url("postgres");
    pg.stop();
    let err = PgBackend::open(&url, None).expect("parse").connect().await.expect_err("server is down").to_string();
    assert!(err.contains(&format!("cannot reach the PostgreSQL server at 127.0.0.1:{}", pg.port())), "{err}");
    assert!(err.contains("TARN_BACKEND_URL"), "{err}");
    assert!(!err.contains(pg.password()), "{err}");
}

#[tokio::test]
async fn a_missing_database_names_the_createdb_fix() {
    let pg = TestPostgres::shared();
    let err = PgBackend::open(&pg.url("no_such_db"), None)
        .expect("parse")
        .connect()
        .await
        .expect_err("no database")
        .to_string();
    assert!(err.contains("\"no_such_db\" does not exist") && err.contains("createdb"), "{err}");
}

#[tokio::test]
async fn a_missing_schema_is_created_or_refused_with_the_sql_to_run() {
    let pg = TestPostgres::shared();
    // The superuser may create it: it is created.
    let f = fixture();
    PgBackend::open(&f.url, None).expect("open").connect().await.expect("creates the schema");
    assert_eq!(
        pg.psql("postgres", &format!("SELECT COUNT(*) FROM pg_namespace WHERE nspname = '{}'", f.schema)).trim(),
        "1"
    );
    // A user without CREATE on the database is told what to ask for, and nothing is written.
    let role = format!("plain_{}", uuid::Uuid::new_v4().simple());
    pg.psql("postgres", &format!("CREATE ROLE {role} LOGIN PASSWORD 'plain-pw'"));
    let schema = format!("s_{}", uuid::Uuid::new_v4().simple());
    let url = format!("postgres://{role}:plain-pw@127.0.0.1:{}/postgres?schema={schema}", pg.port());
    let err = PgBackend::open(&url, None).expect("parse").connect().await.expect_err("no privilege").to_string();
    assert!(err.contains(&format!("CREATE SCHEMA \"{schema}\" AUTHORIZATION \"{role}\";")), "{err}");
    assert!(err.contains("Nothing was written"), "{err}");
    assert_eq!(
        pg.psql("postgres", &format!("SELECT COUNT(*) FROM pg_namespace WHERE nspname = '{schema}'")).trim(),
        "0"
    );
    // Once the owner has run it, the same user succeeds.
    pg.psql("postgres", &format!("CREATE SCHEMA \"{schema}\" AUTHORIZATION \"{role}\""));
    let b = PgBackend::open(&url, None).expect("parse");
    b.put_resource(sample("null_resource.a", 1)).await.expect("write as the schema's owner");
}

#[tokio::test]
async fn sealed_values_never_reach_the_database_in_clear_text() {
    let pg = TestPostgres::shared();
    let f = fixture();
    let key = Sealer::from_key_text("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", "test").expect("key");
    let inner: Arc<dyn Backend> = Arc::new(PgBackend::open(&f.url, None).expect("open"));
    let b = EncryptedBackend::new(inner, Some(key));
    let mut r = sample("local_sensitive_file.k", 1);
    r.attributes["triggers"]["motd"] = serde_json::json!("pg-Secret-9Xq");
    b.put_resource(r).await.expect("put");
    b.set_outputs(vec![OutputRecord {
        name: "pw".into(),
        value: serde_json::json!("pg-Out-Secret-3"),
        sensitive: true,
    }])
    .await
    .expect("outputs");
    let snap = b.snapshot().await.expect("snapshot");
    assert_eq!(snap.resources[0].attributes["triggers"]["motd"], "pg-Secret-9Xq", "opened on read");
    assert_eq!(snap.outputs[0].value, "pg-Out-Secret-3");
    let dump = pg.pg_dump("postgres");
    assert!(dump.contains("$tarn_sealed"), "the dump holds the sealed rows");
    for secret in ["pg-Secret-9Xq", "pg-Out-Secret-3"] {
        assert!(!dump.contains(secret), "{secret} in clear text in pg_dump");
    }
}

#[tokio::test]
async fn deposed_objects_are_rows_beside_the_current_one() {
    let b = PgBackend::open(&fixture().url, None).expect("open");
    let current = sample("null_resource.a", 1);
    let mut old = sample("null_resource.a", 2);
    old.deposed = Some("d1".into());
    b.put_resources(vec![current.clone(), old.clone()]).await.expect("put both");
    let s = b.snapshot().await.expect("snapshot");
    assert_eq!(s.resources, vec![current.clone(), old.clone()]);
    b.delete_resource("null_resource.a").await.expect("delete current");
    assert_eq!(b.snapshot().await.expect("snapshot").resources, vec![old.clone()], "the deposed object stays");
    b.delete_deposed("null_resource.a", "d1").await.expect("delete deposed");
    assert!(b.snapshot().await.expect("snapshot").resources.is_empty());
    assert!(b.delete_deposed("null_resource.a", "").await.is_err(), "an empty key is not a deposed key");
}

async fn populate(b: &dyn Backend) {
    let run = b
        .begin_run(crate::RunStart {
            command: "apply".into(),
            holder: LockHolder::here("apply"),
            summary: serde_json::json!({"add": 2}),
        })
        .await
        .expect("begin");
    let intent = crate::JournalEntry {
        run_id: run.clone(),
        address: "null_resource.a".into(),
        op: "create".into(),
        phase: crate::JournalPhase::Intent,
        correlation: Some("tarn-1".into()),
        detail: serde_json::json!({"planned": {"x": 1}}),
        intent_seq: None,
    };
    let seq = b.journal(intent.clone()).await.expect("intent");
    let outcome = crate::JournalEntry { phase: crate::JournalPhase::Outcome, intent_seq: Some(seq), ..intent.clone() };
    b.journal(outcome).await.expect("outcome");
    let left =
        b.journal(crate::JournalEntry { address: "null_resource.b".into(), ..intent }).await.expect("open intent");
    b.close_intent(left, "adopted by a later run").await.expect("close");
    b.put_resources(vec![sample("null_resource.a", 1), sample("null_resource.b", 2)]).await.expect("rows");
    b.set_outputs(vec![OutputRecord { name: "o".into(), value: serde_json::json!({"sealed": "x"}), sensitive: true }])
        .await
        .expect("outputs");
    b.finish_run(&run, crate::RunOutcome::Success, serde_json::json!({"added": 2})).await.expect("finish");
    b.begin_run(crate::RunStart {
        command: "destroy".into(),
        holder: LockHolder::here("destroy"),
        summary: serde_json::json!({}),
    })
    .await
    .expect("second run");
}

/// The dump without what a target assigns itself (journal seqs), for comparing across backends.
fn comparable(d: &crate::transfer::StackDump) -> serde_json::Value {
    let journal: Vec<_> = d
        .journal
        .iter()
        .map(|j| {
            serde_json::json!([
                j.record.at,
                j.record.entry.run_id,
                j.record.entry.address,
                j.record.entry.phase,
                j.record.entry.detail,
                j.record.entry.intent_seq.is_some(),
                j.record.closed,
                j.close_note
            ])
        })
        .collect();
    serde_json::json!({
        "lineage": d.lineage, "serial": d.serial, "resources": d.resources, "outputs": d.outputs, "runs": d.runs, "journal": journal,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_copies_from_sqlite_to_postgres_and_back_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = crate::SqliteBackend::open(&dir.path().join("state.db")).expect("sqlite");
    populate(&sqlite).await;
    let original = sqlite.export().await.expect("export sqlite");
    assert_eq!((original.serial, original.runs.len(), original.journal.len()), (2, 2, 3));

    let pg = PgBackend::open(&fixture().url, None).expect("pg");
    pg.import(&original).await.expect("import into postgres");
    let copied = pg.export().await.expect("export postgres");
    assert_eq!(comparable(&copied), comparable(&original));
    assert_eq!(pg.snapshot().await.expect("snapshot").lineage, original.lineage);
    let open = pg.open_intents().await.expect("open intents");
    assert!(open.is_empty(), "closed intents stay closed: {open:?}");
    let run = &copied.runs[0];
    let log = pg.run_journal(&run.id).await.expect("run journal");
    assert_eq!(log[1].entry.intent_seq, Some(log[0].seq), "an outcome points at its intent's new seq");

    // A target that holds a state is refused, and keeps what it had.
    let err = pg.import(&original).await.expect_err("not empty").to_string();
    assert!(err.contains("copies only into an empty workspace"), "{err}");
    assert_eq!(comparable(&pg.export().await.expect("export")), comparable(&original));

    let back = crate::SqliteBackend::open(&dir.path().join("back.db")).expect("sqlite back");
    back.import(&copied).await.expect("import back into sqlite");
    assert_eq!(comparable(&back.export().await.expect("export back")), comparable(&original));
}

fn tls_files() -> (TlsFiles, String) {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "tarn test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("server key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("server params");
    let cert = params.signed_by(&key, &issuer).expect("server cert");
    (TlsFiles { cert_pem: cert.pem(), key_pem: key.serialize_pem() }, ca.pem())
}

#[tokio::test]
async fn tls_follows_sslmode() {
    let (files, ca_pem) = tls_files();
    let pg = TestPostgres::start_tls(files);
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).expect("write the CA");
    let base = format!("postgres://tarn:{}@localhost:{}/postgres", pg.password(), pg.port());
    let ssl_in_use = async |url: &str| -> Result<bool, StateError> {
        let b = PgBackend::open(url, None)?;
        b.connect().await?;
        let c = b.client().await?;
        let row =
            c.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.expect("pg_stat_ssl");
        Ok(row.get(0))
    };
    assert!(ssl_in_use(&format!("{base}?sslmode=require")).await.expect("require"), "require encrypts");
    assert!(
        ssl_in_use(&format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display())).await.expect("verify-full")
    );
    assert!(!ssl_in_use(&format!("{base}?sslmode=disable")).await.expect("disable"), "disable does not");
    // Another CA: the server is not who it says.
    let (_, other_ca) = tls_files();
    let other = dir.path().join("other.pem");
    std::fs::write(&other, other_ca).expect("write the other CA");
    let err = ssl_in_use(&format!("{base}?sslmode=verify-full&sslrootcert={}", other.display()))
        .await
        .expect_err("untrusted");
    assert!(err.to_string().contains("TLS connection") && err.to_string().contains("sslrootcert"), "{err}");
    // verify-ca checks the chain, not the name: 127.0.0.1 is not in the certificate.
    let by_ip = format!("postgres://tarn:{}@127.0.0.1:{}/postgres", pg.password(), pg.port());
    assert!(ssl_in_use(&format!("{by_ip}?sslmode=verify-ca&sslrootcert={}", ca.display())).await.expect("verify-ca"));
    let err =
        ssl_in_use(&format!("{by_ip}?sslmode=verify-full&sslrootcert={}", ca.display())).await.expect_err("wrong name");
    assert!(err.to_string().contains("TLS"), "{err}");
    // A server without TLS cannot satisfy `require`.
    let plain = TestPostgres::shared();
    let err = ssl_in_use(&format!(
        "postgres://tarn:{}@127.0.0.1:{}/postgres?sslmode=require",
        plain.password(),
        plain.port()
    ))
    .await
    .expect_err("no TLS on the server");
    assert!(!err.to_string().contains(plain.password()), "{err}");
}
