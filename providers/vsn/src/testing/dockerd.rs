//! A real Docker engine for the tests: Debian's `dockerd` started by the harness with its own
//! socket, data root, exec root and pidfile under a temporary directory (vfs storage, no
//! iptables, no bridge: what works on these machines), talked to through `/usr/bin/docker` with
//! `DOCKER_HOST` set, never through whatever `docker` comes first on PATH or a system daemon.
//! Dropping it stops the daemon (SIGTERM, then SIGKILL), unmounts what it left and removes its
//! directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const DOCKER: &str = "/usr/bin/docker";
pub const INSTALL: &str = "apt-get install -y docker.io (or run ./scripts/test.sh)";

pub struct TestDockerd {
    pub dir: PathBuf,
    child: Child,
}

impl TestDockerd {
    pub fn start(dir: &Path) -> Result<TestDockerd, String> {
        for path in ["/usr/sbin/dockerd", DOCKER] {
            if !Path::new(path).exists() {
                return Err(format!("{path} not found: install it with `{INSTALL}`"));
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("dockerd.log")).map_err(|e| e.to_string())?;
        let child = Command::new("/usr/sbin/dockerd")
            .args(["--storage-driver=vfs", "--iptables=false", "--bridge=none", "--ip-masq=false"])
            .arg(format!("--host=unix://{}", dir.join("docker.sock").display()))
            .arg(format!("--data-root={}", dir.join("root").display()))
            .arg(format!("--exec-root={}", dir.join("exec").display()))
            .arg(format!("--pidfile={}", dir.join("docker.pid").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("could not start dockerd: {e}; install it with `{INSTALL}`"))?;
        let d = TestDockerd { dir: dir.to_path_buf(), child };
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if d.docker(&["version", "--format", "{{.Server.Version}}"]).is_ok() {
                return Ok(d);
            }
            if Instant::now() > end {
                let log = std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default();
                return Err(format!("dockerd did not answer within 60 s; its log:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `DOCKER_HOST` for this daemon.
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.join("docker.sock").display())
    }

    pub fn docker(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(DOCKER)
            .env("DOCKER_HOST", self.host())
            .args(args)
            .output()
            .map_err(|e| format!("could not run {DOCKER}: {e}; install it with `{INSTALL}`"))?;
        if !out.status.success() {
            return Err(format!("docker {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for TestDockerd {
    fn drop(&mut self) {
        if let Ok(ids) = self.docker(&["ps", "-aq"]) {
            for id in ids.split_whitespace() {
                let _ = self.docker(&["rm", "-f", id]);
            }
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Mounts left under the directory (netns files, vfs layers) go before the files.
        let prefix = self.dir.display().to_string();
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let mut points: Vec<&str> =
            mounts.lines().filter_map(|l| l.split_whitespace().nth(1)).filter(|p| p.starts_with(&prefix)).collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = Command::new("umount").arg("-l").arg(p).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
