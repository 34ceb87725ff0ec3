//! Prometheus text metrics: requests by route and status, and a latency
//! histogram. Hand-rolled: a few atomics are all this needs.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

const BUCKETS_S: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<([u64; BUCKETS_S.len()], u64, f64)>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let mut latency = self.latency.lock().expect("metrics lock");
        for (i, bound) in BUCKETS_S.iter().enumerate() {
            if seconds <= *bound {
                latency.0[i] += 1;
            }
        }
        latency.1 += 1;
        latency.2 += seconds;
    }

    /// The Prometheus text exposition.
    pub fn render(&self, db_up: bool) -> String {
        let mut out = String::new();
        out.push_str("# HELP riverchief_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE riverchief_http_requests_total counter\n");
        for ((method, route, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "riverchief_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let latency = self.latency.lock().expect("metrics lock");
        out.push_str("# HELP riverchief_http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE riverchief_http_request_duration_seconds histogram\n");
        for (i, bound) in BUCKETS_S.iter().enumerate() {
            let _ = writeln!(
                out,
                "riverchief_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                latency.0[i]
            );
        }
        let _ = writeln!(
            out,
            "riverchief_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\nriverchief_http_request_duration_seconds_sum {}\nriverchief_http_request_duration_seconds_count {}",
            latency.1, latency.2, latency.1
        );
        out.push_str("# HELP riverchief_database_up Whether the database answered just now.\n");
        out.push_str("# TYPE riverchief_database_up gauge\n");
        let _ = writeln!(out, "riverchief_database_up {}", u8::from(db_up));
        out
    }
}

/// Middleware recording every request.
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
