//! The sandbox's local sshd, shared by the providers' local services (`pond.rs`, `vsn.rs`): an
//! OpenSSH server on a loopback address with its own host key (made once, kept with the
//! server's files, so its fingerprint can be pinned), accepting only the sandbox's client key,
//! and the small process helpers around it. A started process stops when its [`Process`] drops.
//!
//! It never touches the machine's own sshd or /etc/ssh.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

/// A process the sandbox started; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Process {
    pub what: String,
    pub child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        tracing::debug!("sandbox: stopped {}", self.what);
    }
}

/// Runs `cmd`; its trimmed stdout, or an error with its stderr.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// An ed25519 key pair at `path`, made once.
pub fn key(path: &Path, comment: &str) -> Result<(), String> {
    if path.exists() {
        return Ok(());
    }
    run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"]).arg(path)).map(|_| ())
}

/// `SHA256:...` of a public key file.
pub fn fingerprint(public: &Path) -> Result<String, String> {
    let out = run(Command::new("ssh-keygen").arg("-lf").arg(public))?;
    out.split_whitespace().nth(1).map(str::to_string).ok_or_else(|| format!("ssh-keygen -lf printed {out:?}"))
}

pub fn free_port(address: Ipv4Addr) -> Result<u16, String> {
    let probe = TcpListener::bind((address, 0)).map_err(|e| format!("no free port on {address}: {e}"))?;
    probe.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

pub fn listening(address: Ipv4Addr, port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((address, port)), Duration::from_millis(300)).is_ok()
}

pub fn is_root() -> bool {
    run(Command::new("id").arg("-u")).is_ok_and(|u| u == "0")
}

/// Waits until `address:port` accepts connections, or the process exits; `ports_file` is what
/// to delete to choose other ports.
pub fn wait_listening(
    process: &mut Process,
    address: Ipv4Addr,
    port: u16,
    log: &Path,
    ports_file: &Path,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !listening(address, port) {
        let exited = process.child.try_wait().ok().flatten().is_some();
        if exited || Instant::now() > deadline {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!(
                "{} did not listen on {address}:{port} (is the port taken? delete {} to choose others): {}",
                process.what,
                ports_file.display(),
                log.trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Starts an sshd on `address:port` whose files (host key, `authorized_keys`, `sshd_config`,
/// `sshd.log`) live in `dir`, letting in only `client_public`. The host key's fingerprint is
/// `fingerprint(dir/ssh_host_ed25519_key.pub)`.
pub fn start(
    dir: &Path,
    address: Ipv4Addr,
    port: u16,
    client_public: &Path,
    ports_file: &Path,
) -> Result<Process, String> {
    if !Path::new(SSHD).exists() {
        return Err(format!("{SSHD} is not installed: apt-get install openssh-server"));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let host_key = dir.join("ssh_host_ed25519_key");
    key(&host_key, "tarn-sandbox-host")?;
    std::fs::copy(client_public, dir.join("authorized_keys"))
        .map_err(|e| format!("cannot write authorized_keys: {e}"))?;
    let config = format!(
        "Port {port}\nListenAddress {address}\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPidFile none\nUsePAM no\n\
         StrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
         Subsystem sftp internal-sftp\nLogLevel ERROR\n",
        hk = host_key.display(),
        ak = dir.join("authorized_keys").display(),
    );
    std::fs::write(dir.join("sshd_config"), config).map_err(|e| format!("cannot write sshd_config: {e}"))?;
    // sshd's privilege-separation directory; present wherever openssh-server is installed.
    let _ = std::fs::create_dir_all("/run/sshd");
    let log = dir.join("sshd.log");
    let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {SSHD}: {e}"))?;
    let mut process = Process { what: format!("sshd on {address}:{port}"), child };
    wait_listening(&mut process, address, port, &log, ports_file)?;
    Ok(process)
}
