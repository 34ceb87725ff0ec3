//! Anti-cheat: is a track a copy of an earlier patrol, or made up?
//!
//! - A **replay** repeats the positions of an earlier track (any chief's),
//!   possibly with every timestamp shifted, thinned out or reversed. Exact and
//!   time-shifted copies share a [`shape_fingerprint`], which the store can
//!   index and look up by equality. Edited copies (points dropped, a few moved
//!   or added) are found by [`is_near_copy`], which the store applies to the
//!   earlier patrols whose bounding boxes overlap the new one.
//! - A **synthetic** track was generated rather than recorded: perfectly
//!   regular pace, no GPS noise ([`looks_synthetic`]). It is a flag for the
//!   office, not a rejection.
//!
//! Why positions and not time: two phones on the same walk record the same
//! path at the same times, but with independent GPS noise of metres, so
//! their points are rarely within half a metre of each other; a replay
//! reproduces the positions to the last digit.

use crate::coverage::LocalPlane;
use crate::track::Track;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Grid of the fingerprint, in degrees (1e-5° ≈ 1.1 m north-south).
pub const FINGERPRINT_GRID_DEG: f64 = 1e-5;

/// Radius within which a point counts as repeated by the other track.
pub const NEAR_COPY_RADIUS_M: f64 = 0.5;

/// Share of repeated points from which a track is a near copy.
pub const NEAR_COPY_MIN_SHARE: f64 = 0.9;

/// Tracks with fewer distinct positions are never called near copies.
pub const NEAR_COPY_MIN_POINTS: usize = 10;

/// The flag [`flag_if_synthetic`] sets.
pub const SYNTHETIC_FLAG: &str = "synthetic";

/// A fingerprint of the track's shape: `v1:` and the SHA-256 (lowercase hex)
/// of its positions rounded to a [`FINGERPRINT_GRID_DEG`] grid, with
/// consecutive repeats of a grid cell dropped, read in whichever direction
/// gives the smaller hash. Times and elevations are ignored, so a copy with
/// shifted (or reversed) times, other elevations or another file format has
/// the same fingerprint; a recording of a real walk never repeats another's
/// to the metre. The `v1` names the algorithm: fingerprints of another
/// version are not comparable.
///
/// Stationary tracks are the exception: two tracks that never leave one
/// 1 m cell share a fingerprint, but fail `too_short` anyway.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use domain::{Track, TrackPoint, similarity::shape_fingerprint};
///
/// let t0 = Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap();
/// let walk = |start| Track {
///     points: (0..100)
///         .map(|i| TrackPoint {
///             lon: 103.1 + 1.3e-5 * i as f64,
///             lat: 25.3 + 0.7e-5 * (i as f64).sin(),
///             ele: None,
///             time: start + Duration::seconds(i),
///         })
///         .collect(),
///     ..Track::default()
/// };
/// let original = shape_fingerprint(&walk(t0));
/// assert!(original.starts_with("v1:") && original.len() == 67);
/// // The same points a week later: same fingerprint.
/// assert_eq!(shape_fingerprint(&walk(t0 + Duration::days(7))), original);
/// ```
pub fn shape_fingerprint(track: &Track) -> String {
    let mut cells: Vec<(i64, i64)> = Vec::with_capacity(track.points.len());
    for p in &track.points {
        let cell = (
            (p.lon / FINGERPRINT_GRID_DEG).round() as i64,
            (p.lat / FINGERPRINT_GRID_DEG).round() as i64,
        );
        if cells.last() != Some(&cell) {
            cells.push(cell);
        }
    }
    let hash = |cells: &mut dyn Iterator<Item = &(i64, i64)>| -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(b"riverchief shape v1\0");
        for (x, y) in cells {
            hasher.update(x.to_le_bytes());
            hasher.update(y.to_le_bytes());
        }
        hasher.finalize().into()
    };
    let digest = hash(&mut cells.iter()).min(hash(&mut cells.iter().rev()));
    let mut out = String::with_capacity(3 + 64);
    out.push_str("v1:");
    for byte in digest {
        // sha2 0.11 digests do not implement `LowerHex`.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0xf)] as char);
    }
    out
}

