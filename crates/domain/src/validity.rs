//! Validity of a patrol: whether it counts for the weekly rule, and if not,
//! why. A patrol is valid when no rule of the town's [`RuleSet`] is broken;
//! each broken rule adds one [`Reason`] (stable snake_case codes, in a fixed
//! order). The rules are DESIGN.md's "Rules" section:
//!
//! | reason | when |
//! | --- | --- |
//! | `too_short` | `length_m` < `min_length_m` (500) |
//! | `too_brief` | `duration_s` < `min_duration_s` (600) |
//! | `low_coverage` | no assigned reach has coverage ≥ `min_coverage` (0.5) |
//! | `outside_assigned_reaches` | no reach assigned that day, or coverage 0 on every one (replaces `low_coverage`) |
//! | `too_fast` | `fast_share` > `max_fast_share` (0.2) at `fast_speed_kmh` (25) |
//! | `duplicate_track` | the store found an earlier patrol it copies ([`crate::similarity`]) |
//! | `future_timestamps` | a point later than now + `future_tolerance_s` (300) |
//! | `non_increasing_times` | two consecutive points with the same time at different positions, or out of order |
//! | `too_long` | `duration_s` > `max_duration_h` (8) hours: pieces of several days, not one walk |
//! | `time_gap` | two consecutive points more than `max_gap_min` (60) minutes apart |
//! | `late_upload` | uploaded more than `upload_grace_days` (2) days after the end (Sunday 24:00 CST) of the week the patrol counts for; `null` turns it off |

use crate::coverage::Coverage;
use crate::metrics::{MetricsParams, TrackMetrics, seconds_between};
use crate::track::Track;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A town's thresholds. Every field has the DESIGN default, so a town's
/// override is a JSON object with only the fields it changes; unknown fields
/// are rejected (a misspelt threshold must not be silently ignored).
///
/// ```
/// use domain::validity::RuleSet;
///
/// let rules = RuleSet::from_json(r#"{"min_coverage": 0.3, "min_length_m": 1000}"#).unwrap();
/// assert_eq!(rules.min_coverage.get(), 0.3);
/// assert_eq!(rules.min_length_m, 1000.0);
/// assert_eq!(rules.min_duration_s, 600.0); // default kept
///
/// assert_eq!(RuleSet::from_json(r#"{"min_coverge": 0.3}"#).unwrap_err().code(), "invalid_rule_set");
/// assert!(RuleSet::from_json(r#"{"min_coverage": 1.5}"#).is_err());
/// assert!(RuleSet::from_json(r#"{"buffer_m": -5}"#).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSet {
    /// Minimum time between first and last point (600 = 10 minutes).
    pub min_duration_s: f64,
    /// Minimum geodesic length of the track (500).
    pub min_length_m: f64,
    /// Minimum coverage of one assigned reach (0.5).
    pub min_coverage: Coverage,
    /// Coverage buffer around the track (50).
    pub buffer_m: f64,
    /// Speed above which travel counts as fast (25).
    pub fast_speed_kmh: f64,
    /// Maximum share of the length travelled fast (0.2).
    pub max_fast_share: f64,
    /// How far in the future a point may be, for clock skew (300).
    pub future_tolerance_s: f64,
    /// Longest time from first to last point, in hours (8). A walk with
    /// one point days earlier would otherwise count for that earlier week.
    pub max_duration_h: f64,
    /// Longest time between two consecutive points, in minutes (60).
    pub max_gap_min: f64,
    /// Days after the end of the patrol's week (Sunday 24:00 CST) within
    /// which it must be uploaded (2); `None` (JSON `null`) turns the check
    /// off, e.g. while an office imports last season's records.
    pub upload_grace_days: Option<f64>,
}

impl Default for RuleSet {
    fn default() -> Self {
        Self {
            min_duration_s: 600.0,
            min_length_m: 500.0,
            min_coverage: Coverage::new(0.5).expect("0.5 is a coverage"),
            buffer_m: 50.0,
            fast_speed_kmh: 25.0,
            max_fast_share: 0.2,
            future_tolerance_s: 300.0,
            max_duration_h: 8.0,
            max_gap_min: 60.0,
            upload_grace_days: Some(2.0),
        }
    }
}

