//! Patrol metrics: how long, how far, how fast a track is. Lengths are
//! geodesic on the WGS-84 ellipsoid (as PostGIS `ST_Length(geography)`:
//! Karney's algorithm for segments over 1 km, the local ellipsoid scales
//! below, equal to well under a millimetre); times come from the points.
//!
//! Definitions (the rule thresholds are in [`MetricsParams`]):
//! - **segment**: two consecutive points; its *raw speed* is geodesic
//!   distance / time difference (undefined when the times are equal).
//! - **speed of a segment**: the median of the raw speeds of a window of
//!   [`MetricsParams::speed_window`] (5) consecutive timed segments, centred
//!   on it and shifted inwards at the ends of the track. A GPS spike (one or a
//!   few points thrown far off and back) makes only the two segments into and
//!   out of it fast, so the median of five ignores it. Segments spanning a
//!   [gap](Gap) keep their own average speed: there is nothing around them to
//!   compare with.
//! - **max_speed_kmh**: the highest speed of any segment, so defined.
//! - **moving_time_s**: total time of segments whose speed is at least
//!   [`MetricsParams::moving_speed_mps`] (0.5 m/s, a slow stroll).
//! - **fast_share**: the share of `length_m` travelled on segments whose speed
//!   is above [`MetricsParams::fast_speed_kmh`] (25 km/h, the rule's
//!   threshold), in 0..=1.
//! - **gap**: two consecutive points more than [`MetricsParams::gap_s`]
//!   (120 s) apart, e.g. the phone lost the fix or recording was paused.

use crate::track::Track;
use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

/// Thresholds that shape the metrics. [`Default`] gives the DESIGN defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsParams {
    /// Segments faster than this count towards `fast_share` (default 25).
    pub fast_speed_kmh: f64,
    /// Segments at least this fast count as moving (default 0.5).
    pub moving_speed_mps: f64,
    /// Consecutive points further apart in time than this are a gap (120).
    pub gap_s: f64,
    /// Number of segments in the speed median window (5; 1 = raw speeds).
    pub speed_window: usize,
}

impl Default for MetricsParams {
    fn default() -> Self {
        Self {
            fast_speed_kmh: 25.0,
            moving_speed_mps: 0.5,
            gap_s: 120.0,
            speed_window: 5,
        }
    }
}

/// A stretch without fixes: two consecutive points more than
/// [`MetricsParams::gap_s`] apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// Index of the point before the gap (the one after is `from_index + 1`).
    pub from_index: usize,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub duration_s: f64,
    /// Geodesic distance between the two points.
    pub distance_m: f64,
}

/// What a patrol measured. Field names are the API's (`GET /patrols/{id}`).
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use domain::{Track, TrackPoint, metrics::TrackMetrics};
///
/// // Walking north at ~1.1 m/s (one point every 10 s, 1e-4° ≈ 11 m) for 10 minutes…
/// let t0 = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
/// let mut points: Vec<TrackPoint> = (0..=60)
///     .map(|i| TrackPoint {
///         lon: 103.1,
///         lat: 25.3 + 1e-4 * i as f64,
///         ele: None,
///         time: t0 + Duration::seconds(10 * i),
///     })
///     .collect();
/// // …with one GPS spike 1 km to the east.
/// points[30].lon += 0.01;
/// let m = TrackMetrics::of(&Track { points, ..Track::default() });
///
/// assert_eq!(m.point_count, 61);
/// assert_eq!(m.duration_s, 600.0);
/// assert!(m.max_speed_kmh < 5.0); // the spike does not make it 360 km/h
/// assert!(m.length_m > 2_000.0); // but its detour is in the length, as in PostGIS
/// assert!(m.gaps.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackMetrics {
    pub point_count: usize,
    /// Geodesic length of the polyline through all points.
    pub length_m: f64,
    /// Time between the first and the last point.
    pub duration_s: f64,
    pub moving_time_s: f64,
    /// Highest median-filtered segment speed (see the module doc).
    pub max_speed_kmh: f64,
    /// The threshold `fast_length_m` and `fast_share` were computed with.
    pub fast_speed_kmh: f64,
    /// Length travelled on segments faster than `fast_speed_kmh`.
    pub fast_length_m: f64,
    /// `fast_length_m / length_m`, 0 for a track without length.
    pub fast_share: f64,
    pub gaps: Vec<Gap>,
}

