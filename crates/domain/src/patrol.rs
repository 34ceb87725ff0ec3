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
