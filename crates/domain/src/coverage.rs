//! Coverage of a reach by a track: the share of the reach's length that lies
//! within `buffer_m` (50 m by default) of the track, a number in 0..=1. It is
//! `ST_Length(ST_Intersection(reach, ST_Buffer(track, buffer_m)))` /
//! `ST_Length(reach)` on the geography, computed without building a buffer.
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use domain::{Track, TrackPoint, coverage::reach_coverage};
//! use geo::{LineString, MultiLineString};
//!
//! // A straight reach of ~1 km running east at 25.3° N…
//! let reach = MultiLineString::new(vec![LineString::from(vec![(103.10, 25.3), (103.11, 25.3)])]);
//! // …and a chief who walked its western half on the bank, ~22 m north of it.
//! let t0 = Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap();
//! let points = (0..=50)
//!     .map(|i| TrackPoint {
//!         lon: 103.10 + 1e-4 * i as f64,
//!         lat: 25.3002,
//!         ele: None,
//!         time: t0 + Duration::seconds(10 * i),
//!     })
//!     .collect();
//! let walked = reach_coverage(&reach, &Track { points, ..Track::default() }, 50.0);
//!
//! // Half the reach, plus the ~45 m beyond the last point that is still
//! // within 50 m of it (√(50² − 22.2²)).
//! assert!((walked.length_m - 1007.0).abs() < 0.1);
//! assert!((walked.covered_m - (503.5 + 44.8)).abs() < 0.1);
//! assert!((walked.coverage.get() - 0.5445).abs() < 0.0001);
//! ```
//!
//! How: the track is projected to a local plane ([`LocalPlane`], metres
//! around the track's centre) and indexed ([`TrackIndex`]: an R-tree over
//! runs of 16 consecutive segments). For each reach segment the index yields
//! the nearby track segments, and for each of those the exact parameter
//! interval of the reach segment that lies within `buffer_m` of it (the
//! capsule test: two discs and a band, each a quadratic or linear inequality
//! in the parameter). The union of the intervals is the covered fraction of
//! the reach segment. That fraction is weighted by the segment's ellipsoidal
//! length, so numerator and denominator are geodesic metres, like PostGIS'
//! `ST_Length(geography)`. Building the index is linear in the track's
//! points (plus a tree over n/16 boxes); a query costs about one tree lookup
//! per reach segment, and usually none: the track segment that covered the
//! previous piece of the reach is tried first.
//!
//! Accuracy against PostGIS: fractions of segments are taken in the plane,
//! where the only error is the projection's scale error on the 50 m radius
//! (< 1e-3 relative within 10 km of the track's centre, i.e. < 5 cm); the
//! weights are geodesic lengths. Taking fractions in a plane but lengths on
//! the ellipsoid is what PostGIS does too (`ST_Buffer`/`ST_Intersection` on
//! geography work in a local UTM or azimuthal projection, `ST_Length` is
//! geodesic). Computing the whole ratio in the plane would instead carry the
//! plane's scale error (up to ~1e-3 km away from the centre) into both
//! lengths. The remaining difference is PostGIS' buffer polygon: with the
//! default `quad_segs=8` its round caps and joins are chords up to 0.96 m
//! inside the true circle, so PostGIS reports *less* coverage wherever the
//! reach leaves the buffer through a cap or a join. Ours is the exact circle.
//!
//! Measured against PostGIS 3.3.2 on ten synthetic patrols (the benchmark's
//! 8 km reach at 1 Hz and 5 s, and eight 3–4 km reaches at 22.5–52° N):
//! `ST_Length(ST_Intersection(r, ST_Buffer(t, 50, 'quad_segs=64'))) /
//! ST_Length(r)` on geography agrees within 0.00013 of coverage (and reach
//! lengths within 0.1 mm); with the default `ST_Buffer(t, 50)` PostGIS is
//! lower by 0.0002–0.0030, most for the noisy 1 Hz track whose buffer
//! outline is almost all caps and joins. Compare with `quad_segs=64`.

use crate::track::Track;
use geo::{Coord, Distance, Geodesic, LineString, MultiLineString, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, Envelope, RTree};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A share of a reach's length, always in 0..=1.
///
/// ```
/// use domain::coverage::Coverage;
///
/// assert_eq!(Coverage::new(0.5).map(Coverage::get), Some(0.5));
/// assert!(Coverage::new(1.5).is_none() && Coverage::new(f64::NAN).is_none());
/// assert_eq!(Coverage::saturating(1.000_000_1), Coverage::FULL);
/// // It is a plain number in JSON, and out-of-range numbers are rejected.
/// assert_eq!(serde_json::to_string(&Coverage::new(0.25).unwrap()).unwrap(), "0.25");
/// assert!(serde_json::from_str::<Coverage>("-0.1").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Coverage(f64);

impl Coverage {
    pub const ZERO: Coverage = Coverage(0.0);
    pub const FULL: Coverage = Coverage(1.0);

