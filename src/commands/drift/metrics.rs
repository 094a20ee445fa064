//! `--metrics-addr`: Prometheus metrics of scheduled drift checks (prometheus-client, served by
//! a small axum server at `/metrics` in the OpenMetrics text format). Only counts and times:
//! no attribute value ever appears here.

use crate::error::CliError;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// The metrics, all prefixed `tarn_drift_`.
pub struct Metrics {
    registry: Registry,
    checks: Counter,
    failed: Counter,
    drifted: Gauge,
    checked: Gauge,
    detected: Gauge,
    last_check: Gauge<f64, AtomicU64>,
    last_success: Gauge<f64, AtomicU64>,
    duration: Gauge<f64, AtomicU64>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tarn_drift");
        let m = Metrics {
            checks: Counter::default(),
            failed: Counter::default(),
            drifted: Gauge::default(),
            checked: Gauge::default(),
            detected: Gauge::default(),
            last_check: Gauge::default(),
            last_success: Gauge::default(),
            duration: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("checks", "Drift checks run (successful or not)", m.checks.clone());
        registry.register(
            "checks_failed",
            "Drift checks that failed (unreadable object, locked or changing state, bad configuration)",
            m.failed.clone(),
        );
        registry.register("drifted_resources", "Objects drifted at the last successful check", m.drifted.clone());
        registry.register("resources_checked", "Objects read at the last successful check", m.checked.clone());
        registry.register("detected", "1 when the last successful check found drift, else 0", m.detected.clone());
        registry.register_with_unit(
            "last_check_timestamp",
            "When the last check ended (Unix time)",
            Unit::Seconds,
            m.last_check.clone(),
        );
        registry.register_with_unit(
            "last_success_timestamp",
            "When the last successful check ended (Unix time)",
            Unit::Seconds,
            m.last_success.clone(),
        );
        registry.register_with_unit(
            "last_check_duration",
            "How long the last check took",
            Unit::Seconds,
            m.duration.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Records a finished check: `drift` is `(drifted, checked)` for a successful one.
    pub fn observe(&self, drift: Option<(usize, usize)>, seconds: f64, unix_now: f64) {
        self.checks.inc();
        self.last_check.set(unix_now);
        self.duration.set(seconds);
        match drift {
            Some((drifted, checked)) => {
                self.drifted.set(drifted as i64);
                self.checked.set(checked as i64);
                self.detected.set(i64::from(drifted > 0));
                self.last_success.set(unix_now);
            }
            None => {
                self.failed.inc();
            }
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Binds `addr` (failing now, before any check, when it cannot) and serves `/metrics` until
/// the returned task is aborted.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
) -> Result<(tokio::task::JoinHandle<()>, SocketAddr), CliError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Failed(format!("--metrics-addr: cannot listen on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                        metrics.encode(),
                    )
                        .into_response()
                }
            }),
        )
        .route("/", axum::routing::get(|| async { "tarn drift: metrics at /metrics\n" }));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("the metrics server stopped: {e}");
        }
    });
    Ok((task, bound))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_follow_checks() {
        let m = Metrics::new();
        m.observe(Some((2, 5)), 0.25, 1000.0);
        m.observe(None, 0.5, 1060.0);
        let text = m.encode();
        for line in [
            "tarn_drift_checks_total 2",
            "tarn_drift_checks_failed_total 1",
            "tarn_drift_drifted_resources 2",
            "tarn_drift_resources_checked 5",
            "tarn_drift_detected 1",
            "tarn_drift_last_check_timestamp_seconds 1060.0",
            "tarn_drift_last_success_timestamp_seconds 1000.0",
            "tarn_drift_last_check_duration_seconds 0.5",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} missing from\n{text}");
        }
    }
}
