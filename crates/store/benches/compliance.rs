//! Compliance at province scale: 100,000 chiefs (1,000 towns of 100) with
//! about 1.5 million patrols over 2026-Q3 (13 weeks, ~1.2 patrols per
//! chief-week), in a fresh database of the test cluster.
//!
//! Each case runs our path (the week masks of `chief_quarters`, the
//! exemptions and the tenure, statuses by `domain::compliance`) side by
//! side with the textbook query over patrols (`count(DISTINCT
//! date_trunc('week', started_at AT TIME ZONE 'Asia/Shanghai'))` per
//! chief), which only counts compliant weeks (no exemptions, tenure or
//! statuses), and with the previous path (per-chief-week counts of
//! `chief_weeks` aggregated by week, `compliance::load`). Results:
//! BENCHMARKS.md, "Compliance".
//!
//! `make bench` (or `cargo bench -p store --bench compliance`) runs a tenth
//! of the scale by default, 10,000 chiefs: generating the full data set
//! takes minutes on a small machine, too long for a routine run.
//! `BENCH_CHIEFS=100000` is the full scale of issue #4 (any multiple of
//! 100). `BENCH_DATABASE_URL` keeps the data set in that database (created
//! and filled on the first run, reused after, whatever `BENCH_CHIEFS` says)
//! instead of a throwaway test database. The plans of every query
//! (`EXPLAIN (ANALYZE, BUFFERS)`) are printed before the measurements and
//! written to `target/bench-compliance-explain.txt`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::Criterion;
use domain::time::{IsoWeek, Quarter};
use sqlx::PgPool;
use store::compliance::{self, Scope};

/// The generated data set, in statements run in order on one connection.
/// `$1` = number of towns. Deterministic (`setseed`). Chiefs: per town one
/// town chief and 99 village chiefs over 10 villages; 2% appointed
/// mid-quarter (Wed 2026-08-05), 2% left mid-quarter (Tue 2026-08-18).
/// Exemptions: 1 chief in 33 all of W30, 1 in 33 part of it, 1 in 33 two
/// overlapping ranges covering it. Patrols: per chief, week and one of three
/// slots, a patrol with probability 0.4 at a random second of the CST week,
/// valid 9 times in 10, stored in order of start time (as uploads arrive).
const GENERATE: &[&str] = &[
    "INSERT INTO towns (code, name)
     SELECT (600000000 + t)::text, 'Town ' || t FROM generate_series(1, $1) t",
    "INSERT INTO villages (town_id, code, name)
     SELECT tw.id, tw.code || lpad(v::text, 3, '0'), 'Village ' || v
     FROM towns tw, generate_series(1, 10) v",
    "INSERT INTO chiefs (town_id, code, name, level, village_id, appointed_on, left_on)
     SELECT tw.id, 'HZ' || lpad(n::text, 3, '0'), '河长' || tw.id || '-' || n,
            CASE WHEN n = 0 THEN 'town' ELSE 'village' END, v.id,
            CASE WHEN n % 50 = 7 THEN date '2026-08-05' ELSE date '2025-01-01' END,
            CASE WHEN n % 50 = 13 THEN date '2026-08-18' END
     FROM towns tw CROSS JOIN generate_series(0, 99) n
     LEFT JOIN villages v ON n > 0 AND v.town_id = tw.id
                         AND v.code = tw.code || lpad((n % 10 + 1)::text, 3, '0')",
    "INSERT INTO exemptions (town_id, chief_id, from_date, to_date, reason)
     SELECT town_id, id, f, t, 'bench' FROM chiefs,
       LATERAL (VALUES (date '2026-07-20', date '2026-07-26', 5),
                       (date '2026-07-20', date '2026-07-23', 6),
                       (date '2026-07-20', date '2026-07-23', 7),
                       (date '2026-07-23', date '2026-07-26', 7)) e(f, t, k)
     WHERE id % 33 = k",
    // Inserted in upload order (by start time), as a live system stores
    // them: a town's patrols of a quarter are scattered over the table.
    "INSERT INTO patrols (town_id, chief_id, original, original_sha256, original_content_type,
         started_at, ended_at, week_start, point_count, length_m, duration_s, moving_time_s,
         max_speed_kmh, fast_share, track, track_simplified, coverage, valid, shape_fingerprint)
     SELECT p.town_id, p.id, '\\x00'::bytea, int8send(p.id * 64 + p.w * 4 + p.s), 'application/gpx+xml',
            p.st, p.st + interval '40 minutes', date '2026-06-29' + p.w * 7, 2, 1000 + random() * 4000,
            2400, 2400, 4.5, 0,
            ST_SetSRID(ST_MakeLine(ST_MakePointM(103 + (p.id % 1000) * 0.001, 25.3, 0),
                                   ST_MakePointM(103.01 + (p.id % 1000) * 0.001, 25.31, 2400)), 4326),
            ST_SetSRID(ST_MakeLine(ST_MakePoint(103 + (p.id % 1000) * 0.001, 25.3),
                                   ST_MakePoint(103.01 + (p.id % 1000) * 0.001, 25.31)), 4326),
            0.8, random() < 0.9, 'bench-' || p.id || '-' || p.w || '-' || p.s
     FROM (SELECT c.id, c.town_id, w, s,
                  timestamptz '2026-06-28 16:00:00+00' + w * interval '7 days'
                  + floor(random() * 604800) * interval '1 second' AS st
           FROM chiefs c CROSS JOIN generate_series(0, 12) w CROSS JOIN generate_series(0, 2) s
           WHERE random() < 0.4
           ORDER BY st) p",
];

