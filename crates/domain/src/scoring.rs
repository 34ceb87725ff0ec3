//! The assessment score (考核得分) of a chief for a quarter or a year, and the
//! ranking built on it, as used in party-branch reviews.
//!
//! With the default [`ScoreFormula`] a chief scores out of 100:
//!
//! | part | points | earned |
//! | --- | --- | --- |
//! | compliance | 60 | 60 × compliance rate (compliant / required weeks) |
//! | on-time resolution | 20 | 20 × share of the chief's issues resolved by their deadline |
//! | problems found | 20 | 20 × min(problems found, 4) / 4 |
//!
//! Decisions a town office can rely on:
//!
//! - **No issues to resolve** (on-time rate `None`): full marks for that part;
//!   nothing was late.
//! - **Nothing required** (compliance rate `None`: the chief was exempt or
//!   not in office for every week owed): the chief is not scored on
//!   compliance rather than given 0 or full marks. The other parts are scaled
//!   up to the formula's maximum, `total = earned / (max − compliance points)
//!   × max`, and `parts.compliance` is `None` so reports can show "—". (If
//!   the formula gives no points for the other parts either, there is
//!   nothing to hold against the chief: full marks.)
//! - Rates are clamped to 0..=1 (a NaN counts as 0).
//! - Parts are rounded to two decimals, and the total is computed from the
//!   rounded parts and rounded again, so an unscaled total is exactly the sum
//!   of the parts a report shows, and two chiefs tie when their shown totals
//!   are equal.
//! - **Ranking** is standard competition ranking ("1224"): equal totals
//!   share a rank and the next rank skips, so a rank always says how many
//!   chiefs did strictly better (rank − 1).
//!
//! ```
//! use domain::scoring::{ScoreFormula, ScoreInputs, competition_ranks};
//!
//! let formula = ScoreFormula::default();
//! let s = formula.score(&ScoreInputs {
//!     compliance_rate: Some(0.75),      // 6 of 8 weeks
//!     on_time_resolution_rate: None,    // no issues to resolve: full marks
//!     problems_found: 3,                // 3 of the 4 that earn full marks
//! });
//! assert_eq!(s.total, 45.0 + 20.0 + 15.0);
//! assert_eq!(competition_ranks(&[80.0, 92.5, 80.0, 70.0]), [2, 1, 2, 4]);
//! ```

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Why a score formula was rejected (code `invalid_score_formula`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreFormulaError {
    /// Points must be finite and not negative.
    #[error("{field} must be a finite number of points, 0 or more (got {value})")]
    InvalidPoints {
        /// The offending setting.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// `problems_found_cap` of 0 would divide by zero.
    #[error(
        "problems_found_cap must be at least 1: it is the number of problems that earn full marks"
    )]
    ZeroCap,
    /// All parts worth 0 points.
    #[error("the score formula gives no points at all: set at least one part above 0")]
    NoPoints,
}

impl ScoreFormulaError {
    /// Stable snake_case code for API errors.
    pub fn code(&self) -> &'static str {
        "invalid_score_formula"
    }
}

