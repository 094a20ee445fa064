//! Tests of tarn-plugin against real processes: the example Python plugin
//! (examples/plugins/kv) through the conformance suite and the `Provider` trait, and the
//! deliberately broken plugins of `tests/fixtures` (crash, hang, garbage, non-zero exit, wrong
//! version, bad schema, stderr noise), each of which must give a clean classified error, and
//! leave no process behind; and logs at trace level that never show a sensitive value.

mod broken;
mod kv;
mod logs;

use std::path::PathBuf;
use std::time::Duration;
use tarn_plugin::Timeouts;

/// The example plugin in examples/plugins/kv.
pub fn kv_plugin() -> PathBuf {
    require_python();
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/plugins/kv/tarn-provider-kv")
}

pub fn fixture(name: &str) -> PathBuf {
    require_python();
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The plugins are Python: fail loudly, with the install command, when it is missing.
pub fn require_python() {
    let ok = std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 is needed by the plugin tests: install it with `apt-get install python3` (scripts/test.sh does)"
    );
}

/// Short timeouts, so the hang tests take seconds.
pub fn quick() -> Timeouts {
    Timeouts { start: Duration::from_secs(5), call: Duration::from_secs(2), exit: Duration::from_secs(2) }
}

/// True while `pid` exists in any state, zombie included: a reaped process has no /proc entry.
pub fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits up to 5 s for `pid` to be gone (reaped, not a zombie).
pub fn assert_reaped(pid: u32) {
    for _ in 0..100 {
        if !process_exists(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    panic!("process {pid} is still there: {stat}");
}
