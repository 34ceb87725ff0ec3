//! Synthetic but realistic patrol tracks along a polyline: for the demo town
//! and for tests. Pure and deterministic: the same inputs give the same
//! points. [`walk`] is the simple generator the tests use (constant pace,
//! white noise seeded by the start time); [`record`] imitates a phone on a
//! real patrol (changing pace, stops, drifting GPS error, a path along the
//! bank rather than the centre line) from a seeded [`Rng`].

use chrono::{DateTime, Duration, Utc};
use geo::{Distance, Haversine, Point};

/// Metres per degree of latitude (and of longitude at the equator).
const M_PER_DEG: f64 = 111_320.0;

/// Points every `step_s` seconds walking along `line` at `speed_kmh`,
/// with deterministic GPS-like noise of about `noise_m` metres.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let line = [[103.0, 25.0], [103.01, 25.0]]; // ~1 km
/// let start = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
/// let points = domain::synth::walk(&line, start, 4.0, 5, 3.0);
/// assert!(points.len() > 150 && points.len() < 200);
/// ```
pub fn walk(
    line: &[[f64; 2]],
    start: DateTime<Utc>,
    speed_kmh: f64,
    step_s: i64,
    noise_m: f64,
) -> Vec<(f64, f64, DateTime<Utc>)> {
    let step_m = speed_kmh / 3.6 * step_s as f64;
    let mut out = vec![];
    let mut t = start;
    // Noise seeded by the start time: two walks are never point-identical.
    let mut seed: u64 =
        0x9E37_79B9_7F4A_7C15 ^ (start.timestamp() as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 2001) as f64 / 1000.0 - 1.0
    };
    let mut carry = 0.0;
    for w in line.windows(2) {
        let (a, b) = (Point::new(w[0][0], w[0][1]), Point::new(w[1][0], w[1][1]));
        let len = Haversine.distance(a, b);
        let mut d = carry;
        while d < len {
            let f = d / len;
            let lon = a.x() + (b.x() - a.x()) * f + noise() * noise_m / 100_000.0;
            let lat = a.y() + (b.y() - a.y()) * f + noise() * noise_m / 111_000.0;
            out.push((lon, lat, t));
            t += Duration::seconds(step_s);
            d += step_m;
        }
        carry = d - len;
    }
    out
}

/// The points as a [`Track`](crate::Track) (no elevations), as a reader
/// would give them.
pub fn track_of(points: &[(f64, f64, DateTime<Utc>)]) -> crate::Track {
    crate::Track {
        points: points
            .iter()
            .map(|&(lon, lat, time)| crate::TrackPoint {
                lon,
                lat,
                ele: None,
                time,
            })
            .collect(),
        ..crate::Track::default()
    }
}

/// A GPX 1.1 file of the points.
pub fn gpx(points: &[(f64, f64, DateTime<Utc>)]) -> String {
    use std::fmt::Write;
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"riverchief\" xmlns=\"http://www.topografix.com/GPX/1/1\"><trk><trkseg>\n",
    );
    for (lon, lat, t) in points {
        let _ = writeln!(
            s,
            "<trkpt lat=\"{lat:.7}\" lon=\"{lon:.7}\"><time>{}</time></trkpt>",
            t.format("%Y-%m-%dT%H:%M:%SZ")
        );
    }
    s.push_str("</trkseg></trk></gpx>\n");
    s
}

/// A GeoJSON Feature of the points (a LineString with the times in
/// `properties.coordinateProperties.times`), as the chief's phone page and
/// togeojson write it.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
/// let json = domain::synth::geojson(&[(103.0, 25.0, t), (103.001, 25.0, t + chrono::Duration::seconds(5))]);
/// let track = domain::read::read_track(domain::read::TrackFormat::GeoJson, json.as_bytes()).unwrap();
/// assert_eq!(track.points.len(), 2);
/// ```
pub fn geojson(points: &[(f64, f64, DateTime<Utc>)]) -> String {
    use std::fmt::Write;
    let mut coordinates = String::with_capacity(points.len() * 28);
    let mut times = String::with_capacity(points.len() * 23);
    for (i, (lon, lat, t)) in points.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(coordinates, "{sep}[{lon:.7},{lat:.7}]");
        let _ = write!(times, "{sep}\"{}\"", t.format("%Y-%m-%dT%H:%M:%SZ"));
    }
    format!(
        "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"LineString\",\"coordinates\":[{coordinates}]}},\"properties\":{{\"coordinateProperties\":{{\"times\":[{times}]}}}}}}\n"
    )
}