impl TrackMetrics {
    /// Metrics with the default [`MetricsParams`].
    pub fn of(track: &Track) -> Self {
        Self::with_params(track, &MetricsParams::default())
    }

    /// Metrics with explicit thresholds (e.g. a town's `fast_speed_kmh`).
    pub fn with_params(track: &Track, params: &MetricsParams) -> Self {
        let points = &track.points;
        let n = points.len();
        let mut metrics = TrackMetrics {
            point_count: n,
            length_m: 0.0,
            duration_s: 0.0,
            moving_time_s: 0.0,
            max_speed_kmh: 0.0,
            fast_speed_kmh: params.fast_speed_kmh,
            fast_length_m: 0.0,
            fast_share: 0.0,
            gaps: Vec::new(),
        };
        if n == 0 {
            return metrics;
        }
        metrics.duration_s = seconds_between(points[0].time, points[n - 1].time);
        if n == 1 {
            return metrics;
        }

        let segments: Vec<(f64, f64)> = points
            .windows(2)
            .map(|w| {
                let d = crate::coverage::segment_length_m(
                    geo::coord! { x: w[0].lon, y: w[0].lat },
                    geo::coord! { x: w[1].lon, y: w[1].lat },
                );
                (d, seconds_between(w[0].time, w[1].time))
            })
            .collect();
        let speeds = segment_speeds_mps(&segments, params);

        let fast_mps = params.fast_speed_kmh / 3.6;
        for (i, (&(distance_m, dt_s), speed)) in segments.iter().zip(&speeds).enumerate() {
            metrics.length_m += distance_m;
            if dt_s > params.gap_s {
                metrics.gaps.push(Gap {
                    from_index: i,
                    from: points[i].time,
                    to: points[i + 1].time,
                    duration_s: dt_s,
                    distance_m,
                });
            }
            let Some(speed) = *speed else { continue };
            metrics.max_speed_kmh = metrics.max_speed_kmh.max(speed * 3.6);
            if speed >= params.moving_speed_mps {
                metrics.moving_time_s += dt_s;
            }
            if speed > fast_mps {
                metrics.fast_length_m += distance_m;
            }
        }
        if metrics.length_m > 0.0 {
            metrics.fast_share = (metrics.fast_length_m / metrics.length_m).clamp(0.0, 1.0);
        }
        metrics
    }

    /// The longest gap, if any.
    pub fn longest_gap(&self) -> Option<&Gap> {
        self.gaps
            .iter()
            .max_by(|a, b| a.duration_s.total_cmp(&b.duration_s))
    }
}

/// Signed seconds from `a` to `b`, with millisecond resolution.
pub(crate) fn seconds_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

