//! What people send, held to DESIGN's "Limits on what people type" (issue
//! #14): photos that decode to too many pixels, text over its limit, NUL
//! and other control characters anywhere a user can put them; and the
//! small answers around them (a 415 with the envelope, Open311 service
//! definitions).

use std::time::{Duration, Instant};

use chrono::Utc;
use e2e::issues::{geojson_point, photo_part, png_bomb, point_on_reach, report_multipart};
use e2e::tracks::{demo_reach, gpx, walk};
use e2e::{TestServer, logins, send};
use serde_json::{Value, json};

fn good_walk(hours_ago: i64) -> String {
    gpx(&walk(
        &demo_reach(1),
        Utc::now() - chrono::Duration::hours(hours_ago),
        4.0,
        5,
        4.0,
    ))
}

/// A patrol of HZ001 with `notes`, uploaded as multipart.
async fn upload_with_notes(server: &TestServer, token: &str, notes: &str) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .part(
            "track",
            reqwest::multipart::Part::text(good_walk(3)).file_name("walk.gpx"),
        )
        .text("notes", notes.to_owned());
    send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .bearer_auth(token)
            .multipart(form),
    )
    .await
}

/// The request with `pairs` as its `application/x-www-form-urlencoded` body.
fn form_post(request: reqwest::RequestBuilder, pairs: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    request
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
}

fn assert_too_long(status: u16, body: &Value, field: &str, limit: u64) {
    assert_eq!(status, 422, "{field}: {body}");
    assert_eq!(body["error"]["code"], "text_too_long", "{field}: {body}");
    assert_eq!(body["error"]["details"]["field"], field, "{body}");
    assert_eq!(body["error"]["details"]["limit"], limit, "{body}");
    assert_eq!(body["error"]["details"]["length"], limit + 1, "{body}");
}

#[tokio::test]
async fn a_photo_bomb_is_refused_from_its_header_and_nothing_is_stored() {
    let server = TestServer::with_demo().await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let bomb = png_bomb(16384, 16384);
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
    let form = reqwest::multipart::Form::new()
        .text("location", geojson_point(point_on_reach(1)).to_string())
        .text("category", "floating_garbage")
        .part("photo", photo_part(bomb, "bomb.png", "image/png"));
    let started = Instant::now();
    let (status, body) = report_multipart(&server, &chief, form).await;
    let took = started.elapsed();
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "image_too_large", "{body}");
    let details = &body["error"]["details"];
    assert_eq!(
        (details["width"].as_u64(), details["height"].as_u64()),
        (Some(16384), Some(16384))
    );
    assert_eq!(details["max_pixels"], 40_000_000);
    assert!(took < Duration::from_millis(800), "took {took:?}");
    assert_eq!(server.count("issues").await, 0);
    assert_eq!(server.count("photos").await, 0);
    assert!(!server.data_dir.path().join("photos").exists());
}

