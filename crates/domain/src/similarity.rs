//! Anti-cheat: is a track a copy of an earlier patrol, or made up?
//!
//! - A **replay** repeats the positions of an earlier track (any chief's),
//!   possibly with every timestamp shifted, thinned out or reversed. Exact and
//!   time-shifted copies share a [`shape_fingerprint`], which the store can
//!   index and look up by equality. Edited copies (points dropped, a few moved
//!   or added) are found by [`is_near_copy`], which the store applies to the
//!   earlier patrols whose [boxes](NearCopyBoxes) allow it, through a
//!   [`NearCopyIndex`] of the new track built once per upload.
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
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

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
    if a_positions.is_empty() {
        return 0.0;
    }
    let Some(grid) = PositionGrid::new(&distinct_positions(b), radius_m) else {
        return 0.0;
    };
    let near = a_positions
        .iter()
        .filter(|&&(lon, lat)| grid.any_near(lon, lat))
        .count();
    near as f64 / a_positions.len() as f64
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
    NearCopyIndex::new(a).is_near_copy_of(b)
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

/// One track's distinct positions indexed once, to ask of many other tracks
/// whether they and it are near copies ([`is_near_copy`]). The upload's
/// duplicate check builds one for the new track and compares it with each
/// earlier candidate in one pass over the candidate's points, instead of
/// building a grid of each candidate (and of the new track again) per pair.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use domain::{Track, TrackPoint, similarity::NearCopyIndex};
///
/// let t0 = Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap();
/// let walk = |start, lat_offset| Track {
///     points: (0..300)
///         .map(|i| TrackPoint {
///             lon: 103.1 + 1.3e-5 * i as f64,
///             lat: 25.3 + lat_offset + 2e-4 * (i as f64 / 40.0).sin(),
///             ele: None,
///             time: start + Duration::seconds(i),
///         })
///         .collect(),
///     ..Track::default()
/// };
/// let new = NearCopyIndex::new(&walk(t0 + Duration::days(1), 0.0));
/// assert!(new.is_near_copy_of(&walk(t0, 0.0)));
/// // 5 m further north all along: not the same points.
/// assert!(!new.is_near_copy_of(&walk(t0, 4.5e-5)));
/// ```
pub struct NearCopyIndex {
    /// `None` when the track has fewer than [`NEAR_COPY_MIN_POINTS`]
    /// distinct positions: it is nobody's near copy.
    grid: Option<PositionGrid>,
    /// The most indexed positions one point of another track can be near:
    /// all of them lie within twice the radius of each other, so at most
    /// the largest number of indexed positions within twice the radius of
    /// one of them. Bounds how far the comparison can still get, to stop
    /// it as soon as neither direction can reach its share. Worked out the
    /// first time the exact comparison needs it: most uploads never do.
    most_near_one_point: OnceLock<usize>,
}

/// How many positions of the other track are compared between two checks
/// of whether the verdict is already known.
const NEAR_COPY_CHECK_EVERY: usize = 64;

impl NearCopyIndex {
    pub fn new(track: &Track) -> Self {
        let positions = distinct_positions(track);
        let grid = if positions.len() < NEAR_COPY_MIN_POINTS {
            None
        } else {
            PositionGrid::new(&positions, NEAR_COPY_RADIUS_M)
        };
        Self {
            grid,
            most_near_one_point: OnceLock::new(),
        }
    }

    /// [`is_near_copy`] of the indexed track and `other`, decided as
    /// [`is_near_copy_of_positions`](Self::is_near_copy_of_positions) says.
    /// Distances are measured on one local plane around the indexed track
    /// (the pairwise test projects on a plane around either track; the two
    /// differ by micrometres over a few kilometres).
    pub fn is_near_copy_of(&self, other: &Track) -> bool {
        self.is_near_copy_of_positions(other.points.iter().map(|p| (p.lon, p.lat)))
    }

