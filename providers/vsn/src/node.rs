//! One VSN: the SSH session to it, and running engine commands and shell scripts there as root
//! (directly, or through `sudo -n` when the SSH user is not root), with the provider block's
//! environment prefixed.
//!
//! Owns validation first (seed step 1): every check runs, and one error lists every failed one,
//! before the provider does anything else. It must not put secrets on a command line: secret
//! values travel in files uploaded over SFTP (see `secrets.rs`).

use std::sync::Arc;

use tarn_sdk::ProviderError;
use tarn_sdk::ssh::{Command, ExecOutput, Pool, Session};

use crate::config::NodeConfig;

/// Commands the provider itself runs on the VSN, checked before anything else.
pub const NEEDED_COMMANDS: &[&str] = &["bash", "sh", "mkdir", "rm", "du", "test", "mktemp", "sha256sum", "find", "tar"];

/// A validated VSN: configuration plus how to become root there.
#[derive(Debug, Clone)]
pub struct Node {
    pub config: NodeConfig,
    pool: Pool,
    /// The SSH user is not root: prefix commands with `sudo -n`.
    pub sudo: bool,
}

impl Node {
    /// Connects and validates the VSN. Every failed check is listed in the one error returned.
    pub async fn connect(config: NodeConfig) -> Result<Node, ProviderError> {
        let pool = Pool::new();
        let session = pool.get(&config.ssh).await?;
        let sudo = validate(&session, &config).await?;
        Ok(Node { config, pool, sudo })
    }

    pub async fn session(&self) -> Result<Arc<Session>, ProviderError> {
        self.pool.get(&self.config.ssh).await
    }

    /// "user@host:port", for messages.
    pub fn describe(&self) -> String {
        format!("{}@{}:{}", self.config.ssh.user, self.config.ssh.host, self.config.ssh.port)
    }

    /// The engine command with the configured environment, as root.
    pub fn engine_command(&self, args: &[String]) -> Command {
        let mut cmd = if self.config.env.is_empty() {
            Command::new(self.config.engine.program.clone())
        } else {
            let mut c = Command::new("env");
            for (k, v) in &self.config.env {
                c = c.arg(format!("{k}={v}"));
            }
            c.arg(self.config.engine.program.clone())
        };
        cmd = cmd.args(args.iter().cloned());
        if self.sudo { cmd.sudo() } else { cmd }
    }

    /// Runs the engine and returns its output whatever the exit status.
    pub async fn engine(&self, args: &[String]) -> Result<ExecOutput, ProviderError> {
        self.session().await?.exec(self.engine_command(args)).await
    }

    /// Runs the engine; a non-zero exit is a Permanent error naming the command and its stderr.
    pub async fn engine_checked(&self, args: &[String]) -> Result<ExecOutput, ProviderError> {
        self.session().await?.exec_checked(self.engine_command(args)).await
    }

    /// A shell script run as root (through `sudo -n` when needed).
    pub fn root_script(&self, script: &str) -> Command {
        let cmd = Command::shell(script.to_string());
        if self.sudo { cmd.sudo() } else { cmd }
    }

    /// Runs a shell script as root; a non-zero exit is an error.
    pub async fn script_checked(&self, script: &str) -> Result<ExecOutput, ProviderError> {
        self.session().await?.exec_checked(self.root_script(script)).await
    }

    /// Runs a shell script as root and returns its output whatever the exit status.
    pub async fn script(&self, script: &str) -> Result<ExecOutput, ProviderError> {
        self.session().await?.exec(self.root_script(script)).await
    }
}

/// POSIX single-quote quoting for values placed into scripts.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The validation script: one line per failed check, `ok-root` / `ok-sudo` for privilege.
fn validation_script(config: &NodeConfig) -> String {
    let mut commands: Vec<String> = NEEDED_COMMANDS.iter().map(|s| s.to_string()).collect();
    commands.extend(config.required_commands.iter().cloned());
    let list = commands.iter().map(|c| sh_quote(c)).collect::<Vec<_>>().join(" ");
    format!(
        "for c in {list}; do command -v \"$c\" >/dev/null 2>&1 || echo \"missing-command $c\"; done\n\
         command -v {engine} >/dev/null 2>&1 || echo \"missing-engine\"\n\
         if [ \"$(id -u)\" = 0 ]; then echo ok-root; elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then echo ok-sudo; else echo no-root; fi\n",
        engine = sh_quote(&config.engine.program),
    )
}

/// Runs every check; returns whether sudo is needed, or one error listing every failure.
async fn validate(session: &Session, config: &NodeConfig) -> Result<bool, ProviderError> {
    let out = session.exec(validation_script(config)).await?;
    let mut failures = Vec::new();
    let mut sudo = None;
    for line in out.stdout.lines() {
        if let Some(c) = line.strip_prefix("missing-command ") {
            failures.push(format!("the command `{c}` is not installed"));
        } else if line == "missing-engine" {
            failures.push(format!(
                "the container engine `{}` is not installed (install podman or docker, or set \"engine\")",
                config.engine.program
            ));
        } else if line == "ok-root" {
            sudo = Some(false);
        } else if line == "ok-sudo" {
            sudo = Some(true);
        } else if line == "no-root" {
            failures.push(format!(
                "the user `{}` is not root and cannot use sudo without a password (log in as root or allow passwordless sudo)",
                config.ssh.user
            ));
        }
    }
    if !out.success() && failures.is_empty() {
        failures.push(format!("the validation script failed: {}", out.stderr.trim()));
    }
    let engine_missing = failures.iter().any(|f| f.contains("container engine"));
    if let (Some(sudo), false) = (sudo, engine_missing) {
        // The engine must answer, not only exist.
        let probe = Node { config: config.clone(), pool: Pool::new(), sudo };
        let version = session.exec(probe.engine_command(&["version".to_string()])).await?;
        if !version.success() {
            let tail: Vec<&str> = version.stderr.lines().rev().take(3).collect();
            failures.push(format!(
                "`{} version` failed: {}",
                config.engine.program,
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ));
        }
    }
    match (failures.is_empty(), sudo) {
        (true, Some(sudo)) => Ok(sudo),
        _ => Err(ProviderError::permanent(format!(
            "the VSN {}@{}:{} failed validation; nothing was changed:\n  - {}",
            config.ssh.user,
            config.ssh.host,
            config.ssh.port,
            failures.join("\n  - ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
    }
}