/// The textbook per-chief count of compliant weeks, straight from patrols,
/// for every chief, one town, one chief (`$3`). Three fixed texts, so each
/// gets its own plan (a `$3 IS NULL OR …` text would get a generic plan).
const TEXTBOOK: [&str; 3] = [
    "SELECT chief_id, count(DISTINCT date_trunc('week', started_at AT TIME ZONE 'Asia/Shanghai'))
     FROM patrols
     WHERE COALESCE(override_valid, valid) AND started_at >= $1 AND started_at < $2
     GROUP BY chief_id",
    "SELECT chief_id, count(DISTINCT date_trunc('week', started_at AT TIME ZONE 'Asia/Shanghai'))
     FROM patrols
     WHERE COALESCE(override_valid, valid) AND started_at >= $1 AND started_at < $2
       AND town_id = $3
     GROUP BY chief_id",
    "SELECT chief_id, count(DISTINCT date_trunc('week', started_at AT TIME ZONE 'Asia/Shanghai'))
     FROM patrols
     WHERE COALESCE(override_valid, valid) AND started_at >= $1 AND started_at < $2
       AND chief_id = $3
     GROUP BY chief_id",
];

fn textbook_sql(scope: Scope) -> (&'static str, Option<i64>) {
    match (scope.town_id, scope.chief_id) {
        (_, Some(chief)) => (TEXTBOOK[2], Some(chief)),
        (Some(town), None) => (TEXTBOOK[1], Some(town)),
        (None, None) => (TEXTBOOK[0], None),
    }
}

async fn textbook(pool: &PgPool, quarter: Quarter, scope: Scope) -> Vec<(i64, i64)> {
    let (sql, id) = textbook_sql(scope);
    let query = sqlx::query_as(sql)
        .bind(quarter.start_utc())
        .bind(quarter.end_utc());
    let query = match id {
        Some(id) => query.bind(id),
        None => query,
    };
    query.fetch_all(pool).await.expect("textbook query")
}