/// How many points each part is worth; a town may override the defaults
/// (60 / 20 / 20, 4 problems for full marks). Always valid: built with
/// [`ScoreFormula::new`] or deserialized (missing fields take the defaults,
/// unknown fields are rejected).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawScoreFormula")]
pub struct ScoreFormula {
    compliance_points: f64,
    on_time_resolution_points: f64,
    problems_found_points: f64,
    problems_found_cap: u32,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawScoreFormula {
    compliance_points: f64,
    on_time_resolution_points: f64,
    problems_found_points: f64,
    problems_found_cap: u32,
}

impl Default for RawScoreFormula {
    fn default() -> Self {
        let d = ScoreFormula::default();
        RawScoreFormula {
            compliance_points: d.compliance_points,
            on_time_resolution_points: d.on_time_resolution_points,
            problems_found_points: d.problems_found_points,
            problems_found_cap: d.problems_found_cap,
        }
    }
}

impl TryFrom<RawScoreFormula> for ScoreFormula {
    type Error = ScoreFormulaError;
    fn try_from(raw: RawScoreFormula) -> Result<Self, ScoreFormulaError> {
        ScoreFormula::new(
            raw.compliance_points,
            raw.on_time_resolution_points,
            raw.problems_found_points,
            raw.problems_found_cap,
        )
    }
}

impl Default for ScoreFormula {
    /// 60 points for compliance, 20 for on-time resolution, 20 for problems
    /// found, full marks from 4 problems found.
    fn default() -> Self {
        ScoreFormula {
            compliance_points: 60.0,
            on_time_resolution_points: 20.0,
            problems_found_points: 20.0,
            problems_found_cap: 4,
        }
    }
}

impl ScoreFormula {
    /// A formula; points must be finite and ≥ 0 with a positive sum, and
    /// `problems_found_cap` (problems that earn full marks) at least 1.
    pub fn new(
        compliance_points: f64,
        on_time_resolution_points: f64,
        problems_found_points: f64,
        problems_found_cap: u32,
    ) -> Result<Self, ScoreFormulaError> {
        for (field, value) in [
            ("compliance_points", compliance_points),
            ("on_time_resolution_points", on_time_resolution_points),
            ("problems_found_points", problems_found_points),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(ScoreFormulaError::InvalidPoints { field, value });
            }
        }
        if problems_found_cap == 0 {
            return Err(ScoreFormulaError::ZeroCap);
        }
        let formula = ScoreFormula {
            compliance_points,
            on_time_resolution_points,
            problems_found_points,
            problems_found_cap,
        };
        if formula.max_points() <= 0.0 {
            return Err(ScoreFormulaError::NoPoints);
        }
        Ok(formula)
    }

    /// Points for a compliance rate of 1.
    pub fn compliance_points(&self) -> f64 {
        self.compliance_points
    }

    /// Points for resolving every issue on time.
    pub fn on_time_resolution_points(&self) -> f64 {
        self.on_time_resolution_points
    }

    /// Points for finding `problems_found_cap` problems or more.
    pub fn problems_found_points(&self) -> f64 {
        self.problems_found_points
    }

    /// How many problems found earn the full problems-found points.
    pub fn problems_found_cap(&self) -> u32 {
        self.problems_found_cap
    }

    /// The best possible total (100 with the defaults).
    pub fn max_points(&self) -> f64 {
        self.compliance_points + self.on_time_resolution_points + self.problems_found_points
    }

    /// The score for one chief's inputs; see the module docs for the rules.
    pub fn score(&self, inputs: &ScoreInputs) -> Score {
        let compliance = inputs
            .compliance_rate
            .map(|rate| round2(self.compliance_points * unit(rate)));
        let on_time_resolution = round2(
            self.on_time_resolution_points * inputs.on_time_resolution_rate.map_or(1.0, unit),
        );
        let found = inputs.problems_found.min(self.problems_found_cap);
        let problems_found = round2(
            self.problems_found_points * f64::from(found) / f64::from(self.problems_found_cap),
        );
        let earned = compliance.unwrap_or(0.0) + on_time_resolution + problems_found;
        let max = self.max_points();
        let available = match compliance {
            Some(_) => max,
            None => max - self.compliance_points,
        };
        let total = if available > 0.0 {
            round2(earned * max / available)
        } else {
            max
        };
        Score {
            total,
            parts: ScoreParts {
                compliance,
                on_time_resolution,
                problems_found,
            },
        }
    }
}

/// What a chief is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ScoreInputs {
    /// Compliance rate (compliant / required weeks) from
    /// [`ComplianceSummary::rate`](crate::compliance::ComplianceSummary::rate);
    /// `None` when nothing was required.
    pub compliance_rate: Option<f64>,
    /// Share of the chief's issues due in the period that were resolved by
    /// their deadline; `None` when there were none (full marks).
    pub on_time_resolution_rate: Option<f64>,
    /// Problems the chief found (reported from patrols) in the period.
    pub problems_found: u32,
}

/// A chief's score: the total and what each part earned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Out of [`ScoreFormula::max_points`], two decimals.
    pub total: f64,
    /// Points earned per part, two decimals.
    pub parts: ScoreParts,
}

