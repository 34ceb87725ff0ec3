//! Clients that stall (issue #8, hardening): slow headers close the
//! connection, a body that stops arriving is a 408 that saves nothing, and
//! the server goes on serving everybody else. Issue #14: connections that
//! never speak are closed and their number is capped; weak passwords are
//! refused; password guesses are limited without locking the owner out;
//! forwarded headers count only from the trusted proxy.

use chrono::{Duration as Span, Utc};
use e2e::issues::{jpeg, photo_part, point_on_reach, report_multipart};
use e2e::tracks::{demo_reach, gpx, walk};
use e2e::{TestServer, logins};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn stall_tolerant_server() -> TestServer {
    let server = TestServer::start_with(|config| {
        config.header_read_timeout = Duration::from_secs(1);
        config.body_idle_timeout = Duration::from_secs(1);
    })
    .await;
    store::demo::load_town(server.db.pool())
        .await
        .expect("demo town");
    server
}

/// Sends `head` (and nothing more), then reads until the server closes
/// the connection; returns what it said and how long it took.
async fn send_and_stall(server: &TestServer, head: &[u8]) -> (String, Duration) {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(head).await.expect("write");
    read_until_closed(&mut stream).await
}

async fn still_serving(server: &TestServer) {
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, 200, "the server still answers others");
}

#[tokio::test]
async fn headers_that_never_end_close_the_connection() {
    let server = stall_tolerant_server().await;
    let (answer, waited) = send_and_stall(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: riverchief\r\nX-Slow: ",
    )
    .await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "no answer to a request that never finished: {answer:?}"
    );
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    still_serving(&server).await;
}

#[tokio::test]
async fn an_upload_that_stops_sending_is_a_408_and_saves_nothing() {
    let server = stall_tolerant_server().await;
    let token = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let track = gpx(&walk(
        &demo_reach(1),
        Utc::now() - Span::hours(30),
        4.0,
        5,
        3.0,
    ));
    // The phone sends the headers and a third of the file, then loses its signal.
    let sent = &track.as_bytes()[..track.len() / 3];
    let head = format!(
        "POST /api/v1/patrols HTTP/1.1\r\nHost: riverchief\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/gpx+xml\r\nContent-Length: {}\r\n\r\n",
        track.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(sent);
    let (answer, waited) = send_and_stall(&server, &request).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
    assert_eq!(server.count("patrols").await, 0, "nothing saved");
    still_serving(&server).await;

    // Sent again whole, the same upload is stored.
    let response = server
        .client
        .post(server.url("/api/v1/patrols"))
        .bearer_auth(&token)
        .header("content-type", "application/gpx+xml")
        .body(track)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 201);
    assert_eq!(server.count("patrols").await, 1);
}

// ---------------------------------------------- connections that never speak

/// Reads until the server closes `stream`; answers what it said and when
/// it closed (panics after 10 s).
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection within 10 s")
        .ok();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: riverchief\r\n\r\n";

#[tokio::test]
async fn a_connection_that_never_speaks_is_closed() {
    let server =
        TestServer::start_with(|config| config.idle_timeout = Duration::from_secs(1)).await;
    let mut silent = connect(&server).await;
    let (answer, waited) = read_until_closed(&mut silent).await;
    assert_eq!(answer, "", "nothing to answer");
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    still_serving(&server).await;
}

#[tokio::test]
async fn a_keep_alive_connection_idle_between_requests_is_closed() {
    let server =
        TestServer::start_with(|config| config.idle_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&server).await;
    stream.write_all(HEALTHZ).await.expect("write");
    let (answer, waited) = read_until_closed(&mut stream).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "answered first: {answer}"
    );
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_wait_for_a_free_slot() {
    let server = TestServer::start_with(|config| config.max_connections = 2).await;
    let mut holders = vec![connect(&server).await, connect(&server).await];
    // Both slots are taken once the server has accepted them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut waiting = connect(&server).await;
    waiting.write_all(HEALTHZ).await.expect("write");
    let mut first = [0u8; 12];
    let early = tokio::time::timeout(Duration::from_secs(1), waiting.read_exact(&mut first)).await;
    assert!(
        early.is_err(),
        "a third connection is not served while two are open"
    );

    drop(holders.pop());
    tokio::time::timeout(Duration::from_secs(5), waiting.read_exact(&mut first))
        .await
        .expect("served once a slot is free")
        .expect("read");
    assert_eq!(&first, b"HTTP/1.1 200");
    drop(holders);
}

