//! Test harness (feature `testing`), for this crate's tests and the CLI's end-to-end tests: a
//! real sshd per "server" (`TestSshd`, each with its own Pond root) and a real Apache with PHP
//! per server on 127.0.0.1 (its own config file, ServerRoot, PidFile and virtual-host directory
//! in a temp dir, in its own process group, stopped when dropped), plain HTTP requests, and
//! build directories to deploy.
//!
//! It must never skip: a missing apache2 or mod_php fails with the command that installs it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tarn_sdk::Value;
use tarn_sdk::ssh::testing::TestSshd;

const APACHE: &str = "/usr/sbin/apache2";
const PHP_MODULE: &str = "/usr/lib/apache2/modules/libphp8.2.so";

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    probe.local_addr().expect("its address").port()
}

/// Whether tests run as root: Apache then runs its workers as www-data, the web user.
pub fn as_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// The web user and group the tests provision: www-data under root, else the current user.
pub fn web_user() -> (String, String) {
    if as_root() {
        return ("www-data".into(), "www-data".into());
    }
    let out = |args: &[&str]| {
        String::from_utf8_lossy(&Command::new("id").args(args).output().expect("id").stdout).trim().to_string()
    };
    (out(&["-un"]), out(&["-gn"]))
}

/// A real Apache 2 with mod_php, serving the virtual hosts in `vhost_dir`.
pub struct Apache {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Apache {
    pub fn start() -> Apache {
        for needed in [APACHE, PHP_MODULE] {
            assert!(
                Path::new(needed).exists(),
                "{needed} not found: install Apache and PHP with `apt-get install apache2 libapache2-mod-php php-cli rsync` (or run ./scripts/test.sh)"
            );
        }
        let dir = tempfile::Builder::new().prefix("tarn-pond-apache-").tempdir().expect("temp dir");
        let d = dir.path().display().to_string();
        std::fs::create_dir_all(dir.path().join("sites")).expect("vhost dir");
        // Apache workers (www-data under root) must reach the vhost files.
        Command::new("chmod").args(["755", &d]).status().expect("chmod");
        let port = free_port();
        let user = if as_root() { "User www-data\nGroup www-data\n" } else { "" };
        let m = "/usr/lib/apache2/modules";
        let conf = format!(
            "ServerRoot {d}\nPidFile {d}/httpd.pid\nDefaultRuntimeDir {d}\nMutex file:{d}\nListen 127.0.0.1:{port}\n\
             ServerName 127.0.0.1\n{user}ErrorLog {d}/error.log\nLogLevel warn\n\
             LoadModule mpm_prefork_module {m}/mod_mpm_prefork.so\nLoadModule authz_core_module {m}/mod_authz_core.so\n\
             LoadModule dir_module {m}/mod_dir.so\nLoadModule mime_module {m}/mod_mime.so\nLoadModule php_module {PHP_MODULE}\n\
             TypesConfig /etc/mime.types\nStartServers 1\nMinSpareServers 1\nMaxSpareServers 2\n\
             DirectoryIndex index.php index.html\n<FilesMatch \"\\.php$\">\n  SetHandler application/x-httpd-php\n</FilesMatch>\n\
             php_admin_flag opcache.enable Off\nIncludeOptional {d}/sites/*.conf\n"
        );
        std::fs::write(dir.path().join("httpd.conf"), conf).expect("httpd.conf");
        // Its own process group: Apache signals its whole group on restarts and stops, and the
        // test process must not be in it.
        let child = Command::new(APACHE)
            .process_group(0)
            .args(["-f", &format!("{d}/httpd.conf"), "-D", "FOREGROUND"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("apache2 starts");
        let apache = Apache { dir, port, child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "apache2 did not listen on {port}: {}", apache.error_log());
            std::thread::sleep(Duration::from_millis(50));
        }
        apache
    }

    pub fn vhost_dir(&self) -> String {
        self.dir.path().join("sites").display().to_string()
    }

    /// The reload command a server runs: a graceful restart through the pid file.
    pub fn reload_command(&self) -> String {
        format!("{APACHE} -f {}/httpd.conf -k graceful", self.dir.path().display())
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// GET / with this Host header; the body, or "HTTP <status>" when not 200. Retries briefly
    /// while a graceful restart replaces the workers.
    pub fn get(&self, host: &str) -> String {
        get_at(std::net::Ipv4Addr::LOCALHOST, self.port, host)
            .unwrap_or_else(|e| panic!("GET http://{host}/ on port {} failed: {e}\n{}", self.port, self.error_log()))
    }
}

/// GET / with this Host header from a web server at `addr:port` (the sandbox's, say): the body,
/// or "HTTP <status>" when not 200. Retries briefly while a graceful restart replaces workers.
pub fn get_at(addr: std::net::Ipv4Addr, port: u16, host: &str) -> Result<String, String> {
    let mut last = String::new();
    for _ in 0..40 {
        match http_get(addr, port, host) {
            Ok(body) => return Ok(body),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last)
}

fn http_get(addr: std::net::Ipv4Addr, port: u16, host: &str) -> Result<String, String> {
    let mut s = TcpStream::connect((addr, port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    write!(s, "GET / HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(|| format!("no HTTP answer: {raw:?}"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("?");
    if status == "200" { Ok(body.to_string()) } else { Ok(format!("HTTP {status}")) }
}

impl Drop for Apache {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: the parent stops its workers before it exits.
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One Pond server of a test: a real sshd, its Apache, its Pond root.
pub struct TestServer {
    pub sshd: TestSshd,
    pub apache: Apache,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_on(std::net::Ipv4Addr::LOCALHOST, 0)
    }

    /// A server whose sshd listens on another loopback address (127.0.0.2, …) and port (0: a
    /// free one): servers on distinct addresses can share a port, as droplets do port 22.
    pub fn start_on(addr: std::net::Ipv4Addr, port: u16) -> TestServer {
        let sshd = TestSshd::start_on(addr, port).unwrap_or_else(|e| panic!("sshd on {addr}: {e}"));
        let apache = Apache::start();
        TestServer { sshd, apache }
    }

    pub fn root(&self) -> PathBuf {
        self.sshd.dir().join("pond")
    }

    pub fn env_dir(&self, project: &str, name: &str) -> PathBuf {
        self.root().join("projects").join(project).join(name)
    }

    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.sshd.addr(), self.sshd.port())
    }

    /// The connection fields of this server (pinned host key).
    pub fn connection(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("host", Value::string(self.sshd.addr().to_string())),
            ("port", Value::number(f64::from(self.sshd.port()))),
            ("user", Value::string(self.sshd.user())),
            ("private_key_file", Value::string(self.sshd.client_key_path().display().to_string())),
            ("host_key_fingerprint", Value::string(self.sshd.host_key_fingerprint().unwrap())),
            ("root", Value::string(self.root().display().to_string())),
        ]
    }

    /// A `pond_server` configuration for this host, its Apache and web user.
    pub fn server_config(&self, reload_command: &str) -> Value {
        let (user, group) = web_user();
        let mut c = self.connection();
        c.extend([
            ("web_user", Value::string(user)),
            ("web_group", Value::string(group)),
            ("vhost_dir", Value::string(self.apache.vhost_dir())),
            ("reload_command", Value::string(reload_command)),
            ("http_port", Value::number(f64::from(self.apache.port))),
        ]);
        obj(&c)
    }
}

pub fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

pub fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::string(*s)).collect())
}

/// `value` with `key` set.
pub fn with(value: &Value, key: &str, v: Value) -> Value {
    let mut m = value.as_map().cloned().unwrap_or_default();
    m.insert(key.to_string(), v);
    Value::Map(m)
}

pub fn sh(script: &str) -> String {
    let out = Command::new("sh").args(["-c", script]).output().expect("sh");
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn readlink(p: &Path) -> String {
    std::fs::read_link(p).map(|t| t.display().to_string()).unwrap_or_else(|e| format!("<{e}>"))
}

/// A build directory: index.php printing its build, colour and the rendered greeting.
pub fn build_dir(parent: &Path, tag: &str) -> PathBuf {
    let dir = parent.join(format!("build-{tag}"));
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::create_dir_all(dir.join("node_modules/left-pad")).unwrap();
    std::fs::create_dir_all(dir.join("themes/demo")).unwrap();
    std::fs::write(
        dir.join("index.php"),
        format!("<?php $c = require __DIR__.'/config/app.php'; echo 'build {tag} ', $c['greeting'], ' ', basename(__DIR__);\n"),
    )
    .unwrap();
    // A developer's own config file: configuration files are never synced.
    std::fs::write(dir.join("config/app.php"), "<?php return ['greeting' => 'DEVELOPER CONFIG'];\n").unwrap();
    std::fs::write(dir.join("node_modules/left-pad/index.js"), "module.exports = 1;\n").unwrap();
    std::fs::write(dir.join("themes/demo/layout.htm"), format!("layout {tag}\n")).unwrap();
    std::fs::write(dir.join(".pondignore"), "# not deployed\nnode_modules/\n*.log\n").unwrap();
    std::fs::write(dir.join("debug.log"), "noise\n").unwrap();
    sh(&format!("chmod -R a+rX {}", dir.display()));
    dir
}
