//! Clients that stall (issue #8, hardening): slow headers close the
//! connection, a body that stops arriving is a 408 that saves nothing, and
//! the server goes on serving everybody else.

use chrono::{Duration as Span, Utc};
use e2e::tracks::{demo_reach, gpx, walk};
use e2e::{TestServer, logins};
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
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes a stalled connection within 10 s")
        .ok();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
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