    /// `Some` when `value` is in 0..=1 (not NaN).
    pub fn new(value: f64) -> Option<Self> {
        (0.0..=1.0).contains(&value).then_some(Self(value))
    }

    /// Clamps into 0..=1 (NaN becomes 0); for results of float arithmetic
    /// that may overshoot by a rounding error.
    pub fn saturating(value: f64) -> Self {
        if value.is_nan() {
            Self::ZERO
        } else {
            Self(value.clamp(0.0, 1.0))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// A number outside 0..=1 where a [`Coverage`] was expected.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("coverage must be a number from 0 to 1, got {0}")]
pub struct CoverageOutOfRange(pub f64);

impl TryFrom<f64> for Coverage {
    type Error = CoverageOutOfRange;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::new(value).ok_or(CoverageOutOfRange(value))
    }
}

impl From<Coverage> for f64 {
    fn from(c: Coverage) -> f64 {
        c.0
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Coverage of one reach, with the lengths it is the ratio of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReachCoverage {
    /// `covered_m / length_m`, 0 for a reach without length.
    pub coverage: Coverage,
    /// Length of the reach within the buffer, in geodesic metres.
    pub covered_m: f64,
    /// Length of the reach, in geodesic metres.
    pub length_m: f64,
}

// WGS-84 ellipsoid.
const WGS84_A: f64 = 6_378_137.0;
const WGS84_F: f64 = 1.0 / 298.257_223_563;
const WGS84_E2: f64 = WGS84_F * (2.0 - WGS84_F);

/// Metres per radian of latitude (meridional radius M) and of longitude
/// (N cos φ) at latitude `lat_deg`.
fn metres_per_radian(lat_deg: f64) -> (f64, f64) {
    let (sin, cos) = lat_deg.to_radians().sin_cos();
    let w2 = 1.0 - WGS84_E2 * sin * sin;
    let n = WGS84_A / w2.sqrt();
    let m = WGS84_A * (1.0 - WGS84_E2) / (w2 * w2.sqrt());
    (m, n * cos)
}

/// An equirectangular plane in metres around a reference point, with the
/// WGS-84 ellipsoid's scales at the reference latitude: exact at the
/// reference, scale error ≈ tan φ₀ · Δy / 6371 km east-west elsewhere
/// (≈ 9e-4 at 10 km north or south at 30° N). Meant for the 50 m buffers of
/// one township, not for maps.
///
/// ```
/// use domain::coverage::LocalPlane;
///
/// let plane = LocalPlane::new(103.1, 25.3);
/// let [x, y] = plane.project(103.101, 25.301);
/// assert!((x - 100.70).abs() < 0.01 && (y - 110.78).abs() < 0.01);
/// let (lon, lat) = plane.unproject([x, y]);
/// assert!((lon - 103.101).abs() < 1e-12 && (lat - 25.301).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalPlane {
    lon0: f64,
    lat0: f64,
    m_per_deg_lon: f64,
    m_per_deg_lat: f64,
}

impl LocalPlane {
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let (m, n_cos) = metres_per_radian(lat0);
        Self {
            lon0,
            lat0,
            m_per_deg_lon: n_cos.to_radians(),
            m_per_deg_lat: m.to_radians(),
        }
    }

    /// A plane centred on the bounding box of the positions (`None` if empty).
    pub fn around(positions: impl IntoIterator<Item = (f64, f64)>) -> Option<Self> {
        let mut it = positions.into_iter();
        let (lon, lat) = it.next()?;
        let (mut min, mut max) = ((lon, lat), (lon, lat));
        for (lon, lat) in it {
            min = (min.0.min(lon), min.1.min(lat));
            max = (max.0.max(lon), max.1.max(lat));
        }
        Some(Self::new((min.0 + max.0) / 2.0, (min.1 + max.1) / 2.0))
    }

    /// `[x, y]` in metres east and north of the reference point.
    pub fn project(&self, lon: f64, lat: f64) -> [f64; 2] {
        let mut dlon = lon - self.lon0;
        if dlon > 180.0 {
            dlon -= 360.0;
        } else if dlon < -180.0 {
            dlon += 360.0;
        }
        [
            dlon * self.m_per_deg_lon,
            (lat - self.lat0) * self.m_per_deg_lat,
        ]
    }

    /// The inverse of [`project`](Self::project).
    pub fn unproject(&self, [x, y]: [f64; 2]) -> (f64, f64) {
        (
            self.lon0 + x / self.m_per_deg_lon,
            self.lat0 + y / self.m_per_deg_lat,
        )
    }
}

/// Ellipsoidal length of a segment: from the local scales at its
/// mid-latitude when it is shorter than 1 km (the error grows with the cube
/// of the length: under 0.1 mm at 1 km, under a nanometre at the few metres
/// between GPS fixes), by Karney's algorithm (`geo::Geodesic`) when longer.
/// Karney's iteration was a tenth of an upload's CPU at one call per fix.
pub(crate) fn segment_length_m(a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (m, n_cos) = metres_per_radian((a.y + b.y) / 2.0);
    let dy = (b.y - a.y).to_radians() * m;
    let dx = (b.x - a.x).to_radians() * n_cos;
    let d = (dx * dx + dy * dy).sqrt();
    if d > 1_000.0 {
        Geodesic.distance(Point(a), Point(b))
    } else {
        d
    }
}

/// Reach segments longer than this (in the plane, or 2 × buffer if larger)
/// are queried piece by piece, so that a long straight segment does not
/// pull every track segment of a large bounding box out of the tree.
const QUERY_PIECE_M: f64 = 100.0;

/// Consecutive track segments per R-tree leaf. A walked track is locally
/// straight-ish, so a run of 16 segments has a small bounding box, and
/// building the tree over runs instead of segments is 16× less work.
const CHUNK_SEGMENTS: usize = 16;

/// A track prepared for coverage queries: projected to a [`LocalPlane`]
/// around its centre, with an R-tree over the bounding boxes of runs of
/// [`CHUNK_SEGMENTS`] consecutive segments. Build it once per track and ask
/// for as many reaches as needed.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use domain::{Track, TrackPoint, coverage::TrackIndex};
/// use geo::{LineString, MultiLineString};
///
/// let time = Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap();
/// let track = Track {
///     points: [(103.10, 25.3), (103.11, 25.3)]
///         .map(|(lon, lat)| TrackPoint { lon, lat, ele: None, time })
///         .to_vec(),
///     ..Track::default()
/// };
/// let index = TrackIndex::new(&track);
/// let near = MultiLineString::new(vec![LineString::from(vec![(103.10, 25.3001), (103.11, 25.3001)])]);
/// let far = MultiLineString::new(vec![LineString::from(vec![(103.10, 25.31), (103.11, 25.31)])]);
/// assert_eq!(index.coverage(&near, 50.0).coverage.get(), 1.0);
/// assert_eq!(index.coverage(&far, 50.0).coverage.get(), 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct TrackIndex {
    plane: LocalPlane,
    /// Projected track points; segment `i` runs from point `i` to `i + 1`
    /// (a one-point track has one degenerate segment).
    points: Vec<[f64; 2]>,
    /// Bounding boxes of runs of segments, with the run's first segment.
    chunks: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    /// Bounding box of the projected track (`None` without points).
    envelope: Option<AABB<[f64; 2]>>,
}

impl TrackIndex {
    /// Indexes a track's points in order.
    pub fn new(track: &Track) -> Self {
        let plane = LocalPlane::around(track.points.iter().map(|p| (p.lon, p.lat)));
        Self::build(plane, track.points.iter().map(|p| (p.lon, p.lat)))
    }

