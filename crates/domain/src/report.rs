//! The quarterly assessment (季度考核): per chief, per party branch and for
//! the town, assembled from per-chief inputs with the weekly rule
//! ([`crate::compliance`]) and the score ([`crate::scoring`]). Pure: the
//! storage layer gathers the inputs, this module only adds up and ranks.
//!
//! Every number is explainable: a chief row carries its `weeks` map (week →
//! status), so `compliant`, `exempt`, `missed` and `rate` can be recounted by
//! hand, and branch figures are plain sums of their chiefs' rows.
//!
//! Definitions:
//! - **issues found** (发现问题): issues reported in the quarter from the
//!   chief's patrols or by the chief's own account;
//! - **resolved** (解决问题): issues of the chief's village (a town chief:
//!   town-level issues) marked resolved within the quarter;
//! - **on time** (按期解决): resolved no later than the issue's deadline; an
//!   issue without a deadline counts as on time;
//! - a **branch** sums its chiefs' weeks and patrols (rate = Σ compliant /
//!   Σ required); its issues resolved are those of its village (not summed
//!   over chiefs, so two chiefs of one village do not count an issue twice).

use crate::compliance::{DateRange, Tenure, WeekStatus, quarter_summary};
use crate::scoring::{Score, ScoreFormula, ScoreInputs, competition_ranks};
use crate::time::{IsoWeek, Quarter};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Issues resolved in the quarter, and how many of them on time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub resolved: u32,
    pub on_time: u32,
}

impl Resolved {
    /// Share resolved on time; `None` when nothing was resolved.
    pub fn on_time_rate(&self) -> Option<f64> {
        (self.resolved > 0).then(|| f64::from(self.on_time) / f64::from(self.resolved))
    }
}

/// What the store gathers for one chief.
#[derive(Debug, Clone)]
pub struct ChiefInput {
    pub chief_id: i64,
    pub code: String,
    pub name: String,
    /// `town` or `village`.
    pub level: String,
    pub village: Option<String>,
    pub branch_id: Option<i64>,
    pub tenure: Tenure,
    pub exemptions: Vec<DateRange>,
    /// Effectively valid patrols per week.
    pub valid_by_week: BTreeMap<IsoWeek, u32>,
    /// Valid patrols started in the quarter's weeks, and their length/time.
    pub valid_patrols: u32,
    pub length_m: f64,
    pub duration_s: f64,
    pub issues_found: u32,
    /// Issues of the chief's village (town chief: town-level issues).
    pub village_issues: Resolved,
}

/// What the store gathers for one party branch.
#[derive(Debug, Clone)]
pub struct BranchInput {
    pub branch_id: i64,
    pub code: String,
    pub name: String,
    pub village: Option<String>,
    /// Issues of the branch's village.
    pub village_issues: Resolved,
}

/// Week counts, patrols and issues: the columns a chief and a branch share.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Weeks with at least one day in office (在任周数).
    pub in_office: u32,
    /// compliant + missed (应巡周数).
    pub required: u32,
    pub compliant: u32,
    pub exempt: u32,
    pub missed: u32,
    pub pending: u32,
    /// compliant / required; `None` when nothing was required.
    pub rate: Option<f64>,
    pub valid_patrols: u32,
    pub km: f64,
    pub hours: f64,
    pub issues_found: u32,
    pub resolved: u32,
    pub resolved_on_time: u32,
}

impl Figures {
    fn add(&mut self, o: &Figures) {
        self.in_office += o.in_office;
        self.required += o.required;
        self.compliant += o.compliant;
        self.exempt += o.exempt;
        self.missed += o.missed;
        self.pending += o.pending;
        self.valid_patrols += o.valid_patrols;
        self.km += o.km;
        self.hours += o.hours;
        self.issues_found += o.issues_found;
    }

    fn finish_rate(&mut self) {
        self.rate =
            (self.required > 0).then(|| f64::from(self.compliant) / f64::from(self.required));
        self.km = round2(self.km);
        self.hours = round2(self.hours);
    }

    fn score(&self, formula: &ScoreFormula) -> Score {
        let resolved = Resolved {
            resolved: self.resolved,
            on_time: self.resolved_on_time,
        };
        formula.score(&ScoreInputs {
            compliance_rate: self.rate,
            on_time_resolution_rate: resolved.on_time_rate(),
            problems_found: self.issues_found,
        })
    }
}

