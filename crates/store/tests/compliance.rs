//! Compliance storage against a real PostGIS database: the chief-week
//! counter, the weekly and quarterly views, exemptions, overrides, the
//! overdue list and the town figures. Every expectation is computed by hand
//! from the calendar (comments give the CST days).
//!
//! November 2026: W45 Mon 2 – Sun 8, W46 9–15, W47 16–22, W48 23–29,
//! W49 Mon 30 Nov – Sun 6 Dec. 2026-Q4 is W40 (Mon 28 Sep) to W53 (Sun 3 Jan 2027).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::compliance::{DateRange, WeekStatus};
use domain::time::{IsoWeek, Quarter};
use sqlx::PgPool;
use store::compliance::{self, Scope};
use store::exemptions::{self, NewExemption};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

/// An instant given as CST wall time.
fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    utc(y, m, d, h, min, 0) - chrono::TimeDelta::hours(8)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn week(s: &str) -> IsoWeek {
    s.parse().unwrap()
}

/// A town with one village; returns (town_id, village_id).
async fn town(pool: &PgPool, code: &str) -> (i64, i64) {
    let town: i64 =
        sqlx::query_scalar("INSERT INTO towns (code, name) VALUES ($1, '测试镇') RETURNING id")
            .bind(code)
            .fetch_one(pool)
            .await
            .unwrap();
    let village: i64 = sqlx::query_scalar(
        "INSERT INTO villages (town_id, code, name) VALUES ($1, $2 || '201', '测试村') RETURNING id",
    )
    .bind(town)
    .bind(code)
    .fetch_one(pool)
    .await
    .unwrap();
    (town, village)
}

/// A village chief of `village` (town chief when `village` is None).
async fn chief(
    pool: &PgPool,
    (town, village): (i64, Option<i64>),
    code: &str,
    appointed_on: NaiveDate,
    left_on: Option<NaiveDate>,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO chiefs (town_id, code, name, level, village_id, appointed_on, left_on)
         VALUES ($1, $2, '河长' || $2, CASE WHEN $3::bigint IS NULL THEN 'town' ELSE 'village' END,
                 $3, $4, $5)
         RETURNING id",
    )
    .bind(town)
    .bind(code)
    .bind(village)
    .bind(appointed_on)
    .bind(left_on)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn admin(pool: &PgPool, town: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (town_id, login, password_hash, role)
         VALUES ($1, 'admin' || $1, 'x', 'admin') RETURNING id",
    )
    .bind(town)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn patrol(pool: &PgPool, chief: i64, at: DateTime<Utc>, valid: bool) -> i64 {
    patrol_m(pool, chief, at, valid, 1000.0).await
}

