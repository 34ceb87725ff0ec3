//! Compliance end to end: the weekly and quarterly views, exemptions and
//! their permission matrix, validity overrides, the overdue list and the
//! town figures, over HTTP against a real server and database (the demo
//! town: HZ000 town chief, HZ001–HZ016 village chiefs, all appointed
//! 2026-01-01).
//!
//! Patrol rows are inserted directly (`store::compliance::insert_minimal_patrol`)
//! so these tests do not depend on track upload. Weeks asserted as over are
//! in the past for any run date from 2026-11-23 on; checks of the week in
//! progress are computed relative to the clock.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use domain::time::IsoWeek;
use e2e::{TestServer, logins, send};
use serde_json::{Value, json};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

/// An instant given as CST wall time.
fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    utc(y, m, d, h, min, 0) - TimeDelta::hours(8)
}

async fn patrol(server: &TestServer, code: &str, at: DateTime<Utc>, valid: bool) -> i64 {
    let chief = server.chief_id(code).await;
    let mut tx = server.db.pool().begin().await.unwrap();
    let id = store::compliance::insert_minimal_patrol(&mut tx, chief, at, valid, 1500.0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn delete(server: &TestServer, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = server.client.delete(server.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    send(request).await
}

/// The row of chief `code` in a compliance answer.
fn row<'a>(body: &'a Value, code: &str) -> &'a Value {
    body["chiefs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{code} not in {body}"))
}

fn codes(body: &Value) -> Vec<String> {
    body["chiefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect()
}

/// A second town with one village chief, directly in the database.
async fn other_town_chief(server: &TestServer) -> i64 {
    let pool = server.db.pool();
    let town: i64 = sqlx::query_scalar(
        "INSERT INTO towns (code, name) VALUES ('530127105', '邻镇') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let village: i64 = sqlx::query_scalar(
        "INSERT INTO villages (town_id, code, name) VALUES ($1, '530127105201', '邻村') RETURNING id",
    )
    .bind(town)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO chiefs (town_id, code, name, level, village_id, appointed_on)
         VALUES ($1, 'HZ001', '外镇河长', 'village', $2, '2026-01-01') RETURNING id",
    )
    .bind(town)
    .bind(village)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn weekly_view_follows_cst_weeks_and_has_the_contract_fields() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    // Monday 2026-11-16 00:20 CST (Sunday 16:20 UTC) counts for W47.
    patrol(&server, "HZ001", utc(2026, 11, 15, 16, 20, 0), true).await;
    // Sunday 2026-11-15 23:59:59 CST counts for W46.
    patrol(&server, "HZ002", utc(2026, 11, 15, 15, 59, 59), true).await;
    // Two valid patrols in W47.
    patrol(&server, "HZ003", cst(2026, 11, 17, 9, 0), true).await;
    patrol(&server, "HZ003", cst(2026, 11, 21, 9, 0), true).await;

    let (status, w47) = server
        .get("/api/v1/compliance?week=2026-W47", Some(&admin))
        .await;
    assert_eq!(status, 200, "{w47}");
    assert_eq!(w47["week"], "2026-W47");
    assert_eq!(w47["chiefs"].as_array().unwrap().len(), 17);
    // The town chief first, then by code.
    assert_eq!(codes(&w47)[0], "HZ000");
    let hz001 = row(&w47, "HZ001");
    for field in [
        "chief_id",
        "code",
        "name",
        "level",
        "status",
        "valid_patrols",
    ] {
        assert!(hz001.get(field).is_some(), "{field} missing in {hz001}");
    }
    assert_eq!(hz001["chief_id"], server.chief_id("HZ001").await);
    assert_eq!(hz001["name"], "张建国");
    assert_eq!(hz001["level"], "village");
    assert_eq!(
        (&hz001["status"], &hz001["valid_patrols"]),
        (&json!("compliant"), &json!(1))
    );
    assert_eq!(row(&w47, "HZ002")["status"], "missed");
    assert_eq!(row(&w47, "HZ003")["valid_patrols"], 2);
    assert_eq!(row(&w47, "HZ003")["status"], "compliant");
    assert_eq!(row(&w47, "HZ000")["level"], "town");

    let (_, w46) = server
        .get("/api/v1/compliance?week=2026-W46", Some(&admin))
        .await;
    assert_eq!(row(&w46, "HZ001")["status"], "missed");
    assert_eq!(row(&w46, "HZ002")["status"], "compliant");
    // Before the appointment (2026-01-01 is in 2026-W01): not in office.
    let (_, w52) = server
        .get("/api/v1/compliance?week=2025-W52", Some(&admin))
        .await;
    assert_eq!(row(&w52, "HZ001")["status"], "not_in_office");

    // Filters.
    let village = row(&w47, "HZ001")["village_id"].as_i64().unwrap();
    let (_, one_village) = server
        .get(
            &format!("/api/v1/compliance?week=2026-W47&village_id={village}"),
            Some(&admin),
        )
        .await;
    assert_eq!(codes(&one_village), ["HZ001"]);
}

