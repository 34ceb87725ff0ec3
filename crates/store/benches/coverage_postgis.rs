//! Our coverage against PostGIS, same reach, same tracks, same run: the
//! issue's baselines. The scenario (an 8 km reach, a one-hour walk at 1 Hz
//! and every 5 s) is the domain crate's `benches/common/scenario.rs`.
//!
//! - `textbook_geography`: `ST_Length(ST_Intersection(reach::geography,
//!   ST_Buffer(track::geography, 50))) / ST_Length(reach::geography)`;
//! - `textbook_utm`: the same in UTM zone 48N (EPSG:32648);
//! - `simplified_2m_utm`: the track first simplified to 2 m
//!   (`ST_Simplify` in UTM), then buffered, the fast PostGIS variant;
//! - `ours`: `domain::coverage::reach_coverage` on the parsed track.
//!
//! The geometries sit in a table of a fresh test database
//! (`store::testing`), so PostGIS' figures are query time plus one
//! loopback round trip, without any upload of the track. Agreement is
//! checked against PostGIS geography with `quad_segs=64` (the default
//! 8 segments per quarter circle cuts the round caps short by up to 0.96 m,
//! see `domain::coverage`). Run with `cargo bench -p store --bench
//! coverage_postgis`; figures in BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use domain::Track;
use domain::coverage::reach_coverage;
use geo::MultiLineString;
use sqlx::{PgConnection, Row};
use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;

#[path = "../../domain/benches/common/scenario.rs"]
mod scenario;

const TEXTBOOK_GEOGRAPHY: &str = "SELECT ST_Length(ST_Intersection(r.geom::geography, \
     ST_Buffer(t.geom::geography, 50))) / ST_Length(r.geom::geography)
     FROM bench_geoms r, bench_geoms t WHERE r.name = 'reach' AND t.name = $1";
const TEXTBOOK_UTM: &str = "SELECT ST_Length(ST_Intersection(ST_Transform(r.geom, 32648), \
     ST_Buffer(ST_Transform(t.geom, 32648), 50))) / ST_Length(ST_Transform(r.geom, 32648))
     FROM bench_geoms r, bench_geoms t WHERE r.name = 'reach' AND t.name = $1";
const SIMPLIFIED_UTM: &str = "SELECT ST_Length(ST_Intersection(ST_Transform(r.geom, 32648), \
     ST_Buffer(ST_Simplify(ST_Transform(t.geom, 32648), 2), 50))) / ST_Length(ST_Transform(r.geom, 32648))
     FROM bench_geoms r, bench_geoms t WHERE r.name = 'reach' AND t.name = $1";
const REFERENCE_GEOGRAPHY: &str = "SELECT ST_Length(ST_Intersection(r.geom::geography, \
     ST_Buffer(t.geom::geography, 50, 'quad_segs=64'))) / ST_Length(r.geom::geography)
     FROM bench_geoms r, bench_geoms t WHERE r.name = 'reach' AND t.name = $1";

fn wkt(lines: impl IntoIterator<Item = Vec<(f64, f64)>>) -> String {
    let mut s = String::from("MULTILINESTRING(");
    for (i, line) in lines.into_iter().enumerate() {
        s.push_str(if i == 0 { "(" } else { ",(" });
        for (j, (x, y)) in line.into_iter().enumerate() {
            let _ = write!(s, "{}{x} {y}", if j == 0 { "" } else { "," });
        }
        s.push(')');
    }
    s + ")"
}

fn track_wkt(track: &Track) -> String {
    wkt([track.points.iter().map(|p| (p.lon, p.lat)).collect()])
}

fn reach_wkt(reach: &MultiLineString<f64>) -> String {
    wkt(reach
        .0
        .iter()
        .map(|l| l.coords().map(|c| (c.x, c.y)).collect()))
}

async fn coverage(db: &mut PgConnection, sql: &str, track: &str) -> f64 {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(track)
        .fetch_one(db)
        .await
        .expect("coverage query")
        .get(0)
}

fn bench(c: &mut Criterion) {
    let (reach, track_1hz, track_5s) = scenario::scenario();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let test_db = runtime.block_on(store::testing::fresh_database());
    let mut db = runtime
        .block_on(test_db.pool().acquire())
        .expect("connection")
        .detach();
    runtime.block_on(async {
        sqlx::raw_sql("CREATE TABLE bench_geoms (name text PRIMARY KEY, geom geometry NOT NULL)")
            .execute(&mut db)
            .await
            .expect("table");
        for (name, wkt) in [
            ("reach", reach_wkt(&reach)),
            ("1hz", track_wkt(&track_1hz)),
            ("5s", track_wkt(&track_5s)),
        ] {
            sqlx::query("INSERT INTO bench_geoms VALUES ($1, ST_GeomFromText($2, 4326))")
                .bind(name)
                .bind(wkt)
                .execute(&mut db)
                .await
                .expect("insert");
        }
    });

    // Agreement first: the figures mean nothing if the answers differ.
    for (name, track) in [("1hz", &track_1hz), ("5s", &track_5s)] {
        let ours = reach_coverage(&reach, track, 50.0).coverage.get();
        let [reference, textbook, utm, simplified] = [
            REFERENCE_GEOGRAPHY,
            TEXTBOOK_GEOGRAPHY,
            TEXTBOOK_UTM,
            SIMPLIFIED_UTM,
        ]
        .map(|sql| runtime.block_on(coverage(&mut db, sql, name)));
        let simplified_points: i32 = runtime
            .block_on(
                sqlx::query_scalar(
                    "SELECT ST_NPoints(ST_Simplify(ST_Transform(geom, 32648), 2)) \
                     FROM bench_geoms WHERE name = $1",
                )
                .bind(name)
                .fetch_one(&mut db),
            )
            .expect("simplified points");
        println!(
            "coverage {name} ({} points, {simplified_points} after ST_Simplify 2 m): ours \
             {ours:.6}; PostGIS geography quad_segs=64 {reference:.6} (ours − it = {:+.6}), \
             geography default {textbook:.6}, UTM {utm:.6}, simplified 2 m UTM {simplified:.6}",
            track.points.len(),
            ours - reference
        );
        assert!(
            (ours - reference).abs() < 0.001,
            "{name}: ours {ours} vs PostGIS {reference}"
        );
    }

    let mut group = c.benchmark_group("coverage_vs_postgis");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (name, track) in [("1hz", &track_1hz), ("5s", &track_5s)] {
        group.bench_function(format!("ours_{name}"), |b| {
            b.iter(|| reach_coverage(black_box(&reach), black_box(track), 50.0))
        });
    }
    group.sample_size(10);
    for (label, sql) in [
        ("simplified_2m_utm", SIMPLIFIED_UTM),
        ("textbook_utm", TEXTBOOK_UTM),
        ("textbook_geography", TEXTBOOK_GEOGRAPHY),
    ] {
        for name in ["1hz", "5s"] {
            group.bench_function(format!("{label}_{name}"), |b| {
                b.iter(|| runtime.block_on(coverage(&mut db, sql, name)))
            });
        }
    }
    group.finish();
    drop(db);
    runtime.block_on(test_db.close());
}

criterion_group!(benches, bench);
criterion_main!(benches);