/// A small deterministic random source (SplitMix64): the same seed gives the
/// same sequence on every platform and every version, which a seeded demo
/// needs and a general-purpose RNG crate does not promise.
///
/// ```
/// use domain::synth::Rng;
/// let (mut a, mut b) = (Rng::new(7), Rng::new(7));
/// assert_eq!(a.next_u64(), b.next_u64());
/// let x = a.range(2.0, 3.0);
/// assert!((2.0..3.0).contains(&x));
/// ```
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A seed from several numbers (e.g. chief, week, patrol), so that each
    /// combination has its own independent sequence.
    pub fn seeded(parts: &[u64]) -> Self {
        let mut rng = Rng(0x5EED_F00D_C41E_F5EA);
        for part in parts {
            rng.0 ^= part.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            rng.next_u64();
        }
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..1`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// How a patrol moves and how the phone records it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gait {
    /// Mean speed while moving.
    pub speed_kmh: f64,
    /// Relative spread of the pace around the mean (0.15 = ±15 %), slowly
    /// varying as a person speeds up and slows down.
    pub pace_spread: f64,
    /// The phone's logging interval.
    pub step_s: i64,
    /// Standard deviation of the GPS error per axis; the error drifts (it is
    /// correlated from fix to fix, as a phone's is) rather than jumping.
    pub noise_m: f64,
    /// Stops along the way (a look at an outfall, a chat at the bridge).
    pub stops: u32,
    /// Length of each stop, drawn from this range.
    pub stop_s: (f64, f64),
    /// Distance of the path from the line (a bank path, not the water).
    pub offset_m: f64,
}

impl Gait {
    /// A village chief on foot along the bank.
    pub const WALK: Gait = Gait {
        speed_kmh: 4.2,
        pace_spread: 0.15,
        step_s: 5,
        noise_m: 3.0,
        stops: 2,
        stop_s: (40.0, 150.0),
        offset_m: 12.0,
    };

    /// Driving along the river road.
    pub const DRIVE: Gait = Gait {
        speed_kmh: 38.0,
        pace_spread: 0.25,
        step_s: 2,
        noise_m: 4.0,
        stops: 1,
        stop_s: (120.0, 200.0),
        offset_m: 25.0,
    };
}

/// A recording of a patrol along `line` starting at `start`: points every
/// `gait.step_s` seconds (a fix is dropped now and then), the pace varying
/// around `gait.speed_kmh`, `gait.stops` stops, the path `gait.offset_m`
/// to one side of the line, and a drifting GPS error. Deterministic in
/// `rng`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use domain::synth::{Gait, Rng, record};
/// let line = [[103.0, 25.0], [103.01, 25.0], [103.02, 25.003]]; // ~2 km
/// let start = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
/// let points = record(&line, start, &Gait::WALK, &mut Rng::new(1));
/// let minutes = (points.last().unwrap().2 - start).num_minutes();
/// assert!((28..40).contains(&minutes), "{minutes} min");
/// assert_eq!(points, record(&line, start, &Gait::WALK, &mut Rng::new(1)));
/// ```
pub fn record(
    line: &[[f64; 2]],
    start: DateTime<Utc>,
    gait: &Gait,
    rng: &mut Rng,
) -> Vec<(f64, f64, DateTime<Utc>)> {
    let path = Path::new(line);
    let total_m = path.length_m();
    let mut out = vec![];
    if total_m <= 0.0 {
        return out;
    }
    let mut stops: Vec<(f64, f64)> = (0..gait.stops)
        .map(|_| {
            (
                rng.range(0.1, 0.9) * total_m,
                rng.range(gait.stop_s.0, gait.stop_s.1),
            )
        })
        .collect();
    stops.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut stops = stops.into_iter().peekable();
    let side = if rng.chance(0.5) { 1.0 } else { -1.0 };
    let offset_m = side * gait.offset_m * rng.range(0.6, 1.2);
    let step_s = gait.step_s.max(1);
    let mean_mps = gait.speed_kmh / 3.6;
    // AR(1) processes: pace (per fix) and GPS error (metres, per axis).
    let (pace_keep, error_keep) = (0.97_f64, 0.9_f64);
    let mut pace: f64 = 0.0;
    let mut error = [rng.normal() * gait.noise_m, rng.normal() * gait.noise_m];
    let mut t = start;
    let mut d: f64 = 0.0;
    let mut standing_until: Option<DateTime<Utc>> = None;
    loop {
        let ([x, y], [ux, uy]) = path.at(d.min(total_m));
        // Position = line + bank offset (to the left of travel) + GPS error.
        let east_m = -uy * offset_m + error[0];
        let north_m = ux * offset_m + error[1];
        let lat = y + north_m / M_PER_DEG;
        let lon = x + east_m / (M_PER_DEG * y.to_radians().cos());
        // A phone misses a fix now and then.
        if out.is_empty() || rng.chance(0.97) {
            out.push((round7(lon), round7(lat), t));
        }
        if d >= total_m {
            break;
        }
        t += Duration::seconds(step_s);
        for e in &mut error {
            *e = error_keep * *e
                + (1.0 - error_keep * error_keep).sqrt() * gait.noise_m * rng.normal();
        }
        if let Some(until) = standing_until {
            if t < until {
                continue;
            }
            standing_until = None;
        }
        if let Some(&(at_m, for_s)) = stops.peek()
            && d >= at_m
        {
            stops.next();
            standing_until = Some(t + Duration::milliseconds((for_s * 1000.0) as i64));
            continue;
        }
        pace = pace_keep * pace + (1.0 - pace_keep * pace_keep).sqrt() * rng.normal();
        let speed = mean_mps * (1.0 + gait.pace_spread * pace).max(0.3);
        d += speed * step_s as f64;
    }
    out
}

/// The part of `line` from `from` to `to`, as fractions of its length
/// (`from > to` reverses it): a partial walk, or a walk the other way.
///
/// ```
/// let line = [[103.0, 25.0], [103.02, 25.0]];
/// let back = domain::synth::part(&line, 0.75, 0.25);
/// assert!((back[0][0] - 103.015).abs() < 1e-9 && (back[1][0] - 103.005).abs() < 1e-9);
/// ```
pub fn part(line: &[[f64; 2]], from: f64, to: f64) -> Vec<[f64; 2]> {
    let path = Path::new(line);
    let total = path.length_m();
    let (a, b) = (from.clamp(0.0, 1.0) * total, to.clamp(0.0, 1.0) * total);
    let (lo, hi) = (a.min(b), a.max(b));
    let mut out = vec![path.at(lo).0];
    out.extend(
        path.cumulative
            .iter()
            .zip(line)
            .filter(|(m, _)| **m > lo && **m < hi)
            .map(|(_, p)| *p),
    );
    out.push(path.at(hi).0);
    if a > b {
        out.reverse();
    }
    out
}

/// A polyline with its cumulative lengths, for positions by distance.
struct Path<'a> {
    line: &'a [[f64; 2]],
    cumulative: Vec<f64>,
}

