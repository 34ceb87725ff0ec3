//! The upload pipeline `store::patrols::ingest` against a real PostGIS: the
//! one path for `POST /api/v1/patrols` and the demo season. Read → assess →
//! insert with the week's recount in one transaction; the same file again
//! is the same patrol; a replay by another chief is flagged; a file that
//! cannot be read keeps nothing.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::read::TrackFormat;
use domain::synth::{self, Gait, Rng};
use sqlx::PgPool;
use store::patrols::{Ingest, IngestError, ingest};
use store::testing::fresh_database;

/// Monday of 2026-W47, 09:00 CST.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 16, 1, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 4, 0, 0).unwrap()
}

/// The demo town, entering old records: most walks here are weeks older
/// than `now()`, so the town's late-upload check is off (these tests are
/// about reading, storing and replays; `late_upload` has its own).
async fn load_town(pool: &PgPool) {
    store::demo::load_town(pool).await.unwrap();
    let town: i64 = sqlx::query_scalar("SELECT id FROM towns WHERE code = $1")
        .bind(store::demo::TOWN_CODE)
        .fetch_one(pool)
        .await
        .unwrap();
    store::rules::set(
        pool,
        town,
        &serde_json::json!({"upload_grace_days": null}),
        None,
    )
    .await
    .unwrap();
}

/// (chief id, user id) of a demo chief.
async fn chief(pool: &PgPool, code: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT c.id, u.id FROM chiefs c JOIN users u ON u.chief_id = c.id WHERE c.code = $1",
    )
    .bind(code)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn upload(chief: (i64, i64), file: &str, key: Option<&'static str>) -> Ingest<'static> {
    Ingest {
        chief_id: chief.0,
        uploaded_by: chief.1,
        bytes: file.as_bytes().to_vec(),
        gzip: None,
        format: TrackFormat::Gpx,
        gcj02: false,
        notes: None,
        idempotency_key: key,
        now: now(),
    }
}

async fn valid_count(pool: &PgPool, chief_id: i64, monday: NaiveDate) -> i32 {
    sqlx::query_scalar(
        "SELECT valid_patrols FROM chief_weeks WHERE chief_id = $1 AND week_start = $2",
    )
    .bind(chief_id)
    .bind(monday)
    .fetch_optional(pool)
    .await
    .unwrap()
    .unwrap_or(0)
}

#[tokio::test]
async fn ingest_judges_stores_and_recounts_once() {
    let db = fresh_database().await;
    let pool = db.pool();
    load_town(pool).await;
    let hz001 = chief(pool, "HZ001").await;
    let hz003 = chief(pool, "HZ003").await;
    let monday = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();

    let points = synth::record(
        &store::demo::reach_line(1),
        start(),
        &Gait::WALK,
        &mut Rng::new(1),
    );
    let file = synth::gpx(&points);
    let ingested = ingest(pool, upload(hz001, &file, None)).await.unwrap();
    assert!(ingested.created);
    let id = ingested.detail.id;
    // The answer is built from what was stored, not read back: it must be
    // what reading back gives, to the last digit.
    let detail = store::patrols::detail(pool, id).await.unwrap();
    assert_eq!(
        serde_json::to_value(&ingested.detail).unwrap(),
        serde_json::to_value(&detail).unwrap()
    );
    assert!(!detail.reaches.is_empty());
    assert!(detail.valid, "{:?}", detail.reasons);
    assert_eq!(detail.week, "2026-W47");
    assert!(detail.coverage > 0.8, "{}", detail.coverage);
    assert_eq!(valid_count(pool, hz001.0, monday).await, 1);

    // The same file again (and by key): the same patrol, counted once.
    let again = ingest(pool, upload(hz001, &file, None)).await.unwrap();
    assert_eq!((again.detail.id, again.created), (id, false));
    assert_eq!(valid_count(pool, hz001.0, monday).await, 1);

    // HZ003 uploads HZ001's walk with times two days later: a replay of it,
    // and not on HZ003's reach (two reaches on) either.
    let shifted: Vec<_> = points
        .iter()
        .map(|&(lon, lat, t)| (lon, lat, t + Duration::days(2)))
        .collect();
    let copy = ingest(pool, upload(hz003, &synth::gpx(&shifted), None))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&copy.detail).unwrap(),
        serde_json::to_value(store::patrols::detail(pool, copy.detail.id).await.unwrap()).unwrap()
    );
    let copy = copy.detail;
    assert_eq!(copy.duplicate_of, Some(id));
    assert_eq!(
        copy.reasons,
        ["outside_assigned_reaches", "duplicate_track"],
        "{:?}",
        copy.reasons
    );
    assert_eq!(valid_count(pool, hz003.0, monday).await, 0);

    // Unreadable: a precise code, nothing kept.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM patrols")
        .fetch_one(pool)
        .await
        .unwrap();
    let err = ingest(pool, upload(hz001, "<gpx><trk>", None))
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::Read(_)), "{err:?}");
    assert_eq!(err.code(), "malformed_track");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM patrols")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(after, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_of_one_chief_week_are_both_counted() {
    let db = fresh_database().await;
    let pool = db.pool();
    load_town(pool).await;
    let hz003 = chief(pool, "HZ003").await;
    let line = store::demo::reach_line(3);
    let files: Vec<String> = (0..4)
        .map(|i| {
            let at = start() + Duration::hours(6 * i);
            synth::gpx(&synth::record(
                &line,
                at,
                &Gait::WALK,
                &mut Rng::new(i as u64),
            ))
        })
        .collect();
    let tasks: Vec<_> = files
        .into_iter()
        .map(|f| {
            let pool = pool.clone();
            tokio::spawn(async move { ingest(&pool, upload(hz003, &f, None)).await })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await.unwrap(), Ok(ingested) if ingested.created));
    }
    let monday = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    assert_eq!(valid_count(pool, hz003.0, monday).await, 4);
}

