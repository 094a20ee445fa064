//! The PostgreSQL backend end to end, against a real server (`tarn_state::postgres::testing`):
//! chosen by the `backend "postgres"` block or `TARN_BACKEND_URL`, the whole workflow on it,
//! sensitive values sealed as a `pg_dump` shows, and each kind of bad input — unreachable
//! server, wrong password, missing schema, a state from a newer tarn, a corrupted row, an unknown
//! backend — a one-paragraph error with the fix, exit 1, nothing written, no password printed.

use crate::harness::{FAULT_PROVIDER, Stack};
use tarn_state::postgres::testing::TestPostgres;

/// A fresh schema (an empty stack) on the shared test server.
pub fn fresh_schema() -> String {
    format!("e2e_{}", uuid::Uuid::new_v4().simple())
}

/// A stack whose configuration names a PostgreSQL backend: `backend.tarn.hcl` holds the block.
pub fn pg_stack(config: &str) -> (Stack, String) {
    let pg = TestPostgres::shared();
    let schema = fresh_schema();
    let s = Stack::with(config);
    s.write(
        "backend.tarn.hcl",
        &format!(
            "tarn {{\n  backend \"postgres\" {{\n    url    = \"{}\"\n    schema = \"{schema}\"\n  }}\n}}\n",
            pg.url("postgres")
        ),
    );
    (s, schema)
}

/// `SELECT COUNT(*) FROM schema.table` on the shared server.
pub fn count(schema: &str, table: &str) -> i64 {
    TestPostgres::shared()
        .psql("postgres", &format!("SELECT COUNT(*) FROM \"{schema}\".{table}"))
        .trim()
        .parse()
        .expect("a count")
}

const NULLS: &str = r#"
resource "null_resource" "a" {
  triggers = { n = "1" }
}

resource "null_resource" "b" {
  triggers = { a = null_resource.a.id }
}

output "b" {
  value = null_resource.b.id
}
"#;

#[test]
fn the_workflow_runs_on_postgres_and_nothing_is_written_locally() {
    let (s, schema) = pg_stack(NULLS);
    s.tarn(&["plan", "--detailed-exitcode"]).code(2);
    s.tarn(&["apply", "--auto-approve"]).ok().stdout_has("Apply complete");
    assert_eq!(s.addresses(), vec!["null_resource.a", "null_resource.b"]);
    assert_eq!(count(&schema, "resources"), 2);
    assert_eq!(count(&schema, "runs"), 1);
    assert!(!s.state_db().exists(), "no SQLite file was created next to the configuration");
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
    assert!(!s.tarn(&["output", "b"]).ok().stdout.trim().is_empty());
    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert_eq!(count(&schema, "resources"), 0);
    assert!(s.addresses().is_empty());
}

#[test]
fn tarn_backend_url_chooses_postgres_and_never_prints_the_password() {
    let pg = TestPostgres::shared();
    let schema = fresh_schema();
    let s = Stack::with(NULLS);
    let url = format!("{}?schema={schema}", pg.url("postgres"));
    let env = [("TARN_BACKEND_URL", url.as_str())];
    let run = s.tarn_with(&["apply", "--auto-approve", "--log-file", "tarn.log"], &env).ok();
    assert!(!run.dump().contains(pg.password()), "{}", run.dump());
    assert_eq!(count(&schema, "resources"), 2);
    assert!(!s.state_db().exists());
    // Without the variable the same directory has its own (empty) SQLite state.
    assert!(s.addresses().is_empty());
    let log = s.read("tarn.log");
    assert!(!log.contains(pg.password()), "the log holds the password");
}

const SECRET_PW: &str = "pgE2E-Pw-5c1d";
const SECRET_ATTR: &str = "pgE2E-Attr-88kq";

fn secret_config() -> String {
    format!(
        r#"
variable "pw" {{
  type      = string
  sensitive = true
}}

resource "null_resource" "uses_pw" {{
  triggers = {{ pw = var.pw, user = "admin" }}
}}

resource "local_sensitive_file" "key" {{
  filename = "${{path.module}}/out/key.txt"
  content  = "{SECRET_ATTR}"
}}

output "pw" {{
  value     = var.pw
  sensitive = true
}}
"#
    )
}

#[test]
fn sensitive_values_are_sealed_in_a_pg_dump() {
    let (s, _schema) = pg_stack(&secret_config());
    s.tarn(&["state", "keygen"]).ok();
    let env = [("TARN_VAR_pw", SECRET_PW)];
    s.tarn_with(&["apply", "--auto-approve"], &env).ok();
    // The values are there, sealed, and open with the key.
    assert_eq!(s.tarn(&["output", "pw", "--raw"]).ok().stdout.trim(), SECRET_PW);
    let dump = TestPostgres::shared().pg_dump("postgres");
    assert!(dump.contains("$tarn_sealed"), "the dump holds sealed values");
    for secret in [SECRET_PW, SECRET_ATTR] {
        assert!(!dump.contains(secret), "{secret} is in clear text in the pg_dump");
    }
    s.tarn_with(&["plan", "--detailed-exitcode"], &env).ok();
}

