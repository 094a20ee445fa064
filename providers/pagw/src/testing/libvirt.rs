//! Test harness: the machine's real libvirt (`qemu:///system`, QEMU under TCG) for the
//! `libvirt-ssh` driver, with what each test process needs of its own: a `dir` storage pool in a
//! temporary directory, an Open vSwitch bridge (userspace `netdev` datapath, so no kernel module
//! is needed) for tagged NICs, and a Linux bridge for untagged ones.
//!
//! libvirtd, virtlogd and Open vSwitch (ovsdb-server, ovs-vswitchd) are the machine's system
//! services: each started when it does not answer (a socket file left by a dead daemon is not an
//! answer), under a lock file since nextest runs each test in a process of its own, and left
//! running for the other test processes, as a service manager would. The pool and bridges are
//! this process's own and removed at exit. Missing programs fail loudly with the command that
//! installs them. Runs as root. Not for production use.

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const INSTALL: &str = "install libvirt, QEMU and Open vSwitch: `apt-get install -y libvirt-daemon-system libvirt-clients \
                       qemu-system-x86 openvswitch-switch` (scripts/test.sh does this)";
pub const URI: &str = "qemu:///system";

static SHARED: OnceLock<TestLibvirt> = OnceLock::new();
/// Serializes the start of the system services between test processes.
const LOCK: &str = "/tmp/tarn-test-libvirt.lock";
const VIRTLOGD_SOCKET: &str = "/run/libvirt/virtlogd-sock";

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

/// Starts a daemon that forks into the background. Descriptors this process inherited (a build
/// lock held by a wrapper such as `flock`, the test runner's pipes) are closed in the daemon,
/// so a service left running for the other test processes holds nothing of theirs.
fn start_daemon(program: &str, args: &[&str]) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    command.args(args);
    // SAFETY: runs in the child between fork and exec and makes one async-signal-safe system
    // call, which marks every descriptor from 3 up close-on-exec (std's own are already).
    unsafe {
        command.pre_exec(|| {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
            Ok(())
        });
    }
    let out = command.output().map_err(|e| format!("cannot run {program}: {e}; {INSTALL}"))?;
    if !out.status.success() {
        return Err(format!("{program} {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
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

/// Whether something accepts connections on the Unix socket at `path`. The file alone proves
/// nothing: a daemon that was killed (or a machine image taken while it ran) leaves its socket
/// behind, and connecting to it is refused.
fn socket_answers(path: &str) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// virtlogd, which QEMU domains log through: libvirtd answering says nothing about it (each
/// runs on its own), so it is probed by itself. A socket nobody listens on is removed first.
fn ensure_virtlogd() -> Result<(), String> {
    if socket_answers(VIRTLOGD_SOCKET) {
        return Ok(());
    }
    match std::fs::remove_file(VIRTLOGD_SOCKET) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove the stale socket {VIRTLOGD_SOCKET}: {e}")),
    }
    start_daemon("/usr/sbin/virtlogd", &["-d"])?;
    wait_for("virtlogd", || socket_answers(VIRTLOGD_SOCKET))
}

fn ensure_libvirt() -> Result<(), String> {
    for program in ["/usr/sbin/libvirtd", "/usr/sbin/virtlogd", "/usr/bin/qemu-system-x86_64", "/usr/bin/virsh"] {
        if !std::path::Path::new(program).exists() {
            return Err(format!("{program} not found; {INSTALL}"));
        }
    }
    ensure_virtlogd()?;
    if answers("virsh", &["-c", URI, "version"]) {
        return Ok(());
    }
    start_daemon("/usr/sbin/libvirtd", &["-d"])?;
    wait_for("libvirtd", || answers("virsh", &["-c", URI, "version"]))
}

/// Open vSwitch as its Debian service runs it, without the kernel module (bridges use the
/// userspace `netdev` datapath): the database where the package keeps it, created when missing.
fn ensure_ovs() -> Result<(), String> {
    if answers("ovs-vsctl", &["--timeout=3", "show"]) {
        return Ok(());
    }
    if !std::path::Path::new("/usr/sbin/ovs-vswitchd").exists() {
        return Err(format!("/usr/sbin/ovs-vswitchd not found; {INSTALL}"));
    }
    std::fs::create_dir_all("/var/run/openvswitch").map_err(|e| e.to_string())?;
    std::fs::create_dir_all("/var/lib/openvswitch").map_err(|e| e.to_string())?;
    let db = "/var/lib/openvswitch/conf.db";
    if !std::path::Path::new(db).exists() {
        run("ovsdb-tool", &["create", db, "/usr/share/openvswitch/vswitch.ovsschema"])?;
    }
    start_daemon(
        "ovsdb-server",
        &[
            db,
            "--remote=punix:/var/run/openvswitch/db.sock",
            "--pidfile",
            "--detach",
            "--log-file=/var/log/openvswitch/ovsdb-server.log",
        ],
    )?;
    run("ovs-vsctl", &["--no-wait", "init"])?;
    start_daemon("ovs-vswitchd", &["--pidfile", "--detach", "--log-file=/var/log/openvswitch/ovs-vswitchd.log"])?;
    wait_for("ovs-vswitchd", || answers("ovs-vsctl", &["--timeout=3", "show"]))
}

/// Starts what does not answer, one test process at a time.
fn ensure_services() -> Result<(), String> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK)
        .map_err(|e| format!("{LOCK}: {e}"))?;
    // SAFETY: flock on a descriptor this function owns; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("{LOCK}: {}", std::io::Error::last_os_error()));
    }
    std::fs::create_dir_all("/var/log/openvswitch").map_err(|e| e.to_string())?;
    ensure_libvirt()?;
    ensure_ovs()
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
        ensure_services()?;
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
    // Statics are never dropped: the pool and bridges are removed here.
    if let Some(lv) = SHARED.get() {
        let _ = lv.virsh(&["pool-destroy", &lv.pool]);
        let _ = lv.virsh(&["pool-undefine", &lv.pool]);
        let _ = run("ovs-vsctl", &["--if-exists", "del-br", &lv.ovs_bridge]);
        let _ = run("ip", &["link", "del", &lv.linux_bridge]);
        let _ = std::fs::remove_dir_all(&lv.dir);
    }
}
