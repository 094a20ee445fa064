//! A real PostgreSQL server for tests: Debian's `initdb` and `postgres` run into a temporary
//! directory, listening on 127.0.0.1 on a free port, with password (SCRAM) authentication.
//!
//! [`TestPostgres::start`] gives a server stopped (and its directory removed) on drop;
//! [`TestPostgres::shared`] one server per test process, stopped when the process exits (and by
//! the kernel if it dies). As root, the server runs as the `postgres` user, since PostgreSQL
//! refuses to run as root. Missing binaries fail loudly with the command that installs them.
//! Available to other crates' tests with the `pg-testing` feature. Not for production use.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The server of [`TestPostgres::shared`], once started.
static SHARED: OnceLock<TestPostgres> = OnceLock::new();

/// The superuser the tests connect as.
pub const USER: &str = "tarn";
const INSTALL: &str = "install PostgreSQL: `apt-get install -y postgresql` (scripts/test.sh does this)";

/// TLS material for a server: PEM certificate chain and private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct TestPostgres {
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
    bin: PathBuf,
    port: u16,
    password: String,
}

impl TestPostgres {
    /// Starts a new server; panics (with the fix) when PostgreSQL is missing or fails to start.
    pub fn start() -> TestPostgres {
        Self::start_with(None)
    }

    /// Starts a new server with `ssl = on` using `tls`.
    pub fn start_tls(tls: TlsFiles) -> TestPostgres {
        Self::start_with(Some(tls))
    }

    /// One server for the whole test process, started on first use.
    pub fn shared() -> &'static TestPostgres {
        SHARED.get_or_init(|| {
            // The kernel stops the server when the thread that started it ends (PR_SET_PDEATHSIG),
            // so it is started from a thread that lives as long as the process.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("tarn-test-postgres".into())
                .spawn(move || {
                    let pg = TestPostgres::start();
                    let _ = tx.send(pg);
                    loop {
                        std::thread::park();
                    }
                })
                .expect("spawn the thread that owns the shared test PostgreSQL");
            let pg = rx.recv().expect("the shared test PostgreSQL did not start (see the panic above)");
            // SAFETY: registering a plain extern "C" function; it runs once at exit.
            unsafe { libc::atexit(stop_shared) };
            pg
        })
    }

    fn start_with(tls: Option<TlsFiles>) -> TestPostgres {
        let bin = bin_dir();
        let owner = server_user();
        let dir = tempfile::Builder::new().prefix("tarn-pg-").tempdir().expect("create a temp dir for PostgreSQL");
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{password}\n")).expect("write the password file");
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir(&sock).expect("create the socket dir");
        let mut conf = Vec::new();
        if let Some(tls) = &tls {
            let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
            std::fs::write(&cert, &tls.cert_pem).expect("write the server certificate");
            std::fs::write(&key, &tls.key_pem).expect("write the server key");
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod the key");
            conf = vec![
                "-c".to_string(),
                "ssl=on".into(),
                "-c".into(),
                format!("ssl_cert_file={}", cert.display()),
                "-c".into(),
                format!("ssl_key_file={}", key.display()),
            ];
        }
        if let Some((uid, gid)) = owner {
            chown_tree(dir.path(), uid, gid);
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", USER, "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .current_dir(dir.path());
        as_owner(&mut initdb, owner);
        let out =
            initdb.output().unwrap_or_else(|e| panic!("cannot run {}: {e}; {INSTALL}", bin.join("initdb").display()));
        assert!(
            out.status.success(),
            "initdb failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let log = dir.path().join(format!("postgres-{port}.log"));
            let log_file = std::fs::File::create(&log).expect("create the server log");
            if let Some((uid, gid)) = owner {
                chown(&log, uid, gid);
            }
            let mut cmd = Command::new(bin.join("postgres"));
            cmd.arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
                .arg("-c")
                .arg(format!("unix_socket_directories={}", sock.display()))
                .args([
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=300",
                ])
                .args(&conf)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone the log handle"))
                .stderr(log_file);
            as_owner(&mut cmd, owner);
            // SAFETY: prctl only changes this (child) process's own parent-death signal.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
                    Ok(())
                });
            }
            let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start postgres: {e}; {INSTALL}"));
            let mut pg =
                TestPostgres { child: Some(child), dir: None, bin: bin.clone(), port, password: password.clone() };
            if pg.wait_ready(&log) {
                pg.dir = Some(dir);
                return pg;
            }
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
            pg.stop();
            if !last_log.contains("could not bind") && !last_log.contains("already in use") {
                break;
            }
        }
        panic!("the test PostgreSQL server did not start:\n{last_log}");
    }

    /// Waits until the server accepts connections; false if it exited.
    fn wait_ready(&mut self, log: &Path) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER, "-d", "postgres"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the test PostgreSQL server did not become ready in 60 s:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgres://tarn:PASSWORD@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}:{}@127.0.0.1:{}/{db}", self.password, self.port)
    }

    /// A URL on the `postgres` database with a schema of its own (a fresh, empty stack).
    pub fn fresh_stack_url(&self) -> String {
        format!("{}?schema=t_{}", self.url("postgres"), uuid::Uuid::new_v4().simple())
    }

    /// Runs SQL with `psql` as the superuser on `db`; returns stdout; panics on failure.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .client_command("psql")
            .args(["-v", "ON_ERROR_STOP=1", "-X", "-q", "-t", "-A", "-d", db, "-c", sql])
            .output()
            .expect("run psql");
        assert!(out.status.success(), "psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `pg_dump` of `db`, as text.
    pub fn pg_dump(&self, db: &str) -> String {
        let out = self.client_command("pg_dump").args(["-d", db]).output().expect("run pg_dump");
        assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A client program of this PostgreSQL (psql, pg_dump, createdb) set up to reach the server.
    pub fn client_command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER]).env("PGPASSWORD", &self.password);
        cmd
    }

    /// Stops the server (fast shutdown) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn stop_child(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signalling the server process we started.
        unsafe { libc::kill(pid, libc::SIGINT) };
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

extern "C" fn stop_shared() {
    // Statics are never dropped, so the shared server's stop and its temp dir's removal
    // happen here.
    if let Some(pg) = SHARED.get() {
        let pid = pg.child.as_ref().map(Child::id);
        if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: signalling the server process we started; waiting on it by pid.
            unsafe {
                libc::kill(pid, libc::SIGINT);
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(10)
                    && libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) == 0
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        if let Some(dir) = &pg.dir {
            let _ = std::fs::remove_dir_all(dir.path());
        }
    }
}

/// Where the server binaries are: `TARN_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`, else the directory of `initdb` on PATH.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TARN_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join("initdb").exists() && dir.join("postgres").exists() {
            return dir;
        }
    }
    panic!(
        "PostgreSQL server binaries (initdb, postgres) were not found in /usr/lib/postgresql/*/bin or on PATH; {INSTALL}"
    );
}

/// As root, the uid and gid of the `postgres` user (PostgreSQL refuses to run as root).
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::ffi::CString::new("postgres").expect("no NUL");
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy the ids at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!pw.is_null(), "running as root, and there is no `postgres` user to run the test server as; {INSTALL}");
    // SAFETY: pw is non-null and points to a valid passwd record.
    Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

fn as_owner(cmd: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid).env("HOME", "/tmp").env("USER", "postgres");
    }
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

fn chown_tree(dir: &Path, uid: u32, gid: u32) {
    chown(dir, uid, gid);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() { chown_tree(&p, uid, gid) } else { chown(&p, uid, gid) }
    }
}

/// A port that was free a moment ago (the caller retries if another process takes it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("find a free port")
}
