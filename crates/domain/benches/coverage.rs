//! Coverage of an 8 km reach by a one-hour patrol, at 1 Hz (3,600 points)
//! and resampled to one point every 5 s (720 points), against a naive Rust
//! baseline (1 m samples of the reach × every track segment). The scenario
//! is in `common/scenario.rs`; the comparison with PostGIS on the same data
//! is `crates/store/benches/coverage_postgis.rs`. Run with
//! `cargo bench -p domain --bench coverage`; figures in BENCHMARKS.md.
//!
//! The 1 Hz/5 s ratio is the linearity check: 5× the points must cost at
//! most 8× (GEOS buffering is quadratic in density; ours must not be).

use criterion::{Criterion, criterion_group, criterion_main};
use domain::coverage::{TrackIndex, reach_coverage, reach_coverage_sampled};
use std::hint::black_box;

#[path = "common/scenario.rs"]
mod scenario;
use scenario::scenario;

fn bench(c: &mut Criterion) {
    let (reach, track_1hz, track_5s) = scenario();

    let exact = reach_coverage(&reach, &track_1hz, 50.0);
    let reference = reach_coverage_sampled(&reach, &track_1hz, 50.0, 0.1);
    let exact_5s = reach_coverage(&reach, &track_5s, 50.0);
    println!(
        "coverage 1 Hz: exact {:.6} (covered {:.2} m of {:.2} m), 0.1 m sampling {:.6}; 5 s: {:.6}",
        exact.coverage.get(),
        exact.covered_m,
        exact.length_m,
        reference.coverage.get(),
        exact_5s.coverage.get(),
    );

    let mut group = c.benchmark_group("coverage");
    group.bench_function("exact_1hz_3600pts", |b| {
        b.iter(|| reach_coverage(black_box(&reach), black_box(&track_1hz), 50.0))
    });
    group.bench_function("exact_5s_720pts", |b| {
        b.iter(|| reach_coverage(black_box(&reach), black_box(&track_5s), 50.0))
    });
    group.bench_function("index_build_1hz", |b| {
        b.iter(|| TrackIndex::new(black_box(&track_1hz)))
    });
    let index = TrackIndex::new(&track_1hz);
    group.bench_function("query_prebuilt_1hz", |b| {
        b.iter(|| index.coverage(black_box(&reach), 50.0))
    });
    group.sample_size(10);
    group.bench_function("baseline_sampled_1m_1hz", |b| {
        b.iter(|| reach_coverage_sampled(black_box(&reach), black_box(&track_1hz), 50.0, 1.0))
    });
    group.bench_function("baseline_sampled_1m_5s", |b| {
        b.iter(|| reach_coverage_sampled(black_box(&reach), black_box(&track_5s), 50.0, 1.0))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
