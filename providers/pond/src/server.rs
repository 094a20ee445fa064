//! `pond_server`: a host made a Pond server (the seed's "Operations required to provision a
//! droplet"), idempotently: missing packages installed through the configured command, the web
//! user and group created when missing, `<root>/projects`, the server settings file
//! `<root>/server.json` (virtual-host templates, where they go, how to reload), the environment
//! variables file, and the post-provision scripts.
//!
//! The settings file is what environments read on each server, so a server carries its own Pond
//! configuration (the seed's "What a server knows about Pond"). Read reports it gone when the
//! file is gone. Delete removes only Pond's server files: never packages, users, nor the
//! environments under `projects/` (they are resources of their own).

use std::collections::BTreeMap;

use crate::conn::Reach;
use serde_json::json;
use tarn_sdk::{ProviderError, Value};

use crate::conn::{Conn, Host, q};
use crate::template::render;

pub const DEFAULT_PACKAGES: &[&str] = &["apache2", "libapache2-mod-php", "php-cli", "rsync"];
pub const DEFAULT_CHECK: &str = "dpkg-query -W -f='${Status}' {{package}} 2>/dev/null | grep -q 'install ok installed'";
pub const DEFAULT_INSTALL: &str = "DEBIAN_FRONTEND=noninteractive apt-get install -y {{packages}}";
pub const DEFAULT_VHOST_DIR: &str = "/etc/apache2/sites-enabled";
pub const DEFAULT_RELOAD: &str = "apache2ctl graceful";

pub const DEFAULT_LIVE_VHOST: &str = "# Managed by tarn: the live site of {{project}}/{{environment}}.
<VirtualHost *:{{http_port}}>
    ServerName {{server_name}}
    DocumentRoot {{document_root}}
    <Directory {{document_root}}>
        Options FollowSymLinks
        AllowOverride All
        Require all granted
    </Directory>
</VirtualHost>
";

pub const DEFAULT_COLOUR_VHOST: &str = "# Managed by tarn: the {{colour}} colour of {{project}}/{{environment}}.
<VirtualHost *:{{http_port}}>
    ServerName {{server_name}}
    DocumentRoot {{document_root}}
    <Directory {{document_root}}>
        Options FollowSymLinks
        AllowOverride All
        Require all granted
    </Directory>
</VirtualHost>
";

/// The server's settings as environments need them; the content of `<root>/server.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub web_user: String,
    pub web_group: String,
    pub vhost_dir: String,
    pub reload_command: String,
    pub http_port: u16,
    pub live_vhost_template: String,
    pub colour_vhost_template: String,
}

fn text(v: &Value, key: &str, default: &str) -> String {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or(default).to_string()
}

impl Settings {
    fn from_config(v: &Value) -> Result<Settings, ProviderError> {
        let port = v.get("http_port").and_then(Value::as_f64).unwrap_or(80.0);
        if !(1.0..=65535.0).contains(&port) || port.fract() != 0.0 {
            return Err(ProviderError::permanent(format!("pond_server: \"http_port\" must be a TCP port, not {port}")));
        }
        Ok(Settings {
            web_user: text(v, "web_user", "www-data"),
            web_group: text(v, "web_group", "www-data"),
            vhost_dir: text(v, "vhost_dir", DEFAULT_VHOST_DIR).trim_end_matches('/').to_string(),
            reload_command: text(v, "reload_command", DEFAULT_RELOAD),
            http_port: port as u16,
            live_vhost_template: text(v, "live_vhost_template", DEFAULT_LIVE_VHOST),
            colour_vhost_template: text(v, "colour_vhost_template", DEFAULT_COLOUR_VHOST),
        })
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "format": 1,
            "web_user": self.web_user,
            "web_group": self.web_group,
            "vhost_dir": self.vhost_dir,
            "reload_command": self.reload_command,
            "http_port": self.http_port,
            "live_vhost_template": self.live_vhost_template,
            "colour_vhost_template": self.colour_vhost_template,
        })
    }

    fn from_json(j: &serde_json::Value) -> Option<Settings> {
        let s = |k: &str| j.get(k).and_then(serde_json::Value::as_str).map(str::to_string);
        Some(Settings {
            web_user: s("web_user")?,
            web_group: s("web_group")?,
            vhost_dir: s("vhost_dir")?,
            reload_command: s("reload_command")?,
            http_port: j.get("http_port")?.as_u64()? as u16,
            live_vhost_template: s("live_vhost_template")?,
            colour_vhost_template: s("colour_vhost_template")?,
        })
    }

    /// Reads `<root>/server.json`; `None` when the host is not (or no longer) a Pond server.
    pub async fn load(host: &Host) -> Result<Option<Settings>, ProviderError> {
        let path = format!("{}/server.json", host.conn.root);
        let out = host.try_run(&format!("cat {} 2>/dev/null || echo tarn-pond-absent", q(&path))).await?;
        if out.stdout.trim() == "tarn-pond-absent" {
            return Ok(None);
        }
        let parsed: serde_json::Value = serde_json::from_str(&out.stdout).map_err(|e| {
            ProviderError::permanent(format!(
                "{path} on {} is not valid JSON ({e}); re-apply its pond_server",
                host.conn.describe()
            ))
        })?;
        Settings::from_json(&parsed).map(Some).ok_or_else(|| {
            ProviderError::permanent(format!(
                "{path} on {} lacks Pond's settings; re-apply its pond_server",
                host.conn.describe()
            ))
        })
    }
}