/// A rule set that cannot be used. `code()` is the API's error code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleSetError {
    #[error("rule set is not valid JSON for the known fields: {0}")]
    Json(String),
    #[error("rule `{field}` must be {expected}, got {value}")]
    OutOfRange {
        field: &'static str,
        expected: &'static str,
        value: f64,
    },
}

impl RuleSetError {
    pub fn code(&self) -> &'static str {
        "invalid_rule_set"
    }
}

impl RuleSet {
    /// Parses a (partial) override and checks it; missing fields take the
    /// defaults.
    pub fn from_json(json: &str) -> Result<Self, RuleSetError> {
        let mut value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| RuleSetError::Json(e.to_string()))?;
        // serde would also accept an array of the fields in order.
        let Some(fields) = value.as_object_mut() else {
            return Err(RuleSetError::Json("expected a JSON object".into()));
        };
        // The office's schedule shares the town's rules object; it is
        // checked by crate::schedule, not a patrol threshold.
        for key in crate::schedule::SCHEDULE_KEYS {
            fields.remove(key);
        }
        let rules: RuleSet =
            serde_json::from_value(value).map_err(|e| RuleSetError::Json(e.to_string()))?;
        rules.check()?;
        Ok(rules)
    }

    /// Checks that every threshold is a finite number in its range.
    pub fn check(&self) -> Result<(), RuleSetError> {
        let non_negative = [
            ("min_duration_s", self.min_duration_s),
            ("min_length_m", self.min_length_m),
            ("buffer_m", self.buffer_m),
            ("fast_speed_kmh", self.fast_speed_kmh),
            ("future_tolerance_s", self.future_tolerance_s),
        ];
        for (field, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(RuleSetError::OutOfRange {
                    field,
                    expected: "a finite number ≥ 0",
                    value,
                });
            }
        }
        let positive = [
            ("max_duration_h", Some(self.max_duration_h)),
            ("max_gap_min", Some(self.max_gap_min)),
            ("upload_grace_days", self.upload_grace_days),
        ];
        for (field, value) in positive {
            if let Some(value) = value.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(RuleSetError::OutOfRange {
                    field,
                    expected: "a finite number > 0",
                    value,
                });
            }
        }
        if !(0.0..=1.0).contains(&self.max_fast_share) {
            return Err(RuleSetError::OutOfRange {
                field: "max_fast_share",
                expected: "a number from 0 to 1",
                value: self.max_fast_share,
            });
        }
        Ok(())
    }

    /// The metrics parameters these rules need (the fast-speed threshold).
    pub fn metrics_params(&self) -> MetricsParams {
        MetricsParams {
            fast_speed_kmh: self.fast_speed_kmh,
            ..MetricsParams::default()
        }
    }

    /// Applies the rules; see [`evaluate`].
    pub fn evaluate(&self, patrol: &PatrolFacts<'_>) -> Validity {
        evaluate(self, patrol)
    }
}

/// Why a patrol is not valid. Serialized as its snake_case code; the
/// declaration order is the order reasons are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    TooShort,
    TooBrief,
    TooLong,
    TimeGap,
    LowCoverage,
    OutsideAssignedReaches,
    TooFast,
    DuplicateTrack,
    FutureTimestamps,
    NonIncreasingTimes,
    LateUpload,
}

impl Reason {
    /// Every reason, in order.
    pub const ALL: [Reason; 11] = [
        Reason::TooShort,
        Reason::TooBrief,
        Reason::TooLong,
        Reason::TimeGap,
        Reason::LowCoverage,
        Reason::OutsideAssignedReaches,
        Reason::TooFast,
        Reason::DuplicateTrack,
        Reason::FutureTimestamps,
        Reason::NonIncreasingTimes,
        Reason::LateUpload,
    ];