    /// Indexes a lon/lat line.
    pub fn from_line_string(line: &LineString<f64>) -> Self {
        let plane = LocalPlane::around(line.coords().map(|c| (c.x, c.y)));
        Self::build(plane, line.coords().map(|c| (c.x, c.y)))
    }

    fn build(plane: Option<LocalPlane>, positions: impl Iterator<Item = (f64, f64)>) -> Self {
        let plane = plane.unwrap_or(LocalPlane::new(0.0, 0.0));
        let points: Vec<[f64; 2]> = positions
            .map(|(lon, lat)| plane.project(lon, lat))
            .collect();
        let segment_count = points
            .len()
            .saturating_sub(1)
            .max(usize::from(!points.is_empty()));
        let chunks = (0..segment_count)
            .step_by(CHUNK_SEGMENTS)
            .map(|first| {
                let last_point = (first + CHUNK_SEGMENTS).min(points.len() - 1);
                let run = &points[first..=last_point];
                let (lo, hi) = run.iter().fold((run[0], run[0]), |(lo, hi), p| {
                    (
                        [lo[0].min(p[0]), lo[1].min(p[1])],
                        [hi[0].max(p[0]), hi[1].max(p[1])],
                    )
                });
                GeomWithData::new(Rectangle::from_corners(lo, hi), first)
            })
            .collect();
        let envelope = (!points.is_empty()).then(|| AABB::from_points(&points));
        Self {
            plane,
            chunks: RTree::bulk_load(chunks),
            points,
            envelope,
        }
    }

    /// The plane the track was projected to.
    pub fn plane(&self) -> &LocalPlane {
        &self.plane
    }

    fn segment_count(&self) -> usize {
        self.points
            .len()
            .saturating_sub(1)
            .max(usize::from(!self.points.is_empty()))
    }

    fn segment(&self, i: usize) -> ([f64; 2], [f64; 2]) {
        (
            self.points[i],
            self.points[(i + 1).min(self.points.len() - 1)],
        )
    }

