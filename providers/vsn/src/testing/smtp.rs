//! An SMTP sink for the tests: a small SMTP server on 127.0.0.1 (tokio, on a thread of its own so
//! that tests blocking on a process still get their mail) that accepts every message and keeps
//! it, so that what the real `mutt` sent can be checked: envelope, subject and body. It speaks
//! the part of RFC 5321 a client needs to deliver (EHLO/HELO, MAIL, RCPT, DATA with
//! dot-unstuffing, RSET, NOOP, QUIT) and offers no extension, so no client tries STARTTLS or AUTH.
//! Dropping it stops the server.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One delivered message.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent, lines joined with "\n".
    pub data: String,
}

impl Mail {
    /// The first header of this name (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\n\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.lines() {
            if let Some(v) = value.as_mut()
                && line.starts_with([' ', '\t'])
            {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }

    pub fn body(&self) -> String {
        self.data.split_once("\n\n").map(|(_, b)| b.to_string()).unwrap_or_default()
    }
}

pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SmtpSink {
    pub fn start() -> Result<SmtpSink, String> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("SMTP sink: bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mails = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let kept = mails.clone();
        let thread = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else { return };
                let accept = async {
                    while let Ok((socket, _)) = listener.accept().await {
                        tokio::spawn(session(socket, kept.clone()));
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        Ok(SmtpSink { port, mails, stop: Some(stop), thread: Some(thread) })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}/", self.port)
    }

    /// The messages delivered so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Waits up to `secs` for at least `n` messages.
    pub fn wait_for(&self, n: usize, secs: u64) -> Vec<Mail> {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let mails = self.mails();
            if mails.len() >= n || std::time::Instant::now() > end {
                return mails;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn session(socket: tokio::net::TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"220 127.0.0.1 tarn test SMTP sink\r\n").await.is_err() {
        return;
    }
    let mut mail = Mail::default();
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 127.0.0.1\r\n",
            "MAIL" => {
                mail = Mail { from: address(&line), ..Mail::default() };
                b"250 OK\r\n"
            }
            "RCPT" => {
                mail.to.push(address(&line));
                b"250 OK\r\n"
            }
            "DATA" => {
                if write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.is_err() {
                    return;
                }
                let mut data = Vec::new();
                while let Ok(Some(l)) = lines.next_line().await {
                    if l == "." {
                        break;
                    }
                    data.push(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(&l).to_string());
                }
                mail.data = data.join("\n");
                if let Ok(mut m) = mails.lock() {
                    m.push(std::mem::take(&mut mail));
                }
                b"250 OK queued\r\n"
            }
            "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The address in `MAIL FROM:<a>` / `RCPT TO:<a>`.
fn address(line: &str) -> String {
    line.split_once('<').and_then(|(_, r)| r.split_once('>')).map(|(a, _)| a.to_string()).unwrap_or_default()
}