/// `points` a week later as GPX, every 25th point 5 m off: a replay that
/// is not an exact fingerprint match.
fn replay_a_week_later(points: &[(f64, f64, DateTime<Utc>)]) -> String {
    let shifted: Vec<_> = points
        .iter()
        .enumerate()
        .map(|(i, &(lon, lat, t))| {
            let lat = if i % 25 == 0 { lat + 4.5e-5 } else { lat };
            (lon, lat, t + Duration::days(7))
        })
        .collect();
    synth::gpx(&shifted)
}

/// A chief who walked the same reach more than 20 times replays a recent
/// walk (times shifted, a few points moved, so not an exact fingerprint
/// match): the duplicate check compares it with that walk, not only with
/// the 20 oldest of the reach.
#[tokio::test]
async fn a_replay_is_caught_among_more_than_twenty_walks_of_the_reach() {
    let db = fresh_database().await;
    let pool = db.pool();
    load_town(pool).await;
    let hz002 = chief(pool, "HZ002").await;
    let line = store::demo::reach_line(2);
    let mut walks = vec![];
    for i in 0..24u64 {
        let at = start() - Duration::days(60) + Duration::hours(8 * i as i64);
        let points = synth::record(&line, at, &Gait::WALK, &mut Rng::new(100 + i));
        let ingested = ingest(pool, upload(hz002, &synth::gpx(&points), None))
            .await
            .unwrap();
        assert!(ingested.created);
        let id = ingested.detail.id;
        assert_eq!(ingested.detail.duplicate_of, None, "walk {i} is its own");
        walks.push((id, points));
    }
    // The most recent walk, a week later, with every 25th point 5 m off.
    let (original, points) = walks.last().unwrap();
    let copy = ingest(pool, upload(hz002, &replay_a_week_later(points), None))
        .await
        .unwrap();
    assert!(copy.created);
    let copy = store::patrols::detail(pool, copy.detail.id).await.unwrap();
    assert_eq!(copy.duplicate_of, Some(*original));
    assert!(
        copy.reasons.iter().any(|r| r == "duplicate_track"),
        "{:?}",
        copy.reasons
    );
}

