//! `tarn state migrate --to URL`, both directions: a SQLite state with history and sealed
//! secrets copied to PostgreSQL and back, nothing lost (lineage, serial, rows, outputs, runs,
//! journal), secrets still sealed (a `pg_dump` holds no clear text) and still readable with the
//! same key; a non-empty target and a missing source refused with nothing written.

use crate::harness::Stack;
use crate::postgres::{count, fresh_schema};
use tarn_state::postgres::testing::TestPostgres;

const PW: &str = "migrate-Pw-91x";

const CONFIG: &str = r#"
variable "pw" {
  type      = string
  sensitive = true
}

resource "null_resource" "a" {
  triggers = { pw = var.pw }
}

resource "null_resource" "b" {
  triggers = { a = null_resource.a.id }
}

output "pw" {
  value     = var.pw
  sensitive = true
}

output "b" {
  value = null_resource.b.id
}
"#;

/// Everything a state holds for the default workspace, read with tarn-state itself.
fn export(location: &str) -> tarn_state::transfer::StackDump {
    use tarn_state::transfer::Transfer;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        if location.starts_with("postgres://") {
            tarn_state::PgBackend::open(location, None).expect("open").export().await.expect("export")
        } else {
            tarn_state::SqliteBackend::open(std::path::Path::new(location))
                .expect("open")
                .export()
                .await
                .expect("export")
        }
    })
}

#[test]
fn a_stack_moves_from_sqlite_to_postgres_and_back_with_nothing_lost() {
    let pg = TestPostgres::shared();
    let s = Stack::with(CONFIG);
    s.tarn(&["state", "keygen"]).ok();
    let env = [("TARN_VAR_pw", PW)];
    s.tarn_with(&["apply", "--auto-approve"], &env).ok();
    s.write("main.tarn.hcl", &format!("{CONFIG}\nresource \"null_resource\" \"c\" {{}}\n"));
    s.tarn_with(&["apply", "--auto-approve"], &env).ok();
    let before = s.show();
    let original = export(s.state_db().to_str().expect("utf-8 path"));
    let list = s.tarn(&["state", "list", "--json"]).ok().stdout;

    // To PostgreSQL. The password comes from the environment, not the command line.
    let schema = fresh_schema();
    let target = format!("postgres://tarn@127.0.0.1:{}/postgres?schema={schema}", pg.port());
    let run = s.tarn_with(&["state", "migrate", "--to", &target], &[("PGPASSWORD", pg.password())]).ok();
    assert!(run.stdout.contains("3 resources, 2 outputs, 2 runs"), "{}", run.dump());
    assert!(!run.dump().contains(pg.password()));
    assert_eq!((count(&schema, "resources"), count(&schema, "outputs"), count(&schema, "runs")), (3, 2, 2));
    let journal = count(&schema, "journal");
    assert!(journal >= 6, "the journal came along: {journal}");
    let dump = pg.pg_dump("postgres");
    assert!(!dump.contains(PW), "a sealed secret was opened on the way");
    let url = format!("{}?schema={schema}", pg.url("postgres"));
    let copied = export(&url);
    assert_eq!(
        (&copied.lineage, copied.serial, &copied.resources, &copied.outputs, &copied.runs),
        (&original.lineage, original.serial, &original.resources, &original.outputs, &original.runs)
    );
    assert_eq!(copied.journal.len(), original.journal.len());

    // Used from PostgreSQL: same state, no changes, the secret opens with the same key.
    let on_pg = [("TARN_BACKEND_URL", url.as_str()), ("TARN_VAR_pw", PW)];
    assert_eq!(s.tarn_with(&["show", "--json"], &on_pg).ok().json(), before);
    assert_eq!(s.tarn_with(&["state", "list", "--json"], &on_pg).ok().stdout, list);
    s.tarn_with(&["plan", "--detailed-exitcode"], &on_pg).ok();
    assert_eq!(s.tarn_with(&["output", "pw", "--raw"], &on_pg).ok().stdout.trim(), PW);
    // The serial went on where it was: the next apply is run 3.
    s.write("main.tarn.hcl", CONFIG);
    s.tarn_with(&["apply", "--auto-approve"], &on_pg).ok();
    assert_eq!(count(&schema, "runs"), 3);
    let serial = pg.psql("postgres", &format!("SELECT serial FROM \"{schema}\".meta"));
    assert_eq!(serial.trim(), "3");

    // A target that already holds a state is refused.
    let again =
        s.tarn_with(&["state", "migrate", "--to", &url], &[("TARN_BACKEND_URL", "sqlite://.tarn/state.db")]).code(1);
    assert!(again.stderr.contains("copies only into an empty workspace"), "{}", again.dump());
    assert_eq!(count(&schema, "runs"), 3, "nothing was written");

    // And back to a SQLite file.
    let back = s.path().join("back.db");
    let run = s.tarn_with(&["state", "migrate", "--to", &format!("sqlite://{}", back.display())], &on_pg).ok();
    assert!(run.stdout.contains("2 resources, 2 outputs, 3 runs"), "{}", run.dump());
    let on_back = [("TARN_BACKEND_URL", back.to_str().expect("utf-8 path")), ("TARN_VAR_pw", PW)];
    let after = s.tarn_with(&["show", "--json"], &on_back).ok().json();
    assert_eq!(after, s.tarn_with(&["show", "--json"], &on_pg).ok().json());
    s.tarn_with(&["plan", "--detailed-exitcode"], &on_back).ok();
    assert_eq!(s.tarn_with(&["output", "pw", "--raw"], &on_back).ok().stdout.trim(), PW);
    let (there, here) = (export(&url), export(back.to_str().expect("utf-8 path")));
    assert_eq!(
        (&here.lineage, here.serial, &here.resources, &here.outputs, &here.runs),
        (&there.lineage, there.serial, &there.resources, &there.outputs, &there.runs)
    );
    assert_eq!(here.journal.len(), there.journal.len());
    assert_eq!(here.runs.len(), 3, "the history came back");
    let raw = String::from_utf8_lossy(&std::fs::read(&back).expect("read back.db")).into_owned();
    assert!(!raw.contains(PW), "clear text in the SQLite copy");
}

#[test]
fn migrating_nothing_or_onto_itself_is_refused() {
    let pg = TestPostgres::shared();
    let s = Stack::with(CONFIG);
    let to = format!("{}?schema={}", pg.url("postgres"), fresh_schema());
    s.tarn(&["state", "migrate", "--to", &to]).code(1).stderr_has("there is no state at sqlite .tarn/state.db");
    assert!(!s.state_db().exists(), "no empty state was created");
    s.tarn(&["state", "migrate", "--to", ".tarn/state.db"]).code(1).stderr_has("already at");
    s.tarn(&["state", "migrate", "--to", "mysql://u:secret-77@h/d"]).code(1).stderr_has("not a state location");
}
