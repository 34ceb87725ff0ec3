//! Inputs of the quarterly assessment, gathered with a handful of set-based
//! queries (one per kind of fact, for the whole town), then assembled by the
//! pure `domain::report`. Weekly counts come from `chief_weeks`, which the
//! patrol upload keeps current, so no query scans every patrol's track.

use chrono::{DateTime, NaiveDate, Utc};
use domain::compliance::{DateRange, Tenure, WeekStatus, week_status};
use domain::report::{
    BranchInput, ChiefInput, QuarterlyReport, Resolved, TownInput, YearlyReport,
    quarterly as assemble, yearly as assemble_year,
};
use domain::scoring::ScoreFormula;
use domain::time::{IsoWeek, Quarter, Year};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};

use crate::{Result, StoreError};

#[derive(sqlx::FromRow)]
struct ChiefRow {
    id: i64,
    code: String,
    name: String,
    level: String,
    village_id: Option<i64>,
    village: Option<String>,
    branch_id: Option<i64>,
    appointed_on: NaiveDate,
    left_on: Option<NaiveDate>,
}

#[derive(sqlx::FromRow)]
struct BranchRow {
    id: i64,
    code: String,
    name: String,
    village_id: Option<i64>,
    village: Option<String>,
}

/// Resolved issues per village; `village_id` NULL = town-level issues.
#[derive(sqlx::FromRow)]
struct ResolvedRow {
    village_id: Option<i64>,
    resolved: i64,
    on_time: i64,
}

fn tenure(appointed_on: NaiveDate, left_on: Option<NaiveDate>) -> Result<Tenure> {
    Tenure::new(appointed_on, left_on).map_err(|e| StoreError::invalid("left_on", e.to_string()))
}