async fn patrol_m(pool: &PgPool, chief: i64, at: DateTime<Utc>, valid: bool, length_m: f64) -> i64 {
    let mut tx = pool.begin().await.unwrap();
    let id = compliance::insert_minimal_patrol(&mut tx, chief, at, valid, length_m)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn exempt(pool: &PgPool, chief: i64, from: NaiveDate, to: NaiveDate, by: i64) -> i64 {
    let new = NewExemption {
        chief_id: chief,
        range: DateRange::new(from, to).unwrap(),
        reason: "外出培训".into(),
    };
    exemptions::create(pool, &new, None, exemptions::PostedBy::Admin(by))
        .await
        .unwrap()
        .id
}

/// Status and valid patrols of each chief for a week, in chief order.
async fn statuses(
    pool: &PgPool,
    town: i64,
    w: &str,
    now: DateTime<Utc>,
) -> Vec<(i64, WeekStatus, u32)> {
    let scope = Scope {
        town_id: Some(town),
        ..Scope::default()
    };
    compliance::week(pool, scope, week(w), now)
        .await
        .unwrap()
        .chiefs
        .into_iter()
        .map(|c| (c.chief_id, c.status, c.valid_patrols))
        .collect()
}

async fn status_of(pool: &PgPool, chief: i64, w: &str, now: DateTime<Utc>) -> (WeekStatus, u32) {
    let scope = Scope {
        chief_id: Some(chief),
        ..Scope::default()
    };
    let report = compliance::week(pool, scope, week(w), now).await.unwrap();
    assert_eq!(report.chiefs.len(), 1);
    (report.chiefs[0].status, report.chiefs[0].valid_patrols)
}

async fn chief_weeks(pool: &PgPool) -> Vec<(i64, NaiveDate, i32)> {
    sqlx::query_as(
        "SELECT chief_id, week_start, valid_patrols FROM chief_weeks ORDER BY chief_id, week_start",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

use WeekStatus::*;

/// (chief, last valid patrol, its start, days left)
type OverdueTuple = (i64, Option<i64>, Option<DateTime<Utc>>, u32);

#[tokio::test]
async fn a_patrol_counts_for_the_cst_week_it_started_in() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let a = chief(pool, (t, Some(v)), "A", date(2026, 1, 1), None).await;
    let b = chief(pool, (t, Some(v)), "B", date(2026, 1, 1), None).await;
    // Monday 2026-11-23 00:20 CST is still Sunday 16:20 in UTC: new week W48.
    patrol(pool, a, utc(2026, 11, 22, 16, 20, 0), true).await;
    // Sunday 2026-11-22 23:59:59 CST: the old week W47.
    patrol(pool, b, utc(2026, 11, 22, 15, 59, 59), true).await;
    let now = utc(2026, 12, 10, 0, 0, 0);
    assert_eq!(
        statuses(pool, t, "2026-W47", now).await,
        [(a, Missed, 0), (b, Compliant, 1)]
    );
    assert_eq!(
        statuses(pool, t, "2026-W48", now).await,
        [(a, Compliant, 1), (b, Missed, 0)]
    );
    assert_eq!(
        chief_weeks(pool).await,
        [(a, date(2026, 11, 23), 1), (b, date(2026, 11, 16), 1)]
    );
}

#[tokio::test]
async fn week_53_of_2026_and_week_1_of_2027() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let c = chief(pool, (t, Some(v)), "C", date(2026, 1, 1), None).await;
    let d = chief(pool, (t, Some(v)), "D", date(2026, 1, 1), None).await;
    // Friday 2027-01-01 04:00 CST (2026-12-31 20:00 UTC) is in 2026-W53.
    patrol(pool, c, utc(2026, 12, 31, 20, 0, 0), true).await;
    // Sunday 2027-01-03 23:59:59 CST: last second of 2026-W53.
    patrol(pool, c, utc(2027, 1, 3, 15, 59, 59), true).await;
    // Monday 2027-01-04 00:00 CST: 2027-W01.
    patrol(pool, d, utc(2027, 1, 3, 16, 0, 0), true).await;
    let now = utc(2027, 2, 1, 0, 0, 0);
    assert_eq!(
        statuses(pool, t, "2026-W53", now).await,
        [(c, Compliant, 2), (d, Missed, 0)]
    );
    assert_eq!(
        statuses(pool, t, "2027-W01", now).await,
        [(c, Missed, 0), (d, Compliant, 1)]
    );
    assert_eq!(
        chief_weeks(pool).await,
        [(c, date(2026, 12, 28), 2), (d, date(2027, 1, 4), 1)]
    );
}

#[tokio::test]
async fn appointment_and_leaving_mid_week() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let by = admin(pool, t).await;
    // Appointed Wednesday 2026-11-25 (W48): W48 is owed.
    let e = chief(pool, (t, Some(v)), "E", date(2026, 11, 25), None).await;
    // Left Tuesday 2026-11-24 (last day in office): W48 is owed, W49 not.
    let f = chief(
        pool,
        (t, Some(v)),
        "F",
        date(2026, 1, 1),
        Some(date(2026, 11, 24)),
    )
    .await;
    // Appointed Wednesday, on leave Wednesday to Sunday: every day in office is exempt.
    let g = chief(pool, (t, Some(v)), "G", date(2026, 11, 25), None).await;
    exempt(pool, g, date(2026, 11, 25), date(2026, 11, 29), by).await;
    // Left Tuesday, on leave Monday and Tuesday: exempt.
    let h = chief(
        pool,
        (t, Some(v)),
        "H",
        date(2026, 1, 1),
        Some(date(2026, 11, 24)),
    )
    .await;
    exempt(pool, h, date(2026, 11, 23), date(2026, 11, 24), by).await;
    // Left Tuesday after patrolling on Monday: compliant.
    let i = chief(
        pool,
        (t, Some(v)),
        "I",
        date(2026, 1, 1),
        Some(date(2026, 11, 24)),
    )
    .await;
    patrol(pool, i, cst(2026, 11, 23, 9, 0), true).await;

    let after = utc(2026, 12, 10, 0, 0, 0);
    assert_eq!(
        statuses(pool, t, "2026-W47", after).await,
        [
            (e, NotInOffice, 0),
            (f, Missed, 0),
            (g, NotInOffice, 0),
            (h, Missed, 0),
            (i, Missed, 0)
        ]
    );
    assert_eq!(
        statuses(pool, t, "2026-W48", after).await,
        [
            (e, Missed, 0),
            (f, Missed, 0),
            (g, Exempt, 0),
            (h, Exempt, 0),
            (i, Compliant, 1)
        ]
    );
    assert_eq!(
        statuses(pool, t, "2026-W49", after).await,
        [
            (e, Missed, 0),
            (f, NotInOffice, 0),
            (g, Missed, 0),
            (h, NotInOffice, 0),
            (i, NotInOffice, 0)
        ]
    );
    // Thursday 2026-11-26 12:00 CST: the week is not over; F left on Tuesday
    // but still has until Sunday 24:00.
    let thursday = cst(2026, 11, 26, 12, 0);
    assert_eq!(status_of(pool, e, "2026-W48", thursday).await, (Pending, 0));
    assert_eq!(status_of(pool, f, "2026-W48", thursday).await, (Pending, 0));
    // Sunday 23:59 CST: still pending; Monday 00:00 CST: missed.
    assert_eq!(
        status_of(pool, f, "2026-W48", utc(2026, 11, 29, 15, 59, 59)).await,
        (Pending, 0)
    );
    assert_eq!(
        status_of(pool, f, "2026-W48", utc(2026, 11, 29, 16, 0, 0)).await,
        (Missed, 0)
    );
}

