//! End-to-end test helpers: a real server (the whole axum app on a loopback
//! port) over a fresh PostGIS database of its own, and a client for it.

use serde_json::{Value, json};
use store::testing::TestDb;

pub mod issues;
pub mod load;
pub mod process;

/// A running server on 127.0.0.1 with its own database.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub data_dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// A server on an empty database.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server whose configuration `tweak` may change.
    pub async fn start_with(tweak: impl FnOnce(&mut api::Config)) -> Self {
        let db = store::testing::fresh_database().await;
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = api::Config {
            data_dir: data_dir.path().to_path_buf(),
            ..api::Config::default()
        };
        tweak(&mut config);
        let serving = api::Serving::new(&config, None);
        let app = api::router(api::ApiContext::new(db.pool().clone(), config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(api::serve(listener, app, serving, std::future::pending()));
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            db,
            data_dir,
            server,
        }
    }

    /// A server with the demo town loaded (no patrols).
    pub async fn with_demo() -> Self {
        let server = Self::start().await;
        store::demo::load_town(server.db.pool())
            .await
            .expect("demo town");
        server
    }

    /// A server with the demo town and its season of patrols up to `now`.
    pub async fn with_demo_season(
        now: chrono::DateTime<chrono::Utc>,
    ) -> (Self, store::demo::SeasonSummary) {
        let server = Self::start().await;
        let loaded = store::demo::load(server.db.pool(), now)
            .await
            .expect("demo season");
        (server, loaded.season)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs in and returns the bearer token.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"login": login, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login {login}");
        let body: Value = response.json().await.expect("login body");
        body["token"].as_str().expect("token").to_owned()
    }

    /// GET with an optional token; returns status and JSON (Null if none).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.client.get(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        send(request).await
    }

    /// POST JSON with an optional token; returns status and JSON.
    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        send(request).await
    }

    /// The id of the chief with `code`.
    pub async fn chief_id(&self, code: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM chiefs WHERE code = $1")
            .bind(code)
            .fetch_one(self.db.pool())
            .await
            .unwrap_or_else(|e| panic!("chief {code}: {e}"))
    }

    /// Counts rows of a table (for "nothing was kept" checks).
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(self.db.pool())
            .await
            .expect("count")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Sends a request; returns the status and the JSON body (Null if not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Demo logins (see `store::demo`).
pub mod logins {
    pub const ADMIN: (&str, &str) = ("admin", "demo-admin-2026");
    pub const ASSESSOR: (&str, &str) = ("assessor", "demo-assessor-2026");
    pub const TOWN_CHIEF: (&str, &str) = ("dahezhang", "demo-town-2026");
    pub const CHIEF_1: (&str, &str) = ("hz001", "demo-chief-2026");
    pub const CHIEF_2: (&str, &str) = ("hz002", "demo-chief-2026");
}

/// Synthetic but realistic patrol tracks along a polyline.
pub mod tracks {
    use chrono::{DateTime, Utc};

    /// Points every `step_s` seconds walking along `line` at `speed_kmh`,
    /// with deterministic GPS-like noise of about `noise_m` metres.
    pub fn walk(
        line: &[[f64; 2]],
        start: DateTime<Utc>,
        speed_kmh: f64,
        step_s: i64,
        noise_m: f64,
    ) -> Vec<(f64, f64, DateTime<Utc>)> {
        domain::synth::walk(line, start, speed_kmh, step_s, noise_m)
    }

    /// A GPX 1.1 file of the points.
    pub fn gpx(points: &[(f64, f64, DateTime<Utc>)]) -> String {
        domain::synth::gpx(points)
    }

    /// The demo river's points of reach `n` (1-based), as in `store::demo`.
    pub fn demo_reach(n: usize) -> Vec<[f64; 2]> {
        store::demo::reach_line(n)
    }
}
