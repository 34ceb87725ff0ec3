//! The office's week end to end (issue #16): channels, reminders, the
//! outbox worker and the scheduler, over a real server and PostgreSQL.
//! A small axum server on 127.0.0.1 stands in for each robot and records
//! what it was sent; it can be told to fail its first attempts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use e2e::{TestServer, logins, send};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// One request a robot received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    query: String,
    headers: HeaderMap,
    body: Value,
    raw: Bytes,
}

#[derive(Clone, Default)]
struct Robot {
    received: Arc<Mutex<Vec<Received>>>,
    /// Attempts still to answer with a 500.
    failures_left: Arc<AtomicUsize>,
    /// How long to take before answering (to overlap two workers).
    delay: Duration,
}

impl Robot {
    async fn start(failures: usize, delay: Duration) -> (Self, String) {
        let robot = Robot {
            failures_left: Arc::new(AtomicUsize::new(failures)),
            delay,
            ..Robot::default()
        };
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(robot.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (robot, base)
    }

    async fn received(&self) -> Vec<Received> {
        self.received.lock().await.clone()
    }
}

async fn receive(
    State(robot): State<Robot>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    raw: Bytes,
) -> (StatusCode, String) {
    tokio::time::sleep(robot.delay).await;
    robot.received.lock().await.push(Received {
        path: uri.path().to_owned(),
        query: query.unwrap_or_default(),
        headers,
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw,
    });
    let failing = robot
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        (StatusCode::INTERNAL_SERVER_ERROR, "busy".into())
    } else {
        (StatusCode::OK, r#"{"errcode":0,"errmsg":"ok"}"#.into())
    }
}

fn hmac_sha256(key: &str, data: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn fast_retries() -> api::outbox::OutboxConfig {
    api::outbox::OutboxConfig {
        first_retry: Duration::from_millis(50),
        max_retry: Duration::from_millis(200),
        poll_interval: Duration::from_millis(20),
        ..Default::default()
    }
}

async fn town_id(server: &TestServer) -> i64 {
    sqlx::query_scalar("SELECT id FROM towns ORDER BY id LIMIT 1")
        .fetch_one(server.db.pool())
        .await
        .unwrap()
}

async fn put_channels(server: &TestServer, token: &str, channels: Value) -> (u16, Value) {
    let town = town_id(server).await;
    send(
        server
            .client
            .put(server.url(&format!("/api/v1/towns/{town}/channels")))
            .bearer_auth(token)
            .json(&json!({ "channels": channels })),
    )
    .await
}

async fn patrol(server: &TestServer, code: &str, at: DateTime<Utc>) {
    let chief = server.chief_id(code).await;
    let mut tx = server.db.pool().begin().await.unwrap();
    store::compliance::insert_minimal_patrol(&mut tx, chief, at, true, 1500.0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn exempt(server: &TestServer, token: &str, code: &str, from: &str, to: &str) {
    let chief = server.chief_id(code).await;
    let body = json!({"chief_id": chief, "from": from, "to": to, "reason": "病假"});
    let (status, answer) = server
        .post_json("/api/v1/exemptions", Some(token), &body)
        .await;
    assert_eq!(status, 201, "{answer}");
}

/// HZ001 has patrolled this week and HZ002 is exempt for it; the rest of
/// the demo town is pending.
async fn this_week_with_one_compliant_one_exempt(server: &TestServer, admin: &str) {
    let now = Utc::now();
    let week = domain::time::IsoWeek::current(now).unwrap();
    patrol(
        server,
        "HZ001",
        (now - TimeDelta::minutes(1)).max(week.start_utc()),
    )
    .await;
    let (monday, sunday) = (week.monday().to_string(), week.sunday().to_string());
    exempt(server, admin, "HZ002", &monday, &sunday).await;
}

async fn deliveries(server: &TestServer, admin: &str) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/deliveries", Some(admin)).await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// Sends due messages until none is pending (or gives up after 10 s).
async fn drain(server: &TestServer, config: &api::outbox::OutboxConfig) {
    let client = api::outbox::http_client(config);
    for _ in 0..500 {
        api::outbox::deliver_due(server.db.pool(), &client, config)
            .await
            .unwrap();
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'")
                .fetch_one(server.db.pool())
                .await
                .unwrap();
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("deliveries still pending after 10 s");
}

#[tokio::test]
async fn each_channel_kind_gets_its_vendor_format_signed() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (robot, base) = Robot::start(0, Duration::ZERO).await;
    let (status, body) = put_channels(
        &server,
        &admin,
        json!([
            {"kind": "wecom", "url": format!("{base}/wecom?key=k1"), "events": ["reminder", "bulletin"]},
            {"kind": "dingtalk", "url": format!("{base}/dingtalk?access_token=t1"), "secret": "SECding",
             "events": ["reminder"]},
            {"kind": "webhook", "url": format!("{base}/hook"), "secret": "hook-key", "events": ["reminder"]},
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["channels"][1]["secret_set"], true);
    assert!(
        !body.to_string().contains("SECding"),
        "secrets are write-only: {body}"
    );
    this_week_with_one_compliant_one_exempt(&server, &admin).await;

    let (status, reminded) = server
        .post_json("/api/v1/reminders", Some(&admin), &json!({}))
        .await;
    assert_eq!(status, 200, "{reminded}");
    let ids: Vec<i64> = reminded["reminded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let (hz001, hz002, hz003) = (
        server.chief_id("HZ001").await,
        server.chief_id("HZ002").await,
        server.chief_id("HZ003").await,
    );
    assert!(ids.contains(&hz003));
    assert!(!ids.contains(&hz001), "compliant chief named");
    assert!(!ids.contains(&hz002), "exempt chief named");
    assert_eq!(reminded["deliveries"].as_array().unwrap().len(), 3);
    let notices: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notices WHERE kind = 'reminder' AND chief_id = ANY($1)
           AND text LIKE '本周（%）尚未巡河，请在周日 24:00 前完成。'",
    )
    .bind(&ids)
    .fetch_one(server.db.pool())
    .await
    .unwrap();
    assert_eq!(notices, ids.len() as i64, "one notice per reminded chief");

    drain(&server, &fast_retries()).await;
    let received = robot.received().await;
    assert_eq!(received.len(), 3);
    let by_path = |p: &str| received.iter().find(|r| r.path == p).unwrap().clone();
    let hz003_phone = "13908710003";

    let wecom = by_path("/wecom");
    assert_eq!(wecom.body["msgtype"], "text");
    assert_eq!(wecom.body.as_object().unwrap().len(), 2, "{}", wecom.body);
    let mentioned = wecom.body["text"]["mentioned_mobile_list"]
        .as_array()
        .unwrap();
    assert!(mentioned.contains(&json!(hz003_phone)));
    assert!(!mentioned.contains(&json!("13908710001")), "HZ001 @-ed");
    assert!(
        wecom.body["text"]["content"]
            .as_str()
            .unwrap()
            .contains("尚未巡河")
    );

    let ding = by_path("/dingtalk");
    assert_eq!(ding.body["msgtype"], "markdown");
    assert!(ding.body["markdown"]["title"].is_string());
    assert!(
        ding.body["at"]["atMobiles"]
            .as_array()
            .unwrap()
            .contains(&json!(hz003_phone))
    );
    // The signature verifies as 钉钉 computes it.
    let params: std::collections::HashMap<String, String> = ding
        .query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(params["access_token"], "t1");
    let timestamp: i64 = params["timestamp"].parse().unwrap();
    assert!((Utc::now().timestamp_millis() - timestamp).abs() < 60_000);
    let expected = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(
        "SECding",
        format!("{timestamp}\nSECding").as_bytes(),
    ));
    let sign = params["sign"]
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    assert_eq!(sign, expected);

    let hook = by_path("/hook");
    assert_eq!(hook.body["event"], "reminder");
    assert_eq!(hook.body["town"]["code"], "530127104");
    let named: Vec<&str> = hook.body["chiefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(named.contains(&"HZ003") && !named.contains(&"HZ001") && !named.contains(&"HZ002"));
    let signature: String = hmac_sha256("hook-key", &hook.raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hook.headers["x-riverchief-signature"].to_str().unwrap(),
        format!("sha256={signature}")
    );

    // Each carries its delivery id; every delivery is sent once.
    let listed = deliveries(&server, &admin).await;
    for r in &received {
        let id = r.headers["x-riverchief-delivery"].to_str().unwrap();
        let d = listed
            .iter()
            .find(|d| d["id"] == id)
            .expect("a delivery per message");
        assert_eq!(
            (d["status"].as_str(), d["attempts"].as_i64()),
            (Some("sent"), Some(1))
        );
        assert!(d["sent_at"].is_string());
    }
}

#[tokio::test]
async fn a_failing_robot_gets_the_message_once_it_answers() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (robot, base) = Robot::start(3, Duration::ZERO).await;
    let (status, body) = put_channels(
        &server,
        &admin,
        json!([{"kind": "wecom", "url": format!("{base}/wecom"), "events": ["reminder"]}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, reminded) = server
        .post_json("/api/v1/reminders", Some(&admin), &json!({}))
        .await;
    assert_eq!(status, 200, "{reminded}");

    drain(&server, &fast_retries()).await;
    let received = robot.received().await;
    assert_eq!(received.len(), 4, "3 failures and 1 success");
    let id = reminded["deliveries"][0]["id"].as_str().unwrap();
    for r in &received {
        assert_eq!(
            r.headers["x-riverchief-delivery"].to_str().unwrap(),
            id,
            "stable id"
        );
    }
    let d = &deliveries(&server, &admin).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("sent"), Some(4))
    );
    assert!(d["last_error"].is_null());
}

#[tokio::test]
async fn a_restart_between_attempts_loses_and_repeats_nothing() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (robot, base) = Robot::start(1, Duration::ZERO).await;
    put_channels(
        &server,
        &admin,
        json!([{"kind": "webhook", "url": format!("{base}/hook"), "events": ["reminder"]}]),
    )
    .await;
    let config = api::outbox::OutboxConfig {
        first_retry: Duration::from_millis(500),
        ..fast_retries()
    };
    let first = api::outbox::spawn_worker(server.db.pool().clone(), config.clone());
    server
        .post_json("/api/v1/reminders", Some(&admin), &json!({}))
        .await;
    wait_for(|| async { robot.received().await.len() == 1 }).await;
    first.abort();
    let d = &deliveries(&server, &admin).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("pending"), Some(1))
    );
    assert!(d["last_error"].as_str().unwrap().contains("500"), "{d}");

    // Another server process on the same database.
    let pool = store::connect(server.db.url()).await.unwrap();
    let second = api::outbox::spawn_worker(pool, config);
    wait_for(|| async { robot.received().await.len() == 2 }).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    second.abort();
    assert_eq!(robot.received().await.len(), 2, "sent exactly once more");
    let d = &deliveries(&server, &admin).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("sent"), Some(2))
    );
}

