//! Test harness (feature `testing`): a real OpenSSH server on 127.0.0.1 in front of the real
//! podman of this machine, as a VSN. Images are built offline from Debian's busybox-static
//! (`podman import` of a small root tree), since no registry is reachable.
//!
//! Owns a podman configuration file passed through `CONTAINERS_CONF` (runc, cgroupfs and the
//! ulimits that make podman 4.3 work as root here, without touching /etc), a data root and
//! unique image and container names per harness. It never skips: missing podman, runc or
//! busybox-static is an error naming the install command. Dropping it removes every container
//! and image it made (by name prefix), the data root, and stops sshd. [`checksums`] lists a data
//! directory with SHA-256 computed here, to check a migration independently of the provider.
//! [`smtp::SmtpSink`] receives the alert mail the real `mutt` sends.

pub mod dockerd;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::process::Command;

use tarn_sdk::ssh::testing::TestSshd;

pub const INSTALL: &str = "apt-get install -y podman runc busybox-static (or run ./scripts/test.sh)";

pub const CONTAINERS_CONF: &str = crate::config::LOCAL_CONTAINERS_CONF;

/// The real mutt, for alert mail; an error naming the install command when it is missing.
pub fn mutt() -> Result<&'static str, String> {
    if Path::new("/usr/bin/mutt").exists() {
        Ok("/usr/bin/mutt")
    } else {
        Err("mutt not found at /usr/bin/mutt: install it with `apt-get install -y mutt` (or run ./scripts/test.sh)"
            .into())
    }
}

/// A VSN for tests.
pub struct TestVsn {
    pub sshd: TestSshd,
    /// Prefix of every container and image name this harness makes.
    pub prefix: String,
    pub data_root: PathBuf,
    pub conf: PathBuf,
    images: Vec<String>,
    /// The Docker engine this VSN runs, when it is a Docker VSN; podman otherwise.
    docker: Option<dockerd::TestDockerd>,
}

/// Which engine a harness VSN runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Podman,
    Docker,
}

fn check_installed() -> Result<(), String> {
    for (what, path) in [("podman", "/usr/bin/podman"), ("runc", "/usr/sbin/runc"), ("busybox-static", "/bin/busybox")]
    {
        if !Path::new(path).exists() {
            return Err(format!("{what} not found at {path}: install it with `{INSTALL}`"));
        }
    }
    Ok(())
}

impl TestVsn {
    pub fn start() -> Result<TestVsn, String> {
        check_installed()?;
        let sshd = TestSshd::start()?;
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("tarnvsn{}x{n}", std::process::id());
        let conf = sshd.dir().join("containers.conf");
        std::fs::write(&conf, CONTAINERS_CONF).map_err(|e| e.to_string())?;
        let data_root = sshd.dir().join("data");
        Ok(TestVsn { sshd, prefix, data_root, conf, images: Vec::new(), docker: None })
    }

    /// A VSN whose engine is `engine`: for Docker, a real dockerd of its own (dockerd.rs).
    pub fn start_with(engine: Engine) -> Result<TestVsn, String> {
        let mut vsn = TestVsn::start()?;
        if engine == Engine::Docker {
            vsn.docker = Some(dockerd::TestDockerd::start(&vsn.sshd.dir().join("docker"))?);
        }
        Ok(vsn)
    }

    pub fn engine_kind(&self) -> Engine {
        if self.docker.is_some() { Engine::Docker } else { Engine::Podman }
    }

    /// Runs this VSN's engine here (podman with the harness's configuration, or the harness's
    /// dockerd); stdout on success.
    pub fn engine(&self, args: &[&str]) -> Result<String, String> {
        match &self.docker {
            Some(d) => d.docker(args),
            None => self.podman(args),
        }
    }

    /// Removes a container at once, whatever the engine.
    pub fn remove_container(&self, name: &str) -> Result<(), String> {
        self.engine(&["rm", "-f", name]).map(|_| ())
    }

