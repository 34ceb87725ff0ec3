//! The quarterly assessment end to end, against numbers computed by hand.
//!
//! The scenario is built only through the API, in 2026-Q3 (W27 Mon
//! 2026-06-29 .. W39 Sun 2026-09-27, 13 weeks, all over whenever this runs):
//! - HZ001 张建国 (reach 1): valid walks in W27, W28 (two) and W30; a short
//!   walk in W29 that the machine rejects and the office overrides to
//!   valid; an exemption 2026-07-27..08-02 (= W31). → in office 13,
//!   compliant 4, exempt 1, missed 8, required 12, rate 1/3.
//! - HZ002 李卫东 (reach 2): valid walks in W27 and W33; the office
//!   overrides the W27 one to invalid. → compliant 1, missed 12, rate 1/13.
//! - HZ017 新河长, appointed Wednesday 2026-08-12 (W33) to branch B03 and
//!   reach 3: valid walks in W33 and W35, exempt 2026-09-14..20 (= W38). →
//!   in office 7 (W33..W39), not in office 6, compliant 2, exempt 1, missed
//!   4, required 6, rate 1/3.
//! - Everyone else (HZ000, HZ003..HZ016): 13 missed, rate 0.
//!
//! Scores (default formula, no issues: full 20 for on-time resolution, 0 for
//! problems found): HZ001 and HZ017 60/3 + 20 = 40, HZ002 60/13 = 4.62 + 20
//! = 24.62, the rest 20.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use e2e::tracks::{demo_reach, gpx, walk};
use e2e::{TestServer, logins, send};
use serde_json::{Value, json};

/// An instant given as CST wall time.
fn cst(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap() - TimeDelta::hours(8)
}

async fn chief_id(server: &TestServer, admin: &str, code: &str) -> i64 {
    let (status, chiefs) = server.get("/api/v1/chiefs", Some(admin)).await;
    assert_eq!(status, 200, "{chiefs}");
    chiefs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{code} not in {chiefs}"))["id"]
        .as_i64()
        .unwrap()
}

async fn id_by_code(server: &TestServer, admin: &str, list: &str, code: &str) -> i64 {
    let (status, body) = server.get(&format!("/api/v1/{list}"), Some(admin)).await;
    assert_eq!(status, 200, "{body}");
    let rows = body.get("features").map_or_else(
        || body.as_array().unwrap().clone(),
        |f| f.as_array().unwrap().clone(),
    );
    let row = rows
        .iter()
        .find(|r| r["code"] == code || r["properties"]["code"] == code)
        .unwrap_or_else(|| panic!("{code} not in {body}"));
    row["id"]
        .as_i64()
        .or_else(|| row["properties"]["id"].as_i64())
        .unwrap()
}

/// Uploads a walk along (part of) a reach for a chief, as the admin.
async fn walk_upload(
    server: &TestServer,
    admin: &str,
    chief: i64,
    line: &[[f64; 2]],
    start: DateTime<Utc>,
) -> Value {
    let (status, patrol) = send(
        server
            .client
            .post(server.url(&format!("/api/v1/patrols?chief_id={chief}")))
            .bearer_auth(admin)
            .header("content-type", "application/gpx+xml")
            .body(gpx(&walk(line, start, 4.0, 5, 4.0))),
    )
    .await;
    assert_eq!(status, 201, "{patrol}");
    patrol
}

async fn valid_walk(
    server: &TestServer,
    admin: &str,
    chief: i64,
    reach: usize,
    at: DateTime<Utc>,
) -> i64 {
    let patrol = walk_upload(server, admin, chief, &demo_reach(reach), at).await;
    assert_eq!(patrol["valid"], true, "{patrol}");
    patrol["id"].as_i64().unwrap()
}

