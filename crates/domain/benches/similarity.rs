//! The upload's duplicate check (`domain::similarity`): one new one-hour
//! 1 Hz walk (3,600 points) compared with the 20 earlier walks of the same
//! reach that the store hands over as candidates, as `tests/load/run`
//! uploads them: the same path, each walk with its own pace and ±4 m GPS
//! noise, so none is a copy. Measured side by side with the definition
//! (`near_share` both ways, a grid of each track, no early stop) and, for
//! the answer "copy", with a time-shifted replay. Run with
//! `cargo bench --workspace --bench similarity`; figures in BENCHMARKS.md.

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::similarity::{NEAR_COPY_MIN_SHARE, NEAR_COPY_RADIUS_M, NearCopyIndex, near_share};
use domain::{Track, TrackPoint, packed_positions};
use std::hint::black_box;

/// A meandering 1.8 km reach, walked there and back.
fn there_and_back() -> Vec<[f64; 2]> {
    let there: Vec<[f64; 2]> = (0..=90)
        .map(|i| {
            let s = f64::from(i) * 20.0;
            [
                103.1 + s / 100_900.0,
                25.3 + 60.0 * (s / 300.0).sin() / 111_000.0,
            ]
        })
        .collect();
    there.iter().chain(there.iter().rev()).copied().collect()
}

/// The `k`-th one-hour walk: its own start (so its own noise) and pace.
fn walk(k: i64) -> Track {
    let start = Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap() + Duration::minutes(97 * k);
    let pace = 1.0 + 0.002 * (k % 50) as f64;
    let points = domain::synth::walk(&there_and_back(), start, 3.6 * pace, 1, 4.0);
    domain::synth::track_of(&points)
}

/// A day later, every timestamp shifted: the replay the check exists for.
fn replay(of: &Track) -> Track {
    Track {
        points: of
            .points
            .iter()
            .map(|p| TrackPoint {
                time: p.time + Duration::days(1),
                ..*p
            })
            .collect(),
        ..Track::default()
    }
}

/// The definition: either direction's share at least 90 %, no index reuse.
fn by_definition(a: &Track, b: &Track) -> bool {
    near_share(a, b, NEAR_COPY_RADIUS_M) >= NEAR_COPY_MIN_SHARE
        || near_share(b, a, NEAR_COPY_RADIUS_M) >= NEAR_COPY_MIN_SHARE
}

fn bench(c: &mut Criterion) {
    let new = walk(0);
    let candidates: Vec<Track> = (1..=20).map(walk).collect();
    let packed: Vec<Vec<u8>> = candidates.iter().map(packed_positions::pack).collect();
    let index = NearCopyIndex::new(&new);
    let copies = packed
        .iter()
        .filter(|p| index.is_near_copy_of_positions(packed_positions::positions(p).unwrap()))
        .count();
    assert_eq!(copies, 0, "independent walks are not copies");
    assert!(candidates.iter().all(|c| !by_definition(&new, c)));
    let replayed = replay(&candidates[7]);
    assert!(NearCopyIndex::new(&replayed).is_near_copy_of(&candidates[7]));
    println!(
        "new walk: {} points; 20 candidates of {}–{} points",
        new.points.len(),
        candidates.iter().map(|c| c.points.len()).min().unwrap(),
        candidates.iter().map(|c| c.points.len()).max().unwrap(),
    );

    let mut group = c.benchmark_group("duplicate_check");
    group.bench_function("upload_vs_20_walks", |b| {
        b.iter(|| {
            let index = NearCopyIndex::new(black_box(&new));
            packed.iter().any(|p| {
                packed_positions::positions(p)
                    .is_some_and(|positions| index.is_near_copy_of_positions(positions))
            })
        })
    });
    group.bench_function("definition_vs_20_walks", |b| {
        b.iter(|| candidates.iter().any(|c| by_definition(black_box(&new), c)))
    });
    group.bench_function("replay_vs_its_original", |b| {
        let original = packed_positions::pack(&candidates[7]);
        b.iter(|| {
            let index = NearCopyIndex::new(black_box(&replayed));
            packed_positions::positions(&original)
                .is_some_and(|positions| index.is_near_copy_of_positions(positions))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
