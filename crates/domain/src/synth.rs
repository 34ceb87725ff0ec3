//! Synthetic but realistic patrol tracks along a polyline: for the demo town
//! and for tests. Pure and deterministic: the same inputs give the same
//! points, with GPS-like noise seeded by the start time.

use chrono::{DateTime, Duration, Utc};
use geo::{Distance, Haversine, Point};

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
