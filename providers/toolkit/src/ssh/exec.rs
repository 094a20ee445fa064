//! Running commands on a [`Session`]: collected, streamed line by line, or checked.
//!
//! Owns [`Command`] (program and arguments, shell-quoted, some marked secret; optional sudo and
//! timeout), [`ExecOutput`] and the mapping of a failed command to a Permanent error. It must not
//! put a secret argument into any message: messages use [`Command::display`], which redacts them,
//! and secret values are also scrubbed from the stderr lines quoted back to the user.

use std::time::Duration;

use russh::ChannelMsg;
use tokio::sync::mpsc;

use super::errors;
use super::session::Session;
use crate::error::ProviderError;

/// How long closing an abandoned command's channel may take.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How a command ended and what it printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// The exit code, when the command exited normally.
    pub status: Option<u32>,
    /// The signal name without `SIG` ("TERM", "KILL"), when a signal ended it.
    pub signal: Option<String>,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0) && self.signal.is_none()
    }
}

/// Which output stream a streamed line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of output, without its newline, for progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub stream: Stream,
    pub line: String,
}

#[derive(Debug, Clone)]
enum Part {
    /// Shell text used as is (the whole of a [`Command::shell`] script).
    Raw(String),
    Arg(String),
    Secret(String),
}

/// A command line. `Command::new("useradd").arg("web")` quotes each argument for the remote
/// shell; `Command::shell("cd /srv && make")` runs a script as written.
#[derive(Debug, Clone)]
pub struct Command {
    parts: Vec<Part>,
    sudo: bool,
    timeout: Option<Duration>,
}

impl Command {
    pub fn new(program: impl Into<String>) -> Command {
        Command { parts: vec![Part::Arg(program.into())], sudo: false, timeout: None }
    }
    /// A shell script, passed to the remote login shell unquoted.
    pub fn shell(script: impl Into<String>) -> Command {
        Command { parts: vec![Part::Raw(script.into())], sudo: false, timeout: None }
    }
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.parts.push(Part::Arg(arg.into()));
        self
    }
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.parts.extend(args.into_iter().map(|a| Part::Arg(a.into())));
        self
    }
    /// An argument that must never appear in messages (a password, a token).
    pub fn secret_arg(mut self, arg: impl Into<String>) -> Self {
        self.parts.push(Part::Secret(arg.into()));
        self
    }
    /// Run through `sudo -n --`: never prompts, fails clearly when a password would be needed.
    pub fn sudo(mut self) -> Self {
        self.sudo = true;
        self
    }
    /// Abandon the command (close its channel) after this long; the error is Transient. Without
    /// one, the session's operation timeout ([`super::SshConfig::operation_timeout`]) applies.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    fn render(&self, redact: bool) -> String {
        let body: Vec<String> = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Raw(text) => text.clone(),
                Part::Arg(arg) => quote(arg),
                Part::Secret(_) if redact => "'***'".to_string(),
                Part::Secret(arg) => quote(arg),
            })
            .collect();
        let body = body.join(" ");
        if !self.sudo {
            return body;
        }
        match self.parts.as_slice() {
            // A script needs a shell under sudo, or only its first word would be privileged.
            [Part::Raw(script)] => format!("sudo -n -- sh -c {}", quote(script)),
            _ => format!("sudo -n -- {body}"),
        }
    }

    /// The command line as sent to the server.
    pub fn command_line(&self) -> String {
        self.render(false)
    }

    /// The command line as messages show it, secret arguments replaced by `'***'`.
    pub fn display(&self) -> String {
        self.render(true)
    }

    fn secrets(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Secret(s) if !s.is_empty() => Some(s.as_str()),
            _ => None,
        })
    }

    /// Replace every secret value in `text` (e.g. a tool echoing its arguments to stderr).
    pub(super) fn scrub(&self, text: &str) -> String {
        self.secrets().fold(text.to_string(), |acc, secret| acc.replace(secret, "***"))
    }
}

impl From<&str> for Command {
    fn from(script: &str) -> Command {
        Command::shell(script)
    }
}

impl From<String> for Command {
    fn from(script: String) -> Command {
        Command::shell(script)
    }
}

/// POSIX single-quote quoting; plain words stay bare so logs read naturally.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { arg.to_string() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

pub(super) fn signal_name(sig: &russh::Sig) -> String {
    use russh::Sig;
    let name = match sig {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(other) => other.as_str(),
    };
    name.to_string()
}

/// Splits a byte stream into lines as chunks arrive; chunk borders fall anywhere.
#[derive(Default)]
struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            lines.push(text.trim_end_matches('\r').to_string());
        }
        lines
    }
    fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        Some(rest)
    }
}

impl Session {
    /// Run a command and collect its output, exit status and signal.
    pub async fn exec(&self, cmd: impl Into<Command>) -> Result<ExecOutput, ProviderError> {
        self.run(&cmd.into(), None).await
    }