// ------------------------------------------------------------------- accounts

/// Asserts a 422 `weak_password` naming `field` and `rule`.
fn assert_weak(status: u16, body: &Value, field: &str, rule: &str) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "weak_password", "{body}");
    assert_eq!(body["error"]["details"]["field"], field, "{body}");
    assert_eq!(body["error"]["details"]["rule"], rule, "{body}");
}

#[tokio::test]
async fn weak_passwords_are_refused_wherever_a_password_is_set() {
    let server = TestServer::with_demo().await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    for (new_password, rule) in [
        ("        ", "only_spaces"),
        ("12345678", "too_short"),
        ("123456789a", "common_password"),
        ("WoAiNi1314", "common_password"),
    ] {
        let change = json!({"current_password": logins::CHIEF_1.1, "new_password": new_password});
        let (status, body) = server
            .post_json("/api/v1/auth/password", Some(&chief), &change)
            .await;
        assert_weak(status, &body, "new_password", rule);
    }
    assert_eq!(
        server.get("/api/v1/auth/me", Some(&chief)).await.0,
        200,
        "nothing changed"
    );

    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (_, village) = e2e::issues::chief(&server, &admin, "HZ001").await;
    let (status, body) = server
        .post_json(
            "/api/v1/chiefs",
            Some(&admin),
            &json!({"code": "HZ077", "name": "王新", "level": "village",
                    "village_id": village, "appointed_on": "2026-01-01", "reach_ids": [1],
                    "login": "wangxin2026", "password": "WangXin2026"}),
        )
        .await;
    assert_weak(status, &body, "password", "same_as_login");

    let chiefs_before = server.count("chiefs").await;
    let mut document: Value =
        serde_json::from_str(include_str!("../../../crates/domain/fuzz/seeds/town.json"))
            .expect("town document");
    document["chiefs"][0]["password"] = json!("qq123456789");
    let (status, body) = server
        .post_json("/api/v1/import/town", Some(&admin), &document)
        .await;
    assert_weak(status, &body, "chiefs[0].password", "common_password");
    assert_eq!(
        server.count("chiefs").await,
        chiefs_before,
        "nothing imported"
    );
}

/// A server that believes `X-Forwarded-For` from 127.0.0.1 (the tests'
/// own address), as behind a reverse proxy on the same machine.
async fn behind_a_proxy() -> TestServer {
    let server = TestServer::start_with(|config| {
        config.trusted_proxy = Some(api::forwarded::parse_trusted_proxy("127.0.0.1").unwrap());
    })
    .await;
    store::demo::load_town(server.db.pool())
        .await
        .expect("demo town");
    server
}

/// Logs in as `login` from `address` (in `X-Forwarded-For`); answers the
/// status, the body and the `Retry-After` header.
async fn login_from(
    server: &TestServer,
    address: &str,
    (login, password): (&str, &str),
) -> (u16, Value, Option<String>) {
    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .expect("login");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        retry_after,
    )
}

const ATTACKER: &str = "203.0.113.66";
const OWNER: &str = "198.51.100.7";

/// Ten wrong passwords for hz002 from the attacker's address; answers
/// the statuses.
async fn ten_wrong_guesses(server: &TestServer) -> Vec<u16> {
    let mut statuses = vec![];
    for _ in 0..10 {
        let (status, body, retry_after) =
            login_from(server, ATTACKER, (logins::CHIEF_2.0, "wrong-password-1")).await;
        match status {
            401 => {
                assert_eq!(body["error"]["code"], "invalid_credentials", "{body}");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains("账号或密码错误"), "{message}");
            }
            429 => {
                assert_eq!(body["error"]["code"], "too_many_attempts", "{body}");
                let wait = body["error"]["details"]["retry_after_s"].as_u64().unwrap();
                assert!((1..=900).contains(&wait), "{body}");
                assert_eq!(retry_after, Some(wait.to_string()));
            }
            other => panic!("{other}: {body}"),
        }
        statuses.push(status);
    }
    statuses
}