/// One chief's row.
#[derive(Debug, Clone, Serialize)]
pub struct ChiefRow {
    pub chief_id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub village: Option<String>,
    pub branch_id: Option<i64>,
    pub branch: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
    pub score: Score,
    /// Standard competition rank within the town (1 = best).
    pub rank: u32,
    /// Week → status: the evidence behind the counts.
    pub weeks: BTreeMap<IsoWeek, WeekStatus>,
}

/// One party branch's row.
#[derive(Debug, Clone, Serialize)]
pub struct BranchRow {
    pub branch_id: i64,
    pub code: String,
    pub name: String,
    pub village: Option<String>,
    pub chiefs: u32,
    #[serde(flatten)]
    pub figures: Figures,
    pub score: Score,
    pub rank: u32,
}

/// The town's totals.
#[derive(Debug, Clone, Serialize)]
pub struct TownSummary {
    pub town_id: i64,
    pub code: String,
    pub name: String,
    pub chiefs: u32,
    pub branches: u32,
    #[serde(flatten)]
    pub figures: Figures,
    /// Mean of the chiefs' scores (`None` without chiefs).
    pub mean_score: Option<f64>,
}

/// The whole quarterly report.
#[derive(Debug, Clone, Serialize)]
pub struct QuarterlyReport {
    pub quarter: Quarter,
    pub weeks: Vec<IsoWeek>,
    pub generated_at: DateTime<Utc>,
    pub formula: ScoreFormula,
    pub town: TownSummary,
    pub chiefs: Vec<ChiefRow>,
    pub branches: Vec<BranchRow>,
}

/// The town the report is for.
#[derive(Debug, Clone)]
pub struct TownInput {
    pub town_id: i64,
    pub code: String,
    pub name: String,
}

/// Assembles the report. Chiefs come out by rank then code; branches by rank
/// then code. Town-level issues resolved count once in the town summary
/// (Σ branch villages + town chiefs' town-level issues, deduplicated by the
/// store through `town_resolved`).
pub fn quarterly(
    quarter: Quarter,
    town: TownInput,
    chiefs: Vec<ChiefInput>,
    branches: Vec<BranchInput>,
    town_resolved: Resolved,
    formula: ScoreFormula,
    now: DateTime<Utc>,
) -> QuarterlyReport {
    let branch_names: BTreeMap<i64, &str> = branches
        .iter()
        .map(|b| (b.branch_id, b.name.as_str()))
        .collect();
    let mut rows: Vec<ChiefRow> = chiefs
        .iter()
        .map(|c| {
            let s = quarter_summary(quarter, &c.tenure, &c.exemptions, &c.valid_by_week, now);
            let mut figures = Figures {
                in_office: s.in_office,
                required: s.required,
                compliant: s.compliant,
                exempt: s.exempt,
                missed: s.missed,
                pending: s.pending,
                rate: None,
                valid_patrols: c.valid_patrols,
                km: c.length_m / 1000.0,
                hours: c.duration_s / 3600.0,
                issues_found: c.issues_found,
                resolved: c.village_issues.resolved,
                resolved_on_time: c.village_issues.on_time,
            };
            figures.finish_rate();
            let score = figures.score(&formula);
            ChiefRow {
                chief_id: c.chief_id,
                code: c.code.clone(),
                name: c.name.clone(),
                level: c.level.clone(),
                village: c.village.clone(),
                branch_id: c.branch_id,
                branch: c
                    .branch_id
                    .and_then(|b| branch_names.get(&b).map(|n| (*n).to_owned())),
                figures,
                score,
                rank: 0,
                weeks: s.weeks,
            }
        })
        .collect();
    let ranks = competition_ranks(&rows.iter().map(|r| r.score.total).collect::<Vec<_>>());
    for (row, rank) in rows.iter_mut().zip(ranks) {
        row.rank = rank;
    }
    rows.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.code.cmp(&b.code)));

    let mut branch_rows: Vec<BranchRow> = branches
        .iter()
        .map(|b| {
            let mut figures = Figures::default();
            let mut count = 0;
            for r in rows.iter().filter(|r| r.branch_id == Some(b.branch_id)) {
                figures.add(&r.figures);
                count += 1;
            }
            figures.resolved = b.village_issues.resolved;
            figures.resolved_on_time = b.village_issues.on_time;
            figures.finish_rate();
            let score = figures.score(&formula);
            BranchRow {
                branch_id: b.branch_id,
                code: b.code.clone(),
                name: b.name.clone(),
                village: b.village.clone(),
                chiefs: count,
                figures,
                score,
                rank: 0,
            }
        })
        .collect();
    let ranks = competition_ranks(
        &branch_rows
            .iter()
            .map(|r| r.score.total)
            .collect::<Vec<_>>(),
    );
    for (row, rank) in branch_rows.iter_mut().zip(ranks) {
        row.rank = rank;
    }
    branch_rows.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.code.cmp(&b.code)));

    let mut figures = Figures::default();
    for r in &rows {
        figures.add(&r.figures);
    }
    figures.resolved = town_resolved.resolved;
    figures.resolved_on_time = town_resolved.on_time;
    figures.finish_rate();
    let mean_score = (!rows.is_empty())
        .then(|| round2(rows.iter().map(|r| r.score.total).sum::<f64>() / rows.len() as f64));
    QuarterlyReport {
        quarter,
        weeks: quarter.weeks(),
        generated_at: now,
        formula,
        town: TownSummary {
            town_id: town.town_id,
            code: town.code,
            name: town.name,
            chiefs: rows.len() as u32,
            branches: branch_rows.len() as u32,
            figures,
            mean_score,
        },
        chiefs: rows,
        branches: branch_rows,
    }
}

