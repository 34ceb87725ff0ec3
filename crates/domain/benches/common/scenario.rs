//! The coverage benchmarks' scenario, shared by `crates/domain/benches/coverage.rs`
//! and `crates/store/benches/coverage_postgis.rs` (included with `#[path]`), so
//! our coverage and PostGIS' are measured on the very same reach and tracks.
//!
//! Synthetic and deterministic: a meandering 8 km reach with a vertex every
//! ~25 m, and a chief walking the bank 0–60 m from it at ~8 km/h for one
//! hour, with a 1 km stretch 150 m inland, correlated GPS noise (σ ≈ 4 m)
//! and white noise (σ ≈ 1 m). Coverage ≈ 0.76, so covered intervals start
//! and end all along the reach.

use chrono::{Duration, TimeZone, Utc};
use domain::coverage::LocalPlane;
use domain::{Track, TrackPoint};
use geo::{LineString, MultiLineString};

/// xorshift64*: a small deterministic generator, so the bench needs no `rand`.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly standard normal (Irwin–Hall with 12 uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.next_f64()).sum::<f64>() - 6.0
    }
}

/// The reach's centreline in plane metres: 8 km eastwards, meandering.
fn centreline(s: f64) -> (f64, f64) {
    (s, 120.0 * (s / 700.0).sin() + 40.0 * (s / 170.0).sin())
}

/// The reach, the 1 Hz track (3,600 points) and the same track every 5 s
/// (720 points).
pub fn scenario() -> (MultiLineString<f64>, Track, Track) {
    let plane = LocalPlane::new(103.1, 25.3);
    let reach: LineString<f64> = (0..=320)
        .map(|i| {
            let (x, y) = centreline(25.0 * i as f64);
            geo::Coord::from(plane.unproject([x, y]))
        })
        .collect();

    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let t0 = Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap();
    let (mut nx, mut ny) = (0.0, 0.0);
    let points: Vec<TrackPoint> = (0..3600)
        .map(|i| {
            let s = 8000.0 * i as f64 / 3599.0;
            let (x, y) = centreline(s);
            let bank = if (3000.0..4000.0).contains(&s) {
                150.0
            } else {
                30.0 + 30.0 * (s / 450.0).sin()
            };
            // AR(1) noise, correlation time ~30 s, stationary σ ≈ 4 m.
            nx = 0.967 * nx + 1.0 * rng.normal();
            ny = 0.967 * ny + 1.0 * rng.normal();
            let (lon, lat) = plane.unproject([x + nx + rng.normal(), y + bank + ny + rng.normal()]);
            TrackPoint {
                lon,
                lat,
                ele: None,
                time: t0 + Duration::seconds(i as i64),
            }
        })
        .collect();
    let every_5s = Track {
        points: points.iter().step_by(5).copied().collect(),
        ..Track::default()
    };
    (
        MultiLineString::new(vec![reach]),
        Track {
            points,
            ..Track::default()
        },
        every_5s,
    )
}