fn range(from: NaiveDate, to: NaiveDate) -> Result<DateRange> {
    DateRange::new(from, to).map_err(|e| StoreError::invalid("exemption", e.to_string()))
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Chiefs in office on at least one day of the quarter's weeks.
const CHIEFS: &str = "SELECT c.id, c.code, c.name, c.level, c.village_id, v.name AS village, \
       c.branch_id, c.appointed_on, c.left_on \
  FROM chiefs c LEFT JOIN villages v ON v.id = c.village_id \
 WHERE c.town_id = $1 AND c.appointed_on <= $3 AND (c.left_on IS NULL OR c.left_on >= $2) \
 ORDER BY c.code";

/// The quarterly assessment of one town.
pub async fn quarterly(
    pool: &PgPool,
    town_id: i64,
    quarter: Quarter,
    now: DateTime<Utc>,
) -> Result<QuarterlyReport> {
    let (first, last) = (quarter.first_day(), quarter.last_day());
    let (start, end) = (quarter.start_utc(), quarter.end_utc());
    let town: (i64, String, String) =
        sqlx::query_as("SELECT id, code, name FROM towns WHERE id = $1")
            .bind(town_id)
            .fetch_optional(pool)
            .await?
            .ok_or(StoreError::NotFound("town"))?;

    let chiefs: Vec<ChiefRow> = sqlx::query_as(CHIEFS)
        .bind(town_id)
        .bind(first)
        .bind(last)
        .fetch_all(pool)
        .await?;
    let branches: Vec<BranchRow> = sqlx::query_as(
        "SELECT b.id, b.code, b.name, b.village_id, v.name AS village \
           FROM branches b LEFT JOIN villages v ON v.id = b.village_id \
          WHERE b.town_id = $1 ORDER BY b.code",
    )
    .bind(town_id)
    .fetch_all(pool)
    .await?;

    let mut exemptions: HashMap<i64, Vec<DateRange>> = HashMap::new();
    let rows: Vec<(i64, NaiveDate, NaiveDate)> = sqlx::query_as(
        "SELECT chief_id, from_date, to_date FROM exemptions \
          WHERE town_id = $1 AND from_date <= $3 AND to_date >= $2 AND status = 'approved'",
    )
    .bind(town_id)
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await?;
    for (chief, from, to) in rows {
        exemptions.entry(chief).or_default().push(range(from, to)?);
    }

    let mut weeks: HashMap<i64, BTreeMap<IsoWeek, u32>> = HashMap::new();
    let rows: Vec<(i64, NaiveDate, i32)> = sqlx::query_as(
        "SELECT chief_id, week_start, valid_patrols FROM chief_weeks \
          WHERE town_id = $1 AND week_start BETWEEN $2 AND $3 AND valid_patrols > 0",
    )
    .bind(town_id)
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await?;
    for (chief, monday, n) in rows {
        let week = IsoWeek::of_date(monday)
            .map_err(|e| StoreError::invalid("week_start", e.to_string()))?;
        weeks
            .entry(chief)
            .or_default()
            .insert(week, u32::try_from(n).unwrap_or(0));
    }

    // Patrols count by their week (as chief_weeks does), effectively valid
    // meaning the office's override wins over the machine verdict.
    let totals: HashMap<i64, (i64, f64, f64)> = sqlx::query_as::<_, (i64, i64, f64, f64)>(
        "SELECT chief_id, count(*), coalesce(sum(length_m), 0), coalesce(sum(duration_s), 0) \
           FROM patrols \
          WHERE town_id = $1 AND week_start BETWEEN $2 AND $3 \
            AND coalesce(override_valid, valid) \
          GROUP BY chief_id",
    )
    .bind(town_id)
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(c, n, m, s)| (c, (n, m, s)))
    .collect();

    // Found: from the chief's patrols, or reported from the chief's account.
    let found: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT coalesce(p.chief_id, u.chief_id) AS chief_id, count(*) \
           FROM issues i \
           LEFT JOIN patrols p ON p.id = i.patrol_id \
           LEFT JOIN users u ON u.id = i.reporter_user_id \
          WHERE i.town_id = $1 AND i.created_at >= $2 AND i.created_at < $3 \
            AND coalesce(p.chief_id, u.chief_id) IS NOT NULL \
          GROUP BY 1",
    )
    .bind(town_id)
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();

    // Resolved in the quarter; on time = by the deadline (no deadline: on
    // time). Town-level issues are grouped under NULL, the town chiefs' share.
    let resolved: Vec<ResolvedRow> = sqlx::query_as(
        "SELECT CASE WHEN level = 'town' THEN NULL ELSE village_id END AS village_id, \
                count(*) AS resolved, \
                count(*) FILTER (WHERE deadline IS NULL OR resolved_at <= deadline) AS on_time \
           FROM issues \
          WHERE town_id = $1 AND resolved_at >= $2 AND resolved_at < $3 \
          GROUP BY 1",
    )
    .bind(town_id)
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let by_village: HashMap<Option<i64>, Resolved> = resolved
        .iter()
        .map(|r| {
            (
                r.village_id,
                Resolved {
                    resolved: count(r.resolved),
                    on_time: count(r.on_time),
                },
            )
        })
        .collect();
    let town_resolved = resolved
        .iter()
        .fold(Resolved::default(), |acc, r| Resolved {
            resolved: acc.resolved + count(r.resolved),
            on_time: acc.on_time + count(r.on_time),
        });

    let mut inputs = Vec::with_capacity(chiefs.len());
    for c in chiefs {
        let (n, length_m, duration_s) = totals.get(&c.id).copied().unwrap_or((0, 0.0, 0.0));
        let key = if c.level == "town" {
            None
        } else {
            c.village_id
        };
        inputs.push(ChiefInput {
            chief_id: c.id,
            tenure: tenure(c.appointed_on, c.left_on)?,
            exemptions: exemptions.remove(&c.id).unwrap_or_default(),
            valid_by_week: weeks.remove(&c.id).unwrap_or_default(),
            valid_patrols: count(n),
            length_m,
            duration_s,
            issues_found: count(found.get(&c.id).copied().unwrap_or(0)),
            village_issues: by_village.get(&key).copied().unwrap_or_default(),
            code: c.code,
            name: c.name,
            level: c.level,
            village: c.village,
            branch_id: c.branch_id,
        });
    }
    let branch_inputs = branches
        .into_iter()
        .map(|b| BranchInput {
            branch_id: b.id,
            village_issues: b
                .village_id
                .and_then(|v| by_village.get(&Some(v)).copied())
                .unwrap_or_default(),
            code: b.code,
            name: b.name,
            village: b.village,
        })
        .collect();
    Ok(assemble(
        quarter,
        TownInput {
            town_id: town.0,
            code: town.1,
            name: town.2,
        },
        inputs,
        branch_inputs,
        town_resolved,
        ScoreFormula::default(),
        now,
    ))
}