async fn wait_for<F, Fut>(condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not met in 10 s");
}

#[tokio::test]
async fn two_servers_send_one_reminder() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (robot, base) = Robot::start(0, Duration::from_millis(300)).await;
    put_channels(
        &server,
        &admin,
        json!([{"kind": "wecom", "url": format!("{base}/wecom"), "events": ["reminder"]}]),
    )
    .await;
    // Two schedulers decide at the same moment, Friday 17:30 CST of 2026-W45.
    let now = cst(2026, 11, 6, 17, 30);
    let other_pool = store::connect(server.db.url()).await.unwrap();
    let (a, b) = tokio::join!(
        store::reminders::run_due(server.db.pool(), now),
        store::reminders::run_due(&other_pool, now),
    );
    let ran = a.unwrap().len() + b.unwrap().len();
    let runs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM schedule_runs WHERE kind = 'reminder'")
            .fetch_one(server.db.pool())
            .await
            .unwrap();
    assert_eq!(runs, 1);
    assert!(ran >= 1);
    let first = api::outbox::spawn_worker(server.db.pool().clone(), fast_retries());
    let second = api::outbox::spawn_worker(other_pool, fast_retries());
    wait_for(|| async { robot.received().await.len() == 1 }).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    first.abort();
    second.abort();
    let reminders = robot
        .received()
        .await
        .iter()
        .filter(|r| r.body["msgtype"] == "text")
        .count();
    assert_eq!(reminders, 1, "one reminder for two servers");
}