    /// [`is_near_copy_of`](Self::is_near_copy_of) for positions
    /// `(lon, lat)` in track order (such as
    /// [`packed_positions::positions`](crate::packed_positions::positions)).
    ///
    /// Most candidates are independent walks of the same path, and two
    /// cheap passes settle them: the other track's share fails after a
    /// tenth or so of its points ([`Self::other_share`]), and an occupancy
    /// map of its points proves more than a tenth of ours far from all of
    /// them ([`Self::own_share_cannot_reach`]). Only what they leave open
    /// gets the exact comparison of every point ([`Self::compare_all`]).
    pub fn is_near_copy_of_positions(
        &self,
        positions: impl ExactSizeIterator<Item = (f64, f64)> + Clone,
    ) -> bool {
        let Some(grid) = &self.grid else {
            return false;
        };
        match self.other_share(grid, positions.clone()) {
            OtherShare::Reached => true,
            OtherShare::TooFewPoints => false,
            OtherShare::Failed if self.own_share_cannot_reach(grid, positions.clone()) => false,
            OtherShare::Failed => self.compare_all(grid, positions),
        }
    }

    /// Whether at least [`NEAR_COPY_MIN_SHARE`] of the other track's
    /// distinct positions lie near ours; stops as soon as they cannot.
    fn other_share(
        &self,
        grid: &PositionGrid,
        positions: impl ExactSizeIterator<Item = (f64, f64)>,
    ) -> OtherShare {
        let total = positions.len();
        let (mut near, mut far) = (0usize, 0usize);
        let mut last = None;
        for (k, position) in positions.enumerate() {
            if k % NEAR_COPY_CHECK_EVERY == 0 {
                let left = total - k;
                if !share_reached(near + left, near + left + far) {
                    return OtherShare::Failed;
                }
            }
            if last == Some(position) {
                continue;
            }
            last = Some(position);
            if grid.any_near(position.0, position.1) {
                near += 1;
            } else {
                far += 1;
            }
        }
        if near + far < NEAR_COPY_MIN_POINTS {
            OtherShare::TooFewPoints
        } else if share_reached(near, near + far) {
            OtherShare::Reached
        } else {
            OtherShare::Failed
        }
    }

    /// True if more than a tenth of our positions have none of the other
    /// track's points within the radius, so our share cannot reach
    /// [`NEAR_COPY_MIN_SHARE`]. The other's points are marked in a bitmap
    /// of half-metre cells (hashed: a collision only makes a cell look
    /// occupied); a position none of whose cells within the radius is
    /// occupied is far from them all. False means "not proven", not "near".
    fn own_share_cannot_reach(
        &self,
        grid: &PositionGrid,
        positions: impl ExactSizeIterator<Item = (f64, f64)>,
    ) -> bool {
        let own = grid.len();
        // 64 bits per point: about one cell in 64 looks occupied by mistake.
        let bits = (positions.len().max(1) * 64).next_power_of_two();
        let shift = 64 - bits.trailing_zeros();
        let mut occupied = vec![0u64; bits / 64];
        for (lon, lat) in positions {
            let [x, y] = grid.plane.project(lon, lat);
            let bit = occupancy_hash(floor_i64(x * 2.0), floor_i64(y * 2.0)) >> shift;
            occupied[(bit / 64) as usize] |= 1 << (bit % 64);
        }
        let is_occupied = |cx: i64, cy: i64| {
            let bit = occupancy_hash(cx, cy) >> shift;
            occupied[(bit / 64) as usize] & (1 << (bit % 64)) != 0
        };
        let reach = grid.radius_m + 1e-6;
        let mut far = 0;
        for &[x, y] in &grid.xy {
            let near_possible =
                (floor_i64((x - reach) * 2.0)..=floor_i64((x + reach) * 2.0)).any(|cx| {
                    (floor_i64((y - reach) * 2.0)..=floor_i64((y + reach) * 2.0))
                        .any(|cy| is_occupied(cx, cy))
                });
            if !near_possible {
                far += 1;
                if !share_reached(own - far, own) {
                    return true;
                }
            }
        }
        false
    }

