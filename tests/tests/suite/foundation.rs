//! Foundation end to end: import, roster GeoJSON, auth and the role matrix.

use e2e::{TestServer, logins};
use geo::{Geodesic, Length, LineString};
use serde_json::{Value, json};

fn small_town() -> Value {
    json!({
      "town": {"code": "530127104", "name": "牛栏江镇"},
      "villages": [{"code": "530127104201", "name": "大村村"}],
      "branches": [{"code": "B01", "name": "大村村党总支", "village": "530127104201"}],
      "rivers": [{"code": "NLJ", "name": "牛栏江"}],
      "reaches": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[103.1, 25.3], [103.11, 25.31], [103.12, 25.315]]},
         "properties": {"code": "NLJ-01", "name": "牛栏江大村段", "river": "NLJ", "village": "530127104201"}}]},
      "chiefs": [{"code": "HZ001", "name": "张三", "phone": "13800000000", "level": "village",
                  "village": "530127104201", "branch": "B01", "appointed_on": "2026-01-01",
                  "reaches": ["NLJ-01"], "login": "hz001", "password": "initial-secret"},
                 {"code": "HZ000", "name": "李四", "level": "town", "appointed_on": "2026-01-01"}]
    })
}

const TABLES: [&str; 8] = [
    "towns",
    "villages",
    "branches",
    "rivers",
    "reaches",
    "chiefs",
    "assignments",
    "users",
];

async fn counts(server: &TestServer) -> Vec<i64> {
    let mut out = vec![];
    for t in TABLES {
        out.push(server.count(t).await);
    }
    out
}

#[tokio::test]
async fn importing_a_town_twice_keeps_the_same_rows() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    // The demo is town 530127104 too: importing the small document updates it.
    let (status, first) = server
        .post_json("/api/v1/import/town", Some(&admin), &small_town())
        .await;
    assert_eq!(status, 200, "{first}");
    let after_first = counts(&server).await;
    let (status, second) = server
        .post_json("/api/v1/import/town", Some(&admin), &small_town())
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(counts(&server).await, after_first);
    assert_eq!(first["town_id"], second["town_id"]);
    assert_eq!(second["users_created"], 0);
}

#[tokio::test]
async fn a_bad_reference_is_a_422_naming_it_and_keeps_nothing() {
    let server = TestServer::start().await;
    let mut conn = server.db.pool().acquire().await.unwrap();
    store::auth::create_user(
        &mut conn,
        store::auth::NewUser {
            login: "root",
            password: "root-password",
            role: store::auth::Role::Admin,
            chief_id: None,
            town_id: None,
        },
    )
    .await
    .unwrap();
    let token = server.login("root", "root-password").await;
    let before = counts(&server).await;
    let cases = [
        ("/chiefs/0/branch", json!("B99"), "chiefs[0].branch"),
        (
            "/chiefs/0/reaches",
            json!(["NLJ-99"]),
            "chiefs[0].reaches[0]",
        ),
        (
            "/reaches/features/0/properties/river",
            json!("XX"),
            "reaches.features[0].properties.river",
        ),
        (
            "/reaches/features/0/geometry/coordinates",
            json!([[103.1, 95.0], [103.2, 25.3]]),
            "reaches.features[0].geometry",
        ),
        (
            "/reaches/features/0/geometry/coordinates",
            json!([[103.1, 25.3]]),
            "reaches.features[0].geometry",
        ),
    ];
    for (pointer, value, field) in cases {
        let mut doc = small_town();
        *doc.pointer_mut(pointer).unwrap() = value;
        let (status, body) = server
            .post_json("/api/v1/import/town", Some(&token), &doc)
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["details"]["field"], field, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(field));
        assert_eq!(counts(&server).await, before, "nothing kept after {field}");
    }
    // A login of another account is refused inside the transaction: still nothing kept.
    let mut doc = small_town();
    doc["chiefs"][0]["login"] = json!("root");
    let (status, body) = server
        .post_json("/api/v1/import/town", Some(&token), &doc)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(counts(&server).await, before);
    // Malformed JSON: a 400 in our error format.
    let (status, body) = e2e::send(
        server
            .client
            .post(server.url("/api/v1/import/town"))
            .bearer_auth(&token)
            .body("{not json"),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_field");
}

#[tokio::test]
async fn reaches_are_rfc7946_geojson_with_geodesic_lengths() {
    let server = TestServer::with_demo().await;
    let token = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let (status, body) = server.get("/api/v1/reaches", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["type"], "FeatureCollection");
    let features = body["features"].as_array().unwrap();
    assert_eq!(features.len(), 16);
    for f in features {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "MultiLineString");
        let line: LineString<f64> = f["geometry"]["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        // lon first: the demo town is at ~103 E, 25 N.
        assert!(
            line.0
                .iter()
                .all(|c| (102.0..104.0).contains(&c.x) && (25.0..26.0).contains(&c.y))
        );
        let reference = Geodesic.length(&line);
        let length_m = f["properties"]["length_m"].as_f64().unwrap();
        assert!(
            (length_m - reference).abs() / reference < 0.005,
            "{length_m} vs {reference}"
        );
    }
}