    /// The stable machine-readable code, e.g. `too_short`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::TooShort => "too_short",
            Reason::TooBrief => "too_brief",
            Reason::TooLong => "too_long",
            Reason::TimeGap => "time_gap",
            Reason::LowCoverage => "low_coverage",
            Reason::OutsideAssignedReaches => "outside_assigned_reaches",
            Reason::TooFast => "too_fast",
            Reason::DuplicateTrack => "duplicate_track",
            Reason::FutureTimestamps => "future_timestamps",
            Reason::NonIncreasingTimes => "non_increasing_times",
            Reason::LateUpload => "late_upload",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A string that is not a reason code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown validity reason `{0}`")]
pub struct UnknownReason(pub String);

impl FromStr for Reason {
    type Err = UnknownReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reason::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| UnknownReason(s.to_owned()))
    }
}

/// Coverage of one reach assigned to the chief.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AssignedCoverage {
    pub reach_id: i64,
    pub coverage: Coverage,
}

/// Everything the rules look at, gathered by the caller.
#[derive(Debug, Clone, Copy)]
pub struct PatrolFacts<'a> {
    pub track: &'a Track,
    /// Metrics of `track`; recomputed if they were made with another
    /// `fast_speed_kmh` than the rules'.
    pub metrics: &'a TrackMetrics,
    /// Coverage (with the rules' `buffer_m`) of every reach assigned to the
    /// chief on the day the patrol started, Asia/Shanghai; for a town chief
    /// without explicit reaches, every reach of the town. Empty when nothing
    /// was assigned that day.
    pub assigned: &'a [AssignedCoverage],
    /// The earlier patrol this one copies, if the store found one.
    pub duplicate_of: Option<i64>,
    /// The time of the upload.
    pub now: DateTime<Utc>,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validity {
    /// True exactly when `reasons` is empty.
    pub valid: bool,
    /// Broken rules, in [`Reason`] order, each once.
    pub reasons: Vec<Reason>,
    /// The assigned reach with the highest coverage (first one on ties),
    /// i.e. the reach the patrol counts for; `None` if nothing was assigned.
    pub best_reach: Option<AssignedCoverage>,
}

/// Applies `rules` to a patrol.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use domain::coverage::Coverage;
/// use domain::metrics::TrackMetrics;
/// use domain::validity::{AssignedCoverage, PatrolFacts, Reason, RuleSet, evaluate};
/// use domain::{Track, TrackPoint};
///
/// // 20 minutes walking north at 4 km/h (1.33 km).
/// let t0 = Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap();
/// let track = Track {
///     points: (0..=120)
///         .map(|i| TrackPoint {
///             lon: 103.1,
///             lat: 25.3 + 1e-4 * i as f64,
///             ele: None,
///             time: t0 + Duration::seconds(10 * i),
///         })
///         .collect(),
///     ..Track::default()
/// };
/// let metrics = TrackMetrics::of(&track);
/// let assigned = [
///     AssignedCoverage { reach_id: 7, coverage: Coverage::new(0.2).unwrap() },
///     AssignedCoverage { reach_id: 8, coverage: Coverage::new(0.8).unwrap() },
/// ];
/// let facts = PatrolFacts {
///     track: &track,
///     metrics: &metrics,
///     assigned: &assigned,
///     duplicate_of: None,
///     now: t0 + Duration::hours(1),
/// };
/// let verdict = evaluate(&RuleSet::default(), &facts);
/// assert!(verdict.valid);
/// assert_eq!(verdict.best_reach.unwrap().reach_id, 8);
///
/// // The same walk, already uploaded as patrol 41.
/// let copy = evaluate(&RuleSet::default(), &PatrolFacts { duplicate_of: Some(41), ..facts });
/// assert_eq!(copy.reasons, [Reason::DuplicateTrack]);
/// assert_eq!(serde_json::to_string(&copy.reasons).unwrap(), r#"["duplicate_track"]"#);
/// ```
pub fn evaluate(rules: &RuleSet, patrol: &PatrolFacts<'_>) -> Validity {
    let recomputed;
    let metrics = if patrol.metrics.fast_speed_kmh == rules.fast_speed_kmh {
        patrol.metrics
    } else {
        recomputed = TrackMetrics::with_params(patrol.track, &rules.metrics_params());
        &recomputed
    };

    let mut reasons = Vec::new();
    if metrics.length_m < rules.min_length_m {
        reasons.push(Reason::TooShort);
    }
    if metrics.duration_s < rules.min_duration_s {
        reasons.push(Reason::TooBrief);
    }
    if metrics.duration_s > rules.max_duration_h * 3600.0 {
        reasons.push(Reason::TooLong);
    }
    if longest_interval_s(patrol.track) > rules.max_gap_min * 60.0 {
        reasons.push(Reason::TimeGap);
    }

    let best_reach = patrol.assigned.iter().copied().reduce(|best, next| {
        if next.coverage > best.coverage {
            next
        } else {
            best
        }
    });
    match best_reach {
        None => reasons.push(Reason::OutsideAssignedReaches),
        Some(best) if best.coverage == Coverage::ZERO => {
            reasons.push(Reason::OutsideAssignedReaches)
        }
        Some(best) if best.coverage < rules.min_coverage => reasons.push(Reason::LowCoverage),
        Some(_) => {}
    }

    if metrics.fast_share > rules.max_fast_share {
        reasons.push(Reason::TooFast);
    }
    if patrol.duplicate_of.is_some() {
        reasons.push(Reason::DuplicateTrack);
    }
    if has_future_points(patrol.track, patrol.now, rules.future_tolerance_s) {
        reasons.push(Reason::FutureTimestamps);
    }
    if has_non_increasing_times(patrol.track) {
        reasons.push(Reason::NonIncreasingTimes);
    }
    let deadline = rules
        .upload_grace_days
        .and_then(|days| upload_deadline(patrol.track, days));
    if deadline.is_some_and(|deadline| patrol.now > deadline) {
        reasons.push(Reason::LateUpload);
    }
    reasons.sort_unstable();

    Validity {
        valid: reasons.is_empty(),
        reasons,
        best_reach,
    }
}

