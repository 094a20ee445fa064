//! `tarn console`, driven as tests and scripts drive it: expressions on stdin, one per line,
//! each result in HCL form on stdout and each error (with its position) on stderr, the console
//! going on after an error. It reads the state without holding the lock: an apply runs while a
//! console is open.

use crate::harness::{Lines, Stack, wait_for};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

const CONFIG: &str = r#"
variable "name" {
  type    = string
  default = "web"
}

variable "token" {
  type      = string
  default   = "s3cret-value"
  sensitive = true
}

locals {
  ports = [80, 443]
  tags  = { env = "prod", team = "ops" }
  fqdn  = "${var.name}.example.com"
}

resource "null_resource" "a" {
  triggers = { fqdn = local.fqdn }
}

resource "null_resource" "n" {
  count    = 2
  triggers = { i = tostring(count.index) }
}

module "greeter" {
  source = "./greeter"
  who    = var.name
}
"#;

const GREETER: &str = r#"
variable "who" {
  type = string
}

output "greeting" {
  value = "hello, ${var.who}"
}
"#;

fn stack() -> Stack {
    let s = Stack::with(CONFIG);
    s.write("greeter/main.tarn.hcl", GREETER);
    s
}

/// Runs `tarn console ARGS` with `input` on stdin; returns (exit code, stdout, stderr).
fn console(s: &Stack, args: &[&str], input: &str) -> (i32, String, String) {
    let mut cmd = s.command(&[&["console"], args].concat());
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    for text in [&stdout, &stderr] {
        assert!(!text.contains("panicked"), "tarn console panicked\n{stdout}\n{stderr}");
    }
    (out.status.code().expect("exited"), stdout, stderr)
}

/// The results printed for `input`, one per line, asserting exit 0 and an empty stderr.
fn results(s: &Stack, args: &[&str], input: &str) -> Vec<String> {
    let (code, stdout, stderr) = console(s, args, input);
    assert_eq!(code, 0, "--- stdout\n{stdout}--- stderr\n{stderr}");
    assert!(stderr.is_empty(), "unexpected stderr:\n{stderr}");
    stdout.lines().map(String::from).collect()
}

