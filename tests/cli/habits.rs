//! Issue 16's details, each replayed as the command a user types: durations in Terraform's and
//! humans' forms, the real user and host in lock holders and history, carets under wide
//! characters.

use crate::harness::Stack;

const ONE: &str = "resource \"null_resource\" \"a\" {}\n";

#[test]
fn durations_take_compound_and_day_units() {
    let s = Stack::with(ONE);
    s.tarn(&["apply", "--auto-approve"]).ok();
    for d in ["1h30m", "90s", "1d", "2m 30s"] {
        s.tarn(&["plan", "--lock-timeout", d]).ok();
    }
    s.tarn(&["plan", "--lock-timeout", "1h30x"]).code(1).stderr_has("invalid duration \"1h30x\"");
    s.tarn(&["drift", "--every", "soon"]).code(1).stderr_has("1h30m");
}

#[test]
fn history_records_the_os_user_not_the_user_variable() {
    let s = Stack::with(ONE);
    let me = std::process::Command::new("id").arg("-un").output().expect("id -un");
    let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
    let out = s.command(&["apply", "--auto-approve"]).env_remove("USER").env_remove("LOGNAME").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = s.command(&["apply", "--auto-approve"]).env("USER", "impostor").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = s.tarn(&["history", "--json"]).ok().json();
    for run in doc["runs"].as_array().unwrap() {
        assert_eq!(run["user"], me.as_str(), "{run}");
        assert_ne!(run["host"], "unknown", "{run}");
    }
    let text = s.tarn(&["history"]).ok();
    assert!(!text.stdout.contains("unknown@") && text.stdout.contains(&format!("{me}@")), "{}", text.dump());
}

#[test]
fn carets_land_under_the_character_after_wide_text() {
    let s = Stack::with("locals {\n  x = { k = \"日本語\" }.nope\n}\noutput \"x\" {\n  value = local.x\n}\n");
    let run = s.tarn(&["plan"]).code(1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("x = { k = \"日本語\" }.nope"))
        .unwrap_or_else(|| panic!("{}", run.dump()));
    let caret = lines[at + 1];
    // The source line is `  2 |   x = { k = "日本語" }.nope`; each of 日本語 takes two columns.
    let bar = caret.find('|').unwrap();
    let first = caret.find('^').unwrap_or_else(|| panic!("{}", run.dump()));
    let columns_before = "  x = { k = \"\" }".len() + 3 * 2;
    assert_eq!(first - bar - 2, columns_before, "{}", run.dump());
}

