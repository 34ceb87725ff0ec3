//! The authorisation matrix (issue #8): every operation of the OpenAPI
//! document, called with no token, a bogus, an expired and a revoked token
//! (401 each), and as each role — admin, assessor, the town chief, the chief
//! of the village a row belongs to, and a chief of another village.
//!
//! The table below must name every operation the server documents: a new
//! endpoint fails this test until someone decides who may call it.

use chrono::{Duration, Utc};
use e2e::issues::{photo_part, png, point_on_reach, report_multipart};
use e2e::{TestServer, logins, send, tracks};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Callers with a valid token, in the order each row is tried: the admin
/// last, so that what the others may not do is tried before state changes.
const ROLES: [&str; 5] = ["assessor", "chief", "other_chief", "town_chief", "admin"];

/// How an operation may be called.
enum Access {
    /// No login needed (operations, Open311, login): 2xx without a token.
    Public(u16),
    /// Needs a token; the statuses per role in the order of [`ROLES`].
    Roles([u16; 5]),
    /// Needs a token and changes the caller's session (logout, password):
    /// only the 401s are checked here; see the foundation tests.
    Session,
}

enum Body {
    None,
    Json(Value),
    Gpx(String),
}

struct Operation {
    method: &'static str,
    /// The OpenAPI path template.
    template: &'static str,
    /// The path to call, with the ids of the rows set up below.
    path: String,
    body: Body,
    access: Access,
}

/// Rows owned by the village chief HZ001 (village 1) that the test reads.
struct Fixture {
    town: i64,
    chief: i64,
    reach: i64,
    other_reach: i64,
    patrol: i64,
    issue: i64,
    photo: i64,
    exemption: i64,
    /// Leave requests of HZ001 still to decide: one to approve, one to reject.
    leave: [i64; 2],
    /// A notice of HZ001.
    notice: i64,
}

async fn fixture(server: &TestServer, admin: &str, chief: &str) -> Fixture {
    let (_, chiefs) = server.get("/api/v1/chiefs", Some(admin)).await;
    let hz001 = chiefs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "HZ001")
        .unwrap();
    let chief_id = hz001["id"].as_i64().unwrap();
    let town = hz001["town_id"].as_i64().unwrap();
    let (_, reaches) = server.get("/api/v1/reaches", Some(admin)).await;
    let reach_id = |code: &str| {
        reaches["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["code"] == code)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (status, patrol) = send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .bearer_auth(chief)
            .header("content-type", "application/gpx+xml")
            .body(walk_gpx(3)),
    )
    .await;
    assert_eq!(status, 201, "{patrol}");
    let form = reqwest::multipart::Form::new()
        .text("lon", point_on_reach(1)[0].to_string())
        .text("lat", point_on_reach(1)[1].to_string())
        .text("category", "floating_garbage")
        .part("photo", photo_part(png(20, 20), "p.png", "image/png"));
    let (status, issue) = report_multipart(server, chief, form).await;
    assert_eq!(status, 201, "{issue}");
    let exemption =
        json!({"chief_id": chief_id, "from": "2026-07-13", "to": "2026-07-19", "reason": "培训"});
    let (status, exemption) = server
        .post_json("/api/v1/exemptions", Some(admin), &exemption)
        .await;
    assert_eq!(status, 201, "{exemption}");
    let mut leave = [0; 2];
    for (id, from) in leave.iter_mut().zip(["2026-08-10", "2026-08-17"]) {
        let request = json!({"chief_id": chief_id, "from": from, "to": from, "reason": "事假"});
        let (status, request) = server
            .post_json("/api/v1/exemptions", Some(chief), &request)
            .await;
        assert_eq!(status, 201, "{request}");
        *id = request["id"].as_i64().unwrap();
    }
    let mut conn = server.db.pool().acquire().await.unwrap();
    let notice = store::notices::create(
        &mut conn,
        town,
        chief_id,
        "reminder",
        None,
        json!({}),
        "本周尚未巡河。",
    )
    .await
    .unwrap();
    Fixture {
        leave,
        notice,
        town,
        chief: chief_id,
        reach: reach_id("NLJ-01"),
        other_reach: reach_id("NLJ-02"),
        patrol: patrol["id"].as_i64().unwrap(),
        issue: issue["id"].as_i64().unwrap(),
        photo: issue["photos"][0]["id"].as_i64().unwrap(),
        exemption: exemption["id"].as_i64().unwrap(),
    }
}