#[tokio::test]
async fn guesses_from_one_address_do_not_lock_the_owner_out_elsewhere() {
    let server = behind_a_proxy().await;
    let statuses = ten_wrong_guesses(&server).await;
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert_eq!(
        &statuses[5..],
        &[429; 5],
        "then the guesser waits: {statuses:?}"
    );
    // The right password from the guesser's address waits too...
    let (status, _, _) = login_from(&server, ATTACKER, logins::CHIEF_2).await;
    assert_eq!(status, 429);
    // ...but the owner, from their own address, logs in.
    let (status, body, _) = login_from(&server, OWNER, logins::CHIEF_2).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_for_is_ignored() {
    let server = TestServer::with_demo().await;
    let statuses = ten_wrong_guesses(&server).await;
    assert_eq!(&statuses[5..], &[429; 5], "{statuses:?}");
    // All of it came from 127.0.0.1, whatever the header said.
    let (status, _, _) = login_from(&server, OWNER, logins::CHIEF_2).await;
    assert_eq!(status, 429);
    // Other accounts are not locked by it.
    let (status, _, _) = login_from(&server, OWNER, logins::CHIEF_1).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn current_password_guesses_with_a_token_are_limited() {
    let server = TestServer::with_demo().await;
    let stolen = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let guess = |current: &str| json!({"current_password": current, "new_password": "a-fresh-password-2026"});
    for n in 0..5 {
        let (status, body) = server
            .post_json(
                "/api/v1/auth/password",
                Some(&stolen),
                &guess(&format!("guess-{n}")),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["details"]["field"], "current_password");
    }
    let (status, body) = server
        .post_json(
            "/api/v1/auth/password",
            Some(&stolen),
            &guess(logins::CHIEF_1.1),
        )
        .await;
    assert_eq!(status, 429, "even the right one waits now: {body}");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    assert_eq!(
        server.get("/api/v1/auth/me", Some(&stolen)).await.0,
        200,
        "not changed"
    );
    // Another account is not affected.
    let other = server.login(logins::CHIEF_2.0, logins::CHIEF_2.1).await;
    let (status, body) = server
        .post_json(
            "/api/v1/auth/password",
            Some(&other),
            &guess(logins::CHIEF_2.1),
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

// ---------------------------------------------------------------- public URLs

/// An issue with a photo, so that Open311 answers carry a `media_url`;
/// answers its id.
async fn issue_with_photo(server: &TestServer) -> i64 {
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let at = point_on_reach(3);
    let form = reqwest::multipart::Form::new()
        .text("category", "floating_garbage")
        .text("description", "桥下漂浮垃圾")
        .text(
            "location",
            json!({"type": "Point", "coordinates": at}).to_string(),
        )
        .part("photo", photo_part(jpeg(64, 48), "p.jpg", "image/jpeg"));
    let (status, issue) = report_multipart(server, &admin, form).await;
    assert_eq!(status, 201, "{issue}");
    issue["id"].as_i64().unwrap()
}

/// The Open311 answers about issue `id`, asked with forged forwarded headers.
async fn open311_answers(server: &TestServer, id: i64) -> Vec<String> {
    let mut answers = vec![];
    for path in [
        format!("/open311/v2/requests/{id}.json"),
        format!("/open311/v2/requests/{id}.xml"),
        "/open311/v2/requests.json".to_owned(),
        "/open311/v2/requests.xml".to_owned(),
    ] {
        let response = server
            .client
            .get(server.url(&path))
            .header("x-forwarded-host", "evil.example")
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{path}");
        answers.push(response.text().await.unwrap());
    }
    answers
}

fn media_url(answer: &str) -> String {
    let parsed: Value = serde_json::from_str(answer).expect("json");
    parsed[0]["media_url"]
        .as_str()
        .expect("media_url")
        .to_owned()
}

#[tokio::test]
async fn a_forwarded_host_is_never_reflected() {
    let server = TestServer::with_demo().await;
    let id = issue_with_photo(&server).await;
    let answers = open311_answers(&server, id).await;
    for answer in &answers {
        assert!(!answer.contains("evil.example"), "{answer}");
    }
    assert!(media_url(&answers[0]).starts_with(&format!("{}/open311/v2/media/", server.base)));
}

#[tokio::test]
async fn links_use_the_configured_public_url() {
    let server = TestServer::start_with(|config| {
        config.public_url =
            Some(api::forwarded::parse_public_url("https://hz.example.cn/").unwrap());
    })
    .await;
    store::demo::load_town(server.db.pool())
        .await
        .expect("demo town");
    let id = issue_with_photo(&server).await;
    let answers = open311_answers(&server, id).await;
    assert!(!answers.iter().any(|a| a.contains("evil.example")));
    let url = media_url(&answers[0]);
    assert!(
        url.starts_with("https://hz.example.cn/open311/v2/media/"),
        "{url}"
    );
}