    /// Like [`Session::exec`], and also send each output line to `lines` as it arrives.
    /// A closed receiver does not stop the command.
    pub async fn exec_streaming(
        &self,
        cmd: impl Into<Command>,
        lines: mpsc::Sender<OutputLine>,
    ) -> Result<ExecOutput, ProviderError> {
        self.run(&cmd.into(), Some(lines)).await
    }

    /// Run a command and turn a non-zero exit, a signal, or a sudo password prompt into a
    /// Permanent error naming the (redacted) command, the exit code and the end of stderr.
    pub async fn exec_checked(&self, cmd: impl Into<Command>) -> Result<ExecOutput, ProviderError> {
        let cmd = cmd.into();
        let out = self.run(&cmd, None).await?;
        if out.success() {
            return Ok(out);
        }
        if cmd.sudo && out.status == Some(1) && out.stderr.contains("sudo: a password is required") {
            return Err(errors::sudo_needs_password(&self.endpoint(), &self.user, &cmd.display()));
        }
        let tail = last_lines(&cmd.scrub(&out.stderr), 10);
        Err(errors::command_failed(&self.endpoint(), &cmd.display(), out.status, out.signal.as_deref(), &tail))
    }

    async fn run(&self, cmd: &Command, lines: Option<mpsc::Sender<OutputLine>>) -> Result<ExecOutput, ProviderError> {
        let what = format!("the command `{}`", cmd.display());
        // The command's own timeout, or the session's operation timeout: nothing waits forever,
        // not even for a channel on a connection that stopped answering.
        let limit = cmd.timeout.unwrap_or(self.operation_timeout);
        let deadline = tokio::time::Instant::now() + limit;
        let timed_out = || errors::command_timed_out(&self.endpoint(), &cmd.display(), limit);
        let start = async {
            let channel = self.open_channel(&what).await?;
            channel
                .exec(true, cmd.command_line())
                .await
                .map_err(|err| errors::channel_failed(&self.endpoint(), &what, &err))?;
            Ok::<_, ProviderError>(channel)
        };
        let mut channel = tokio::time::timeout_at(deadline, start).await.map_err(|_| timed_out())??;

        let mut out = ExecOutput::default();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let (mut split_out, mut split_err) = (LineSplitter::default(), LineSplitter::default());
        let send = |stream: Stream, batch: Vec<String>| {
            let lines = lines.clone();
            async move {
                if let Some(tx) = lines {
                    for line in batch {
                        // The watcher going away must not fail the command.
                        let _ = tx.send(OutputLine { stream, line }).await;
                    }
                }
            }
        };
        let collect = async {
            while let Some(msg) = channel.wait().await {
                match msg {
                    ChannelMsg::Data { data } => {
                        stdout.extend_from_slice(&data);
                        send(Stream::Stdout, split_out.push(&data)).await;
                    }
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        stderr.extend_from_slice(&data);
                        send(Stream::Stderr, split_err.push(&data)).await;
                    }
                    ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name: sig, .. } => out.signal = Some(signal_name(&sig)),
                    _ => {}
                }
            }
        };
        if tokio::time::timeout_at(deadline, collect).await.is_err() {
            // Closing the channel makes sshd hang up on the command's session; a connection that
            // no longer takes messages must not keep us waiting for that either.
            let _ = tokio::time::timeout(CLOSE_GRACE, channel.close()).await;
            return Err(timed_out());
        }
        send(Stream::Stdout, split_out.finish().into_iter().collect()).await;
        send(Stream::Stderr, split_err.finish().into_iter().collect()).await;
        out.stdout = String::from_utf8_lossy(&stdout).into_owned();
        out.stderr = String::from_utf8_lossy(&stderr).into_owned();
        if out.status.is_none() && out.signal.is_none() && self.is_closed() {
            return Err(errors::channel_failed(&self.endpoint(), &what, &"the connection closed"));
        }
        Ok(out)
    }
}

pub(super) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_and_secrets_redacted_in_display_only() {
        let cmd = Command::new("chpasswd").arg("web user").secret_arg("s3cr'et").sudo();
        assert_eq!(cmd.command_line(), r"sudo -n -- chpasswd 'web user' 's3cr'\''et'");
        assert_eq!(cmd.display(), "sudo -n -- chpasswd 'web user' '***'");
        assert_eq!(cmd.scrub("bad password s3cr'et"), "bad password ***");
    }

    #[test]
    fn scripts_under_sudo_run_in_a_shell() {
        let cmd = Command::shell("cd /srv && make").sudo();
        assert_eq!(cmd.command_line(), "sudo -n -- sh -c 'cd /srv && make'");
    }

    #[test]
    fn lines_split_across_chunks() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"one\ntw"), vec!["one"]);
        assert_eq!(s.push(b"o\r\nthree"), vec!["two"]);
        assert_eq!(s.finish(), Some("three".to_string()));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn only_the_last_lines_of_stderr_are_quoted() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(last_lines("", 2), "");
    }
}