/// The year's assessment of one town: its four quarters, assembled by
/// `domain::report::yearly` (a few set-based queries per quarter).
pub async fn yearly(
    pool: &PgPool,
    town_id: i64,
    year: Year,
    now: DateTime<Utc>,
) -> Result<YearlyReport> {
    let mut quarters = Vec::with_capacity(4);
    for quarter in year.quarters() {
        quarters.push(quarterly(pool, town_id, quarter, now).await?);
    }
    Ok(assemble_year(year.get(), quarters, now))
}

/// One patrol behind a week's status.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WeekPatrol {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    #[serde(skip)]
    pub week_start: NaiveDate,
    /// Effectively valid (the office's override wins).
    pub valid: bool,
    pub machine_valid: bool,
    pub override_valid: Option<bool>,
    pub override_reason: Option<String>,
    pub reasons: Vec<String>,
    pub length_m: f64,
    pub duration_s: f64,
}

/// One week of the drill-down.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WeekDetail {
    #[schema(value_type = String, example = "2026-W48")]
    pub week: IsoWeek,
    #[schema(value_type = String, example = "compliant")]
    pub status: WeekStatus,
    /// Exemptions touching the week, as `from..=to`.
    pub exemptions: Vec<String>,
    pub patrols: Vec<WeekPatrol>,
}

/// A chief's quarter, week by week, with the patrols that made each status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChiefQuarter {
    pub chief_id: i64,
    pub town_id: i64,
    pub code: String,
    pub name: String,
    pub appointed_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    #[schema(value_type = String, example = "2026-Q4")]
    pub quarter: Quarter,
    pub weeks: Vec<WeekDetail>,
}

/// The drill-down of one chief's quarter. Statuses are recomputed from the
/// patrols listed (not from `chief_weeks`), so the evidence and the verdict
/// cannot disagree.
pub async fn chief_quarter(
    pool: &PgPool,
    chief_id: i64,
    quarter: Quarter,
    now: DateTime<Utc>,
) -> Result<ChiefQuarter> {
    let (first, last) = (quarter.first_day(), quarter.last_day());
    let chief: (i64, String, String, NaiveDate, Option<NaiveDate>) = sqlx::query_as(
        "SELECT town_id, code, name, appointed_on, left_on FROM chiefs WHERE id = $1",
    )
    .bind(chief_id)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound("chief"))?;
    let (town_id, code, name, appointed_on, left_on) = chief;
    let tenure = tenure(appointed_on, left_on)?;
    let exemptions = sqlx::query_as::<_, (NaiveDate, NaiveDate)>(
        "SELECT from_date, to_date FROM exemptions \
          WHERE chief_id = $1 AND from_date <= $3 AND to_date >= $2 AND status = 'approved' \
          ORDER BY from_date",
    )
    .bind(chief_id)
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|(f, t)| range(f, t))
    .collect::<Result<Vec<_>>>()?;
    let patrols: Vec<WeekPatrol> = sqlx::query_as(
        "SELECT id, started_at, week_start, coalesce(override_valid, valid) AS valid, \
                valid AS machine_valid, override_valid, override_reason, reasons, \
                length_m, duration_s \
           FROM patrols WHERE chief_id = $1 AND week_start BETWEEN $2 AND $3 \
          ORDER BY started_at, id",
    )
    .bind(chief_id)
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await?;
    let weeks = quarter
        .weeks()
        .into_iter()
        .map(|week| {
            let patrols: Vec<WeekPatrol> = patrols
                .iter()
                .filter(|p| p.week_start == week.monday())
                .cloned()
                .collect();
            let valid = patrols.iter().filter(|p| p.valid).count() as u32;
            WeekDetail {
                week,
                status: week_status(week, &tenure, &exemptions, valid, now),
                exemptions: exemptions
                    .iter()
                    .filter(|r| r.from() <= week.sunday() && week.monday() <= r.to())
                    .map(|r| r.to_string())
                    .collect(),
                patrols,
            }
        })
        .collect();
    Ok(ChiefQuarter {
        chief_id,
        town_id,
        code,
        name,
        appointed_on,
        left_on,
        quarter,
        weeks,
    })
}
