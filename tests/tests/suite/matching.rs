//! The office's bulk upload: `POST /api/v1/patrols/match` proposes whose
//! track a file is (the town's chiefs whose reaches it covers, best first)
//! and stores nothing. Real server, real database, the demo town (HZ00n
//! has reach NLJ-0n).

use chrono::{Duration, Utc};
use e2e::tracks::{demo_reach, gpx, walk};
use e2e::{TestServer, logins, send};
use serde_json::{Value, json};

async fn match_file(
    server: &TestServer,
    token: &str,
    body: impl Into<reqwest::Body>,
    content_type: &str,
) -> (u16, Value) {
    send(
        server
            .client
            .post(server.url("/api/v1/patrols/match"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

async fn id_of(server: &TestServer, sql: &str, code: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(code)
        .fetch_one(server.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_track_over_a_reach_proposes_its_chief_first() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let start = Utc::now() - Duration::hours(3);
    let track = gpx(&walk(&demo_reach(3), start, 4.0, 5, 4.0));

    let (status, body) = match_file(&server, &admin, track, "application/gpx+xml").await;
    assert_eq!(status, 200, "{body}");
    let best = &body["candidates"][0];
    let chief = id_of(&server, "SELECT id FROM chiefs WHERE code = $1", "HZ003").await;
    let reach = id_of(&server, "SELECT id FROM reaches WHERE code = $1", "NLJ-03").await;
    assert_eq!(
        (&best["chief_id"], &best["reach_id"]),
        (&json!(chief), &json!(reach)),
        "{body}"
    );
    assert!(!best["name"].as_str().unwrap().is_empty());
    let coverage = best["coverage"].as_f64().unwrap();
    assert!(coverage > 0.9 && coverage <= 1.0, "{body}");
    // Best first.
    let coverages: Vec<f64> = body["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["coverage"].as_f64().unwrap())
        .collect();
    assert!(coverages.windows(2).all(|w| w[0] >= w[1]), "{coverages:?}");

    // Far from every reach: nobody.
    let far: Vec<[f64; 2]> = demo_reach(3)
        .iter()
        .map(|[lon, lat]| [lon + 1.0, *lat])
        .collect();
    let (status, body) = match_file(
        &server,
        &admin,
        gpx(&walk(&far, start, 4.0, 5, 4.0)),
        "application/gpx+xml",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["candidates"], json!([]));
    assert_eq!(server.count("patrols").await, 0, "matching stores nothing");
}

#[tokio::test]
async fn only_the_office_matches_and_bad_files_fail_as_for_upload() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let assessor = server.login(logins::ASSESSOR.0, logins::ASSESSOR.1).await;
    let track = gpx(&walk(
        &demo_reach(1),
        Utc::now() - Duration::hours(3),
        4.0,
        5,
        4.0,
    ));
    for token in [&chief, &assessor] {
        let (status, _) = match_file(&server, token, track.clone(), "application/gpx+xml").await;
        assert_eq!(status, 403);
    }
    let cases: [(&str, &str, u16, &str); 3] = [
        (
            "this is not xml",
            "application/gpx+xml",
            422,
            "malformed_track",
        ),
        (
            "<gpx version=\"1.1\"><trk><trkseg><trkpt lat=\"25.3\" lon=\"103.1\"/><trkpt lat=\"25.31\" lon=\"103.1\"/></trkseg></trk></gpx>",
            "application/gpx+xml",
            422,
            "no_timestamps",
        ),
        ("{}", "text/plain", 415, "unsupported_media_type"),
    ];
    for (body, content_type, status, code) in cases {
        let (got, error) = match_file(&server, &admin, body, content_type).await;
        assert_eq!(
            (got, &error["error"]["code"]),
            (status, &json!(code)),
            "{error}"
        );
    }
    assert_eq!(server.count("patrols").await, 0);
}