/// The speed of every segment as defined in the module doc, `None` for
/// segments without a positive time difference.
fn segment_speeds_mps(segments: &[(f64, f64)], params: &MetricsParams) -> Vec<Option<f64>> {
    // Raw speeds of the timed segments, and where each sits in `segments`.
    let timed: Vec<(usize, f64)> = segments
        .iter()
        .enumerate()
        .filter(|(_, (_, dt))| *dt > 0.0)
        .map(|(i, (d, dt))| (i, d / dt))
        .collect();
    let mut out = vec![None; segments.len()];
    let m = timed.len();
    let window = params.speed_window.clamp(1, m.max(1));
    let mut scratch = Vec::with_capacity(window);
    for (k, &(i, raw)) in timed.iter().enumerate() {
        if segments[i].1 > params.gap_s || window == 1 {
            out[i] = Some(raw);
            continue;
        }
        let start = k.saturating_sub(window / 2).min(m - window);
        scratch.clear();
        scratch.extend(timed[start..start + window].iter().map(|&(_, v)| v));
        scratch.sort_unstable_by(f64::total_cmp);
        let mid = window / 2;
        out[i] = Some(if window % 2 == 1 {
            scratch[mid]
        } else {
            (scratch[mid - 1] + scratch[mid]) / 2.0
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::TrackPoint;
    use chrono::{Duration, TimeZone};
    use geo::{Geodesic, Length};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap()
    }

    /// Points every `step_s` seconds, moving north by `dlat` degrees a step.
    fn straight(n: usize, step_s: i64, dlat: f64) -> Track {
        Track {
            points: (0..n)
                .map(|i| TrackPoint {
                    lon: 103.1,
                    lat: 25.3 + dlat * i as f64,
                    ele: None,
                    time: t0() + Duration::seconds(step_s * i as i64),
                })
                .collect(),
            ..Track::default()
        }
    }

    #[test]
    fn empty_and_single_point() {
        let m = TrackMetrics::of(&Track::default());
        assert_eq!((m.point_count, m.length_m, m.duration_s), (0, 0.0, 0.0));
        let m = TrackMetrics::of(&straight(1, 1, 0.0));
        assert_eq!((m.point_count, m.length_m, m.max_speed_kmh), (1, 0.0, 0.0));
    }

    #[test]
    fn length_is_geodesic() {
        let track = straight(100, 5, 5e-5);
        let m = TrackMetrics::of(&track);
        let expected = Geodesic.length(&track.line_string());
        assert!((m.length_m - expected).abs() < 1e-6);
        assert_eq!(m.duration_s, 495.0);
    }

    #[test]
    fn walking_speed() {
        // 1e-5° lat ≈ 1.107 m per second ≈ 3.99 km/h.
        let m = TrackMetrics::of(&straight(600, 1, 1e-5));
        assert!((m.max_speed_kmh - 3.99).abs() < 0.02, "{}", m.max_speed_kmh);
        assert_eq!(m.moving_time_s, 599.0);
        assert_eq!(m.fast_share, 0.0);
    }

    #[test]
    fn single_spike_is_ignored_even_at_the_ends() {
        for spike_at in [1, 2, 300, 597, 598] {
            let mut track = straight(600, 1, 1e-5);
            track.points[spike_at].lon += 0.01; // ~1 km east and back
            let m = TrackMetrics::of(&track);
            assert!(
                m.max_speed_kmh < 5.0,
                "spike at {spike_at}: {}",
                m.max_speed_kmh
            );
            assert_eq!(m.fast_share, 0.0);
        }
    }

    #[test]
    fn a_cluster_of_spiked_points_is_ignored_too() {
        let mut track = straight(600, 1, 1e-5);
        for p in &mut track.points[200..203] {
            p.lon += 0.01;
        }
        assert!(TrackMetrics::of(&track).max_speed_kmh < 5.0);
    }

    #[test]
    fn sustained_driving_is_fast() {
        // 2 km at 4 km/h, then 4 km at ~40 km/h (1e-4°/s ≈ 11 m/s).
        let mut points = straight(1800, 1, 1e-5).points;
        let last = *points.last().unwrap();
        points.extend((1..=360).map(|i| TrackPoint {
            lat: last.lat + 1e-4 * i as f64,
            time: last.time + Duration::seconds(i),
            ..last
        }));
        let m = TrackMetrics::of(&Track {
            points,
            ..Track::default()
        });
        assert!((m.max_speed_kmh - 39.9).abs() < 0.2, "{}", m.max_speed_kmh);
        assert!((m.fast_share - 4.0 / 6.0).abs() < 0.01, "{}", m.fast_share);
        assert!(
            (m.fast_length_m - 3985.0).abs() < 15.0,
            "{}",
            m.fast_length_m
        );
    }

    #[test]
    fn fast_threshold_is_a_parameter() {
        let track = straight(100, 1, 1e-5); // ~4 km/h
        let slow_rule = MetricsParams {
            fast_speed_kmh: 3.0,
            ..MetricsParams::default()
        };
        let m = TrackMetrics::with_params(&track, &slow_rule);
        assert_eq!(m.fast_speed_kmh, 3.0);
        assert!((m.fast_share - 1.0).abs() < 1e-12);
    }

    #[test]
    fn standing_still_is_not_moving() {
        let m = TrackMetrics::of(&straight(100, 10, 0.0));
        assert_eq!(m.moving_time_s, 0.0);
        assert_eq!(m.duration_s, 990.0);
    }

    #[test]
    fn gaps_are_reported_with_their_own_speed() {
        let mut points = straight(60, 1, 1e-5).points;
        // Ten minutes without a fix, then 5 km further on (30 km/h).
        let last = *points.last().unwrap();
        let resume = TrackPoint {
            lat: last.lat + 0.045,
            time: last.time + Duration::seconds(600),
            ..last
        };
        points.extend((0..60).map(|i| TrackPoint {
            lat: resume.lat + 1e-5 * i as f64,
            time: resume.time + Duration::seconds(i),
            ..resume
        }));
        let m = TrackMetrics::of(&Track {
            points,
            ..Track::default()
        });
        assert_eq!(m.gaps.len(), 1);
        let gap = m.longest_gap().unwrap();
        assert_eq!((gap.from_index, gap.duration_s), (59, 600.0));
        assert!(
            (gap.distance_m - 4_985.0).abs() < 10.0,
            "{}",
            gap.distance_m
        );
        assert!((m.max_speed_kmh - 29.9).abs() < 0.2, "{}", m.max_speed_kmh);
        assert!(m.fast_share > 0.9);
        assert_eq!(m.moving_time_s, 718.0);
    }

    #[test]
    fn equal_times_have_no_speed() {
        let mut track = straight(10, 1, 1e-5);
        track.points[5].time = track.points[4].time;
        let m = TrackMetrics::of(&track);
        assert!(m.max_speed_kmh.is_finite() && m.max_speed_kmh < 5.0);
    }

    #[test]
    fn real_ride_is_mostly_fast() {
        // SOURCES.md: a 70 km ride, 74 % of its length faster than 25 km/h.
        let Some(track) = crate::similarity::fixtures::gpx("gpx/sports-lib/7555261629.gpx") else {
            return;
        };
        let m = TrackMetrics::of(&track);
        assert!((m.length_m - 70_000.0).abs() < 3_000.0, "{}", m.length_m);
        assert!((m.fast_share - 0.74).abs() < 0.05, "{}", m.fast_share);
        assert!(
            m.max_speed_kmh > 40.0 && m.max_speed_kmh < 90.0,
            "{}",
            m.max_speed_kmh
        );
    }

    #[test]
    fn real_walks_are_slow_and_a_car_is_fast() {
        let fixture = crate::similarity::fixtures::gpx;
        // A sparse 2-hour tour round a lake (gaps of up to 15 minutes): some
        // fast stretches, but well under the rule's 20 %.
        let Some(walk) = fixture("gpx/gpxpy/cerknicko-jezero.gpx") else {
            return;
        };
        let m = TrackMetrics::of(&walk);
        assert!(m.fast_share < 0.2, "{m:?}");
        assert_eq!(m.longest_gap().map(|g| g.duration_s), Some(894.0));
        let Some(car) = fixture("gpx/gpxpy/around-visnjan-with-car.gpx") else {
            return;
        };
        let m = TrackMetrics::of(&car);
        assert!(m.fast_share > 0.5, "{m:?}");
    }

    #[test]
    fn serializes_with_contract_names() {
        let json = serde_json::to_value(TrackMetrics::of(&straight(3, 1, 1e-5))).unwrap();
        for key in [
            "point_count",
            "length_m",
            "duration_s",
            "max_speed_kmh",
            "moving_time_s",
            "fast_share",
            "gaps",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }
}
