//! Serving an axum `Router` over HTTPS on 127.0.0.1, as Proxmox's pveproxy serves its API (on
//! 8006; here a free port): TCP connections are accepted and their TLS handshakes run each in a
//! task of its own (a client that refuses the certificate stops only its own connection), then
//! handed to `axum::serve` through a [`Listener`]. Stops when dropped. Knows nothing of Proxmox.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::{TlsAcceptor, rustls};

/// How long a client has to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections whose handshake succeeded.
struct Handshaken {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
}

impl Listener for Handshaken {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The acceptor stopped: so does the server (it is being dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// A running HTTPS server. Dropping it stops it.
#[derive(Debug)]
pub struct HttpsServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    acceptor: JoinHandle<()>,
    server: JoinHandle<()>,
}

impl HttpsServer {
    /// Binds 127.0.0.1 on a free port and serves `router` with `tls` until dropped.
    pub async fn start(router: Router, tls: rustls::ServerConfig) -> std::io::Result<HttpsServer> {
        let tcp = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = tcp.local_addr()?;
        let tls = TlsAcceptor::from(Arc::new(tls));
        let (ready_tx, ready) = mpsc::channel(64);
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = tcp.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let (tls, ready_tx) = (tls.clone(), ready_tx.clone());
                tokio::spawn(async move {
                    // A failed handshake (the client refused the certificate) ends this
                    // connection only; nothing of HTTP was read from it.
                    if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                        let _ = ready_tx.send((stream, peer)).await;
                    }
                });
            }
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let listener = Handshaken { ready, addr };
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            let _ = serving.await;
        });
        Ok(HttpsServer { addr, stop: Some(stop), acceptor, server })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("https://{}/", self.addr)
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.acceptor.abort();
        self.server.abort();
    }
}
