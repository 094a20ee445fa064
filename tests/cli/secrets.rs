//! Secrets: a sensitive variable flowing into a resource attribute and a sensitive output, and a
//! schema-sensitive attribute (`local_sensitive_file.content`), must never appear in clear text
//! (nor base64) in what tarn prints — plan, apply, show, output, state list, human or JSON, logs
//! at debug level — nor in a saved plan file, nor in the state file (sealed with the state key;
//! without a key, apply refuses before changing anything).

use crate::harness::{Stack, redact};

const PW: &str = "hunter2-Pw-7f3a9";
const ATTR: &str = "attr-Secret-Q81z";

const CONFIG: &str = r#"
variable "pw" {
  type      = string
  sensitive = true
}

resource "null_resource" "uses_pw" {
  triggers = {
    pw   = var.pw
    user = "admin"
  }
}

resource "local_sensitive_file" "key" {
  filename = "${path.module}/out/key.txt"
  content  = "attr-Secret-Q81z"
}

output "pw" {
  value     = var.pw
  sensitive = true
}

output "trigger_id" {
  value = null_resource.uses_pw.id
}
"#;

fn base64(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for secret in [PW.to_string(), ATTR.to_string(), base64(PW), base64(ATTR)] {
        let stem = secret.trim_end_matches('=');
        assert!(!text.contains(stem), "{what} contains a secret ({secret}):\n{text}");
    }
}

/// A stack whose state has a key, so sensitive values can be stored (sealed).
fn keyed(config: &str) -> Stack {
    let s = Stack::with(config);
    s.tarn(&["state", "keygen"]).ok();
    s
}