/// Every upload stores its packed positions, a fraction of its track's
/// size, and the duplicate check compares with those; a patrol stored
/// before migration 0008 (no packed positions) is compared through its
/// track, so its replays are still caught.
#[tokio::test]
async fn replays_are_caught_with_packed_positions_and_without() {
    let db = fresh_database().await;
    let pool = db.pool();
    load_town(pool).await;
    let hz004 = chief(pool, "HZ004").await;
    let line = store::demo::reach_line(4);
    for (seed, before_0008) in [(300u64, false), (301, true)] {
        let at = start() - Duration::days(30) + Duration::hours(seed as i64);
        let points = synth::record(&line, at, &Gait::WALK, &mut Rng::new(seed));
        let original = ingest(pool, upload(hz004, &synth::gpx(&points), None))
            .await
            .unwrap()
            .detail
            .id;
        let (packed, track): (i32, i32) = sqlx::query_as(
            "SELECT octet_length(positions), octet_length(ST_AsBinary(track))
             FROM patrols WHERE id = $1",
        )
        .bind(original)
        .fetch_one(pool)
        .await
        .unwrap();
        assert!(packed * 4 < track, "packed {packed} bytes, track {track}");
        if before_0008 {
            sqlx::query("UPDATE patrols SET positions = NULL WHERE id = $1")
                .bind(original)
                .execute(pool)
                .await
                .unwrap();
        }
        let copy = ingest(pool, upload(hz004, &replay_a_week_later(&points), None))
            .await
            .unwrap()
            .detail;
        assert_eq!(
            copy.duplicate_of,
            Some(original),
            "before 0008: {before_0008}"
        );
    }
}

