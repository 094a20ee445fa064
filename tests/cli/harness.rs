//! The test harness: one temporary stack directory per test, configuration files written into
//! it, and the built `tarn` binary run against it with `-C <dir> --no-color`, capturing stdout,
//! stderr and the exit code. It also lists what the fault provider really created (the JSON
//! files under `objs/`) and what the state records (`tarn show --json`), which is what most
//! assertions compare. Nothing here touches the network; temp dirs are removed on drop.

use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const TARN: &str = env!("CARGO_BIN_EXE_tarn");

/// The fault provider block every fault test uses: objects persist as files in `objs/`.
pub const FAULT_PROVIDER: &str = r#"
provider "fault" {
  dir = "${path.module}/objs"
}
"#;

/// A configuration directory with its own state.
pub struct Stack {
    dir: tempfile::TempDir,
}

/// What one run of tarn printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Stack {
    pub fn new() -> Stack {
        let dir = tempfile::Builder::new().prefix("tarn-e2e-").tempdir().expect("create a temp dir");
        Stack { dir }
    }

    /// A stack with one file, `main.tarn.hcl`.
    pub fn with(config: &str) -> Stack {
        let s = Stack::new();
        s.write("main.tarn.hcl", config);
        s
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.path().join(name)).unwrap();
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    /// `tarn -C <dir> --no-color ARGS`, with stdin closed and no colour or variables leaking
    /// in from the environment of whoever runs the tests.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(TARN);
        cmd.arg("-C").arg(self.path()).arg("--no-color").args(args);
        cmd.env("NO_COLOR", "1")
            .env_remove("TARN_LOG")
            .env_remove("CI")
            .env_remove("TARN_BACKEND_URL")
            .stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("TARN_VAR_") {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    pub fn tarn(&self, args: &[&str]) -> Run {
        self.tarn_with(args, &[])
    }

    pub fn tarn_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run tarn");
        Run::from_output(args, out)
    }

    /// Starts tarn in the background with stdout and stderr piped. It is killed when the
    /// handle is dropped, so a failing assertion never leaves a tarn running.
    pub fn spawn(&self, args: &[&str]) -> Running {
        self.spawn_with(args, &[])
    }

    /// [`spawn`](Self::spawn) with extra environment variables.
    pub fn spawn_with(&self, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        Running(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start tarn"))
    }

    /// The objects the fault provider really holds: id → correlation tag, read from `objs/`.
    /// Temporary files of an interrupted write (`.<id>.<uuid>.tmp`) are not objects.
    pub fn objects(&self) -> std::collections::BTreeMap<String, Json> {
        let dir = self.path().join("objs");
        let mut out = std::collections::BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(&dir) else { return out };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap();
            let json: Json = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{name} is not JSON: {err}"));
            out.insert(name.trim_end_matches(".json").to_string(), json);
        }
        out
    }

    pub fn object_ids(&self) -> BTreeSet<String> {
        self.objects().into_keys().collect()
    }

    /// Every file in `objs/`, hidden ones included.
    pub fn all_files_in_objs(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.path().join("objs")) else { return Vec::new() };
        let mut v: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
        v.sort();
        v
    }

    /// `tarn show --json`, parsed.
    pub fn show(&self) -> Json {
        let run = self.tarn(&["show", "--json"]).ok();
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("show --json is not JSON ({e}):\n{}", run.stdout))
    }

    /// Ids of the fault objects the state records.
    pub fn state_ids(&self) -> BTreeSet<String> {
        self.show()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["type"] == "fault_object")
            .map(|r| r["values"]["id"].as_str().unwrap_or_else(|| panic!("no id in {r}")).to_string())
            .collect()
    }

    /// Recorded addresses (`tarn state list`).
    pub fn addresses(&self) -> Vec<String> {
        self.tarn(&["state", "list"]).ok().stdout.lines().map(str::to_string).collect()
    }

    /// The raw bytes of the state database, to prove a failed command changed nothing.
    pub fn state_fingerprint(&self) -> String {
        let show = self.tarn(&["show", "--json"]).ok().stdout;
        let list = self.tarn(&["state", "list", "--json"]).ok().stdout;
        format!("{show}\n{list}")
    }

    pub fn state_db(&self) -> PathBuf {
        self.path().join(".tarn/state.db")
    }
}

