//! One running plugin process and the JSON-RPC conversation with it: requests written to its
//! stdin one line each, answers read from its stdout and matched to their request by id (so
//! many calls can be in flight), stderr read line by line into the debug log and a short tail
//! kept for error messages.
//!
//! A supervisor task owns the child: it reads answers, and when the conversation ends (EOF, a
//! malformed line, a kill after a timeout) it reaps the process, records why it ended, and fails
//! every call still waiting with that reason. So a crash, hang or garbled answer becomes a
//! [`Failure`] value for each caller, and no process is left behind as a zombie.
//! Payloads are never logged: only method names, ids and timings.

use crate::protocol::{self, MAX_LINE, RpcError};
use crate::redact::Redactor;
use serde_json::Value as Json;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Notify, oneshot, watch};

/// How to start a plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// The local name the configuration uses (`kv`).
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Working directory of the process; tarn's own when `None`.
    pub dir: Option<PathBuf>,
    pub timeouts: Timeouts,
}

impl Launch {
    /// `plugin "kv" (./plugins/tarn-provider-kv)`: how messages name the plugin.
    pub fn label(&self) -> String {
        format!("plugin \"{}\" ({})", self.name, self.program.display())
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    /// Start-up: the process must answer `handshake` within this.
    pub start: Duration,
    /// Every other call.
    pub call: Duration,
    /// After stdin is closed, how long the process may take to exit before it is killed.
    pub exit: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { start: Duration::from_secs(20), call: Duration::from_secs(300), exit: Duration::from_secs(5) }
    }
}

/// Why a call got no result. Each kind says what happened to the process, not to the object.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The program could not be started at all.
    Start(String),
    /// The process ended: "exited with status 3", "was killed by signal 9 (SIGKILL)".
    Exited { how: String, stderr: Option<String> },
    /// It wrote something that is not a protocol answer; it was stopped.
    Malformed(String),
    /// It did not answer within the timeout; it was stopped.
    TimedOut { method: String, after: Duration },
    /// It was stopped because of another call's failure (named in the text).
    Stopped(String),
    /// It answered with a JSON-RPC error.
    Rpc(RpcError),
    /// tarn will not (re)start it: the text says why.
    GaveUp(String),
}

impl Failure {
    /// True when the process is gone or unusable (as opposed to a plugin-reported error).
    pub fn is_transport(&self) -> bool {
        !matches!(self, Failure::Rpc(_))
    }

    /// A sentence fragment: "exited with status 3 (last stderr line: ...)".
    pub fn describe(&self) -> String {
        match self {
            Failure::Start(e) => format!("could not be started: {e}"),
            Failure::Exited { how, stderr: Some(line) } => format!("{how} (last stderr line: {line})"),
            Failure::Exited { how, stderr: None } => how.clone(),
            Failure::Malformed(why) => format!("sent a malformed answer: {why}; it was stopped"),
            Failure::TimedOut { method, after } => {
                format!("did not answer {method} within {}; it was stopped", human(*after))
            }
            Failure::Stopped(why) => format!("was stopped: {why}"),
            Failure::Rpc(e) => format!("answered with error {}: {}", e.code, e.message),
            Failure::GaveUp(why) => why.clone(),
        }
    }
}

fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}

type Pending = HashMap<u64, oneshot::Sender<Result<Json, Failure>>>;

struct Shared {
    label: String,
    pending: Mutex<Pending>,
    /// Why the conversation ended; set once.
    death: Mutex<Option<Failure>>,
    kill: Notify,
    stderr: Mutex<VecDeque<String>>,
    redactor: Arc<Redactor>,
    /// The process's exit status, once reaped.
    status: Mutex<Option<ExitStatus>>,
}