#[test]
fn terraform_single_dash_flags_work_as_their_double_dash_forms() {
    let s = Stack::with(
        "variable \"greeting\" {\n  type = string\n}\nvariable \"n\" {\n  type = number\n}\n\
         resource \"null_resource\" \"a\" {\n  triggers = { g = var.greeting, n = tostring(var.n) }\n}\n\
         output \"greeting\" {\n  value = var.greeting\n}\n",
    );
    s.write("extra.tfvars", "n = 3\n");
    let dir = s.path().to_str().unwrap();
    // -chdir=DIR, from somewhere else.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tarn"))
        .args([
            &format!("-chdir={dir}"),
            "plan",
            "-no-color",
            "-input=false",
            "-var",
            "greeting=hi",
            "-var-file=extra.tfvars",
        ])
        .args(["-detailed-exitcode", "-lock-timeout=30s", "-refresh=false", "-out=p"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    s.tarn(&["apply", "-auto-approve", "-parallelism=4", "-json", "p"]).ok().stdout_has("\"format_version\"");
    s.tarn(&["output", "greeting", "-raw"]).ok().stdout_has("hi");
    s.tarn(&[
        "plan",
        "-var",
        "greeting=hi",
        "-var-file=extra.tfvars",
        "-target=null_resource.a",
        "-replace=null_resource.a",
    ])
    .ok()
    .stdout_has("null_resource.a must be replaced, as requested");
    // An unknown single-dash flag is refused by name, without the `-- -x` tip for known flags.
    let bad = s.tarn(&["apply", "-auto-aprove"]).code(1);
    assert!(!bad.stderr.contains("-- -a") && bad.stderr.contains("--auto-approve"), "{}", bad.dump());
    let help = s.tarn(&["apply", "--help"]).ok();
    assert!(help.stdout.contains("--auto-approve") && !help.stdout.contains(" -auto-approve"), "{}", help.dump());
}

#[test]
fn taint_points_at_replace() {
    let s = Stack::with(ONE);
    s.tarn(&["taint", "null_resource.a"]).code(1).stderr_has("tarn apply --replace ADDR");
    s.tarn(&["untaint", "null_resource.a"]).code(1).stderr_has("no `untaint`");
}

const VARS: &str = "variable \"a\" {\n  type    = string\n  default = \"default\"\n}\n\
variable \"b\" {\n  type    = string\n  default = \"default\"\n}\n\
variable \"c\" {\n  type    = string\n  default = \"default\"\n}\n\
output \"abc\" {\n  value = \"${var.a} ${var.b} ${var.c}\"\n}\n";

#[test]
fn variables_files_load_by_themselves_with_terraforms_precedence() {
    let s = Stack::with(VARS);
    let abc = |s: &Stack, args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["apply", "--auto-approve"];
        all.extend_from_slice(args);
        s.tarn_with(&all, env).ok();
        s.tarn(&["output", "abc", "--raw"]).ok().stdout
    };
    // The environment: TF_VAR_ for Terraform pipelines, TARN_VAR_ wins over it.
    assert_eq!(abc(&s, &[], &[("TF_VAR_a", "tf"), ("TF_VAR_b", "tf"), ("TARN_VAR_b", "tarn")]), "tf tarn default");
    // tarn.tfvars, then tarn.tfvars.json, then *.auto.tfvars in lexical order, over the environment.
    s.write("tarn.tfvars", "a = \"tfvars\"\nb = \"tfvars\"\nc = \"tfvars\"\n");
    s.write("tarn.tfvars.json", "{\"b\": \"json\", \"c\": \"json\"}\n");
    s.write("b.auto.tfvars", "c = \"auto-b\"\n");
    s.write("a.auto.tfvars.json", "{\"c\": \"auto-a\"}\n");
    assert_eq!(abc(&s, &[], &[("TARN_VAR_a", "env")]), "tfvars json auto-b");
    // --var and --var-file in command-line order: the later one wins.
    s.write("x.tfvars", "a = \"file\"\n");
    assert_eq!(abc(&s, &["--var", "a=flag", "--var-file", "x.tfvars"], &[]), "file json auto-b");
    assert_eq!(abc(&s, &["-var-file=x.tfvars", "-var", "a=flag"], &[]), "flag json auto-b");
}

#[test]
fn an_undeclared_name_in_a_variables_file_is_a_warning_with_file_and_line() {
    let s = Stack::with(VARS);
    s.write("tarn.tfvars", "a = \"x\"\n\nnope = 1\n");
    let run = s.tarn(&["plan"]).ok();
    assert!(run.stderr.contains("Warning: Value for undeclared variable"), "{}", run.dump());
    assert!(run.stderr.contains("tarn.tfvars:3:") && run.stderr.contains("\"nope\""), "{}", run.dump());
    // On the command line it stays an error, as in Terraform; TF_VAR_ of another stack is ignored.
    s.tarn(&["plan", "--var", "nope=1"]).code(1).stderr_has("undeclared variable");
    s.tarn_with(&["plan"], &[("TF_VAR_other_stack", "1")]).ok();
}

#[test]
fn a_saved_plan_refuses_var_flags() {
    let s = Stack::with(VARS);
    s.tarn(&["plan", "--var", "a=one", "--out", "p"]).ok();
    let run = s.tarn(&["apply", "--var", "a=two", "p"]).code(1);
    assert!(run.stderr.contains("--var and --var-file cannot change them"), "{}", run.dump());
    s.tarn(&["apply", "-var-file=x.tfvars", "p"]).code(1).stderr_has("saved plan");
    assert!(s.addresses().is_empty());
    s.tarn(&["apply", "p"]).ok();
    assert_eq!(s.tarn(&["output", "abc", "--raw"]).ok().stdout, "one default default");
}

#[test]
fn apply_and_destroy_end_with_counts_and_the_outputs() {
    let s = Stack::with(
        "resource \"null_resource\" \"a\" {\n  count = 3\n}\nresource \"null_resource\" \"b\" {\n  triggers = { v = \"1\" }\n}\n\
         output \"n\" {\n  value = length(null_resource.a)\n}\n",
    );
    let run = s.tarn(&["apply", "--auto-approve"]).ok();
    assert!(run.stdout.contains("Apply complete! Resources: 4 added, 0 changed, 0 destroyed."), "{}", run.dump());
    let at = run.stdout.find("Apply complete!").unwrap();
    assert!(run.stdout[at..].contains("\nOutputs:\n\nn = 3\n"), "the outputs follow the summary: {}", run.dump());
    // A replacement counts as one added and one destroyed, as in Terraform.
    s.write(
        "main.tarn.hcl",
        "resource \"null_resource\" \"a\" {\n  count = 2\n}\nresource \"null_resource\" \"b\" {\n  triggers = { v = \"2\" }\n}\n\
         output \"n\" {\n  value = length(null_resource.a)\n}\n",
    );
    s.tarn(&["apply", "--auto-approve"]).ok().stdout_has("Apply complete! Resources: 1 added, 0 changed, 2 destroyed.");
    s.tarn(&["destroy", "--auto-approve"]).ok().stdout_has("Destroy complete! Resources: 3 destroyed.");
}

#[test]
fn a_long_operation_says_it_is_still_running() {
    let s = Stack::with(&format!(
        "{}resource \"fault_object\" \"slow\" {{\n  name       = \"slow\"\n  latency_ms = 2600\n}}\n",
        crate::harness::FAULT_PROVIDER
    ));
    let run = s.tarn_with(&["apply", "--auto-approve"], &[("TARN_HEARTBEAT", "1s")]).ok();
    assert!(run.stdout.contains("fault_object.slow: Still creating... [1s elapsed]"), "{}", run.dump());
    assert!(run.stdout.contains("fault_object.slow: Still creating... [2s elapsed]"), "{}", run.dump());
    assert!(run.stdout.contains("Apply complete! Resources: 1 added"), "{}", run.dump());
}

#[test]
fn terraform_blocks_get_a_pointer_to_tarns_way() {
    let s = Stack::with("terraform {\n  required_version = \">= 1.0\"\n}\n");
    let run = s.tarn(&["validate"]).code(1);
    assert!(
        run.stderr.contains("main.tarn.hcl line 1, col 1") && run.stderr.contains("rename `terraform {` to `tarn {`"),
        "{}",
        run.dump()
    );
    s.write(
        "main.tarn.hcl",
        "resource \"null_resource\" \"a\" {\n  provisioner \"local-exec\" {\n    command = \"echo hi\"\n  }\n  connection {\n    host = \"x\"\n  }\n}\n",
    );
    for cmd in ["validate", "plan"] {
        let run = s.tarn(&[cmd]).code(1);
        assert_eq!(run.stderr.matches("tarn has no provisioners").count(), 2, "{}", run.dump());
        assert!(run.stderr.contains("line 2, col 3") && run.stderr.contains("line 5, col 3"), "{}", run.dump());
    }
}

/// On a terminal the progress bar goes at the end and the summary stays; during a rollback the
/// bar counts the rollback's own operations instead of jumping to the end.
#[test]
fn on_a_terminal_the_summary_stays_and_the_bar_follows_a_rollback() {
    let objects = |fail: bool| {
        let mut c = crate::harness::FAULT_PROVIDER.to_string();
        for n in ["a", "b", "c"] {
            c.push_str(&format!(
                "resource \"fault_object\" \"{n}\" {{\n  name       = \"{n}\"\n  latency_ms = 400\n}}\n"
            ));
        }
        c.push_str(&format!(
            "resource \"fault_object\" \"d\" {{\n  name        = \"d\"\n  fail_create = {fail}\n  depends_on  = [fault_object.a, fault_object.b, fault_object.c]\n}}\n"
        ));
        c
    };
    let s = Stack::with(&objects(true));
    let on_terminal = || {
        let mut cmd = std::process::Command::new(crate::harness::TARN);
        cmd.arg("-C").arg(s.path()).args(["apply", "--auto-approve"]).env_remove("NO_COLOR").env_remove("CI");
        cmd.stdin(std::process::Stdio::null());
        crate::harness::run_on_terminal(cmd)
    };
    let (code, out) = on_terminal();
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("undoing 3 completed change(s)"), "{out}");
    assert!(out.contains("rolling back fault_object."), "the bar names the rollback's operation: {out:?}");
    assert!(out.contains("every completed change was rolled back"), "{out}");
    s.write("main.tarn.hcl", &objects(false));
    let (code, out) = on_terminal();
    assert_eq!(code, 0, "{out}");
    let summary = out.rfind("Apply complete! Resources: 4 added, 0 changed, 0 destroyed.").expect(&out);
    // Nothing clears the summary once it is printed.
    assert!(!out[summary..].contains("\u{1b}[2K"), "the summary was cleared: {out:?}");
}