/// Who may do what on the endpoints of the foundation.
#[tokio::test]
async fn the_role_matrix() {
    let server = TestServer::with_demo().await;
    let mut tokens = vec![("none", None)];
    for (who, (login, password)) in [
        ("admin", logins::ADMIN),
        ("assessor", logins::ASSESSOR),
        ("town_chief", logins::TOWN_CHIEF),
        ("chief", logins::CHIEF_1),
    ] {
        tokens.push((who, Some(server.login(login, password).await)));
    }
    tokens.push(("bogus", Some("not-a-token".to_owned())));
    let reads = [
        "/api/v1/towns",
        "/api/v1/villages",
        "/api/v1/branches",
        "/api/v1/rivers",
        "/api/v1/chiefs",
        "/api/v1/reaches",
        "/api/v1/assignments",
        "/api/v1/auth/me",
    ];
    for (who, token) in &tokens {
        for path in reads {
            let (status, _) = server.get(path, token.as_deref()).await;
            let expected = if matches!(*who, "none" | "bogus") {
                401
            } else {
                200
            };
            assert_eq!(status, expected, "{who} GET {path}");
        }
        let writes = [
            ("/api/v1/import/town", small_town()),
            (
                "/api/v1/assignments",
                json!({"chief_id": 1, "reach_id": 2, "from": "2026-06-01"}),
            ),
            (
                "/api/v1/villages",
                json!({"code": "530127104298", "name": "矩阵村"}),
            ),
            (
                "/api/v1/branches",
                json!({"code": "BM", "name": "矩阵支部"}),
            ),
            ("/api/v1/rivers", json!({"code": "MX", "name": "矩阵河"})),
            (
                "/api/v1/reaches",
                json!({"type": "Feature",
                       "geometry": {"type": "LineString", "coordinates": [[103.2, 25.4], [103.21, 25.41]]},
                       "properties": {"code": "MX-01", "name": "矩阵段", "river_id": 1}}),
            ),
            (
                "/api/v1/chiefs",
                json!({"code": "HZM", "name": "矩阵", "level": "town", "appointed_on": "2026-01-01"}),
            ),
        ];
        for (path, body) in writes {
            let (status, response) = server.post_json(path, token.as_deref(), &body).await;
            let expected = match *who {
                "none" | "bogus" => 401,
                "admin" if path.ends_with("import/town") => 200,
                "admin" => 201,
                _ => 403,
            };
            assert_eq!(status, expected, "{who} POST {path}: {response}");
            if status >= 400 {
                assert!(response["error"]["code"].is_string(), "{response}");
            }
        }
    }
}