/// Points earned per part.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreParts {
    /// `None` when the chief is not scored on compliance (nothing required).
    pub compliance: Option<f64>,
    /// Points for resolving issues on time.
    pub on_time_resolution: f64,
    /// Points for problems found.
    pub problems_found: f64,
}

/// Standard competition ranks ("1224") of totals, higher is better, in the
/// order given: each rank is 1 + the number of strictly higher totals. A NaN
/// ranks below every number.
///
/// ```
/// assert_eq!(domain::scoring::competition_ranks(&[90.0, 85.0, 90.0, 70.0, 85.0]), [1, 3, 1, 5, 3]);
/// ```
pub fn competition_ranks(totals: &[f64]) -> Vec<u32> {
    let key = |x: f64| if x.is_nan() { f64::NEG_INFINITY } else { x };
    let mut descending: Vec<f64> = totals.iter().map(|x| key(*x)).collect();
    descending.sort_unstable_by(|a, b| b.total_cmp(a));
    totals
        .iter()
        .map(|x| {
            let x = key(*x);
            // Everything before the first value not above x is strictly above.
            let above = descending.partition_point(|y| y.total_cmp(&x) == Ordering::Greater);
            above as u32 + 1
        })
        .collect()
}

/// A rate clamped to 0..=1, NaN as 0.
fn unit(rate: f64) -> f64 {
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(compliance: Option<f64>, on_time: Option<f64>, found: u32) -> ScoreInputs {
        ScoreInputs {
            compliance_rate: compliance,
            on_time_resolution_rate: on_time,
            problems_found: found,
        }
    }

    #[test]
    fn default_formula_table() {
        let f = ScoreFormula::default();
        assert_eq!(f.max_points(), 100.0);
        // (inputs, compliance part, on-time part, problems part, total)
        #[rustfmt::skip]
        let cases = [
            (inputs(Some(1.0), Some(1.0), 4), Some(60.0), 20.0, 20.0, 100.0),
            (inputs(Some(0.75), None, 3), Some(45.0), 20.0, 15.0, 80.0),
            (inputs(Some(0.0), Some(0.0), 0), Some(0.0), 0.0, 0.0, 0.0),
            (inputs(Some(1.0), Some(0.5), 9), Some(60.0), 10.0, 20.0, 90.0),   // capped at 4
            (inputs(Some(12.0 / 13.0), Some(2.0 / 3.0), 1), Some(55.38), 13.33, 5.0, 73.71),
            // Not scored on compliance: (10 + 10) / 40 × 100.
            (inputs(None, Some(0.5), 2), None, 10.0, 10.0, 50.0),
            (inputs(None, None, 4), None, 20.0, 20.0, 100.0),
            (inputs(None, None, 0), None, 20.0, 0.0, 50.0),
            // Out-of-range rates are clamped, NaN counts as 0.
            (inputs(Some(1.5), Some(-0.5), 0), Some(60.0), 0.0, 0.0, 60.0),
            (inputs(Some(f64::NAN), None, 0), Some(0.0), 20.0, 0.0, 20.0),
        ];
        for (i, compliance, on_time, found, total) in cases {
            let s = f.score(&i);
            assert_eq!(s.parts.compliance, compliance, "{i:?}");
            assert_eq!(s.parts.on_time_resolution, on_time, "{i:?}");
            assert_eq!(s.parts.problems_found, found, "{i:?}");
            assert_eq!(s.total, total, "{i:?}");
        }
    }

    #[test]
    fn custom_formulas() {
        // Compliance only: a chief with nothing required gets full marks.
        let only = ScoreFormula::new(100.0, 0.0, 0.0, 1).unwrap();
        assert_eq!(only.score(&inputs(None, Some(0.0), 0)).total, 100.0);
        assert_eq!(only.score(&inputs(Some(0.5), None, 0)).total, 50.0);
        // 10 problems for the full 30.
        let f = ScoreFormula::new(50.0, 20.0, 30.0, 10).unwrap();
        let s = f.score(&inputs(Some(0.9), Some(1.0), 5));
        assert_eq!(
            (s.parts.compliance, s.parts.problems_found, s.total),
            (Some(45.0), 15.0, 80.0)
        );
        // Not scored on compliance: (20 + 15) / 50 × 100.
        assert_eq!(f.score(&inputs(None, Some(1.0), 5)).total, 70.0);
    }

    #[test]
    fn invalid_formulas_are_rejected() {
        assert_eq!(
            ScoreFormula::new(-1.0, 20.0, 20.0, 4),
            Err(ScoreFormulaError::InvalidPoints {
                field: "compliance_points",
                value: -1.0
            })
        );
        assert!(ScoreFormula::new(60.0, f64::NAN, 20.0, 4).is_err());
        assert!(ScoreFormula::new(60.0, 20.0, f64::INFINITY, 4).is_err());
        assert_eq!(
            ScoreFormula::new(60.0, 20.0, 20.0, 0),
            Err(ScoreFormulaError::ZeroCap)
        );
        assert_eq!(
            ScoreFormula::new(0.0, 0.0, 0.0, 4),
            Err(ScoreFormulaError::NoPoints)
        );
        assert_eq!(ScoreFormulaError::ZeroCap.code(), "invalid_score_formula");
    }

    #[test]
    fn formula_config_json() {
        let f: ScoreFormula = serde_json::from_str(r#"{"problems_found_cap": 6}"#).unwrap();
        assert_eq!(f, ScoreFormula::new(60.0, 20.0, 20.0, 6).unwrap());
        let json = serde_json::to_string(&ScoreFormula::default()).unwrap();
        assert_eq!(
            json,
            r#"{"compliance_points":60.0,"on_time_resolution_points":20.0,"problems_found_points":20.0,"problems_found_cap":4}"#
        );
        assert_eq!(
            serde_json::from_str::<ScoreFormula>(&json).unwrap(),
            ScoreFormula::default()
        );
        assert!(serde_json::from_str::<ScoreFormula>(r#"{"problems_found_cap": 0}"#).is_err());
        assert!(serde_json::from_str::<ScoreFormula>(r#"{"compliance_point": 50}"#).is_err());
        let s = ScoreFormula::default().score(&inputs(None, None, 2));
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            serde_json::json!({"total": 75.0, "parts": {"compliance": null, "on_time_resolution": 20.0, "problems_found": 10.0}})
        );
    }

    #[test]
    fn competition_ranking_table() {
        #[rustfmt::skip]
        let cases: [(&[f64], &[u32]); 7] = [
            (&[], &[]),
            (&[50.0], &[1]),
            (&[90.0, 85.0, 90.0, 70.0, 85.0], &[1, 3, 1, 5, 3]),
            (&[80.0, 80.0, 80.0], &[1, 1, 1]),
            (&[10.0, 20.0, 30.0, 40.0], &[4, 3, 2, 1]),
            (&[100.0, 90.0, 90.0, 80.0], &[1, 2, 2, 4]), // "1224"
            (&[f64::NAN, 0.0, -1.0], &[3, 1, 2]),
        ];
        for (totals, ranks) in cases {
            assert_eq!(competition_ranks(totals), ranks, "{totals:?}");
        }
    }

    #[test]
    fn equal_shown_totals_tie() {
        // 2/3 computed two ways differs in the last bits but shows as 40.00.
        let f = ScoreFormula::new(60.0, 0.0, 40.0, 1).unwrap();
        let a = f.score(&inputs(Some(2.0 / 3.0), None, 0)).total;
        let b = f.score(&inputs(Some(1.0 - 1.0 / 3.0), None, 0)).total;
        let c = f.score(&inputs(Some(0.666_666_7), None, 0)).total;
        assert_eq!(competition_ranks(&[a, b, c]), [1, 1, 1]);
    }

    #[test]
    fn unscaled_total_is_the_sum_of_shown_parts() {
        let f = ScoreFormula::default();
        for weeks in 1..=14u32 {
            for compliant in 0..=weeks {
                for found in 0..6 {
                    let rate = f64::from(compliant) / f64::from(weeks);
                    let s = f.score(&inputs(Some(rate), Some(rate), found));
                    let sum = s.parts.compliance.unwrap()
                        + s.parts.on_time_resolution
                        + s.parts.problems_found;
                    assert_eq!(s.total, round2(sum));
                    assert!((0.0..=100.0).contains(&s.total));
                }
            }
        }
    }
}