impl Shared {
    fn death(&self) -> Option<Failure> {
        self.death.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    /// Records the first reason only: later ones are consequences.
    fn die(&self, why: Failure) {
        let mut d = self.death.lock().unwrap_or_else(|p| p.into_inner());
        if d.is_none() {
            *d = Some(why);
        }
    }
    fn take_pending(&self) -> Pending {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }
    fn last_stderr(&self) -> Option<String> {
        self.stderr.lock().unwrap_or_else(|p| p.into_inner()).back().cloned()
    }
}

/// A running plugin process.
pub struct Connection {
    shared: Arc<Shared>,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    next_id: AtomicU64,
    done: watch::Receiver<bool>,
    pid: Option<u32>,
}

impl Connection {
    /// Starts the process. The handshake is the caller's first call.
    pub fn start(launch: &Launch, redactor: Arc<Redactor>) -> Result<Connection, Failure> {
        let mut cmd = Command::new(&launch.program);
        cmd.args(&launch.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("TARN_PLUGIN_PROTOCOL", protocol::versions_list())
            .kill_on_drop(true);
        if let Some(dir) = &launch.dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| Failure::Start(start_error(launch, &e)))?;
        let pid = child.id();
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(Failure::Start("its standard streams could not be connected".into()));
        };
        let shared = Arc::new(Shared {
            label: launch.label(),
            pending: Mutex::default(),
            death: Mutex::default(),
            kill: Notify::new(),
            stderr: Mutex::default(),
            redactor,
            status: Mutex::default(),
        });
        let (done_tx, done) = watch::channel(false);
        tokio::spawn(read_stderr(stderr, shared.clone()));
        tokio::spawn(supervise(child, BufReader::new(stdout), shared.clone(), launch.timeouts.exit, done_tx));
        tracing::debug!(plugin = %shared.label, pid, "plugin started");
        Ok(Connection { shared, stdin: tokio::sync::Mutex::new(Some(stdin)), next_id: AtomicU64::new(1), done, pid })
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether the process is still usable.
    pub fn is_alive(&self) -> bool {
        self.shared.death().is_none()
    }

    /// Sends one request and waits for its answer, at most `timeout`. A timeout stops the
    /// process: an answer arriving later could not be trusted to match what tarn recorded.
    pub async fn call(&self, method: &str, params: Json, timeout: Duration) -> Result<Json, Failure> {
        if let Some(death) = self.shared.death() {
            return Err(death);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(id, tx);
        let started = Instant::now();
        let line = protocol::request_line(id, method, &params);
        {
            let mut stdin = self.stdin.lock().await;
            let written = match stdin.as_mut() {
                Some(s) => match s.write_all(line.as_bytes()).await {
                    Ok(()) => s.flush().await,
                    Err(e) => Err(e),
                },
                None => Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed")),
            };
            // A failed write means the process is gone; the supervisor will fail this call
            // with the exit status, which says more than "broken pipe".
            if let Err(e) = written {
                tracing::debug!(plugin = %self.shared.label, method, error = %e, "request not written");
            }
        }
        let outcome = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(self.shared.death().unwrap_or_else(|| Failure::Stopped("the connection closed".into()))),
            Err(_) => {
                self.shared.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                self.kill(Failure::Stopped(format!("it did not answer {method} within {}", human(timeout))));
                // Return once the process is gone, so a retry never overlaps the hung one.
                let mut done = self.done.clone();
                let _ = done.wait_for(|d| *d).await;
                Err(Failure::TimedOut { method: method.to_string(), after: timeout })
            }
        };
        tracing::debug!(
            plugin = %self.shared.label, method, id,
            ms = started.elapsed().as_millis() as u64,
            ok = outcome.is_ok(),
            "plugin call"
        );
        outcome
    }

    /// Stops the process now; calls in flight fail with `why`.
    pub fn kill(&self, why: Failure) {
        self.shared.die(why);
        self.shared.kill.notify_one();
    }

