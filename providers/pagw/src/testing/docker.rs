//! A private Docker engine for tests: Debian's `dockerd` with `--storage-driver=vfs
//! --iptables=false --bridge=none` and its own socket, data root, exec root and pidfile under a
//! temporary directory, so it shares nothing with the machine's or another test's daemon. A
//! `pagw-test-base` image is imported from a busybox tree (builders run `--network none`).
//!
//! One per test process, stopped at exit; missing binaries fail loudly with the install command.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const INSTALL: &str =
    "install Docker and busybox: `apt-get install -y docker.io busybox-static` (scripts/test.sh does this)";
const DOCKERD: &str = "/usr/sbin/dockerd";
/// The Docker CLI of the docker.io package (another `docker` may come first on PATH).
pub const DOCKER: &str = "/usr/bin/docker";
pub const BASE_IMAGE: &str = "pagw-test-base";

static SHARED: OnceLock<TestDocker> = OnceLock::new();

pub struct TestDocker {
    child: Option<Child>,
    dir: PathBuf,
}

impl TestDocker {
    pub fn shared() -> &'static TestDocker {
        SHARED.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("tarn-test-dockerd".into())
                .spawn(move || {
                    let d = TestDocker::start();
                    let _ = tx.send(d);
                    loop {
                        std::thread::park();
                    }
                })
                .expect("spawn the thread that owns the test dockerd");
            let d = rx.recv().expect("the test dockerd did not start");
            // SAFETY: registering a plain extern "C" function; it runs once at exit.
            unsafe { libc::atexit(stop_shared) };
            d.unwrap_or_else(|e| panic!("{e}"))
        })
    }

    fn start() -> Result<TestDocker, String> {
        for bin in [DOCKERD, DOCKER, "/bin/busybox"] {
            if !Path::new(bin).exists() {
                return Err(format!("{bin} not found; {INSTALL}"));
            }
        }
        // A short path: the socket's path must fit in sun_path.
        let dir = PathBuf::from(format!("/tmp/tarn-dk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("dockerd.log")).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(DOCKERD);
        cmd.args(["--storage-driver=vfs", "--iptables=false", "--ip-forward=false", "--bridge=none"])
            .arg(format!("--host=unix://{}", dir.join("docker.sock").display()))
            .arg(format!("--data-root={}", dir.join("data").display()))
            .arg(format!("--exec-root={}", dir.join("exec").display()))
            .arg(format!("--pidfile={}", dir.join("docker.pid").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: prctl only changes this (child) process's own parent-death signal.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| format!("cannot start {DOCKERD}: {e}; {INSTALL}"))?;
        let mut d = TestDocker { child: Some(child), dir };
        let start = Instant::now();
        loop {
            if d.docker(&["version", "--format", "{{.Server.Version}}"]).is_ok() {
                break;
            }
            let exited = d.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || start.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(d.dir.join("dockerd.log")).unwrap_or_default();
                return Err(format!("the test dockerd did not start:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        d.import_base()?;
        Ok(d)
    }

    /// `unix:///…/docker.sock`, for `DOCKER_HOST`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.join("docker.sock").display())
    }

    /// Runs the Docker CLI against this daemon; stdout on success.
    pub fn docker(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(DOCKER)
            .env("DOCKER_HOST", self.host())
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {DOCKER}: {e}; {INSTALL}"))?;
        if !out.status.success() {
            return Err(format!("docker {args:?}: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn import_base(&self) -> Result<(), String> {
        let root = self.dir.join("rootfs");
        for d in ["bin", "root", "tmp"] {
            std::fs::create_dir_all(root.join(d)).map_err(|e| e.to_string())?;
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).map_err(|e| e.to_string())?;
        for applet in ["sh", "cp", "cat", "mkdir", "echo", "test", "dirname", "ls", "rm"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).map_err(|e| e.to_string())?;
        }
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .args(["-cf", "-", "."])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let out = Command::new(DOCKER)
            .env("DOCKER_HOST", self.host())
            .args(["import", "-", BASE_IMAGE])
            .stdin(tar.stdout.ok_or("no tar output")?)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("docker import: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    }
}

fn stop(pid: u32, dir: &Path) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: signalling the daemon we started and reaping it by pid.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20)
                && libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) == 0
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

impl Drop for TestDocker {
    fn drop(&mut self) {
        if let Some(c) = self.child.take() {
            stop(c.id(), &self.dir);
        }
    }
}

extern "C" fn stop_shared() {
    if let Some(d) = SHARED.get() {
        if let Some(c) = &d.child {
            stop(c.id(), &d.dir);
        }
    }
}
