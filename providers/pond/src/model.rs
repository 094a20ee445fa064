//! An environment's configuration, parsed and checked before any server is touched: project,
//! name, type, servers, domain, secret prefix, configuration templates and variables,
//! `.pondignore`, post-deployment scripts, build and source, live colour.
//!
//! Owns [`Env`] and the seed's directory tree as paths (`<root>/projects/<project>/<name>`
//! with config, blue, green, storage, current, metadata). Every problem is listed in one error.
//! It does no IO beyond checking that the source directory exists.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tarn_sdk::{ProviderError, Value};

use crate::conn::Conn;

pub const COLOURS: [&str; 2] = ["blue", "green"];

/// The other colour.
pub fn other(colour: &str) -> &'static str {
    if colour == "blue" { "green" } else { "blue" }
}

#[derive(Debug, Clone)]
pub struct Env {
    pub project: String,
    pub name: String,
    pub servers: Vec<Conn>,
    pub domain: String,
    pub secret_prefix: String,
    pub config_templates: BTreeMap<String, String>,
    pub config_variables: BTreeMap<String, String>,
    pub pondignore: Option<String>,
    pub scripts: Vec<String>,
    /// Copied into `storage/` at a server's first deployment.
    pub initial_storage: Option<PathBuf>,
    /// (dump file, command) imported once, at the first deployment, on the first server.
    pub initial_database: Option<(PathBuf, String)>,
    pub build: String,
    pub source: PathBuf,
    /// The colour that must be live after apply.
    pub live: String,
}

