//! Issues end to end: reporting (JSON and multipart with photos), snapping,
//! the whole lifecycle, the 409 table, the permission matrix, overdue,
//! photos and concurrent transitions.

use e2e::issues::{
    act, chief, geojson_point, jpeg, jpeg_with_gps, off_river, photo_part, png, point_on_reach,
    report, report_multipart, report_ok,
};
use e2e::{TestServer, logins};
use serde_json::{Value, json};

struct Demo {
    server: TestServer,
    admin: String,
    assessor: String,
    chief1: String,
    chief2: String,
    town_chief: String,
    chief1_id: i64,
    village1: i64,
}

async fn demo() -> Demo {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let assessor = server.login(logins::ASSESSOR.0, logins::ASSESSOR.1).await;
    let chief1 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let chief2 = server.login(logins::CHIEF_2.0, logins::CHIEF_2.1).await;
    let town_chief = server
        .login(logins::TOWN_CHIEF.0, logins::TOWN_CHIEF.1)
        .await;
    let (chief1_id, village1) = chief(&server, &admin, "HZ001").await;
    Demo {
        server,
        admin,
        assessor,
        chief1,
        chief2,
        town_chief,
        chief1_id,
        village1: village1.expect("village chief"),
    }
}

fn actions(issue: &Value) -> Vec<&str> {
    issue["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect()
}

fn hours_until(deadline: &Value) -> f64 {
    let d: chrono::DateTime<chrono::Utc> = deadline
        .as_str()
        .expect("deadline")
        .parse()
        .expect("RFC 3339");
    (d - chrono::Utc::now()).num_seconds() as f64 / 3600.0
}

#[tokio::test]
async fn a_report_is_snapped_to_the_nearest_reach_and_its_chief() {
    let d = demo().await;
    let (status, issue) = report(&d.server, Some(&d.chief1), point_on_reach(1), "sewage").await;
    assert_eq!(status, 201, "{issue}");
    for key in [
        "id",
        "status",
        "category",
        "location",
        "reach_id",
        "village_id",
        "level",
        "source",
        "assignee_id",
        "deadline",
        "history",
        "description",
        "patrol_id",
        "photos",
        "created_at",
        "category_name",
    ] {
        assert!(issue.get(key).is_some(), "missing {key}: {issue}");
    }
    assert_eq!(issue["status"], "reported");
    assert_eq!(issue["category"], "sewage");
    assert_eq!(issue["category_name"], "污水直排");
    // A chief reports what they found patrolling (巡河发现).
    assert_eq!(issue["source"], "patrol");
    assert_eq!(issue["level"], "village");
    assert_eq!(issue["village_id"], d.village1);
    assert!(issue["reach_id"].is_i64());
    assert_eq!(
        issue["assignee_id"], d.chief1_id,
        "the reach's chief is the candidate"
    );
    assert_eq!(issue["location"], geojson_point(point_on_reach(1)));
    assert_eq!(issue["photos"], json!([]));
    assert!(issue["patrol_id"].is_null());
    let h = hours_until(&issue["deadline"]);
    assert!((7.0 * 24.0 - 1.0..=7.0 * 24.0).contains(&h), "{h}");
    assert_eq!(actions(&issue), ["report"]);
    assert_eq!(issue["history"][0]["to_status"], "reported");
    assert_eq!(issue["history"][0]["actor"], "hz001");
    assert!(issue.get("reporter_contact").is_none());

    // Far from every reach (but in the town): the town handles it.
    let (status, issue) = report(&d.server, Some(&d.admin), off_river(), "sand_mining").await;
    assert_eq!(status, 201, "{issue}");
    assert_eq!(issue["level"], "town");
    assert!(issue["village_id"].is_null() && issue["reach_id"].is_null());
    assert!(issue["assignee_id"].is_null());
    let h = hours_until(&issue["deadline"]);
    assert!((15.0 * 24.0 - 1.0..=15.0 * 24.0).contains(&h), "{h}");

    // Every creation is in the audit log.
    assert_eq!(d.server.count("audit_log WHERE entity = 'issue'").await, 2);
}

#[tokio::test]
async fn bad_reports_are_refused_and_keep_nothing() {
    let d = demo().await;
    let cases = [
        (
            json!({"location": geojson_point(point_on_reach(1)), "category": "no_such"}),
            422,
            "unknown_category",
        ),
        (
            json!({"location": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}, "category": "other"}),
            422,
            "invalid_field",
        ),
        (
            json!({"location": geojson_point([200.0, 25.0]), "category": "other"}),
            422,
            "invalid_field",
        ),
        (json!({"category": "other"}), 422, "invalid_field"),
        (
            json!({"location": geojson_point(point_on_reach(1)), "category": "other", "patrol_id": 999}),
            422,
            "invalid_field",
        ),
        (
            json!({"location": geojson_point(point_on_reach(1)), "category": "other", "colour": "red"}),
            422,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = d
            .server
            .post_json("/api/v1/issues", Some(&d.chief1), &body)
            .await;
        assert_eq!(got, status, "{body} → {answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
    }
    let (status, answer) = e2e::send(
        d.server
            .client
            .post(d.server.url("/api/v1/issues"))
            .bearer_auth(&d.chief1)
            .header("content-type", "text/plain")
            .body("hello"),
    )
    .await;
    assert_eq!(status, 415, "{answer}");
    let (_, answer) = d
        .server
        .post_json(
            "/api/v1/issues",
            Some(&d.chief1),
            &json!({"location": geojson_point(point_on_reach(1)), "category": "nope"}),
        )
        .await;
    assert!(
        answer["error"]["details"]["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("floating_garbage"))
    );
    assert_eq!(d.server.count("issues").await, 0);
    assert_eq!(d.server.count("issue_events").await, 0);
}

#[tokio::test]
async fn town_categories_override_and_extend_the_defaults() {
    let d = demo().await;
    sqlx::query(
        "INSERT INTO issue_categories (town_id, code, name_zh, name_en, sort)
         SELECT id, 'illegal_fishing', '非法捕捞', 'Illegal fishing', 9 FROM towns
         UNION ALL SELECT id, 'other', '其他问题', 'Other problems', 8 FROM towns",
    )
    .execute(d.server.db.pool())
    .await
    .unwrap();
    let (status, issue) = report(
        &d.server,
        Some(&d.chief1),
        point_on_reach(1),
        "illegal_fishing",
    )
    .await;
    assert_eq!(status, 201, "{issue}");
    assert_eq!(issue["category_name"], "非法捕捞");
    let (_, issue) = report(&d.server, Some(&d.chief1), point_on_reach(1), "other").await;
    assert_eq!(issue["category_name"], "其他问题");
    let (status, categories) = d.server.get("/api/v1/categories", Some(&d.chief1)).await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = categories
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 9, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "other").count(), 1);
}

#[tokio::test]
async fn the_whole_lifecycle_with_reopen_reject_and_escalate() {
    let d = demo().await;
    let s = &d.server;
    let id = report_ok(s, &d.chief1, point_on_reach(1)).await;

    // assign (to the candidate, the reach's chief) → start → resolve →
    // reopen → resolve → verify.
    let steps = [
        (
            &d.admin,
            json!({"action": "assign", "note": "请尽快清理"}),
            "assigned",
        ),
        (
            &d.chief1,
            json!({"action": "start", "note": "已到现场"}),
            "in_progress",
        ),
        (
            &d.chief1,
            json!({"action": "resolve", "note": "已打捞"}),
            "resolved",
        ),
        (
            &d.admin,
            json!({"action": "reopen", "note": "复查仍有垃圾"}),
            "in_progress",
        ),
        (
            &d.chief1,
            json!({"action": "resolve", "note": "再次打捞"}),
            "resolved",
        ),
        (
            &d.admin,
            json!({"action": "verify", "note": "复查合格"}),
            "closed",
        ),
    ];
    for (token, body, status) in steps {
        let (got, issue) = act(s, Some(token), id, body.clone()).await;
        assert_eq!(got, 200, "{body} → {issue}");
        assert_eq!(issue["status"], status, "{body}");
    }
    let (_, issue) = s.get(&format!("/api/v1/issues/{id}"), Some(&d.admin)).await;
    assert_eq!(
        actions(&issue),
        [
            "report", "assign", "start", "resolve", "reopen", "resolve", "verify"
        ]
    );
    let history = issue["history"].as_array().unwrap();
    assert_eq!(history[1]["assignee_id"], d.chief1_id);
    assert_eq!(history[1]["actor"], "admin");
    assert_eq!(history[1]["from_status"], "reported");
    assert_eq!(history[1]["to_status"], "assigned");
    assert_eq!(history[4]["note"], "复查仍有垃圾");
    assert_eq!(history[4]["from_status"], "resolved");
    assert_eq!(history[4]["to_status"], "in_progress");
    assert_eq!(issue["rejected"], false);
    assert_eq!(issue["allowed_actions"], json!([]));
    assert_eq!(
        s.count(&format!(
            "audit_log WHERE entity = 'issue' AND entity_id = {id}"
        ))
        .await,
        7
    );

    // reject: needs a reason, closes from any open status, marked in history.
    let id = report_ok(s, &d.chief1, point_on_reach(1)).await;
    let (got, answer) = act(s, Some(&d.admin), id, json!({"action": "reject"})).await;
    assert_eq!(got, 422, "{answer}");
    assert_eq!(answer["error"]["details"]["field"], "note");
    let (got, issue) = act(
        s,
        Some(&d.admin),
        id,
        json!({"action": "reject", "note": "经核查为倒影，不属实"}),
    )
    .await;
    assert_eq!(got, 200, "{issue}");
    assert_eq!(issue["status"], "closed");
    assert_eq!(issue["rejected"], true);
    assert_eq!(actions(&issue), ["report", "reject"]);

    // escalate: village → town, back to reported for the town to dispatch,
    // with the town's 15 days from now; a second escalation is a 409.
    let id = report_ok(s, &d.chief1, point_on_reach(1)).await;
    act(s, Some(&d.admin), id, json!({"action": "assign"})).await;
    let (got, issue) = act(
        s,
        Some(&d.chief1),
        id,
        json!({"action": "escalate", "note": "需镇级协调"}),
    )
    .await;
    assert_eq!(got, 200, "{issue}");
    assert_eq!(issue["level"], "town");
    assert_eq!(issue["status"], "reported");
    assert!(issue["assignee_id"].is_null());
    assert_eq!(issue["village_id"], d.village1, "the place does not move");
    let h = hours_until(&issue["deadline"]);
    assert!((15.0 * 24.0 - 1.0..=15.0 * 24.0).contains(&h), "{h}");
    let (got, answer) = act(s, Some(&d.admin), id, json!({"action": "escalate"})).await;
    assert_eq!(got, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_transition");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already handled at town level")
    );
    // The town dispatches it to the town chief, who handles it.
    let (town_chief_id, _) = chief(s, &d.admin, "HZ000").await;
    let (got, issue) = act(
        s,
        Some(&d.admin),
        id,
        json!({"action": "assign", "assignee_id": town_chief_id}),
    )
    .await;
    assert_eq!(got, 200, "{issue}");
    assert_eq!(issue["assignee_id"], town_chief_id);
    let (got, issue) = act(s, Some(&d.town_chief), id, json!({"action": "start"})).await;
    assert_eq!(got, 200, "{issue}");

    // assign checks the assignee: a chief of the town, in office.
    let id = report_ok(s, &d.chief1, point_on_reach(1)).await;
    for bad in [json!(999_999), json!(null)] {
        sqlx::query("UPDATE issues SET assignee_id = NULL WHERE id = $1")
            .bind(id)
            .execute(s.db.pool())
            .await
            .unwrap();
        let (got, answer) = act(
            s,
            Some(&d.admin),
            id,
            json!({"action": "assign", "assignee_id": bad}),
        )
        .await;
        assert_eq!(got, 422, "{answer}");
        assert_eq!(answer["error"]["details"]["field"], "assignee_id");
    }
    let (got, answer) = act(s, Some(&d.admin), id, json!({"action": "fly"})).await;
    assert_eq!(got, 422, "{answer}");
    let (got, answer) = act(
        s,
        Some(&d.admin),
        id,
        json!({"action": "start", "assignee_id": d.chief1_id}),
    )
    .await;
    assert_eq!(got, 422, "{answer}");
}