#[test]
fn drift_every_takes_compound_durations() {
    let s = Stack::with(ONE);
    s.tarn(&["apply", "--auto-approve"]).ok();
    let mut child = s.spawn(&["drift", "--every", "1h30m"]);
    let err = crate::harness::Lines::follow(child.stderr.take().unwrap());
    crate::harness::wait_for("the first check", std::time::Duration::from_secs(30), || {
        err.text().contains("Checking for drift every 1h 30m").then_some(())
    });
    // SAFETY: kill with a pid we started and still own (the child has not been reaped).
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status =
        crate::harness::wait_for("tarn to stop", std::time::Duration::from_secs(15), || child.try_wait().unwrap());
    assert_eq!(status.code(), Some(0), "{}", err.text());
    assert!(err.finish().contains("Stopped checking for drift."));
}

#[test]
fn a_plus_in_a_postgres_url_stays_a_plus_as_in_libpq() {
    let pg = tarn_state::postgres::testing::TestPostgres::shared();
    let schema = format!("team+infra_{}", uuid::Uuid::new_v4().simple());
    let s = Stack::with("resource \"null_resource\" \"a\" {}\n");
    let url = format!("{}?schema={}", pg.url("postgres"), schema.replace('_', "%5F"));
    s.tarn_with(&["apply", "--auto-approve"], &[("TARN_BACKEND_URL", url.as_str())]).ok();
    assert_eq!(crate::postgres::count(&schema, "resources"), 1, "the schema is named with its '+'");
    assert!(!s.state_db().exists(), "the state went to PostgreSQL");
}