/// The share (0..=1) of `a`'s distinct positions that lie within `radius_m`
/// of one of `b`'s positions (not of its segments: a replay repeats points,
/// a real walk along the same path only passes between them). Times are
/// ignored. 0 when `a` has no points.
pub fn near_share(a: &Track, b: &Track, radius_m: f64) -> f64 {
    let a_positions = distinct_positions(a);
    let near = count_near(&a_positions, b, radius_m, 0.0);
    if a_positions.is_empty() {
        return 0.0;
    }
    near as f64 / a_positions.len() as f64
}

/// How many of `a_positions` lie within `radius_m` of one of `b`'s points.
/// Gives up (returning a count below `min_share` of them) as soon as so many
/// have missed that `min_share` can no longer be reached: a different walk
/// misses at once, so duplicate checks of an upload against its candidates
/// stop after about a tenth of the points (measured: this check was two
/// thirds of the server's CPU in the upload load test before).
fn count_near(a_positions: &[(f64, f64)], b: &Track, radius_m: f64, min_share: f64) -> usize {
    if a_positions.is_empty() || b.points.is_empty() || radius_m.is_nan() || radius_m <= 0.0 {
        return 0;
    }
    let Some(plane) = LocalPlane::around(b.points.iter().map(|p| (p.lon, p.lat))) else {
        return 0;
    };
    let cell_of = |[x, y]: [f64; 2]| ((x / radius_m).floor() as i64, (y / radius_m).floor() as i64);
    let mut grid: HashMap<(i64, i64), Vec<[f64; 2]>> = HashMap::new();
    for p in &b.points {
        let xy = plane.project(p.lon, p.lat);
        grid.entry(cell_of(xy)).or_default().push(xy);
    }
    let r2 = radius_m * radius_m;
    let total = a_positions.len();
    let (mut near, mut missed) = (0, 0);
    for &(lon, lat) in a_positions {
        let xy = plane.project(lon, lat);
        let (cx, cy) = cell_of(xy);
        let hit = (cx - 1..=cx + 1).any(|x| {
            (cy - 1..=cy + 1).any(|y| {
                grid.get(&(x, y)).is_some_and(|pts| {
                    pts.iter()
                        .any(|q| (q[0] - xy[0]).powi(2) + (q[1] - xy[1]).powi(2) <= r2)
                })
            })
        });
        if hit {
            near += 1;
        } else {
            missed += 1;
            if ((total - missed) as f64 / total as f64) < min_share {
                break;
            }
        }
    }
    near
}

/// Whether one track replays the other: at least [`NEAR_COPY_MIN_SHARE`]
/// (90 %) of the distinct positions of either track lie within
/// [`NEAR_COPY_RADIUS_M`] (0.5 m) of the other's points, and both have at
/// least [`NEAR_COPY_MIN_POINTS`] distinct positions. Symmetric; times are
/// ignored, so it catches thinned-out, cut, time-shifted and lightly edited
/// replays. Two phones recording the same walk are not near copies: their
/// independent GPS errors (metres) put few points within 0.5 m of the other
/// phone's points. A replay with noise of a metre or more added escapes
/// this test; the coverage and speed rules still apply to it.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use domain::{Track, TrackPoint, similarity::is_near_copy};
///
/// let t0 = Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap();
/// let original = Track {
///     points: (0..300)
///         .map(|i| TrackPoint {
///             lon: 103.1 + 1.3e-5 * i as f64,
///             lat: 25.3 + 2e-4 * (i as f64 / 40.0).sin(),
///             ele: None,
///             time: t0 + Duration::seconds(i),
///         })
///         .collect(),
///     ..Track::default()
/// };
/// // Every third point, a day later.
/// let replay = Track {
///     points: original
///         .points
///         .iter()
///         .step_by(3)
///         .map(|p| TrackPoint { time: p.time + Duration::days(1), ..*p })
///         .collect(),
///     ..Track::default()
/// };
/// assert!(is_near_copy(&replay, &original));
/// ```
pub fn is_near_copy(a: &Track, b: &Track) -> bool {
    let (a_positions, b_positions) = (distinct_positions(a), distinct_positions(b));
    if a_positions.len() < NEAR_COPY_MIN_POINTS || b_positions.len() < NEAR_COPY_MIN_POINTS {
        return false;
    }
    let replays = |positions: &[(f64, f64)], other: &Track| {
        let near = count_near(positions, other, NEAR_COPY_RADIUS_M, NEAR_COPY_MIN_SHARE);
        near as f64 / positions.len() as f64 >= NEAR_COPY_MIN_SHARE
    };
    replays(&a_positions, b) || replays(&b_positions, a)
}