#[tokio::test]
async fn exemptions_must_cover_the_whole_week_in_office() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let by = admin(pool, t).await;
    let since = date(2026, 1, 1);
    // Monday to Saturday only: not exempt.
    let part = chief(pool, (t, Some(v)), "P1", since, None).await;
    exempt(pool, part, date(2026, 11, 23), date(2026, 11, 28), by).await;
    // Monday to Sunday: exempt.
    let full = chief(pool, (t, Some(v)), "P2", since, None).await;
    exempt(pool, full, date(2026, 11, 23), date(2026, 11, 29), by).await;
    // Overlapping Mon–Thu and Thu–Sun: merged, exempt.
    let overlap = chief(pool, (t, Some(v)), "P3", since, None).await;
    exempt(pool, overlap, date(2026, 11, 23), date(2026, 11, 26), by).await;
    exempt(pool, overlap, date(2026, 11, 26), date(2026, 11, 29), by).await;
    // Adjacent Mon–Wed and Thu–Sun: exempt.
    let adjacent = chief(pool, (t, Some(v)), "P4", since, None).await;
    exempt(pool, adjacent, date(2026, 11, 23), date(2026, 11, 25), by).await;
    exempt(pool, adjacent, date(2026, 11, 26), date(2026, 11, 29), by).await;
    // Exempt all week but patrolled anyway: compliant comes first.
    let patrolled = chief(pool, (t, Some(v)), "P5", since, None).await;
    exempt(pool, patrolled, date(2026, 11, 23), date(2026, 11, 29), by).await;
    patrol(pool, patrolled, cst(2026, 11, 27, 15, 0), true).await;
    // Friday of W47 to Wednesday of W49: only W48 is covered.
    let spanning = chief(pool, (t, Some(v)), "P6", since, None).await;
    exempt(pool, spanning, date(2026, 11, 20), date(2026, 12, 2), by).await;

    let after = utc(2026, 12, 10, 0, 0, 0);
    assert_eq!(
        statuses(pool, t, "2026-W48", after).await,
        [
            (part, Missed, 0),
            (full, Exempt, 0),
            (overlap, Exempt, 0),
            (adjacent, Exempt, 0),
            (patrolled, Compliant, 1),
            (spanning, Exempt, 0)
        ]
    );
    assert_eq!(
        status_of(pool, spanning, "2026-W47", after).await,
        (Missed, 0)
    );
    assert_eq!(
        status_of(pool, spanning, "2026-W49", after).await,
        (Missed, 0)
    );
    // Exemptions are stored as given (two rows for P3), and audited.
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM exemptions WHERE chief_id = $1")
        .bind(overlap)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(rows, 2);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity = 'exemption' AND action = 'create' AND user_id = $1",
    )
    .bind(by)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(audited, 8);
    // Withdrawing one of P3's two leaves the week partly covered: missed.
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM exemptions WHERE chief_id = $1 ORDER BY from_date")
            .bind(overlap)
            .fetch_all(pool)
            .await
            .unwrap();
    exemptions::delete(pool, ids[1], Some(t), by).await.unwrap();
    assert_eq!(
        status_of(pool, overlap, "2026-W48", after).await,
        (Missed, 0)
    );
    let deleted: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE entity = 'exemption' AND action = 'delete' AND entity_id = $1",
    )
    .bind(ids[1])
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(deleted["from"], "2026-11-26");
    assert_eq!(deleted["to"], "2026-11-29");
    // Another town's admin cannot delete it (NotFound), nor a missing one.
    assert!(matches!(
        exemptions::delete(pool, ids[0], Some(t + 1000), by).await,
        Err(store::StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn patrols_in_a_week_are_counted_when_valid() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let since = date(2026, 1, 1);
    let two = chief(pool, (t, Some(v)), "N1", since, None).await;
    patrol(pool, two, cst(2026, 11, 23, 9, 0), true).await;
    patrol(pool, two, cst(2026, 11, 28, 16, 0), true).await;
    let one = chief(pool, (t, Some(v)), "N2", since, None).await;
    patrol(pool, one, cst(2026, 11, 24, 9, 0), true).await;
    patrol(pool, one, cst(2026, 11, 25, 9, 0), false).await;
    let none = chief(pool, (t, Some(v)), "N3", since, None).await;
    patrol(pool, none, cst(2026, 11, 24, 9, 0), false).await;
    let after = utc(2026, 12, 10, 0, 0, 0);
    assert_eq!(
        statuses(pool, t, "2026-W48", after).await,
        [(two, Compliant, 2), (one, Compliant, 1), (none, Missed, 0)]
    );
    // A quarter counts the week once, however many patrols.
    let q = compliance::quarter(
        pool,
        Scope {
            chief_id: Some(two),
            ..Scope::default()
        },
        "2026-Q4".parse().unwrap(),
        after,
    )
    .await
    .unwrap();
    assert_eq!(q.chiefs[0].compliant, 1);
    // The counter agrees with a full rebuild from patrols.
    let incremental = chief_weeks(pool).await;
    let mut conn = pool.acquire().await.unwrap();
    compliance::rebuild_chief_weeks(&mut conn, None)
        .await
        .unwrap();
    assert_eq!(chief_weeks(pool).await, incremental);
    assert_eq!(
        incremental,
        [
            (two, date(2026, 11, 23), 2),
            (one, date(2026, 11, 23), 1),
            (none, date(2026, 11, 23), 0)
        ]
    );
}

#[tokio::test]
async fn an_override_turns_a_missed_week_compliant_and_back() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let by = admin(pool, t).await;
    let q = chief(pool, (t, Some(v)), "Q", date(2026, 1, 1), None).await;
    // Wednesday 2026-11-11 (W46): rejected by the rules (e.g. GPS drift).
    let p = patrol(pool, q, cst(2026, 11, 11, 10, 0), false).await;
    let after = utc(2026, 12, 10, 0, 0, 0);
    assert_eq!(status_of(pool, q, "2026-W46", after).await, (Missed, 0));

    // A blank reason is refused and changes nothing.
    assert!(matches!(
        compliance::set_override(pool, p, Some(t), true, "  ", by).await,
        Err(store::StoreError::Invalid { ref field, .. }) if field == "reason"
    ));
    // Another town's admin does not see the patrol.
    assert!(matches!(
        compliance::set_override(pool, p, Some(t + 1000), true, "x", by).await,
        Err(store::StoreError::NotFound(_))
    ));
    assert_eq!(status_of(pool, q, "2026-W46", after).await, (Missed, 0));

    let set = compliance::set_override(pool, p, Some(t), true, "信号弱，经村委核实确已巡河", by)
        .await
        .unwrap();
    assert!(set.valid);
    assert!(!set.machine_valid);
    assert_eq!(set.week, week("2026-W46"));
    assert_eq!(set.week_valid_patrols, 1);
    let o = set.override_.as_ref().unwrap();
    assert!(o.valid);
    assert_eq!(o.reason, "信号弱，经村委核实确已巡河");
    assert_eq!(o.by, Some(by));
    assert_eq!(status_of(pool, q, "2026-W46", after).await, (Compliant, 1));
    let json = serde_json::to_value(&set).unwrap();
    assert_eq!(json["override"]["valid"], true);
    assert_eq!(json["valid"], true);

    let cleared = compliance::clear_override(pool, p, Some(t), by)
        .await
        .unwrap();
    assert!(!cleared.valid);
    assert!(cleared.override_.is_none());
    assert_eq!(cleared.week_valid_patrols, 0);
    assert_eq!(status_of(pool, q, "2026-W46", after).await, (Missed, 0));
    // Clearing again changes nothing and is not audited again.
    compliance::clear_override(pool, p, Some(t), by)
        .await
        .unwrap();

    // The other way: a valid patrol overridden to invalid.
    let r = patrol(pool, q, cst(2026, 11, 17, 10, 0), true).await;
    assert_eq!(status_of(pool, q, "2026-W47", after).await, (Compliant, 1));
    compliance::set_override(pool, r, Some(t), false, "轨迹为车辆行驶", by)
        .await
        .unwrap();
    assert_eq!(status_of(pool, q, "2026-W47", after).await, (Missed, 0));

    let audit: Vec<(String, i64, serde_json::Value)> = sqlx::query_as(
        "SELECT action, entity_id, details FROM audit_log WHERE entity = 'patrol' ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let actions: Vec<(&str, i64)> = audit.iter().map(|(a, id, _)| (a.as_str(), *id)).collect();
    assert_eq!(
        actions,
        [
            ("override_validity", p),
            ("clear_validity_override", p),
            ("override_validity", r)
        ]
    );
    assert_eq!(audit[0].2["after"]["reason"], "信号弱，经村委核实确已巡河");
    assert_eq!(audit[1].2["before"]["valid"], true);
}

#[tokio::test]
async fn quarter_2026_q4_has_14_weeks() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let by = admin(pool, t).await;
    // Appointed Wednesday 2026-11-04 (W45): W40–W44 are not in office.
    let s = chief(pool, (t, Some(v)), "S", date(2026, 11, 4), None).await;
    // All of W48 on leave; Monday to Wednesday of W50 only.
    exempt(pool, s, date(2026, 11, 23), date(2026, 11, 29), by).await;
    exempt(pool, s, date(2026, 12, 7), date(2026, 12, 9), by).await;
    for (m, d) in [(10, 7), (11, 5), (11, 12), (11, 18), (12, 2), (12, 16)] {
        patrol(pool, s, cst(2026, m, d, 10, 0), true).await;
    }
    // Saturday 2027-01-02 is in 2026-W53.
    patrol(pool, s, cst(2027, 1, 2, 10, 0), true).await;
    // W52: only an invalid patrol.
    patrol(pool, s, cst(2026, 12, 23, 10, 0), false).await;

    let quarter: Quarter = "2026-Q4".parse().unwrap();
    let after = utc(2027, 1, 10, 0, 0, 0);
    let scope = Scope {
        town_id: Some(t),
        ..Scope::default()
    };
    let report = compliance::quarter(pool, scope, quarter, after)
        .await
        .unwrap();
    let names: Vec<String> = report.weeks.iter().map(ToString::to_string).collect();
    assert_eq!(names.len(), 14);
    assert_eq!(names[0], "2026-W40");
    assert_eq!(names[13], "2026-W53");
    let row = &report.chiefs[0];
    let got: Vec<WeekStatus> = report.weeks.iter().map(|w| row.weeks[w]).collect();
    #[rustfmt::skip]
    assert_eq!(got, [
        NotInOffice, NotInOffice, NotInOffice, NotInOffice, NotInOffice, // W40–W44 (W41 patrol before appointment)
        Compliant, Compliant, Compliant,  // W45 (Thu 5 Nov), W46, W47
        Exempt,                           // W48
        Compliant,                        // W49 (Wed 2 Dec)
        Missed,                           // W50: Mon–Wed exempt only
        Compliant,                        // W51
        Missed,                           // W52: invalid patrol only
        Compliant,                        // W53 (Sat 2 Jan 2027)
    ]);
    assert_eq!(
        (
            row.in_office,
            row.compliant,
            row.exempt,
            row.missed,
            row.pending,
            row.required
        ),
        (9, 6, 1, 2, 0, 8)
    );
    assert_eq!(row.rate, Some(0.75));

    // A chief serving all quarter, one patrol in W45, seen on Wednesday of
    // W50: W40–W44 and W46–W49 missed, W50–W53 pending (not yet owed).
    let u = chief(pool, (t, Some(v)), "U", date(2026, 1, 1), None).await;
    patrol(pool, u, cst(2026, 11, 3, 10, 0), true).await;
    let wednesday = cst(2026, 12, 9, 12, 0);
    let scope = Scope {
        chief_id: Some(u),
        ..Scope::default()
    };
    let report = compliance::quarter(pool, scope, quarter, wednesday)
        .await
        .unwrap();
    let row = &report.chiefs[0];
    assert_eq!(
        (
            row.in_office,
            row.compliant,
            row.exempt,
            row.missed,
            row.pending,
            row.required
        ),
        (14, 1, 0, 9, 4, 10)
    );
    assert_eq!(row.rate, Some(0.1));
}

#[tokio::test]
async fn overdue_lists_pending_chiefs_most_overdue_first() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let by = admin(pool, t).await;
    let since = date(2026, 1, 1);
    // Wednesday 2026-11-25 12:00 CST, in W48: five days left (Wed..Sun).
    let now = cst(2026, 11, 25, 12, 0);
    let done = chief(pool, (t, Some(v)), "A", since, None).await;
    patrol(pool, done, cst(2026, 11, 10, 9, 0), true).await;
    patrol(pool, done, cst(2026, 11, 23, 9, 0), true).await;
    let b = chief(pool, (t, Some(v)), "B", since, None).await;
    let b_last = patrol(pool, b, cst(2026, 11, 10, 9, 0), true).await;
    patrol(pool, b, cst(2026, 11, 3, 9, 0), true).await;
    let never = chief(pool, (t, Some(v)), "C", since, None).await;
    let on_leave = chief(pool, (t, Some(v)), "D", since, None).await;
    exempt(pool, on_leave, date(2026, 11, 23), date(2026, 11, 29), by).await;
    let _gone = chief(pool, (t, Some(v)), "E", since, Some(date(2026, 11, 20))).await;
    let f = chief(pool, (t, Some(v)), "F", since, None).await;
    let f_last = patrol(pool, f, cst(2026, 11, 18, 10, 0), true).await;
    patrol(pool, f, cst(2026, 11, 24, 10, 0), false).await;
    // Overridden to invalid: not a "last valid patrol".
    let f_void = patrol(pool, f, cst(2026, 11, 20, 10, 0), true).await;
    compliance::set_override(pool, f_void, Some(t), false, "重复上传", by)
        .await
        .unwrap();

    let scope = Scope {
        town_id: Some(t),
        ..Scope::default()
    };
    let report = compliance::overdue(pool, scope, now).await.unwrap();
    assert_eq!(report.week, week("2026-W48"));
    assert_eq!(report.days_left, 5);
    let rows: Vec<OverdueTuple> = report
        .chiefs
        .iter()
        .map(|c| (c.chief_id, c.last_patrol_id, c.last_patrol_at, c.days_left))
        .collect();
    assert_eq!(
        rows,
        [
            (never, None, None, 5),
            (b, Some(b_last), Some(cst(2026, 11, 10, 9, 0)), 5),
            (f, Some(f_last), Some(cst(2026, 11, 18, 10, 0)), 5),
        ]
    );
    // Sunday 23:00 CST: one day left; B patrols on Sunday and drops out.
    patrol(pool, b, cst(2026, 11, 29, 22, 0), true).await;
    let sunday = cst(2026, 11, 29, 23, 0);
    let report = compliance::overdue(pool, scope, sunday).await.unwrap();
    assert_eq!(report.days_left, 1);
    let ids: Vec<i64> = report.chiefs.iter().map(|c| c.chief_id).collect();
    assert_eq!(ids, [never, f]);
}

