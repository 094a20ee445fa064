//! Test support (feature `log-capture`): every log line a test binary emits, at trace level,
//! captured in memory, so a test can assert what a provider logs and, above all, what it never
//! logs (a secret). It must not be used outside tests: it installs the process's global
//! subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything logged in this test binary from the moment the capture is installed. A global
/// subscriber, so no event is lost to a thread without one (a scoped subscriber misses events
/// when another thread registers a callsite meanwhile); other tests' lines do no harm to a
/// test that looks for what must be absent.
pub fn captured() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber of this binary");
        log
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