/// A tarn started in the background; derefs to its [`Child`], killed on drop if still running.
pub struct Running(Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Run {
    fn from_output(args: &[&str], out: Output) -> Run {
        let code =
            out.status.code().unwrap_or_else(|| panic!("tarn {args:?} was killed by a signal: {:?}", out.status));
        Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            code,
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Asserts the exit code, showing everything tarn printed when it differs.
    #[track_caller]
    pub fn code(self, expected: i32) -> Run {
        assert_eq!(
            self.code,
            expected,
            "tarn {:?} exited {} (expected {expected})\n{}",
            self.args,
            self.code,
            self.dump()
        );
        self.no_panic()
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        self.code(0)
    }

    #[track_caller]
    pub fn no_panic(self) -> Run {
        for needle in ["panicked", "RUST_BACKTRACE", "this is a bug in tarn"] {
            assert!(
                !self.stderr.contains(needle) && !self.stdout.contains(needle),
                "tarn {:?}: {needle}\n{}",
                self.args,
                self.dump()
            );
        }
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Run {
        assert!(self.stderr.contains(needle), "stderr of tarn {:?} lacks {needle:?}\n{}", self.args, self.dump());
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Run {
        assert!(self.stdout.contains(needle), "stdout of tarn {:?} lacks {needle:?}\n{}", self.args, self.dump());
        self
    }

    pub fn json(&self) -> Json {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.dump()))
    }

    pub fn dump(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}---", self.stdout, self.stderr)
    }
}

/// Replaces what changes from run to run (durations, ids, temp paths, lock ids, timestamps)
/// so output can be snapshot-compared.
pub fn redact(text: &str) -> String {
    let rules: &[(&str, &str)] = &[
        (r"after \d+(\.\d+)?s", "after [DURATION]"),
        (r"/tmp/tarn-e2e-[A-Za-z0-9]+", "[DIR]"),
        (r"\bf[0-9a-f]{16}\b", "[ID]"),
        (r"\b\d{15,20}\b", "[ID]"),
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[UUID]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"pid \d+", "pid [PID]"),
    ];
    let mut out = text.to_string();
    for (pattern, with) in rules {
        out = regex::Regex::new(pattern).unwrap().replace_all(&out, *with).into_owned();
    }
    out
}

/// Polls `f` every 10 ms until it returns `Some`, or panics after `timeout`.
#[track_caller]
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reads a child's stdout on a thread, line by line, into a shared buffer the test can poll.
pub struct Lines {
    buf: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Lines {
    pub fn follow(stream: impl std::io::Read + Send + 'static) -> Lines {
        use std::io::BufRead;
        let buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let b = buf.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let mut b = b.lock().unwrap();
                b.push_str(&line);
                b.push('\n');
            }
        });
        Lines { buf, reader: Some(reader) }
    }

    pub fn text(&self) -> String {
        self.buf.lock().unwrap().clone()
    }

    /// Everything once the stream has closed.
    pub fn finish(mut self) -> String {
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.text()
    }
}

/// Runs tarn with stdout and stderr on a pseudo-terminal (so it believes it talks to a
/// person) and returns the exit code and everything it wrote there.
pub fn run_on_terminal(mut cmd: Command) -> (i32, String) {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors; we own them from here on.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty failed");
    let master = unsafe { std::fs::File::from_raw_fd(master) };
    let slave = unsafe { std::fs::File::from_raw_fd(slave) };
    cmd.stdout(slave.try_clone().unwrap()).stderr(slave);
    let mut child = cmd.spawn().expect("start tarn");
    drop(cmd); // closes our copies of the terminal's slave side, so reads end with the child
    let mut reader = master;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break, // EIO once the last slave descriptor is closed
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let code = child.wait().unwrap().code().expect("tarn exited normally");
    (code, String::from_utf8_lossy(&out).into_owned())
}
