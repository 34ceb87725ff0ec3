//! The server's background work for the office's week: the outbox worker
//! that sends due deliveries to the channels (with exponential backoff for
//! 24 h), and the scheduler that runs each town's `remind_at` and
//! `bulletin_at` jobs. Both keep their state in the database, so a
//! restart loses nothing and several servers may run them side by side.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use domain::channels::{ChannelKind, dingtalk_url, retry_delay, webhook_signature};
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::connect::HttpConnector;
use store::PgPool;
use store::outbox::Claim;

/// How the worker sends and retries.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// The wait after the first failed attempt; doubled after each one.
    pub first_retry: Duration,
    /// The longest wait between attempts.
    pub max_retry: Duration,
    /// After this long since it was queued a message is `failed`.
    pub give_up_after: Duration,
    /// How often the worker looks for due messages.
    pub poll_interval: Duration,
    /// The longest one attempt may take (connect and answer).
    pub request_timeout: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// The HTTP client for channels: hyper over rustls with ring and the
/// system's roots. No redirects (a robot address that redirects is
/// misconfigured); timeouts in [`send`].
pub type ChannelClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<HttpConnector>,
    http_body_util::Full<Bytes>,
>;

/// Builds the [`ChannelClient`].
pub fn http_client(config: &OutboxConfig) -> ChannelClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(config.request_timeout.min(Duration::from_secs(5))));
    http.enforce_http(false);
    let provider = rustls::crypto::ring::default_provider();
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .unwrap_or_else(|e| {
            // No system roots (a bare container): plain-http channels still work.
            tracing::warn!(error = %e, "no TLS root certificates: https channels will fail");
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        });
    let https = builder.https_or_http().enable_http1().wrap_connector(http);
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https)
}

/// Sends one claimed message. The error says what went wrong without the
/// address (robot addresses carry their key).
async fn send(client: &ChannelClient, claim: &Claim, timeout: Duration) -> Result<(), String> {
    if claim.channel_removed {
        return Err("渠道已删除 / the channel was removed".to_owned());
    }
    let url = match claim.kind {
        ChannelKind::Dingtalk => dingtalk_url(
            &claim.url,
            claim.secret.as_deref(),
            Utc::now().timestamp_millis(),
        ),
        ChannelKind::Wecom | ChannelKind::Webhook => claim.url.clone(),
    };
    let mut request = hyper::Request::post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-riverchief-delivery", claim.id.to_string());
    if let (ChannelKind::Webhook, Some(secret)) = (claim.kind, claim.secret.as_deref()) {
        request = request.header(
            "x-riverchief-signature",
            webhook_signature(secret, claim.body.as_bytes()),
        );
    }
    let request = request
        .body(http_body_util::Full::new(Bytes::from(claim.body.clone())))
        .map_err(|_| "the channel's address is not a valid URL".to_owned())?;
    let exchange = async {
        let response = client.request(request).await.map_err(error_chain)?;
        let status = response.status();
        let answer = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Ok::<_, String>((status, String::from_utf8_lossy(&answer).into_owned()))
    };
    let (status, answer) = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs()))??;
    if !status.is_success() {
        return Err(format!("HTTP {}: {}", status.as_u16(), excerpt(&answer)));
    }
    vendor_error(claim.kind, &answer).map_or(Ok(()), Err)
}

/// An error and its causes ("client error (Connect): tcp connect error:
/// Connection refused"); hyper's errors do not carry the URL.
fn error_chain(e: impl std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// 企业微信 and 钉钉 answer 200 with `{"errcode": n, "errmsg"}`; n ≠ 0 is
/// a refusal (wrong key, bad signature, rate limit).
fn vendor_error(kind: ChannelKind, answer: &str) -> Option<String> {
    if kind == ChannelKind::Webhook {
        return None;
    }
    let body: serde_json::Value = serde_json::from_str(answer).ok()?;
    match body.get("errcode").and_then(serde_json::Value::as_i64) {
        Some(0) | None => None,
        Some(code) => Some(format!(
            "errcode {code}: {}",
            excerpt(body["errmsg"].as_str().unwrap_or(""))
        )),
    }
}

fn excerpt(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Sends every due message (one at a time, each under its row lock);
/// returns how many were attempted.
pub async fn deliver_due(
    pool: &PgPool,
    client: &ChannelClient,
    config: &OutboxConfig,
) -> store::Result<usize> {
    let mut attempted = 0;
    while let Some(claim) = store::outbox::claim_due(pool).await? {
        attempted += 1;
        let id = claim.id;
        match send(client, &claim, config.request_timeout).await {
            Ok(()) => claim.sent().await?,
            Err(error) => {
                tracing::warn!(delivery = %id, %error, "delivery attempt failed");
                let retry = retry_delay(
                    u32::try_from(claim.attempts + 1).unwrap_or(u32::MAX),
                    config.first_retry,
                    config.max_retry,
                );
                claim.failed(&error, retry, config.give_up_after).await?;
            }
        }
    }
    Ok(attempted)
}

/// The outbox worker: sends due messages every `poll_interval` until the
/// task is aborted.
pub fn spawn_worker(pool: PgPool, config: OutboxConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = http_client(&config);
        loop {
            if let Err(e) = deliver_due(&pool, &client, &config).await {
                tracing::warn!(error = %e, "outbox worker: database error; retrying");
            }
            tokio::time::sleep(config.poll_interval).await;
        }
    })
}

/// Where the scheduler reads the time (tests drive their own).
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The scheduler: every `interval`, runs the jobs due by `clock` that no
/// server has run yet for their week.
pub fn spawn_scheduler(
    pool: PgPool,
    clock: Arc<dyn Clock>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match store::reminders::run_due(&pool, clock.now()).await {
                Ok(ran) => {
                    for r in ran {
                        tracing::info!(town_id = r.town_id, job = r.job.as_str(), week = %r.week,
                            deliveries = r.deliveries, "scheduled job ran");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "scheduler: database error; retrying"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}