#[tokio::test]
async fn text_over_its_limit_is_a_422_naming_the_field_and_nothing_is_stored() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let (hz001, _) = e2e::issues::chief(&server, &admin, "HZ001").await;

    // Patrol notes: 2,000.
    let (status, body) = upload_with_notes(&server, &chief, &"河".repeat(2001)).await;
    assert_too_long(status, &body, "notes", 2000);
    assert_eq!(server.count("patrols").await, 0);

    // Issue description: 2,000 (JSON and multipart).
    let report = json!({"location": geojson_point(point_on_reach(1)), "category": "sewage",
                        "description": "污".repeat(2001)});
    let (status, body) = server
        .post_json("/api/v1/issues", Some(&chief), &report)
        .await;
    assert_too_long(status, &body, "description", 2000);
    let form = reqwest::multipart::Form::new()
        .text("location", geojson_point(point_on_reach(1)).to_string())
        .text("category", "sewage")
        .text("description", "污".repeat(2001));
    let (status, body) = report_multipart(&server, &chief, form).await;
    assert_too_long(status, &body, "description", 2000);
    assert_eq!(server.count("issues").await, 0);

    // Transition note: 1,000.
    let issue = e2e::issues::report_ok(&server, &chief, point_on_reach(1)).await;
    let (status, body) = e2e::issues::act(
        &server,
        Some(&admin),
        issue,
        json!({"action": "reject", "note": "无".repeat(1001)}),
    )
    .await;
    assert_too_long(status, &body, "note", 1000);
    let (_, after) = server
        .get(&format!("/api/v1/issues/{issue}"), Some(&admin))
        .await;
    assert_eq!(after["status"], "reported");

    // Override reason: 1,000.
    let (status, patrol) = upload_with_notes(&server, &chief, "正常").await;
    assert_eq!(status, 201, "{patrol}");
    let path = format!("/api/v1/patrols/{}/override", patrol["id"]);
    let (status, body) = server
        .post_json(
            &path,
            Some(&admin),
            &json!({"valid": false, "reason": "因".repeat(1001)}),
        )
        .await;
    assert_too_long(status, &body, "reason", 1000);
    let overridden: i64 =
        sqlx::query_scalar("SELECT count(*) FROM patrols WHERE override_valid IS NOT NULL")
            .fetch_one(server.db.pool())
            .await
            .unwrap();
    assert_eq!(overridden, 0);

    // Exemption reason: 1,000.
    let (status, body) = server
        .post_json(
            "/api/v1/exemptions",
            Some(&admin),
            &json!({"chief_id": hz001, "from": "2026-07-13", "to": "2026-07-19",
                    "reason": "病".repeat(1001)}),
        )
        .await;
    assert_too_long(status, &body, "reason", 1000);
    assert_eq!(server.count("exemptions").await, 0);

    // The import document: a chief's name (64) and phone (32).
    let mut document = store::demo::document();
    document["chiefs"][0]["name"] = json!("张".repeat(65));
    let (status, body) = server
        .post_json("/api/v1/import/town", Some(&admin), &document)
        .await;
    assert_too_long(status, &body, "chiefs[0].name", 64);
    let mut document = store::demo::document();
    document["chiefs"][0]["phone"] = json!("1".repeat(33));
    let (status, body) = server
        .post_json("/api/v1/import/town", Some(&admin), &document)
        .await;
    assert_too_long(status, &body, "chiefs[0].phone", 32);
    document["chiefs"][0]["phone"] = json!("请拨 13800000000");
    let (status, body) = server
        .post_json("/api/v1/import/town", Some(&admin), &document)
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (422, &json!("invalid_phone")),
        "{body}"
    );
    let (_, chief_row) = server
        .get(&format!("/api/v1/chiefs/{hz001}"), Some(&admin))
        .await;
    assert_eq!(chief_row["name"], "张建国");
    assert_eq!(chief_row["phone"], "13908710001");

    // Open311: the description (2,000) in the GeoReport error format.
    let [lon, lat] = point_on_reach(2);
    let (lat, lon, description) = (lat.to_string(), lon.to_string(), "臭".repeat(2001));
    let pairs = [
        ("service_code", "sewage"),
        ("lat", lat.as_str()),
        ("long", lon.as_str()),
        ("description", description.as_str()),
    ];
    let request = server.client.post(server.url("/open311/v2/requests.json"));
    let response = form_post(request, &pairs).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let errors: Value = response.json().await.unwrap();
    assert_eq!(errors[0]["code"], 422, "{errors}");
    assert!(
        errors[0]["description"]
            .as_str()
            .unwrap()
            .contains("description")
    );
    assert_eq!(server.count("issues").await, 1);
}