#[test]
fn an_unreachable_server_is_one_paragraph_exit_1_and_nothing_is_written() {
    let mut server = TestPostgres::start();
    let url = server.url("postgres");
    let password = server.password().to_string();
    server.stop();
    let s = Stack::with(&format!("{FAULT_PROVIDER}\nresource \"fault_object\" \"a\" {{\n  name = \"a\"\n}}\n"));
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["state", "list"], &["show"]] {
        let run = s.tarn_with(args, &[("TARN_BACKEND_URL", &url)]).code(1);
        assert!(run.stderr.contains("cannot reach the PostgreSQL server at 127.0.0.1"), "{}", run.dump());
        assert!(run.stderr.contains("Check that the server is running"), "{}", run.dump());
        assert!(!run.dump().contains(&password), "{}", run.dump());
        assert_eq!(run.stderr.trim().lines().count(), 1, "one paragraph: {}", run.dump());
    }
    assert!(s.object_ids().is_empty(), "nothing was created");
    assert!(!s.path().join(".tarn").exists(), "nothing was written locally");
}

#[test]
fn a_wrong_password_is_refused_without_printing_it() {
    let pg = TestPostgres::shared();
    let s = Stack::with(NULLS);
    let url = format!("postgres://tarn:Wrong-Pass-4417@127.0.0.1:{}/postgres", pg.port());
    let run = s.tarn_with(&["apply", "--auto-approve"], &[("TARN_BACKEND_URL", &url)]).code(1);
    assert!(run.stderr.contains("refused the credentials of user \"tarn\""), "{}", run.dump());
    assert!(!run.dump().contains("Wrong-Pass-4417"), "{}", run.dump());
}

#[test]
fn a_missing_schema_the_user_may_not_create_gives_the_sql() {
    let pg = TestPostgres::shared();
    let role = format!("e2e_{}", uuid::Uuid::new_v4().simple());
    pg.psql("postgres", &format!("CREATE ROLE {role} LOGIN PASSWORD 'role-pw-1'"));
    let schema = fresh_schema();
    let s = Stack::with(NULLS);
    let url = format!("postgres://{role}:role-pw-1@127.0.0.1:{}/postgres?schema={schema}", pg.port());
    let run = s.tarn_with(&["apply", "--auto-approve"], &[("TARN_BACKEND_URL", &url)]).code(1);
    assert!(run.stderr.contains(&format!("CREATE SCHEMA \"{schema}\" AUTHORIZATION \"{role}\";")), "{}", run.dump());
    assert!(!run.dump().contains("role-pw-1"));
    assert_eq!(
        pg.psql("postgres", &format!("SELECT COUNT(*) FROM pg_namespace WHERE nspname = '{schema}'")).trim(),
        "0"
    );
    pg.psql("postgres", &format!("CREATE SCHEMA \"{schema}\" AUTHORIZATION \"{role}\""));
    s.tarn_with(&["apply", "--auto-approve"], &[("TARN_BACKEND_URL", &url)]).ok();
    assert_eq!(count(&schema, "resources"), 2);
}

#[test]
fn a_state_from_a_newer_tarn_is_refused_and_left_alone() {
    let (s, schema) = pg_stack(NULLS);
    s.tarn(&["apply", "--auto-approve"]).ok();
    TestPostgres::shared()
        .psql("postgres", &format!("INSERT INTO \"{schema}\".schema_migrations VALUES (99, 'later')"));
    s.write("main.tarn.hcl", &format!("{NULLS}\nresource \"null_resource\" \"c\" {{}}\n"));
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        s.tarn(args).code(1).stderr_has("written by a newer tarn (schema version 99").stderr_has("upgrade tarn");
    }
    assert_eq!(count(&schema, "resources"), 2, "nothing was written");
    assert_eq!(count(&schema, "runs"), 1);
}

#[test]
fn a_corrupted_row_names_its_address_and_nothing_changes() {
    let (s, schema) = pg_stack(&format!("{FAULT_PROVIDER}\nresource \"fault_object\" \"a\" {{\n  name = \"a\"\n}}\n"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let objects = s.object_ids();
    TestPostgres::shared().psql(
        "postgres",
        &format!("UPDATE \"{schema}\".resources SET attributes = '{{\"id\": ' WHERE address = 'fault_object.a'"),
    );
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["destroy", "--auto-approve"]] {
        let run = s.tarn(args).code(1);
        assert!(run.stderr.contains("fault_object.a") && run.stderr.contains("corrupt"), "{}", run.dump());
        assert!(run.stderr.contains("Nothing was changed"), "{}", run.dump());
    }
    assert_eq!(s.object_ids(), objects, "no object was touched");
    assert_eq!(count(&schema, "runs"), 1, "no run was recorded");
}

#[test]
fn an_unknown_backend_or_argument_points_at_the_block() {
    let s = Stack::with(NULLS);
    s.write("backend.tarn.hcl", "tarn {\n  backend \"s3\" {\n    bucket = \"x\"\n  }\n}\n");
    s.tarn(&["plan"]).code(1).stderr_has("Unknown backend").stderr_has("on backend.tarn.hcl line 2");
    s.write(
        "backend.tarn.hcl",
        "tarn {\n  backend \"postgres\" {\n    url = \"postgres://u@h/d\"\n    bucket = \"x\"\n  }\n}\n",
    );
    s.tarn(&["plan"]).code(1).stderr_has("Unsupported argument").stderr_has("on backend.tarn.hcl line 4");
    s.write("backend.tarn.hcl", "tarn {\n  backend \"postgres\" {\n    schema = \"x\"\n  }\n}\n");
    s.tarn(&["plan"]).code(1).stderr_has("Missing backend URL").stderr_has("TARN_BACKEND_URL");
    assert!(!s.path().join(".tarn").exists());
}

/// `SELECT COUNT(*) FROM schema.table WHERE workspace = 'workspace'` on the shared server.
fn count_in(schema: &str, table: &str, workspace: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM \"{schema}\".{table} WHERE workspace = '{workspace}'");
    TestPostgres::shared().psql("postgres", &sql).trim().parse().expect("a count")
}