/// The longest time between two consecutive points, in seconds (0 for
/// fewer than two points). Unlike the metrics' gaps it has no floor, so a
/// town may set `max_gap_min` below two minutes.
pub fn longest_interval_s(track: &Track) -> f64 {
    track
        .points
        .windows(2)
        .map(|w| seconds_between(w[0].time, w[1].time))
        .fold(0.0, f64::max)
}

/// The last instant a patrol may be uploaded: `grace_days` after the end
/// (Sunday 24:00 CST) of the week it counts for, the week of its first
/// point. `None` for a track without points or outside the calendar.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use domain::{Track, TrackPoint};
/// use domain::validity::upload_deadline;
///
/// // Wednesday 2026-11-11 10:00 CST, in 2026-W46 (ends Monday 11-16 00:00 CST).
/// let at = Utc.with_ymd_and_hms(2026, 11, 11, 2, 0, 0).unwrap();
/// let point = TrackPoint { lon: 103.1, lat: 25.3, ele: None, time: at };
/// let track = Track { points: vec![point], ..Track::default() };
/// // Two days later: Wednesday 11-18 00:00 CST.
/// let deadline = Utc.with_ymd_and_hms(2026, 11, 17, 16, 0, 0).unwrap();
/// assert_eq!(upload_deadline(&track, 2.0), Some(deadline));
/// ```
pub fn upload_deadline(track: &Track, grace_days: f64) -> Option<DateTime<Utc>> {
    let week = crate::time::IsoWeek::of_instant(track.started_at()?).ok()?;
    let grace = chrono::Duration::try_milliseconds((grace_days * 86_400_000.0) as i64)?;
    week.end_utc().checked_add_signed(grace)
}

/// True when a point is more than `tolerance_s` later than `now`.
pub fn has_future_points(track: &Track, now: DateTime<Utc>, tolerance_s: f64) -> bool {
    track
        .points
        .iter()
        .any(|p| seconds_between(now, p.time) > tolerance_s)
}