    /// Coverage of `reach` (lon/lat) by this track with a buffer of
    /// `buffer_m` metres (negative counts as 0).
    pub fn coverage(&self, reach: &MultiLineString<f64>, buffer_m: f64) -> ReachCoverage {
        let r = buffer_m.max(0.0);
        let track_envelope = self.envelope.map(|e| {
            AABB::from_corners(
                [e.lower()[0] - r, e.lower()[1] - r],
                [e.upper()[0] + r, e.upper()[1] + r],
            )
        });
        let mut query = Query {
            r,
            scratch: Vec::new(),
            hint: 0,
        };
        let (mut length_m, mut covered_m) = (0.0, 0.0);
        for line in reach {
            for segment in line.lines() {
                let seg_m = segment_length_m(segment.start, segment.end);
                if seg_m == 0.0 {
                    continue;
                }
                length_m += seg_m;
                let Some(track_envelope) = &track_envelope else {
                    continue;
                };
                let a = self.plane.project(segment.start.x, segment.start.y);
                let b = self.plane.project(segment.end.x, segment.end.y);
                if !AABB::from_corners(a, b).intersects(track_envelope) {
                    continue;
                }
                let pieces = (dist(a, b) / QUERY_PIECE_M.max(2.0 * r)).ceil().max(1.0);
                let mut fraction = 0.0;
                for k in 0..pieces as usize {
                    let (t0, t1) = (k as f64 / pieces, (k + 1) as f64 / pieces);
                    fraction += self.covered_fraction(lerp(a, b, t0), lerp(a, b, t1), &mut query);
                }
                covered_m += seg_m * fraction / pieces;
            }
        }
        let coverage = if length_m > 0.0 {
            Coverage::saturating(covered_m / length_m)
        } else {
            Coverage::ZERO
        };
        ReachCoverage {
            coverage,
            covered_m: covered_m.min(length_m),
            length_m,
        }
    }

    /// Share of the plane segment `a`–`b` within `query.r` of the track.
    fn covered_fraction(&self, a: [f64; 2], b: [f64; 2], query: &mut Query) -> f64 {
        let u = sub(b, a);
        let uu = dot(u, u);
        if uu == 0.0 {
            return 0.0;
        }
        let r = query.r;
        // A patrol walks along the reach, so a track segment a little after
        // the one that covered the previous piece of the reach usually covers
        // this piece too: a dozen capsule tests are much cheaper than a tree
        // query. Patrols walking against the reach's direction are helped by
        // the backward offsets.
        let n = self.segment_count();
        for offset in HINT_OFFSETS {
            let Some(j) = query.hint.checked_add_signed(offset).filter(|&j| j < n) else {
                continue;
            };
            let (c, d) = self.segment(j);
            if let Some((lo, hi)) = capsule_interval(a, u, uu, c, d, r)
                && lo <= 0.0
                && hi >= 1.0
            {
                query.hint = j;
                return 1.0;
            }
        }

        let (lo_q, hi_q) = (
            [a[0].min(b[0]) - r, a[1].min(b[1]) - r],
            [a[0].max(b[0]) + r, a[1].max(b[1]) + r],
        );
        let r_u = r * uu.sqrt();
        query.scratch.clear();
        for chunk in self
            .chunks
            .locate_in_envelope_intersecting(&AABB::from_corners(lo_q, hi_q))
        {
            let first = chunk.data;
            for j in first..(first + CHUNK_SEGMENTS).min(n) {
                let (c, d) = self.segment(j);
                let outside = c[0].max(d[0]) < lo_q[0]
                    || c[0].min(d[0]) > hi_q[0]
                    || c[1].max(d[1]) < lo_q[1]
                    || c[1].min(d[1]) > hi_q[1];
                // Both ends further than r from the reach piece's line, on
                // the same side: the capsule cannot reach the piece.
                let (sc, sd) = (cross(u, sub(c, a)), cross(u, sub(d, a)));
                if outside || (sc > r_u && sd > r_u) || (sc < -r_u && sd < -r_u) {
                    continue;
                }
                if let Some((lo, hi)) = capsule_interval(a, u, uu, c, d, r) {
                    if lo <= 0.0 && hi >= 1.0 {
                        query.hint = j;
                        return 1.0;
                    }
                    query.scratch.push((lo, hi));
                    query.hint = j;
                }
            }
        }
        union_length(&mut query.scratch)
    }
}

/// Track segments tried first, relative to the last one that touched the
/// reach (see `covered_fraction`).
const HINT_OFFSETS: [isize; 12] = [0, 2, 4, 8, 12, 16, 24, 32, -4, -8, -16, -32];

/// State carried along one reach: the buffer, a reusable interval buffer,
/// and the last track segment that touched the reach.
struct Query {
    r: f64,
    scratch: Vec<(f64, f64)>,
    hint: usize,
}

/// Coverage of one reach by one track, buffer in metres (the rule's
/// `buffer_m`, 50 by default). See the [module docs](self).
pub fn reach_coverage(reach: &MultiLineString<f64>, track: &Track, buffer_m: f64) -> ReachCoverage {
    TrackIndex::new(track).coverage(reach, buffer_m)
}

/// Coverage of several reaches by one track, indexing the track once.
/// Results are in the order of `reaches`.
pub fn reach_coverages<'a>(
    reaches: impl IntoIterator<Item = &'a MultiLineString<f64>>,
    track: &Track,
    buffer_m: f64,
) -> Vec<ReachCoverage> {
    let index = TrackIndex::new(track);
    reaches
        .into_iter()
        .map(|reach| index.coverage(reach, buffer_m))
        .collect()
}