#[test]
fn workspaces_surgery_history_and_migrate_run_on_postgres() {
    let (s, schema) = pg_stack(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"o\" {{\n  name = \"obj-${{tarn.workspace}}\"\n}}\n"
    ));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["workspace", "new", "staging"]).ok().stdout_has("Created and selected");
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(
        s.tarn(&["workspace", "list", "--json"]).ok().json()["workspaces"],
        serde_json::json!(["default", "staging"])
    );
    assert_eq!((count_in(&schema, "resources", "default"), count_in(&schema, "resources", "staging")), (1, 1));
    assert!(!s.state_db().exists(), "nothing went to a local SQLite file");

    // --workspace chooses the workspace on PostgreSQL: surgery there leaves staging alone.
    s.tarn(&["--workspace", "default", "state", "mv", "fault_object.o", "fault_object.p"]).ok();
    assert_eq!(s.tarn(&["--workspace", "default", "state", "list"]).ok().stdout.trim(), "fault_object.p");
    assert_eq!(s.tarn(&["state", "list"]).ok().stdout.trim(), "fault_object.o");
    let runs = s.tarn_with(&["history", "--json"], &[("TARN_WORKSPACE", "default")]).ok().json();
    assert_eq!(runs["runs"][0]["command"], "tarn state mv fault_object.o fault_object.p", "{runs}");
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(2), "apply and mv: {runs}");

    // migrate copies the workspace --workspace names, into the same workspace.
    let copy = s.path().join("copy.db");
    let copy_url = format!("sqlite:{}", copy.display());
    s.tarn(&["--workspace", "staging", "state", "migrate", "--to", &copy_url]).ok().stdout_has("workspace staging");
    let on_copy =
        |ws: &str| s.tarn_with(&["--workspace", ws, "state", "list"], &[("TARN_BACKEND_URL", &copy_url)]).ok().stdout;
    assert_eq!(on_copy("staging").trim(), "fault_object.o");
    assert!(on_copy("default").trim().is_empty(), "only the named workspace was copied");

    // Deleting a workspace drops its rows, runs and journal on the server, and nothing else.
    s.tarn(&["workspace", "select", "default"]).ok();
    s.tarn(&["workspace", "delete", "staging"]).code(1).stderr_has("still records 1 object");
    s.tarn(&["workspace", "delete", "--force", "staging"]).ok().stdout_has("Deleted workspace");
    for table in ["meta", "resources", "runs", "journal", "lock"] {
        assert_eq!(count_in(&schema, table, "staging"), 0, "{table} still holds staging rows");
    }
    assert_eq!(count_in(&schema, "resources", "default"), 1);
    assert_eq!(s.tarn(&["workspace", "list", "--json"]).ok().json()["workspaces"], serde_json::json!(["default"]));
}

/// A shared state put back to an older copy (a restored backup, a lagging replica) is noticed:
/// this machine remembers the highest serial it has seen, and a serial going backwards within
/// the lineage is refused before anything is planned or written, with how to proceed.
#[test]
fn a_postgres_state_that_went_back_in_time_is_refused() {
    let (s, schema) = pg_stack(NULLS);
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
    let pg = TestPostgres::shared();
    let serial = || pg.psql("postgres", &format!("SELECT serial FROM \"{schema}\".meta")).trim().to_string();
    let before = serial();
    // What restoring yesterday's dump does to the one row that says how new the state is.
    pg.psql("postgres", &format!("UPDATE \"{schema}\".meta SET serial = serial - 1"));
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["show", "--json"]] {
        s.tarn(args).code(1).stderr_has("went back in time").stderr_has("Nothing was written");
    }
    let lowered: i64 = serial().parse().unwrap();
    assert_eq!(lowered + 1, before.parse::<i64>().unwrap(), "the refused commands wrote nothing");
    // Accepting the older state on purpose: forget this machine's marks.
    s.remove(".tarn/postgres.marks");
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
}