/// An instant given as CST wall time.
fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() - TimeDelta::hours(8)
}

fn jobs(ran: Vec<store::reminders::Ran>) -> Vec<String> {
    ran.into_iter()
        .map(|r| format!("{} {}", r.job.as_str(), r.week))
        .collect()
}

#[tokio::test]
async fn the_schedule_reminds_on_friday_and_sends_the_bulletin_on_monday() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (robot, base) = Robot::start(0, Duration::ZERO).await;
    put_channels(
        &server,
        &admin,
        json!([{"kind": "wecom", "url": format!("{base}/wecom"), "events": ["reminder", "bulletin"]}]),
    )
    .await;
    // 2026-W45 is 2 to 8 November: HZ001 patrols on Tuesday, HZ002 is on leave.
    patrol(&server, "HZ001", cst(2026, 11, 3, 10, 0)).await;
    exempt(&server, &admin, "HZ002", "2026-11-02", "2026-11-08").await;
    let pool = server.db.pool();
    let run = |now| store::reminders::run_due(pool, now);

    assert_eq!(
        jobs(run(cst(2026, 11, 2, 8, 0)).await.unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        jobs(run(cst(2026, 11, 2, 9, 0)).await.unwrap()),
        ["bulletin 2026-W44"]
    );
    assert_eq!(
        jobs(run(cst(2026, 11, 6, 16, 59)).await.unwrap()),
        Vec::<String>::new()
    );
    // Down at 17:00, back at 20:00: caught up, once.
    assert_eq!(
        jobs(run(cst(2026, 11, 6, 20, 0)).await.unwrap()),
        ["reminder 2026-W45"]
    );
    assert_eq!(
        jobs(run(cst(2026, 11, 6, 20, 1)).await.unwrap()),
        Vec::<String>::new()
    );
    // The next Monday: nothing for the week that is over, then its bulletin.
    assert_eq!(
        jobs(run(cst(2026, 11, 9, 8, 0)).await.unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        jobs(run(cst(2026, 11, 9, 9, 0)).await.unwrap()),
        ["bulletin 2026-W45"]
    );

    drain(&server, &fast_retries()).await;
    let received = robot.received().await;
    let reminders: Vec<&Received> = received
        .iter()
        .filter(|r| r.body["msgtype"] == "text")
        .collect();
    assert_eq!(reminders.len(), 1);
    let text = reminders[0].body["text"]["content"].as_str().unwrap();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM chiefs WHERE code IN ('HZ001', 'HZ002', 'HZ003') ORDER BY code",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        text.contains("2026-W45") && text.contains(&names[2]),
        "{text}"
    );
    assert!(!text.contains(&names[0]), "compliant chief named: {text}");
    assert!(!text.contains(&names[1]), "exempt chief named: {text}");
    let bulletins: Vec<&str> = received
        .iter()
        .filter(|r| r.body["msgtype"] == "markdown")
        .map(|r| r.body["markdown"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(bulletins.len(), 2);
    let w45 = bulletins.iter().find(|b| b.contains("2026-W45")).unwrap();
    assert!(w45.contains(&format!("**已巡河**：{}", names[0])), "{w45}");
    assert!(w45.contains(&format!("**请假**：{}", names[1])), "{w45}");
}

#[tokio::test]
async fn nothing_is_sent_for_a_week_that_is_over() {
    let server = TestServer::with_demo().await;
    // Down from Friday of W45 to Monday 08:00 of W46: W45's reminder is
    // never sent late.
    let ran = store::reminders::run_due(server.db.pool(), cst(2026, 11, 9, 8, 0))
        .await
        .unwrap();
    assert!(ran.is_empty());
    assert_eq!(server.count("notices").await, 0);
    assert_eq!(server.count("schedule_runs").await, 0);
}

#[tokio::test]
async fn the_weekly_bulletin_as_json_and_markdown() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    patrol(&server, "HZ001", cst(2026, 11, 3, 10, 0)).await;
    patrol(&server, "HZ001", cst(2026, 10, 28, 10, 0)).await;
    patrol(&server, "HZ003", cst(2026, 10, 28, 10, 0)).await;
    let (status, body) = server
        .get("/api/v1/reports/weekly?week=2026-W45", Some(&admin))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["week"], "2026-W45");
    assert_eq!(body["figures"]["compliant"], 1);
    assert_eq!(body["figures"]["valid_patrols"], 1);
    assert_eq!(body["previous"]["week"], "2026-W44");
    assert_eq!(body["previous"]["compliant"], 2);
    assert_eq!(body["change"]["compliant"], -1);
    let hz001 = body["chiefs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "HZ001")
        .unwrap();
    assert_eq!(hz001["status"], "compliant");
    assert!(body["villages"].as_array().unwrap().len() > 1);

    let response = server
        .client
        .get(server.url("/api/v1/reports/weekly?week=2026-W45&format=md"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let md = response.text().await.unwrap();
    assert!(
        md.contains("周通报（2026-W45）") && md.contains(hz001["name"].as_str().unwrap()),
        "{md}"
    );

    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let (status, _) = server.get("/api/v1/reports/weekly", Some(&chief)).await;
    assert_eq!(status, 403);
    let (status, body) = server
        .get("/api/v1/reports/weekly?format=doc", Some(&admin))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_format"))
    );
}

#[tokio::test]
async fn channels_are_checked_and_keep_their_secrets() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (status, body) = put_channels(
        &server,
        &admin,
        json!([{"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=x",
                "secret": "SEC1", "events": ["bulletin"]}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["channels"][0]["id"].as_i64().unwrap();
    for (bad, field) in [
        (
            json!({"kind": "slack", "url": "https://x.example/", "events": ["bulletin"]}),
            "kind",
        ),
        (
            json!({"kind": "wecom", "url": "ftp://x.example/", "events": ["bulletin"]}),
            "url",
        ),
        (
            json!({"kind": "wecom", "url": "https://x.example/", "events": ["party"]}),
            "events",
        ),
        (
            json!({"kind": "wecom", "url": "https://x.example/", "events": []}),
            "events",
        ),
    ] {
        let (status, body) = put_channels(&server, &admin, json!([bad])).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            body["error"]["details"]["field"],
            format!("channels[0].{field}")
        );
    }
    // Nothing of the refused PUTs was kept; a PUT without the secret keeps it.
    let (status, body) = put_channels(
        &server,
        &admin,
        json!([{"id": id, "kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=y",
                "events": ["bulletin", "reminder"]}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["channels"][0]["secret_set"], true);
    assert_eq!(
        body["channels"][0]["events"],
        json!(["bulletin", "reminder"])
    );
    let secret: Option<String> = sqlx::query_scalar("SELECT secret FROM channels WHERE id = $1")
        .bind(id)
        .fetch_one(server.db.pool())
        .await
        .unwrap();
    assert_eq!(secret.as_deref(), Some("SEC1"));

    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let town = town_id(&server).await;
    let (status, _) = server
        .get(&format!("/api/v1/towns/{town}/channels"), Some(&chief))
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .post_json("/api/v1/reminders", Some(&chief), &json!({}))
        .await;
    assert_eq!(status, 403);
    let (status, body) = server
        .post_json(
            "/api/v1/reminders",
            Some(&admin),
            &json!({"chief_ids": [999_999]}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = server
        .post_json(
            "/api/v1/reminders",
            Some(&admin),
            &json!({"week": "2026-W01"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("week_not_current"))
    );
    assert_eq!(
        server.count("notices").await,
        0,
        "a refused reminder writes nothing"
    );
}

/// The bulletin as PDF, in the quarterly report's style: a chief's name in
/// its text (`pdftotext`, poppler-utils).
#[cfg(feature = "pdf")]
#[tokio::test]
async fn the_weekly_bulletin_as_pdf() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    patrol(&server, "HZ001", cst(2026, 11, 3, 10, 0)).await;
    let response = server
        .client
        .get(server.url("/api/v1/reports/weekly?week=2026-W45&format=pdf"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let text = super::reports::pdf_text(&pdf);
    let name: String = sqlx::query_scalar("SELECT name FROM chiefs WHERE code = 'HZ001'")
        .fetch_one(server.db.pool())
        .await
        .unwrap();
    assert!(text.contains(&name) && text.contains("2026-W45"), "{text}");
}