/// The reference computation, slow on purpose: the reach is cut into pieces
/// of at most `step_m` metres, and a piece counts as covered when its
/// midpoint is within `buffer_m` of any track segment (every segment is
/// tried). Its error is at most one piece per place where the reach enters or
/// leaves the buffer. For tests and as the benchmark's baseline.
pub fn reach_coverage_sampled(
    reach: &MultiLineString<f64>,
    track: &Track,
    buffer_m: f64,
    step_m: f64,
) -> ReachCoverage {
    let plane = LocalPlane::around(track.points.iter().map(|p| (p.lon, p.lat)))
        .unwrap_or(LocalPlane::new(0.0, 0.0));
    let pts: Vec<[f64; 2]> = track
        .points
        .iter()
        .map(|p| plane.project(p.lon, p.lat))
        .collect();
    let segments: Vec<([f64; 2], [f64; 2])> = match pts.as_slice() {
        [] => Vec::new(),
        [only] => vec![(*only, *only)],
        many => many.windows(2).map(|w| (w[0], w[1])).collect(),
    };
    let r2 = buffer_m.max(0.0).powi(2);
    let (mut length_m, mut covered_m) = (0.0, 0.0);
    for line in reach {
        for segment in line.lines() {
            let seg_m = segment_length_m(segment.start, segment.end);
            length_m += seg_m;
            let a = plane.project(segment.start.x, segment.start.y);
            let b = plane.project(segment.end.x, segment.end.y);
            let n = (dist(a, b) / step_m).ceil().max(1.0);
            for k in 0..n as usize {
                let p = lerp(a, b, (k as f64 + 0.5) / n);
                if segments
                    .iter()
                    .any(|&(c, d)| point_segment_dist2(p, c, d) <= r2)
                {
                    covered_m += seg_m / n;
                }
            }
        }
    }
    let coverage = if length_m > 0.0 {
        Coverage::saturating(covered_m / length_m)
    } else {
        Coverage::ZERO
    };
    ReachCoverage {
        coverage,
        covered_m,
        length_m,
    }
}

/// The parameters `t ∈ [0, 1]` for which `a + t·u` lies within `r` of the
/// segment `c`–`d`, as one interval (the set is convex: distance to a
/// segment is a convex function along a line). It is the union of three
/// simpler sets: within `r` of `c`, within `r` of `d`, and in the band of
/// half-width `r` along `c`–`d` between the perpendiculars at its ends.
fn capsule_interval(
    a: [f64; 2],
    u: [f64; 2],
    uu: f64,
    c: [f64; 2],
    d: [f64; 2],
    r: f64,
) -> Option<(f64, f64)> {
    let r2 = r * r;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut disc = |p: [f64; 2]| {
        // |p + t·u|² ≤ r²  ⇔  uu·t² + 2(p·u)·t + (p·p − r²) ≤ 0
        let half_b = dot(p, u);
        let discriminant = half_b * half_b - uu * (dot(p, p) - r2);
        if discriminant >= 0.0 {
            let s = discriminant.sqrt();
            lo = lo.min((-half_b - s) / uu);
            hi = hi.max((-half_b + s) / uu);
        }
    };
    let ac = sub(a, c);
    disc(ac);
    let w = sub(d, c);
    let ww = dot(w, w);
    if ww > 0.0 {
        disc(sub(a, d));
        // Along: 0 ≤ (ac + t·u)·w ≤ |w|²; across: |w × (ac + t·u)| ≤ r·|w|.
        let rw = r * ww.sqrt();
        if let (Some(along), Some(across)) = (
            linear_range(dot(ac, w), dot(u, w), 0.0, ww),
            linear_range(cross(w, ac), cross(w, u), -rw, rw),
        ) {
            let (l, h) = (along.0.max(across.0), along.1.min(across.1));
            if l <= h {
                lo = lo.min(l);
                hi = hi.max(h);
            }
        }
    }
    let (lo, hi) = (lo.max(0.0), hi.min(1.0));
    (lo < hi).then_some((lo, hi))
}

/// `{t : lo ≤ f0 + t·fu ≤ hi}`.
fn linear_range(f0: f64, fu: f64, lo: f64, hi: f64) -> Option<(f64, f64)> {
    if fu == 0.0 {
        return (lo <= f0 && f0 <= hi).then_some((f64::NEG_INFINITY, f64::INFINITY));
    }
    let (t1, t2) = ((lo - f0) / fu, (hi - f0) / fu);
    Some((t1.min(t2), t1.max(t2)))
}

