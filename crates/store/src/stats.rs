//! Town figures for a date range, the numbers a town puts in its reports
//! ("河长巡河204次，发现并解决问题20余个"): patrols, valid patrols, kilometres
//! patrolled, chiefs, issues found and resolved.
//!
//! Definitions (all days are CST calendar days, `from ..= to` inclusive):
//! - `patrols`: patrols that *started* on one of the days (the rule's
//!   "counts for the week it started in", applied to days);
//! - `valid_patrols`: of those, the effectively valid ones
//!   (`COALESCE(override_valid, valid)`: the office's override wins);
//! - `km_patrolled`: the length of the valid patrols, in km, to the metre
//!   (invalid tracks, e.g. a drive along the river, are not "patrolled");
//! - `chiefs`: chiefs in office on at least one of the days;
//!   `chiefs_patrolled`: chiefs with at least one valid patrol;
//! - `issues_found`: issues reported on one of the days, whatever the
//!   source (patrol, public, staff);
//! - `issues_resolved`: issues resolved on one of the days and still
//!   resolved or closed now (a reopened issue is not resolved).

use chrono::{Datelike, NaiveDate};
use domain::time::cst_day_start_utc;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::StoreError;

/// `GET /api/v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TownStats {
    /// First day (inclusive, CST).
    pub from: NaiveDate,
    /// Last day (inclusive, CST).
    pub to: NaiveDate,
    /// The town the figures are for; null for every town.
    pub town_id: Option<i64>,
    pub patrols: i64,
    pub valid_patrols: i64,
    pub km_patrolled: f64,
    pub chiefs: i64,
    pub chiefs_patrolled: i64,
    pub issues_found: i64,
    pub issues_resolved: i64,
}

/// The figures of one town (or every town) for the days `from ..= to`.
pub async fn town_stats(
    pool: &PgPool,
    town: Option<i64>,
    from: NaiveDate,
    to: NaiveDate,
) -> crate::Result<TownStats> {
    if to < from {
        return Err(StoreError::invalid(
            "to",
            format!("{to} is before from {from}"),
        ));
    }
    let start = cst_day_start_utc(from);
    let end = to
        .succ_opt()
        .map(cst_day_start_utc)
        .ok_or_else(|| StoreError::invalid("to", "is out of range"))?;
    // The week_start bounds are implied by the started_at ones; they let
    // patrols_town_week_idx narrow the scan to the range's weeks.
    let first_monday = from - chrono::Days::new(u64::from(from.weekday().num_days_from_monday()));
    let (patrols, valid_patrols, valid_m, chiefs_patrolled): (i64, i64, f64, i64) = sqlx::query_as(
        "SELECT count(*),
                count(*) FILTER (WHERE COALESCE(override_valid, valid)),
                COALESCE(sum(length_m) FILTER (WHERE COALESCE(override_valid, valid)), 0),
                count(DISTINCT chief_id) FILTER (WHERE COALESCE(override_valid, valid))
         FROM patrols
         WHERE ($1::bigint IS NULL OR town_id = $1)
           AND week_start BETWEEN $2 AND $3
           AND started_at >= $4 AND started_at < $5",
    )
    .bind(town)
    .bind(first_monday)
    .bind(to)
    .bind(start)
    .bind(end)
    .fetch_one(pool)
    .await?;
    let chiefs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM chiefs
         WHERE ($1::bigint IS NULL OR town_id = $1)
           AND appointed_on <= $3 AND (left_on IS NULL OR left_on >= $2)",
    )
    .bind(town)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await?;
    let (issues_found, issues_resolved): (i64, i64) = sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM issues
            WHERE ($1::bigint IS NULL OR town_id = $1) AND created_at >= $2 AND created_at < $3),
           (SELECT count(*) FROM issues
            WHERE ($1::bigint IS NULL OR town_id = $1) AND resolved_at >= $2 AND resolved_at < $3
              AND status IN ('resolved', 'closed'))",
    )
    .bind(town)
    .bind(start)
    .bind(end)
    .fetch_one(pool)
    .await?;
    Ok(TownStats {
        from,
        to,
        town_id: town,
        patrols,
        valid_patrols,
        // Whole metres / 1000 is the double nearest to the decimal km
        // (3734 m → 3.734), without summation noise such as 3.7340000000000004.
        km_patrolled: valid_m.round() / 1000.0,
        chiefs,
        chiefs_patrolled,
        issues_found,
        issues_resolved,
    })
}