/// Positions in order with consecutive repeats dropped, so a phone that
/// stood still for a minute does not weigh sixty times.
fn distinct_positions(track: &Track) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(track.points.len());
    for p in &track.points {
        if out.last() != Some(&(p.lon, p.lat)) {
            out.push((p.lon, p.lat));
        }
    }
    out
}

/// Fewest timed steps (consecutive points with increasing times) a
/// synthetic verdict needs.
pub const SYNTHETIC_MIN_STEPS: usize = 20;
/// A step is "steady" when its speed is within this relative distance of
/// the median speed (1 %).
pub const SYNTHETIC_SPEED_TOLERANCE: f64 = 0.01;
/// Share of steady steps from which a track looks synthetic (80 %).
pub const SYNTHETIC_MIN_STEADY_SHARE: f64 = 0.8;
/// Slowest median speed considered (m/s): a phone lying still is not a
/// generator.
pub const SYNTHETIC_MIN_SPEED_MPS: f64 = 0.1;

/// Whether the track looks generated rather than recorded: at least
/// [`SYNTHETIC_MIN_STEPS`] (20) timed steps, a median speed of at least
/// 0.1 m/s, and at least 80 % of the steps at a speed within 1 % of the
/// median: no GPS noise, no change of pace.
///
/// This catches both kinds of generator we know of: points at a fixed
/// interval and a fixed spacing (identical time steps, step lengths with a
/// spread below 1 %, straight between the vertices of a drawn line), and
/// route planners that put a point on every vertex of a drawn route and time
/// it by distance at a constant speed (gpx.studio's "with time" export: 100 %
/// of its steps are steady, with irregular time steps and a turn at every
/// point, so a test on time steps or straightness alone would miss it).
/// Recordings are far from the threshold: GPS noise and a changing pace put
/// only 2–6 % of the steps of the real walks, runs and drives in our
/// fixtures within 1 % of their median speed, whatever the logging interval.
/// Coordinates rounded to 6 decimals (0.1 m) or fewer add jitter that can
/// hide a generated track with steps of a few metres; this catches the naive
/// generator, not a careful forger.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use domain::{Track, TrackPoint, similarity::looks_synthetic};
///
/// let t0 = Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap();
/// // 2 m every 2 s, due east: a generated track.
/// let points = (0..100)
///     .map(|i| TrackPoint {
///         lon: 103.1 + 1.9888e-5 * i as f64,
///         lat: 25.3,
///         ele: None,
///         time: t0 + Duration::seconds(2 * i),
///     })
///     .collect();
/// assert!(looks_synthetic(&Track { points, ..Track::default() }));
/// ```
pub fn looks_synthetic(track: &Track) -> bool {
    let points = &track.points;
    let Some(plane) = LocalPlane::around(points.iter().map(|p| (p.lon, p.lat))) else {
        return false;
    };
    let speeds: Vec<f64> = points
        .windows(2)
        .filter_map(|w| {
            let dt_s = crate::metrics::seconds_between(w[0].time, w[1].time);
            let (a, b) = (
                plane.project(w[0].lon, w[0].lat),
                plane.project(w[1].lon, w[1].lat),
            );
            (dt_s > 0.0).then(|| (b[0] - a[0]).hypot(b[1] - a[1]) / dt_s)
        })
        .collect();
    if speeds.len() < SYNTHETIC_MIN_STEPS {
        return false;
    }
    let mut sorted = speeds.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    if median < SYNTHETIC_MIN_SPEED_MPS {
        return false;
    }
    let steady = speeds
        .iter()
        .filter(|&&v| (v - median).abs() <= SYNTHETIC_SPEED_TOLERANCE * median)
        .count();
    steady as f64 >= SYNTHETIC_MIN_STEADY_SHARE * speeds.len() as f64
}