/// A rate as shown in every export: a percentage with one decimal
/// (`33.3%`), "—" when nothing was required.
///
/// ```
/// assert_eq!(domain::report::rate_text(Some(1.0 / 3.0)), "33.3%");
/// assert_eq!(domain::report::rate_text(None), "—");
/// ```
pub fn rate_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// A text cell made safe for a spreadsheet opening a CSV export (OWASP's
/// "CSV injection"): a cell that starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return would be run as a formula, so it gets a leading `'`,
/// which spreadsheets show as text. Numbers (a negative score) stay as they
/// are; the CSV writer quotes every text cell.
///
/// ```
/// use domain::report::spreadsheet_text;
/// assert_eq!(spreadsheet_text(r#"=HYPERLINK("http://x")"#), r#"'=HYPERLINK("http://x")"#);
/// assert_eq!(spreadsheet_text("@SUM(A1)"), "'@SUM(A1)");
/// assert_eq!(spreadsheet_text("-2+3"), "'-2+3");
/// assert_eq!(spreadsheet_text("-1.50"), "-1.50");
/// assert_eq!(spreadsheet_text("张三"), "张三");
/// ```
pub fn spreadsheet_text(cell: &str) -> std::borrow::Cow<'_, str> {
    let formula_start = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula_start && cell.parse::<f64>().is_err() {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

// ------------------------------------------------------------------- year

/// One chief's year: each quarter's figures side by side, and the year's.
#[derive(Debug, Clone, Serialize)]
pub struct YearChiefRow {
    pub chief_id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub village: Option<String>,
    pub branch_id: Option<i64>,
    pub branch: Option<String>,
    /// Quarter → that quarter's figures (only quarters the chief was listed in).
    pub quarters: BTreeMap<Quarter, Figures>,
    /// The year: sums over the quarters; `rate` = Σ compliant / Σ required.
    #[serde(flatten)]
    pub figures: Figures,
    pub score: Score,
    pub rank: u32,
}

/// One party branch's year.
#[derive(Debug, Clone, Serialize)]
pub struct YearBranchRow {
    pub branch_id: i64,
    pub code: String,
    pub name: String,
    pub village: Option<String>,
    /// Distinct chiefs over the year.
    pub chiefs: u32,
    pub quarters: BTreeMap<Quarter, Figures>,
    #[serde(flatten)]
    pub figures: Figures,
    pub score: Score,
    pub rank: u32,
}

/// The town's year.
#[derive(Debug, Clone, Serialize)]
pub struct YearTownSummary {
    pub town_id: i64,
    pub code: String,
    pub name: String,
    pub chiefs: u32,
    pub branches: u32,
    pub quarters: BTreeMap<Quarter, Figures>,
    #[serde(flatten)]
    pub figures: Figures,
    pub mean_score: Option<f64>,
}

/// The year view (年度考核): four quarters side by side per chief, and the
/// year's rate = compliant weeks / required weeks over the year (not the
/// mean of the quarterly rates, which would weigh a 6-week quarter of a new
/// chief like a full one).
#[derive(Debug, Clone, Serialize)]
pub struct YearlyReport {
    pub year: i32,
    pub quarters: Vec<Quarter>,
    pub weeks: Vec<IsoWeek>,
    pub generated_at: DateTime<Utc>,
    pub formula: ScoreFormula,
    pub town: YearTownSummary,
    pub chiefs: Vec<YearChiefRow>,
    pub branches: Vec<YearBranchRow>,
}

impl YearlyReport {
    /// The rates of `by_quarter` (a chief's, a branch's or the town's), one
    /// per quarter of the year as displayed ("—" for a quarter not listed).
    pub fn quarter_rates(&self, by_quarter: &BTreeMap<Quarter, Figures>) -> Vec<String> {
        self.quarters
            .iter()
            .map(|q| {
                by_quarter
                    .get(q)
                    .map_or_else(|| "—".to_owned(), |f| rate_text(f.rate))
            })
            .collect()
    }
}

impl Figures {
    /// Adds everything, issues resolved included (quarters are disjoint).
    fn add_all(&mut self, o: &Figures) {
        self.add(o);
        self.resolved += o.resolved;
        self.resolved_on_time += o.resolved_on_time;
    }
}

/// Assembles the year from its four quarterly reports (in any order). A
/// chief or branch appears when listed in at least one quarter; scores and
/// ranks are recomputed from the year's sums with the formula of the last
/// quarter.
pub fn yearly(year: i32, quarters: Vec<QuarterlyReport>, now: DateTime<Utc>) -> YearlyReport {
    let mut quarters = quarters;
    quarters.sort_by_key(|q| q.quarter);
    let formula = quarters.last().map(|q| q.formula).unwrap_or_default();
    let mut chiefs: BTreeMap<i64, YearChiefRow> = BTreeMap::new();
    let mut branches: BTreeMap<i64, YearBranchRow> = BTreeMap::new();
    let mut members: BTreeMap<i64, std::collections::BTreeSet<i64>> = BTreeMap::new();
    let mut town_quarters = BTreeMap::new();
    let mut town_figures = Figures::default();
    let mut town_meta = None;
    for q in &quarters {
        town_quarters.insert(q.quarter, q.town.figures.clone());
        town_figures.add_all(&q.town.figures);
        town_meta = Some((q.town.town_id, q.town.code.clone(), q.town.name.clone()));
        for c in &q.chiefs {
            let row = chiefs.entry(c.chief_id).or_insert_with(|| YearChiefRow {
                chief_id: c.chief_id,
                code: c.code.clone(),
                name: c.name.clone(),
                level: c.level.clone(),
                village: c.village.clone(),
                branch_id: c.branch_id,
                branch: c.branch.clone(),
                quarters: BTreeMap::new(),
                figures: Figures::default(),
                score: c.score,
                rank: 0,
            });
            row.quarters.insert(q.quarter, c.figures.clone());
            row.figures.add_all(&c.figures);
            if let Some(b) = c.branch_id {
                members.entry(b).or_default().insert(c.chief_id);
            }
        }
        for b in &q.branches {
            let row = branches
                .entry(b.branch_id)
                .or_insert_with(|| YearBranchRow {
                    branch_id: b.branch_id,
                    code: b.code.clone(),
                    name: b.name.clone(),
                    village: b.village.clone(),
                    chiefs: 0,
                    quarters: BTreeMap::new(),
                    figures: Figures::default(),
                    score: b.score,
                    rank: 0,
                });
            row.quarters.insert(q.quarter, b.figures.clone());
            row.figures.add_all(&b.figures);
        }
    }
    let mut chief_rows: Vec<YearChiefRow> = chiefs.into_values().collect();
    for r in &mut chief_rows {
        r.figures.finish_rate();
        r.score = r.figures.score(&formula);
    }
    let ranks = competition_ranks(&chief_rows.iter().map(|r| r.score.total).collect::<Vec<_>>());
    for (r, rank) in chief_rows.iter_mut().zip(ranks) {
        r.rank = rank;
    }
    chief_rows.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.code.cmp(&b.code)));

    let mut branch_rows: Vec<YearBranchRow> = branches
        .into_values()
        .map(|mut r| {
            r.chiefs = members.get(&r.branch_id).map_or(0, |m| m.len() as u32);
            r.figures.finish_rate();
            r.score = r.figures.score(&formula);
            r
        })
        .collect();
    let ranks = competition_ranks(
        &branch_rows
            .iter()
            .map(|r| r.score.total)
            .collect::<Vec<_>>(),
    );
    for (r, rank) in branch_rows.iter_mut().zip(ranks) {
        r.rank = rank;
    }
    branch_rows.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.code.cmp(&b.code)));

    town_figures.finish_rate();
    let mean_score = (!chief_rows.is_empty()).then(|| {
        round2(chief_rows.iter().map(|r| r.score.total).sum::<f64>() / chief_rows.len() as f64)
    });
    let (town_id, code, name) = town_meta.unwrap_or_default();
    YearlyReport {
        year,
        quarters: quarters.iter().map(|q| q.quarter).collect(),
        weeks: quarters
            .iter()
            .flat_map(|q| q.weeks.iter().copied())
            .collect(),
        generated_at: now,
        formula,
        town: YearTownSummary {
            town_id,
            code,
            name,
            chiefs: chief_rows.len() as u32,
            branches: branch_rows.len() as u32,
            quarters: town_quarters,
            figures: town_figures,
            mean_score,
        },
        chiefs: chief_rows,
        branches: branch_rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn w(s: &str) -> IsoWeek {
        s.parse().unwrap()
    }

    fn chief(id: i64, code: &str, branch: i64) -> ChiefInput {
        ChiefInput {
            chief_id: id,
            code: code.into(),
            name: format!("河长{id}"),
            level: "village".into(),
            village: Some("大村村".into()),
            branch_id: Some(branch),
            tenure: Tenure::since(d(2026, 1, 1)),
            exemptions: vec![],
            valid_by_week: BTreeMap::new(),
            valid_patrols: 0,
            length_m: 0.0,
            duration_s: 0.0,
            issues_found: 0,
            village_issues: Resolved::default(),
        }
    }

    /// 2026-Q4 has 14 weeks (W40..=W53). Hand-computed scenario, report
    /// taken after the quarter ended:
    /// - A: patrols in W40, W41 (two patrols), W42; exempt 2026-10-12..18
    ///   (= W42, but W42 is compliant: compliance wins) and 2026-10-19..25
    ///   (W43) → 3 compliant, 1 exempt, 10 missed, required 13, rate 3/13.
    ///   Found 2 issues, village resolved 2 of which 1 on time.
    /// - B: appointed 2026-11-25 (Wednesday of W48): W40..W47 not in office,
    ///   W48..W53 in office = 6 weeks; patrols in W48 and W50 → 2 compliant,
    ///   4 missed, rate 2/6.
    /// - C (other branch): no patrols, exempt the whole quarter → required 0,
    ///   rate None, score scaled from the other parts (20 + 0) × 100/40 = 50.
    #[test]
    fn hand_computed_quarter() {
        let q: Quarter = "2026-Q4".parse().unwrap();
        assert_eq!(q.weeks().len(), 14);
        let now = Utc.with_ymd_and_hms(2027, 1, 10, 0, 0, 0).unwrap();

        let mut a = chief(1, "HZ001", 10);
        a.valid_by_week = [(w("2026-W40"), 1), (w("2026-W41"), 2), (w("2026-W42"), 1)].into();
        a.valid_patrols = 4;
        a.length_m = 6_000.0;
        a.duration_s = 7_200.0;
        a.exemptions = vec![
            DateRange::new(d(2026, 10, 12), d(2026, 10, 18)).unwrap(),
            DateRange::new(d(2026, 10, 19), d(2026, 10, 25)).unwrap(),
        ];
        a.issues_found = 2;
        a.village_issues = Resolved {
            resolved: 2,
            on_time: 1,
        };

        let mut b = chief(2, "HZ002", 10);
        b.tenure = Tenure::since(d(2026, 11, 25));
        b.valid_by_week = [(w("2026-W48"), 1), (w("2026-W50"), 1)].into();
        b.valid_patrols = 2;
        b.length_m = 1_500.0;
        b.duration_s = 1_800.0;
        b.village_issues = Resolved {
            resolved: 2,
            on_time: 1,
        };

        let mut c = chief(3, "HZ003", 20);
        c.exemptions = vec![DateRange::new(d(2026, 9, 1), d(2027, 1, 31)).unwrap()];

        let branches = vec![
            BranchInput {
                branch_id: 10,
                code: "B01".into(),
                name: "大村村党总支".into(),
                village: Some("大村村".into()),
                village_issues: Resolved {
                    resolved: 2,
                    on_time: 1,
                },
            },
            BranchInput {
                branch_id: 20,
                code: "B02".into(),
                name: "小村村党支部".into(),
                village: None,
                village_issues: Resolved::default(),
            },
        ];
        let town = TownInput {
            town_id: 1,
            code: "530127104".into(),
            name: "牛栏江镇".into(),
        };
        let r = quarterly(
            q,
            town,
            vec![a, b, c],
            branches,
            Resolved {
                resolved: 2,
                on_time: 1,
            },
            ScoreFormula::default(),
            now,
        );
        assert_eq!(r.weeks.len(), 14);
        let row = |id| r.chiefs.iter().find(|c| c.chief_id == id).unwrap();

        let a = row(1);
        assert_eq!(a.weeks.len(), 14);
        assert_eq!(a.weeks[&w("2026-W42")], WeekStatus::Compliant);
        assert_eq!(a.weeks[&w("2026-W43")], WeekStatus::Exempt);
        assert_eq!(a.weeks[&w("2026-W53")], WeekStatus::Missed);
        let f = &a.figures;
        assert_eq!(
            (f.in_office, f.compliant, f.exempt, f.missed),
            (14, 3, 1, 10)
        );
        assert_eq!(f.required, 13);
        assert_eq!(f.rate, Some(3.0 / 13.0));
        assert_eq!((f.valid_patrols, f.km, f.hours), (4, 6.0, 2.0));
        // 60 × 3/13 = 13.846 → 13.85; 20 × 1/2 = 10; 20 × 2/4 = 10.
        assert_eq!(a.score.total, 33.85);

        let b = row(2);
        assert_eq!(b.weeks[&w("2026-W47")], WeekStatus::NotInOffice);
        assert_eq!(b.weeks[&w("2026-W48")], WeekStatus::Compliant);
        let f = &b.figures;
        assert_eq!((f.in_office, f.compliant, f.exempt, f.missed), (6, 2, 0, 4));
        assert_eq!(f.rate, Some(2.0 / 6.0));
        // 60 × 1/3 = 20; 10; 0.
        assert_eq!(b.score.total, 30.0);

        let c = row(3);
        assert_eq!((c.figures.exempt, c.figures.required), (14, 0));
        assert_eq!(c.figures.rate, None);
        assert_eq!(c.score.parts.compliance, None);
        assert_eq!(c.score.total, 50.0);

        assert_eq!(
            r.chiefs
                .iter()
                .map(|c| (c.chief_id, c.rank))
                .collect::<Vec<_>>(),
            [(3, 1), (1, 2), (2, 3)]
        );

        let b01 = r.branches.iter().find(|b| b.code == "B01").unwrap();
        assert_eq!(b01.chiefs, 2);
        let f = &b01.figures;
        assert_eq!(
            (f.in_office, f.compliant, f.exempt, f.missed),
            (20, 5, 1, 14)
        );
        assert_eq!(f.required, 19);
        assert_eq!(f.rate, Some(5.0 / 19.0));
        assert_eq!((f.valid_patrols, f.km, f.hours), (6, 7.5, 2.5));
        assert_eq!((f.issues_found, f.resolved, f.resolved_on_time), (2, 2, 1));
        // 60 × 5/19 = 15.789 → 15.79; 10; 10.
        assert_eq!(b01.score.total, 35.79);
        let b02 = r.branches.iter().find(|b| b.code == "B02").unwrap();
        assert_eq!(b02.score.total, 50.0);
        assert_eq!((b02.rank, b01.rank), (1, 2));

        let t = &r.town.figures;
        assert_eq!(
            (t.in_office, t.compliant, t.exempt, t.missed),
            (34, 5, 15, 14)
        );
        assert_eq!(t.rate, Some(5.0 / 19.0));
        assert_eq!(r.town.mean_score, Some(37.95));
    }

    #[test]
    fn pending_weeks_are_not_required() {
        let q: Quarter = "2026-Q4".parse().unwrap();
        // Thursday of W48: W48..W53 are pending.
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap();
        let c = chief(1, "HZ001", 10);
        let town = TownInput {
            town_id: 1,
            code: "530127104".into(),
            name: "镇".into(),
        };
        let r = quarterly(
            q,
            town,
            vec![c],
            vec![],
            Resolved::default(),
            ScoreFormula::default(),
            now,
        );
        let f = &r.chiefs[0].figures;
        assert_eq!((f.missed, f.pending, f.required), (8, 6, 8));
        assert_eq!(f.rate, Some(0.0));
    }
}