    /// The exact comparison: one pass over the other track's distinct
    /// positions, each near ours or not, marking ours near it. Stops early
    /// once neither share can be reached.
    fn compare_all(
        &self,
        grid: &PositionGrid,
        positions: impl ExactSizeIterator<Item = (f64, f64)>,
    ) -> bool {
        let own = grid.len();
        let total = positions.len();
        let most_near_one_point = *self
            .most_near_one_point
            .get_or_init(|| grid.most_within_diameter());
        let mut marked = vec![false; own];
        let (mut own_near, mut other_near, mut other_far) = (0usize, 0usize, 0usize);
        let mut last = None;
        for (k, position) in positions.enumerate() {
            if k % NEAR_COPY_CHECK_EVERY == 0 {
                let left = total - k;
                let own_can = share_reached(
                    own.min(own_near.saturating_add(left.saturating_mul(most_near_one_point))),
                    own,
                );
                let other_can = share_reached(other_near + left, other_near + left + other_far);
                if !own_can && !other_can {
                    return false;
                }
            }
            if last == Some(position) {
                continue;
            }
            last = Some(position);
            let mut hit = false;
            grid.for_each_near(position.0, position.1, |i| {
                hit = true;
                if !marked[i] {
                    marked[i] = true;
                    own_near += 1;
                }
            });
            if hit {
                other_near += 1;
            } else {
                other_far += 1;
            }
        }
        let other_len = other_near + other_far;
        other_len >= NEAR_COPY_MIN_POINTS
            && (share_reached(own_near, own) || share_reached(other_near, other_len))
    }
}

/// What [`NearCopyIndex::other_share`] found.
enum OtherShare {
    Reached,
    Failed,
    /// Fewer than [`NEAR_COPY_MIN_POINTS`] distinct positions: never a copy.
    TooFewPoints,
}

/// A multiplicative hash of a half-metre cell, whose top bits pick its bit
/// in the occupancy bitmap: neighbouring cells spread over the bitmap.
fn occupancy_hash(cx: i64, cy: i64) -> u64 {
    (cx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (cy as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
}

fn share_reached(near: usize, total: usize) -> bool {
    near as f64 / total as f64 >= NEAR_COPY_MIN_SHARE
}

/// A longitude/latitude box, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLatBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl LonLatBox {
    /// `(lon, lat)` degrees that are at least [`NEAR_COPY_BOX_MARGIN_M`]
    /// on the ground anywhere in (and just around) the box.
    pub fn margin_deg(&self) -> (f64, f64) {
        // Metres per degree are at least 110,574 north-south and
        // 111,319·cos(lat) east-west on the ellipsoid; round both down.
        let lat = self.min_lat.abs().max(self.max_lat.abs()).min(89.0) + 0.1;
        (
            NEAR_COPY_BOX_MARGIN_M / (111_000.0 * lat.to_radians().cos().max(1e-3)),
            NEAR_COPY_BOX_MARGIN_M / 110_000.0,
        )
    }

    fn within(&self, outer: &LonLatBox, (dlon, dlat): (f64, f64)) -> bool {
        self.min_lon >= outer.min_lon - dlon
            && self.min_lat >= outer.min_lat - dlat
            && self.max_lon <= outer.max_lon + dlon
            && self.max_lat <= outer.max_lat + dlat
    }
}

/// Ground distance (metres) by which boxes may stick out of each other and
/// still be near copies: [`NEAR_COPY_RADIUS_M`] with room to spare for
/// rounding.
pub const NEAR_COPY_BOX_MARGIN_M: f64 = 1.0;

/// The two boxes of a track by which a store can pick near-copy candidates
/// with an index, before comparing points ([`boxes_may_be_near_copies`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearCopyBoxes {
    /// The box of all positions.
    pub bbox: LonLatBox,
    /// The box of the distinct positions (as [`is_near_copy`] counts them)
    /// without the `n / 10 + 1` most extreme on each side (west, south,
    /// east, north; `n` distinct positions); `None` below
    /// [`NEAR_COPY_MIN_POINTS`] distinct positions (never a near copy).
    pub core: Option<LonLatBox>,
}

