//! Test harness: a real OpenSSH server on 127.0.0.1 (or another loopback address), with its own
//! host key, client key and authorized_keys, started per test and killed when dropped.
//!
//! Owns starting, restarting (optionally with a new host key) and stopping `/usr/sbin/sshd`.
//! It must never skip silently: a missing sshd is an error that says how to install it. It binds
//! 127.0.0.1 on a free port by default; [`TestSshd::start_on`] binds another loopback address
//! (127.0.0.2, …: all of 127.0.0.0/8 is loopback on Linux) and may share a port with servers on
//! other addresses. It leaves no process or file behind when dropped.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::hostkey::HostKeyPolicy;
use super::session::{KeySource, SshConfig};

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd for tests.
pub struct TestSshd {
    dir: PathBuf,
    addr: Ipv4Addr,
    port: u16,
    child: Option<Child>,
    user: String,
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("could not run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn keygen(path: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", "tarn-test", "-f"]).arg(path))
        .map(|_| ())
}

impl TestSshd {
    /// Start a server on 127.0.0.1 and a free port; fails (never skips) when sshd is not installed.
    pub fn start() -> Result<TestSshd, String> {
        TestSshd::start_on(Ipv4Addr::LOCALHOST, 0)
    }

    /// Start a server on a loopback address and port (0: a free port). Servers on distinct
    /// loopback addresses can share one port, so that the address alone says which one a
    /// client reaches. Refuses an address outside 127.0.0.0/8.
    pub fn start_on(addr: Ipv4Addr, port: u16) -> Result<TestSshd, String> {
        if !addr.is_loopback() {
            return Err(format!("test sshd binds loopback addresses only, not {addr}"));
        }
        if !Path::new(SSHD).exists() {
            return Err(
                "sshd not found: install it with `apt-get install openssh-server` (or run ./scripts/test.sh)".into()
            );
        }
        std::fs::create_dir_all("/run/sshd").map_err(|e| format!("could not create /run/sshd: {e}"))?;
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tarn-sshd-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
        let user = run(Command::new("id").arg("-un"))?;
        let mut server = TestSshd { dir, addr, port, child: None, user };
        keygen(&server.host_key_path())?;
        keygen(&server.client_key_path())?;
        std::fs::copy(server.client_key_path().with_extension("pub"), server.dir.join("authorized_keys"))
            .map_err(|e| format!("could not write authorized_keys: {e}"))?;
        server.launch()?;
        Ok(server)
    }

    fn host_key_path(&self) -> PathBuf {
        self.dir.join("host_ed25519")
    }

    /// The private key the server authorises.
    pub fn client_key_path(&self) -> PathBuf {
        self.dir.join("client_ed25519")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The loopback address the server listens on.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// A scratch directory that is removed with the server.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's host-key fingerprint, `SHA256:...`.
    pub fn host_key_fingerprint(&self) -> Result<String, String> {
        let key = russh::keys::load_public_key(self.host_key_path().with_extension("pub"))
            .map_err(|e| format!("could not read the test host key: {e}"))?;
        Ok(super::hostkey::fingerprint(&key))
    }

    /// Write a known_hosts file naming this server and return its path.
    pub fn known_hosts(&self) -> Result<PathBuf, String> {
        let public = std::fs::read_to_string(self.host_key_path().with_extension("pub"))
            .map_err(|e| format!("could not read the test host key: {e}"))?;
        let path = self.dir.join("known_hosts");
        std::fs::write(&path, format!("[{}]:{} {}", self.addr, self.port, public))
            .map_err(|e| format!("could not write known_hosts: {e}"))?;
        Ok(path)
    }

    /// Generate another client key (encrypted when `passphrase` is not empty), authorise it, and
    /// return its path: for tests of passphrases and of several users' keys.
    pub fn authorize_new_key(&self, name: &str, passphrase: &str) -> Result<PathBuf, String> {
        let path = self.dir.join(name);
        let _ = std::fs::remove_file(&path);
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", passphrase, "-C", "tarn-test", "-f"])
            .arg(&path))?;
        let public = std::fs::read_to_string(path.with_extension("pub")).map_err(|e| e.to_string())?;
        let authorized = self.dir.join("authorized_keys");
        let mut keys = std::fs::read_to_string(&authorized).map_err(|e| e.to_string())?;
        keys.push_str(&public);
        std::fs::write(&authorized, keys).map_err(|e| format!("could not write authorized_keys: {e}"))?;
        Ok(path)
    }

    /// A client configuration for this server under the given host-key policy.
    pub fn config(&self, policy: HostKeyPolicy) -> SshConfig {
        SshConfig::new(self.addr.to_string(), self.user.clone(), KeySource::File(self.client_key_path()))
            .with_port(self.port)
            .with_host_key(policy)
            .with_connect_timeout(Duration::from_secs(10))
    }

    /// Stop the server and start it again on the same port with a freshly generated host key.
    pub fn restart_with_new_host_key(&mut self) -> Result<(), String> {
        self.stop();
        keygen(&self.host_key_path())?;
        self.launch()
    }

    fn launch(&mut self) -> Result<(), String> {
        if self.port == 0 {
            let probe = std::net::TcpListener::bind((self.addr, 0)).map_err(|e| format!("no free port: {e}"))?;
            self.port = probe.local_addr().map_err(|e| e.to_string())?.port();
        }
        let config = self.dir.join("sshd_config");
        let text = format!(
            "Port {port}\nListenAddress {addr}\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPidFile none\n\
             UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n",
            port = self.port,
            addr = self.addr,
            hk = self.host_key_path().display(),
            ak = self.dir.join("authorized_keys").display(),
        );
        std::fs::write(&config, text).map_err(|e| format!("could not write sshd_config: {e}"))?;
        let log = std::fs::File::create(self.dir.join("sshd.log")).map_err(|e| e.to_string())?;
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("could not start {SSHD}: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::net::TcpStream::connect((self.addr, self.port)).is_ok() {
                return Ok(());
            }
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default();
                self.stop();
                return Err(format!("sshd did not start on {}:{}: {log}", self.addr, self.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