async fn override_validity(server: &TestServer, admin: &str, patrol: i64, valid: bool) {
    let (status, body) = server
        .post_json(
            &format!("/api/v1/patrols/{patrol}/override"),
            Some(admin),
            &json!({"valid": valid, "reason": "河长办复核"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn exempt(server: &TestServer, admin: &str, chief: i64, from: &str, to: &str) {
    let (status, body) = server
        .post_json(
            "/api/v1/exemptions",
            Some(admin),
            &json!({"chief_id": chief, "from": from, "to": to, "reason": "病假"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The scenario's walks are months old: the office enters them as last
/// season's records, with the town's late-upload check turned off.
async fn allow_late_uploads(server: &TestServer, admin: &str) {
    let town = id_by_code(server, admin, "towns", "530127104").await;
    let (status, body) = send(
        server
            .client
            .put(server.url(&format!("/api/v1/towns/{town}/rules")))
            .bearer_auth(admin)
            .json(&json!({"upload_grace_days": null})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// The demo town plus the scenario of the module comment.
async fn scenario() -> (TestServer, String) {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    allow_late_uploads(&server, &admin).await;
    let hz001 = chief_id(&server, &admin, "HZ001").await;
    let hz002 = chief_id(&server, &admin, "HZ002").await;

    for at in [
        cst(2026, 6, 30, 9),  // W27
        cst(2026, 7, 7, 9),   // W28
        cst(2026, 7, 11, 15), // W28 again
        cst(2026, 7, 22, 9),  // W30
    ] {
        valid_walk(&server, &admin, hz001, 1, at).await;
    }
    // W29: a 300 m stroll the machine rejects, the office accepts.
    let short = walk_upload(
        &server,
        &admin,
        hz001,
        &demo_reach(1)[..4],
        cst(2026, 7, 15, 9),
    )
    .await;
    assert_eq!(short["valid"], false, "{short}");
    override_validity(&server, &admin, short["id"].as_i64().unwrap(), true).await;
    exempt(&server, &admin, hz001, "2026-07-27", "2026-08-02").await;

    let void = valid_walk(&server, &admin, hz002, 2, cst(2026, 7, 1, 10)).await;
    override_validity(&server, &admin, void, false).await;
    valid_walk(&server, &admin, hz002, 2, cst(2026, 8, 12, 10)).await;

    let branch = id_by_code(&server, &admin, "branches", "B03").await;
    let village = id_by_code(&server, &admin, "villages", "530127104203").await;
    let reach = id_by_code(&server, &admin, "reaches", "NLJ-03").await;
    let (status, new) = server
        .post_json(
            "/api/v1/chiefs",
            Some(&admin),
            &json!({"code": "HZ017", "name": "新河长", "level": "village", "village_id": village,
                    "branch_id": branch, "appointed_on": "2026-08-12", "reach_ids": [reach]}),
        )
        .await;
    assert_eq!(status, 201, "{new}");
    let hz017 = new["id"].as_i64().unwrap();
    valid_walk(&server, &admin, hz017, 3, cst(2026, 8, 13, 9)).await; // W33
    valid_walk(&server, &admin, hz017, 3, cst(2026, 8, 27, 9)).await; // W35
    exempt(&server, &admin, hz017, "2026-09-14", "2026-09-20").await;
    (server, admin)
}

fn row<'a>(list: &'a Value, code: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{code} not in {list}"))
}

fn counts(row: &Value) -> [i64; 5] {
    ["in_office", "compliant", "exempt", "missed", "required"].map(|k| row[k].as_i64().unwrap())
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

async fn get_bytes(server: &TestServer, path: &str, token: &str) -> (u16, String, String, Vec<u8>) {
    let response = server
        .client
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let header = |h: &str| {
        response
            .headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (ct, cd) = (header("content-type"), header("content-disposition"));
    (status, ct, cd, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn the_numbers_match_the_hand_computed_quarter_in_every_format() {
    let (server, admin) = scenario().await;
    let (status, report) = server
        .get("/api/v1/reports/quarterly?quarter=2026-Q3", Some(&admin))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["quarter"], "2026-Q3");
    let weeks = report["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 13);
    assert_eq!(
        (&weeks[0], &weeks[12]),
        (&json!("2026-W27"), &json!("2026-W39"))
    );
    let chiefs = &report["chiefs"];
    assert_eq!(chiefs.as_array().unwrap().len(), 18);

    let hz001 = row(chiefs, "HZ001");
    assert_eq!(counts(hz001), [13, 4, 1, 8, 12], "{hz001}");
    assert!(close(&hz001["rate"], 1.0 / 3.0), "{hz001}");
    assert_eq!(hz001["valid_patrols"], 5);
    assert_eq!(hz001["weeks"]["2026-W29"], "compliant");
    assert_eq!(hz001["weeks"]["2026-W31"], "exempt");
    assert_eq!(hz001["weeks"]["2026-W32"], "missed");
    assert_eq!(hz001["score"]["total"], 40.0);
    assert_eq!(hz001["branch"], "大村村党总支");

    let hz002 = row(chiefs, "HZ002");
    assert_eq!(counts(hz002), [13, 1, 0, 12, 13], "{hz002}");
    assert!(close(&hz002["rate"], 1.0 / 13.0), "{hz002}");
    assert_eq!(hz002["weeks"]["2026-W27"], "missed");
    assert_eq!(hz002["weeks"]["2026-W33"], "compliant");
    assert_eq!(hz002["valid_patrols"], 1);
    assert_eq!(hz002["score"]["total"], 24.62);

    let hz017 = row(chiefs, "HZ017");
    assert_eq!(counts(hz017), [7, 2, 1, 4, 6], "{hz017}");
    assert!(close(&hz017["rate"], 1.0 / 3.0), "{hz017}");
    assert_eq!(hz017["weeks"]["2026-W32"], "not_in_office");
    assert_eq!(hz017["weeks"]["2026-W33"], "compliant");
    assert_eq!(hz017["weeks"]["2026-W38"], "exempt");
    assert_eq!(hz017["score"]["total"], 40.0);

    for code in ["HZ000", "HZ003", "HZ016"] {
        let r = row(chiefs, code);
        assert_eq!(counts(r), [13, 0, 0, 13, 13], "{r}");
        assert_eq!(r["rate"], 0.0);
        assert_eq!(r["score"]["total"], 20.0);
    }
    // Ranks: HZ001 and HZ017 tie first, HZ002 third, the rest fourth.
    assert_eq!(
        (&hz001["rank"], &hz017["rank"], &hz002["rank"]),
        (&json!(1), &json!(1), &json!(3))
    );
    assert_eq!(row(chiefs, "HZ005")["rank"], 4);

    let branches = &report["branches"];
    let b03 = row(branches, "B03");
    assert_eq!(b03["chiefs"], 2);
    assert_eq!(counts(b03), [20, 2, 1, 17, 19], "{b03}");
    assert!(close(&b03["rate"], 2.0 / 19.0));
    assert_eq!(counts(row(branches, "B01")), [13, 4, 1, 8, 12]);

    let town = &report["town"];
    assert_eq!(
        (&town["chiefs"], &town["branches"]),
        (&json!(18), &json!(17))
    );
    assert_eq!(counts(town), [228, 7, 2, 219, 226], "{town}");
    assert!(close(&town["rate"], 7.0 / 226.0));
    assert_eq!(town["name"], "牛栏江镇");

    // The drill-down shows the overridden patrol behind W29.
    let hz001_id = hz001["chief_id"].as_i64().unwrap();
    let (status, detail) = server
        .get(
            &format!("/api/v1/reports/quarterly/chiefs/{hz001_id}?quarter=2026-Q3"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200, "{detail}");
    let w29 = detail["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["week"] == "2026-W29")
        .unwrap();
    assert_eq!(w29["status"], "compliant");
    assert_eq!(w29["patrols"][0]["machine_valid"], false);
    assert_eq!(w29["patrols"][0]["override_valid"], true);

    // CSV: the BOM, a header and one line per chief with name and rate.
    let (status, ct, cd, csv) = get_bytes(
        &server,
        "/api/v1/reports/quarterly?quarter=2026-Q3&format=csv",
        &admin,
    )
    .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(cd.contains("attachment") && cd.contains(".csv"), "{cd}");
    assert_eq!(&csv[..3], b"\xEF\xBB\xBF");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 19, "{text}");
    // Text cells quoted, numbers bare (OWASP's advice for CSV exports).
    assert!(lines[0].starts_with("\"河长\","), "{}", lines[0]);
    for c in chiefs.as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("\"{name}\",")))
            .unwrap_or_else(|| panic!("{name} not in the CSV"));
        let rate = format!("{:.1}%", c["rate"].as_f64().unwrap() * 100.0);
        assert!(line.contains(&rate), "{line} lacks {rate}");
    }
    assert!(text.contains("33.3%") && text.contains("7.7%"));

    // XLSX: read back, every chief's name and rate, one sheet per level.
    let (status, ct, _, xlsx) = get_bytes(
        &server,
        "/api/v1/reports/quarterly?quarter=2026-Q3&format=xlsx",
        &admin,
    )
    .await;
    assert_eq!(status, 200);
    assert!(ct.contains("spreadsheetml"), "{ct}");
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    let names = book.sheet_names();
    for sheet in ["镇级河长", "村级河长", "党支部", "汇总"] {
        assert!(names.iter().any(|n| n == sheet), "{sheet} not in {names:?}");
    }
    let mut seen = vec![];
    for (sheet, level) in [("镇级河长", "town"), ("村级河长", "village")] {
        let range = book.worksheet_range(sheet).unwrap();
        let rows: Vec<&[Data]> = range.rows().collect();
        assert_eq!(rows[0][0].to_string(), "河长");
        let rate_col = rows[0].iter().position(|h| *h == "达标率").unwrap();
        for r in &rows[1..] {
            let name = r[0].to_string();
            let c = chiefs
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name.as_str())
                .unwrap_or_else(|| panic!("{name} in {sheet} is no chief"));
            assert_eq!(c["level"], level, "{name} on {sheet}");
            // Numbers a spreadsheet can sum and sort: the rate as a number
            // (shown as a percentage), the weeks as numbers, not text.
            let rate = c["rate"].as_f64().unwrap();
            match &r[rate_col] {
                Data::Float(x) => assert!((x - rate).abs() < 1e-9, "{name}: {x} vs {rate}"),
                other => panic!("{name}: the rate is {other:?}, not a number"),
            }
            let required_col = rows[0].iter().position(|h| *h == "应巡周数").unwrap();
            assert!(
                matches!(r[required_col], Data::Float(_) | Data::Int(_)),
                "{name}: 应巡周数 is {:?}",
                r[required_col]
            );
            seen.push(name);
        }
    }
    seen.sort();
    let mut all: Vec<String> = chiefs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    all.sort();
    assert_eq!(seen, all);
}

#[tokio::test]
async fn a_fourteen_week_quarter_counts_its_53rd_week() {
    // 2020 has 53 ISO weeks: 2020-W53 runs Mon 2020-12-28 .. Sun 2021-01-03
    // and its Thursday (2020-12-31) puts it in 2020-Q4, W40..W53.
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    allow_late_uploads(&server, &admin).await;
    let branch = id_by_code(&server, &admin, "branches", "B04").await;
    let village = id_by_code(&server, &admin, "villages", "530127104204").await;
    let reach = id_by_code(&server, &admin, "reaches", "NLJ-04").await;
    let (status, old) = server
        .post_json(
            "/api/v1/chiefs",
            Some(&admin),
            &json!({"code": "HZ020", "name": "老河长", "level": "village", "village_id": village,
                    "branch_id": branch, "appointed_on": "2020-01-01", "left_on": "2021-06-30",
                    "reach_ids": [reach]}),
        )
        .await;
    assert_eq!(status, 201, "{old}");
    let id = old["id"].as_i64().unwrap();
    // Saturday 2021-01-02 CST: 2020-W53, so 2020-Q4, not 2021-Q1.
    let patrol = valid_walk(&server, &admin, id, 4, cst(2021, 1, 2, 9)).await;
    let (_, detail) = server
        .get(&format!("/api/v1/patrols/{patrol}"), Some(&admin))
        .await;
    assert_eq!(detail["week"], "2020-W53");

    let (status, report) = server
        .get("/api/v1/reports/quarterly?quarter=2020-Q4", Some(&admin))
        .await;
    assert_eq!(status, 200, "{report}");
    let weeks = report["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 14);
    assert_eq!(
        (&weeks[0], &weeks[13]),
        (&json!("2020-W40"), &json!("2020-W53"))
    );
    // Only the old chief was in office in 2020.
    assert_eq!(report["chiefs"].as_array().unwrap().len(), 1, "{report}");
    let r = row(&report["chiefs"], "HZ020");
    assert_eq!(counts(r), [14, 1, 0, 13, 14], "{r}");
    assert_eq!(r["weeks"].as_object().unwrap().len(), 14);
    assert_eq!(r["weeks"]["2020-W53"], "compliant");
    assert!(close(&r["rate"], 1.0 / 14.0));

    // 2021-Q1 starts with 2021-W01 (Mon 2021-01-04): the patrol is not in
    // it; it has only 12 weeks (its last Thursday, 03-25, is in W12).
    let (_, q1) = server
        .get("/api/v1/reports/quarterly?quarter=2021-Q1", Some(&admin))
        .await;
    assert_eq!(q1["weeks"][0], "2021-W01");
    assert_eq!(q1["weeks"].as_array().unwrap().len(), 12);
    assert_eq!(row(&q1["chiefs"], "HZ020")["compliant"], 0);

    // 2026 has 53 weeks too: 2026-Q4 is W40..W53.
    let (_, q4) = server
        .get("/api/v1/reports/quarterly?quarter=2026-Q4", Some(&admin))
        .await;
    assert_eq!(q4["weeks"].as_array().unwrap().len(), 14);
    assert_eq!(q4["weeks"][13], "2026-W53");
}

#[tokio::test]
async fn a_name_that_looks_like_a_formula_stays_text_in_the_csv() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let branch = id_by_code(&server, &admin, "branches", "B03").await;
    let village = id_by_code(&server, &admin, "villages", "530127104203").await;
    let reach = id_by_code(&server, &admin, "reaches", "NLJ-03").await;
    let formula = r#"=HYPERLINK("http://x")"#;
    let (status, chief) = server
        .post_json(
            "/api/v1/chiefs",
            Some(&admin),
            &json!({"code": "HZ018", "name": formula, "level": "village", "village_id": village,
                    "branch_id": branch, "appointed_on": "2026-01-01", "reach_ids": [reach]}),
        )
        .await;
    assert_eq!(status, 201, "{chief}");
    for path in [
        "/api/v1/reports/quarterly?quarter=2026-Q3&format=csv",
        "/api/v1/reports/yearly?year=2026&format=csv",
    ] {
        let (status, _, _, csv) = get_bytes(&server, path, &admin).await;
        assert_eq!(status, 200, "{path}");
        let text = String::from_utf8(csv[3..].to_vec()).unwrap();
        // One quoted cell '=HYPERLINK("http://x"), the quotes doubled.
        let line = text
            .lines()
            .find(|l| l.contains("HYPERLINK"))
            .unwrap_or_else(|| panic!("{path}: no line of the chief in {text}"));
        assert!(
            line.starts_with(r#""'=HYPERLINK(""http://x"")","#),
            "{path}: {line}"
        );
    }
}

#[tokio::test]
async fn only_assessors_and_admins_read_the_assessment() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let assessor = server.login(logins::ASSESSOR.0, logins::ASSESSOR.1).await;
    let village = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let town = server
        .login(logins::TOWN_CHIEF.0, logins::TOWN_CHIEF.1)
        .await;
    let hz001 = chief_id(&server, &admin, "HZ001").await;
    let paths = [
        "/api/v1/reports/quarterly?quarter=2026-Q3".to_owned(),
        "/api/v1/reports/quarterly?quarter=2026-Q3&format=csv".to_owned(),
        "/api/v1/reports/quarterly?quarter=2026-Q3&format=xlsx".to_owned(),
        format!("/api/v1/reports/quarterly/chiefs/{hz001}?quarter=2026-Q3"),
    ];
    for path in &paths {
        for (who, token, want) in [
            ("admin", Some(admin.as_str()), 200),
            ("assessor", Some(assessor.as_str()), 200),
            ("village chief", Some(village.as_str()), 403),
            ("town chief", Some(town.as_str()), 403),
            ("nobody", None, 401),
        ] {
            let mut request = server.client.get(server.url(path));
            if let Some(t) = token {
                request = request.bearer_auth(t);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), want, "{who} {path}");
            if want != 200 {
                let body: Value = response.json().await.unwrap();
                let code = if want == 401 {
                    "unauthorized"
                } else {
                    "forbidden"
                };
                assert_eq!(body["error"]["code"], code, "{who} {path}: {body}");
            }
        }
    }
    let (status, body) = server
        .get("/api/v1/reports/quarterly?quarter=2026-Q5", Some(&assessor))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_quarter"))
    );
    let (status, body) = server
        .get(
            "/api/v1/reports/quarterly?quarter=2026-Q3&format=doc",
            Some(&assessor),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_format"))
    );
}

/// The PDF through the API: every chief's name and rate in its text
/// (`pdftotext`), the CJK font embedded (`pdffonts`). Needs poppler-utils
/// and fonts-wqy-microhei (.ci/install-deps.sh installs both).
#[cfg(feature = "pdf")]
#[tokio::test]
async fn the_pdf_has_every_chief_and_its_font_embedded() {
    let (server, admin) = scenario().await;
    let (_, report) = server
        .get("/api/v1/reports/quarterly?quarter=2026-Q3", Some(&admin))
        .await;
    let started = std::time::Instant::now();
    let (status, ct, cd, pdf) = get_bytes(
        &server,
        "/api/v1/reports/quarterly?quarter=2026-Q3&format=pdf",
        &admin,
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(ct, "application/pdf");
    assert_eq!(cd, "attachment; filename=\"riverchief-2026-Q3.pdf\"");
    assert!(pdf.starts_with(b"%PDF-"));
    eprintln!(
        "PDF: {} bytes in {elapsed:?} (request, debug build)",
        pdf.len()
    );

    let text = pdf_text(&pdf);
    assert!(
        text.contains("牛栏江镇") && text.contains("2026-Q3"),
        "{text}"
    );
    assert!(text.contains("大村村党总支"), "{text}");
    // As a branch secretary files it: numbered pages, the sign-off block.
    // pdftotext ends every page with a form feed.
    let pages = text.matches('\u{c}').count();
    assert!(text.contains(&format!("第 1 页 共 {pages} 页")), "{text}");
    for word in ["填报单位", "审核人", "日期", "盖章"] {
        assert!(text.contains(word), "{word} in\n{text}");
    }
    // One table of chiefs grouped by branch: its header once per page, not once per branch.
    assert!(text.matches("应巡周数").count() <= pages + 1, "{text}");
    for c in report["chiefs"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let rate = format!("{:.1}%", c["rate"].as_f64().unwrap() * 100.0);
        assert_line(&text, &[name, &rate]);
    }
    let fonts = pdf_tool("pdffonts", &pdf, &[]);
    // name type encoding emb sub uni: the font is embedded (and subset).
    let font = fonts
        .lines()
        .find(|l| l.contains("WenQuanYi") || l.contains("Micro"))
        .unwrap_or_else(|| panic!("no CJK font in\n{fonts}"));
    let cols: Vec<&str> = font.split_whitespace().collect();
    assert_eq!(
        cols[cols.len() - 5..cols.len() - 2],
        ["yes", "yes", "yes"],
        "{fonts}"
    );
}

/// `pdftotext -layout`: the PDF's text, lines as laid out.
#[cfg(feature = "pdf")]
pub(crate) fn pdf_text(pdf: &[u8]) -> String {
    pdf_tool("pdftotext", pdf, &["-layout"])
}

/// Runs a poppler tool on the PDF (written to a temporary file): its stdout.
#[cfg(feature = "pdf")]
fn pdf_tool(program: &str, pdf: &[u8], args: &[&str]) -> String {
    let dir = e2e::process::ScratchDir::new();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new(program)
        .args(args)
        .arg(&file)
        .args(if program == "pdftotext" {
            &["-"][..]
        } else {
            &[]
        })
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (apt-get install poppler-utils)"));
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Some line of `text` holds every one of `parts`.
#[cfg(feature = "pdf")]
fn assert_line(text: &str, parts: &[&str]) {
    assert!(
        text.lines().any(|l| parts.iter().all(|p| l.contains(p))),
        "no line with {parts:?} in\n{text}"
    );
}

/// A rate as every format shows it: one decimal percent, or — for none.
fn rate_shown(rate: &Value) -> String {
    rate.as_f64()
        .map_or("—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// The year's PDF: the town quarter by quarter, and a line per chief with
/// the name and the year's rate.
#[cfg(feature = "pdf")]
#[tokio::test]
async fn the_year_pdf_has_every_chief_with_the_year_rate() {
    let (server, admin) = scenario().await;
    let (_, year) = server
        .get("/api/v1/reports/yearly?year=2026", Some(&admin))
        .await;
    let (status, ct, cd, pdf) = get_bytes(
        &server,
        "/api/v1/reports/yearly?year=2026&format=pdf",
        &admin,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(ct, "application/pdf");
    assert_eq!(cd, "attachment; filename=\"riverchief-2026.pdf\"");
    let text = pdf_text(&pdf);
    assert!(text.contains("牛栏江镇 河长制工作年度考核"), "{text}");
    for q in ["一季度", "二季度", "三季度", "四季度"] {
        assert!(text.contains(q), "{q} in\n{text}");
    }
    assert_line(&text, &["三季度（2026-Q3）"]);
    for c in year["chiefs"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert_line(&text, &[name, &rate_shown(&c["rate"])]);
    }
}

/// `riverchief report` on the demo season: the quarter and the year in
/// every format, the PDFs with every chief of the JSON in them.
#[cfg(feature = "pdf")]
#[test]
fn the_cli_writes_the_quarter_and_the_year_in_every_format() {
    use e2e::process::binary;
    let dir = e2e::process::ScratchDir::new();
    let data = dir.path().join("data");
    let riverchief = |args: &[&str]| {
        let out = std::process::Command::new(binary())
            .args(args)
            .env("RIVERCHIEF_DATA_DIR", &data)
            .env("RIVERCHIEF_LOG", "warn")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "riverchief {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    riverchief(&["demo"]);
    let now = chrono::Utc::now();
    let quarter = domain::time::Quarter::current(now).unwrap().to_string();
    let year = domain::time::Year::current(now).unwrap().get().to_string();
    for (kind, flag, period) in [
        ("quarterly", "--quarter", &quarter),
        ("yearly", "--year", &year),
    ] {
        let file = |format: &str| dir.path().join(format!("{kind}.{format}"));
        for format in ["json", "csv", "xlsx", "pdf"] {
            let out = file(format);
            riverchief(&[
                "report",
                kind,
                flag,
                period,
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ]);
        }
        let report: Value = serde_json::from_slice(&std::fs::read(file("json")).unwrap()).unwrap();
        let csv = std::fs::read(file("csv")).unwrap();
        assert_eq!(&csv[..3], b"\xEF\xBB\xBF", "{kind}: CSV with a BOM");
        assert_eq!(
            &std::fs::read(file("xlsx")).unwrap()[..2],
            b"PK",
            "{kind}: XLSX is a zip"
        );
        let text = pdf_text(&std::fs::read(file("pdf")).unwrap());
        let chiefs = report["chiefs"].as_array().unwrap();
        assert_eq!(chiefs.len(), 17, "{kind}: the demo town's chiefs");
        for c in chiefs {
            let name = c["name"].as_str().unwrap();
            assert_line(&text, &[name, &rate_shown(&c["rate"])]);
        }
    }
    // A bad period is one line naming the flag, and writes nothing.
    let out = std::process::Command::new(binary())
        .args(["report", "yearly", "--year", "20000", "--out"])
        .arg(dir.path().join("bad.csv"))
        .env("RIVERCHIEF_DATA_DIR", &data)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--year"));
    assert!(!dir.path().join("bad.csv").exists());
}

/// Without its font the server answers a 503 naming the package to install.
#[cfg(feature = "pdf")]
#[tokio::test]
async fn a_missing_pdf_font_is_a_503_naming_the_package() {
    let server =
        TestServer::start_with(|c| c.pdf_font = Some("/nonexistent/wqy-microhei.ttc".into())).await;
    store::demo::load_town(server.db.pool()).await.unwrap();
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (status, body) = server
        .get(
            "/api/v1/reports/quarterly?quarter=2026-Q3&format=pdf",
            Some(&admin),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "pdf_font_missing");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("fonts-wqy-microhei"), "{message}");
    // The other formats still work.
    let (status, _) = server
        .get(
            "/api/v1/reports/quarterly?quarter=2026-Q3&format=csv",
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_year_puts_four_quarters_side_by_side_and_rates_over_all_weeks() {
    let (server, admin) = scenario().await;
    let (status, year) = server
        .get("/api/v1/reports/yearly?year=2026", Some(&admin))
        .await;
    assert_eq!(status, 200, "{year}");
    assert_eq!(year["year"], 2026);
    assert_eq!(
        year["quarters"],
        json!(["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"])
    );
    assert_eq!(
        year["weeks"].as_array().unwrap().len(),
        53,
        "2026 has 53 ISO weeks"
    );
    let chiefs = &year["chiefs"];
    assert_eq!(chiefs.as_array().unwrap().len(), 18);

    // Each chief's year is the sum of its quarters, as the quarterly reports say.
    let mut quarterly = vec![];
    for q in 1..=4 {
        let (status, r) = server
            .get(
                &format!("/api/v1/reports/quarterly?quarter=2026-Q{q}"),
                Some(&admin),
            )
            .await;
        assert_eq!(status, 200);
        quarterly.push(r);
    }
    for code in ["HZ001", "HZ002", "HZ017", "HZ000"] {
        let y = row(chiefs, code);
        let mut sums = [0i64; 5];
        for r in &quarterly {
            if let Some(q) = r["chiefs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["code"] == code)
            {
                let quarter = r["quarter"].as_str().unwrap();
                assert_eq!(
                    y["quarters"][quarter]["compliant"], q["compliant"],
                    "{code} {quarter}"
                );
                assert_eq!(
                    y["quarters"][quarter]["rate"], q["rate"],
                    "{code} {quarter}"
                );
                for (s, v) in sums.iter_mut().zip(counts(q)) {
                    *s += v;
                }
            }
        }
        assert_eq!(counts(y), sums, "{code}: {y}");
        let rate = sums[1] as f64 / sums[4] as f64;
        assert!(close(&y["rate"], rate), "{code}: {} vs {rate}", y["rate"]);
    }
    let hz001 = row(chiefs, "HZ001");
    assert_eq!(
        (&hz001["compliant"], &hz001["exempt"]),
        (&json!(4), &json!(1))
    );
    assert!(close(&hz001["quarters"]["2026-Q3"]["rate"], 1.0 / 3.0));
    // The new chief: not listed before the quarter of the appointment.
    let hz017 = row(chiefs, "HZ017");
    assert!(hz017["quarters"].get("2026-Q2").is_none(), "{hz017}");
    assert_eq!(hz017["quarters"]["2026-Q3"]["in_office"], 7);

    // CSV with the BOM and a rate column per quarter; XLSX per level.
    let (status, _, cd, csv) = get_bytes(
        &server,
        "/api/v1/reports/yearly?year=2026&format=csv",
        &admin,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(cd, "attachment; filename=\"riverchief-2026.csv\"");
    assert_eq!(&csv[..3], b"\xEF\xBB\xBF");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 19);
    let head = text.lines().next().unwrap();
    for q in 1..=4 {
        assert!(head.contains(&format!("2026-Q{q}达标率")), "{head}");
    }
    assert!(head.contains("全年达标率"), "{head}");
    let (status, _, _, xlsx) = get_bytes(
        &server,
        "/api/v1/reports/yearly?year=2026&format=xlsx",
        &admin,
    )
    .await;
    assert_eq!(status, 200);
    use calamine::{Reader, Xlsx};
    let book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    assert_eq!(book.sheet_names(), ["镇级河长", "村级河长", "党支部"]);

    for (token, want) in [
        (None, 401),
        (
            Some(server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await),
            403,
        ),
    ] {
        let (status, _) = server
            .get("/api/v1/reports/yearly?year=2026", token.as_deref())
            .await;
        assert_eq!(status, want);
    }
    let (status, body) = server
        .get("/api/v1/reports/yearly?year=20x6", Some(&admin))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid_year"))
    );
}