impl NearCopyBoxes {
    /// `None` for a track without points.
    pub fn of(track: &Track) -> Option<Self> {
        let positions = distinct_positions(track);
        let first = positions.first()?;
        let bbox = positions.iter().fold(
            LonLatBox {
                min_lon: first.0,
                min_lat: first.1,
                max_lon: first.0,
                max_lat: first.1,
            },
            |b, &(lon, lat)| LonLatBox {
                min_lon: b.min_lon.min(lon),
                min_lat: b.min_lat.min(lat),
                max_lon: b.max_lon.max(lon),
                max_lat: b.max_lat.max(lat),
            },
        );
        let n = positions.len();
        let core = (n >= NEAR_COPY_MIN_POINTS).then(|| {
            // Leave out k on each side: the (k+1)-th smallest and largest.
            let k = n / 10 + 1;
            let lons = positions.iter().map(|p| p.0).collect();
            let lats = positions.iter().map(|p| p.1).collect();
            let ([min_lon, max_lon], [min_lat, max_lat]) =
                (kth_from_each_end(lons, k), kth_from_each_end(lats, k));
            LonLatBox {
                min_lon,
                min_lat,
                max_lon,
                max_lat,
            }
        });
        Some(Self { bbox, core })
    }
}

/// The `k`-th smallest and the `k`-th largest value (0-based; `k` less
/// than half the length), by selection rather than a full sort.
fn kth_from_each_end(mut values: Vec<f64>, k: usize) -> [f64; 2] {
    let n = values.len();
    let (_, &mut low, above) = values.select_nth_unstable_by(k, f64::total_cmp);
    // The k-th largest of all is the (n-1-k)-th of all, in the part above.
    let (_, &mut high, _) = above.select_nth_unstable_by(n - 1 - k - (k + 1), f64::total_cmp);
    [low, high]
}

/// Whether two tracks can be near copies ([`is_near_copy`]) judging by
/// their boxes alone: false means they are not, true that their points must
/// be compared. If at least 90 % of `a`'s `n` distinct positions lie within
/// 0.5 m of `b`'s points, at most `n / 10` of them lie further than 0.5 m
/// west (or south, east, north) of `b`'s box; so `a`'s core box, which
/// leaves out `n / 10 + 1` on each side, lies within `b`'s box grown by
/// 0.5 m. Checked both ways, with [`NEAR_COPY_BOX_MARGIN_M`] for the
/// margin (measured at `a`'s latitude).
pub fn boxes_may_be_near_copies(a: &NearCopyBoxes, b: &NearCopyBoxes) -> bool {
    let margin = a.bbox.margin_deg();
    let (Some(a_core), Some(b_core)) = (a.core, b.core) else {
        return false;
    };
    a_core.within(&b.bbox, margin) || b_core.within(&a.bbox, margin)
}

/// Positions projected on one plane and listed in every square cell their
/// disc of the radius touches, so that the positions within the radius of a
/// point are all listed in the one cell the point lies in: a query is one
/// hash lookup, wherever the point falls. One sorted array of listings (no
/// allocation per cell) and a map from cell to its slice.
struct PositionGrid {
    plane: LocalPlane,
    radius_m: f64,
    cell_m: f64,
    /// `1 / cell_m`: a query multiplies (a division stalled the loop).
    per_cell_m: f64,
    /// Projected positions, in the order given.
    xy: Vec<[f64; 2]>,
    /// Position numbers (indices into `xy`), grouped by cell.
    listed: Vec<u32>,
    /// Cell → its range in `listed`.
    cells: FxHashMap<u64, (u32, u32)>,
}

