//! Leave requests 请假 and notices end to end: a chief asks leave for
//! themself, which counts only once the town office approves it; the
//! decision reaches the chief as a notice; only one's own notices are
//! visible. Over HTTP against a real server and database (the demo town:
//! HZ001–HZ016 village chiefs appointed 2026-01-01; 2026-W29 is
//! 2026-07-13..19, W30 2026-07-20..26, both in 2026-Q3).

use e2e::{TestServer, logins, send};
use serde_json::{Value, json};

/// The status of chief `code` in a week and their exempt weeks in 2026-Q3.
async fn standing(server: &TestServer, token: &str, week: &str, code: &str) -> (Value, Value) {
    let (status, weekly) = server
        .get(&format!("/api/v1/compliance?week={week}"), Some(token))
        .await;
    assert_eq!(status, 200, "{weekly}");
    let (status, quarter) = server
        .get("/api/v1/compliance?quarter=2026-Q3", Some(token))
        .await;
    assert_eq!(status, 200, "{quarter}");
    let row = |body: &Value| {
        body["chiefs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .cloned()
            .unwrap()
    };
    (
        row(&weekly)["status"].clone(),
        row(&quarter)["exempt"].clone(),
    )
}

async fn notices(server: &TestServer, token: &str) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/notices", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

fn leave(chief: i64, from: &str, to: &str) -> Value {
    json!({"chief_id": chief, "from": from, "to": to, "reason": "住院治疗"})
}

#[tokio::test]
async fn a_chiefs_leave_counts_only_once_approved_and_the_decision_is_a_notice() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let assessor = server.login(logins::ASSESSOR.0, logins::ASSESSOR.1).await;
    let hz001 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let hz002 = server.login(logins::CHIEF_2.0, logins::CHIEF_2.1).await;
    let chief1 = server.chief_id("HZ001").await;
    let chief2 = server.chief_id("HZ002").await;

    // A chief asks only for themself; assessors not at all.
    for (token, chief) in [(&hz001, chief2), (&hz002, chief1), (&assessor, chief1)] {
        let (status, error) = server
            .post_json(
                "/api/v1/exemptions",
                Some(token),
                &leave(chief, "2026-07-13", "2026-07-19"),
            )
            .await;
        assert_eq!(status, 403, "{error}");
    }
    assert_eq!(server.count("exemptions").await, 0);

    // Requested: listed with its status, not counted.
    let (status, request) = server
        .post_json(
            "/api/v1/exemptions",
            Some(&hz001),
            &leave(chief1, "2026-07-13", "2026-07-19"),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    assert_eq!(request["status"], "requested");
    assert_eq!(request["approved_by"], Value::Null);
    assert_eq!(
        standing(&server, &admin, "2026-W29", "HZ001").await,
        (json!("missed"), json!(0))
    );
    let (_, mine) = server.get("/api/v1/exemptions", Some(&hz001)).await;
    assert_eq!(mine[0]["status"], "requested", "{mine}");
    let (_, pending) = server
        .get("/api/v1/exemptions?status=requested", Some(&admin))
        .await;
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    let (status, _) = server
        .get("/api/v1/exemptions?status=maybe", Some(&admin))
        .await;
    assert_eq!(status, 422);

    // Only the office decides; a bad note changes nothing.
    let approve = format!("/api/v1/exemptions/{}/approve", request["id"]);
    for token in [&hz001, &assessor] {
        let (status, _) = server
            .post_json(&approve, Some(token), &json!({"note": "自己批"}))
            .await;
        assert_eq!(status, 403);
    }
    let (status, error) = server
        .post_json(&approve, Some(&admin), &json!({"note": "长".repeat(1001)}))
        .await;
    assert_eq!(
        (status, &error["error"]["details"]["field"]),
        (422, &json!("note"))
    );
    assert_eq!(server.count("notices").await, 0);

    // Approved: counted, the chief has a notice.
    let (status, approved) = server
        .post_json(&approve, Some(&admin), &json!({"note": "好好休息"}))
        .await;
    assert_eq!(status, 200, "{approved}");
    let (_, me) = server.get("/api/v1/auth/me", Some(&admin)).await;
    assert_eq!(
        (
            &approved["status"],
            &approved["approved_by"],
            &approved["decided_by"],
            &approved["decision_note"]
        ),
        (&json!("approved"), &me["id"], &me["id"], &json!("好好休息"))
    );
    assert_eq!(
        standing(&server, &admin, "2026-W29", "HZ001").await,
        (json!("exempt"), json!(1))
    );
    let [notice] = &notices(&server, &hz001).await[..] else {
        panic!("one notice expected");
    };
    assert_eq!(notice["kind"], "leave_approved");
    assert_eq!(notice["read"], false);
    assert_eq!(notice["details"]["from"], "2026-07-13");
    assert_eq!(notice["details"]["to"], "2026-07-19");
    assert_eq!(notice["details"]["note"], "好好休息");
    let text = notice["text"].as_str().unwrap();
    assert!(
        text.contains("2026-07-13") && text.contains("已批准"),
        "{text}"
    );

    // Decided once: approving or rejecting again is a 409.
    for action in ["approve", "reject"] {
        let (status, error) = server
            .post_json(
                &format!("/api/v1/exemptions/{}/{action}", request["id"]),
                Some(&admin),
                &json!({}),
            )
            .await;
        assert_eq!(
            (status, &error["error"]["code"]),
            (409, &json!("exemption_not_requested"))
        );
    }

    // Rejected (without a body): never counted, also a notice, newest first.
    let (_, second) = server
        .post_json(
            "/api/v1/exemptions",
            Some(&hz001),
            &leave(chief1, "2026-07-20", "2026-07-26"),
        )
        .await;
    let (status, rejected) = send(
        server
            .client
            .post(server.url(&format!("/api/v1/exemptions/{}/reject", second["id"])))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["approved_by"], Value::Null);
    assert_eq!(
        standing(&server, &admin, "2026-W30", "HZ001").await,
        (json!("missed"), json!(1))
    );
    let kinds: Vec<Value> = notices(&server, &hz001)
        .await
        .iter()
        .map(|n| n["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("leave_rejected"), json!("leave_approved")]);

    // Audited: who asked and who decided.
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE entity = 'exemption' ORDER BY id")
            .fetch_all(server.db.pool())
            .await
            .unwrap();
    assert_eq!(audit, ["request", "approve", "request", "reject"]);
}

#[tokio::test]
async fn notices_are_ones_own_and_marked_read_only_by_their_chief() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let hz001 = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let hz002 = server.login(logins::CHIEF_2.0, logins::CHIEF_2.1).await;
    let chief1 = server.chief_id("HZ001").await;
    let town: i64 = sqlx::query_scalar("SELECT town_id FROM chiefs WHERE id = $1")
        .bind(chief1)
        .fetch_one(server.db.pool())
        .await
        .unwrap();
    // A reminder as the reminders of issue #16 write one.
    let mut conn = server.db.pool().acquire().await.unwrap();
    let id = store::notices::create(
        &mut conn,
        town,
        chief1,
        "reminder",
        Some("2026-W48"),
        json!({"deadline": "周日 24:00"}),
        "本周尚未巡河，请在周日 24:00 前完成。",
    )
    .await
    .unwrap();
    drop(conn);

    assert!(notices(&server, &hz002).await.is_empty());
    assert!(notices(&server, &admin).await.is_empty());
    let read = format!("/api/v1/notices/{id}/read");
    for (token, path) in [
        (&hz002, read.clone()),
        (&admin, read.clone()),
        (&hz001, format!("/api/v1/notices/{}/read", id + 1000)),
    ] {
        let (status, error) = server.post_json(&path, Some(token), &json!({})).await;
        assert_eq!(status, 404, "{error}");
    }
    let (status, _) = server.post_json(&read, None, &json!({})).await;
    assert_eq!(status, 401);
    let [before] = &notices(&server, &hz001).await[..] else {
        panic!("one notice expected");
    };
    assert_eq!(
        (&before["kind"], &before["week"], &before["read"]),
        (&json!("reminder"), &json!("2026-W48"), &json!(false))
    );
    let (status, marked) = server.post_json(&read, Some(&hz001), &json!({})).await;
    assert_eq!((status, &marked["read"]), (200, &json!(true)), "{marked}");
    assert_eq!(notices(&server, &hz001).await[0]["read"], true);
}
