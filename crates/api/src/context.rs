//! The state every handler shares: configuration and the database pool.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::limits::{Backoff, RateLimiter};
use crate::metrics::Metrics;
use crate::tiles::TileCache;

/// Server configuration as plain data.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the web app's static files are (`map-ui/`).
    pub ui_dir: PathBuf,
    /// Where uploaded files (photos) are kept.
    pub data_dir: PathBuf,
    /// Largest accepted track upload.
    pub max_track_bytes: usize,
    /// Largest accepted JSON body (import documents included).
    pub max_json_bytes: usize,
    /// How long a login token lives.
    pub token_ttl: Duration,
    /// Largest accepted photo (each one).
    pub max_photo_bytes: usize,
    /// Most photos on one issue report.
    pub max_photos: usize,
    /// Open311 requests one client address may post per hour.
    pub open311_posts_per_hour: usize,
    /// The CJK font of PDF reports; `None`: `$RIVERCHIEF_PDF_FONT`, else
    /// Debian's fonts-wqy-microhei.
    pub pdf_font: Option<PathBuf>,
    /// A connection whose request headers have not all arrived after this
    /// long is closed (slow-header attacks hold sockets otherwise).
    pub header_read_timeout: Duration,
    /// A request body that sends nothing for this long is dropped with a
    /// 408. Per chunk, not per body: a slow rural link that keeps sending
    /// finishes its 20 MiB upload, a phone that lost its signal frees the
    /// connection.
    pub body_idle_timeout: Duration,
    /// A connection on which nothing moves for this long between requests
    /// (or before its first one) is closed.
    pub idle_timeout: Duration,
    /// Most connections served at once; more wait until one closes.
    pub max_connections: usize,
    /// The reverse proxy (an address or a network) whose `X-Forwarded-For`,
    /// `-Host` and `-Proto` headers are believed; from anybody else they
    /// are removed before any handler sees them.
    pub trusted_proxy: Option<ipnet::IpNet>,
    /// The server's public address (`https://hz.example.cn`), the base of
    /// the links it hands out (Open311 `media_url`); `None`: the request's
    /// Host header.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ui_dir: default_ui_dir(),
            data_dir: PathBuf::from(".riverchief"),
            max_track_bytes: 20 * 1024 * 1024,
            max_json_bytes: 20 * 1024 * 1024,
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            max_photo_bytes: 10 * 1024 * 1024,
            max_photos: 6,
            open311_posts_per_hour: 20,
            pdf_font: None,
            header_read_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            trusted_proxy: None,
            public_url: None,
        }
    }
}

/// `./map-ui` when run from a checkout or next to it, else the source tree's.
pub fn default_ui_dir() -> PathBuf {
    let local = PathBuf::from("map-ui");
    if local.join("index.html").exists() {
        local
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../map-ui"))
    }
}

/// Shared by all handlers (cheap to clone).
#[derive(Clone)]
pub struct ApiContext {
    pub pool: store::PgPool,
    pub config: Arc<Config>,
    /// Failed logins per client address, whatever the login.
    pub login_limiter: Arc<RateLimiter>,
    /// Wrong passwords per login and address (`login`) or per account
    /// (`POST /api/v1/auth/password`): a growing wait.
    pub password_guesses: Arc<Backoff>,
    /// Anonymous Open311 posts per client address.
    pub open311_limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
    /// Tiles built, by ETag: a town's many viewers of a week cost one build.
    pub tile_cache: Arc<TileCache>,
}

impl ApiContext {
    pub fn new(pool: store::PgPool, config: Config) -> Self {
        Self {
            pool,
            // Many logins tried from one address (password spraying); per
            // address only, so nobody can lock a chief out from elsewhere.
            login_limiter: Arc::new(RateLimiter::new(100, Duration::from_secs(15 * 60))),
            // 5 wrong passwords free, then 30 s, 1 min, 2 min, … up to 15 min.
            password_guesses: Arc::new(Backoff::new(
                5,
                Duration::from_secs(30),
                Duration::from_secs(15 * 60),
            )),
            open311_limiter: Arc::new(RateLimiter::new(
                config.open311_posts_per_hour,
                Duration::from_secs(3600),
            )),
            metrics: Arc::new(Metrics::default()),
            tile_cache: Arc::new(TileCache::new(crate::tiles::TILE_CACHE_BYTES)),
            config: Arc::new(config),
        }
    }
}