    /// Runs podman here, with the harness's configuration; stdout on success.
    pub fn podman(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("podman")
            .env("CONTAINERS_CONF", &self.conf)
            .args(args)
            .output()
            .map_err(|e| format!("could not run podman: {e}; install it with `{INSTALL}`"))?;
        if !out.status.success() {
            return Err(format!("podman {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// A container or image name unique to this harness.
    pub fn name(&self, base: &str) -> String {
        format!("{}-{base}", self.prefix)
    }

    /// Builds image `localhost/<prefix>-<base>:<tag>` from busybox plus `files` (path, content),
    /// and returns its reference.
    pub fn image(&mut self, base: &str, tag: &str, files: &[(&str, &str)]) -> Result<String, String> {
        let root = self.sshd.dir().join(format!("rootfs-{base}-{tag}"));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["bin", "tmp", "etc", "data", "proc", "sys", "dev"] {
            std::fs::create_dir_all(root.join(d)).map_err(|e| e.to_string())?;
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox"))
            .map_err(|e| format!("copy busybox: {e}; install it with `{INSTALL}`"))?;
        let list = Command::new("/bin/busybox").arg("--list").output().map_err(|e| e.to_string())?;
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" {
                let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
            }
        }
        for (path, content) in files {
            let p = root.join(path.trim_start_matches('/'));
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&p, content).map_err(|e| e.to_string())?;
        }
        let tar = self.sshd.dir().join(format!("{base}-{tag}.tar"));
        let status = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("tar failed".into());
        }
        let reference = format!("localhost/{}-{base}:{tag}", self.prefix);
        self.engine(&[
            "import",
            "--change",
            "ENV PATH=/bin",
            "--change",
            "CMD [\"sh\"]",
            &tar.to_string_lossy(),
            &reference,
        ])?;
        self.images.push(reference.clone());
        Ok(reference)
    }

    /// Saves an image to an archive file on this machine (for `image_archive` tests).
    pub fn save(&self, reference: &str, file: &Path) -> Result<(), String> {
        self.engine(&["save", "-o", &file.to_string_lossy(), reference]).map(|_| ())
    }

    /// Forgets an image (so only an archive can bring it back).
    pub fn remove_image(&self, reference: &str) -> Result<(), String> {
        self.engine(&["rmi", "-f", reference]).map(|_| ())
    }

    /// The provider block (HCL) for this VSN, pinned to the server's host key.
    pub fn provider_block(&self, alias: Option<&str>) -> Result<String, String> {
        let alias = alias.map(|a| format!("  alias = \"{a}\"\n")).unwrap_or_default();
        Ok(format!(
            "provider \"vsn\" {{\n{alias}  host = \"127.0.0.1\"\n  port = {port}\n  user = \"{user}\"\n  private_key_file = \"{key}\"\n  host_key_fingerprint = \"{fp}\"\n{engine}  data_root = \"{root}\"\n  env = {{ {k} = \"{v}\" }}\n}}\n",
            port = self.sshd.port(),
            user = self.sshd.user(),
            key = self.sshd.client_key_path().display(),
            fp = self.sshd.host_key_fingerprint()?,
            engine = match &self.docker {
                Some(_) => format!("  engine = \"{}\"\n", dockerd::DOCKER),
                None => String::new(),
            },
            root = self.data_root.display(),
            k = self.engine_env().0,
            v = self.engine_env().1,
        ))
    }

    /// The provider configuration as a value, for driving the provider directly.
    pub fn provider_config(&self) -> Result<tarn_sdk::Value, String> {
        use tarn_sdk::Value;
        Ok(Value::map([
            ("host", Value::string("127.0.0.1")),
            ("port", Value::number(self.sshd.port())),
            ("user", Value::string(self.sshd.user())),
            ("private_key_file", Value::string(self.sshd.client_key_path().display().to_string())),
            ("host_key_fingerprint", Value::string(self.sshd.host_key_fingerprint()?)),
            ("data_root", Value::string(self.data_root.display().to_string())),
            ("env", Value::map([(self.engine_env().0, Value::string(self.engine_env().1))])),
            ("engine", Value::string(if self.docker.is_some() { dockerd::DOCKER } else { "podman" })),
        ]))
    }

    /// The one environment variable the provider sets for engine commands: podman's
    /// configuration file, or the harness dockerd's socket.
    fn engine_env(&self) -> (&'static str, String) {
        match &self.docker {
            Some(d) => ("DOCKER_HOST", d.host()),
            None => ("CONTAINERS_CONF", self.conf.display().to_string()),
        }
    }

    /// Names of this harness's containers, sorted.
    pub fn containers(&self) -> Vec<String> {
        let out = self.engine(&["ps", "-a", "--format", "{{.Names}}"]).unwrap_or_default();
        let mut names: Vec<String> = out.lines().filter(|n| n.starts_with(&self.prefix)).map(str::to_string).collect();
        names.sort();
        names
    }
}

impl Drop for TestVsn {
    fn drop(&mut self) {
        // REST containers first: the host cannot go while others share its network.
        for _ in 0..2 {
            for name in self.containers() {
                let _ = self.remove_container(&name);
            }
        }
        for image in &self.images {
            let _ = self.engine(&["rmi", "-f", image]);
        }
        // The daemon stops before sshd's directory, which holds its data, goes.
        drop(self.docker.take());
    }
}

/// Every entry under `dir` (itself as ""): kind and mode, and the SHA-256 of a file (computed
/// here, not by the provider) or a symlink's target.
pub fn checksums(dir: &Path) -> std::collections::BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
        let mode = meta.permissions().mode() & 0o7777;
        let entry = if meta.file_type().is_symlink() {
            format!("link -> {}", std::fs::read_link(&p).map(|t| t.display().to_string()).unwrap_or_default())
        } else if meta.is_dir() {
            let children = std::fs::read_dir(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            todo.extend(children.filter_map(Result::ok).map(|e| e.path()));
            format!("dir {mode:o}")
        } else {
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let hash = Sha256::digest(data);
            format!("file {mode:o} {}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
        };
        out.insert(rel, entry);
    }
    out
}