impl<'a> Path<'a> {
    fn new(line: &'a [[f64; 2]]) -> Self {
        let mut cumulative = Vec::with_capacity(line.len());
        let mut total = 0.0;
        for (i, p) in line.iter().enumerate() {
            if i > 0 {
                let q = line[i - 1];
                total += Haversine.distance(Point::new(q[0], q[1]), Point::new(p[0], p[1]));
            }
            cumulative.push(total);
        }
        Path { line, cumulative }
    }

    fn length_m(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// The point `d` metres along, and the unit direction of travel there
    /// (east, north).
    fn at(&self, d: f64) -> ([f64; 2], [f64; 2]) {
        let n = self.line.len();
        if n < 2 {
            return (self.line.first().copied().unwrap_or([0.0, 0.0]), [1.0, 0.0]);
        }
        let i = self.cumulative.partition_point(|&c| c <= d).clamp(1, n - 1);
        let (a, b) = (self.line[i - 1], self.line[i]);
        let seg = self.cumulative[i] - self.cumulative[i - 1];
        let f = if seg > 0.0 {
            ((d - self.cumulative[i - 1]) / seg).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let dx = (b[0] - a[0]) * a[1].to_radians().cos();
        let dy = b[1] - a[1];
        let norm = dx.hypot(dy);
        let dir = if norm > 0.0 {
            [dx / norm, dy / norm]
        } else {
            [1.0, 0.0]
        };
        ([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f], dir)
    }
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::{is_near_copy, looks_synthetic};
    use chrono::TimeZone;

    use super::track_of as track;

    fn river() -> Vec<[f64; 2]> {
        (0..=25)
            .map(|i| {
                let t = f64::from(i) / 25.0;
                [103.0 + 0.02 * t, 25.0 + 0.01 * t + 0.002 * (t * 20.0).sin()]
            })
            .collect()
    }

    #[test]
    fn a_recorded_walk_looks_recorded_and_walked() {
        let start = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
        let points = record(&river(), start, &Gait::WALK, &mut Rng::new(42));
        let walked = track(&points);
        let metrics = crate::metrics::TrackMetrics::with_params(&walked, &Default::default());
        assert!(!looks_synthetic(&walked));
        assert!(metrics.max_speed_kmh < 12.0, "{}", metrics.max_speed_kmh);
        assert!(metrics.fast_share < 0.01);
        // Times strictly increase.
        assert!(points.windows(2).all(|w| w[0].2 < w[1].2));
        // Another recording of the same walk is not a copy of it.
        let again = record(&river(), start, &Gait::WALK, &mut Rng::new(43));
        assert!(!is_near_copy(&track(&again), &walked));
    }

    #[test]
    fn a_drive_is_fast() {
        let start = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
        let points = record(&river(), start, &Gait::DRIVE, &mut Rng::new(7));
        let metrics =
            crate::metrics::TrackMetrics::with_params(&track(&points), &Default::default());
        assert!(metrics.fast_share > 0.5, "{}", metrics.fast_share);
    }

    #[test]
    fn part_keeps_the_vertices_inside() {
        let line = river();
        let half = part(&line, 0.0, 0.5);
        assert_eq!(half[0], line[0]);
        assert!(half.len() > 5 && half.len() < 20);
        assert_eq!(part(&line, 0.0, 1.0), line);
    }
}