/// A walk along reach 1, `hours_ago` hours ago.
fn walk_gpx(hours_ago: i64) -> String {
    let start = Utc::now() - Duration::hours(hours_ago);
    tracks::gpx(&tracks::walk(&tracks::demo_reach(1), start, 4.0, 5, 3.0))
}

fn operations(f: &Fixture) -> Vec<Operation> {
    use Access::{Public, Roles, Session};
    let op = |method, template, path: String, body, access| Operation {
        method,
        template,
        path,
        body,
        access,
    };
    let get = |template: &'static str, path: String, access| {
        op("GET", template, path, Body::None, access)
    };
    let post = |template: &'static str, body: Value, access| {
        op(
            "POST",
            template,
            template.to_owned(),
            Body::Json(body),
            access,
        )
    };
    // Roles order: assessor, chief, other_chief, town_chief, admin.
    let everyone = Roles([200; 5]);
    let admin_creates = Roles([403, 403, 403, 403, 201]);
    let office_reads = Roles([200, 403, 403, 403, 200]);
    let (chief, town, patrol, issue) = (f.chief, f.town, f.patrol, f.issue);
    let quarter = "quarter=2026-Q4";
    vec![
        get("/healthz", "/healthz".into(), Public(200)),
        get("/readyz", "/readyz".into(), Public(200)),
        get("/metrics", "/metrics".into(), Public(200)),
        post(
            "/api/v1/auth/login",
            json!({"login": logins::CHIEF_2.0, "password": logins::CHIEF_2.1}),
            Public(200),
        ),
        post("/api/v1/auth/logout", json!({}), Session),
        post(
            "/api/v1/auth/password",
            json!({"current_password": "x", "new_password": "y"}),
            Session,
        ),
        get("/api/v1/auth/me", "/api/v1/auth/me".into(), everyone),
        get("/api/v1/towns", "/api/v1/towns".into(), Roles([200; 5])),
        // A town's admin creates no other towns; only an admin over all.
        post(
            "/api/v1/towns",
            json!({"code": "530127199", "name": "新镇"}),
            Roles([403; 5]),
        ),
        get(
            "/api/v1/villages",
            "/api/v1/villages".into(),
            Roles([200; 5]),
        ),
        post(
            "/api/v1/villages",
            json!({"code": "530127104297", "name": "权限村"}),
            admin_creates,
        ),
        get(
            "/api/v1/branches",
            "/api/v1/branches".into(),
            Roles([200; 5]),
        ),
        post(
            "/api/v1/branches",
            json!({"code": "BQ", "name": "权限支部"}),
            Roles([403, 403, 403, 403, 201]),
        ),
        get("/api/v1/rivers", "/api/v1/rivers".into(), Roles([200; 5])),
        post(
            "/api/v1/rivers",
            json!({"code": "QX", "name": "权限河"}),
            Roles([403, 403, 403, 403, 201]),
        ),
        get("/api/v1/chiefs", "/api/v1/chiefs".into(), Roles([200; 5])),
        post(
            "/api/v1/chiefs",
            json!({"code": "HZQ", "name": "权限", "level": "town", "appointed_on": "2026-01-01"}),
            Roles([403, 403, 403, 403, 201]),
        ),
        get(
            "/api/v1/chiefs/{id}",
            format!("/api/v1/chiefs/{chief}"),
            Roles([200; 5]),
        ),
        get("/api/v1/reaches", "/api/v1/reaches".into(), Roles([200; 5])),
        post(
            "/api/v1/reaches",
            json!({"type": "Feature",
                   "geometry": {"type": "LineString", "coordinates": [[103.2, 25.4], [103.21, 25.41]]},
                   "properties": {"code": "QX-01", "name": "权限段", "river_id": 1}}),
            Roles([403, 403, 403, 403, 201]),
        ),
        get(
            "/api/v1/reaches/{id}",
            format!("/api/v1/reaches/{}", f.reach),
            Roles([200; 5]),
        ),
        get(
            "/api/v1/assignments",
            "/api/v1/assignments".into(),
            Roles([200; 5]),
        ),
        post(
            "/api/v1/assignments",
            json!({"chief_id": chief, "reach_id": f.other_reach, "from": "2026-06-01"}),
            Roles([403, 403, 403, 403, 201]),
        ),
        post(
            "/api/v1/import/town",
            json!({"town": {"code": "530127104", "name": "牛栏江镇"}}),
            Roles([403, 403, 403, 403, 200]),
        ),
        get(
            "/api/v1/towns/{id}/rules",
            format!("/api/v1/towns/{town}/rules"),
            Roles([200; 5]),
        ),
        op(
            "PUT",
            "/api/v1/towns/{id}/rules",
            format!("/api/v1/towns/{town}/rules"),
            Body::Json(json!({})),
            Roles([403, 403, 403, 403, 200]),
        ),
        get("/api/v1/patrols", "/api/v1/patrols".into(), Roles([200; 5])),
        op(
            "POST",
            "/api/v1/patrols",
            "/api/v1/patrols".into(),
            Body::Gpx(walk_gpx(6)),
            // Each chief for themself (the other chief's copy is a
            // duplicate, stored all the same); an admin must name the chief.
            Roles([403, 201, 201, 201, 422]),
        ),
        op(
            "POST",
            "/api/v1/patrols/match",
            "/api/v1/patrols/match".into(),
            Body::Gpx(walk_gpx(6)),
            Roles([403, 403, 403, 403, 200]),
        ),
        get(
            "/api/v1/patrols/{id}",
            format!("/api/v1/patrols/{patrol}"),
            Roles([200, 200, 404, 200, 200]),
        ),
        get(
            "/api/v1/patrols/{id}/track",
            format!("/api/v1/patrols/{patrol}/track"),
            Roles([200, 200, 404, 200, 200]),
        ),
        get(
            "/api/v1/patrols/{id}/original",
            format!("/api/v1/patrols/{patrol}/original"),
            Roles([200, 200, 404, 200, 200]),
        ),
        op(
            "POST",
            "/api/v1/patrols/{id}/override",
            format!("/api/v1/patrols/{patrol}/override"),
            Body::Json(json!({"valid": true, "reason": "人工核实"})),
            Roles([403, 403, 403, 403, 200]),
        ),
        op(
            "DELETE",
            "/api/v1/patrols/{id}/override",
            format!("/api/v1/patrols/{patrol}/override"),
            Body::None,
            Roles([403, 403, 403, 403, 200]),
        ),
        get(
            "/api/v1/compliance",
            "/api/v1/compliance".into(),
            Roles([200; 5]),
        ),
        get(
            "/api/v1/compliance/overdue",
            "/api/v1/compliance/overdue".into(),
            Roles([200; 5]),
        ),
        get(
            "/api/v1/exemptions",
            "/api/v1/exemptions".into(),
            Roles([200; 5]),
        ),
        // A chief asks leave for themself (HZ001 here); the office for anyone.
        post(
            "/api/v1/exemptions",
            json!({"chief_id": chief, "from": "2026-08-03", "to": "2026-08-09", "reason": "病假"}),
            Roles([403, 201, 403, 403, 201]),
        ),
        op(
            "POST",
            "/api/v1/exemptions/{id}/approve",
            format!("/api/v1/exemptions/{}/approve", f.leave[0]),
            Body::Json(json!({"note": "同意"})),
            Roles([403, 403, 403, 403, 200]),
        ),
        op(
            "POST",
            "/api/v1/exemptions/{id}/reject",
            format!("/api/v1/exemptions/{}/reject", f.leave[1]),
            Body::Json(json!({})),
            Roles([403, 403, 403, 403, 200]),
        ),
        get("/api/v1/notices", "/api/v1/notices".into(), Roles([200; 5])),
        // Only HZ001's own; everyone else is told it does not exist.
        op(
            "POST",
            "/api/v1/notices/{id}/read",
            format!("/api/v1/notices/{}/read", f.notice),
            Body::None,
            Roles([404, 200, 404, 404, 404]),
        ),
        get(
            "/api/v1/exemptions/{id}",
            format!("/api/v1/exemptions/{}", f.exemption),
            Roles([200, 200, 404, 200, 200]),
        ),
        op(
            "DELETE",
            "/api/v1/exemptions/{id}",
            format!("/api/v1/exemptions/{}", f.exemption),
            Body::None,
            Roles([403, 403, 403, 403, 204]),
        ),
        get(
            "/api/v1/stats",
            "/api/v1/stats".into(),
            Roles([200, 403, 403, 200, 200]),
        ),
        get(
            "/api/v1/reports/quarterly",
            format!("/api/v1/reports/quarterly?{quarter}"),
            office_reads,
        ),
        get(
            "/api/v1/reports/yearly",
            "/api/v1/reports/yearly?year=2026".into(),
            Roles([200, 403, 403, 403, 200]),
        ),
        // The office's week (issue #16): the town's admins; the bulletin
        // also for assessors.
        get(
            "/api/v1/towns/{id}/channels",
            format!("/api/v1/towns/{town}/channels"),
            Roles([403, 403, 403, 403, 200]),
        ),
        op(
            "PUT",
            "/api/v1/towns/{id}/channels",
            format!("/api/v1/towns/{town}/channels"),
            Body::Json(json!({"channels": []})),
            Roles([403, 403, 403, 403, 200]),
        ),
        post(
            "/api/v1/reminders",
            json!({}),
            Roles([403, 403, 403, 403, 200]),
        ),
        get(
            "/api/v1/deliveries",
            "/api/v1/deliveries".into(),
            Roles([403, 403, 403, 403, 200]),
        ),
        get(
            "/api/v1/reports/weekly",
            "/api/v1/reports/weekly".into(),
            Roles([200, 403, 403, 403, 200]),
        ),
        get(
            "/api/v1/reports/quarterly/chiefs/{id}",
            format!("/api/v1/reports/quarterly/chiefs/{chief}?{quarter}"),
            Roles([200, 403, 403, 403, 200]),
        ),
        get(
            "/api/v1/categories",
            "/api/v1/categories".into(),
            Roles([200; 5]),
        ),
        get("/api/v1/issues", "/api/v1/issues".into(), Roles([200; 5])),
        post(
            "/api/v1/issues",
            json!({"location": {"type": "Point", "coordinates": point_on_reach(1)},
                   "category": "other", "description": "权限测试"}),
            Roles([403, 201, 201, 201, 201]),
        ),
        get(
            "/api/v1/issues/{id}",
            format!("/api/v1/issues/{issue}"),
            Roles([200, 200, 404, 200, 200]),
        ),
        get(
            "/api/v1/issues/{id}/photos/{photo_id}",
            format!("/api/v1/issues/{issue}/photos/{}", f.photo),
            Roles([200, 200, 404, 200, 200]),
        ),
        op(
            "POST",
            "/api/v1/issues/{id}/transitions",
            format!("/api/v1/issues/{issue}/transitions"),
            // Rejecting is the office's and the town chief's; once the town
            // chief has rejected it the issue is closed: the admin's 409.
            Body::Json(json!({"action": "reject", "note": "权限测试"})),
            Roles([403, 403, 404, 200, 409]),
        ),
        get(
            "/tiles/{z}/{x}/{y}",
            "/tiles/0/0/0.mvt".into(),
            // The other village's chief sees only their own patrols and
            // issues (none), and a few-km reach generalises away at z0.
            Roles([200, 200, 204, 200, 200]),
        ),
        get(
            "/open311/v2/services.json",
            "/open311/v2/services.json".into(),
            Public(200),
        ),
        get(
            "/open311/v2/services.xml",
            "/open311/v2/services.xml".into(),
            Public(200),
        ),
        get(
            "/open311/v2/services/{service_file}",
            "/open311/v2/services/sewage.json".into(),
            Public(200),
        ),
        get(
            "/open311/v2/requests.json",
            "/open311/v2/requests.json".into(),
            Public(200),
        ),
        get(
            "/open311/v2/requests.xml",
            "/open311/v2/requests.xml".into(),
            Public(200),
        ),
        get(
            "/open311/v2/requests/{request_file}",
            format!("/open311/v2/requests/{issue}.json"),
            Public(200),
        ),
        get(
            "/open311/v2/media/{media_file}",
            format!("/open311/v2/media/{}.jpg", f.photo),
            Public(200),
        ),
        // Posting is covered by the Open311 tests (form-encoded, rate-limited).
        op(
            "POST",
            "/open311/v2/requests.json",
            "/open311/v2/requests.json".into(),
            Body::None,
            Public(415),
        ),
        op(
            "POST",
            "/open311/v2/requests.xml",
            "/open311/v2/requests.xml".into(),
            Body::None,
            Public(415),
        ),
    ]
}