#[tokio::test]
async fn weeks_and_quarters_are_parsed_strictly() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (status, body) = server
        .get("/api/v1/compliance?week=2025-W53", Some(&admin))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_week");
    assert_eq!(
        body["error"]["message"],
        "2025-W53 does not exist: 2025 has the weeks W01 to W52"
    );
    for bad in ["2026-w48", "2026-W54", "2026-48", "W48"] {
        let (status, body) = server
            .get(&format!("/api/v1/compliance?week={bad}"), Some(&admin))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_week");
    }
    let (status, body) = server
        .get("/api/v1/compliance?quarter=2026-Q5", Some(&admin))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_quarter"))
    );
    let (status, body) = server
        .get(
            "/api/v1/compliance?week=2026-W48&quarter=2026-Q4",
            Some(&admin),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "week_and_quarter");
    // 2026-W53 exists; 2027-W01 starts on Monday 2027-01-04.
    let (status, body) = server
        .get("/api/v1/compliance?week=2026-W53", Some(&admin))
        .await;
    assert_eq!((status, &body["week"]), (200, &json!("2026-W53")));
    patrol(&server, "HZ001", utc(2027, 1, 3, 15, 59, 59), true).await; // Sun 23:59:59 CST
    patrol(&server, "HZ002", utc(2027, 1, 3, 16, 0, 0), true).await; // Mon 2027-01-04 00:00 CST
    let (_, w53) = server
        .get("/api/v1/compliance?week=2026-W53", Some(&admin))
        .await;
    assert_eq!(row(&w53, "HZ001")["valid_patrols"], 1);
    assert_eq!(row(&w53, "HZ002")["valid_patrols"], 0);
    let (_, w01) = server
        .get("/api/v1/compliance?week=2027-W01", Some(&admin))
        .await;
    assert_eq!(row(&w01, "HZ001")["valid_patrols"], 0);
    assert_eq!(row(&w01, "HZ002")["valid_patrols"], 1);
    assert_eq!(row(&w01, "HZ002")["status"], "compliant");
    // Neither: the week in progress.
    let (status, body) = server.get("/api/v1/compliance", Some(&admin)).await;
    assert_eq!(status, 200);
    let current = IsoWeek::current(Utc::now()).unwrap().to_string();
    assert_eq!(body["week"], current);
    // Unauthenticated.
    let (status, _) = server.get("/api/v1/compliance?week=2026-W47", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn quarter_matrix_with_exemption_and_14_weeks() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    // 2026-Q3 is W27 (Mon 29 Jun) to W39 (Sun 27 Sep): 13 weeks, all over.
    patrol(&server, "HZ001", cst(2026, 7, 1, 9, 0), true).await; // W27
    patrol(&server, "HZ001", cst(2026, 7, 22, 9, 0), true).await; // W30
    patrol(&server, "HZ001", cst(2026, 7, 23, 9, 0), true).await; // W30 again
    let hz002 = server.chief_id("HZ002").await;
    let (status, body) = server
        .post_json(
            "/api/v1/exemptions",
            Some(&admin),
            &json!({"chief_id": hz002, "from": "2026-07-06", "to": "2026-07-12", "reason": "住院"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let (status, q3) = server
        .get("/api/v1/compliance?quarter=2026-Q3", Some(&admin))
        .await;
    assert_eq!(status, 200, "{q3}");
    assert_eq!(q3["quarter"], "2026-Q3");
    let weeks = q3["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 13);
    assert_eq!(
        (&weeks[0], &weeks[12]),
        (&json!("2026-W27"), &json!("2026-W39"))
    );
    let hz001 = row(&q3, "HZ001");
    for field in [
        "chief_id",
        "code",
        "name",
        "weeks",
        "compliant",
        "exempt",
        "missed",
        "required",
        "rate",
    ] {
        assert!(hz001.get(field).is_some(), "{field} missing in {hz001}");
    }
    assert_eq!(hz001["weeks"]["2026-W27"], "compliant");
    assert_eq!(hz001["weeks"]["2026-W28"], "missed");
    assert_eq!(hz001["weeks"]["2026-W30"], "compliant");
    assert_eq!(hz001["weeks"].as_object().unwrap().len(), 13);
    assert_eq!(
        (
            &hz001["compliant"],
            &hz001["exempt"],
            &hz001["missed"],
            &hz001["required"]
        ),
        (&json!(2), &json!(0), &json!(11), &json!(13))
    );
    assert!((hz001["rate"].as_f64().unwrap() - 2.0 / 13.0).abs() < 1e-12);
    let hz002_row = row(&q3, "HZ002");
    assert_eq!(hz002_row["weeks"]["2026-W28"], "exempt");
    assert_eq!(
        (
            &hz002_row["compliant"],
            &hz002_row["exempt"],
            &hz002_row["missed"],
            &hz002_row["required"],
            &hz002_row["rate"]
        ),
        (&json!(0), &json!(1), &json!(12), &json!(12), &json!(0.0))
    );

    // 2026-Q4 has 14 weeks, W40 to W53.
    let (_, q4) = server
        .get("/api/v1/compliance?quarter=2026-Q4", Some(&admin))
        .await;
    let weeks = q4["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 14);
    assert_eq!(
        (&weeks[0], &weeks[13]),
        (&json!("2026-W40"), &json!("2026-W53"))
    );
    assert_eq!(row(&q4, "HZ001")["weeks"].as_object().unwrap().len(), 14);
}

#[tokio::test]
async fn who_sees_which_rows() {
    let server = TestServer::with_demo().await;
    let path = "/api/v1/compliance?week=2026-W47";
    for (login, password) in [logins::ADMIN, logins::ASSESSOR, logins::TOWN_CHIEF] {
        let token = server.login(login, password).await;
        let (status, body) = server.get(path, Some(&token)).await;
        assert_eq!(status, 200, "{login}");
        assert_eq!(body["chiefs"].as_array().unwrap().len(), 17, "{login}");
    }
    // A village chief sees their own row only, whatever they ask for.
    let hz001 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let (status, body) = server.get(path, Some(&hz001)).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["HZ001"]);
    let (_, body) = server
        .get("/api/v1/compliance?quarter=2026-Q3", Some(&hz001))
        .await;
    assert_eq!(codes(&body), ["HZ001"]);
    let other = server.chief_id("HZ002").await;
    let (status, body) = server
        .get(&format!("{path}&chief_id={other}"), Some(&hz001))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = server.get("/api/v1/compliance/overdue", Some(&hz001)).await;
    assert_eq!(status, 200);
    // Another town is off limits for a town's admin.
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (status, _) = server
        .get(&format!("{path}&town_id=999999"), Some(&admin))
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn exemption_permission_matrix() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let assessor = server.login(logins::ASSESSOR.0, logins::ASSESSOR.1).await;
    let town_chief = server
        .login(logins::TOWN_CHIEF.0, logins::TOWN_CHIEF.1)
        .await;
    let hz001 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let hz002 = server.login(logins::CHIEF_2.0, logins::CHIEF_2.1).await;
    let chief1 = server.chief_id("HZ001").await;
    let chief2 = server.chief_id("HZ002").await;
    let foreign = other_town_chief(&server).await;
    let body = |chief: i64| json!({"chief_id": chief, "from": "2026-07-13", "to": "2026-07-19", "reason": "外出培训"});

    // Only the town office approves; a chief may only ask for themself
    // (see leave.rs).
    let (status, _) = server
        .post_json("/api/v1/exemptions", None, &body(chief1))
        .await;
    assert_eq!(status, 401);
    for (token, chief) in [(&assessor, chief1), (&town_chief, chief1), (&hz001, chief2)] {
        let (status, error) = server
            .post_json("/api/v1/exemptions", Some(token), &body(chief))
            .await;
        assert_eq!(status, 403, "{error}");
    }
    // Bad requests keep nothing.
    let cases = [
        (
            json!({"chief_id": chief1, "from": "2026-07-13", "to": "2026-07-19"}),
            422,
            "reason",
        ),
        (
            json!({"chief_id": chief1, "from": "2026-07-13", "to": "2026-07-19", "reason": "  "}),
            422,
            "reason",
        ),
        (
            json!({"chief_id": chief1, "from": "2026-07-19", "to": "2026-07-13", "reason": "x"}),
            422,
            "to",
        ),
        (
            json!({"chief_id": chief1, "from": "2026-13-01", "to": "2026-07-13", "reason": "x"}),
            422,
            "",
        ),
        (body(999_999), 404, ""),
        (body(foreign), 404, ""),
    ];
    for (request, expected, field) in cases {
        let (status, error) = server
            .post_json("/api/v1/exemptions", Some(&admin), &request)
            .await;
        assert_eq!(status, expected, "{request} → {error}");
        if !field.is_empty() {
            assert_eq!(error["error"]["details"]["field"], field, "{error}");
        }
    }
    assert_eq!(server.count("exemptions").await, 0);

    // The admin approves: 201, and is the approver.
    let (status, created) = server
        .post_json("/api/v1/exemptions", Some(&admin), &body(chief1))
        .await;
    assert_eq!(status, 201, "{created}");
    let (_, me) = server.get("/api/v1/auth/me", Some(&admin)).await;
    assert_eq!(created["approved_by"], me["id"]);
    assert_eq!(created["status"], "approved");
    assert_eq!(
        (
            &created["chief_id"],
            &created["from"],
            &created["to"],
            &created["reason"]
        ),
        (
            &json!(chief1),
            &json!("2026-07-13"),
            &json!("2026-07-19"),
            &json!("外出培训")
        )
    );
    // A single day is from = to.
    let (status, single) = server
        .post_json(
            "/api/v1/exemptions",
            Some(&admin),
            &json!({"chief_id": chief2, "from": "2026-07-15", "to": "2026-07-15", "reason": "事假"}),
        )
        .await;
    assert_eq!(status, 201, "{single}");
    // 2026-07-13..19 is all of 2026-W29: HZ001 is exempt that week.
    let (_, w29) = server
        .get("/api/v1/compliance?week=2026-W29", Some(&admin))
        .await;
    assert_eq!(row(&w29, "HZ001")["status"], "exempt");
    assert_eq!(row(&w29, "HZ002")["status"], "missed");

    // Reading: the office and assessors see the town's; a chief their own.
    for token in [&admin, &assessor] {
        let (status, list) = server.get("/api/v1/exemptions", Some(token)).await;
        assert_eq!(status, 200);
        assert_eq!(list.as_array().unwrap().len(), 2);
    }
    let (_, list) = server
        .get(
            &format!("/api/v1/exemptions?chief_id={chief2}"),
            Some(&admin),
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    for (token, own) in [(&hz001, chief1), (&hz002, chief2)] {
        let (status, list) = server.get("/api/v1/exemptions", Some(token)).await;
        assert_eq!(status, 200);
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["chief_id"], own);
    }
    let (status, _) = server
        .get(
            &format!("/api/v1/exemptions?chief_id={chief2}"),
            Some(&hz001),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .get(
            &format!("/api/v1/exemptions/{}", single["id"]),
            Some(&hz001),
        )
        .await;
    assert_eq!(status, 404);

    // Withdrawing: admin only, own town only.
    let path = format!("/api/v1/exemptions/{}", created["id"]);
    for token in [&assessor, &town_chief, &hz001] {
        let (status, _) = delete(&server, &path, Some(token)).await;
        assert_eq!(status, 403);
    }
    let (status, _) = delete(&server, &path, None).await;
    assert_eq!(status, 401);
    let (status, _) = delete(&server, &path, Some(&admin)).await;
    assert_eq!(status, 204);
    let (status, _) = delete(&server, &path, Some(&admin)).await;
    assert_eq!(status, 404);
    let (_, w29) = server
        .get("/api/v1/compliance?week=2026-W29", Some(&admin))
        .await;
    assert_eq!(row(&w29, "HZ001")["status"], "missed");
    // Audited: two creations, one deletion, by the admin.
    let audit: Vec<(String, i64)> = sqlx::query_as(
        "SELECT action, user_id FROM audit_log WHERE entity = 'exemption' ORDER BY id",
    )
    .fetch_all(server.db.pool())
    .await
    .unwrap();
    let admin_id = me["id"].as_i64().unwrap();
    assert_eq!(
        audit,
        [
            ("create".to_owned(), admin_id),
            ("create".to_owned(), admin_id),
            ("delete".to_owned(), admin_id)
        ]
    );
}

#[tokio::test]
async fn an_override_makes_a_missed_week_compliant() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let hz001 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    // Wednesday 2026-11-11 (W46), rejected by the rules.
    let p = patrol(&server, "HZ003", cst(2026, 11, 11, 10, 0), false).await;
    let week = "/api/v1/compliance?week=2026-W46";
    let (_, before) = server.get(week, Some(&admin)).await;
    assert_eq!(row(&before, "HZ003")["status"], "missed");

    let path = format!("/api/v1/patrols/{p}/override");
    let request = json!({"valid": true, "reason": "山区信号弱，经村委会核实确已巡河"});
    let (status, _) = server.post_json(&path, Some(&hz001), &request).await;
    assert_eq!(status, 403);
    let (status, _) = server.post_json(&path, None, &request).await;
    assert_eq!(status, 401);
    let (status, error) = server
        .post_json(&path, Some(&admin), &json!({"valid": true}))
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["details"]["field"], "reason");
    let (status, _) = server
        .post_json("/api/v1/patrols/999999/override", Some(&admin), &request)
        .await;
    assert_eq!(status, 404);

    let (status, body) = server.post_json(&path, Some(&admin), &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], p);
    assert_eq!(body["valid"], true);
    assert_eq!(body["machine_valid"], false);
    assert_eq!(body["week"], "2026-W46");
    assert_eq!(body["override"]["valid"], true);
    assert_eq!(
        body["override"]["reason"],
        "山区信号弱，经村委会核实确已巡河"
    );
    assert!(body["override"]["at"].is_string());
    let (_, detail) = server
        .get(&format!("/api/v1/patrols/{p}"), Some(&admin))
        .await;
    assert_eq!(detail["valid"], true);
    assert_eq!(detail["override"]["reason"], body["override"]["reason"]);
    let (_, after) = server.get(week, Some(&admin)).await;
    assert_eq!(row(&after, "HZ003")["status"], "compliant");
    assert_eq!(row(&after, "HZ003")["valid_patrols"], 1);
    let (_, q4) = server
        .get("/api/v1/compliance?quarter=2026-Q4", Some(&admin))
        .await;
    assert_eq!(row(&q4, "HZ003")["weeks"]["2026-W46"], "compliant");

    // Clearing the override: back to the machine's verdict.
    let (status, body) = delete(&server, &path, Some(&hz001)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = delete(&server, &path, Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["valid"], false);
    assert!(body["override"].is_null());
    let (_, cleared) = server.get(week, Some(&admin)).await;
    assert_eq!(row(&cleared, "HZ003")["status"], "missed");

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity = 'patrol' AND entity_id = $1 ORDER BY id",
    )
    .bind(p)
    .fetch_all(server.db.pool())
    .await
    .unwrap();
    assert_eq!(actions, ["override_validity", "clear_validity_override"]);
}

#[tokio::test]
async fn overdue_list_of_the_week_in_progress() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let now = Utc::now();
    let this_week = IsoWeek::current(now).unwrap();
    // HZ001 patrolled at the very start of this week: not overdue.
    patrol(&server, "HZ001", this_week.start_utc(), true).await;
    // HZ002 is on leave all week: not overdue.
    let hz002 = server.chief_id("HZ002").await;
    let (status, _) = server
        .post_json(
            "/api/v1/exemptions",
            Some(&admin),
            &json!({"chief_id": hz002, "from": this_week.monday(), "to": this_week.sunday(), "reason": "病假"}),
        )
        .await;
    assert_eq!(status, 201);
    // HZ003's last valid patrol was three weeks ago; an invalid one since.
    let three_weeks_ago = this_week.start_utc() - TimeDelta::days(20);
    let last = patrol(&server, "HZ003", three_weeks_ago, true).await;
    patrol(
        &server,
        "HZ003",
        this_week.start_utc() - TimeDelta::days(3),
        false,
    )
    .await;
    // HZ004 patrolled last week.
    let last_week = this_week.start_utc() - TimeDelta::hours(30);
    let hz004_last = patrol(&server, "HZ004", last_week, true).await;

    let (status, body) = server.get("/api/v1/compliance/overdue", Some(&admin)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["week"], this_week.to_string());
    let days_left = domain::compliance::days_left_in_week(Utc::now());
    assert_eq!(body["days_left"], days_left);
    let listed = codes(&body);
    // Never patrolled first (by code), then HZ003 (three weeks), then HZ004.
    let mut expected: Vec<String> = std::iter::once("HZ000".to_owned())
        .chain((5..=16).map(|n| format!("HZ{n:03}")))
        .collect();
    expected.push("HZ003".into());
    expected.push("HZ004".into());
    assert_eq!(listed, expected);
    let hz003 = row(&body, "HZ003");
    assert_eq!(hz003["last_patrol_id"], last);
    let at: DateTime<Utc> = hz003["last_patrol_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at, three_weeks_ago);
    assert_eq!(hz003["days_left"], days_left);
    assert_eq!(row(&body, "HZ004")["last_patrol_id"], hz004_last);
    assert!(row(&body, "HZ005")["last_patrol_at"].is_null());

    // A village chief sees only themself.
    let hz001 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let (_, own) = server.get("/api/v1/compliance/overdue", Some(&hz001)).await;
    assert!(own["chiefs"].as_array().unwrap().is_empty(), "{own}");
    let (_, weekly) = server.get("/api/v1/compliance", Some(&admin)).await;
    assert_eq!(row(&weekly, "HZ001")["status"], "compliant");
    assert_eq!(row(&weekly, "HZ002")["status"], "exempt");
    assert_eq!(row(&weekly, "HZ003")["status"], "pending");
}

#[tokio::test]
async fn town_figures() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    // Thursday 2026-10-01 00:00 CST: first second of the range; 1.5 km each.
    patrol(&server, "HZ001", utc(2026, 9, 30, 16, 0, 0), true).await;
    // Wednesday 2026-09-30 23:59:59 CST: outside.
    patrol(&server, "HZ001", utc(2026, 9, 30, 15, 59, 59), true).await;
    patrol(&server, "HZ002", cst(2026, 11, 3, 10, 0), true).await;
    let rejected = patrol(&server, "HZ002", cst(2026, 11, 4, 10, 0), false).await;
    patrol(&server, "HZ003", cst(2026, 11, 5, 10, 0), false).await;
    // Thursday 2026-12-31 23:59:59 CST: last second of the range.
    patrol(&server, "HZ004", utc(2026, 12, 31, 15, 59, 59), true).await;
    let (status, _) = server
        .post_json(
            &format!("/api/v1/patrols/{rejected}/override"),
            Some(&admin),
            &json!({"valid": true, "reason": "人工核实"}),
        )
        .await;
    assert_eq!(status, 200);
    let pool = server.db.pool();
    let town: i64 = sqlx::query_scalar("SELECT id FROM towns WHERE code = '530127104'")
        .fetch_one(pool)
        .await
        .unwrap();
    for (created, resolved, status) in [
        (
            cst(2026, 10, 8, 9, 0),
            Some(cst(2026, 10, 9, 9, 0)),
            "closed",
        ),
        (
            cst(2026, 11, 8, 9, 0),
            Some(cst(2026, 11, 9, 9, 0)),
            "resolved",
        ),
        (cst(2026, 12, 8, 9, 0), None, "assigned"),
        (cst(2026, 9, 8, 9, 0), None, "reported"),
    ] {
        sqlx::query(
            "INSERT INTO issues (town_id, category, location, level, source, status, created_at, resolved_at)
             VALUES ($1, 'sewage', ST_SetSRID(ST_MakePoint(103.1, 25.3), 4326), 'village', 'public', $2, $3, $4)",
        )
        .bind(town)
        .bind(status)
        .bind(created)
        .bind(resolved)
        .execute(pool)
        .await
        .unwrap();
    }

    let path = "/api/v1/stats?from=2026-10-01&to=2026-12-31";
    let (status, stats) = server.get(path, Some(&admin)).await;
    assert_eq!(status, 200, "{stats}");
    // 5 patrols in range (all but 30 Sep); valid: HZ001, HZ002 ×2 (one by
    // override), HZ004 = 4; 4 × 1.5 km; 17 chiefs in office.
    assert_eq!(
        (
            &stats["from"],
            &stats["to"],
            &stats["patrols"],
            &stats["valid_patrols"],
            &stats["km_patrolled"],
            &stats["chiefs"],
            &stats["issues_found"],
            &stats["issues_resolved"]
        ),
        (
            &json!("2026-10-01"),
            &json!("2026-12-31"),
            &json!(5),
            &json!(4),
            &json!(6.0),
            &json!(17),
            &json!(3),
            &json!(2)
        )
    );
    assert_eq!(stats["chiefs_patrolled"], 3);
    for (login, password) in [logins::ASSESSOR, logins::TOWN_CHIEF] {
        let token = server.login(login, password).await;
        let (status, same) = server.get(path, Some(&token)).await;
        assert_eq!((status, &same), (200, &stats), "{login}");
    }
    let hz001 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let (status, _) = server.get(path, Some(&hz001)).await;
    assert_eq!(status, 403);
    let (status, _) = server.get(path, None).await;
    assert_eq!(status, 401);
    // A quarter's days are the days of its weeks.
    let (_, q4) = server
        .get("/api/v1/stats?quarter=2026-Q4", Some(&admin))
        .await;
    assert_eq!(
        (&q4["from"], &q4["to"]),
        (&json!("2026-09-28"), &json!("2027-01-03"))
    );
    assert_eq!(q4["patrols"], 6);
    // Default: the quarter in progress.
    let (status, current) = server.get("/api/v1/stats", Some(&admin)).await;
    assert_eq!(status, 200);
    let quarter = domain::time::Quarter::current(Utc::now()).unwrap();
    assert_eq!(current["from"], json!(quarter.first_day()));
    assert_eq!(current["to"], json!(quarter.last_day()));
    for bad in [
        "/api/v1/stats?from=2026-12-31&to=2026-10-01",
        "/api/v1/stats?from=2026-10-01",
        "/api/v1/stats?from=2026-10-01&to=2026-12-31&quarter=2026-Q4",
        "/api/v1/stats?from=2026-10-32&to=2026-12-31",
    ] {
        let (status, body) = server.get(bad, Some(&admin)).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}