#[tokio::test]
async fn town_figures_for_a_date_range() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let (t2, v2) = town(pool, "530000002").await;
    let by = admin(pool, t).await;
    let since = date(2026, 1, 1);
    let a = chief(pool, (t, Some(v)), "A", since, None).await;
    let b = chief(pool, (t, None), "B", since, None).await;
    let _left_before = chief(pool, (t, Some(v)), "C", since, Some(date(2026, 9, 30))).await;
    let _later = chief(pool, (t, Some(v)), "D", date(2027, 1, 1), None).await;
    let _left_first_day = chief(pool, (t, Some(v)), "E", since, Some(date(2026, 10, 1))).await;
    let other = chief(pool, (t2, Some(v2)), "X", since, None).await;

    // Thursday 2026-10-01 00:00 CST: the first second of the range.
    patrol_m(pool, a, utc(2026, 9, 30, 16, 0, 0), true, 2500.0).await;
    // Wednesday 2026-09-30 23:59:59 CST: before it.
    patrol_m(pool, a, utc(2026, 9, 30, 15, 59, 59), true, 1000.0).await;
    // Invalid: counted as a patrol, not as valid, no km.
    patrol_m(pool, a, cst(2026, 11, 11, 10, 0), false, 800.0).await;
    // Invalid by the rules, valid by override, on the last second.
    let p4 = patrol_m(pool, b, utc(2026, 12, 31, 15, 59, 59), false, 1234.4).await;
    compliance::set_override(pool, p4, Some(t), true, "人工核实", by)
        .await
        .unwrap();
    // Friday 2027-01-01 00:00 CST: after the range.
    patrol_m(pool, b, utc(2026, 12, 31, 16, 0, 0), true, 5000.0).await;
    // Valid by the rules, invalid by override.
    let p6 = patrol_m(pool, a, cst(2026, 11, 12, 10, 0), true, 3000.0).await;
    compliance::set_override(pool, p6, Some(t), false, "车辆轨迹", by)
        .await
        .unwrap();
    // Another town.
    patrol_m(pool, other, cst(2026, 11, 12, 10, 0), true, 700.0).await;

    // Issues: (created, resolved_at, status).
    let issues = [
        (
            cst(2026, 10, 5, 9, 0),
            Some(cst(2026, 10, 20, 9, 0)),
            "resolved",
        ), // found, resolved
        (
            utc(2026, 9, 30, 15, 0, 0),
            Some(cst(2026, 10, 2, 9, 0)),
            "closed",
        ), // resolved only
        (
            cst(2026, 11, 1, 9, 0),
            Some(cst(2026, 11, 5, 9, 0)),
            "in_progress",
        ), // reopened: found only
        (utc(2026, 12, 31, 16, 30, 0), None, "reported"), // after the range
        (cst(2026, 12, 1, 9, 0), None, "reported"),       // found
    ];
    for (created, resolved, status) in issues {
        sqlx::query(
            "INSERT INTO issues (town_id, category, location, level, source, status, created_at, resolved_at)
             VALUES ($1, 'floating_garbage', ST_SetSRID(ST_MakePoint(103.1, 25.3), 4326), 'village',
                     'patrol', $2, $3, $4)",
        )
        .bind(t)
        .bind(status)
        .bind(created)
        .bind(resolved)
        .execute(pool)
        .await
        .unwrap();
    }

    let (from, to) = (date(2026, 10, 1), date(2026, 12, 31));
    let s = store::stats::town_stats(pool, Some(t), from, to)
        .await
        .unwrap();
    assert_eq!(
        s,
        store::stats::TownStats {
            from,
            to,
            town_id: Some(t),
            patrols: 4,
            valid_patrols: 2,
            km_patrolled: 3.734, // 2500 + 1234.4 m
            chiefs: 3,           // A, B, E
            chiefs_patrolled: 2,
            issues_found: 3,
            issues_resolved: 2,
        }
    );
    let all = store::stats::town_stats(pool, None, from, to)
        .await
        .unwrap();
    assert_eq!(
        (all.patrols, all.valid_patrols, all.km_patrolled, all.chiefs),
        (5, 3, 4.434, 4)
    );
    // One day: Thursday 2026-10-01 only.
    let day = store::stats::town_stats(pool, Some(t), from, from)
        .await
        .unwrap();
    assert_eq!(
        (day.patrols, day.valid_patrols, day.km_patrolled),
        (1, 1, 2.5)
    );
}