/// Adds [`SYNTHETIC_FLAG`] to the track's flags when it
/// [looks synthetic](looks_synthetic); returns whether it did.
pub fn flag_if_synthetic(track: &mut Track) -> bool {
    let synthetic = looks_synthetic(track);
    if synthetic {
        track.flags.insert(SYNTHETIC_FLAG);
    }
    synthetic
}

/// Real tracks from `../shared/fixtures`, read with the `gpx` crate (a
/// dev-dependency) so these tests do not depend on our own readers.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::track::{Track, TrackPoint};
    use chrono::{DateTime, Utc};
    use std::path::PathBuf;

    pub(crate) fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
    }

    /// All timed points of all tracks of a GPX fixture, sorted by time;
    /// `None` (and a note on stderr) when the fixtures are not checked out.
    pub(crate) fn gpx(relative: &str) -> Option<Track> {
        let path = dir().join(relative);
        let Ok(file) = std::fs::File::open(&path) else {
            eprintln!("fixture {} not found; skipped", path.display());
            return None;
        };
        let doc =
            gpx::read(std::io::BufReader::new(file)).unwrap_or_else(|e| panic!("{relative}: {e}"));
        let mut points: Vec<TrackPoint> = doc
            .tracks
            .iter()
            .flat_map(|t| &t.segments)
            .flat_map(|s| &s.points)
            .filter_map(|w| {
                let time: DateTime<Utc> = w.time.as_ref()?.format().ok()?.parse().ok()?;
                Some(TrackPoint {
                    lon: w.point().x(),
                    lat: w.point().y(),
                    ele: w.elevation,
                    time,
                })
            })
            .collect();
        points.sort_by_key(|p| p.time);
        points.dedup();
        Some(Track {
            points,
            ..Track::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::TrackPoint;
    use chrono::{DateTime, Duration, TimeZone, Utc};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap()
    }

    /// Deterministic pseudo-random numbers in -1..1 (xorshift).
    struct Noise(u64);
    impl Noise {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        }
    }

    /// A walk along a gently curving path at ~1.3 m/s, one point a second,
    /// as a phone would record it: correlated GPS error of a few metres plus
    /// jitter, and a pace that varies.
    fn recorded_walk(seed: u64, n: usize) -> Track {
        let plane = LocalPlane::new(103.1, 25.3);
        let mut noise = Noise(seed);
        let (mut ex, mut ey, mut s) = (0.0, 0.0, 0.0);
        Track {
            points: (0..n)
                .map(|i| {
                    s += 1.3 + 0.3 * noise.next();
                    ex = 0.95 * ex + 0.6 * noise.next();
                    ey = 0.95 * ey + 0.6 * noise.next();
                    let (x, y) = (s, 40.0 * (s / 150.0).sin());
                    let (lon, lat) =
                        plane.unproject([x + ex + 0.3 * noise.next(), y + ey + 0.3 * noise.next()]);
                    TrackPoint {
                        lon,
                        lat,
                        ele: Some(1800.0),
                        time: t0() + Duration::seconds(i as i64),
                    }
                })
                .collect(),
            ..Track::default()
        }
    }

    fn shifted(track: &Track, by: Duration) -> Track {
        Track {
            points: track
                .points
                .iter()
                .map(|p| TrackPoint {
                    time: p.time + by,
                    ..*p
                })
                .collect(),
            ..track.clone()
        }
    }

    #[test]
    fn fingerprint_ignores_time_elevation_and_direction() {
        let walk = recorded_walk(1, 600);
        let fp = shape_fingerprint(&walk);
        assert_eq!(fp.len(), 67);
        assert!(
            fp[3..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(shape_fingerprint(&shifted(&walk, Duration::days(30))), fp);

        let mut no_ele = walk.clone();
        no_ele.points.iter_mut().for_each(|p| p.ele = None);
        assert_eq!(shape_fingerprint(&no_ele), fp);

        // Replayed backwards with fresh, increasing times.
        let mut reversed = walk.clone();
        reversed.points.reverse();
        for (i, p) in reversed.points.iter_mut().enumerate() {
            p.time = t0() + Duration::days(2) + Duration::seconds(i as i64);
        }
        assert_eq!(shape_fingerprint(&reversed), fp);

        // Sub-grid differences (re-export with fewer decimals) don't matter
        // unless they cross a grid line; a point moved by 3 m does.
        let mut moved = walk.clone();
        moved.points[300].lat += 3e-5;
        assert_ne!(shape_fingerprint(&moved), fp);
        assert_ne!(shape_fingerprint(&recorded_walk(2, 600)), fp);
    }

    #[test]
    fn fingerprint_is_pinned() {
        // The store indexes fingerprints: changing the algorithm must come
        // with a new version prefix, and this test would say so.
        let track = Track {
            points: [(103.1, 25.3), (103.1001, 25.3001), (103.1002, 25.3001)]
                .iter()
                .enumerate()
                .map(|(i, &(lon, lat))| TrackPoint {
                    lon,
                    lat,
                    ele: None,
                    time: t0() + Duration::seconds(i as i64),
                })
                .collect(),
            ..Track::default()
        };
        insta::assert_snapshot!(shape_fingerprint(&track), @"v1:4cdf64de6779fa8dd0037717e392080b0dab14f171b4f3c89fcff72ee414bf2f");
    }

    #[test]
    fn near_copies() {
        let walk = recorded_walk(7, 1200);
        // Time-shifted, thinned, cut and lightly edited replays.
        let thinned = Track {
            points: walk.points.iter().step_by(4).copied().collect(),
            ..Track::default()
        };
        assert!(is_near_copy(&thinned, &walk) && is_near_copy(&walk, &thinned));
        let cut = Track {
            points: walk.points[200..700].to_vec(),
            ..Track::default()
        };
        assert!(is_near_copy(&shifted(&cut, Duration::days(3)), &walk));
        let mut edited = shifted(&walk, Duration::hours(5));
        for p in edited.points.iter_mut().step_by(20) {
            p.lon += 5e-5; // 5 % of the points moved by 5 m
        }
        assert!(is_near_copy(&edited, &walk));

        // The same walk recorded by another phone at the same time.
        let other_phone = recorded_walk(8, 1200);
        let share = near_share(&other_phone, &walk, NEAR_COPY_RADIUS_M);
        assert!(share < 0.2, "{share}");
        assert!(!is_near_copy(&other_phone, &walk));

        // Tiny tracks are never near copies.
        let tiny = Track {
            points: walk.points[..5].to_vec(),
            ..Track::default()
        };
        assert!(!is_near_copy(&tiny, &walk));
        assert_eq!(near_share(&Track::default(), &walk, 0.5), 0.0);
    }

    fn generated(step_m: f64, dt_s: i64, n: usize) -> Track {
        // Interpolated at constant speed along a polyline with a vertex
        // every 40 m, as a naive generator would do.
        let plane = LocalPlane::new(103.1, 25.3);
        let vertex = |k: usize| {
            [
                40.0 * k as f64,
                if k.is_multiple_of(2) { 0.0 } else { 15.0 },
            ]
        };
        let seg_len = (40.0f64.powi(2) + 15.0f64.powi(2)).sqrt();
        Track {
            points: (0..n)
                .map(|i| {
                    let s = step_m * i as f64;
                    let k = (s / seg_len) as usize;
                    let t = s / seg_len - k as f64;
                    let (a, b) = (vertex(k), vertex(k + 1));
                    let (lon, lat) =
                        plane.unproject([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
                    TrackPoint {
                        lon,
                        lat,
                        ele: None,
                        time: t0() + Duration::seconds(dt_s * i as i64),
                    }
                })
                .collect(),
            ..Track::default()
        }
    }

    #[test]
    fn synthetic_tracks_are_flagged() {
        let mut fake = generated(1.4, 1, 1800);
        assert!(looks_synthetic(&fake));
        assert!(flag_if_synthetic(&mut fake));
        assert!(fake.flags.contains(SYNTHETIC_FLAG));
        assert!(looks_synthetic(&generated(5.0, 5, 400)));
        // A change of pace now and then doesn't hide it…
        let mut paused = generated(1.4, 1, 1800);
        for p in &mut paused.points[900..] {
            p.time += Duration::seconds(60);
        }
        assert!(looks_synthetic(&paused));
        // …but an irregular pace throughout is not the naive generator.
        let mut irregular = generated(1.4, 1, 1800);
        let mut noise = Noise(99);
        for p in &mut irregular.points {
            p.time += Duration::milliseconds((300.0 * noise.next()) as i64);
        }
        assert!(!looks_synthetic(&irregular));
        // Too short to tell.
        assert!(!looks_synthetic(&generated(1.4, 1, 15)));
    }

    #[test]
    fn recorded_tracks_are_not_flagged() {
        for seed in 1..20 {
            let mut walk = recorded_walk(seed, 900);
            assert!(!flag_if_synthetic(&mut walk), "seed {seed}");
            assert!(walk.flags.is_empty());
        }
        // Standing still at a perfectly regular interval is not a generator.
        let mut still = generated(0.0, 1, 100);
        assert!(!looks_synthetic(&still));
        still.points.iter_mut().for_each(|p| p.lon += 1e-9);
        assert!(!looks_synthetic(&still));
    }

    #[test]
    fn real_fixtures() {
        let files = [
            "gpx/gpxpy/cerknicko-jezero.gpx",
            "gpx/gpxpy/Mojstrovka.gpx",
            "gpx/gpxpy/around-visnjan-with-car.gpx",
            "gpx/georust-gpx/garmin-activity.gpx",
            "gpx/sports-lib/strava.gpx",
            "gpx/sports-lib/movescount.gpx",
            "gpx/sports-lib/7555261629.gpx",
            "gpx/dawarich/gpx_track_multiple_segments.gpx",
            "gpx/togeojson/run.gpx",
            "gpx/gpsbabel/mtk_logger_m241_multiple_tracks.gpx",
            "gpx/gpsbabel/tcxtest.gpx",
        ];
        let mut tracks = Vec::new();
        for file in files {
            let Some(track) = fixtures::gpx(file) else {
                return;
            };
            assert!(track.points.len() > 20, "{file}");
            assert!(!looks_synthetic(&track), "{file} flagged synthetic");
            tracks.push((file, track));
        }
        // No two different recordings are near copies of each other.
        for (i, (fa, a)) in tracks.iter().enumerate() {
            for (fb, b) in &tracks[i + 1..] {
                assert!(!is_near_copy(a, b), "{fa} ~ {fb}");
                assert_ne!(shape_fingerprint(a), shape_fingerprint(b), "{fa} = {fb}");
            }
        }
    }

    #[test]
    fn a_route_planner_export_is_synthetic() {
        // gpx.studio times the vertices of a drawn route at constant speed.
        let Some(track) = fixtures::gpx("gpx/gpx.studio/with_time.gpx") else {
            return;
        };
        assert!(looks_synthetic(&track));
    }

    #[test]
    fn the_four_cerknicko_files_are_one_track() {
        let names = [
            "gpx/gpxpy/cerknicko-jezero.gpx",
            "gpx/gpxpy/cerknicko-jezero-no-creator.gpx",
            "gpx/gpxpy/cerknicko-jezero-with-elevations-zero.gpx",
            "gpx/gpxpy/cerknicko-jezero-without-elevations.gpx",
        ];
        let mut tracks = Vec::new();
        for name in names {
            let Some(track) = fixtures::gpx(name) else {
                return;
            };
            tracks.push(track);
        }
        let fp = shape_fingerprint(&tracks[0]);
        for (name, track) in names.iter().zip(&tracks) {
            assert!(is_near_copy(track, &tracks[0]), "{name}");
            // The last file lost the time of its last point, so the reader
            // drops that point: a near copy, not an exact one.
            if !name.ends_with("without-elevations.gpx") {
                assert_eq!(shape_fingerprint(track), fp, "{name}");
            }
        }
        assert_eq!(tracks[3].points.len() + 1, tracks[0].points.len());
        // Uploaded again a year later, the copy is still caught.
        assert_eq!(
            shape_fingerprint(&shifted(&tracks[0], Duration::days(365))),
            fp
        );
    }
}