fn string(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn string_map(v: &Value, key: &str) -> BTreeMap<String, String> {
    v.get(key)
        .and_then(Value::as_map)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

/// A directory name: letters, digits, `.`, `_`, `-`, not `.` or `..`.
fn dir_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// A relative path inside the site that a configuration file may take.
fn config_path_problem(path: &str) -> Option<String> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.split('/').any(|s| s.is_empty() || s == "." || s == "..")
        || path.split('/').next() == Some("storage");
    bad.then(|| {
        format!(
            "config_templates key \"{path}\" must be a relative path inside the site, without \"..\", outside storage/"
        )
    })
}

/// The servers of an environment (or a status data source): the `servers` list, with the
/// block's `private_key` for entries that name no key file.
pub fn servers(v: &Value, what: &str) -> Result<Vec<Conn>, ProviderError> {
    let key = v.get("private_key").and_then(Value::as_str);
    let list = v.get("servers").and_then(Value::as_list).unwrap_or_default();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        if entry.get("trust_on_first_use").and_then(Value::as_bool) == Some(true) {
            problems.push(format!("servers[{i}]: give the recorded host_key_fingerprint (pond_server.NAME.connection has it) instead of trust_on_first_use"));
            continue;
        }
        match Conn::parse(entry, key, None, &format!("{what} servers[{i}]")) {
            Ok(c) => out.push(c),
            Err(e) => problems.push(e.message),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &out {
        if !seen.insert((c.endpoint(), c.root.clone())) {
            problems.push(format!("{what}: the server {} with root {} is listed twice", c.endpoint(), c.root));
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(ProviderError::permanent(problems.join("\n"))) }
}

impl Env {
    pub fn parse(v: &Value) -> Result<Env, ProviderError> {
        let mut problems = Vec::new();
        let (project, name) = (string(v, "project"), string(v, "name"));
        for (what, value) in [("project", &project), ("name", &name)] {
            if !dir_name(value) {
                problems.push(format!(
                    "\"{what}\" must be a directory name (letters, digits, '.', '_', '-'), not \"{value}\""
                ));
            }
        }
        let servers = match servers(v, "pond_environment") {
            Ok(s) => s,
            Err(e) => {
                problems.push(e.message);
                Vec::new()
            }
        };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("single");
        match kind {
            "single" if servers.len() > 1 => problems.push(format!(
                "a \"single\" environment has one server, not {}; use type = \"load_balanced\"",
                servers.len()
            )),
            "single" | "load_balanced" => {}
            other => problems.push(format!("\"type\" must be \"single\" or \"load_balanced\", not \"{other}\"")),
        }
        if v.get("servers").and_then(Value::as_list).is_none_or(<[Value]>::is_empty) {
            problems.push("\"servers\" needs at least one server".to_string());
        }
        let domain = string(v, "domain");
        if domain.is_empty() || domain.contains(|c: char| c.is_whitespace() || c == '/') {
            problems.push(format!("\"domain\" must be a host name, not \"{domain}\""));
        }
        let secret_prefix = string(v, "secret_prefix");
        if secret_prefix.is_empty() || !secret_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            problems.push("\"secret_prefix\" must be one DNS label (letters, digits, '-')".to_string());
        }
        let config_templates = string_map(v, "config_templates");
        problems.extend(config_templates.keys().filter_map(|k| config_path_problem(k)));
        let build = string(v, "build");
        if build.is_empty() || build.contains(['\n', '\r']) {
            problems.push("\"build\" must be a one-line build tag".to_string());
        }
        let source = PathBuf::from(string(v, "source"));
        if !source.is_dir() {
            problems.push(format!("\"source\" must be a directory on this machine; {} is not one", source.display()));
        }
        let initial_storage = v.get("initial_storage").and_then(Value::as_str).map(PathBuf::from);
        if let Some(dir) = initial_storage.as_ref().filter(|d| !d.is_dir()) {
            problems
                .push(format!("\"initial_storage\" must be a directory on this machine; {} is not one", dir.display()));
        }
        let initial_database = v.get("initial_database").filter(|d| !d.is_null()).map(|d| {
            let file = PathBuf::from(d.get("file").and_then(Value::as_str).unwrap_or_default());
            (file, d.get("command").and_then(Value::as_str).unwrap_or_default().to_string())
        });
        if let Some((file, command)) = &initial_database {
            if !file.is_file() {
                problems.push(format!(
                    "\"initial_database.file\" must be a file on this machine; {} is not one",
                    file.display()
                ));
            }
            if command.trim().is_empty() {
                problems
                    .push("\"initial_database.command\" must be the command that reads the dump on stdin".to_string());
            }
        }
        let live = v.get("live").and_then(Value::as_str).unwrap_or("blue").to_string();
        if !COLOURS.contains(&live.as_str()) {
            problems.push(format!("\"live\" must be \"blue\" or \"green\", not \"{live}\""));
        }
        if !problems.is_empty() {
            return Err(ProviderError::permanent(format!(
                "pond_environment {project}/{name} is invalid; nothing was changed:\n  - {}",
                problems.join("\n  - ")
            )));
        }
        Ok(Env {
            project,
            name,
            servers,
            domain,
            secret_prefix,
            config_templates,
            config_variables: string_map(v, "config_variables"),
            pondignore: v.get("pondignore").and_then(Value::as_str).map(str::to_string),
            scripts: v
                .get("post_deployment_scripts")
                .and_then(Value::as_list)
                .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            build,
            source,
            initial_storage,
            initial_database,
            live,
        })
    }

    /// The environment's directory on a server.
    pub fn dir(&self, conn: &Conn) -> String {
        env_dir(&conn.root, &self.project, &self.name)
    }

    /// The variables every template of this environment sees.
    pub fn vars(&self, conn: &Conn) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        vars.insert("project".to_string(), self.project.clone());
        vars.insert("environment".to_string(), self.name.clone());
        vars.insert("domain".to_string(), self.domain.clone());
        vars.insert("build".to_string(), self.build.clone());
        vars.insert("root".to_string(), self.dir(conn));
        vars
    }

    /// The `.pondignore` text: the attribute, else the source's own file.
    pub fn ignore_text(&self) -> String {
        match &self.pondignore {
            Some(t) => t.clone(),
            None => std::fs::read_to_string(self.source.join(".pondignore")).unwrap_or_default(),
        }
    }

    /// The host name of a colour: `<secret_prefix>-<colour>.<domain>`.
    pub fn colour_host(&self, colour: &str) -> String {
        format!("{}-{colour}.{}", self.secret_prefix, self.domain)
    }

    /// Virtual-host file names in the server's vhost_dir: live, blue, green.
    pub fn vhost_files(&self) -> [(String, Option<&'static str>); 3] {
        let base = format!("pond-{}-{}", self.project, self.name);
        [
            (format!("{base}.conf"), None),
            (format!("{base}-blue.conf"), Some("blue")),
            (format!("{base}-green.conf"), Some("green")),
        ]
    }
}

pub fn env_dir(root: &str, project: &str, name: &str) -> String {
    format!("{root}/projects/{project}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, Value)> {
        vec![
            ("project", Value::string("shop")),
            ("name", Value::string("production")),
            ("domain", Value::string("shop.example")),
            ("secret_prefix", Value::string("k3y")),
            ("build", Value::string("v1")),
            ("source", Value::string(std::env::temp_dir().display().to_string())),
            (
                "servers",
                Value::List(vec![Value::map([
                    ("host", Value::string("10.0.0.1")),
                    ("private_key_file", Value::string("/k")),
                    ("host_key_fingerprint", Value::string("SHA256:x")),
                ])]),
            ),
        ]
    }

    #[test]
    fn the_seed_layout_and_colour_hosts() {
        let env = Env::parse(&Value::map(base())).unwrap();
        assert_eq!(env.dir(&env.servers[0]), "/var/www/pond/projects/shop/production");
        assert_eq!(env.colour_host("green"), "k3y-green.shop.example");
        assert_eq!(env.live, "blue");
    }

    #[test]
    fn every_problem_is_listed_before_anything_changes() {
        let mut v = base();
        v.push(("type", Value::string("single")));
        v.push(("live", Value::string("purple")));
        v.push(("config_templates", Value::map([("../etc/passwd", Value::string("x"))])));
        v[0] = ("project", Value::string("../x"));
        let mut servers = v[6].1.as_list().unwrap().to_vec();
        servers.push(Value::map([
            ("host", Value::string("10.0.0.2")),
            ("private_key_file", Value::string("/k")),
            ("trust_on_first_use", Value::Bool(true)),
        ]));
        v[6] = ("servers", Value::List(servers));
        let err = Env::parse(&Value::map(v)).unwrap_err().message;
        for needle in ["\"project\"", "\"live\"", "../etc/passwd", "host_key_fingerprint", "nothing was changed"] {
            assert!(err.contains(needle), "{needle} missing in {err}");
        }
    }
}