/// Drives a new issue into `status` as the admin.
async fn issue_in(d: &Demo, status: &str) -> i64 {
    let id = report_ok(&d.server, &d.chief1, point_on_reach(1)).await;
    let path: &[&str] = match status {
        "reported" => &[],
        "assigned" => &["assign"],
        "in_progress" => &["assign", "start"],
        "resolved" => &["assign", "start", "resolve"],
        "closed" => &["assign", "start", "resolve", "verify"],
        other => panic!("{other}"),
    };
    for action in path {
        let (got, body) = act(&d.server, Some(&d.admin), id, json!({"action": action})).await;
        assert_eq!(got, 200, "{action}: {body}");
    }
    id
}

#[tokio::test]
async fn every_forbidden_action_is_a_409_that_changes_nothing() {
    let d = demo().await;
    // Allowed actions per status at village level (everything else is 409).
    let table: [(&str, &[&str]); 5] = [
        ("reported", &["assign", "escalate", "reject"]),
        ("assigned", &["assign", "start", "escalate", "reject"]),
        ("in_progress", &["resolve", "escalate", "reject"]),
        ("resolved", &["verify", "reopen", "reject"]),
        ("closed", &[]),
    ];
    let all = [
        "assign", "start", "resolve", "verify", "reopen", "escalate", "reject",
    ];
    for (status, allowed) in table {
        let id = issue_in(&d, status).await;
        let path = format!("/api/v1/issues/{id}");
        let (_, before) = d.server.get(&path, Some(&d.admin)).await;
        assert_eq!(before["allowed_actions"], json!(allowed), "{status}");
        let events = d.server.count("issue_events").await;
        for action in all.iter().filter(|a| !allowed.contains(a)) {
            let body = json!({"action": action, "note": "x", "assignee_id": null});
            let (got, answer) = act(&d.server, Some(&d.admin), id, body).await;
            assert_eq!(got, 409, "{status} × {action}: {answer}");
            assert_eq!(answer["error"]["code"], "invalid_transition");
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("the issue is {status}")),
                "{message}"
            );
            assert_eq!(answer["error"]["details"]["status"], status);
            assert_eq!(answer["error"]["details"]["allowed"], json!(allowed));
            for a in allowed {
                assert!(message.contains(a), "{message} should name {a}");
            }
        }
        let (_, after) = d.server.get(&path, Some(&d.admin)).await;
        assert_eq!(before, after, "{status}: nothing changed");
        assert_eq!(d.server.count("issue_events").await, events);
    }
}