/// Chief `c` uploads at `first` (held uncommitted for 300 ms) and at
/// `second` meanwhile, each in its own transaction with the recount;
/// answers whether the second was still waiting when the first committed.
async fn race_two_uploads(
    pool: &PgPool,
    c: i64,
    first: DateTime<Utc>,
    second: DateTime<Utc>,
) -> bool {
    let mut held = pool.begin().await.unwrap();
    compliance::insert_minimal_patrol(&mut held, c, first, true, 1000.0)
        .await
        .unwrap();
    let other = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            compliance::insert_minimal_patrol(&mut tx, c, second, true, 1000.0)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let waited = !other.is_finished();
    held.commit().await.unwrap();
    other.await.unwrap();
    waited
}

#[tokio::test]
async fn concurrent_writes_to_one_chief_week_keep_the_count() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool().clone();
    let (t, v) = town(&pool, "530000001").await;
    let c = chief(&pool, (t, Some(v)), "A", date(2026, 1, 1), None).await;
    // Two uploads of the same week: the second must wait for the first.
    let waited = race_two_uploads(&pool, c, cst(2026, 11, 23, 9, 0), cst(2026, 11, 24, 9, 0)).await;
    assert!(waited, "the second recount waits for the first");
    assert_eq!(chief_weeks(&pool).await, [(c, date(2026, 11, 23), 2)]);
}

