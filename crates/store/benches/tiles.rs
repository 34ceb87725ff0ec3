//! Vector tiles against the raw PostGIS query (issue #6, "Measure"), same
//! data, same run: the demo town with 108 one-hour 1 Hz patrols of reach 1
//! (3,600 points each, there and back with GPS noise) in one week, uploaded
//! through the real pipeline (`store::patrols::ingest`).
//!
//! - `raw`: `ST_AsMVT` over the full-resolution tracks of the tile
//!   (`ST_AsMVTGeom(ST_Transform(track, 3857), …)`, candidates by the GiST
//!   index), the issue's baseline;
//! - `ours`: `store::tiles::tile`, the three layers the map gets (reaches
//!   with their weekly status, patrols generalised to about a pixel,
//!   issues), including the reach-status query;
//! - `revalidate`: `store::tiles::version`, all a client's `If-None-Match`
//!   costs when the week has not changed (the HTTP layer answers 304).
//!
//! One tile per zoom z12–z16, the one holding the middle of reach 1. Sizes
//! are printed before the timings. `cargo bench --workspace --bench tiles`;
//! figures in BENCHMARKS.md.

use chrono::{Duration as Span, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use domain::time::IsoWeek;
use std::hint::black_box;
use std::time::Duration;
use store::tiles::{TileId, TileScope};

const PATROLS: usize = 108;

/// Loads the demo town and the patrols; answers the town and the week.
async fn scenario(pool: &sqlx::PgPool) -> (i64, IsoWeek) {
    store::demo::load_town(pool).await.expect("demo town");
    let (town_id, chief_id): (i64, i64) =
        sqlx::query_as("SELECT town_id, id FROM chiefs WHERE code = 'HZ001'")
            .fetch_one(pool)
            .await
            .expect("HZ001");
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'")
        .fetch_one(pool)
        .await
        .expect("admin");
    let now = Utc::now();
    let week = IsoWeek::current(now)
        .expect("week")
        .prev()
        .expect("last week");
    let reach = store::demo::reach_line(1);
    let there_and_back: Vec<[f64; 2]> = reach.iter().chain(reach.iter().rev()).copied().collect();
    for k in 0..PATROLS {
        // Two walks an hour apart every hour of the week's first days.
        let start = week.start_utc() + Span::minutes(30 * k as i64 + 7);
        let points = domain::synth::walk(&there_and_back, start, 3.0, 1, 4.0);
        let key = format!("bench-{k}");
        store::patrols::ingest(
            pool,
            store::patrols::Ingest {
                chief_id,
                uploaded_by: admin,
                bytes: domain::synth::gpx(&points).into_bytes(),
                gzip: None,
                format: domain::read::TrackFormat::Gpx,
                gcj02: false,
                notes: None,
                idempotency_key: Some(&key),
                // Uploaded after the walk, not a late upload of last week.
                now: (start + Span::hours(3)).min(now),
            },
        )
        .await
        .expect("ingest");
    }
    (town_id, week)
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let test_db = runtime.block_on(store::testing::fresh_database());
    let pool = test_db.pool().clone();
    let (town_id, week) = runtime.block_on(scenario(&pool));
    let scope = TileScope {
        town_id: Some(town_id),
        patrols_of_chief: None,
        issues_of_village: None,
    };
    let reach = store::demo::reach_line(1);
    let [lon, lat] = reach[reach.len() / 2];
    let now = Utc::now();
    let tiles: Vec<TileId> = (12..=16)
        .map(|z| TileId::containing(lon, lat, z).expect("tile"))
        .collect();

    let raw = |t: TileId| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Vec<u8>>(store::tiles::RAW_BASELINE_SQL)
                .bind(i32::from(t.z))
                .bind(i64::from(t.x))
                .bind(i64::from(t.y))
                .bind(week.monday())
                .fetch_one(&pool)
                .await
                .expect("raw tile")
        }
    };
    let ours = |t: TileId| {
        let pool = pool.clone();
        async move {
            store::tiles::tile(&pool, t, week, scope, now)
                .await
                .expect("our tile")
        }
    };
    for &t in &tiles {
        let (raw_bytes, our_bytes) = runtime.block_on(async { (raw(t).await, ours(t).await) });
        println!(
            "tile {}/{}/{}: raw {:.1} kB, ours {:.1} kB (all three layers)",
            t.z,
            t.x,
            t.y,
            raw_bytes.len() as f64 / 1000.0,
            our_bytes.len() as f64 / 1000.0
        );
    }

    let mut group = c.benchmark_group("tiles");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for &t in &tiles {
        group.bench_with_input(BenchmarkId::new("raw", t.z), &t, |b, &t| {
            b.iter(|| runtime.block_on(raw(black_box(t))))
        });
        group.bench_with_input(BenchmarkId::new("ours", t.z), &t, |b, &t| {
            b.iter(|| runtime.block_on(ours(black_box(t))))
        });
    }
    group.bench_function("revalidate", |b| {
        b.iter(|| {
            runtime
                .block_on(store::tiles::version(&pool, Some(town_id), week))
                .expect("version")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