#[tokio::test]
async fn the_permission_matrix() {
    let d = demo().await;
    let s = &d.server;
    let photo = || {
        reqwest::multipart::Form::new()
            .text("location", geojson_point(point_on_reach(1)).to_string())
            .text("category", "floating_garbage")
            .part("photo", photo_part(png(40, 30), "p.png", "image/png"))
    };
    let (status, issue) = report_multipart(s, &d.chief1, photo()).await;
    assert_eq!(status, 201, "{issue}");
    let id = issue["id"].as_i64().unwrap();
    let photo_url = issue["photos"][0]["url"].as_str().unwrap().to_owned();
    let thumb_url = issue["photos"][0]["thumbnail_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let none: Option<&str> = None;

    // (who, list sees it, get, create, photo)
    let rows = [
        ("admin", Some(d.admin.as_str()), true, 200, 201, 200),
        ("assessor", Some(d.assessor.as_str()), true, 200, 403, 200),
        (
            "chief of the village",
            Some(d.chief1.as_str()),
            true,
            200,
            201,
            200,
        ),
        (
            "chief of another village",
            Some(d.chief2.as_str()),
            false,
            404,
            201,
            404,
        ),
        (
            "town chief",
            Some(d.town_chief.as_str()),
            true,
            200,
            201,
            200,
        ),
        ("no token", none, false, 401, 401, 401),
    ];
    for (who, token, listed, get, create, photo_status) in rows {
        let (status, list) = s.get("/api/v1/issues", token).await;
        if token.is_none() {
            assert_eq!(status, 401, "{who}");
        } else {
            assert_eq!(status, 200, "{who}: {list}");
            let ids: Vec<i64> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap())
                .collect();
            assert_eq!(ids.contains(&id), listed, "{who} lists {ids:?}");
        }
        let (status, body) = s.get(&format!("/api/v1/issues/{id}"), token).await;
        assert_eq!(status, get, "{who} get: {body}");
        let (status, body) = report(s, token, point_on_reach(1), "other").await;
        assert_eq!(status, create, "{who} create: {body}");
        for url in [&photo_url, &thumb_url] {
            let mut request = s.client.get(s.url(url));
            if let Some(t) = token {
                request = request.bearer_auth(t);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), photo_status, "{who} {url}");
        }
    }
    // A chief of another village still sees what they reported themselves.
    let (_, list) = s.get("/api/v1/issues", Some(&d.chief2)).await;
    assert!(!list.as_array().unwrap().is_empty());
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|i| i["history"][0]["actor"] == "hz002")
    );

    // Transitions: (who, action, expected) on an assigned issue, in order.
    let id = issue_in(&d, "assigned").await;
    sqlx::query("DELETE FROM audit_log")
        .execute(s.db.pool())
        .await
        .unwrap();
    let matrix: [(&str, Option<&str>, &str, u16); 11] = [
        ("no token", none, "start", 401),
        ("assessor", Some(&d.assessor), "start", 403),
        ("assessor", Some(&d.assessor), "reject", 403),
        ("chief of another village", Some(&d.chief2), "start", 404),
        ("chief of another village", Some(&d.chief2), "escalate", 404),
        ("chief of the village", Some(&d.chief1), "assign", 403),
        ("chief of the village", Some(&d.chief1), "reject", 403),
        ("chief of the village", Some(&d.chief1), "start", 200),
        ("chief of the village", Some(&d.chief1), "verify", 403),
        ("chief of the village", Some(&d.chief1), "resolve", 200),
        ("admin", Some(&d.admin), "verify", 200),
    ];
    for (who, token, action, expected) in matrix {
        let (status, body) = act(s, token, id, json!({"action": action, "note": "n"})).await;
        assert_eq!(status, expected, "{who} {action}: {body}");
    }
    let (_, issue) = s.get(&format!("/api/v1/issues/{id}"), Some(&d.admin)).await;
    assert_eq!(issue["status"], "closed");
    // Refused attempts leave no trace; the three that passed do.
    assert_eq!(s.count("audit_log").await, 3);

    // The town chief (大河长) dispatches with the town office: assign,
    // verify, reject.
    let id = report_ok(s, &d.chief1, point_on_reach(1)).await;
    let assign = json!({"action": "assign", "assignee_id": d.chief1_id, "note": "请处理"});
    let (status, body) = act(s, Some(&d.town_chief), id, assign).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["assignee_id"], d.chief1_id);
    for action in ["start", "resolve"] {
        let (status, body) = act(s, Some(&d.chief1), id, json!({"action": action})).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    let (status, body) = act(s, Some(&d.town_chief), id, json!({"action": "verify"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "closed");
    let id = report_ok(s, &d.chief1, point_on_reach(1)).await;
    let (status, body) = act(
        s,
        Some(&d.town_chief),
        id,
        json!({"action": "reject", "note": "重复上报"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A village chief escalates only their own village's issues.
    let id = report_ok(s, &d.admin, point_on_reach(2)).await;
    let (status, _) = act(s, Some(&d.chief1), id, json!({"action": "escalate"})).await;
    assert_eq!(status, 404);
    let (status, body) = act(s, Some(&d.chief2), id, json!({"action": "escalate"})).await;
    assert_eq!(status, 200, "{body}");
    // ... and then no longer sees it? It stays in their village: still visible.
    let (status, _) = s
        .get(&format!("/api/v1/issues/{id}"), Some(&d.chief2))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn list_filters_pagination_and_overdue() {
    let d = demo().await;
    let s = &d.server;
    let a = report_ok(s, &d.admin, point_on_reach(1)).await;
    let b = report_ok(s, &d.admin, point_on_reach(2)).await;
    let (_, c) = report(s, Some(&d.admin), point_on_reach(1), "sewage").await;
    let c = c["id"].as_i64().unwrap();
    let t = report_ok(s, &d.admin, off_river()).await;
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };
    let (_, all) = s.get("/api/v1/issues", Some(&d.admin)).await;
    assert_eq!(ids(&all), [t, c, b, a], "newest first");
    let (_, page) = s
        .get("/api/v1/issues?limit=2&offset=1", Some(&d.admin))
        .await;
    assert_eq!(ids(&page), [c, b]);
    let (_, v1) = s
        .get(
            &format!("/api/v1/issues?village_id={}", d.village1),
            Some(&d.admin),
        )
        .await;
    assert_eq!(ids(&v1), [c, a]);
    let (_, sewage) = s
        .get("/api/v1/issues?category=sewage", Some(&d.admin))
        .await;
    assert_eq!(ids(&sewage), [c]);
    act(s, Some(&d.admin), a, json!({"action": "assign"})).await;
    let (_, assigned) = s
        .get("/api/v1/issues?status=assigned", Some(&d.admin))
        .await;
    assert_eq!(ids(&assigned), [a]);
    let (_, chief1) = s.get("/api/v1/issues", Some(&d.chief1)).await;
    assert_eq!(ids(&chief1), [c, a], "a village chief sees their village");

    // Overdue: open and past the deadline. Resolved ones are not.
    let (_, none) = s.get("/api/v1/issues?overdue=true", Some(&d.admin)).await;
    assert_eq!(ids(&none), Vec::<i64>::new());
    sqlx::query("UPDATE issues SET deadline = now() - interval '1 hour' WHERE id = ANY($1)")
        .bind(vec![a, b, c])
        .execute(s.db.pool())
        .await
        .unwrap();
    act(s, Some(&d.admin), a, json!({"action": "start"})).await;
    act(s, Some(&d.admin), a, json!({"action": "resolve"})).await;
    let (_, overdue) = s.get("/api/v1/issues?overdue=true", Some(&d.admin)).await;
    assert_eq!(ids(&overdue), [c, b]);
    assert!(
        overdue
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["overdue"] == true)
    );
    let (_, overdue) = s.get("/api/v1/issues?overdue=true", Some(&d.chief1)).await;
    assert_eq!(ids(&overdue), [c]);

    for bad in ["status=open", "limit=0", "limit=501", "offset=-1"] {
        let (status, body) = s
            .get(&format!("/api/v1/issues?{bad}"), Some(&d.admin))
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    let (status, _) = s.get("/api/v1/issues?overdue=maybe", Some(&d.admin)).await;
    assert_eq!(status, 400);
    let (status, _) = s.get("/api/v1/issues?town_id=999", Some(&d.admin)).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn photos_are_checked_stored_by_content_and_served_to_who_may_see() {
    let d = demo().await;
    let s = &d.server;
    let form = |parts: Vec<reqwest::multipart::Part>| {
        let mut form = reqwest::multipart::Form::new()
            .text("lon", point_on_reach(3)[0].to_string())
            .text("lat", point_on_reach(3)[1].to_string())
            .text("category", "facility_damage")
            .text("description", "护栏损坏");
        for p in parts {
            form = form.part("photo", p);
        }
        form
    };
    let photos_dir = s.data_dir.path().join("photos");
    let files = || {
        let mut n = 0;
        if let Ok(dirs) = std::fs::read_dir(&photos_dir) {
            for dir in dirs {
                n += std::fs::read_dir(dir.unwrap().path()).unwrap().count();
            }
        }
        n
    };

    // Not an image: 422, whatever the declared type; nothing kept.
    let (status, body) = report_multipart(
        s,
        &d.admin,
        form(vec![photo_part(
            b"just text".to_vec(),
            "a.jpg",
            "image/jpeg",
        )]),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "unsupported_photo");
    // HEIC: told to send JPEG.
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    let (status, body) = report_multipart(
        s,
        &d.admin,
        form(vec![photo_part(heic, "IMG_0001.HEIC", "image/heic")]),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("JPEG"),
        "{body}"
    );
    // A good photo next to a bad one: the whole report is refused.
    let (status, _) = report_multipart(
        s,
        &d.admin,
        form(vec![
            photo_part(png(10, 10), "ok.png", "image/png"),
            photo_part(b"GIF89a....".to_vec(), "x.gif", "image/gif"),
        ]),
    )
    .await;
    assert_eq!(status, 422);
    // Over 10 MiB: 413.
    let mut big = jpeg(16, 16);
    big.resize(10 * 1024 * 1024 + 1, 0);
    let (status, body) = report_multipart(
        s,
        &d.admin,
        form(vec![photo_part(big, "big.jpg", "image/jpeg")]),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    // Seven photos: too many.
    let seven = (0..7)
        .map(|i| photo_part(png(8 + i, 8), "p.png", "image/png"))
        .collect();
    let (status, body) = report_multipart(s, &d.admin, form(seven)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "too_many_photos");
    assert_eq!(s.count("issues").await, 0);
    assert_eq!(s.count("photos").await, 0);
    assert_eq!(files(), 0, "no files left from refused reports");

    // Two good photos (JPEG, PNG); the same JPEG twice is stored once.
    let big_jpeg = jpeg(800, 600);
    let (status, issue) = report_multipart(
        s,
        &d.admin,
        form(vec![
            photo_part(big_jpeg.clone(), "a.jpg", "application/octet-stream"),
            photo_part(png(30, 20), "b.png", "image/png"),
            photo_part(big_jpeg.clone(), "a-again.jpg", "image/jpeg"),
        ]),
    )
    .await;
    assert_eq!(status, 201, "{issue}");
    assert_eq!(issue["photos"].as_array().unwrap().len(), 2);
    assert_eq!(issue["photos"][0]["content_type"], "image/jpeg");
    assert_eq!(issue["photos"][0]["width"], 800);
    assert_eq!(issue["photos"][1]["content_type"], "image/png");
    assert_eq!(issue["location"], geojson_point(point_on_reach(3)));
    assert_eq!(issue["location_source"], "given");
    let sha = api::photos::sha256_hex(&big_jpeg);
    let stored = photos_dir.join(&sha[..2]).join(format!("{sha}.jpg"));
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        big_jpeg,
        "kept byte for byte by content hash"
    );
    assert!(
        photos_dir
            .join(&sha[..2])
            .join(format!("{sha}.thumb.jpg"))
            .exists()
    );
    assert_eq!(
        files(),
        6,
        "original, thumbnail and public copy of two photos"
    );

    let get = |url: String, token: String| {
        let request = s.client.get(s.url(&url)).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let kind = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, kind, response.bytes().await.unwrap().to_vec())
        }
    };
    let url = issue["photos"][0]["url"].as_str().unwrap().to_owned();
    let (status, _, _) = get(url, d.chief2.clone()).await;
    assert_eq!(status, 404, "chief 3's village is not chief 2's");
    let chief3 = s.login("hz003", "demo-chief-2026").await;
    let url = issue["photos"][0]["url"].as_str().unwrap().to_owned();
    let (status, kind2, original) = get(url, chief3.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(kind2.as_deref(), Some("image/jpeg"));
    assert_eq!(original, big_jpeg);
    let url = issue["photos"][0]["thumbnail_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, kind, thumb) = get(url, chief3.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(kind.as_deref(), Some("image/jpeg"));
    let thumb = image::load_from_memory(&thumb).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
    // A photo id of another issue under this issue: 404.
    let other = issue["photos"][1]["id"].as_i64().unwrap();
    let (status, _, _) = get(
        format!("/api/v1/issues/999/photos/{other}"),
        d.admin.clone(),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_exif_position_places_a_report_without_location() {
    let d = demo().await;
    let s = &d.server;
    let at = point_on_reach(5);
    let photo = jpeg_with_gps(64, 48, at);
    assert_eq!(
        api::photos::exif_location(&photo)
            .map(|(lon, lat)| ((lon * 1e5).round(), (lat * 1e5).round())),
        Some(((at[0] * 1e5).round(), (at[1] * 1e5).round())),
        "the hand-made EXIF reads back"
    );
    let form = reqwest::multipart::Form::new()
        .text("category", "floating_garbage")
        .part("photo", photo_part(jpeg(10, 10), "plain.jpg", "image/jpeg"))
        .part("photo", photo_part(photo.clone(), "gps.jpg", "image/jpeg"));
    let (status, issue) = report_multipart(s, &d.admin, form).await;
    assert_eq!(status, 201, "{issue}");
    assert_eq!(issue["location_source"], "exif");
    let [lon, lat] = [
        issue["location"]["coordinates"][0].as_f64().unwrap(),
        issue["location"]["coordinates"][1].as_f64().unwrap(),
    ];
    assert!(
        (lon - at[0]).abs() < 1e-6 && (lat - at[1]).abs() < 1e-6,
        "{lon},{lat} vs {at:?}"
    );
    assert!(issue["photos"][0]["exif_location"].is_null());
    assert_eq!(issue["photos"][1]["exif_location"]["type"], "Point");
    let (_, chief5_village) = chief(s, &d.admin, "HZ005").await;
    assert_eq!(issue["village_id"], chief5_village.unwrap());
    // In the database too.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM photos WHERE exif_location IS NOT NULL")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);

    // No location and no EXIF position: 422.
    let form = reqwest::multipart::Form::new()
        .text("category", "floating_garbage")
        .part("photo", photo_part(jpeg(10, 10), "plain.jpg", "image/jpeg"));
    let (status, body) = report_multipart(s, &d.admin, form).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"]["field"], "location");
}

#[tokio::test]
async fn concurrent_identical_transitions_one_wins() {
    let d = demo().await;
    for round in 0..5 {
        let id = issue_in(&d, "assigned").await;
        let start = || act(&d.server, Some(&d.chief1), id, json!({"action": "start"}));
        let (first, second) = tokio::join!(start(), start());
        let mut statuses = [first.0, second.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {first:?} {second:?}");
        let (_, issue) = d
            .server
            .get(&format!("/api/v1/issues/{id}"), Some(&d.admin))
            .await;
        assert_eq!(
            actions(&issue),
            ["report", "assign", "start"],
            "round {round}"
        );
        assert_eq!(issue["status"], "in_progress");
    }
    // Two different transitions racing (resolve and reject are both
    // allowed from in_progress): whichever runs second is judged against
    // the first's result, so the history is one unbroken chain.
    let id = issue_in(&d, "in_progress").await;
    let (a, b) = tokio::join!(
        act(&d.server, Some(&d.chief1), id, json!({"action": "resolve"})),
        act(
            &d.server,
            Some(&d.admin),
            id,
            json!({"action": "reject", "note": "重复上报"})
        ),
    );
    let (_, issue) = d
        .server
        .get(&format!("/api/v1/issues/{id}"), Some(&d.admin))
        .await;
    let history = issue["history"].as_array().unwrap();
    let wins = [a.0, b.0].iter().filter(|s| **s == 200).count();
    assert!(wins >= 1, "{a:?} {b:?}");
    assert_eq!(history.len(), 3 + wins);
    for pair in history.windows(2) {
        assert_eq!(pair[1]["from_status"], pair[0]["to_status"], "{history:?}");
    }
    assert_eq!(issue["status"], "closed");
}

/// The chief page resends a report it queued offline when the answer was
/// lost: the same Idempotency-Key from the same user is the same problem.
#[tokio::test]
async fn a_report_sent_again_with_its_idempotency_key_is_stored_once() {
    let d = demo().await;
    let send = |token: String, key: &'static str| {
        let request = d
            .server
            .client
            .post(d.server.url("/api/v1/issues"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(
                &json!({"location": geojson_point(point_on_reach(1)), "category": "sewage",
                          "description": "排污口在冒黑水"}),
            );
        e2e::send(request)
    };
    let before = d.server.count("issues").await;
    let (status, first) = send(d.chief1.clone(), "8f1d2c4e-0000-4000-8000-000000000001").await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = send(d.chief1.clone(), "8f1d2c4e-0000-4000-8000-000000000001").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(d.server.count("issues").await, before + 1);
    // The admin's report with a key that happens to be the same is another report.
    let (status, other) = send(d.admin.clone(), "8f1d2c4e-0000-4000-8000-000000000001").await;
    assert_eq!(status, 201, "{other}");
    assert_ne!(other["id"], first["id"]);
    assert_eq!(other["source"], "staff", "the office's own report");
    // A key that is no key: 400, nothing stored.
    let (status, body) = send(d.chief1.clone(), "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(d.server.count("issues").await, before + 2);
}
