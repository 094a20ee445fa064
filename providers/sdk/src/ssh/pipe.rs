//! Piping one host's command into another host's command through this machine: the source's
//! stdout becomes the sink's stdin, chunk by chunk, so the two hosts need no trust between them
//! (e.g. `tar -c` on an old server into `tar -x` on a new one).
//!
//! Owns [`Session::pipe`] and [`PipeOutput`]. Memory stays bounded: each SSH packet is forwarded
//! as it arrives, and the source channel's bounded queue plus the sink's window hold the source
//! back while the sink is slow. It must not hold a whole stream in memory or in a local file, and
//! must not be used with the same connection at both ends (the one event loop would wait on
//! itself; the call refuses it). Callers give it connections of its own: when the sink fails
//! first, russh keeps the unsent data of the closed channel queued and that connection takes no
//! further message (russh 0.62: no new channel, no EOF, no goodbye), so it is dropped afterwards,
//! not pooled; for the same reason no write to the sink may outlive the sink's channel
//! (`until_sink_gone`).

use russh::ChannelMsg;
use tokio::sync::watch;

use super::errors;
use super::exec::{Command, ExecOutput, last_lines, signal_name};
use super::session::Session;
use crate::error::ProviderError;

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
        _ = gone.wait_for(|gone| *gone) => false,
    }
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
        // EOF alike) gives up once the sink's channel is closed: see `until_sink_gone`.
        let forward = async move {
            let mut gone = done_rx;
            let mut out = ExecOutput::default();
            let mut stderr = Tail::default();
            let (mut bytes, mut writing, mut closed) = (0u64, true, false);
            while let Some(msg) = src.wait().await {
                match msg {
                    ChannelMsg::Data { data } => {
                        bytes += data.len() as u64;
                        if writing {
                            writing = until_sink_gone(&mut gone, sink_write.data_bytes(data)).await;
                        }
                        if !writing && !closed {
                            // Nobody reads any more: stop the source instead of draining it.
                            let _ = src.close().await;
                            closed = true;
                        }
                    }
                    ChannelMsg::ExtendedData { data, ext: 1 } => stderr.push(&data),
                    ChannelMsg::Eof if writing => {
                        until_sink_gone(&mut gone, sink_write.eof()).await;
                        writing = false;
                    }
                    ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name: sig, .. } => out.signal = Some(signal_name(&sig)),
                    _ => {}
                }
            }
            // The source may end without an EOF (a broken channel): the sink must still finish.
            if writing {
                until_sink_gone(&mut gone, sink_write.eof()).await;
            }
            out.stderr = stderr.text();
            (out, bytes)
        };

        let ((source_out, bytes), sink_out) = tokio::join!(forward, collect);
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
