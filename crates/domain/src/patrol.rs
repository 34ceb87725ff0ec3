//! Assessing one uploaded patrol: metrics, coverage of every assigned reach
//! and the validity verdict, from a parsed track and the reaches assigned
//! on its day. The storage layer gathers the inputs and keeps the result.

use chrono::{DateTime, Utc};
use geo::MultiLineString;

use crate::coverage::{ReachCoverage, TrackIndex};
use crate::metrics::TrackMetrics;
use crate::similarity;
use crate::track::Track;
use crate::validity::{AssignedCoverage, PatrolFacts, RuleSet, Validity};

/// A reach assigned to the chief on the patrol's day.
pub struct AssignedReach<'a> {
    pub reach_id: i64,
    pub geometry: &'a MultiLineString<f64>,
}

impl<'a> AssignedReach<'a> {
    /// The reaches as a store reads them: `(id, geometry)`.
    pub fn all(reaches: &'a [(i64, MultiLineString<f64>)]) -> Vec<Self> {
        reaches
            .iter()
            .map(|(reach_id, geometry)| Self {
                reach_id: *reach_id,
                geometry,
            })
            .collect()
    }
}

/// Everything the service records about a patrol besides the file.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub metrics: TrackMetrics,
    /// Coverage of each assigned reach, in input order.
    pub reaches: Vec<(i64, ReachCoverage)>,
    pub validity: Validity,
    /// Flags of the file (reader) and of the track (e.g. `synthetic`).
    pub flags: Vec<&'static str>,
}

impl Assessment {
    /// The best coverage of any assigned reach (0 when none).
    pub fn best_coverage(&self) -> f64 {
        self.validity
            .best_reach
            .map(|b| b.coverage.get())
            .unwrap_or(0.0)
    }
}

/// A reach assigned to some chief on a track's day: what the office's bulk
/// upload matches an unnamed track file against.
pub struct ChiefReach<'a> {
    pub chief_id: i64,
    pub reach: AssignedReach<'a>,
}

/// A chief a track file may belong to: the reach of theirs it covers best.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiefMatch {
    pub chief_id: i64,
    pub reach_id: i64,
    pub coverage: f64,
}

/// The chiefs whose reaches `track` covers (coverage computed as for an
/// upload, within `buffer_m`), each once with their best-covered reach,
/// best first (ties by chief id, so the answer is stable). Chiefs whose
/// reaches the track does not touch are left out: a track far from every
/// reach has no candidates.
pub fn rank_chiefs(track: &Track, reaches: &[ChiefReach<'_>], buffer_m: f64) -> Vec<ChiefMatch> {
    let index = TrackIndex::new(track);
    let mut best: Vec<ChiefMatch> = Vec::new();
    for r in reaches {
        let coverage = index.coverage(r.reach.geometry, buffer_m).coverage.get();
        if coverage <= 0.0 {
            continue;
        }
        let candidate = ChiefMatch {
            chief_id: r.chief_id,
            reach_id: r.reach.reach_id,
            coverage,
        };
        match best.iter_mut().find(|m| m.chief_id == r.chief_id) {
            Some(m) if m.coverage < coverage => *m = candidate,
            Some(_) => {}
            None => best.push(candidate),
        }
    }
    best.sort_by(|a, b| {
        b.coverage
            .total_cmp(&a.coverage)
            .then(a.chief_id.cmp(&b.chief_id))
    });
    best
}

/// Measures `track` against `reaches` under `rules`.
pub fn assess(
    track: &Track,
    reaches: &[AssignedReach<'_>],
    rules: &RuleSet,
    duplicate_of: Option<i64>,
    now: DateTime<Utc>,
) -> Assessment {
    let metrics = TrackMetrics::with_params(track, &rules.metrics_params());
    let index = TrackIndex::new(track);
    let coverages: Vec<(i64, ReachCoverage)> = reaches
        .iter()
        .map(|r| (r.reach_id, index.coverage(r.geometry, rules.buffer_m)))
        .collect();
    let assigned: Vec<AssignedCoverage> = coverages
        .iter()
        .map(|(reach_id, c)| AssignedCoverage {
            reach_id: *reach_id,
            coverage: c.coverage,
        })
        .collect();
    let validity = rules.evaluate(&PatrolFacts {
        track,
        metrics: &metrics,
        assigned: &assigned,
        duplicate_of,
        now,
    });
    let mut flags: Vec<&'static str> = track.flags.iter().copied().collect();
    if similarity::looks_synthetic(track) {
        flags.push(similarity::SYNTHETIC_FLAG);
    }
    flags.sort_unstable();
    flags.dedup();
    Assessment {
        metrics,
        reaches: coverages,
        validity,
        flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A walk east along latitude 25.3 from `lon0` to `lon1`, a point a
    /// second, ~1.4 m/s.
    fn walk_east(lon0: f64, lon1: f64) -> Track {
        let t0 = Utc.with_ymd_and_hms(2026, 7, 14, 1, 0, 0).unwrap();
        let n = ((lon1 - lon0) / 0.000014).round() as i64;
        let points = (0..=n)
            .map(|i| crate::TrackPoint {
                lon: lon0 + (lon1 - lon0) * i as f64 / n as f64,
                lat: 25.3,
                ele: None,
                time: t0 + chrono::Duration::seconds(i),
            })
            .collect();
        Track {
            points,
            ..Track::default()
        }
    }

    fn reach(lon0: f64, lon1: f64) -> MultiLineString<f64> {
        MultiLineString::new(vec![geo::LineString::from(vec![
            (lon0, 25.3),
            (lon1, 25.3),
        ])])
    }

    #[test]
    fn the_chief_whose_reach_the_track_covers_comes_first_and_far_ones_not_at_all() {
        let (west, east, far) = (
            reach(103.10, 103.11),
            reach(103.11, 103.12),
            reach(104.0, 104.01),
        );
        let reaches = [
            (7, 1, &far),
            (8, 2, &east),
            (9, 3, &west),
            // Chief 8 also has the western reach: listed once, by its best.
            (8, 3, &west),
        ]
        .map(|(chief_id, reach_id, geometry)| ChiefReach {
            chief_id,
            reach: AssignedReach { reach_id, geometry },
        });
        // Along all of the western reach and a fifth of the eastern one.
        let ranked = rank_chiefs(&walk_east(103.10, 103.112), &reaches, 50.0);
        let chiefs: Vec<(i64, i64)> = ranked.iter().map(|m| (m.chief_id, m.reach_id)).collect();
        assert_eq!(chiefs, [(8, 3), (9, 3)], "{ranked:?}");
        assert!(ranked[0].coverage > 0.95 && ranked[0].coverage <= 1.0);
        assert!(rank_chiefs(&walk_east(105.0, 105.01), &reaches, 50.0).is_empty());
    }
}