    /// Closes stdin (the plugin's signal to exit) and waits for the process to end; kills it
    /// when it takes longer than the exit timeout (the supervisor enforces that). Returns the
    /// exit status, when it could be read.
    pub async fn close(&self) -> Option<ExitStatus> {
        self.stdin.lock().await.take();
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
        *self.shared.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How the process ended, once it has.
    pub fn death(&self) -> Option<Failure> {
        self.shared.death()
    }
}

impl Drop for Connection {
    /// Closing stdin lets the plugin exit on its own; the supervisor reaps it (and kills it
    /// after the exit timeout). If the runtime is gone, `kill_on_drop` ends it.
    fn drop(&mut self) {
        if let Ok(mut stdin) = self.stdin.try_lock() {
            stdin.take();
        }
    }
}

fn start_error(launch: &Launch, e: &std::io::Error) -> String {
    let path = launch.program.display();
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("{path} does not exist"),
        std::io::ErrorKind::PermissionDenied => format!("{path} is not executable (chmod +x {path})"),
        _ => format!("{path}: {e}"),
    }
}

/// Reads answers until the conversation ends, then reaps the process and fails what waits.
async fn supervise<R: AsyncBufRead + Unpin>(
    mut child: Child,
    mut stdout: R,
    shared: Arc<Shared>,
    exit_grace: Duration,
    done: watch::Sender<bool>,
) {
    let mut buf = Vec::new();
    let killed = loop {
        buf.clear();
        tokio::select! {
            read = read_line(&mut stdout, &mut buf, MAX_LINE) => match read {
                Ok(0) => break false,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    let line = text.trim();
                    if line.is_empty() {
                        continue;
                    }
                    match protocol::parse_response(line) {
                        Ok(resp) => {
                            let waiting = shared.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&resp.id);
                            match waiting {
                                Some(tx) => {
                                    let _ = tx.send(resp.outcome.map_err(Failure::Rpc));
                                }
                                None => {
                                    shared.die(Failure::Malformed(format!("it answered request {} which tarn did not send or had given up on", resp.id)));
                                    break true;
                                }
                            }
                        }
                        Err(why) => {
                            shared.die(Failure::Malformed(format!("a line on stdout is not a JSON-RPC answer: {why} (stdout is reserved for the protocol; log to stderr)")));
                            break true;
                        }
                    }
                }
                Err(e) => {
                    shared.die(Failure::Malformed(format!("reading its stdout failed: {e}")));
                    break true;
                }
            },
            _ = shared.kill.notified() => break true,
        }
    };
    if killed {
        let _ = child.start_kill();
    }
    let status = match tokio::time::timeout(exit_grace, child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            // It closed stdout but lives on: it will not answer again.
            let _ = child.start_kill();
            child.wait().await.ok()
        }
    };
    *shared.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    // Let the stderr reader catch the last lines (a traceback) before they are quoted.
    tokio::time::sleep(Duration::from_millis(20)).await;
    shared.die(Failure::Exited { how: describe_exit(status), stderr: shared.last_stderr() });
    let why = shared.death().unwrap_or(Failure::Stopped("the connection closed".into()));
    for (_, tx) in shared.take_pending() {
        let _ = tx.send(Err(why.clone()));
    }
    tracing::debug!(plugin = %shared.label, "plugin ended: {}", why.describe());
    let _ = done.send(true);
}

fn describe_exit(status: Option<ExitStatus>) -> String {
    let Some(status) = status else { return "ended, and its exit status could not be read".into() };
    if let Some(code) = status.code() {
        return if code == 0 {
            "exited (status 0) while tarn still needed it".into()
        } else {
            format!("exited with status {code}")
        };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                6 => " (SIGABRT)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("was killed by signal {sig}{name}");
        }
    }
    format!("ended: {status}")
}

/// Forwards stderr to the debug log, redacted, and keeps the last few lines for messages.
async fn read_stderr(stderr: tokio::process::ChildStderr, shared: Arc<Shared>) {
    const TAIL: usize = 10;
    const WIDTH: usize = 300;
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match read_line(&mut reader, &mut buf, 1 << 20).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&buf);
        let line = text.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let mut line = shared.redactor.redact(line);
        if line.len() > WIDTH {
            let cut = (0..=WIDTH).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
            line.truncate(cut);
            line.push('…');
        }
        tracing::debug!(plugin = %shared.label, "stderr: {line}");
        let mut tail = shared.stderr.lock().unwrap_or_else(|p| p.into_inner());
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

/// Reads one line (with its newline) into `buf`; 0 at EOF. Refuses lines over `max` bytes
/// instead of growing without bound.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> std::io::Result<usize> {
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(buf.len());
        }
        if let Some(i) = available.iter().position(|b| *b == b'\n') {
            buf.extend_from_slice(&available[..=i]);
            r.consume(i + 1);
            return Ok(buf.len());
        }
        let n = available.len();
        buf.extend_from_slice(available);
        r.consume(n);
        if buf.len() > max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a line longer than {max} bytes"),
            ));
        }
    }
}