impl PositionGrid {
    /// `None` without positions or with a radius that is not positive.
    fn new(positions: &[(f64, f64)], radius_m: f64) -> Option<Self> {
        if radius_m.is_nan() || radius_m <= 0.0 {
            return None;
        }
        let plane = LocalPlane::around(positions.iter().copied())?;
        // Cells twice the diameter: a disc touches 1 to 4 of them (2.25 on
        // average), and a cell lists few positions.
        let cell_m = 4.0 * radius_m;
        let xy: Vec<[f64; 2]> = positions
            .iter()
            .map(|&(lon, lat)| plane.project(lon, lat))
            .collect();
        let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(xy.len() * 9 / 4);
        for (i, &point) in xy.iter().enumerate() {
            for_each_cell_touched(point, radius_m, cell_m, |cell| keyed.push((cell, i as u32)));
        }
        keyed.sort_unstable();
        let mut cells = FxHashMap::with_capacity_and_hasher(keyed.len(), Default::default());
        let mut start = 0u32;
        for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            let end = start + group.len() as u32;
            cells.insert(group[0].0, (start, end));
            start = end;
        }
        Some(Self {
            plane,
            radius_m,
            cell_m,
            per_cell_m: 1.0 / cell_m,
            xy,
            listed: keyed.into_iter().map(|(_, i)| i).collect(),
            cells,
        })
    }

    /// How many positions are indexed.
    fn len(&self) -> usize {
        self.xy.len()
    }

    /// Whether an indexed position lies within the radius of `(lon, lat)`.
    fn any_near(&self, lon: f64, lat: f64) -> bool {
        let mut any = false;
        self.for_each_near(lon, lat, |_| any = true);
        any
    }

    /// Calls `near(i)` for each indexed position `i` (its index in the
    /// positions given, `0..len`) within the radius of `(lon, lat)`.
    fn for_each_near(&self, lon: f64, lat: f64, mut near: impl FnMut(usize)) {
        let [x, y] = self.plane.project(lon, lat);
        let r2 = self.radius_m * self.radius_m;
        // x·(1/c) and x/c differ by far less than the micrometre of slack
        // `for_each_cell_touched` lists positions with.
        let cell = cell_key(
            floor_i64(x * self.per_cell_m),
            floor_i64(y * self.per_cell_m),
        );
        if let Some(&(start, end)) = self.cells.get(&cell) {
            for &i in &self.listed[start as usize..end as usize] {
                let [qx, qy] = self.xy[i as usize];
                if (qx - x).powi(2) + (qy - y).powi(2) <= r2 {
                    near(i as usize);
                }
            }
        }
    }

    /// The most positions within twice the radius of one of them: a bound
    /// on how many positions one point can be near (those all lie within
    /// twice the radius of each other). Two positions within twice the
    /// radius have their midpoint in both discs, so each is listed in the
    /// midpoint's cell, one of the cells the other's disc touches.
    fn most_within_diameter(&self) -> usize {
        let d2 = (2.0 * self.radius_m).powi(2) + 1e-9;
        // The position whose neighbours `q` was last counted for: each is
        // listed in up to four of the cells looked at.
        let mut counted_for = vec![u32::MAX; self.len()];
        (0..self.len())
            .map(|p| {
                let [x, y] = self.xy[p];
                let mut n = 0;
                for_each_cell_touched([x, y], self.radius_m, self.cell_m, |cell| {
                    let Some(&(start, end)) = self.cells.get(&cell) else {
                        return;
                    };
                    for &q in &self.listed[start as usize..end as usize] {
                        let [qx, qy] = self.xy[q as usize];
                        if counted_for[q as usize] != p as u32
                            && (qx - x).powi(2) + (qy - y).powi(2) <= d2
                        {
                            counted_for[q as usize] = p as u32;
                            n += 1;
                        }
                    }
                });
                n
            })
            .max()
            .unwrap_or(0)
    }
}

/// Calls `cell(key)` for each cell of side `cell_m` that the square around
/// the disc of `radius_m` at `[x, y]` touches (a hair wider, for rounding).
fn for_each_cell_touched([x, y]: [f64; 2], radius_m: f64, cell_m: f64, mut cell: impl FnMut(u64)) {
    let reach = radius_m + 1e-6;
    for cx in floor_i64((x - reach) / cell_m)..=floor_i64((x + reach) / cell_m) {
        for cy in floor_i64((y - reach) / cell_m)..=floor_i64((y + reach) / cell_m) {
            cell(cell_key(cx, cy));
        }
    }
}