fn list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_list)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn conn_of(v: &Value) -> Result<Conn, ProviderError> {
    let key = v.get("private_key").and_then(Value::as_str);
    let recorded = v.get("host_key").and_then(Value::as_str);
    Conn::parse(v, key, recorded, "pond_server")
}

/// The object with every computed attribute filled from the configuration's defaults.
fn with_defaults(planned: &Value, conn: &Conn, settings: &Settings, host_key: &str) -> Value {
    let mut m = planned.as_map().cloned().unwrap_or_default();
    let packages = match planned.get("packages").and_then(Value::as_list) {
        Some(l) => l.to_vec(),
        None => DEFAULT_PACKAGES.iter().map(|p| Value::string(*p)).collect(),
    };
    m.insert("root".into(), Value::string(conn.root.clone()));
    m.insert("packages".into(), Value::List(packages));
    m.insert("package_check_command".into(), Value::string(text(planned, "package_check_command", DEFAULT_CHECK)));
    m.insert(
        "package_install_command".into(),
        Value::string(text(planned, "package_install_command", DEFAULT_INSTALL)),
    );
    m.insert("web_user".into(), Value::string(settings.web_user.clone()));
    m.insert("web_group".into(), Value::string(settings.web_group.clone()));
    m.insert("vhost_dir".into(), Value::string(settings.vhost_dir.clone()));
    m.insert("reload_command".into(), Value::string(settings.reload_command.clone()));
    m.insert("http_port".into(), Value::number(f64::from(settings.http_port)));
    m.insert("live_vhost_template".into(), Value::string(settings.live_vhost_template.clone()));
    m.insert("colour_vhost_template".into(), Value::string(settings.colour_vhost_template.clone()));
    m.insert("id".into(), Value::string(format!("{}:{}", conn.describe(), conn.root)));
    m.insert("host_key".into(), Value::string(host_key));
    let opt = |s: Option<&str>| s.map(Value::string).unwrap_or(Value::Null);
    let known_hosts = planned.get("known_hosts_file").and_then(Value::as_str);
    m.insert(
        "connection".into(),
        Value::map([
            ("host", Value::string(conn.ssh.host.clone())),
            ("port", Value::number(f64::from(conn.ssh.port))),
            ("user", Value::string(conn.ssh.user.clone())),
            ("private_key_file", opt(conn.key_file.as_deref())),
            // A known_hosts file is the policy when given; otherwise the key seen is pinned.
            ("host_key_fingerprint", if known_hosts.is_some() { Value::Null } else { Value::string(host_key) }),
            ("known_hosts_file", opt(known_hosts)),
            ("root", Value::string(conn.root.clone())),
        ]),
    );
    Value::Map(m)
}

/// Installs what is missing, creates the web user and group, writes the settings; runs the
/// post-provision scripts when `run_scripts`.
async fn provision(pool: &Reach, planned: &Value, run_scripts: bool) -> Result<Value, ProviderError> {
    let host = Host::connect(pool, conn_of(planned)?).await?;
    let conn = host.conn.clone();
    let planned = &host.with_overrides(planned);
    let settings = Settings::from_config(planned)?;
    let mut packages = match planned.get("packages").and_then(Value::as_list) {
        Some(_) => list(planned, "packages"),
        None => DEFAULT_PACKAGES.iter().map(|s| s.to_string()).collect(),
    };
    if let Some(db) = planned.get("database").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        packages.push(db.to_string());
    }
    ensure_packages(&host, planned, &packages).await?;
    ensure_web_user(&host, &settings).await?;

    let root = &conn.root;
    let projects = format!("{root}/projects");
    let made = host.try_run(&format!("mkdir -p {p} {r}/scripts", p = q(&projects), r = q(root))).await?;
    if !made.success() {
        // Under /var/www a deploy user cannot create the tree: root makes it and hands it over.
        host.run_privileged(&format!(
            "mkdir -p {p} {r}/scripts && chown {u} {r} {p} {r}/scripts",
            p = q(&projects),
            r = q(root),
            u = q(&conn.ssh.user)
        ))
        .await?;
    }
    let body = serde_json::to_vec_pretty(&settings.to_json()).unwrap_or_default();
    host.session.upload_bytes(&body, &format!("{root}/server.json"), 0o644).await?;
    let env: BTreeMap<String, String> = planned
        .get("environment_variables")
        .and_then(Value::as_map)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default();
    for k in env.keys() {
        if k.is_empty()
            || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || k.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(ProviderError::permanent(format!(
                "pond_server: environment variable name \"{k}\" is not a shell variable name"
            )));
        }
    }
    let env_file: String = env.iter().map(|(k, v)| format!("export {k}={}\n", q(v))).collect();
    host.session.upload_bytes(env_file.as_bytes(), &format!("{root}/environment"), 0o600).await?;

    if run_scripts {
        for (i, script) in list(planned, "post_provision_scripts").iter().enumerate() {
            let path = format!("{root}/scripts/post-provision-{i}.sh");
            host.session.upload_bytes(script.as_bytes(), &path, 0o700).await?;
            host.run(&format!(
                "cd {r} && set -a && . ./environment && set +a && bash -e {p}",
                r = q(root),
                p = q(&path)
            ))
            .await
            .map_err(|e| {
                ProviderError::permanent(format!(
                    "post-provision script {} on {} failed: {}",
                    i + 1,
                    conn.describe(),
                    e.message
                ))
            })?;
        }
    }
    Ok(with_defaults(planned, &conn, &settings, host.session.host_key_fingerprint()))
}