/// Migration 0005 fills `bbox` and `core_bbox` of the patrols stored before
/// it in SQL; they must be exactly what ingest writes for new ones
/// (`domain::similarity::NearCopyBoxes`), consecutive repeats included.
#[tokio::test]
async fn migration_0005_backfills_the_boxes_ingest_writes() {
    let db = fresh_database().await;
    let pool = db.pool();
    load_town(pool).await;
    let hz001 = chief(pool, "HZ001").await;
    let line = store::demo::reach_line(1);
    for i in 0..3u64 {
        let at = start() + Duration::hours(8 * i as i64);
        let mut points = synth::record(&line, at, &Gait::WALK, &mut Rng::new(200 + i));
        if i == 1 {
            // A phone that repeats its position now and then.
            for k in (0..points.len() - 1).step_by(7) {
                let (lon, lat, _) = points[k];
                points[k + 1].0 = lon;
                points[k + 1].1 = lat;
            }
        }
        ingest(pool, upload(hz001, &synth::gpx(&points), None))
            .await
            .unwrap();
    }
    type Boxes = (i64, f64, f64, f64, f64, f64, f64, f64, f64);
    let boxes = || async {
        sqlx::query_as::<_, Boxes>(
            "SELECT id, ST_XMin(bbox), ST_YMin(bbox), ST_XMax(bbox), ST_YMax(bbox),
                    ST_XMin(core_bbox), ST_YMin(core_bbox), ST_XMax(core_bbox), ST_YMax(core_bbox)
             FROM patrols ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    };
    let written = boxes().await;
    assert_eq!(written.len(), 3);
    sqlx::query("UPDATE patrols SET bbox = NULL, core_bbox = NULL")
        .execute(pool)
        .await
        .unwrap();
    let migration = include_str!("../../../migrations/0005_near_copy_boxes.sql");
    let start = migration.find("WITH points AS").unwrap();
    let end = migration.find("CREATE INDEX").unwrap();
    sqlx::raw_sql(&migration[start..end])
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(boxes().await, written);
}

/// The chief-week counter and the week's bit in its quarter's mask.
async fn week_counts(pool: &PgPool, chief_id: i64, monday: NaiveDate) -> (i32, bool) {
    let quarter_start = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(); // 2026-Q4
    let count = valid_count(pool, chief_id, monday).await;
    let mask: i32 = sqlx::query_scalar(
        "SELECT valid_weeks FROM chief_quarters WHERE chief_id = $1 AND quarter_start = $2",
    )
    .bind(chief_id)
    .bind(quarter_start)
    .fetch_optional(pool)
    .await
    .unwrap()
    .unwrap_or(0);
    let week_bit = 1 << ((monday + Duration::days(3) - quarter_start).num_days() / 7);
    (count, mask & week_bit != 0)
}

/// Patrols stored before the rules `too_long` and `time_gap` existed are
/// judged by them once, by migration 0012: the cheat of issue #14 (a walk
/// plus one point nine days earlier, counted for that earlier week) loses
/// its week; an office override still decides; other patrols stay as they
/// were; a second run changes nothing.
#[tokio::test]
async fn migration_0012_rejudges_patrols_stored_before_the_time_rules() {
    const MIGRATION: &str =
        include_str!("../../../migrations/0012_rejudge_long_and_gapped_patrols.sql");
    let db = fresh_database().await;
    let pool = db.pool();
    load_town(pool).await;
    let town: i64 = sqlx::query_scalar("SELECT id FROM towns WHERE code = $1")
        .bind(store::demo::TOWN_CODE)
        .fetch_one(pool)
        .await
        .unwrap();
    // The rules as they were: no limit on duration or gaps.
    let before = serde_json::json!({"max_duration_h": 100000, "max_gap_min": 100000000,
                                    "upload_grace_days": null});
    store::rules::set(pool, town, &before, None).await.unwrap();
    let cheat = |n: usize, seed: u64| {
        let mut points = synth::record(
            &store::demo::reach_line(n),
            start(),
            &Gait::WALK,
            &mut Rng::new(seed),
        );
        let (lon, lat, t) = points[0];
        points.insert(0, (lon, lat, t - Duration::days(9)));
        synth::gpx(&points)
    };
    let (hz001, hz002, hz003) = (
        chief(pool, "HZ001").await,
        chief(pool, "HZ002").await,
        chief(pool, "HZ003").await,
    );
    let cheated = ingest(pool, upload(hz001, &cheat(1, 1), None))
        .await
        .unwrap()
        .detail;
    let overridden = ingest(pool, upload(hz002, &cheat(2, 2), None))
        .await
        .unwrap()
        .detail;
    let honest = synth::record(
        &store::demo::reach_line(3),
        start(),
        &Gait::WALK,
        &mut Rng::new(3),
    );
    let honest = ingest(pool, upload(hz003, &synth::gpx(&honest), None))
        .await
        .unwrap()
        .detail;
    for p in [&cheated, &overridden, &honest] {
        assert!(p.valid, "{:?}", p.reasons);
    }
    // Nine days before Monday of W47: Saturday of W45.
    let w45 = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let w47 = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    assert_eq!(cheated.week, "2026-W45");
    assert_eq!(week_counts(pool, hz001.0, w45).await, (1, true));
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'")
        .fetch_one(pool)
        .await
        .unwrap();
    store::compliance::set_override(pool, overridden.id, None, true, "村委会核实", admin)
        .await
        .unwrap();

    // The upgrade: the town's rules back to the defaults, then 0012.
    store::rules::set(pool, town, &serde_json::json!({}), None)
        .await
        .unwrap();
    for run in 0..2 {
        sqlx::raw_sql(MIGRATION).execute(pool).await.unwrap();
        let cheated = store::patrols::detail(pool, cheated.id).await.unwrap();
        assert!(!cheated.valid && !cheated.machine_valid);
        assert_eq!(cheated.reasons, ["too_long", "time_gap"], "run {run}");
        assert_eq!(week_counts(pool, hz001.0, w45).await, (0, false));
        let overridden = store::patrols::detail(pool, overridden.id).await.unwrap();
        assert!(overridden.valid && !overridden.machine_valid);
        assert_eq!(week_counts(pool, hz002.0, w45).await, (1, true));
        let honest = store::patrols::detail(pool, honest.id).await.unwrap();
        assert!(honest.valid && honest.reasons.is_empty());
        assert_eq!(week_counts(pool, hz003.0, w47).await, (1, true));
        let audited: Vec<(i64, serde_json::Value)> = sqlx::query_as(
            "SELECT entity_id, details->'added_reasons' FROM audit_log
             WHERE action = 'rejudge_validity' ORDER BY entity_id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let both = serde_json::json!(["too_long", "time_gap"]);
        assert_eq!(audited, [(cheated.id, both.clone()), (overridden.id, both)]);
    }
}
