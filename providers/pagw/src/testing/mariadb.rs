//! Test harness: a private MariaDB server (`mariadb-install-db` into a temporary directory, then
//! `mariadbd` on 127.0.0.1 and a free port), one per test process, with a fresh database holding
//! the Giif schema for each test that asks.
//!
//! The server runs as root with `--user=root` (MariaDB allows it when told), dies with the thread
//! that started it (PR_SET_PDEATHSIG) and is stopped at exit. Missing binaries fail loudly with
//! the command that installs them. Not for production use.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const INSTALL: &str = "install MariaDB: `apt-get install -y mariadb-server mariadb-client` (scripts/test.sh does this)";
const MARIADBD: &str = "/usr/sbin/mariadbd";
pub const USER: &str = "tarn";
pub const PASSWORD: &str = "tarn-test-pw";

static SHARED: OnceLock<TestMariaDb> = OnceLock::new();

pub struct TestMariaDb {
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    port: u16,
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}; {INSTALL}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl TestMariaDb {
    /// The server of this test process, started on first use; panics with the fix when it cannot.
    pub fn shared() -> &'static TestMariaDb {
        SHARED.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("tarn-test-mariadb".into())
                .spawn(move || {
                    let db = TestMariaDb::start();
                    let _ = tx.send(db);
                    loop {
                        std::thread::park();
                    }
                })
                .expect("spawn the thread that owns the test MariaDB");
            let db = rx.recv().expect("the test MariaDB did not start (see the panic above)");
            // SAFETY: registering a plain extern "C" function; it runs once at exit.
            unsafe { libc::atexit(stop_shared) };
            db.unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// Starts a server of its own (stopped on drop).
    pub fn start() -> Result<TestMariaDb, String> {
        if !Path::new(MARIADBD).exists() {
            return Err(format!("{MARIADBD} not found; {INSTALL}"));
        }
        let mut dir = tempfile::Builder::new().prefix("tarn-mariadb-").tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        // A temporary directory of its own: with the shared /tmp, concurrent test processes'
        // bootstraps lost their temporary tables ("Could not remove temporary table
        // '/tmp/#sql-temptable-…'", then "Unknown table 'mysql.tmp_user_sys'").
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        run(Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--user=root", "--auth-root-authentication-method=socket", "--skip-test-db"])
            .current_dir(dir.path()))?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .map_err(|e| e.to_string())?;
            let log = dir.path().join(format!("mariadbd-{port}.log"));
            let mut cmd = Command::new(MARIADBD);
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--tmpdir={}", tmp.display()))
                .arg(format!("--socket={}", dir.path().join("sock").display()))
                .arg(format!("--pid-file={}", dir.path().join("pid").display()))
                .arg(format!("--log-error={}", log.display()))
                .arg(format!("--port={port}"))
                .args([
                    "--user=root",
                    "--bind-address=127.0.0.1",
                    "--skip-name-resolve",
                    "--innodb-buffer-pool-size=32M",
                    "--innodb-flush-log-at-trx-commit=0",
                    "--innodb-lock-wait-timeout=20",
                    "--max-connections=200",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: prctl only changes this (child) process's own parent-death signal.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
            let child = cmd.spawn().map_err(|e| format!("cannot start {MARIADBD}: {e}; {INSTALL}"))?;
            let path = dir.path().to_path_buf();
            let mut db = TestMariaDb { child: Some(child), dir: Some(dir), path, port };
            if db.wait_ready() {
                db.root_sql(&format!(
                    "CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; \
                     GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1'; FLUSH PRIVILEGES;"
                ))?;
                return Ok(db);
            }
            last = std::fs::read_to_string(&log).unwrap_or_default();
            db.stop();
            dir = db.dir.take().ok_or("the test MariaDB lost its directory")?;
            if !last.contains("Address already in use") {
                break;
            }
        }
        Err(format!("the test MariaDB did not start:\n{last}"))
    }

    fn socket(&self) -> PathBuf {
        self.path.join("sock")
    }

    fn wait_ready(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    return false;
                }
            }
            if self.socket().exists() && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Runs SQL as root over the socket with the `mariadb` client; returns its tab-separated output.
    pub fn root_sql(&self, sql: &str) -> Result<String, String> {
        run(Command::new("mariadb").arg("--no-defaults").arg(format!("--socket={}", self.socket().display())).args([
            "-uroot",
            "--batch",
            "--skip-column-names",
            "-e",
            sql,
        ]))
    }

    /// Runs SQL on `database` and returns the output, panicking on failure (tests' assertions).
    pub fn sql(&self, database: &str, sql: &str) -> String {
        self.root_sql(&format!("USE {database}; {sql}")).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database; returns its name.
    pub fn fresh_database(&self) -> String {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let name = format!("giif_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        self.root_sql(&format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("{e}"));
        name
    }

    /// `mysql://tarn:PASSWORD@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("mysql://{USER}:{PASSWORD}@127.0.0.1:{}/{database}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: signalling the server process we started.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestMariaDb {
    fn drop(&mut self) {
        self.stop();
    }
}

extern "C" fn stop_shared() {
    // Statics are never dropped: the shared server is stopped and its directory removed here.
    if let Some(db) = SHARED.get() {
        if let Some(pid) = db.child.as_ref().and_then(|c| i32::try_from(c.id()).ok()) {
            // SAFETY: signalling the server we started and reaping it by pid.
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
        let _ = std::fs::remove_dir_all(&db.path);
    }
}