#[tokio::test]
async fn recount_rejects_a_week_start_that_is_not_a_monday() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let c = chief(pool, (t, Some(v)), "A", date(2026, 1, 1), None).await;
    let mut conn = pool.acquire().await.unwrap();
    assert!(
        compliance::recount_week(&mut conn, c, date(2026, 11, 24))
            .await
            .is_err()
    );
    assert!(matches!(
        compliance::recount_week(&mut conn, c + 1000, date(2026, 11, 23)).await,
        Err(store::StoreError::NotFound(_))
    ));
    assert_eq!(
        compliance::recount_week(&mut conn, c, date(2026, 11, 23))
            .await
            .unwrap(),
        0
    );
}

/// The chief_weeks path agrees with the textbook query over patrols on a
/// quarter of patrols placed around week boundaries (CST vs UTC).
#[tokio::test]
async fn chief_weeks_agree_with_the_textbook_query() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let quarter: Quarter = "2026-Q4".parse().unwrap();
    let mut chiefs = vec![];
    for n in 0..6 {
        chiefs.push(chief(pool, (t, Some(v)), &format!("K{n}"), date(2026, 1, 1), None).await);
    }
    // A deterministic scatter: instants at Sunday 23:xx / Monday 00:xx CST
    // and mid-week, valid two times in three.
    let mut k: i64 = 7;
    for (i, c) in chiefs.iter().enumerate() {
        for w in quarter.weeks() {
            k = (k * 1103515245 + 12345) % 2147483648;
            if k % 4 == 0 {
                continue;
            }
            let offset_s = match k % 3 {
                0 => -60 * (k % 50 + 1), // Sunday before, last 50 minutes (previous week)
                1 => 60 * (k % 50),      // Monday 00:00–00:49
                _ => 3 * 86400 + (k % 86400), // Thursday
            };
            let at = w.start_utc() + chrono::TimeDelta::seconds(offset_s);
            patrol(pool, *c, at, (k + i as i64) % 3 != 0).await;
        }
    }
    let textbook: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT c.id, count(DISTINCT date_trunc('week', p.started_at AT TIME ZONE 'Asia/Shanghai'))
         FROM chiefs c LEFT JOIN patrols p ON p.chief_id = c.id
              AND COALESCE(p.override_valid, p.valid)
              AND p.started_at >= $1 AND p.started_at < $2
         GROUP BY c.id ORDER BY c.id",
    )
    .bind(quarter.start_utc())
    .bind(quarter.end_utc())
    .fetch_all(pool)
    .await
    .unwrap();
    let after = utc(2027, 2, 1, 0, 0, 0);
    let scope = Scope {
        town_id: Some(t),
        ..Scope::default()
    };
    let report = compliance::quarter(pool, scope, quarter, after)
        .await
        .unwrap();
    let ours: Vec<(i64, i64)> = report
        .chiefs
        .iter()
        .map(|c| (c.chief_id, i64::from(c.compliant)))
        .collect();
    assert_eq!(ours, textbook);
    assert!(ours.iter().any(|(_, n)| *n > 0 && *n < 14), "{ours:?}");
}

