//! Test harness: the machine's real libvirt (`qemu:///system`, QEMU under TCG) for the
//! `libvirt-ssh` driver, with what each test process needs of its own: a `dir` storage pool in a
//! temporary directory, an Open vSwitch bridge (userspace `netdev` datapath, so no kernel module
//! is needed) for tagged NICs, and a Linux bridge for untagged ones.
//!
//! libvirtd, virtlogd and Open vSwitch (ovsdb-server on a database of its own, ovs-vswitchd)
//! are started when they do not answer, and stopped at exit when this process started them;
//! the pool and bridges are removed at exit. Missing programs fail loudly with the command that
//! installs them. Runs as root. Not for production use.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const INSTALL: &str = "install libvirt, QEMU and Open vSwitch: `apt-get install -y libvirt-daemon-system libvirt-clients \
                       qemu-system-x86 openvswitch-switch` (scripts/test.sh does this)";
pub const URI: &str = "qemu:///system";

static SHARED: OnceLock<TestLibvirt> = OnceLock::new();
/// Daemons this process started, as pid files, stopped at exit.
static STARTED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub struct TestLibvirt {
    /// The storage pool's name.
    pub pool: String,
    /// An Open vSwitch bridge (VLAN tags work on it).
    pub ovs_bridge: String,
    /// A Linux bridge (untagged NICs only).
    pub linux_bridge: String,
    dir: PathBuf,
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("cannot run {program}: {e}; {INSTALL}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn answers(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).output().is_ok_and(|o| o.status.success())
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{what} did not answer within 30 s"))
}

/// Starts a daemon that forks into the background and records its pid file to stop it at exit.
fn start_daemon(program: &str, args: &[&str], pid_file: &str) -> Result<(), String> {
    run(program, args)?;
    STARTED.lock().map_err(|e| e.to_string())?.push(PathBuf::from(pid_file));
    Ok(())
}

fn ensure_libvirt() -> Result<(), String> {
    if answers("virsh", &["-c", URI, "version"]) {
        return Ok(());
    }
    for program in ["/usr/sbin/libvirtd", "/usr/sbin/virtlogd", "/usr/bin/qemu-system-x86_64", "/usr/bin/virsh"] {
        if !std::path::Path::new(program).exists() {
            return Err(format!("{program} not found; {INSTALL}"));
        }
    }
    if !std::path::Path::new("/run/libvirt/virtlogd-sock").exists() {
        start_daemon("/usr/sbin/virtlogd", &["-d"], "/run/virtlogd.pid")?;
    }
    start_daemon("/usr/sbin/libvirtd", &["-d"], "/run/libvirtd.pid")?;
    wait_for("libvirtd", || answers("virsh", &["-c", URI, "version"]))
}

fn ensure_ovs(dir: &std::path::Path) -> Result<(), String> {
    if answers("ovs-vsctl", &["--timeout=3", "show"]) {
        return Ok(());
    }
    if !std::path::Path::new("/usr/sbin/ovs-vswitchd").exists() {
        return Err(format!("/usr/sbin/ovs-vswitchd not found; {INSTALL}"));
    }
    // ovs-vsctl and libvirt use the default socket, so the server listens there; its database
    // is this process's own.
    std::fs::create_dir_all("/var/run/openvswitch").map_err(|e| e.to_string())?;
    let db = dir.join("ovs.db").display().to_string();
    run("ovsdb-tool", &["create", &db, "/usr/share/openvswitch/vswitch.ovsschema"])?;
    let pid = dir.join("ovsdb.pid").display().to_string();
    let log = format!("--log-file={}", dir.join("ovsdb.log").display());
    start_daemon(
        "ovsdb-server",
        &[&db, "--remote=punix:/var/run/openvswitch/db.sock", &format!("--pidfile={pid}"), "--detach", &log],
        &pid,
    )?;
    run("ovs-vsctl", &["--no-wait", "init"])?;
    let pid = dir.join("vswitchd.pid").display().to_string();
    let log = format!("--log-file={}", dir.join("vswitchd.log").display());
    start_daemon("ovs-vswitchd", &[&format!("--pidfile={pid}"), "--detach", &log], &pid)?;
    wait_for("ovs-vswitchd", || answers("ovs-vsctl", &["--timeout=3", "show"]))
}

impl TestLibvirt {
    /// libvirt with this process's pool and bridges, set up on first use; panics with the fix
    /// when it cannot.
    pub fn shared() -> &'static TestLibvirt {
        SHARED.get_or_init(|| {
            let lv = TestLibvirt::start().unwrap_or_else(|e| panic!("{e}"));
            // SAFETY: registering a plain extern "C" function; it runs once at exit.
            unsafe { libc::atexit(stop_shared) };
            lv
        })
    }

    fn start() -> Result<TestLibvirt, String> {
        let dir = tempfile::Builder::new().prefix("tarn-libvirt-").tempdir().map_err(|e| e.to_string())?.keep();
        ensure_libvirt()?;
        ensure_ovs(&dir)?;
        let n = std::process::id() % 100_000;
        let lv = TestLibvirt {
            pool: format!("pagw-test-{}", std::process::id()),
            ovs_bridge: format!("pgo{n}"),
            linux_bridge: format!("pgb{n}"),
            dir,
        };
        let target = lv.dir.join("pool");
        std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
        let target = target.display().to_string();
        run("virsh", &["-c", URI, "pool-define-as", &lv.pool, "dir", "--target", &target])?;
        run("virsh", &["-c", URI, "pool-start", &lv.pool])?;
        run(
            "ovs-vsctl",
            &["--may-exist", "add-br", &lv.ovs_bridge, "--", "set", "bridge", &lv.ovs_bridge, "datapath_type=netdev"],
        )?;
        let _ = run("ip", &["link", "del", &lv.linux_bridge]);
        run("ip", &["link", "add", &lv.linux_bridge, "type", "bridge"])?;
        run("ip", &["link", "set", &lv.linux_bridge, "up"])?;
        Ok(lv)
    }

    /// Runs `virsh -c qemu:///system ARGS`; returns its output or why it failed.
    pub fn virsh(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["-q", "-c", URI];
        all.extend_from_slice(args);
        run("virsh", &all)
    }

    /// The pool's directory.
    pub fn pool_dir(&self) -> PathBuf {
        self.dir.join("pool")
    }

    /// The VLAN tag Open vSwitch gives the port of `interface` (`[]` when untagged).
    pub fn ovs_tag(&self, interface: &str) -> String {
        run("ovs-vsctl", &["get", "port", interface, "tag"]).unwrap_or_default().trim().to_string()
    }
}

extern "C" fn stop_shared() {
    // Statics are never dropped: the pool, bridges and started daemons are removed here.
    if let Some(lv) = SHARED.get() {
        let _ = lv.virsh(&["pool-destroy", &lv.pool]);
        let _ = lv.virsh(&["pool-undefine", &lv.pool]);
        let _ = run("ovs-vsctl", &["--if-exists", "del-br", &lv.ovs_bridge]);
        let _ = run("ip", &["link", "del", &lv.linux_bridge]);
        let started: Vec<PathBuf> = STARTED.lock().map(|s| s.clone()).unwrap_or_default();
        for pid_file in started.iter().rev() {
            if let Some(pid) = std::fs::read_to_string(pid_file).ok().and_then(|p| p.trim().parse::<i32>().ok()) {
                // SAFETY: signalling a daemon this process started, by the pid it recorded.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        let _ = std::fs::remove_dir_all(&lv.dir);
    }
}