async fn generate(pool: &PgPool, towns: i64) {
    let mut conn = pool.acquire().await.expect("connection");
    let started = Instant::now();
    sqlx::query("SELECT setseed(0.42)")
        .execute(&mut *conn)
        .await
        .expect("setseed");
    // Bulk load without foreign-key triggers (the data is consistent by
    // construction); needs a superuser, as the test cluster's user is.
    let fast = sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .is_ok();
    for (i, sql) in GENERATE.iter().enumerate() {
        let t = Instant::now();
        let query = sqlx::query(*sql);
        let query = if i == 0 { query.bind(towns) } else { query };
        let done = query.execute(&mut *conn).await.expect("generate");
        eprintln!(
            "  generate step {}: {} rows in {:.1} s",
            i + 1,
            done.rows_affected(),
            t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    let weeks = compliance::rebuild_chief_weeks(&mut conn, None)
        .await
        .expect("rebuild chief_weeks");
    eprintln!(
        "  chief_weeks (rebuild_chief_weeks): {weeks} rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    if fast {
        sqlx::query("RESET session_replication_role")
            .execute(&mut *conn)
            .await
            .expect("reset");
    }
    let t = Instant::now();
    sqlx::raw_sql("VACUUM ANALYZE")
        .execute(&mut *conn)
        .await
        .expect("vacuum");
    eprintln!("  VACUUM ANALYZE in {:.1} s", t.elapsed().as_secs_f64());
    let (patrols, chiefs): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM patrols), (SELECT count(*) FROM chiefs)")
            .fetch_one(&mut *conn)
            .await
            .expect("counts");
    eprintln!(
        "generated {chiefs} chiefs, {patrols} patrols, {weeks} chief-weeks in {:.0} s (FK triggers {})",
        started.elapsed().as_secs_f64(),
        if fast { "off" } else { "on" }
    );
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of one query of `load_quarter` with its
/// binds (see `compliance::quarter_queries`).
async fn explain(pool: &PgPool, sql: &str, quarter: Quarter, scope: Scope) -> String {
    let text = format!("EXPLAIN (ANALYZE, BUFFERS) {sql}");
    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(text))
        .bind(compliance::quarter_start(quarter).expect("quarter start"))
        .bind(quarter.first_day())
        .bind(quarter.last_day())
        .bind(scope.town_id)
        .bind(scope.village_id)
        .bind(scope.chief_id)
        .fetch_all(pool)
        .await
        .expect("explain");
    rows.join("\n")
}

async fn explain_textbook(pool: &PgPool, quarter: Quarter, scope: Scope) -> String {
    let (sql, id) = textbook_sql(scope);
    let text = format!("EXPLAIN (ANALYZE, BUFFERS) {sql}");
    let query = sqlx::query_scalar(sqlx::AssertSqlSafe(text))
        .bind(quarter.start_utc())
        .bind(quarter.end_utc());
    let query = match id {
        Some(id) => query.bind(id),
        None => query,
    };
    let rows: Vec<String> = query.fetch_all(pool).await.expect("explain");
    rows.join("\n")
}

async fn plans(pool: &PgPool, quarter: Quarter, cases: &[(&str, Scope)]) -> String {
    let mut out = String::new();
    for (name, scope) in cases {
        for (what, sql) in compliance::quarter_queries(*scope) {
            // Run once to warm the cache, then explain.
            let _ = explain(pool, &sql, quarter, *scope).await;
            out.push_str(&format!(
                "\n=== {name}: {what}\n{}\n",
                explain(pool, &sql, quarter, *scope).await
            ));
        }
        let _ = explain_textbook(pool, quarter, *scope).await;
        out.push_str(&format!(
            "\n=== {name}: textbook\n{}\n",
            explain_textbook(pool, quarter, *scope).await
        ));
    }
    out
}

/// One timed pass of each step of the all-chiefs quarter, printed: where
/// the time goes (the criterion figures below are the ones to quote).
async fn breakdown(pool: &PgPool, quarter: Quarter, now: DateTime<Utc>) {
    let queries = compliance::quarter_queries(Scope::default());
    let start = compliance::quarter_start(quarter).expect("quarter start");
    for round in 0..3 {
        let mut parts = Vec::new();
        for (what, sql) in &queries {
            let t = Instant::now();
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(start)
                .bind(quarter.first_day())
                .bind(quarter.last_day())
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .fetch_all(pool)
                .await
                .expect("query");
            parts.push(format!("{what} {} rows {:?}", rows.len(), t.elapsed()));
        }
        let t = Instant::now();
        let records = compliance::load_quarter(pool, Scope::default(), quarter)
            .await
            .expect("load");
        let t_load = t.elapsed();
        let t = Instant::now();
        let report = compliance::quarter_report(quarter, records, now);
        let t_rule = t.elapsed();
        let t = Instant::now();
        let json = serde_json::to_vec(&report).expect("json");
        let t_json = t.elapsed();
        let t = Instant::now();
        drop(report);
        let t_drop = t.elapsed();
        eprintln!(
            "breakdown {round}: {}; load_quarter (all three + assembly) {t_load:?}; rule {t_rule:?}; \
             json {} B {t_json:?}; drop {t_drop:?}",
            parts.join("; "),
            json.len(),
        );
    }
}

/// The previous path: per-chief-week counts from `chief_weeks` (`load`),
/// then the same rule.
async fn via_chief_weeks(
    pool: &PgPool,
    scope: Scope,
    quarter: Quarter,
    now: DateTime<Utc>,
) -> compliance::QuarterReport {
    let records = compliance::load(pool, scope, quarter.first_week()..=quarter.last_week())
        .await
        .expect("load");
    compliance::quarter_report(quarter, records, now)
}

/// The routine scale; `BENCH_CHIEFS=100000` is the full one.
const DEFAULT_CHIEFS: i64 = 10_000;

fn main() {
    let chiefs: i64 = std::env::var("BENCH_CHIEFS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CHIEFS);
    let towns = (chiefs / 100).max(1);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (db, pool) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let pool = rt
                .block_on(store::connect(&url))
                .expect("BENCH_DATABASE_URL");
            rt.block_on(store::migrate(&pool)).expect("migrations");
            (None, pool)
        }
        _ => {
            let db = rt.block_on(store::testing::fresh_database());
            let pool = db.pool().clone();
            (Some(db), pool)
        }
    };
    let existing: i64 = rt
        .block_on(sqlx::query_scalar("SELECT count(*) FROM chiefs").fetch_one(&pool))
        .expect("count chiefs");
    if existing == 0 {
        eprintln!("generating {towns} towns × 100 chiefs");
        rt.block_on(generate(&pool, towns));
    } else {
        eprintln!("reusing {existing} chiefs of BENCH_DATABASE_URL");
    }

    let quarter: Quarter = "2026-Q3".parse().expect("quarter");
    let now: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 10, 15, 0, 0, 0).unwrap();
    let (town, chief): (i64, i64) = rt
        .block_on(
            sqlx::query_as(
                "SELECT town_id, id FROM chiefs WHERE town_id = (SELECT min(id) + $1 / 2 FROM towns)
                 ORDER BY id OFFSET 42 LIMIT 1",
            )
            .bind(towns)
            .fetch_one(&pool),
        )
        .expect("a town and a chief");
    let all = Scope::default();
    let one_town = Scope {
        town_id: Some(town),
        ..Scope::default()
    };
    let one_chief = Scope {
        chief_id: Some(chief),
        ..Scope::default()
    };

    // Both paths agree on the compliant weeks of every chief.
    let report = rt
        .block_on(compliance::quarter(&pool, all, quarter, now))
        .expect("quarter");
    let book = rt.block_on(textbook(&pool, quarter, all));
    let book: std::collections::HashMap<i64, i64> = book.into_iter().collect();
    let mut compliant_in_office_only = 0;
    for row in &report.chiefs {
        let ours = i64::from(row.compliant);
        let theirs = book.get(&row.chief_id).copied().unwrap_or(0);
        // The textbook also counts weeks before an appointment or after
        // leaving; ours does not (not_in_office comes first).
        assert!(ours <= theirs, "chief {}: {ours} > {theirs}", row.chief_id);
        if ours < theirs {
            compliant_in_office_only += 1;
        }
    }
    let rates: Vec<f64> = report.chiefs.iter().filter_map(|c| c.rate).collect();
    eprintln!(
        "{} chiefs; mean rate {:.3}; {} chiefs whose textbook count includes weeks out of office",
        report.chiefs.len(),
        rates.iter().sum::<f64>() / rates.len() as f64,
        compliant_in_office_only
    );
    // The masks (backfilled by migration 0007 when the data set predates
    // it) give exactly what the per-chief-week counts give.
    let previous = rt.block_on(via_chief_weeks(&pool, all, quarter, now));
    assert_eq!(previous.chiefs.len(), report.chiefs.len());
    for (a, b) in previous.chiefs.iter().zip(&report.chiefs) {
        assert_eq!(
            (a.chief_id, &a.weeks, a.required, a.rate),
            (b.chief_id, &b.weeks, b.required, b.rate)
        );
    }
    drop(previous);
    eprintln!("chief_quarters and chief_weeks give the same quarter for every chief");
    let json_bytes = serde_json::to_vec(&report).expect("json").len();
    eprintln!(
        "JSON of the all-chiefs quarter: {:.1} MB",
        json_bytes as f64 / 1e6
    );
    rt.block_on(breakdown(&pool, quarter, now));

    let explained = rt.block_on(plans(
        &pool,
        quarter,
        &[
            ("all chiefs", all),
            ("one town", one_town),
            ("one chief", one_chief),
        ],
    ));
    println!("{explained}");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/bench-compliance-explain.txt"
    );
    let _ = std::fs::write(path, &explained);

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .configure_from_args();
    for (name, scope, samples) in [
        ("quarter/all_chiefs", all, 10),
        ("quarter/one_town", one_town, 100),
        ("quarter/one_chief", one_chief, 100),
    ] {
        let mut group = c.benchmark_group(name);
        group.sample_size(samples);
        if samples == 10 {
            group.measurement_time(Duration::from_secs(20));
        }
        group.bench_function("chief_quarters+rule", |b| {
            b.iter(|| {
                rt.block_on(compliance::quarter(&pool, scope, quarter, now))
                    .expect("quarter")
            })
        });
        group.bench_function("textbook", |b| {
            b.iter(|| rt.block_on(textbook(&pool, quarter, scope)))
        });
        group.bench_function("chief_weeks+rule (previous)", |b| {
            b.iter(|| rt.block_on(via_chief_weeks(&pool, scope, quarter, now)))
        });
        group.finish();
    }
    let mut group = c.benchmark_group("quarter/all_chiefs");
    group.sample_size(10);
    group.bench_function("rule_only", |b| {
        let records = rt
            .block_on(compliance::load_quarter(&pool, all, quarter))
            .expect("load");
        b.iter_batched(
            || records.clone(),
            |r| compliance::quarter_report(quarter, r, now),
            criterion::BatchSize::LargeInput,
        )
    });
    group.bench_function("json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&report)).expect("json"))
    });
    group.finish();
    let week: IsoWeek = "2026-W32".parse().expect("week");
    let mut group = c.benchmark_group("week/one_town");
    group.bench_function("chief_weeks+rule", |b| {
        b.iter(|| {
            rt.block_on(compliance::week(&pool, one_town, week, now))
                .expect("week")
        })
    });
    group.finish();
    let mut group = c.benchmark_group("recount_week");
    group.bench_function("one chief-week (rolled back)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut tx = pool.begin().await.expect("begin");
                let n = compliance::recount_week(&mut tx, chief, week.monday())
                    .await
                    .expect("recount");
                tx.rollback().await.expect("rollback");
                n
            })
        })
    });
    group.finish();
    c.final_summary();
    drop(report);
    if let Some(db) = db {
        rt.block_on(db.close());
    }
}
