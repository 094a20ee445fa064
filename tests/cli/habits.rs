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