/// One map key for a cell, its coordinates truncated to 32 bits: cells of
/// metres on a plane around one track fit, and a key shared by two far
/// apart cells would only cost distance checks.
fn cell_key(cx: i64, cy: i64) -> u64 {
    (u64::from(cx as u32) << 32) | u64::from(cy as u32)
}

/// `v.floor() as i64` without a call into libm (the duplicate check rounds
/// four values per point compared; without SSE4.1 `floor` is a call).
fn floor_i64(v: f64) -> i64 {
    let t = v as i64;
    t - i64::from((t as f64) > v)
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
            (dt_s > 0.0).then(|| ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt() / dt_s)
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
        let track = crate::coverage::tests::track_of(&[
            (103.1, 25.3),
            (103.1001, 25.3001),
            (103.1002, 25.3001),
        ]);
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

    /// [`is_near_copy`] by its definition, every point against every point,
    /// on a plane around the track being replayed.
    fn near_copy_by_definition(a: &Track, b: &Track) -> bool {
        let (a, b) = (distinct_positions(a), distinct_positions(b));
        if a.len() < NEAR_COPY_MIN_POINTS || b.len() < NEAR_COPY_MIN_POINTS {
            return false;
        }
        let replays = |x: &[(f64, f64)], y: &[(f64, f64)]| {
            let plane = LocalPlane::around(y.iter().copied()).unwrap();
            let near = x
                .iter()
                .filter(|&&(lon, lat)| {
                    let p = plane.project(lon, lat);
                    y.iter().any(|&(lon, lat)| {
                        let q = plane.project(lon, lat);
                        (p[0] - q[0]).hypot(p[1] - q[1]) <= NEAR_COPY_RADIUS_M
                    })
                })
                .count();
            near as f64 / x.len() as f64 >= NEAR_COPY_MIN_SHARE
        };
        replays(&a, &b) || replays(&b, &a)
    }

    fn joined(parts: &[&Track]) -> Track {
        Track {
            points: parts
                .iter()
                .flat_map(|t| t.points.iter().copied())
                .collect(),
            ..Track::default()
        }
    }

    fn part_of(track: &Track, from: usize, to: usize) -> Track {
        Track {
            points: track.points[from..to].to_vec(),
            ..Track::default()
        }
    }

    /// `n` fixes jittering within 0.3 m of the track's first point.
    fn stood_still(track: &Track, n: usize) -> Track {
        let first = track.points[0];
        Track {
            points: (0..n)
                .map(|i| {
                    let angle = i as f64 * 2.4;
                    let r = 2.7e-6 * (i % 7) as f64 / 7.0;
                    TrackPoint {
                        lon: first.lon + r * angle.cos(),
                        lat: first.lat + r * angle.sin(),
                        ..first
                    }
                })
                .collect(),
            ..Track::default()
        }
    }

    proptest::proptest! {
        #[test]
        fn selection_finds_what_sorting_finds(
            values in proptest::collection::vec(-1e3f64..1e3, 10..300)
        ) {
            let k = values.len() / 10 + 1;
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            proptest::prop_assert_eq!(
                kth_from_each_end(values, k),
                [sorted[k], sorted[sorted.len() - 1 - k]]
            );
        }
    }

    #[test]
    fn the_bound_on_positions_near_one_point_is_exact() {
        let brute = |xy: &[[f64; 2]]| {
            xy.iter()
                .map(|p| {
                    xy.iter()
                        .filter(|q| (p[0] - q[0]).hypot(p[1] - q[1]) <= 2.0 * NEAR_COPY_RADIUS_M)
                        .count()
                })
                .max()
                .unwrap_or(0)
        };
        for (seed, n) in [(1, 400), (2, 3600), (3, 60)] {
            // A walk with its stops: clusters of fixes within a metre.
            let walk = recorded_walk(seed, n);
            let walk = joined(&[&walk, &stood_still(&walk, n / 3)]);
            let grid = PositionGrid::new(&distinct_positions(&walk), NEAR_COPY_RADIUS_M).unwrap();
            assert_eq!(grid.most_within_diameter(), brute(&grid.xy), "seed {seed}");
        }
    }

    #[test]
    fn the_index_agrees_with_the_definition_and_the_boxes_never_hide_a_copy() {
        let walk = recorded_walk(11, 600);
        let moved = |every: usize, dlon: f64, dlat: f64| {
            let mut t = shifted(&walk, Duration::days(1));
            for p in t.points.iter_mut().step_by(every) {
                p.lon += dlon;
                p.lat += dlat;
            }
            t
        };
        let part = |from: usize, to: usize| Track {
            points: walk.points[from..to].to_vec(),
            ..Track::default()
        };
        let mut reversed = walk.clone();
        reversed.points.reverse();
        let others = [
            (
                "thinned",
                Track {
                    points: walk.points.iter().step_by(3).copied().collect(),
                    ..Track::default()
                },
            ),
            ("first 85 %", part(0, 510)),
            ("last 95 %", part(30, 600)),
            ("middle third", part(200, 400)),
            ("reversed", reversed),
            // Every 20th, 12th, 9th, 8th point 5 m off: around the 90 % line.
            ("5 % moved", moved(20, 5e-5, 0.0)),
            ("8 % moved", moved(12, 0.0, 5e-5)),
            ("11 % moved", moved(9, 5e-5, 5e-5)),
            ("12.5 % moved", moved(8, -5e-5, 0.0)),
            ("all 0.3 m north", moved(1, 0.0, 2.7e-6)),
            ("all 0.7 m north", moved(1, 0.0, 6.3e-6)),
            ("other phone", recorded_walk(12, 600)),
            // The comparison may stop early: copies whose repeated points
            // come late, or around a phone that stood still (many of its
            // positions near one point), must still be found.
            (
                "other phone, then the walk",
                joined(&[&recorded_walk(12, 600), &walk]),
            ),
            (
                "the walk, then other phone",
                joined(&[&walk, &recorded_walk(12, 600)]),
            ),
            (
                "a third of other phone, then the walk",
                joined(&[&part_of(&recorded_walk(12, 600), 0, 200), &walk]),
            ),
            (
                "stood still, then the walk",
                joined(&[&stood_still(&walk, 300), &walk]),
            ),
            (
                "stood still, then other phone",
                joined(&[&stood_still(&walk, 300), &recorded_walk(12, 600)]),
            ),
            ("1 km east", moved(1, 1e-2, 0.0)),
            ("tiny", part(0, 8)),
        ];
        let walk_boxes = NearCopyBoxes::of(&walk).unwrap();
        let mut copies = 0;
        for (name, other) in &others {
            let expected = near_copy_by_definition(&walk, other);
            assert_eq!(is_near_copy(&walk, other), expected, "{name}");
            assert_eq!(
                is_near_copy(other, &walk),
                expected,
                "{name}, reversed roles"
            );
            let boxes = NearCopyBoxes::of(other).unwrap();
            if expected {
                copies += 1;
                assert!(boxes_may_be_near_copies(&walk_boxes, &boxes), "{name}");
                assert!(boxes_may_be_near_copies(&boxes, &walk_boxes), "{name}");
            }
        }
        // The table spans both sides of the line.
        assert!((6..others.len() - 3).contains(&copies), "{copies}");
        let far = NearCopyBoxes::of(&moved(1, 1e-2, 0.0)).unwrap();
        assert!(!boxes_may_be_near_copies(&walk_boxes, &far));
        assert_eq!(NearCopyBoxes::of(&part(0, 8)).unwrap().core, None);
        assert_eq!(NearCopyBoxes::of(&Track::default()), None);
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