#[tokio::test]
async fn tokens_end_on_logout_and_password_change() {
    let server = TestServer::with_demo().await;
    let first = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let second = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let (status, _) = e2e::send(
        server
            .client
            .post(server.url("/api/v1/auth/logout"))
            .bearer_auth(&first),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(server.get("/api/v1/auth/me", Some(&first)).await.0, 401);
    assert_eq!(server.get("/api/v1/auth/me", Some(&second)).await.0, 200);
    let change = json!({"current_password": logins::CHIEF_1.1, "new_password": "a-new-password"});
    let (status, body) = server
        .post_json("/api/v1/auth/password", Some(&second), &change)
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(server.get("/api/v1/auth/me", Some(&second)).await.0, 401);
    server.login(logins::CHIEF_1.0, "a-new-password").await;
}

#[tokio::test]
async fn failed_logins_are_rate_limited() {
    let server = TestServer::with_demo().await;
    let wrong = json!({"login": "hz002", "password": "wrong-password"});
    let mut statuses = vec![];
    for _ in 0..7 {
        statuses.push(server.post_json("/api/v1/auth/login", None, &wrong).await.0);
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert_eq!(&statuses[5..], &[429; 2]);
    // Even the right password waits now, from this address (see
    // hardening:: for the owner at another one).
    let right = json!({"login": "hz002", "password": logins::CHIEF_2.1});
    assert_eq!(
        server.post_json("/api/v1/auth/login", None, &right).await.0,
        429
    );
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/healthz", None).await.0, 200);
    let (status, body) = server.get("/readyz", None).await;
    assert_eq!((status, body["database"].as_str()), (200, Some("ok")));
    let metrics = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("riverchief_http_requests_total"));
    assert!(metrics.contains("riverchief_database_up 1"));
    let (status, openapi) = server.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(openapi["paths"]["/api/v1/import/town"]["post"].is_object());
    let response = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    assert!(response.headers().contains_key("content-security-policy"));
}

/// `POST /api/v1/{villages,branches,rivers,reaches,chiefs}`: one row at a
/// time into the admin's town; the new chief can log in and is listed with
/// the new reach; a taken code is a 409 and a bad reference a 422 naming
/// the field, and neither keeps anything.
#[tokio::test]
async fn single_roster_rows_are_created_one_by_one() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let post = async |path: &str, body: Value| server.post_json(path, Some(&admin), &body).await;

    let (status, village) = post(
        "/api/v1/villages",
        json!({"code": "530127104299", "name": "新村村"}),
    )
    .await;
    assert_eq!(status, 201, "{village}");
    let (status, branch) = post(
        "/api/v1/branches",
        json!({"code": "B99", "name": "新村村党支部", "village_id": village["id"]}),
    )
    .await;
    assert_eq!(status, 201, "{branch}");
    assert_eq!(branch["village_id"], village["id"]);
    let (status, river) = post("/api/v1/rivers", json!({"code": "XC", "name": "新村河"})).await;
    assert_eq!(status, 201, "{river}");
    let line = [[103.20, 25.40], [103.21, 25.41], [103.22, 25.415]];
    let (status, reach) = post(
        "/api/v1/reaches",
        json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": line},
               "properties": {"code": "XC-01", "name": "新村河新村段",
                              "river_id": river["id"], "village_id": village["id"]}}),
    )
    .await;
    assert_eq!(status, 201, "{reach}");
    let expected_m = Geodesic.length(&LineString::<f64>::from(line.to_vec()));
    let length_m = reach["properties"]["length_m"].as_f64().unwrap();
    assert!(
        (length_m - expected_m).abs() < expected_m * 0.005,
        "{length_m} vs {expected_m}"
    );
    let (status, chief) = post(
        "/api/v1/chiefs",
        json!({"code": "HZ099", "name": "王新", "phone": "13900000099", "level": "village",
               "village_id": village["id"], "branch_id": branch["id"],
               "appointed_on": "2026-01-01", "reach_ids": [reach["id"]],
               "login": "hz099", "password": "new-chief-2026"}),
    )
    .await;
    assert_eq!(status, 201, "{chief}");
    assert_eq!(chief["reach_ids"], json!([reach["id"]]));
    let token = server.login("hz099", "new-chief-2026").await;
    let (_, me) = server.get("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(me["chief_id"], chief["id"], "{me}");

    // A taken code: 409, nothing more stored.
    let before = counts(&server).await;
    let (status, error) = post("/api/v1/rivers", json!({"code": "XC", "name": "又一条"})).await;
    assert_eq!(status, 409, "{error}");
    // Bad references and fields: 422 naming the field.
    let bad = [
        (
            "/api/v1/villages",
            json!({"code": "110101001001", "name": "外镇村"}),
            "code",
        ),
        (
            "/api/v1/branches",
            json!({"code": "B98", "name": "某支部", "village_id": 999_999}),
            "village_id",
        ),
        (
            "/api/v1/reaches",
            json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[103.2, 95.0], [103.3, 25.4]]},
                   "properties": {"code": "XC-02", "name": "坏段", "river_id": river["id"]}}),
            "geometry",
        ),
        (
            "/api/v1/chiefs",
            json!({"code": "HZ098", "name": "赵错", "level": "village", "village_id": village["id"],
                   "appointed_on": "2026-01-01", "reach_ids": [reach["id"], 999_999],
                   "login": "hz098", "password": "new-chief-2026"}),
            "reach_ids[1]",
        ),
        (
            "/api/v1/chiefs",
            json!({"code": "HZ098", "name": "赵错", "level": "town", "village_id": village["id"],
                   "appointed_on": "2026-01-01"}),
            "village_id",
        ),
        (
            "/api/v1/chiefs",
            json!({"code": "HZ098", "name": "赵错", "level": "village", "village_id": village["id"],
                   "appointed_on": "2026-01-01", "reach_ids": [reach["id"]], "login": "hz001",
                   "password": "new-chief-2026"}),
            "",
        ),
    ];
    for (path, body, field) in bad {
        let (status, error) = post(path, body).await;
        if field.is_empty() {
            assert_eq!(status, 409, "{path}: {error}"); // the login is taken
        } else {
            assert_eq!(status, 422, "{path}: {error}");
            assert_eq!(error["error"]["details"]["field"], field, "{path}: {error}");
        }
    }
    assert_eq!(
        counts(&server).await,
        before,
        "a refused POST kept something"
    );

    // Other roles may not; another town's id is refused.
    let assessor = server.login(logins::ASSESSOR.0, logins::ASSESSOR.1).await;
    let body = json!({"code": "XD", "name": "某河"});
    let (status, _) = server
        .post_json("/api/v1/rivers", Some(&assessor), &body)
        .await;
    assert_eq!(status, 403);
    let (status, _) = post(
        "/api/v1/rivers",
        json!({"town_id": 999_999, "code": "XD", "name": "某河"}),
    )
    .await;
    assert_eq!(status, 403);
}