async fn ensure_packages(host: &Host, planned: &Value, packages: &[String]) -> Result<(), ProviderError> {
    let check = text(planned, "package_check_command", DEFAULT_CHECK);
    let missing = |packages: &[String]| -> Result<String, ProviderError> {
        let mut script = String::new();
        for p in packages {
            let vars = BTreeMap::from([("package".to_string(), q(p))]);
            let cmd = render(&check, &vars, "package_check_command").map_err(ProviderError::permanent)?;
            script.push_str(&format!("( {cmd} ) >/dev/null 2>&1 || echo {}\n", q(p)));
        }
        Ok(script)
    };
    let out = host.run(&missing(packages)?).await?;
    let absent: Vec<String> = out.stdout.lines().map(str::to_string).filter(|l| !l.is_empty()).collect();
    if absent.is_empty() {
        return Ok(());
    }
    let install = text(planned, "package_install_command", DEFAULT_INSTALL);
    let vars = BTreeMap::from([("packages".to_string(), absent.iter().map(|p| q(p)).collect::<Vec<_>>().join(" "))]);
    let cmd = render(&install, &vars, "package_install_command").map_err(ProviderError::permanent)?;
    host.run_privileged(&cmd).await.map_err(|e| {
        ProviderError::permanent(format!(
            "installing {} on {} failed: {}",
            absent.join(", "),
            host.conn.describe(),
            e.message
        ))
    })?;
    let still = host.run(&missing(&absent)?).await?;
    if !still.stdout.trim().is_empty() {
        return Err(ProviderError::permanent(format!(
            "on {}, `{cmd}` succeeded but the check still finds missing: {}",
            host.conn.describe(),
            still.stdout.split_whitespace().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(())
}

async fn ensure_web_user(host: &Host, s: &Settings) -> Result<(), ProviderError> {
    let (u, g) = (q(&s.web_user), q(&s.web_group));
    let out = host
        .run(&format!("getent group {g} >/dev/null || echo no-group; getent passwd {u} >/dev/null || echo no-user"))
        .await?;
    let mut script = Vec::new();
    if out.stdout.contains("no-group") {
        script.push(format!("groupadd --system {g}"));
    }
    if out.stdout.contains("no-user") {
        script.push(format!("useradd --system --gid {g} --no-create-home --shell /usr/sbin/nologin {u}"));
    }
    if !script.is_empty() {
        host.run_privileged(&script.join(" && ")).await?;
    }
    Ok(())
}

pub async fn create(pool: &Reach, planned: Value) -> Result<Value, ProviderError> {
    provision(pool, &planned, true).await
}

pub async fn update(pool: &Reach, prior: Value, planned: Value) -> Result<Value, ProviderError> {
    let scripts_changed = prior.get("post_provision_scripts") != planned.get("post_provision_scripts");
    let mut planned = planned;
    if let (Some(fp), Value::Map(m)) = (prior.get("host_key").cloned(), &mut planned) {
        m.insert("host_key".into(), fp);
    }
    provision(pool, &planned, scripts_changed).await
}

pub async fn read(pool: &Reach, state: Value) -> Result<Option<Value>, ProviderError> {
    let host = Host::connect(pool, conn_of(&state)?).await?;
    let Some(settings) = Settings::load(&host).await? else { return Ok(None) };
    Ok(Some(with_defaults(&state, &host.conn, &settings, host.session.host_key_fingerprint())))
}

pub async fn delete(pool: &Reach, state: Value) -> Result<(), ProviderError> {
    let host = Host::connect(pool, conn_of(&state)?).await?;
    let r = q(&host.conn.root);
    host.run(&format!("rm -f {r}/server.json {r}/environment && rm -rf {r}/scripts")).await?;
    Ok(())
}
