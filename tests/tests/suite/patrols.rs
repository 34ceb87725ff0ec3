//! Patrol uploads end to end: formats, idempotency, verdicts, anti-cheat,
//! visibility and bad input that must change nothing.

use chrono::{Duration, Utc};
use domain::time::IsoWeek;
use e2e::tracks::{demo_reach, gpx, walk};
use e2e::{TestServer, logins, send};
use serde_json::{Value, json};

async fn upload(
    server: &TestServer,
    token: &str,
    body: impl Into<reqwest::Body>,
    content_type: &str,
    query: &str,
) -> (u16, Value) {
    send(
        server
            .client
            .post(server.url(&format!("/api/v1/patrols{query}")))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

fn good_walk(hours_ago: i64) -> String {
    gpx(&walk(
        &demo_reach(1),
        Utc::now() - Duration::hours(hours_ago),
        4.0,
        5,
        4.0,
    ))
}

/// `GET /api/v1/patrols/{id}/original` as the chief.
async fn original_of(server: &TestServer, token: &str, id: i64) -> reqwest::Response {
    server
        .client
        .get(server.url(&format!("/api/v1/patrols/{id}/original")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_walk_along_the_reach_is_valid_and_uploading_again_returns_it() {
    let server = TestServer::with_demo().await;
    let token = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let file = good_walk(3);
    let (status, patrol) = upload(&server, &token, file.clone(), "application/gpx+xml", "").await;
    assert_eq!(status, 201, "{patrol}");
    assert_eq!(patrol["valid"], true, "{patrol}");
    assert_eq!(patrol["reasons"], serde_json::json!([]));
    assert!(patrol["coverage"].as_f64().unwrap() > 0.95, "{patrol}");
    assert!(patrol["length_m"].as_f64().unwrap() > 2000.0);
    assert!(patrol["duration_s"].as_f64().unwrap() > 1800.0);
    let week = domain::time::IsoWeek::of_instant(Utc::now() - Duration::hours(3)).unwrap();
    assert_eq!(patrol["week"], week.to_string());
    for field in [
        "started_at",
        "ended_at",
        "point_count",
        "max_speed_kmh",
        "flags",
        "reaches",
    ] {
        assert!(!patrol[field].is_null(), "{field} missing");
    }
    // The same bytes again: the existing patrol, 200.
    let (status, again) = upload(&server, &token, file.clone(), "application/gpx+xml", "").await;
    assert_eq!((status, &again["id"]), (200, &patrol["id"]));
    assert_eq!(server.count("patrols").await, 1);
    // The original comes back byte for byte, the track as GeoJSON with times.
    let id = patrol["id"].as_i64().unwrap();
    let original = original_of(&server, &token, id).await;
    assert_eq!(original.headers()["content-type"], "application/gpx+xml");
    assert_eq!(original.text().await.unwrap(), file);
    let (status, track) = server
        .get(&format!("/api/v1/patrols/{id}/track"), Some(&token))
        .await;
    assert_eq!(status, 200);
    let n = track["geometry"]["coordinates"].as_array().unwrap().len();
    assert_eq!(n as i64, patrol["point_count"].as_i64().unwrap());
    assert_eq!(
        track["properties"]["coordinateProperties"]["times"]
            .as_array()
            .unwrap()
            .len(),
        n
    );
    // The chief's week is compliant-ready: one valid patrol counted.
    let counted: i32 = sqlx::query_scalar("SELECT valid_patrols FROM chief_weeks")
        .fetch_one(server.db.pool())
        .await
        .unwrap();
    assert_eq!(counted, 1);
}

#[tokio::test]
async fn idempotency_key_gzip_and_multipart() {
    let server = TestServer::with_demo().await;
    let token = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let file = good_walk(5);
    let first = send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .bearer_auth(&token)
            .header("content-type", "application/gpx+xml")
            .header("idempotency-key", "k-1")
            .body(file.clone()),
    )
    .await;
    assert_eq!(first.0, 201, "{}", first.1);
    // A retry with the same key but a re-encoded body (e.g. the app rewrote it) is the same patrol.
    let retry = send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .bearer_auth(&token)
            .header("content-type", "application/gpx+xml")
            .header("idempotency-key", "k-1")
            .body(file.replace("creator=\"riverchief tests\"", "creator=\"x\"")),
    )
    .await;
    assert_eq!((retry.0, &retry.1["id"]), (200, &first.1["id"]));

    use std::io::Write;
    let other = good_walk(30);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(other.as_bytes()).unwrap();
    let gzipped = gz.finish().unwrap();
    assert!(gzipped.len() * 4 < other.len());
    let (status, body) = send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .bearer_auth(&token)
            .header("content-type", "application/gpx+xml")
            .header("content-encoding", "gzip")
            .body(gzipped.clone()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["valid"], true);
    // Kept as the gzip stream received, given back as the file itself.
    let id = body["id"].as_i64().unwrap();
    let (encoding, stored): (Option<String>, i32) = sqlx::query_as(
        "SELECT original_encoding, octet_length(original) FROM patrols WHERE id = $1",
    )
    .bind(id)
    .fetch_one(server.db.pool())
    .await
    .unwrap();
    assert_eq!(
        (encoding.as_deref(), stored as usize),
        (Some("gzip"), gzipped.len())
    );
    let original = original_of(&server, &token, id).await;
    assert_eq!(original.status(), 200);
    assert_eq!(original.bytes().await.unwrap(), other.as_bytes());

    let third = good_walk(60);
    let form = reqwest::multipart::Form::new()
        .part(
            "track",
            reqwest::multipart::Part::text(third).file_name("walk.gpx"),
        )
        .text("notes", "河面有漂浮垃圾，已清理");
    let (status, body) = send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .bearer_auth(&token)
            .multipart(form),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["notes"], "河面有漂浮垃圾，已清理");
}

#[tokio::test]
async fn verdicts_too_fast_too_short_low_coverage_and_replays() {
    let server = TestServer::with_demo().await;
    let chief1 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let chief2 = server.login(logins::CHIEF_2.0, logins::CHIEF_2.1).await;
    let start = Utc::now() - Duration::hours(20);
    let cases = [
        // Driven along the reach at 50 km/h.
        (gpx(&walk(&demo_reach(1), start, 50.0, 2, 3.0)), "too_fast"),
        // Five minutes on the reach.
        (
            gpx(&walk(
                &demo_reach(1)[..4],
                start + Duration::hours(1),
                4.0,
                5,
                3.0,
            )),
            "too_brief",
        ),
        // A walk along another village's reach.
        (
            gpx(&walk(
                &demo_reach(5),
                start + Duration::hours(2),
                4.0,
                5,
                3.0,
            )),
            "outside_assigned_reaches",
        ),
        // A third of the own reach.
        (
            gpx(&walk(
                &demo_reach(1)[..9],
                start + Duration::hours(3),
                3.0,
                5,
                3.0,
            )),
            "low_coverage",
        ),
    ];
    for (file, reason) in cases {
        let (status, body) = upload(&server, &chief1, file, "application/gpx+xml", "").await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["valid"], false, "{reason}: {body}");
        assert!(
            body["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == reason),
            "{reason}: {body}"
        );
    }
    // Chief 2 replays chief 1's walk with every time shifted by a day.
    let points = walk(&demo_reach(2), start, 4.0, 5, 4.0);
    let (status, original) =
        upload(&server, &chief2, gpx(&points), "application/gpx+xml", "").await;
    assert_eq!(
        (status, &original["valid"]),
        (201, &Value::Bool(true)),
        "{original}"
    );
    let shifted: Vec<_> = points
        .iter()
        .map(|(x, y, t)| (*x, *y, *t + Duration::days(1)))
        .collect();
    let (status, copy) = upload(&server, &chief2, gpx(&shifted), "application/gpx+xml", "").await;
    assert_eq!(status, 201, "{copy}");
    assert_eq!(copy["valid"], false);
    assert!(
        copy["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "duplicate_track"),
        "{copy}"
    );
    assert_eq!(copy["duplicate_of"], original["id"]);
}

#[tokio::test]
async fn who_may_upload_and_see() {
    let server = TestServer::with_demo().await;
    let chief1 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let chief2 = server.login(logins::CHIEF_2.0, logins::CHIEF_2.1).await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let assessor = server.login(logins::ASSESSOR.0, logins::ASSESSOR.1).await;
    let chiefs: Value = server.get("/api/v1/chiefs", Some(&admin)).await.1;
    let id_of = |code: &str| {
        chiefs
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (status, _) = upload(
        &server,
        &chief1,
        good_walk(3),
        "application/gpx+xml",
        &format!("?chief_id={}", id_of("HZ002")),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        upload(&server, &assessor, good_walk(3), "application/gpx+xml", "")
            .await
            .0,
        403
    );
    assert_eq!(
        upload(&server, &admin, good_walk(3), "application/gpx+xml", "")
            .await
            .0,
        422
    );
    let (status, patrol) = upload(
        &server,
        &admin,
        good_walk(3),
        "application/gpx+xml",
        &format!("?chief_id={}", id_of("HZ001")),
    )
    .await;
    assert_eq!(status, 201, "{patrol}");
    assert_eq!(patrol["chief_id"], id_of("HZ001"));
    let path = format!("/api/v1/patrols/{}", patrol["id"]);
    assert_eq!(server.get(&path, Some(&chief1)).await.0, 200);
    assert_eq!(server.get(&path, Some(&chief2)).await.0, 404);
    assert_eq!(server.get(&path, Some(&assessor)).await.0, 200);
    assert_eq!(server.get(&path, None).await.0, 401);
    let (_, mine) = server.get("/api/v1/patrols", Some(&chief2)).await;
    assert_eq!(mine.as_array().unwrap().len(), 0);
    let (_, all) = server.get("/api/v1/patrols", Some(&admin)).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    // The town chief (大河长) watches the whole town: every patrol in it.
    let town_chief = server
        .login(logins::TOWN_CHIEF.0, logins::TOWN_CHIEF.1)
        .await;
    assert_eq!(server.get(&path, Some(&town_chief)).await.0, 200);
    let (_, town) = server.get("/api/v1/patrols", Some(&town_chief)).await;
    assert_eq!(town.as_array().unwrap().len(), 1, "{town}");
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_stores_nothing() {
    let server = TestServer::with_demo().await;
    let token = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let t = (Utc::now() - Duration::hours(2))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]><gpx><trk><trkseg><trkpt lat=\"25\" lon=\"103\"><name>&lol3;</name></trkpt></trkseg></trk></gpx>";
    let one_point = format!(
        "<gpx version=\"1.1\"><trk><trkseg><trkpt lat=\"25.3\" lon=\"103.1\"><time>{t}</time></trkpt></trkseg></trk></gpx>"
    );
    let lat95 = format!(
        "<gpx version=\"1.1\"><trk><trkseg><trkpt lat=\"95\" lon=\"103.1\"><time>{t}</time></trkpt><trkpt lat=\"25.3\" lon=\"103.1\"><time>{t}</time></trkpt></trkseg></trk></gpx>"
    );
    let nan = lat95.replace("lat=\"95\"", "lat=\"NaN\"");
    let no_times = "<gpx version=\"1.1\"><trk><trkseg><trkpt lat=\"25.3\" lon=\"103.1\"/><trkpt lat=\"25.31\" lon=\"103.1\"/></trkseg></trk></gpx>".to_owned();
    let cases: Vec<(String, &str, u16, &str)> = vec![
        (String::new(), "application/gpx+xml", 422, "malformed_track"),
        ("this is not xml".into(), "application/gpx+xml", 422, "malformed_track"),
        (good_walk(2)[..500].to_owned(), "application/gpx+xml", 422, "malformed_track"),
        (bomb.into(), "application/gpx+xml", 422, "malformed_track"),
        (no_times, "application/gpx+xml", 422, "no_timestamps"),
        (one_point, "application/gpx+xml", 422, "too_few_points"),
        (lat95, "application/gpx+xml", 422, "invalid_coordinates"),
        (nan, "application/gpx+xml", 422, "invalid_coordinates"),
        ("{\"type\": \"Feature\", \"geometry\": {\"type\": \"LineString\", \"coordinates\": [[NaN, 1]]}}".into(), "application/geo+json", 422, "malformed_track"),
        (good_walk(2), "text/plain", 415, "unsupported_media_type"),
        ("x".repeat(21 * 1024 * 1024), "application/gpx+xml", 413, "payload_too_large"),
    ];
    for (body, content_type, status, code) in cases {
        let (got, response) = upload(&server, &token, body, content_type, "").await;
        assert_eq!(
            (got, response["error"]["code"].as_str()),
            (status, Some(code)),
            "{response}"
        );
        assert!(
            !response["error"]["message"]
                .as_str()
                .unwrap_or("")
                .is_empty()
        );
    }
    // gzip that is not gzip, and a gzip bomb: 21 MiB in a few kB.
    use std::io::Write;
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![b' '; 21 * 1024 * 1024]).unwrap();
    let bomb = bomb.finish().unwrap();
    assert!(bomb.len() < 64 * 1024);
    for (body, status, code) in [
        (b"not gzip at all".to_vec(), 400, "bad_request"),
        (bomb, 413, "payload_too_large"),
    ] {
        let (got, response) = send(
            server
                .client
                .post(server.url("/api/v1/patrols"))
                .bearer_auth(&token)
                .header("content-type", "application/gpx+xml")
                .header("content-encoding", "gzip")
                .body(body),
        )
        .await;
        assert_eq!(
            (got, response["error"]["code"].as_str()),
            (status, Some(code)),
            "{response}"
        );
    }
    let (status, _) = send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .header("content-type", "application/gpx+xml")
            .body(good_walk(2)),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(server.count("patrols").await, 0);
    assert_eq!(server.count("patrol_reaches").await, 0);
    assert_eq!(server.get("/healthz", None).await.0, 200);
}

/// Our coverage agrees with PostGIS geography (ST_Intersection of the reach
/// with the 50 m buffer of the track) within 1%.
#[tokio::test]
async fn coverage_agrees_with_postgis() {
    let server = TestServer::with_demo().await;
    let token = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    // Walk only the first half of the reach, 20 m off the centre line.
    let reach = demo_reach(1);
    let half: Vec<[f64; 2]> = reach[..reach.len() / 2]
        .iter()
        .map(|p| [p[0], p[1] + 0.00018])
        .collect();
    let (status, patrol) = upload(
        &server,
        &token,
        gpx(&walk(&half, Utc::now() - Duration::hours(4), 4.0, 5, 3.0)),
        "application/gpx+xml",
        "",
    )
    .await;
    assert_eq!(status, 201, "{patrol}");
    let ours = patrol["reaches"][0]["coverage"].as_f64().unwrap();
    let postgis: f64 = sqlx::query_scalar(
        "SELECT ST_Length(ST_Intersection(r.geom::geography, ST_Buffer(ST_Force2D(p.track)::geography, 50, 'quad_segs=64'))) / r.length_m
         FROM patrols p JOIN patrol_reaches pr ON pr.patrol_id = p.id JOIN reaches r ON r.id = pr.reach_id",
    )
    .fetch_one(server.db.pool())
    .await
    .unwrap();
    assert!((0.3..0.7).contains(&ours), "{ours}");
    assert!(
        (ours - postgis).abs() < 0.01,
        "ours {ours} vs PostGIS {postgis}"
    );
}

/// A town's admin changes a threshold; later patrols are judged by it.
#[tokio::test]
async fn town_rules_are_settable_by_admins_and_apply_to_new_patrols() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let town_id = server.get("/api/v1/towns", Some(&admin)).await.1[0]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/towns/{town_id}/rules");
    let (status, rules) = server.get(&path, Some(&chief)).await;
    assert_eq!(status, 200);
    assert_eq!(rules["effective"]["min_coverage"], 0.5);
    let put = |token: &str, body: Value| {
        send(
            server
                .client
                .put(server.url(&path))
                .bearer_auth(token.to_owned())
                .json(&body),
        )
    };
    assert_eq!(
        put(&chief, serde_json::json!({"min_coverage": 0.2}))
            .await
            .0,
        403
    );
    let (status, body) = put(&admin, serde_json::json!({"min_coverage": 1.5})).await;
    assert_eq!(
        (status, body["error"]["details"]["field"].as_str()),
        (422, Some("rules"))
    );
    let (status, body) = put(&admin, serde_json::json!({"min_coverage": 0.2})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["effective"]["min_coverage"], 0.2);
    assert_eq!(body["effective"]["min_length_m"], 500.0);
    // A third of the reach is now enough.
    let third = gpx(&walk(
        &demo_reach(1)[..9],
        Utc::now() - Duration::hours(6),
        3.0,
        5,
        3.0,
    ));
    let (status, patrol) = upload(&server, &chief, third, "application/gpx+xml", "").await;
    assert_eq!(status, 201);
    assert_eq!(patrol["valid"], true, "{patrol}");
}

/// HZ001's status in `week` as the office sees it.
async fn week_status(server: &TestServer, admin: &str, week: IsoWeek) -> Value {
    let (status, body) = server
        .get(&format!("/api/v1/compliance?week={week}"), Some(admin))
        .await;
    assert_eq!(status, 200, "{body}");
    body["chiefs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "HZ001")
        .unwrap()["status"]
        .clone()
}

fn reasons_of(patrol: &Value) -> Vec<&str> {
    patrol["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

/// Issue #14's cheat: a real walk plus one `<trkpt>` dated nine days
/// earlier once counted (216 hours long) for that earlier week.
#[tokio::test]
async fn a_walk_plus_one_point_nine_days_earlier_does_not_win_the_earlier_week() {
    let server = TestServer::with_demo().await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let mut points = walk(&demo_reach(1), Utc::now() - Duration::hours(3), 4.0, 5, 4.0);
    let (lon, lat, first) = points[0];
    let planted = first - Duration::days(9);
    points.insert(0, (lon, lat, planted));
    let earlier = IsoWeek::of_instant(planted).unwrap();

    let (status, patrol) = upload(&server, &chief, gpx(&points), "application/gpx+xml", "").await;
    assert_eq!(status, 201, "{patrol}");
    assert_eq!(patrol["week"], earlier.to_string());
    assert!(patrol["duration_s"].as_f64().unwrap() > 9.0 * 86_400.0);
    assert_eq!(patrol["valid"], false, "{patrol}");
    let reasons = reasons_of(&patrol);
    assert!(
        reasons.contains(&"too_long") && reasons.contains(&"time_gap"),
        "{patrol}"
    );
    assert_eq!(week_status(&server, &admin, earlier).await, "missed");
    // The office may still decide otherwise, with a reason.
    let path = format!("/api/v1/patrols/{}/override", patrol["id"]);
    let decision = json!({"valid": true, "reason": "手机时间错误，经村委会核实确已巡河"});
    let (status, body) = server.post_json(&path, Some(&admin), &decision).await;
    assert_eq!((status, &body["valid"]), (200, &json!(true)), "{body}");
    assert_eq!(week_status(&server, &admin, earlier).await, "compliant");
}

/// `late_upload`: a walk from ten days ago, uploaded now, is more than two
/// days past the end of its week; a town may allow more days, or turn the
/// check off (`null`) while entering old records; bad values are a 422.
#[tokio::test]
async fn a_late_upload_is_invalid_unless_the_town_allows_it() {
    let server = TestServer::with_demo().await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let town = server.get("/api/v1/towns", Some(&admin)).await.1[0]["id"]
        .as_i64()
        .unwrap();
    let rules = format!("/api/v1/towns/{town}/rules");
    let set_rules = |body: Value| {
        let request = server.client.put(server.url(&rules)).bearer_auth(&admin);
        send(request.json(&body))
    };
    let walked = Utc::now() - Duration::days(10);
    let week = IsoWeek::of_instant(walked).unwrap();
    let ten_days_ago = |minutes: i64| {
        gpx(&walk(
            &demo_reach(1),
            walked + Duration::minutes(minutes),
            4.0,
            5,
            4.0,
        ))
    };

    let (status, late) = upload(&server, &chief, ten_days_ago(0), "application/gpx+xml", "").await;
    assert_eq!(status, 201, "{late}");
    assert_eq!(reasons_of(&late), ["late_upload"], "{late}");
    assert_eq!(week_status(&server, &admin, week).await, "missed");

    for bad in [
        json!({"upload_grace_days": 0}),
        json!({"max_duration_h": -1}),
        json!({"max_gap_min": "60"}),
    ] {
        let (status, body) = set_rules(bad.clone()).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["error"]["details"]["field"], "rules", "{bad}: {body}");
    }
    let (status, body) = set_rules(json!({"upload_grace_days": 30})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["effective"]["upload_grace_days"], 30.0);
    let (_, allowed) = upload(&server, &chief, ten_days_ago(90), "application/gpx+xml", "").await;
    assert_eq!(allowed["valid"], true, "{allowed}");

    let (status, body) = set_rules(json!({"upload_grace_days": null})).await;
    assert_eq!(status, 200, "{body}");
    let (_, effective) = server.get(&rules, Some(&admin)).await;
    assert!(
        effective["effective"]["upload_grace_days"].is_null(),
        "{effective}"
    );
    let (_, off) = upload(
        &server,
        &chief,
        ten_days_ago(180),
        "application/gpx+xml",
        "",
    )
    .await;
    assert_eq!(off["valid"], true, "{off}");
    assert_eq!(week_status(&server, &admin, week).await, "compliant");
    // The first upload stays as judged: rules apply when a patrol arrives.
    let (_, first) = server
        .get(&format!("/api/v1/patrols/{}", late["id"]), Some(&admin))
        .await;
    assert_eq!(reasons_of(&first), ["late_upload"]);
}
