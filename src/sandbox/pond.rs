//! Pond under `--sandbox`: the local servers the DigitalOcean emulator's droplets lead to.
//!
//! When a sandboxed run configures the `pond` provider, this starts one "server" per droplet
//! address (127.0.100.1, 127.0.100.2, …: all of 127.0.0.0/8 is loopback; two by default,
//! `TARN_SANDBOX_POND_SERVERS` for more): a real sshd with its own host key, and a private
//! Apache with PHP listening on that address, each with its own Pond root and virtual-host
//! directory under `.tarn/sandbox/pond/web<N>/`. The DigitalOcean emulator hands those addresses
//! to new droplets (its `/__sim/droplet_addresses` pool), and the pond provider's
//! `host_overrides` leads each address to its sshd (its port, the sandbox's client key, and its
//! host key pinned by fingerprint: nothing is trusted on first use) and gives the server its
//! paths, web port and reload command. Keys, ports and roots persist between runs, like the
//! emulators' objects, so the state stays true; the processes stop when the run ends. A web
//! server already running (`tarn sim serve --provider pond`, to browse between runs) is used
//! and left running.
//!
//! When `TARN_SIM_DIGITALOCEAN_DROPLET_ADDRESSES` is set, droplets lead to the user's own hosts
//! and nothing is started. It never touches the machine's own Apache, /var/www or /etc, and
//! installs no packages: a missing one fails with the command that installs it.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tarn_sdk::Value;

use super::sshd::{Process, SSHD, fingerprint, free_port, is_root, key, listening, run};

const APACHE: &str = "/usr/sbin/apache2";
const MODULES: &str = "/usr/lib/apache2/modules";
const INSTALL: &str = "apt-get install openssh-server apache2 libapache2-mod-php php-cli rsync";
/// The environment variable naming how many servers to run.
pub const SERVERS_ENV: &str = "TARN_SANDBOX_POND_SERVERS";
const DEFAULT_SERVERS: usize = 2;

/// One local server: its address and ports, kept in `.tarn/sandbox/pond/servers.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    address: Ipv4Addr,
    ssh_port: u16,
    http_port: u16,
}

/// The sandbox's Pond servers.
#[derive(Default)]
pub struct Services {
    started: tokio::sync::Mutex<Option<Started>>,
}

struct Started {
    overrides: Vec<(String, Value)>,
    processes: Vec<Process>,
}

/// Where the sandbox keeps its Pond servers (absolute: it goes into their configuration).
fn home() -> Result<PathBuf, String> {
    let dir = super::dir().join("pond");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::canonicalize(&dir).map_err(|e| format!("cannot resolve {}: {e}", dir.display()))
}

fn php_module() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(MODULES)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libphp") && n.ends_with(".so"))
        })
        .collect();
    found.sort();
    found.pop()
}

/// The servers' addresses and ports: those recorded, then new ones up to `count`.
fn slots(home: &Path, count: usize) -> Result<Vec<Slot>, String> {
    let path = home.join("servers.json");
    let mut slots: Vec<Slot> = match std::fs::read_to_string(&path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| format!("{} is damaged ({e}); delete it", path.display()))?
        }
        Err(_) => Vec::new(),
    };
    while slots.len() < count {
        let address = Ipv4Addr::new(127, 0, 100, slots.len() as u8 + 1);
        slots.push(Slot { address, ssh_port: free_port(address)?, http_port: free_port(address)? });
    }
    let text = serde_json::to_string_pretty(&slots).unwrap_or_default();
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(slots)
}

/// Under root, Apache's workers run as www-data: every directory above the Pond root must let
/// others in, or the sites answer 403.
fn check_reachable(root: &Path) -> Result<(), String> {
    for dir in root.ancestors() {
        let mode = std::fs::metadata(dir).map(|m| m.permissions().mode()).unwrap_or(0o755);
        if mode & 0o001 == 0 {
            return Err(format!(
                "the web server runs as www-data, which cannot enter {} (mode {:o}): run the sandbox from a directory others may enter, or `chmod o+x {}`",
                dir.display(),
                mode & 0o777,
                dir.display()
            ));
        }
    }
    Ok(())
}

