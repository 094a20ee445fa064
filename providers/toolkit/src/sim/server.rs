//! Running an emulator: serve an axum `Router` on 127.0.0.1 port 0 and stop it when the handle
//! is dropped or shut down, so every test owns its server and leaves nothing listening.
//!
//! Binds 127.0.0.1 on a free port unless the user named an address (`tarn sim serve --addr`),
//! and knows nothing about any vendor.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Binds 127.0.0.1 on a free port and serves `router` until stopped.
    pub async fn start(router: Router) -> std::io::Result<SimServer> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), router).await
    }

    /// Serves `router` on `addr` (port 0: a free one) until stopped.
    pub async fn start_on(addr: SocketAddr, router: Router) -> std::io::Result<SimServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::warn!(%error, "emulator stopped with an error");
            }
        });
        Ok(SimServer { addr, stop: Some(stop), task: Some(task) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/`, to use as a client's base URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops accepting, gives in-flight requests a moment, then aborts (a hanging fault never
    /// finishes on its own).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_millis(500), task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[tokio::test]
    async fn serves_on_loopback_and_stops() {
        let server =
            SimServer::start(Router::new().route("/ping", get(|| async { "pong" }))).await.expect("bind loopback");
        assert!(server.addr().ip().is_loopback());
        assert_ne!(server.addr().port(), 0);
        let addr = server.addr();
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("server is listening");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        assert!(answer.ends_with("pong"), "{answer}");
        server.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "server still listening");
    }
}
