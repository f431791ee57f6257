//! Operations: `/healthz`, Prometheus `/metrics`, one structured log line
//! per request, and the request guards every route shares (body limit,
//! security headers).
//!
//! The log never carries a My Number or a PIN: a request is logged by its
//! route template (`/api/v1/window/residents/{id}`), never its raw path or
//! query or body, and the authority's errors carry neither.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Upper bounds of the request-duration histogram, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Request counters and durations by route and status.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
    in_flight: AtomicU64,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        drop(requests);
        let mut durations = self.durations.lock().unwrap_or_else(|e| e.into_inner());
        let h = durations.entry(route.to_owned()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP mynacard_http_requests_total HTTP requests answered, by method, route and status.\n");
        out.push_str("# TYPE mynacard_http_requests_total counter\n");
        for ((method, route, status), n) in self.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            out.push_str(&format!(
                "mynacard_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}\n",
                escape(route)
            ));
        }
        out.push_str("# HELP mynacard_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE mynacard_http_request_duration_seconds histogram\n");
        for (route, h) in self.durations.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let route = escape(route);
            for (i, bound) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "mynacard_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}\n",
                    h.buckets[i]
                ));
            }
            out.push_str(&format!(
                "mynacard_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n",
                h.count
            ));
            out.push_str(&format!(
                "mynacard_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n",
                h.sum
            ));
            out.push_str(&format!(
                "mynacard_http_request_duration_seconds_count{{route=\"{route}\"}} {}\n",
                h.count
            ));
        }
        out.push_str("# HELP mynacard_http_requests_in_flight Requests being answered.\n");
        out.push_str("# TYPE mynacard_http_requests_in_flight gauge\n");
        out.push_str(&format!(
            "mynacard_http_requests_in_flight {}\n",
            self.in_flight.load(Ordering::Relaxed)
        ));
        for (name, help, value) in extra {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Counts, times and logs every request; adds the security headers.
pub async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let mut response = next.run(request).await;
    state.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics.record(&method, &route, status, seconds);
    if response.status().is_server_error() {
        tracing::warn!(%method, %route, status, ms = seconds * 1000.0, "request");
    } else {
        tracing::info!(%method, %route, status, ms = seconds * 1000.0, "request");
    }
    let headers = response.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ));
    response
}

/// `/healthz`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// The registry's backend (`sqlite`, `postgres`).
    pub database: String,
    /// Today on the system's clock (JST).
    pub today: chrono::NaiveDate,
    /// Whether the clock is fixed or moved (demo, `--today`).
    pub simulated_clock: bool,
    /// Seconds since start.
    pub uptime_seconds: u64,
}

/// Liveness and readiness: the registry answers a query.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Serving", body = Health), (status = 503, description = "The registry does not answer", body = Health)))]
pub async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    use mynacard_authority::Clock;
    let db = state.authority.db().clone();
    let ok = tokio::task::spawn_blocking(move || db.read(|tx| tx.query("SELECT 1", &[]).map(|_| ())).is_ok())
        .await
        .unwrap_or(false);
    let health = Health {
        status: if ok { "ok" } else { "unavailable" }.into(),
        database: format!("{:?}", state.authority.db().backend()).to_lowercase(),
        today: state.clock.today(),
        simulated_clock: state.clock.is_simulated(),
        uptime_seconds: state.started_at.elapsed().as_secs(),
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health)).into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain")))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let uptime = state.started_at.elapsed().as_secs_f64();
    let body = state
        .metrics
        .render(&[("mynacard_uptime_seconds", "Seconds since the server started.", uptime)]);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// The operations routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// Structured logs on stderr: JSON lines unless `MYNACARD_LOG_FORMAT=text`;
/// the level from `MYNACARD_LOG` (default `info`).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MYNACARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let text = std::env::var("MYNACARD_LOG_FORMAT").is_ok_and(|v| v == "text");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if text {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_by_route_and_fills_the_histogram() {
        let m = Metrics::default();
        m.record("GET", "/healthz", 200, 0.002);
        m.record("GET", "/healthz", 200, 0.3);
        m.record("POST", "/api/v1/x", 409, 0.01);
        let text = m.render(&[]);
        assert!(text.contains("mynacard_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"));
        assert!(text.contains("mynacard_http_requests_total{method=\"POST\",route=\"/api/v1/x\",status=\"409\"} 1"));
        assert!(text.contains("mynacard_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0025\"} 1"));
        assert!(text.contains("mynacard_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.5\"} 2"));
        assert!(text.contains("mynacard_http_request_duration_seconds_count{route=\"/healthz\"} 2"));
    }
}
