//! What the load generators (`src/bin/`) and the process tests share:
//! logging in over HTTP and reading percentiles off sorted latencies.

use serde_json::{Value, json};
use std::time::Duration;

/// Logs in to the server at `base` (`http://127.0.0.1:PORT`) and returns
/// the bearer token; panics with the reason if it cannot.
pub async fn login(http: &reqwest::Client, base: &str, login: &str, password: &str) -> String {
    let body: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("cannot log in as {login}: {e}"))
        .json()
        .await
        .expect("login body");
    body["token"].as_str().expect("token").to_owned()
}

/// The `p` quantile (0..=1, nearest rank) of `sorted`, in milliseconds;
/// NaN when there is nothing.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

/// A base URL from the command line, without a trailing slash (for clap).
pub fn base_url(url: &str) -> Result<String, String> {
    Ok(url.trim_end_matches('/').to_owned())
}