fn apache_conf(dir: &Path, slot: &Slot, php: &Path) -> String {
    let d = dir.display();
    let user = if is_root() { "User www-data\nGroup www-data\n" } else { "" };
    let m = MODULES;
    format!(
        "ServerRoot {d}\nPidFile {d}/httpd.pid\nDefaultRuntimeDir {d}\nMutex file:{d}\nListen {addr}:{port}\n\
         ServerName {addr}\n{user}ErrorLog {d}/error.log\nLogLevel warn\n\
         LoadModule mpm_prefork_module {m}/mod_mpm_prefork.so\nLoadModule authz_core_module {m}/mod_authz_core.so\n\
         LoadModule dir_module {m}/mod_dir.so\nLoadModule mime_module {m}/mod_mime.so\nLoadModule php_module {php}\n\
         TypesConfig /etc/mime.types\nStartServers 1\nMinSpareServers 1\nMaxSpareServers 2\n\
         DirectoryIndex index.php index.html\n<FilesMatch \"\\.php$\">\n  SetHandler application/x-httpd-php\n</FilesMatch>\n\
         php_admin_flag opcache.enable Off\nIncludeOptional {d}/sites/*.conf\n",
        addr = slot.address,
        port = slot.http_port,
        php = php.display(),
    )
}

/// Starts the server's Apache unless it already runs (then `None`: not ours to stop).
fn start_apache(dir: &Path, slot: &Slot, php: &Path) -> Result<Option<Process>, String> {
    std::fs::create_dir_all(dir.join("sites")).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(dir.join("httpd.conf"), apache_conf(dir, slot, php)).map_err(|e| e.to_string())?;
    if listening(slot.address, slot.http_port) && dir.join("httpd.pid").exists() {
        return Ok(None);
    }
    // Its own process group: Apache signals its whole group on restarts and stops.
    let child = Command::new(APACHE)
        .process_group(0)
        .arg("-f")
        .arg(dir.join("httpd.conf"))
        .args(["-D", "FOREGROUND"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {APACHE}: {e}"))?;
    let mut process = Process { what: format!("apache2 on {}:{}", slot.address, slot.http_port), child };
    let ports = dir.parent().and_then(Path::parent).unwrap_or(dir).join("servers.json");
    super::sshd::wait_listening(&mut process, slot.address, slot.http_port, &dir.join("error.log"), &ports)?;
    Ok(Some(process))
}

/// Where each server's files live.
fn server_dir(home: &Path, i: usize) -> PathBuf {
    home.join(format!("web{}", i + 1))
}

/// Web servers `start_web` started; dropping it stops them.
pub struct Web {
    _processes: Vec<Process>,
}

/// The servers' web servers only: what `tarn sim serve --provider pond` keeps running, so the
/// sites can be browsed between runs. One line per server: name and URL.
pub fn start_web() -> Result<(Vec<String>, Web), String> {
    let home = home()?;
    let php = php_module().ok_or_else(|| format!("PHP for Apache is not installed: {INSTALL}"))?;
    let mut lines = Vec::new();
    let mut processes = Vec::new();
    for (i, slot) in slots(&home, count())?.iter().enumerate() {
        let dir = server_dir(&home, i);
        if let Some(p) = start_apache(&dir.join("apache"), slot, &php)? {
            processes.push(p);
        }
        lines.push(format!("pond\tweb{}\thttp://{}:{}/", i + 1, slot.address, slot.http_port));
    }
    Ok((lines, Web { _processes: processes }))
}

fn count() -> usize {
    std::env::var(SERVERS_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=200).contains(n))
        .unwrap_or(DEFAULT_SERVERS)
}

/// The servers of a run, as `start_all` leaves them.
struct Servers {
    /// The pond provider's `host_overrides`.
    hosts: Value,
    processes: Vec<Process>,
    /// What to tell the user, a line per server.
    told: Vec<String>,
    addresses: Vec<Ipv4Addr>,
}

/// Starts every server.
fn start_all() -> Result<Servers, String> {
    for needed in [SSHD, APACHE] {
        if !Path::new(needed).exists() {
            return Err(format!("{needed} is not installed: {INSTALL}"));
        }
    }
    let php = php_module().ok_or_else(|| format!("PHP for Apache is not installed: {INSTALL}"))?;
    let home = home()?;
    let root_user = is_root();
    if root_user {
        check_reachable(&home)?;
    }
    let client = home.join("id_ed25519");
    key(&client, "tarn-sandbox")?;
    let (user, web_user, web_group) = if root_user {
        ("root".to_string(), "www-data".to_string(), "www-data".to_string())
    } else {
        let user = run(Command::new("id").arg("-un"))?;
        (user.clone(), user, run(Command::new("id").arg("-gn"))?)
    };
    let mut processes = Vec::new();
    let mut overrides = Vec::new();
    let mut told = Vec::new();
    let mut addresses = Vec::new();
    for (i, slot) in slots(&home, count())?.iter().enumerate() {
        let dir = server_dir(&home, i);
        let (root, apache) = (dir.join("pond"), dir.join("apache"));
        std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        let client_public = client.with_extension("pub");
        processes.push(super::sshd::start(
            &dir,
            slot.address,
            slot.ssh_port,
            &client_public,
            &home.join("servers.json"),
        )?);
        processes.extend(start_apache(&apache, slot, &php)?);
        let fp = fingerprint(&dir.join("ssh_host_ed25519_key.pub"))?;
        let reload = format!("{APACHE} -f {} -k graceful", apache.join("httpd.conf").display());
        let install = format!(
            "echo 'the sandbox installs no packages: install {{{{packages}}}} on this machine ({INSTALL})' >&2; exit 1"
        );
        overrides.push((
            slot.address.to_string(),
            Value::map([
                ("port", Value::number(f64::from(slot.ssh_port))),
                ("user", Value::string(user.clone())),
                ("private_key_file", Value::string(client.display().to_string())),
                ("host_key_fingerprint", Value::string(fp.clone())),
                ("root", Value::string(root.display().to_string())),
                ("vhost_dir", Value::string(apache.join("sites").display().to_string())),
                ("reload_command", Value::string(reload)),
                ("http_port", Value::number(f64::from(slot.http_port))),
                ("web_user", Value::string(web_user.clone())),
                ("web_group", Value::string(web_group.clone())),
                ("package_install_command", Value::string(install)),
            ]),
        ));
        told.push(format!(
            "Sandbox: Pond server web{n} at {a}: sshd on port {s} (host key {fp}, pinned), web server http://{a}:{h}/ (files in {d}).",
            n = i + 1,
            a = slot.address,
            s = slot.ssh_port,
            h = slot.http_port,
            d = dir.display()
        ));
        addresses.push(slot.address);
    }
    Ok(Servers { hosts: Value::map(overrides), processes, told, addresses })
}

/// Points the DigitalOcean emulator's new droplets at the servers (`PUT` on its admin route;
/// plain HTTP/1.1 on loopback, so no client library is needed).
async fn lead_droplets(emulator: SocketAddr, addresses: &[Ipv4Addr]) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let path = tarn_provider_digitalocean::emulator::ADDRESSES_PATH;
    let body =
        serde_json::json!({ "addresses": addresses.iter().map(ToString::to_string).collect::<Vec<_>>() }).to_string();
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: {emulator}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let fail = |e: std::io::Error| format!("PUT http://{emulator}{path}: {e}");
    let mut stream = tokio::net::TcpStream::connect(emulator).await.map_err(fail)?;
    stream.write_all(request.as_bytes()).await.map_err(fail)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.map_err(fail)?;
    match answer.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        _ => Err(format!("PUT http://{emulator}{path} answered {:?}", answer.lines().next().unwrap_or(""))),
    }
}