/// Every file under `.tarn/` as lossy text: the SQLite database and its WAL.
fn state_files(s: &Stack) -> Vec<(String, String)> {
    let dir = s.path().join(".tarn");
    std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    (
                        e.path().display().to_string(),
                        String::from_utf8_lossy(&std::fs::read(e.path()).unwrap_or_default()).into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn env() -> [(&'static str, &'static str); 2] {
    [("TARN_VAR_pw", PW), ("TARN_LOG", "debug")]
}

#[test]
fn secrets_never_reach_output_or_plan_files() {
    let s = keyed(CONFIG);
    let log = s.path().join("tarn.log");
    let log = log.to_str().unwrap();
    let mut seen = Vec::new();
    let mut run = |args: &[&str], code: i32| {
        let r = s.tarn_with(&[&["--log-file", log], args].concat(), &env()).code(code);
        seen.push((format!("tarn {args:?}"), format!("{}{}", r.stdout, r.stderr)));
        r
    };
    let plan = run(&["plan"], 0);
    assert!(plan.stdout.contains("(sensitive value)"), "{}", plan.dump());
    run(&["plan", "--json"], 0);
    run(&["plan", "--out", "p.tarnplan"], 0);
    run(&["show", "p.tarnplan"], 0);
    run(&["show", "--json", "p.tarnplan"], 0);
    run(&["apply", "p.tarnplan"], 0);
    for (file, text) in state_files(&s) {
        assert_clean(&file, &text);
    }
    run(&["show"], 0);
    let show = run(&["show", "--json"], 0).json();
    run(&["output"], 0);
    run(&["output", "pw"], 0);
    run(&["output", "trigger_id"], 0);
    run(&["state", "list"], 0);
    run(&["state", "list", "--json"], 0);
    run(&["plan", "--var", &format!("pw={PW}-changed"), "--json"], 0);
    // A plan made over recorded objects holds their prior values too.
    run(&["plan", "--var", &format!("pw={PW}-changed"), "--out", "p2.tarnplan"], 0);
    run(&["show", "--json", "p2.tarnplan"], 0);
    run(&["apply", "--auto-approve", "--json", "--var", &format!("pw={PW}-changed")], 0);
    run(&["destroy", "--auto-approve"], 0);

    for (what, text) in &seen {
        assert_clean(what, text);
    }
    for file in ["p.tarnplan", "p2.tarnplan"] {
        assert_clean(file, &String::from_utf8_lossy(&std::fs::read(s.path().join(file)).unwrap()));
    }
    let logged = std::fs::read_to_string(log).unwrap_or_default();
    assert_clean("the debug log", &logged);

    // The redaction is explicit, not an accident of omission.
    let trig = show["resources"].as_array().unwrap().iter().find(|r| r["address"] == "null_resource.uses_pw").unwrap();
    assert_eq!(trig["values"]["triggers"]["user"], "admin");
    assert!(trig["values"]["triggers"]["pw"].is_null(), "{trig}");
    assert!(trig["sensitive_values"].as_array().unwrap().iter().any(|p| p == "/triggers/pw"), "{trig}");
    assert_eq!(show["outputs"]["pw"]["sensitive"], true);
    assert!(show["outputs"]["pw"]["value"].is_null());
    // The secret did reach the real object: redaction is only in what tarn shows.
    assert!(!s.path().join("out/key.txt").exists(), "destroy removed the file");
    insta::assert_snapshot!(redact(&seen[0].1));
}

#[test]
fn a_saved_plan_needs_the_same_sensitive_value_again() {
    let s = keyed(CONFIG);
    s.tarn_with(&["plan", "--out", "p.tarnplan"], &[("TARN_VAR_pw", PW)]).ok();
    let run = s.tarn_with(&["apply", "p.tarnplan"], &[("TARN_VAR_pw", "something-else")]).code(1);
    assert!(run.stderr.contains("\"pw\"") && run.stderr.contains("different value"), "{}", run.dump());
    assert_clean("the refusal", &run.dump());
    assert!(s.addresses().is_empty());
    s.tarn_with(&["apply", "p.tarnplan"], &[("TARN_VAR_pw", PW)]).ok();
    assert_eq!(s.addresses().len(), 2);
}

#[test]
fn sensitive_outputs_converge_after_apply() {
    let s = keyed(CONFIG);
    s.tarn_with(&["apply", "--auto-approve"], &[("TARN_VAR_pw", PW)]).ok();
    // Nothing changed: a sensitive output must not look changed on every plan.
    let run = s.tarn_with(&["plan", "--detailed-exitcode"], &[("TARN_VAR_pw", PW)]);
    assert_eq!(run.code, 0, "{}", run.dump());
    // A changed secret is a change.
    s.tarn_with(&["plan", "--detailed-exitcode"], &[("TARN_VAR_pw", "new-secret-value")]).code(2);
}

/// Only an output is sensitive here, so apply needs no key; the state then records a digest.
const OUTPUT_ONLY: &str = r#"
variable "pw" {
  type      = string
  sensitive = true
}

resource "null_resource" "plain" {
  triggers = { user = "admin" }
}

output "pw" {
  value     = var.pw
  sensitive = true
}

output "plain" {
  value = null_resource.plain.triggers
}
"#;

#[test]
fn without_a_key_a_sensitive_output_is_a_digest_refused_by_name_and_still_converges() {
    let s = Stack::with(OUTPUT_ONLY);
    s.tarn_with(&["apply", "--auto-approve"], &[("TARN_VAR_pw", PW)]).ok();
    assert_eq!(s.tarn(&["output", "pw"]).ok().stdout.trim(), "(sensitive value)");
    let run = s.tarn(&["output", "pw", "--raw"]).code(1);
    assert!(
        run.stderr.contains("sensitive") && run.stderr.contains("keygen") && run.stdout.is_empty(),
        "{}",
        run.dump()
    );
    assert_clean("output pw", &run.dump());
    s.tarn(&["output", "pw", "--json"]).code(1);
    s.tarn_with(&["plan", "--detailed-exitcode"], &[("TARN_VAR_pw", PW)]).code(0);
    s.tarn_with(&["plan", "--detailed-exitcode"], &[("TARN_VAR_pw", "another")]).code(2);
    for (file, text) in state_files(&s) {
        assert_clean(&file, &text);
    }
}

/// Regression (issue 12): `tarn output NAME` printed a sensitive output in clear. As Terraform
/// decides, only an explicit request (`--raw`, `--json`) prints it.
#[test]
fn with_a_key_a_sensitive_output_is_printed_only_on_explicit_request_and_sealed_at_rest() {
    let s = keyed(OUTPUT_ONLY);
    s.tarn_with(&["apply", "--auto-approve"], &[("TARN_VAR_pw", PW)]).ok();
    let listed = s.tarn(&["output"]).ok();
    assert_clean("tarn output", &listed.dump());
    assert!(
        listed.stdout.lines().any(|l| l.starts_with("pw ") && l.ends_with("= (sensitive value)")),
        "{}",
        listed.dump()
    );
    let named = s.tarn(&["output", "pw"]).ok();
    assert_clean("tarn output pw", &named.dump());
    assert_eq!(named.stdout.trim(), "(sensitive value)");
    // Asked for explicitly, the user gets exactly that value, like `terraform output -raw`.
    assert_eq!(s.tarn(&["output", "pw", "--raw"]).ok().stdout, PW);
    assert_eq!(s.tarn(&["output", "pw", "--json"]).ok().stdout.trim(), format!("\"{PW}\""));
    let all = s.tarn(&["output", "--json"]).ok().json();
    assert_eq!(all["pw"]["sensitive"], true);
    assert_eq!(all["pw"]["value"], PW);
    // --raw prints one bare value: a map is refused with the flag to use instead.
    let map = s.tarn(&["output", "plain", "--raw"]).code(1);
    assert!(map.stderr.contains("--raw prints only a string") && map.stdout.is_empty(), "{}", map.dump());
    assert!(s.tarn(&["output", "--raw"]).code(1).stderr.contains("NAME"), "--raw needs a name");
    for (file, text) in state_files(&s) {
        assert_clean(&file, &text);
    }
}

#[test]
fn without_a_key_sensitive_attributes_are_refused_before_any_change() {
    let s = Stack::with(CONFIG);
    let run = s.tarn_with(&["apply", "--auto-approve"], &[("TARN_VAR_pw", PW)]).code(1);
    assert!(run.stderr.contains("tarn state keygen") && run.stderr.contains("Nothing was changed"), "{}", run.dump());
    assert_clean("the refusal", &run.dump());
    assert!(s.addresses().is_empty());
    assert!(!s.path().join("out/key.txt").exists(), "no object was created");
}

/// Regression: error messages quoted the offending value even when it was sensitive —
/// `tonumber(var.pw)` printed `cannot convert "<secret>" to number`, an invalid sensitive
/// `--var` or a validation message interpolating it printed it, and so did a map lookup by a
/// sensitive key or a type error on an attribute.
#[test]
fn error_messages_never_quote_a_sensitive_value() {
    let cases: &[(&str, &str)] = &[
        ("tonumber(var.pw)", "Call to function \"tonumber\" failed"),
        ("tobool(var.pw)", "Call to function \"tobool\" failed"),
        ("file(var.pw)", "Call to function \"file\" failed"),
        ("cidrhost(var.pw, 1)", "Call to function \"cidrhost\" failed"),
        ("lookup({}, var.pw)", "Call to function \"lookup\" failed"),
        ("try(tonumber(var.pw))", "tonumber"),
        ("templatefile(var.pw, {})", "template file"),
        ("{ a = 1 }[var.pw]", "Invalid index"),
    ];
    for (expr, expected) in cases {
        let s = Stack::with(&format!(
            "variable \"pw\" {{\n  type      = string\n  sensitive = true\n}}\n\nresource \"null_resource\" \"a\" {{\n  triggers = {{ x = {expr} }}\n}}\n"
        ));
        let run = s.tarn_with(&["plan"], &[("TARN_VAR_pw", PW)]).code(1);
        assert!(run.stderr.contains(expected), "{expr}: {}", run.dump());
        assert_clean(expr, &run.dump());
    }

    let s = Stack::with(&format!(
        "{}\nvariable \"n\" {{\n  type      = number\n  sensitive = true\n}}\n\nvariable \"long\" {{\n  type      = string\n  sensitive = true\n\n  validation {{\n    condition     = length(var.long) > 40\n    error_message = \"too short: ${{var.long}}\"\n  }}\n}}\n",
        crate::harness::FAULT_PROVIDER
    ));
    let run = s.tarn_with(&["plan"], &[("TARN_VAR_n", PW), ("TARN_VAR_long", PW)]).code(1);
    assert!(
        run.stderr.contains("\"n\" is not a valid number") && run.stderr.contains("refers to a sensitive value"),
        "{}",
        run.dump()
    );
    assert_clean("invalid sensitive variables", &run.dump());

    let s = Stack::with(&format!(
        "{}\nvariable \"pw\" {{\n  type      = string\n  sensitive = true\n}}\n\nresource \"fault_object\" \"a\" {{\n  latency_ms = var.pw\n}}\n",
        crate::harness::FAULT_PROVIDER
    ));
    let run = s.tarn_with(&["plan"], &[("TARN_VAR_pw", PW)]).code(1);
    assert!(run.stderr.contains("\"latency_ms\" of fault_object must be number"), "{}", run.dump());
    assert_clean("attribute type error", &run.dump());
}

/// Regression (issue 12): `local_sensitive_file` printed and stored unsalted hashes of its
/// content (`id` is its SHA1), from which a short secret is found again.
#[test]
fn local_sensitive_file_hashes_are_never_shown_or_stored_in_clear() {
    let file = |ty: &str| {
        format!(
            "resource \"{ty}\" \"f\" {{\n  filename = \"${{path.module}}/out/f.txt\"\n  content  = \"{ATTR}\"\n}}\n"
        )
    };
    // The same content in a plain `local_file` gives the hashes to look for.
    let plain = Stack::with(&file("local_file"));
    plain.tarn(&["apply", "--auto-approve"]).ok();
    let shown = plain.tarn(&["show", "--json"]).ok().json();
    let values = &shown["resources"][0]["values"];
    let hashes: Vec<String> = [
        "id",
        "content_md5",
        "content_sha1",
        "content_sha256",
        "content_base64sha256",
        "content_sha512",
        "content_base64sha512",
    ]
    .iter()
    .map(|k| values[k].as_str().unwrap_or_else(|| panic!("{k} in {values}")).to_string())
    .collect();

    let s = keyed(&file("local_sensitive_file"));
    let mut seen = Vec::new();
    for args in [
        &["plan"][..],
        &["plan", "--json"],
        &["apply", "--auto-approve"],
        &["show"],
        &["show", "--json"],
        &["state", "list"],
        &["state", "show", "local_sensitive_file.f"],
        &["state", "show", "local_sensitive_file.f", "--json"],
        &["plan", "--json"],
    ] {
        let run = s.tarn(args).ok();
        seen.push((format!("tarn {args:?}"), run.dump()));
    }
    for (file, text) in state_files(&s) {
        seen.push((file, text));
    }
    for (what, text) in &seen {
        for h in &hashes {
            assert!(!text.contains(h.as_str()), "{what} shows a hash of the secret ({h}):\n{text}");
        }
    }
    let shown = s.tarn(&["show", "--json"]).ok().json();
    let sensitive = shown["resources"][0]["sensitive_values"].as_array().unwrap().clone();
    for path in ["/id", "/content_md5", "/content_base64sha512"] {
        assert!(sensitive.iter().any(|p| p == path), "{path} is marked sensitive: {sensitive:?}");
    }
    assert_eq!(s.read("out/f.txt"), ATTR, "the file itself has the content");
}

/// A sensitive variable sent to HTTP APIs (a Cloudflare record's content, a Scaleway IP's tag):
/// at trace level the HTTP layer logs every request and response body, and the values that were
/// marked sensitive are masked there, on stderr and in `--log-file`, for every HTTP provider,
/// though the providers receive them unmarked and ask for no redaction themselves.
#[test]
fn trace_logs_of_http_providers_mask_sensitive_values() {
    const TOKEN: &str = "txt-Secret-Zq93k";
    let s = keyed(
        r#"
variable "token" {
  type      = string
  sensitive = true
}

provider "cloudflare" {}

data "cloudflare_zone" "main" {
  name = "example.com"
}

resource "cloudflare_dns_record" "verify" {
  zone_id = data.cloudflare_zone.main.id
  name    = "_verify"
  type    = "TXT"
  content = var.token
}

provider "scaleway" {}

resource "scaleway_instance_ip" "tagged" {
  tags = [var.token]
}
"#,
    );
    let log = s.path().join("trace.log");
    let log = log.to_str().unwrap();
    let env: &[(&str, &str)] = &[
        ("TARN_VAR_token", TOKEN),
        ("TARN_LOG", "trace"),
        ("CLOUDFLARE_API_TOKEN", ""),
        ("CLOUDFLARE_BASE_URL", "http://127.0.0.1:9/unreachable"),
        ("SCW_SECRET_KEY", ""),
        ("SCW_API_URL", "http://127.0.0.1:9/unreachable"),
    ];
    let mut seen = Vec::new();
    for args in [
        &["apply", "--sandbox", "--auto-approve"][..],
        &["plan", "--sandbox"],
        &["destroy", "--sandbox", "--auto-approve"],
    ] {
        let r = s.tarn_with(&[&["--log-file", log], args].concat(), env).ok();
        seen.push((format!("tarn {args:?}"), format!("{}{}", r.stdout, r.stderr)));
    }
    let logged = s.read("trace.log");
    // The bodies were logged (else masking proves nothing), with the secret masked in them.
    assert!(logged.contains("dns_records"), "the Cloudflare calls were not logged:\n{logged}");
    assert!(logged.contains("/ips"), "the Scaleway calls were not logged:\n{logged}");
    assert!(logged.contains("<redacted>"), "nothing was masked:\n{logged}");
    seen.push(("the log file".to_string(), logged));
    for (what, text) in &seen {
        assert!(!text.contains(TOKEN), "{what} shows the sensitive value:\n{text}");
    }
}