async fn chief_quarters(pool: &PgPool) -> Vec<(i64, NaiveDate, i32)> {
    sqlx::query_as(
        "SELECT chief_id, quarter_start, valid_weeks FROM chief_quarters
         ORDER BY chief_id, quarter_start",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The statuses of one chief's quarter, read both ways: the one-statement
/// read of a small scope and the three side-by-side reads of every chief.
async fn quarter_statuses(
    pool: &PgPool,
    chief: i64,
    q: &str,
    now: DateTime<Utc>,
) -> Vec<WeekStatus> {
    let quarter: Quarter = q.parse().unwrap();
    let one = Scope {
        chief_id: Some(chief),
        ..Scope::default()
    };
    let small = compliance::quarter(pool, one, quarter, now).await.unwrap();
    let all = compliance::quarter(pool, Scope::default(), quarter, now)
        .await
        .unwrap();
    let row = all.chiefs.iter().find(|c| c.chief_id == chief).unwrap();
    assert_eq!(small.chiefs.len(), 1);
    assert_eq!(small.chiefs[0].weeks, row.weeks);
    assert_eq!(small.chiefs[0].rate, row.rate);
    quarter.weeks().iter().map(|w| row.weeks[w]).collect()
}

/// `chief_quarters` (one week mask per chief and quarter) follows every
/// upload and override, puts weeks at the quarter edges in the quarter of
/// their Thursday, and agrees with a rebuild.
///
/// 2026-Q3 is W27 (Mon 29 Jun) to W39 (Mon 21 – Sun 27 Sep): 13 weeks.
/// 2026-Q4 is W40 (Mon 28 Sep, Thursday 1 Oct) to W53 (Mon 28 Dec – Sun
/// 3 Jan 2027): 14 weeks. 2027-Q1 starts with W01 (Mon 4 Jan 2027).
#[tokio::test]
async fn chief_quarters_follow_uploads_overrides_and_quarter_edges() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool();
    let (t, v) = town(pool, "530000001").await;
    let by = admin(pool, t).await;
    let c = chief(pool, (t, Some(v)), "E", date(2026, 1, 1), None).await;
    let other = chief(pool, (t, Some(v)), "F", date(2026, 1, 1), None).await;
    // Sunday 27 Sep 2026: W39, the last week (bit 12) of Q3.
    patrol(pool, c, cst(2026, 9, 27, 10, 0), true).await;
    // Monday 28 Sep 2026, calendar Q3, but W40: the first week of Q4.
    patrol(pool, c, cst(2026, 9, 28, 10, 0), true).await;
    // Saturday 2 Jan 2027, calendar 2027, but W53: the last (bit 13) of Q4.
    let w53 = patrol(pool, c, cst(2027, 1, 2, 10, 0), true).await;
    // Monday 4 Jan 2027: 2027-W01, the first week of 2027-Q1.
    patrol(pool, c, cst(2027, 1, 4, 10, 0), true).await;
    // An invalid patrol: a row, but no week.
    let invalid = patrol(pool, other, cst(2026, 11, 11, 10, 0), false).await;
    let (q3, q4, q1) = (date(2026, 7, 1), date(2026, 10, 1), date(2027, 1, 1));
    assert_eq!(
        chief_quarters(pool).await,
        [
            (c, q3, 1 << 12),
            (c, q4, 1 | 1 << 13),
            (c, q1, 1),
            (other, q4, 0)
        ]
    );
    let after = utc(2027, 4, 10, 0, 0, 0);
    let q4_statuses = quarter_statuses(pool, c, "2026-Q4", after).await;
    assert_eq!(q4_statuses.len(), 14);
    assert_eq!(q4_statuses[0], Compliant);
    assert_eq!(q4_statuses[13], Compliant);
    assert!(q4_statuses[1..13].iter().all(|s| *s == Missed));
    assert_eq!(
        quarter_statuses(pool, c, "2026-Q3", after).await[12],
        Compliant
    );
    assert_eq!(
        quarter_statuses(pool, c, "2027-Q1", after).await[0],
        Compliant
    );

    // Overrides: the W53 patrol rejected clears bit 13, and back; the
    // invalid one accepted sets its week (W46, bit 6).
    compliance::set_override(pool, w53, Some(t), false, "轨迹为车辆行驶", by)
        .await
        .unwrap();
    assert_eq!(chief_quarters(pool).await[1], (c, q4, 1));
    assert_eq!(
        quarter_statuses(pool, c, "2026-Q4", after).await[13],
        Missed
    );
    compliance::clear_override(pool, w53, Some(t), by)
        .await
        .unwrap();
    assert_eq!(chief_quarters(pool).await[1], (c, q4, 1 | 1 << 13));
    compliance::set_override(pool, invalid, Some(t), true, "经村委核实确已巡河", by)
        .await
        .unwrap();
    assert_eq!(chief_quarters(pool).await[3], (other, q4, 1 << 6));
    assert_eq!(
        quarter_statuses(pool, other, "2026-Q4", after).await[6],
        Compliant
    );

    // A second valid patrol in W53, then the first rejected: the week
    // keeps its bit (one valid patrol left).
    patrol(pool, c, cst(2027, 1, 3, 9, 0), true).await;
    compliance::set_override(pool, w53, Some(t), false, "轨迹为车辆行驶", by)
        .await
        .unwrap();
    assert_eq!(chief_quarters(pool).await[1], (c, q4, 1 | 1 << 13));

    // The masks agree with a rebuild from patrols (the migration's backfill
    // statement), and a rebuild repairs a damaged mask.
    let incremental = chief_quarters(pool).await;
    sqlx::query("UPDATE chief_quarters SET valid_weeks = 4095 WHERE chief_id = $1")
        .bind(other)
        .execute(pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    compliance::rebuild_chief_weeks(&mut conn, Some(t))
        .await
        .unwrap();
    assert_eq!(chief_quarters(pool).await, incremental);
    sqlx::query("DELETE FROM chief_quarters")
        .execute(pool)
        .await
        .unwrap();
    compliance::rebuild_chief_weeks(&mut conn, None)
        .await
        .unwrap();
    let rebuilt: Vec<_> = incremental.into_iter().filter(|r| r.2 != 0).collect();
    assert_eq!(chief_quarters(pool).await, rebuilt);
}

/// Two uploads of one chief in two weeks of the same quarter at once: each
/// sets its own bit of the same mask, neither is lost.
#[tokio::test]
async fn concurrent_uploads_in_one_quarter_keep_both_weeks() {
    let db = store::testing::fresh_database().await;
    let pool = db.pool().clone();
    let (t, v) = town(&pool, "530000001").await;
    let c = chief(&pool, (t, Some(v)), "A", date(2026, 1, 1), None).await;
    // W48 (bit 8 of Q4) and W49 (bit 9).
    race_two_uploads(&pool, c, cst(2026, 11, 23, 9, 0), cst(2026, 12, 1, 9, 0)).await;
    assert_eq!(
        chief_quarters(&pool).await,
        [(c, date(2026, 10, 1), 1 << 8 | 1 << 9)]
    );
}