async fn call(server: &TestServer, op: &Operation, token: Option<&str>) -> (u16, Value) {
    let url = server.url(&op.path);
    let method = reqwest::Method::from_bytes(op.method.as_bytes()).unwrap();
    let mut request = server.client.request(method, url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request = match &op.body {
        Body::None => request,
        Body::Json(v) => request.json(v),
        Body::Gpx(g) => request
            .header("content-type", "application/gpx+xml")
            .body(g.clone()),
    };
    send(request).await
}

/// Tokens that must all be refused with 401.
async fn dead_tokens(server: &TestServer) -> Vec<(&'static str, Option<String>)> {
    let expired = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    sqlx::query(
        "UPDATE api_tokens SET expires_at = now() - interval '1 second'
         WHERE created_at = (SELECT max(created_at) FROM api_tokens)",
    )
    .execute(server.db.pool())
    .await
    .unwrap();
    let revoked = server.login(logins::ASSESSOR.0, logins::ASSESSOR.1).await;
    let (status, _) = send(
        server
            .client
            .post(server.url("/api/v1/auth/logout"))
            .bearer_auth(&revoked),
    )
    .await;
    assert!(status < 300, "logout: {status}");
    vec![
        ("no token", None),
        ("bogus token", Some("rc_not-a-real-token".to_owned())),
        ("expired token", Some(expired)),
        ("revoked token", Some(revoked)),
    ]
}

#[tokio::test]
async fn every_operation_answers_each_caller_as_the_table_says() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let fixture = fixture(&server, &admin, &chief).await;
    let operations = operations(&fixture);

    // The table and the OpenAPI document name the same operations.
    let (_, openapi) = server.get("/openapi.json", None).await;
    let documented: BTreeSet<(String, String)> = openapi["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let tabled: BTreeSet<(String, String)> = operations
        .iter()
        .map(|o| (o.method.to_owned(), o.template.to_owned()))
        .collect();
    assert_eq!(
        documented.difference(&tabled).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented operations missing from the authorisation table"
    );
    assert_eq!(
        tabled.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "table rows the OpenAPI document does not have"
    );

    let dead = dead_tokens(&server).await;
    let mut tokens = vec![];
    for (role, (login, password)) in ROLES.iter().zip([
        logins::ASSESSOR,
        logins::CHIEF_1,
        logins::CHIEF_2,
        logins::TOWN_CHIEF,
        logins::ADMIN,
    ]) {
        tokens.push((*role, server.login(login, password).await));
    }
    let mut wrong = vec![];
    for op in &operations {
        let what = format!("{} {}", op.method, op.path);
        match &op.access {
            Access::Public(expected) => {
                let (status, body) = call(&server, op, None).await;
                if status != *expected {
                    wrong.push(format!(
                        "{what} without a token: {status}, not {expected}: {body}"
                    ));
                }
            }
            Access::Roles(_) | Access::Session => {
                for (who, token) in &dead {
                    let (status, body) = call(&server, op, token.as_deref()).await;
                    if status != 401 || body["error"]["code"].as_str().is_none() {
                        wrong.push(format!("{what} with {who}: {status}, not 401: {body}"));
                    }
                }
            }
        }
        if let Access::Roles(expected) = &op.access {
            for ((who, token), expected) in tokens.iter().zip(expected) {
                let (status, body) = call(&server, op, Some(token)).await;
                if status != *expected {
                    wrong.push(format!("{what} as {who}: {status}, not {expected}: {body}"));
                }
                if status >= 400 && body["error"]["code"].as_str().is_none() {
                    wrong.push(format!("{what} as {who}: an error without a code: {body}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