#[test]
fn console_evaluates_functions_variables_and_locals() {
    let s = stack();
    let out = results(
        &s,
        &[],
        "upper(var.name)\n1 + 2\nlocal.ports\nlocal.tags\nlocal.fqdn\n\n[for p in local.ports : p * 2]\njsonencode({ a = 1 })\ntarn.workspace\nnull\n\"one\\ntwo\"\n",
    );
    assert_eq!(
        out,
        [
            r#""WEB""#,
            "3",
            "[80, 443]",
            r#"{ env = "prod", team = "ops" }"#,
            r#""web.example.com""#,
            "[160, 886]",
            r#""{\"a\":1}""#,
            r#""default""#,
            "null",
            "<<EOT",
            "one",
            "two",
            "EOT",
        ]
    );
    // --var as in plan and apply, and the automatic variables file.
    assert_eq!(results(&s, &["--var", "name=api"], "local.fqdn\n"), [r#""api.example.com""#]);
    // Terraform's single-dash form reads the same.
    assert_eq!(results(&s, &["-var", "name=api"], "var.name\n"), [r#""api""#]);
    s.write("tarn.tfvars", "name = \"db\"\n");
    assert_eq!(results(&s, &[], "var.name\n"), [r#""db""#]);
    s.write("other.tfvars", "name = \"cache\"\n");
    assert_eq!(results(&s, &["--var-file", "other.tfvars"], "var.name\n"), [r#""cache""#]);
    // A set prints as one, as Terraform's console prints it; converted, it is a list again.
    assert_eq!(
        results(&s, &[], "toset([\"b\", \"a\", \"b\"])\ntolist(toset([\"b\", \"a\"]))\n"),
        [r#"toset(["a", "b"])"#, r#"["a", "b"]"#]
    );
    // `exit` ends the console like the end of input.
    assert_eq!(results(&s, &[], "1\nexit\n2\n"), ["1"]);
    // It reads only: no state was created.
    assert!(!s.path().join(".tarn/state.db").exists(), "tarn console created a state");
}

#[test]
fn console_reads_resource_attributes_from_the_state_and_module_outputs() {
    let s = stack();
    // Before any apply the objects are not known.
    assert_eq!(
        results(&s, &[], "null_resource.a.id\nmodule.greeter.greeting\n"),
        ["(known after apply)", r#""hello, web""#]
    );
    s.tarn(&["apply", "--auto-approve"]).ok();
    let id = s.show()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "null_resource.a")
        .expect("null_resource.a recorded")["values"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let out = results(
        &s,
        &[],
        "null_resource.a.id\nnull_resource.a.triggers.fqdn\nlength(null_resource.n)\nnull_resource.n[1].triggers\nmodule.greeter\n",
    );
    assert_eq!(
        out,
        [
            format!("{id:?}"),
            r#""web.example.com""#.to_string(),
            "2".to_string(),
            r#"{ i = "1" }"#.to_string(),
            r#"{ greeting = "hello, web" }"#.to_string(),
        ]
    );
}

#[test]
fn console_hides_sensitive_values() {
    let s = stack();
    let (code, stdout, stderr) =
        console(&s, &[], "var.token\nupper(var.token)\n{ t = var.token, n = 1 }\nnonsensitive(var.token)\n");
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[..3], ["(sensitive value)", "(sensitive value)", "{ t = (sensitive value), n = 1 }"]);
    // Only an explicit nonsensitive() shows it, as in Terraform.
    assert_eq!(lines[3], r#""s3cret-value""#);
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn console_prints_an_error_with_its_position_and_goes_on() {
    let s = stack();
    let (code, stdout, stderr) = console(&s, &[], "upper(var.nmae)\n1 +\nupper(\"ok\")\nlocal.nope\n2 * 21\n");
    assert_eq!(code, 0, "--- stdout\n{stdout}--- stderr\n{stderr}");
    assert_eq!(stdout.lines().collect::<Vec<_>>(), [r#""OK""#, "42"]);
    for needle in [
        "Reference to undeclared input variable",
        "Did you mean var.name?",
        "<console> line 1, col 7",
        "Invalid syntax",
        "Reference to undeclared local value",
    ] {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}\n{stderr}");
    }
}

#[test]
fn console_exits_1_when_the_configuration_does_not_load() {
    let s = Stack::with("resource \"null_resource\" \"a\" {\n  triggers = {\n}\n");
    let (code, stdout, stderr) = console(&s, &[], "1 + 1\n");
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("main.tarn.hcl"), "{stderr}");
}

#[test]
fn console_holds_no_lock_while_open() {
    let s = stack();
    s.tarn(&["apply", "--auto-approve"]).ok();
    let mut child =
        s.command(&["console"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let lines = Lines::follow(child.stdout.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "null_resource.a.triggers.fqdn").unwrap();
    wait_for("the console's first result", Duration::from_secs(20), || {
        lines.text().contains("web.example.com").then_some(())
    });
    // The console is open and has read the state: an apply (no --lock-timeout: it would fail
    // at once on a held lock) and a destroy run to the end.
    s.write("main.tarn.hcl", &CONFIG.replace("\"web\"", "\"www\""));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["destroy", "--auto-approve"]).ok();
    // The console goes on, on the snapshot it read.
    writeln!(stdin, "upper(\"still here\")").unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let text = lines.finish();
    assert!(text.contains("\"STILL HERE\""), "{text}");
}

/// On a terminal the console is interactive (rustyline): it prompts, evaluates what is typed,
/// and keeps the history in `.tarn/console_history` for the next session.
#[test]
fn console_on_a_terminal_keeps_a_history() {
    use std::os::fd::FromRawFd;
    let s = stack();
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors; we own them from here on.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty failed");
    let master = unsafe { std::fs::File::from_raw_fd(master) };
    let slave = unsafe { std::fs::File::from_raw_fd(slave) };
    let mut cmd = s.command(&["console"]);
    cmd.env("TERM", "xterm").stdin(slave.try_clone().unwrap()).stdout(slave.try_clone().unwrap()).stderr(slave);
    let mut child = cmd.spawn().expect("start tarn");
    drop(cmd);
    let mut writer = master.try_clone().unwrap();
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let screen = screen.clone();
        let mut master = master;
        let mut answer = master.try_clone().unwrap();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            loop {
                match master.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                        // A cursor position request: the cursor is at the start of a line.
                        for _ in text.matches("\x1b[6n") {
                            let _ = answer.write_all(b"\x1b[1;1R");
                        }
                        screen.lock().unwrap().push_str(&text);
                    }
                }
            }
        })
    };
    let seen = |needle: &str| screen.lock().unwrap().contains(needle);
    wait_for("the prompt", Duration::from_secs(20), || seen("> ").then_some(()));
    writer.write_all(b"upper(local.fqdn)\r").unwrap();
    wait_for("the result", Duration::from_secs(20), || seen("\"WEB.EXAMPLE.COM\"").then_some(()));
    writer.write_all(b"exit\r").unwrap();
    let status = child.wait().unwrap();
    drop(writer);
    let _ = reader.join();
    assert!(status.success(), "{}", screen.lock().unwrap());
    let history = s.read(".tarn/console_history");
    assert!(history.contains("upper(local.fqdn)"), "{history}");
}

#[test]
fn console_reads_data_sources_from_the_state() {
    let s = Stack::with(
        r#"
resource "local_file" "f" {
  filename = "${path.module}/hello.txt"
  content  = "hi there"
}

data "local_file" "r" {
  filename = local_file.f.filename
}
"#,
    );
    assert_eq!(results(&s, &[], "data.local_file.r.content\n"), ["(known after apply)"]);
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(
        results(&s, &[], "data.local_file.r.content\nlocal_file.f.content\n"),
        [r#""hi there""#, r#""hi there""#]
    );
}

/// `pathexpand` expands `~` to the `HOME` tarn was started with (the CLI reads it and hands
/// it to core, which reads no environment), and `abspath` resolves against tarn's directory.
#[test]
fn console_pathexpand_uses_the_home_tarn_was_given() {
    let s = stack();
    let mut cmd = s.command(&["console"]);
    cmd.env("HOME", "/elsewhere/alice");
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"pathexpand(\"~/.ssh/id\")\nabspath(\"sub/../y\")\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert!(out.status.success() && stderr.is_empty(), "--- stdout\n{stdout}--- stderr\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], r#""/elsewhere/alice/.ssh/id""#);
    assert!(lines[1].starts_with("\"/") && lines[1].ends_with("/y\"") && !lines[1].contains("sub"), "{}", lines[1]);
}
