//! Piping one host's command into another host's command through this machine: the source's
//! stdout becomes the sink's stdin, chunk by chunk, so the two hosts need no trust between them
//! (e.g. `tar -c` on an old server into `tar -x` on a new one).
//!
//! Owns [`Session::pipe`] and [`PipeOutput`]. Memory stays bounded: each SSH packet is forwarded
//! as it arrives, and the source channel's bounded queue plus the sink's window hold the source
//! back while the sink is slow. It must not hold a whole stream in memory or in a local file, and
//! must not be used with the same connection at both ends (the one event loop would wait on
//! itself; the call refuses it).
//!
//! Nothing here waits on something that may never come. The race behind the hang seen on loaded
//! machines is in russh 0.62: a write half's window counter is reset at every WINDOW_ADJUST
//! without the chunks still queued for the event loop, so data can end up waiting inside russh
//! for window space; when the sink then exits, its channel is closed with that data still
//! pending, and russh's event loop stops taking messages on that connection for good (no data, no
//! EOF, no new channel, no goodbye). So: every write to the sink (data and EOF) is raced against
//! the sink's channel closing (`until_sink_gone`); the sink going away stops the source at once,
//! even a quiet one, which is then waited for only `SOURCE_GRACE`; and the pipe ends (aborts) a
//! connection whose sink went away under a write, or whose source would not end, so nothing
//! lingers. Callers give it connections of their own, closed afterwards, never pooled.

use std::time::Duration;

use russh::ChannelMsg;
use tokio::sync::watch;

use super::errors;
use super::exec::{Command, ExecOutput, last_lines, signal_name};
use super::session::Session;
use crate::error::ProviderError;

/// How long a source stopped because the sink is gone may take to end before the pipe stops
/// waiting for it (its connection is then ended, which ends the command with it).
const SOURCE_GRACE: Duration = Duration::from_secs(10);

/// How both ends of a pipe ended, and how many bytes went through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipeOutput {
    /// The source command; its `stdout` is empty (it went to the sink).
    pub source: ExecOutput,
    /// The sink command, with what it printed.
    pub sink: ExecOutput,
    /// Bytes forwarded from the source's stdout to the sink's stdin.
    pub bytes: u64,
}

/// Keeps only the last `LIMIT` bytes of a stream (stderr for messages).
#[derive(Default)]
struct Tail(Vec<u8>);

