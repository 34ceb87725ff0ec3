//! The demo season over HTTP: the patrols `riverchief demo` loads are judged
//! by the upload pipeline's rules, and the map, compliance and exemption
//! views show the mix the demo promises. Loading it again changes nothing.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use e2e::TestServer;
use e2e::logins::ADMIN;
use serde_json::Value;

/// Wednesday of 2026-W47, 12:00 CST: the season is 2026-W40 … W47.
fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 18, 4, 0, 0).unwrap()
}

fn reasons(patrols: &[Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for p in patrols {
        for r in p["reasons"].as_array().unwrap() {
            *out.entry(r.as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    out
}

#[tokio::test]
async fn the_demo_season_shows_a_true_mix_and_loads_once() {
    let started = Instant::now();
    let (server, summary) = TestServer::with_demo_season(now()).await;
    let took = started.elapsed();
    eprintln!("demo season loaded in {took:?}: {summary}");
    assert_eq!(summary.first_week.as_deref(), Some("2026-W40"));
    assert_eq!(summary.last_week.as_deref(), Some("2026-W47"));
    assert_eq!(summary.created as i64, summary.patrols);
    assert_eq!(summary.exemptions_created, 2);

    let admin = server.login(ADMIN.0, ADMIN.1).await;
    let (status, patrols) = server.get("/api/v1/patrols?limit=1000", Some(&admin)).await;
    assert_eq!(status, 200);
    let patrols = patrols.as_array().unwrap().clone();
    assert_eq!(patrols.len() as i64, summary.patrols);
    assert!(patrols.len() > 100, "{} patrols", patrols.len());
    let valid = patrols.iter().filter(|p| p["valid"] == true).count();
    assert_eq!(valid as i64, summary.valid);
    // Mostly valid, some not.
    assert!(
        valid * 100 >= patrols.len() * 85,
        "{valid} of {}",
        patrols.len()
    );
    assert!(valid < patrols.len());

    // Every kind of breach is there, as the rules judged it.
    let by_reason = reasons(&patrols);
    for code in [
        "too_short",
        "too_brief",
        "low_coverage",
        "too_fast",
        "duplicate_track",
        "outside_assigned_reaches",
    ] {
        assert!(
            by_reason.get(code).is_some_and(|&n| n >= 1),
            "{code}: {by_reason:?}"
        );
    }
    assert_eq!(by_reason["duplicate_track"], 1, "{by_reason:?}");
    // Each patrol was uploaded as its chief would have, twenty minutes after
    // the walk, not weeks later when the season was loaded: none is late.
    for code in ["late_upload", "too_long", "time_gap"] {
        assert!(!by_reason.contains_key(code), "{code}: {by_reason:?}");
    }
    for p in &patrols {
        let at = |field: &str| {
            p[field]
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
        };
        let after_the_walk = at("uploaded_at") - at("ended_at");
        assert!(after_the_walk <= chrono::Duration::minutes(20), "{p}");
        assert!(after_the_walk >= chrono::Duration::zero(), "{p}");
    }
    let summary_reasons: BTreeMap<String, usize> = summary
        .reasons
        .iter()
        .map(|(k, v)| (k.clone(), *v as usize))
        .collect();
    assert_eq!(summary_reasons, by_reason);
    // Realistic recordings: walking pace, no synthetic flag, both formats.
    assert!(
        patrols
            .iter()
            .all(|p| p["flags"].as_array().unwrap().is_empty())
    );
    let walks: Vec<&Value> = patrols.iter().filter(|p| p["valid"] == true).collect();
    assert!(
        walks
            .iter()
            .all(|p| p["max_speed_kmh"].as_f64().unwrap() < 20.0)
    );
    assert!(walks.iter().all(|p| p["coverage"].as_f64().unwrap() >= 0.5));
    for content_type in ["application/gpx+xml", "application/geo+json"] {
        assert!(
            patrols
                .iter()
                .any(|p| p["original_content_type"] == content_type),
            "{content_type}"
        );
    }

    // The replay points at the chief's own earlier patrol, three weeks before.
    let replay = patrols
        .iter()
        .find(|p| p["reasons"] == serde_json::json!(["duplicate_track"]))
        .expect("the replay is flagged and has no other fault");
    let original_id = replay["duplicate_of"].as_i64().expect("duplicate_of");
    let (status, original) = server
        .get(&format!("/api/v1/patrols/{original_id}"), Some(&admin))
        .await;
    assert_eq!(status, 200);
    assert_eq!(original["chief_id"], replay["chief_id"]);
    assert_eq!(original["valid"], true);
    assert_eq!(original["week"], "2026-W40");
    assert_eq!(replay["week"], "2026-W43");

    // A past week: most chiefs compliant, some missed, one on sick leave.
    let (status, week) = server
        .get("/api/v1/compliance?week=2026-W42", Some(&admin))
        .await;
    assert_eq!(status, 200);
    let status_of = |code: &str| -> String {
        week["chiefs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap_or_else(|| panic!("{code} in {week}"))["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for c in week["chiefs"].as_array().unwrap() {
        *statuses
            .entry(c["status"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(
        statuses.get("compliant").is_some_and(|&n| n >= 9),
        "{statuses:?}"
    );
    assert!(
        statuses.get("missed").is_some_and(|&n| n >= 3),
        "{statuses:?}"
    );
    assert_eq!(status_of("HZ005"), "exempt");
    assert_eq!(status_of("HZ010"), "missed"); // no patrol at all
    assert_eq!(status_of("HZ006"), "missed"); // a third of the reach only
    assert_eq!(status_of("HZ013"), "missed"); // too short

    // The quarter: the leaves are exempt weeks; the week of `now` is not
    // over, so it is never missed.
    let (status, quarter) = server
        .get("/api/v1/compliance?quarter=2026-Q4", Some(&admin))
        .await;
    assert_eq!(status, 200);
    let chief = |code: &str| -> Value {
        quarter["chiefs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .cloned()
            .unwrap()
    };
    assert_eq!(chief("HZ005")["exempt"], 2);
    assert_eq!(chief("HZ012")["exempt"], 1);
    let (status, exemptions) = server.get("/api/v1/exemptions", Some(&admin)).await;
    assert_eq!(status, 200);
    let exemptions = exemptions.as_array().unwrap();
    assert_eq!(exemptions.len(), 2);
    assert!(exemptions.iter().all(|e| e["approved_by_login"] == "admin"));

    // The town chief patrols reaches of the town too.
    let town_chief = patrols
        .iter()
        .filter(|p| p["chief_name"] == "李明华")
        .count();
    assert!(town_chief >= 3, "{town_chief}");

    // Loading again adds nothing and changes nothing.
    let chief_weeks_before: Vec<(i64, chrono::NaiveDate, i32)> =
        sqlx::query_as("SELECT chief_id, week_start, valid_patrols FROM chief_weeks ORDER BY 1, 2")
            .fetch_all(server.db.pool())
            .await
            .unwrap();
    let again = store::demo::load(server.db.pool(), now()).await.unwrap();
    assert_eq!(again.season.created, 0);
    assert_eq!(again.season.exemptions_created, 0);
    assert_eq!(again.season.patrols, summary.patrols);
    assert_eq!(again.season.valid, summary.valid);
    assert_eq!(server.count("patrols").await, summary.patrols);
    assert_eq!(server.count("exemptions").await, 2);
    let chief_weeks_after: Vec<(i64, chrono::NaiveDate, i32)> =
        sqlx::query_as("SELECT chief_id, week_start, valid_patrols FROM chief_weeks ORDER BY 1, 2")
            .fetch_all(server.db.pool())
            .await
            .unwrap();
    assert_eq!(chief_weeks_after, chief_weeks_before);
}