#[async_trait]
impl super::LocalServices for Services {
    async fn start(&self, emulators: &BTreeMap<String, SocketAddr>) -> Result<Vec<(String, Value)>, String> {
        let mut started = self.started.lock().await;
        if let Some(s) = started.as_ref() {
            return Ok(s.overrides.clone());
        }
        let env = tarn_provider_digitalocean::emulator::ADDRESSES_ENV;
        if std::env::var_os(env).is_some() {
            eoutln!("Sandbox: {env} is set, so droplets lead to your own hosts: no local Pond servers are started.");
            *started = Some(Started { overrides: Vec::new(), processes: Vec::new() });
            return Ok(Vec::new());
        }
        let Servers { hosts, processes, told, addresses } = tokio::task::spawn_blocking(start_all)
            .await
            .map_err(|e| format!("starting the servers panicked: {e}"))??;
        // From here on, dropping `processes` stops them, whatever fails next.
        let s = Started { overrides: vec![("host_overrides".to_string(), hosts)], processes };
        if let Some(&emulator) = emulators.get("digitalocean") {
            lead_droplets(emulator, &addresses).await?;
        }
        for line in told {
            eoutln!("{line}");
        }
        let overrides = s.overrides.clone();
        *started = Some(s);
        Ok(overrides)
    }

    async fn stop(&self) {
        let taken = self.started.lock().await.take();
        if let Some(s) = taken {
            let n = s.processes.len();
            let names: Vec<String> = s.processes.iter().map(|p| p.what.clone()).collect();
            let _ = tokio::task::spawn_blocking(move || drop(s)).await;
            if n > 0 {
                eoutln!("Sandbox: stopped {}.", names.join(", "));
            }
        }
    }
}