impl Tail {
    const LIMIT: usize = 64 * 1024;
    fn push(&mut self, data: &[u8]) {
        self.0.extend_from_slice(data);
        if self.0.len() > Self::LIMIT {
            let cut = self.0.len() - Self::LIMIT;
            self.0.drain(..cut);
        }
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

/// Runs one write to the sink (data or EOF) unless the sink's channel closes first; true when
/// the write went through. The race it guards against: when the sink exits while some of the
/// data written to it still waits in russh for window space, the client keeps that data queued
/// for the closed channel and from then on takes no outgoing message on that connection (russh
/// 0.62 stops reading its handle queue while any channel has pending data). The handle queue
/// holds 10 messages; once it is full, a plain `eof().await` or `data_bytes().await` waits
/// forever, although both remote commands are long gone. Whether data is pending at that moment
/// depends on scheduling, which is why the hang showed only on a loaded machine.
async fn until_sink_gone<E>(gone: &mut watch::Receiver<bool>, write: impl Future<Output = Result<(), E>>) -> bool {
    tokio::select! {
        sent = write => sent.is_ok(),
        () = sink_gone(gone) => false,
    }
}

/// Returns once the sink's channel has closed (the guard `wait_for` returns is not held on to:
/// the pipe's future must stay `Send`).
async fn sink_gone(gone: &mut watch::Receiver<bool>) {
    let _ = gone.wait_for(|gone| *gone).await;
}

/// Asks the source command to stop (SIGTERM, which sshd delivers to non-root sessions only) and
/// closes its channel, after which a writing source dies of SIGPIPE; returns when that was done. Neither request may wait long:
/// the source's connection takes messages, but nothing here waits without a limit.
async fn stop_source(src: &russh::Channel<russh::client::Msg>) -> tokio::time::Instant {
    let _ = tokio::time::timeout(SOURCE_GRACE, src.signal(russh::Sig::TERM)).await;
    let _ = tokio::time::timeout(SOURCE_GRACE, src.close()).await;
    tokio::time::Instant::now()
}

fn failure(session: &Session, cmd: &Command, out: &ExecOutput) -> ProviderError {
    let tail = last_lines(&cmd.scrub(&out.stderr), 10);
    errors::command_failed(&session.endpoint(), &cmd.display(), out.status, out.signal.as_deref(), &tail)
}

impl Session {
    /// Runs `source` here and `sink` on `target`, the source's stdout streamed into the sink's
    /// stdin. Either end failing (non-zero exit, signal, broken channel) is an error naming that
    /// command and its host; when the sink fails first the source is closed instead of drained.
    /// `target` must be another connection than `self`, and both should be used for this pipe
    /// only (see the module header). The whole pipe runs under this session's operation timeout.
    pub async fn pipe(
        &self,
        source: impl Into<Command>,
        target: &Session,
        sink: impl Into<Command>,
    ) -> Result<PipeOutput, ProviderError> {
        let (source, sink) = (source.into(), sink.into());
        let what = format!("piping `{}` into `{}` on {}", source.display(), sink.display(), target.endpoint());
        self.within(&what, self.pipe_inner(source, target, sink)).await
    }

    async fn pipe_inner(&self, source: Command, target: &Session, sink: Command) -> Result<PipeOutput, ProviderError> {
        if std::ptr::eq(self, target) {
            return Err(ProviderError::permanent(format!(
                "piping `{}` into `{}` needs two SSH connections, and both ends are the same one to {}; this is a bug in the caller",
                source.display(),
                sink.display(),
                self.endpoint()
            )));
        }
        let src_what = format!("the command `{}`", source.display());
        let sink_what = format!("the command `{}`", sink.display());
        let sink_channel = target.open_channel(&sink_what).await?;
        sink_channel
            .exec(true, sink.command_line())
            .await
            .map_err(|err| errors::channel_failed(&target.endpoint(), &sink_what, &err))?;
        let mut src = self.open_channel(&src_what).await?;
        src.exec(true, source.command_line())
            .await
            .map_err(|err| errors::channel_failed(&self.endpoint(), &src_what, &err))?;
        let (mut sink_read, sink_write) = sink_channel.split();
        let (done_tx, done_rx) = watch::channel(false);

        // The sink's output and exit; tells the forwarder when the sink is gone.
        let collect = async move {
            let mut out = ExecOutput::default();
            let (mut stdout, mut stderr) = (Tail::default(), Tail::default());
            while let Some(msg) = sink_read.wait().await {
                match msg {
                    ChannelMsg::Data { data } => stdout.push(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => stderr.push(&data),
                    ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name: sig, .. } => out.signal = Some(signal_name(&sig)),
                    _ => {}
                }
            }
            out.stdout = stdout.text();
            out.stderr = stderr.text();
            let _ = done_tx.send(true);
            out
        };

        // The source's stdout into the sink, packet by packet. Every write to the sink (data and
        // EOF alike) gives up once the sink's channel is closed: see `until_sink_gone`. Once the
        // sink is gone while the source still has output, the source is stopped at once, not
        // when its next packet happens to arrive (a quiet source would keep the pipe waiting),
        // and waited for only `SOURCE_GRACE`.
        let forward = async move {
            let mut gone = done_rx;
            let mut out = ExecOutput::default();
            let mut stderr = Tail::default();
            let mut bytes = 0u64;
            // `writing`: the source's output still goes to the sink (until its EOF, or the sink
            // going away). `cut`: a write was abandoned because the sink went away.
            let (mut writing, mut cut, mut abandoned) = (true, false, false);
            let mut stopped: Option<tokio::time::Instant> = None;
            loop {
                let grace_over = async {
                    match stopped {
                        Some(at) => tokio::time::sleep_until(at + SOURCE_GRACE).await,
                        None => std::future::pending().await,
                    }
                };
                let msg = tokio::select! {
                    msg = src.wait() => msg,
                    () = sink_gone(&mut gone), if writing && stopped.is_none() => {
                        // The sink ended before the source: nobody reads what is left.
                        writing = false;
                        stopped = Some(stop_source(&src).await);
                        continue;
                    }
                    () = grace_over => {
                        abandoned = true;
                        break;
                    }
                };
                let Some(msg) = msg else { break };
                match msg {
                    ChannelMsg::Data { data } => {
                        bytes += data.len() as u64;
                        if writing {
                            writing = until_sink_gone(&mut gone, sink_write.data_bytes(data)).await;
                            cut |= !writing;
                        }
                        if !writing && stopped.is_none() {
                            stopped = Some(stop_source(&src).await);
                        }
                    }
                    ChannelMsg::ExtendedData { data, ext: 1 } => stderr.push(&data),
                    ChannelMsg::Eof if writing => {
                        cut |= !until_sink_gone(&mut gone, sink_write.eof()).await;
                        writing = false;
                    }
                    ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name: sig, .. } => out.signal = Some(signal_name(&sig)),
                    _ => {}
                }
            }
            // The source may end without an EOF (a broken channel): the sink must still finish.
            if writing {
                cut |= !until_sink_gone(&mut gone, sink_write.eof()).await;
            }
            out.stderr = stderr.text();
            (out, bytes, cut, abandoned)
        };

        let ((source_out, bytes, cut, abandoned), sink_out) = tokio::join!(forward, collect);
        // A connection whose sink went away under a write may hold data for that channel that
        // russh will never send, and then takes no message again; one whose source would not end
        // still runs it. Neither is of use to anyone: end them now (see the module header).
        if cut {
            target.abort();
        }
        if abandoned {
            self.abort();
        }
        let no_end = |o: &ExecOutput| o.status.is_none() && o.signal.is_none();
        if no_end(&sink_out) && target.is_closed() {
            return Err(errors::channel_failed(&target.endpoint(), &sink_what, &"the connection closed"));
        }
        if !sink_out.success() {
            return Err(failure(target, &sink, &sink_out));
        }
        if no_end(&source_out) && self.is_closed() {
            return Err(errors::channel_failed(&self.endpoint(), &src_what, &"the connection closed"));
        }
        if !source_out.success() {
            return Err(failure(self, &source, &source_out));
        }
        Ok(PipeOutput { source: source_out, sink: sink_out, bytes })
    }
}