#[tokio::test]
async fn the_patrol_list_carries_a_preview_of_the_notes_and_the_detail_all_of_them() {
    let server = TestServer::with_demo().await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let notes = format!("{}\n{}", "河面清洁".repeat(250), "末尾".repeat(249));
    assert_eq!(notes.chars().count(), 1499);
    let (status, patrol) = upload_with_notes(&server, &chief, &format!("  {notes}\r\n")).await;
    assert_eq!(status, 201, "{patrol}");
    assert_eq!(patrol["notes"], notes.as_str(), "trimmed, kept whole");

    let (status, list) = server.get("/api/v1/patrols", Some(&chief)).await;
    assert_eq!(status, 200, "{list}");
    let preview = list[0]["notes"].as_str().unwrap();
    assert_eq!(preview.chars().count(), 140);
    assert!(preview.ends_with('…'), "{preview}");
    assert!(notes.starts_with(preview.trim_end_matches('…')));

    let (_, detail) = server
        .get(&format!("/api/v1/patrols/{}", patrol["id"]), Some(&chief))
        .await;
    assert_eq!(detail["notes"], notes.as_str());
}

/// A request with a NUL somewhere: its name and what it answered.
async fn answer(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn nul_and_control_characters_are_4xx_everywhere_never_5xx() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let (hz001, _) = e2e::issues::chief(&server, &admin, "HZ001").await;
    let issue = e2e::issues::report_ok(&server, &chief, point_on_reach(1)).await;
    let issues_before = server.count("issues").await;
    let c = &server.client;
    let url = |p: &str| server.url(p);
    let [lon, lat] = point_on_reach(2);
    let (lon, lat) = (lon.to_string(), lat.to_string());
    let (lon, lat) = (lon.as_str(), lat.as_str());
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "open311 list",
            c.get(url("/open311/v2/requests.json?service_code=sewage%00")),
        ),
        (
            "open311 list status",
            c.get(url("/open311/v2/requests.xml?status=open%00")),
        ),
        (
            "open311 services",
            c.get(url("/open311/v2/services.json?jurisdiction_id=%00")),
        ),
        ("open311 one", c.get(url("/open311/v2/requests/1%00.json"))),
        (
            "open311 post",
            form_post(
                c.post(url("/open311/v2/requests.json")),
                &[("service_code", "sewage\0"), ("lat", lat), ("long", lon)],
            ),
        ),
        (
            "open311 post description",
            form_post(
                c.post(url("/open311/v2/requests.json")),
                &[
                    ("service_code", "sewage"),
                    ("lat", lat),
                    ("long", lon),
                    ("description", "臭\0"),
                ],
            ),
        ),
        (
            "open311 post address",
            form_post(
                c.post(url("/open311/v2/requests.json")),
                &[("service_code", "sewage"), ("address_string", "大村\0村")],
            ),
        ),
        (
            "login",
            c.post(url("/api/v1/auth/login"))
                .json(&json!({"login": "admin\u{0}", "password": "x"})),
        ),
        (
            "patrol list week",
            c.get(url("/api/v1/patrols?week=2026-W01%00"))
                .bearer_auth(&admin),
        ),
        (
            "issue list category",
            c.get(url("/api/v1/issues?category=sewage%00"))
                .bearer_auth(&admin),
        ),
        (
            "issue list status",
            c.get(url("/api/v1/issues?status=%00")).bearer_auth(&admin),
        ),
        (
            "path",
            c.get(url("/api/v1/issues/1%00")).bearer_auth(&admin),
        ),
        (
            "issue creation",
            c.post(url("/api/v1/issues"))
                .bearer_auth(&chief)
                .json(&json!({
                "location": geojson_point(point_on_reach(1)), "category": "sewage\u{0}",
                "description": "ok"})),
        ),
        (
            "issue description",
            c.post(url("/api/v1/issues"))
                .bearer_auth(&chief)
                .json(&json!({
                "location": geojson_point(point_on_reach(1)), "category": "sewage",
                "description": "a\u{0}b"})),
        ),
        (
            "issue multipart category",
            c.post(url("/api/v1/issues")).bearer_auth(&chief).multipart(
                reqwest::multipart::Form::new()
                    .text("location", geojson_point(point_on_reach(1)).to_string())
                    .text("category", "sewage\0"),
            ),
        ),
        (
            "issue multipart description",
            c.post(url("/api/v1/issues")).bearer_auth(&chief).multipart(
                reqwest::multipart::Form::new()
                    .text("location", geojson_point(point_on_reach(1)).to_string())
                    .text("category", "sewage")
                    .text("description", "a\u{1}b"),
            ),
        ),
        (
            "transition note",
            c.post(url(&format!("/api/v1/issues/{issue}/transitions")))
                .bearer_auth(&admin)
                .json(&json!({"action": "reject", "note": "\u{0}"})),
        ),
        (
            "exemption",
            c.post(url("/api/v1/exemptions"))
                .bearer_auth(&admin)
                .json(&json!({
                "chief_id": hz001, "from": "2026-07-13", "to": "2026-07-19", "reason": "病\u{0}"})),
        ),
        (
            "patrol notes",
            c.post(url("/api/v1/patrols"))
                .bearer_auth(&chief)
                .multipart(
                    reqwest::multipart::Form::new()
                        .part(
                            "track",
                            reqwest::multipart::Part::text(good_walk(3)).file_name("walk.gpx"),
                        )
                        .text("notes", "a\0b"),
                ),
        ),
        (
            "exemption list",
            c.get(url("/api/v1/exemptions?from=2026-01-01%00"))
                .bearer_auth(&admin),
        ),
        (
            "compliance week",
            c.get(url("/api/v1/compliance?week=2026-W01%00"))
                .bearer_auth(&admin),
        ),
        (
            "report format",
            c.get(url(
                "/api/v1/reports/quarterly?quarter=2026-Q3&format=json%00",
            ))
            .bearer_auth(&admin),
        ),
    ];
    for (name, request) in cases {
        let (status, body) = answer(request).await;
        assert!((400..500).contains(&status), "{name}: {status} {body}");
    }
    assert_eq!(server.count("issues").await, issues_before);
    assert_eq!(server.count("patrols").await, 0);
    assert_eq!(server.count("exemptions").await, 0);

    // The edge's answer: 422 `control_character` naming the parameter, in
    // the Open311 format on the Open311 API.
    let (status, body) = server
        .get("/api/v1/patrols?week=2026-W01%00", Some(&admin))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "control_character");
    assert_eq!(body["error"]["details"]["field"], "week");
    let (status, body) = server
        .get("/open311/v2/requests.json?status=%00", None)
        .await;
    assert_eq!((status, &body[0]["code"]), (422, &json!(422)), "{body}");
    // Newlines and tabs are fine in free text.
    let (status, body) = server
        .post_json(
            "/api/v1/issues",
            Some(&chief),
            &json!({"location": geojson_point(point_on_reach(1)), "category": "sewage",
                    "description": "第一行\n第二行\t完"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["description"], "第一行\n第二行\t完");
}

#[tokio::test]
async fn an_unknown_content_encoding_is_a_415_with_the_error_envelope() {
    let server = TestServer::with_demo().await;
    let (status, body) = send(
        server
            .client
            .post(server.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .header("content-encoding", "compress")
            .body("{}"),
    )
    .await;
    assert_eq!(status, 415);
    assert_eq!(body["error"]["code"], "unsupported_media_type", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("compress")
    );
}

#[tokio::test]
async fn open311_service_definitions_have_no_attributes() {
    let server = TestServer::with_demo().await;
    let (status, body) = server.get("/open311/v2/services/sewage.json", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"service_code": "sewage", "attributes": []}));
    let xml = server
        .client
        .get(server.url("/open311/v2/services/sewage.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), 200);
    let xml = xml.text().await.unwrap();
    assert!(xml.contains("<service_code>sewage</service_code>"), "{xml}");
    let (status, body) = server.get("/open311/v2/services/no_such.json", None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body[0]["code"], 404, "{body}");
    let (_, openapi) = server.get("/openapi.json", None).await;
    assert!(
        openapi["paths"]["/open311/v2/services/{service_file}"]["get"].is_object(),
        "in the OpenAPI document"
    );
}