/// Total length of the union of intervals (sorts them in place).
fn union_length(intervals: &mut [(f64, f64)]) -> f64 {
    intervals.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for &(lo, hi) in intervals.iter() {
        match current {
            Some((cl, ch)) if lo <= ch => current = Some((cl, ch.max(hi))),
            _ => {
                if let Some((cl, ch)) = current {
                    total += ch - cl;
                }
                current = Some((lo, hi));
            }
        }
    }
    if let Some((cl, ch)) = current {
        total += ch - cl;
    }
    total.min(1.0)
}

fn point_segment_dist2(p: [f64; 2], c: [f64; 2], d: [f64; 2]) -> f64 {
    let w = sub(d, c);
    let ww = dot(w, w);
    let t = if ww > 0.0 {
        (dot(sub(p, c), w) / ww).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let q = lerp(c, d, t);
    dot(sub(p, q), sub(p, q))
}

fn sub(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn dot(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

fn cross(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[1] - a[1] * b[0]
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    dot(sub(a, b), sub(a, b)).sqrt()
}

fn lerp(a: [f64; 2], b: [f64; 2], t: f64) -> [f64; 2] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::track::TrackPoint;
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use geo::Length;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap()
    }

    /// A track through `positions`, one a second from 2026-07-06 09:00 CST.
    pub(crate) fn track_of(positions: &[(f64, f64)]) -> Track {
        Track {
            points: positions
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
        }
    }

    fn mls(positions: &[(f64, f64)]) -> MultiLineString<f64> {
        MultiLineString::new(vec![LineString::from(positions.to_vec())])
    }

    /// Positions from metre offsets around the demo town.
    fn from_metres(xy: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let plane = LocalPlane::new(103.1, 25.3);
        xy.iter().map(|&(x, y)| plane.unproject([x, y])).collect()
    }

    #[test]
    fn capsule_interval_cases() {
        // Reach along x from 0 to 100; track segment from (40, 30) to (60, 30), r = 50:
        // covered where within 50 of the segment: x in [0, 100] ∩ [40 − 40, 60 + 40].
        let got = capsule_interval(
            [0.0, 0.0],
            [100.0, 0.0],
            1e4,
            [40.0, 30.0],
            [60.0, 30.0],
            50.0,
        )
        .unwrap();
        assert!(
            (got.0 - 0.0).abs() < 1e-12 && (got.1 - 1.0).abs() < 1e-12,
            "{got:?}"
        );
        let got = capsule_interval(
            [0.0, 0.0],
            [200.0, 0.0],
            4e4,
            [90.0, 30.0],
            [110.0, 30.0],
            50.0,
        )
        .unwrap();
        assert!(
            (got.0 - 50.0 / 200.0).abs() < 1e-12 && (got.1 - 150.0 / 200.0).abs() < 1e-12,
            "{got:?}"
        );
        // Perpendicular crossing: the band gives ±50 around the crossing.
        let got = capsule_interval(
            [0.0, 0.0],
            [200.0, 0.0],
            4e4,
            [100.0, -500.0],
            [100.0, 500.0],
            50.0,
        )
        .unwrap();
        assert!(
            (got.0 - 0.25).abs() < 1e-12 && (got.1 - 0.75).abs() < 1e-12,
            "{got:?}"
        );
        // Degenerate track segment (one point) is a disc.
        let got = capsule_interval(
            [0.0, 0.0],
            [200.0, 0.0],
            4e4,
            [100.0, 30.0],
            [100.0, 30.0],
            50.0,
        )
        .unwrap();
        assert!(
            (got.0 - 0.3).abs() < 1e-12 && (got.1 - 0.7).abs() < 1e-12,
            "{got:?}"
        );
        // Too far.
        assert!(
            capsule_interval(
                [0.0, 0.0],
                [200.0, 0.0],
                4e4,
                [0.0, 51.0],
                [200.0, 51.0],
                50.0
            )
            .is_none()
        );
    }

    #[test]
    fn union_of_intervals() {
        let mut v = vec![(0.5, 0.7), (0.1, 0.2), (0.15, 0.3), (0.6, 0.65)];
        assert!((union_length(&mut v) - 0.4).abs() < 1e-12);
        assert_eq!(union_length(&mut []), 0.0);
    }

    #[test]
    fn short_segments_agree_with_karney_to_within_his_precision() {
        let mut seed = 0x5EED_u64;
        let mut unit = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1_000_001) as f64 / 1_000_000.0
        };
        for _ in 0..20_000 {
            let a = (unit() * 360.0 - 180.0, unit() * 160.0 - 80.0);
            // Steps from a centimetre to 1 km, any direction; Karney's
            // algorithm itself is good to about 15 nm.
            let step_deg = 10f64.powf(unit() * 5.0 - 7.0);
            let b = (
                a.0 + (unit() - 0.5) * step_deg,
                a.1 + (unit() - 0.5) * step_deg,
            );
            let ours = segment_length_m(a.into(), b.into());
            let geodesic = Geodesic.distance(Point::from(a), Point::from(b));
            assert!(
                (ours - geodesic).abs() <= 1e-8 + 1e-9 * geodesic + 1e-4 * (geodesic / 1e3).powi(3),
                "{a:?}-{b:?}: {ours} vs {geodesic}"
            );
        }
    }

    #[test]
    fn segment_length_matches_geodesic() {
        for (a, b) in [
            ((103.1, 25.3), (103.1003, 25.3002)),
            ((103.1, 25.3), (103.15, 25.33)),
            ((121.4, 53.0), (121.45, 53.0)),
            ((80.0, 18.0), (80.0, 18.09)),
        ] {
            let ours = segment_length_m(a.into(), b.into());
            let geodesic = Geodesic.distance(Point::from(a), Point::from(b));
            assert!(
                (ours - geodesic).abs() < 1e-3,
                "{a:?}-{b:?}: {ours} vs {geodesic}"
            );
        }
    }

    #[test]
    fn reach_length_is_geodesic() {
        let reach = mls(&[
            (103.1, 25.3),
            (103.103, 25.302),
            (103.104, 25.305),
            (103.11, 25.31),
        ]);
        let got = reach_coverage(&reach, &track_of(&[(103.1, 25.3)]), 50.0);
        let expected = Geodesic.length(&reach);
        assert!((got.length_m - expected).abs() < 1e-3);
    }

    #[test]
    fn empty_inputs() {
        let reach = mls(&[(103.1, 25.3), (103.11, 25.3)]);
        let none = reach_coverage(&reach, &Track::default(), 50.0);
        assert_eq!(none.coverage, Coverage::ZERO);
        assert!(none.length_m > 1000.0);
        let empty_reach = reach_coverage(
            &MultiLineString::new(vec![]),
            &track_of(&[(103.1, 25.3)]),
            50.0,
        );
        assert_eq!(
            (empty_reach.coverage, empty_reach.length_m),
            (Coverage::ZERO, 0.0)
        );
    }

    #[test]
    fn single_point_track_covers_a_disc() {
        let reach = mls(&from_metres(&[(-500.0, 0.0), (500.0, 0.0)]));
        let track = track_of(&from_metres(&[(0.0, 30.0)]));
        let got = reach_coverage(&reach, &track, 50.0);
        assert!((got.covered_m - 80.0).abs() < 0.05, "{got:?}");
    }

    #[test]
    fn long_straight_reach_segments_are_split_for_queries() {
        // One 5 km reach segment; the track covers 1 km in its middle.
        let reach = mls(&from_metres(&[(-2500.0, 0.0), (2500.0, 0.0)]));
        let walk: Vec<(f64, f64)> = (0..=100)
            .map(|i| (-500.0 + 10.0 * i as f64, 20.0))
            .collect();
        let got = reach_coverage(&reach, &track_of(&from_metres(&walk)), 50.0);
        let cap = (50.0f64 * 50.0 - 20.0 * 20.0).sqrt();
        assert!(
            (got.covered_m - (1000.0 + 2.0 * cap)).abs() < 0.1,
            "{got:?}"
        );
    }

    #[test]
    fn several_reaches_at_once() {
        let near = mls(&from_metres(&[(0.0, 0.0), (1000.0, 0.0)]));
        let half = mls(&from_metres(&[(500.0, 10.0), (1500.0, 10.0)]));
        let far = mls(&from_metres(&[(0.0, 5000.0), (1000.0, 5000.0)]));
        let walk: Vec<(f64, f64)> = (0..=100).map(|i| (10.0 * i as f64, 5.0)).collect();
        let track = track_of(&from_metres(&walk));
        let got = reach_coverages([&near, &half, &far], &track, 50.0);
        assert_eq!(got.len(), 3);
        assert!((got[0].coverage.get() - 1.0).abs() < 1e-9);
        let half_expected = (500.0 + (50.0f64.powi(2) - 25.0).sqrt()) / 1000.0;
        assert!(
            (got[1].coverage.get() - half_expected).abs() < 1e-3,
            "{:?}",
            got[1]
        );
        assert_eq!(got[2].coverage, Coverage::ZERO);
        for (one, many) in [&near, &half, &far].iter().zip(&got) {
            assert_eq!(reach_coverage(one, &track, 50.0), *many);
        }
    }

    #[test]
    fn multilinestring_parts_add_up() {
        let a = from_metres(&[(0.0, 0.0), (1000.0, 0.0)]);
        let b = from_metres(&[(0.0, 3000.0), (1000.0, 3000.0)]);
        let (a, b) = (LineString::from(a), LineString::from(b));
        let (a_m, b_m) = (Geodesic.length(&a), Geodesic.length(&b));
        let reach = MultiLineString::new(vec![a, b]);
        let walk: Vec<(f64, f64)> = (0..=100).map(|i| (10.0 * i as f64, 0.0)).collect();
        let got = reach_coverage(&reach, &track_of(&from_metres(&walk)), 50.0);
        // (3 km further north, 1000 plane metres are 0.2 m shorter on the ground.)
        assert!((got.length_m - (a_m + b_m)).abs() < 1e-3, "{got:?}");
        assert!((got.covered_m - a_m).abs() < 1e-3, "{got:?}");
    }

    /// A random polyline in metres: a walk of `steps` (length, turn) pairs.
    fn polyline(start: (f64, f64), heading: f64, steps: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let mut out = vec![start];
        let (mut x, mut y, mut h) = (start.0, start.1, heading);
        for &(len, turn) in steps {
            h += turn;
            x += len * h.cos();
            y += len * h.sin();
            out.push((x, y));
        }
        out
    }

    fn walk_strategy(max_steps: usize) -> impl Strategy<Value = Vec<(f64, f64)>> {
        prop::collection::vec((1.0f64..80.0, -0.8f64..0.8), 1..max_steps)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn in_unit_range_and_monotone_in_buffer(
            reach_steps in walk_strategy(40),
            track_steps in walk_strategy(120),
            offset in (-300.0f64..300.0, -300.0f64..300.0),
            heading in 0.0f64..6.3,
        ) {
            let reach = mls(&from_metres(&polyline((0.0, 0.0), 0.3, &reach_steps)));
            let track = track_of(&from_metres(&polyline(offset, heading, &track_steps)));
            let index = TrackIndex::new(&track);
            let mut previous = 0.0;
            for buffer_m in [0.0, 5.0, 20.0, 50.0, 100.0, 400.0] {
                let got = index.coverage(&reach, buffer_m);
                let c = got.coverage.get();
                prop_assert!((0.0..=1.0).contains(&c));
                prop_assert!(got.covered_m <= got.length_m);
                prop_assert!(c >= previous - 1e-9, "buffer {buffer_m}: {c} < {previous}");
                previous = c;
            }
        }

        #[test]
        fn agrees_with_dense_sampling(
            reach_steps in walk_strategy(30),
            track_steps in walk_strategy(80),
            offset in (-100.0f64..100.0, -100.0f64..100.0),
            heading in 0.0f64..6.3,
        ) {
            let reach = mls(&from_metres(&polyline((0.0, 0.0), 0.3, &reach_steps)));
            let track = track_of(&from_metres(&polyline(offset, heading, &track_steps)));
            let exact = reach_coverage(&reach, &track, 50.0);
            let sampled = reach_coverage_sampled(&reach, &track, 50.0, 0.25);
            // Each boundary crossing can cost the sampler one 0.25 m piece.
            let crossings = 2.0 * (track_steps.len() + reach_steps.len() + 2) as f64;
            prop_assert!(
                (exact.covered_m - sampled.covered_m).abs() <= 0.25 * crossings + 1e-6,
                "exact {exact:?} sampled {sampled:?}"
            );
        }

        #[test]
        fn track_on_the_reach_covers_it(reach_steps in walk_strategy(60)) {
            let positions = from_metres(&polyline((0.0, 0.0), 1.0, &reach_steps));
            let got = reach_coverage(&mls(&positions), &track_of(&positions), 50.0);
            prop_assert!((got.coverage.get() - 1.0).abs() < 1e-9, "{got:?}");
        }

        #[test]
        fn track_200_m_away_covers_nothing(
            reach_steps in walk_strategy(30),
            track_steps in walk_strategy(60),
            side in 0usize..4,
        ) {
            let reach_xy = polyline((0.0, 0.0), 0.3, &reach_steps);
            let track_xy = polyline((0.0, 0.0), 2.0, &track_steps);
            // Put the track's bounding box 200 m beyond the reach's on one side.
            let bbox = |xy: &[(f64, f64)]| xy.iter().fold(
                (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
                |b, &(x, y)| (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y)),
            );
            let (r, t) = (bbox(&reach_xy), bbox(&track_xy));
            let (dx, dy) = match side {
                0 => (r.2 + 200.0 - t.0, 0.0),
                1 => (r.0 - 200.0 - t.2, 0.0),
                2 => (0.0, r.3 + 200.0 - t.1),
                _ => (0.0, r.1 - 200.0 - t.3),
            };
            let moved: Vec<(f64, f64)> = track_xy.iter().map(|&(x, y)| (x + dx, y + dy)).collect();
            let got = reach_coverage(&mls(&from_metres(&reach_xy)), &track_of(&from_metres(&moved)), 50.0);
            prop_assert_eq!(got.coverage, Coverage::ZERO);
        }
    }
}