/// True when, in the track's order and ignoring exact duplicate points
/// (same time and position), a point's time is not after its predecessor's:
/// the same time at another position, or an earlier time. Readers sort by
/// time, so in practice this finds equal times at different places.
pub fn has_non_increasing_times(track: &Track) -> bool {
    track.points.windows(2).any(|w| {
        let (a, b) = (&w[0], &w[1]);
        let same_place = a.lon == b.lon && a.lat == b.lat;
        b.time < a.time || (b.time == a.time && !same_place)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::TrackPoint;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 7, 6, 1, 0, 0).unwrap()
    }

    /// `n` points every `step_s` seconds, moving north `dlat` degrees a step.
    fn walk(n: usize, step_s: i64, dlat: f64) -> Track {
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

    fn covered(pairs: &[(i64, f64)]) -> Vec<AssignedCoverage> {
        pairs
            .iter()
            .map(|&(reach_id, c)| AssignedCoverage {
                reach_id,
                coverage: Coverage::new(c).unwrap(),
            })
            .collect()
    }

    fn verdict(
        track: &Track,
        assigned: &[AssignedCoverage],
        duplicate_of: Option<i64>,
    ) -> Validity {
        let metrics = TrackMetrics::of(track);
        evaluate(
            &RuleSet::default(),
            &PatrolFacts {
                track,
                metrics: &metrics,
                assigned,
                duplicate_of,
                now: t0() + Duration::days(1),
            },
        )
    }

    #[test]
    fn rules_table() {
        use Reason::*;
        let good = walk(121, 10, 1e-4); // 20 min, 1.33 km at 4 km/h
        let mut shifted_into_future = good.clone();
        for p in &mut shifted_into_future.points {
            p.time += Duration::days(1);
        }
        let mut repeated_time = good.clone();
        repeated_time.points[10].time = repeated_time.points[9].time;
        let mut exact_duplicate = good.clone();
        exact_duplicate.points.insert(10, exact_duplicate.points[9]);
        let mut out_of_order = good.clone();
        out_of_order.points.swap(10, 11);

        // (name, track, assigned coverages, duplicate of, expected reasons)
        type Case = (
            &'static str,
            Track,
            Vec<AssignedCoverage>,
            Option<i64>,
            Vec<Reason>,
        );
        let cases: Vec<Case> = vec![
            ("valid", good.clone(), covered(&[(1, 0.5)]), None, vec![]),
            (
                "too short and brief",
                walk(10, 10, 1e-4),
                covered(&[(1, 0.9)]),
                None,
                vec![TooShort, TooBrief],
            ),
            (
                "long but brief",
                walk(60, 10, 1e-4),
                covered(&[(1, 0.9)]),
                None,
                vec![TooBrief],
            ),
            (
                "long enough in time, short in space",
                walk(121, 10, 1e-5),
                covered(&[(1, 0.9)]),
                None,
                vec![TooShort],
            ),
            (
                "best reach counts",
                good.clone(),
                covered(&[(1, 0.1), (2, 0.6), (3, 0.0)]),
                None,
                vec![],
            ),
            (
                "low coverage",
                good.clone(),
                covered(&[(1, 0.49), (2, 0.2)]),
                None,
                vec![LowCoverage],
            ),
            (
                "nothing assigned",
                good.clone(),
                vec![],
                None,
                vec![OutsideAssignedReaches],
            ),
            (
                "nowhere near",
                good.clone(),
                covered(&[(1, 0.0), (2, 0.0)]),
                None,
                vec![OutsideAssignedReaches],
            ),
            (
                "driving",
                walk(121, 10, 1e-3),
                covered(&[(1, 0.9)]),
                None,
                vec![TooFast],
            ),
            (
                "copy",
                good.clone(),
                covered(&[(1, 0.9)]),
                Some(5),
                vec![DuplicateTrack],
            ),
            (
                "future",
                shifted_into_future,
                covered(&[(1, 0.9)]),
                None,
                vec![FutureTimestamps],
            ),
            (
                "same time elsewhere",
                repeated_time,
                covered(&[(1, 0.9)]),
                None,
                vec![NonIncreasingTimes],
            ),
            (
                "exact duplicate point is fine",
                exact_duplicate,
                covered(&[(1, 0.9)]),
                None,
                vec![],
            ),
            (
                "out of order",
                out_of_order,
                covered(&[(1, 0.9)]),
                None,
                vec![NonIncreasingTimes],
            ),
            (
                "everything at once, in order",
                walk(3, 0, 1e-3),
                vec![],
                Some(1),
                vec![
                    TooShort,
                    TooBrief,
                    OutsideAssignedReaches,
                    DuplicateTrack,
                    NonIncreasingTimes,
                ],
            ),
        ];
        for (name, track, assigned, duplicate_of, expected) in cases {
            let got = verdict(&track, &assigned, duplicate_of);
            assert_eq!(got.reasons, expected, "{name}");
            assert_eq!(got.valid, expected.is_empty(), "{name}");
        }
    }

    #[test]
    fn future_tolerance_is_five_minutes() {
        let track = walk(121, 10, 1e-4);
        let end = track.ended_at().unwrap();
        let metrics = TrackMetrics::of(&track);
        let assigned = covered(&[(1, 1.0)]);
        let at = |now| {
            evaluate(
                &RuleSet::default(),
                &PatrolFacts {
                    track: &track,
                    metrics: &metrics,
                    assigned: &assigned,
                    duplicate_of: None,
                    now,
                },
            )
        };
        assert!(at(end - Duration::seconds(300)).valid);
        assert_eq!(
            at(end - Duration::seconds(301)).reasons,
            [Reason::FutureTimestamps]
        );
    }

    #[test]
    fn metrics_with_another_threshold_are_recomputed() {
        let track = walk(121, 10, 1e-4); // 4 km/h
        let metrics = TrackMetrics::of(&track); // at 25 km/h
        let strict = RuleSet {
            fast_speed_kmh: 3.0,
            ..RuleSet::default()
        };
        let assigned = covered(&[(1, 1.0)]);
        let got = strict.evaluate(&PatrolFacts {
            track: &track,
            metrics: &metrics,
            assigned: &assigned,
            duplicate_of: None,
            now: t0() + Duration::days(1),
        });
        assert_eq!(got.reasons, [Reason::TooFast]);
    }

    /// The verdict on `track` under `rules`, uploaded at `now`, with its
    /// reach fully covered: only the time rules can break.
    fn judged(rules: &RuleSet, track: &Track, now: DateTime<Utc>) -> Vec<Reason> {
        let metrics = TrackMetrics::of(track);
        let assigned = covered(&[(1, 1.0)]);
        rules
            .evaluate(&PatrolFacts {
                track,
                metrics: &metrics,
                assigned: &assigned,
                duplicate_of: None,
                now,
            })
            .reasons
    }

    /// Rules with only the given JSON overrides.
    fn town(json: &str) -> RuleSet {
        RuleSet::from_json(json).unwrap()
    }

    /// A walk of `seconds` in ten-minute steps (a point every 600 s, 4 km/h).
    fn walk_for(seconds: i64) -> Track {
        let mut track = walk((seconds / 600 + 1) as usize, 600, 6e-3);
        let last = track.points.len() - 1;
        track.points[last].time = t0() + Duration::seconds(seconds);
        track
    }

    /// 20 minutes of walking, a pause of `pause_s`, 20 minutes more.
    fn walk_with_pause(pause_s: i64) -> Track {
        let mut track = walk(242, 10, 1e-4);
        for p in &mut track.points[121..] {
            p.time += Duration::seconds(pause_s - 10);
        }
        track
    }

    #[test]
    fn too_long_at_and_beyond_the_threshold_and_per_town() {
        let later = t0() + Duration::days(1);
        let defaults = RuleSet::default();
        let eight_hours = 8 * 3600;
        assert_eq!(judged(&defaults, &walk_for(eight_hours), later), []);
        assert_eq!(
            judged(&defaults, &walk_for(eight_hours + 1), later),
            [Reason::TooLong]
        );
        let patient = town(r#"{"max_duration_h": 10}"#);
        assert_eq!(judged(&patient, &walk_for(eight_hours + 1), later), []);
        assert_eq!(
            judged(&patient, &walk_for(10 * 3600 + 1), later),
            [Reason::TooLong]
        );
    }

    #[test]
    fn time_gap_at_and_beyond_the_threshold_and_per_town() {
        let later = t0() + Duration::days(1);
        let defaults = RuleSet::default();
        assert_eq!(longest_interval_s(&walk_with_pause(3600)), 3600.0);
        assert_eq!(judged(&defaults, &walk_with_pause(3600), later), []);
        assert_eq!(
            judged(&defaults, &walk_with_pause(3601), later),
            [Reason::TimeGap]
        );
        let lunch = town(r#"{"max_gap_min": 90}"#);
        assert_eq!(judged(&lunch, &walk_with_pause(3601), later), []);
        assert_eq!(
            judged(&lunch, &walk_with_pause(5401), later),
            [Reason::TimeGap]
        );
        // A town may be stricter than the metrics' two-minute gaps.
        let strict = town(r#"{"max_gap_min": 1}"#);
        assert_eq!(
            judged(&strict, &walk_with_pause(61), later),
            [Reason::TimeGap]
        );
    }

    #[test]
    fn a_walk_plus_one_point_nine_days_earlier_is_too_long_with_a_gap() {
        let mut track = walk(121, 10, 1e-4);
        let mut early = track.points[0];
        early.time -= Duration::days(9);
        track.points.insert(0, early);
        assert_eq!(
            judged(&RuleSet::default(), &track, t0() + Duration::hours(1)),
            [Reason::TooLong, Reason::TimeGap, Reason::LateUpload]
        );
    }

    #[test]
    fn late_upload_at_and_beyond_the_deadline_per_town_and_off() {
        let track = walk(121, 10, 1e-4); // Monday 2026-07-06 09:00 CST, W28
        // W28 ends Monday 2026-07-13 00:00 CST; two days later:
        let deadline = Utc.with_ymd_and_hms(2026, 7, 14, 16, 0, 0).unwrap();
        assert_eq!(upload_deadline(&track, 2.0), Some(deadline));
        let defaults = RuleSet::default();
        assert_eq!(judged(&defaults, &track, deadline), []);
        let late = deadline + Duration::seconds(1);
        assert_eq!(judged(&defaults, &track, late), [Reason::LateUpload]);
        let lenient = town(r#"{"upload_grace_days": 7}"#);
        assert_eq!(judged(&lenient, &track, late), []);
        assert_eq!(
            judged(&lenient, &track, late + Duration::days(5)),
            [Reason::LateUpload]
        );
        let half_day = town(r#"{"upload_grace_days": 0.5}"#);
        assert_eq!(
            judged(&half_day, &track, deadline - Duration::days(1)),
            [Reason::LateUpload]
        );
        let off = town(r#"{"upload_grace_days": null}"#);
        assert_eq!(judged(&off, &track, late + Duration::days(400)), []);
    }

    #[test]
    fn reason_codes_round_trip() {
        for reason in Reason::ALL {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.code()));
            assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), reason);
            assert_eq!(reason.code().parse::<Reason>().unwrap(), reason);
        }
        let mut sorted = Reason::ALL;
        sorted.sort();
        assert_eq!(sorted, Reason::ALL);
        assert!("bogus".parse::<Reason>().is_err());
    }

    #[test]
    fn rule_set_json() {
        let defaults = serde_json::to_value(RuleSet::default()).unwrap();
        assert_eq!(
            defaults,
            serde_json::json!({
                "min_duration_s": 600.0, "min_length_m": 500.0, "min_coverage": 0.5,
                "buffer_m": 50.0, "fast_speed_kmh": 25.0, "max_fast_share": 0.2,
                "future_tolerance_s": 300.0, "max_duration_h": 8.0, "max_gap_min": 60.0,
                "upload_grace_days": 2.0
            })
        );
        let off = RuleSet::from_json(r#"{"upload_grace_days": null}"#).unwrap();
        assert_eq!(off.upload_grace_days, None);
        assert_eq!(
            serde_json::to_value(off).unwrap()["upload_grace_days"],
            serde_json::Value::Null
        );
        for bad in [
            r#"{"max_duration_h": 0}"#,
            r#"{"max_gap_min": -5}"#,
            r#"{"upload_grace_days": 0}"#,
            r#"{"max_duration_h": "8"}"#,
        ] {
            assert!(RuleSet::from_json(bad).is_err(), "{bad}");
        }
        assert_eq!(RuleSet::from_json("{}").unwrap(), RuleSet::default());
        assert!(matches!(
            RuleSet::from_json(r#"{"max_fast_share": 2}"#),
            Err(RuleSetError::OutOfRange {
                field: "max_fast_share",
                ..
            })
        ));
        assert!(matches!(
            RuleSet::from_json("[1]"),
            Err(RuleSetError::Json(_))
        ));
    }
}
