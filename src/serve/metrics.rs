//! `/metrics` in the Prometheus text format (prometheus-client's OpenMetrics encoding), and
//! the middleware that counts and times every request and logs it as one structured line
//! (tracing, target `tarn::serve`: method, route, status, milliseconds). Only routes, codes and
//! times: never a body, a name or a credential.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Labels {
    pub method: String,
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

/// The server's metrics, prefixed `tarn_serve_`.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pub runs_in_flight: Gauge,
}

fn buckets() -> Histogram {
    // From 5 ms (a schema or a 404) to two minutes (a deploy that waits for OpenNebula).
    Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0])
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tarn_serve");
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(buckets as fn() -> Histogram);
        let runs_in_flight = Gauge::default();
        registry.register("requests", "HTTP requests answered, by method, route and status", requests.clone());
        registry.register_with_unit(
            "request_duration",
            "Time to answer a request, by method and route",
            Unit::Seconds,
            latency.clone(),
        );
        registry.register("runs_in_flight", "Runs (plan and apply of one runtime) in progress", runs_in_flight.clone());
        Metrics { registry, requests, latency, runs_in_flight }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// `GET /metrics`.
pub async fn serve(State(metrics): State<Arc<Metrics>>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], metrics.encode())
        .into_response()
}

/// Counts, times and logs every request.
pub async fn observe(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    metrics
        .requests
        .get_or_create(&Labels { method: method.clone(), route: route.clone(), status: status.to_string() })
        .inc();
    metrics.latency.get_or_create(&RouteLabels { method: method.clone(), route: route.clone() }).observe(seconds);
    tracing::info!(target: "tarn::serve", %method, %route, %path, status, ms = (seconds * 1000.0).round() as u64, "request");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_histograms_are_encoded_by_route_and_status() {
        let m = Metrics::new();
        let l = Labels { method: "GET".into(), route: "/server/version".into(), status: "200".into() };
        m.requests.get_or_create(&l).inc();
        m.latency.get_or_create(&RouteLabels { method: "GET".into(), route: "/server/version".into() }).observe(0.002);
        m.runs_in_flight.inc();
        let text = m.encode();
        assert!(
            text.contains("tarn_serve_requests_total{method=\"GET\",route=\"/server/version\",status=\"200\"} 1"),
            "{text}"
        );
        assert!(text.contains("tarn_serve_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("tarn_serve_runs_in_flight 1"), "{text}");
    }
}
