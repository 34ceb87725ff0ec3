//! Compliance storage: the per-chief-week counter `chief_weeks`, the data the
//! weekly rule needs (tenure, exemptions, valid patrols per week), the weekly
//! and quarterly views, the overdue list and validity overrides.
//!
//! The rule itself is `domain::compliance`; this module only gathers its
//! inputs. Compliance never scans `patrols`: the number of effectively valid
//! patrols (`COALESCE(override_valid, valid)`) of each chief and week is kept
//! in `chief_weeks` by [`recount_week`], which every write that can change it
//! (a patrol stored, an override set or cleared) calls in its transaction.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use domain::compliance::{
    ComplianceSummary, DateRange, Tenure, WeekStatus, days_left_in_week, merge_ranges, summarize,
    week_status,
};
use domain::time::{IsoWeek, Quarter};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use crate::StoreError;
use crate::audit::{self, AuditEntry};

// ------------------------------------------------------------- chief_weeks

/// Recounts the effectively valid patrols (`COALESCE(override_valid, valid)`)
/// of one chief in the week starting on `week_start` (the CST Monday, as in
/// `patrols.week_start`) and stores the count in `chief_weeks`. Returns the
/// new count.
///
/// Call it in the same transaction as the write that changed the week: after
/// inserting a patrol, after setting or clearing an override. Recounting
/// (rather than adding one) makes it idempotent and self-repairing.
///
/// Concurrency: the `chief_weeks` row is locked first (created if missing),
/// and only then counted, in a statement of its own. Under READ COMMITTED
/// that statement sees every patrol committed by a transaction that held the
/// lock before, so two uploads (or an upload and an override) of the same
/// chief-week landing at once cannot lose each other's count.
pub async fn recount_week(
    conn: &mut PgConnection,
    chief_id: i64,
    week_start: NaiveDate,
) -> crate::Result<i32> {
    if week_start.weekday() != Weekday::Mon {
        return Err(StoreError::invalid(
            "week_start",
            format!("{week_start} is not a Monday"),
        ));
    }
    // Take the row lock (the no-op update locks an existing row; a new row
    // is locked by its insert).
    let locked = sqlx::query(
        "INSERT INTO chief_weeks (chief_id, week_start, town_id, valid_patrols)
         SELECT id, $2, town_id, 0 FROM chiefs WHERE id = $1
         ON CONFLICT (chief_id, week_start)
         DO UPDATE SET valid_patrols = chief_weeks.valid_patrols",
    )
    .bind(chief_id)
    .bind(week_start)
    .execute(&mut *conn)
    .await?;
    if locked.rows_affected() == 0 {
        return Err(StoreError::NotFound("chief"));
    }
    let count: i32 = sqlx::query_scalar(
        "UPDATE chief_weeks SET valid_patrols = (
             SELECT count(*) FROM patrols
             WHERE chief_id = $1 AND week_start = $2 AND COALESCE(override_valid, valid))
         WHERE chief_id = $1 AND week_start = $2
         RETURNING valid_patrols",
    )
    .bind(chief_id)
    .bind(week_start)
    .fetch_one(&mut *conn)
    .await?;
    Ok(count)
}

/// Rebuilds `chief_weeks` from `patrols` for one town (or every town):
/// the repair tool, and how a bulk load (the bench) fills it. Returns the
/// number of chief-weeks written. Rows of weeks without any patrol left are
/// set to 0.
pub async fn rebuild_chief_weeks(conn: &mut PgConnection, town: Option<i64>) -> crate::Result<u64> {
    sqlx::query(
        "UPDATE chief_weeks SET valid_patrols = 0
         WHERE ($1::bigint IS NULL OR town_id = $1) AND valid_patrols <> 0",
    )
    .bind(town)
    .execute(&mut *conn)
    .await?;
    let written = sqlx::query(
        "INSERT INTO chief_weeks (chief_id, week_start, town_id, valid_patrols)
         SELECT p.chief_id, p.week_start, c.town_id,
                count(*) FILTER (WHERE COALESCE(p.override_valid, p.valid))
         FROM patrols p JOIN chiefs c ON c.id = p.chief_id
         WHERE $1::bigint IS NULL OR c.town_id = $1
         GROUP BY p.chief_id, p.week_start, c.town_id
         ON CONFLICT (chief_id, week_start)
         DO UPDATE SET valid_patrols = EXCLUDED.valid_patrols, town_id = EXCLUDED.town_id",
    )
    .bind(town)
    .execute(&mut *conn)
    .await?;
    Ok(written.rows_affected())
}

// ------------------------------------------------------------------ scope

/// Which chiefs a view covers. Each present filter narrows it; all absent
/// means every chief of every town.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope {
    pub town_id: Option<i64>,
    pub village_id: Option<i64>,
    pub chief_id: Option<i64>,
}

impl Scope {
    /// The `WHERE` clause on `chiefs c` for parameters `$first..$first+2`
    /// (town, village, chief). Absent filters become `$n IS NULL`, which
    /// the planner folds away, so a present filter can use its index.
    /// Only fixed text goes into the SQL; the values are bound.
    fn where_clause(&self, first: usize) -> String {
        let part = |present: bool, n: usize, column: &str| {
            if present {
                format!("{column} = ${n}")
            } else {
                format!("${n}::bigint IS NULL")
            }
        };
        format!(
            "{} AND {} AND {}",
            part(self.town_id.is_some(), first, "c.town_id"),
            part(self.village_id.is_some(), first + 1, "c.village_id"),
            part(self.chief_id.is_some(), first + 2, "c.id"),
        )
    }
}

// ------------------------------------------------------------ rule inputs

/// One chief with everything the weekly rule needs over a run of weeks.
#[derive(Debug, Clone)]
pub struct ChiefRecord {
    pub id: i64,
    pub town_id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub village_id: Option<i64>,
    pub village_name: Option<String>,
    pub phone: Option<String>,
    pub tenure: Tenure,
    /// Approved exemptions overlapping the weeks, merged (`merge_ranges`).
    pub exemptions: Vec<DateRange>,
    /// Effectively valid patrols per week (weeks without any are absent).
    pub valid_by_week: BTreeMap<IsoWeek, u32>,
}

#[derive(sqlx::FromRow)]
struct ChiefRow {
    id: i64,
    town_id: i64,
    code: String,
    name: String,
    level: String,
    village_id: Option<i64>,
    village_name: Option<String>,
    phone: Option<String>,
    appointed_on: NaiveDate,
    left_on: Option<NaiveDate>,
    week_starts: Option<Vec<NaiveDate>>,
    week_counts: Option<Vec<i32>>,
}

/// A value the schema's CHECKs rule out turned up: report it as a database
/// failure rather than panic.
fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(what.to_string().into()))
}

/// Loads the chiefs of `scope` with their tenure, exemptions and valid
/// patrol counts for the weeks `weeks` (inclusive), ordered town chiefs
/// first, then by code. Every chief of the scope is returned, also those not
/// in office during the weeks (their weeks are `not_in_office`).
///
/// Two queries whatever the number of chiefs: chiefs joined with their
/// chief-week counts aggregated into arrays (one row per chief, so 100,000
/// chiefs are 100,000 rows, not 1.3 million), and the exemptions.
pub async fn load(
    pool: &PgPool,
    scope: Scope,
    weeks: RangeInclusive<IsoWeek>,
) -> crate::Result<Vec<ChiefRecord>> {
    let (first_day, last_day) = (weeks.start().monday(), weeks.end().sunday());
    let sql = format!(
        "SELECT c.id, c.town_id, c.code, c.name, c.level, c.village_id, v.name AS village_name,
                c.phone, c.appointed_on, c.left_on, cw.week_starts, cw.week_counts
         FROM chiefs c
         LEFT JOIN villages v ON v.id = c.village_id
         LEFT JOIN (
             SELECT chief_id, array_agg(week_start) AS week_starts,
                    array_agg(valid_patrols) AS week_counts
             FROM chief_weeks
             WHERE week_start BETWEEN $1 AND $2 AND valid_patrols > 0
             GROUP BY chief_id
         ) cw ON cw.chief_id = c.id
         WHERE {}
         ORDER BY c.level = 'town' DESC, c.code, c.id",
        scope.where_clause(3)
    );
    let rows: Vec<ChiefRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(weeks.start().monday())
        .bind(weeks.end().monday())
        .bind(scope.town_id)
        .bind(scope.village_id)
        .bind(scope.chief_id)
        .fetch_all(pool)
        .await?;

    let sql = format!(
        "SELECT e.chief_id, e.from_date, e.to_date FROM exemptions e JOIN chiefs c ON c.id = e.chief_id
         WHERE e.to_date >= $1 AND e.from_date <= $2 AND {}",
        scope.where_clause(3)
    );
    let exemption_rows: Vec<(i64, NaiveDate, NaiveDate)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(first_day)
        .bind(last_day)
        .bind(scope.town_id)
        .bind(scope.village_id)
        .bind(scope.chief_id)
        .fetch_all(pool)
        .await?;
    let mut exemptions: HashMap<i64, Vec<DateRange>> = HashMap::new();
    for (chief_id, from, to) in exemption_rows {
        let range = DateRange::new(from, to).map_err(corrupt)?;
        exemptions.entry(chief_id).or_default().push(range);
    }

    rows.into_iter()
        .map(|row| {
            let tenure = Tenure::new(row.appointed_on, row.left_on).map_err(corrupt)?;
            let mut valid_by_week = BTreeMap::new();
            let starts = row.week_starts.unwrap_or_default();
            let counts = row.week_counts.unwrap_or_default();
            for (start, count) in starts.into_iter().zip(counts) {
                let week = IsoWeek::of_date(start).map_err(corrupt)?;
                valid_by_week.insert(week, u32::try_from(count).map_err(corrupt)?);
            }
            Ok(ChiefRecord {
                exemptions: exemptions
                    .remove(&row.id)
                    .map(|r| merge_ranges(&r))
                    .unwrap_or_default(),
                id: row.id,
                town_id: row.town_id,
                code: row.code,
                name: row.name,
                level: row.level,
                village_id: row.village_id,
                village_name: row.village_name,
                phone: row.phone,
                tenure,
                valid_by_week,
            })
        })
        .collect()
}

// ------------------------------------------------------------ week view

/// One chief's status for one week.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeekRow {
    pub chief_id: i64,
    pub code: String,
    pub name: String,
    /// `town` (大河长) or `village` (小河长).
    pub level: String,
    pub village_id: Option<i64>,
    pub village_name: Option<String>,
    /// `not_in_office`, `compliant`, `exempt`, `pending` or `missed`.
    #[schema(value_type = String, example = "compliant")]
    pub status: WeekStatus,
    /// Effectively valid patrols started in the week (CST).
    pub valid_patrols: u32,
}

/// `GET /api/v1/compliance?week=`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeekReport {
    #[schema(value_type = String, example = "2026-W48")]
    pub week: IsoWeek,
    pub chiefs: Vec<WeekRow>,
}

/// Every chief's status for `week` as of `now`.
pub async fn week(
    pool: &PgPool,
    scope: Scope,
    week: IsoWeek,
    now: DateTime<Utc>,
) -> crate::Result<WeekReport> {
    let chiefs = load(pool, scope, week..=week).await?;
    Ok(week_report(week, chiefs, now))
}

/// The weekly view of loaded records (pure).
pub fn week_report(week: IsoWeek, chiefs: Vec<ChiefRecord>, now: DateTime<Utc>) -> WeekReport {
    let chiefs = chiefs
        .into_iter()
        .map(|c| {
            let valid_patrols = c.valid_by_week.get(&week).copied().unwrap_or(0);
            WeekRow {
                status: week_status(week, &c.tenure, &c.exemptions, valid_patrols, now),
                valid_patrols,
                chief_id: c.id,
                code: c.code,
                name: c.name,
                level: c.level,
                village_id: c.village_id,
                village_name: c.village_name,
            }
        })
        .collect();
    WeekReport { week, chiefs }
}

// --------------------------------------------------------- quarter view

/// One chief's quarter: the status of each week and the counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuarterRow {
    pub chief_id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub village_id: Option<i64>,
    pub village_name: Option<String>,
    /// Status of every week of the quarter, by week name.
    #[schema(value_type = BTreeMap<String, String>)]
    pub weeks: BTreeMap<IsoWeek, WeekStatus>,
    /// Weeks in office (every status but `not_in_office`).
    pub in_office: u32,
    pub compliant: u32,
    pub exempt: u32,
    pub missed: u32,
    /// Weeks not over yet without a valid patrol or exemption (not owed yet).
    pub pending: u32,
    /// Weeks owed so far: in office − exempt − pending = compliant + missed.
    pub required: u32,
    /// compliant / required; null when nothing is required.
    pub rate: Option<f64>,
}

impl QuarterRow {
    fn new(c: ChiefRecord, s: ComplianceSummary) -> Self {
        Self {
            chief_id: c.id,
            code: c.code,
            name: c.name,
            level: c.level,
            village_id: c.village_id,
            village_name: c.village_name,
            weeks: s.weeks,
            in_office: s.in_office,
            compliant: s.compliant,
            exempt: s.exempt,
            missed: s.missed,
            pending: s.pending,
            required: s.required,
            rate: s.rate,
        }
    }
}

/// `GET /api/v1/compliance?quarter=`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuarterReport {
    #[schema(value_type = String, example = "2026-Q4")]
    pub quarter: Quarter,
    /// The quarter's weeks in order (13, sometimes 12 or 14).
    #[schema(value_type = Vec<String>)]
    pub weeks: Vec<IsoWeek>,
    pub chiefs: Vec<QuarterRow>,
}

/// Every chief's quarter as of `now`.
pub async fn quarter(
    pool: &PgPool,
    scope: Scope,
    quarter: Quarter,
    now: DateTime<Utc>,
) -> crate::Result<QuarterReport> {
    let chiefs = load(pool, scope, quarter.first_week()..=quarter.last_week()).await?;
    Ok(quarter_report(quarter, chiefs, now))
}

/// The quarterly view of loaded records (pure).
pub fn quarter_report(
    quarter: Quarter,
    chiefs: Vec<ChiefRecord>,
    now: DateTime<Utc>,
) -> QuarterReport {
    let weeks = quarter.weeks();
    let chiefs = chiefs
        .into_iter()
        .map(|c| {
            let summary = summarize(
                weeks.iter().copied(),
                &c.tenure,
                &c.exemptions,
                &c.valid_by_week,
                now,
            );
            QuarterRow::new(c, summary)
        })
        .collect();
    QuarterReport {
        quarter,
        weeks,
        chiefs,
    }
}

// ------------------------------------------------------------- overdue

/// A chief without a valid patrol yet this week (status `pending`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueRow {
    pub chief_id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub village_id: Option<i64>,
    pub village_name: Option<String>,
    /// To call them (the number is on the river's public signboard).
    pub phone: Option<String>,
    /// Start of the chief's last effectively valid patrol, if any.
    pub last_patrol_at: Option<DateTime<Utc>>,
    pub last_patrol_id: Option<i64>,
    /// Whole CST days left this week, today included (7 Monday … 1 Sunday).
    pub days_left: u32,
}

/// `GET /api/v1/compliance/overdue`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OverdueReport {
    #[schema(value_type = String, example = "2026-W48")]
    pub week: IsoWeek,
    pub days_left: u32,
    /// Most overdue first: never patrolled, then by last valid patrol, oldest first.
    pub chiefs: Vec<OverdueRow>,
}

/// The chiefs whose status for the week in progress at `now` is `pending`:
/// in office, no valid patrol this week, not exempt.
pub async fn overdue(
    pool: &PgPool,
    scope: Scope,
    now: DateTime<Utc>,
) -> crate::Result<OverdueReport> {
    let week = IsoWeek::current(now).map_err(corrupt)?;
    let pending: Vec<ChiefRecord> = load(pool, scope, week..=week)
        .await?
        .into_iter()
        .filter(|c| {
            let valid = c.valid_by_week.get(&week).copied().unwrap_or(0);
            week_status(week, &c.tenure, &c.exemptions, valid, now) == WeekStatus::Pending
        })
        .collect();
    let ids: Vec<i64> = pending.iter().map(|c| c.id).collect();
    // The last valid patrol of each: one backward probe of
    // patrols_chief_started_idx per chief.
    let last: Vec<(i64, Option<i64>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT c.id, lp.id, lp.started_at
         FROM unnest($1::bigint[]) AS c(id)
         LEFT JOIN LATERAL (
             SELECT p.id, p.started_at FROM patrols p
             WHERE p.chief_id = c.id AND COALESCE(p.override_valid, p.valid) AND p.started_at <= $2
             ORDER BY p.started_at DESC, p.id DESC LIMIT 1
         ) lp ON true",
    )
    .bind(&ids)
    .bind(now)
    .fetch_all(pool)
    .await?;
    let last: HashMap<i64, (Option<i64>, Option<DateTime<Utc>>)> =
        last.into_iter().map(|(c, id, at)| (c, (id, at))).collect();
    let days_left = days_left_in_week(now);
    let mut chiefs: Vec<OverdueRow> = pending
        .into_iter()
        .map(|c| {
            let (last_patrol_id, last_patrol_at) = last.get(&c.id).copied().unwrap_or_default();
            OverdueRow {
                chief_id: c.id,
                code: c.code,
                name: c.name,
                level: c.level,
                village_id: c.village_id,
                village_name: c.village_name,
                phone: c.phone,
                last_patrol_at,
                last_patrol_id,
                days_left,
            }
        })
        .collect();
    // None (never patrolled) sorts first, then the oldest last patrol.
    chiefs.sort_by(|a, b| {
        a.last_patrol_at
            .cmp(&b.last_patrol_at)
            .then_with(|| a.code.cmp(&b.code))
    });
    Ok(OverdueReport {
        week,
        days_left,
        chiefs,
    })
}

// ------------------------------------------------------------ overrides

/// A patrol's validity after an override was set or cleared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PatrolValidity {
    pub id: i64,
    pub chief_id: i64,
    /// The week the patrol counts for.
    #[schema(value_type = String, example = "2026-W48")]
    pub week: IsoWeek,
    /// Effective validity: the override if any, else the machine's verdict.
    pub valid: bool,
    /// The machine's verdict (from the rules), unchanged by overrides.
    pub machine_valid: bool,
    /// The override in force; null when none.
    #[serde(rename = "override")]
    pub override_: Option<ValidityOverride>,
    /// Effectively valid patrols of the chief in that week, after the change.
    pub week_valid_patrols: i32,
}

/// An override of a patrol's validity by the town office; the same object
/// as `override` in the patrol detail (`store::patrols`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidityOverride {
    pub valid: bool,
    pub reason: String,
    /// The user who set it.
    pub by: Option<i64>,
    /// When (`overridden_at`).
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PatrolValidityRow {
    id: i64,
    town_id: i64,
    chief_id: i64,
    week_start: NaiveDate,
    valid: bool,
    override_valid: Option<bool>,
    override_reason: Option<String>,
    overridden_by: Option<i64>,
    overridden_at: Option<DateTime<Utc>>,
}

impl PatrolValidityRow {
    fn override_(&self) -> Option<ValidityOverride> {
        Some(ValidityOverride {
            valid: self.override_valid?,
            reason: self.override_reason.clone().unwrap_or_default(),
            by: self.overridden_by,
            at: self.overridden_at?,
        })
    }

    fn into_validity(self, week_valid_patrols: i32) -> crate::Result<PatrolValidity> {
        Ok(PatrolValidity {
            week: IsoWeek::of_date(self.week_start).map_err(corrupt)?,
            valid: self.override_valid.unwrap_or(self.valid),
            machine_valid: self.valid,
            override_: self.override_(),
            id: self.id,
            chief_id: self.chief_id,
            week_valid_patrols,
        })
    }
}

const PATROL_VALIDITY_COLUMNS: &str = "id, town_id, chief_id, week_start, valid, override_valid, \
     override_reason, overridden_by, overridden_at";

/// Locks a patrol for a validity change; NotFound outside `town_scope`.
async fn lock_patrol(
    conn: &mut PgConnection,
    patrol_id: i64,
    town_scope: Option<i64>,
) -> crate::Result<PatrolValidityRow> {
    let sql = format!("SELECT {PATROL_VALIDITY_COLUMNS} FROM patrols WHERE id = $1 FOR UPDATE");
    let row: PatrolValidityRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(patrol_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("patrol"))?;
    if town_scope.is_some_and(|t| t != row.town_id) {
        return Err(StoreError::NotFound("patrol"));
    }
    Ok(row)
}

fn override_json(row: &PatrolValidityRow) -> serde_json::Value {
    match row.override_() {
        Some(o) => serde_json::json!({"valid": o.valid, "reason": o.reason}),
        None => serde_json::Value::Null,
    }
}

/// Overrides a patrol's validity (the town office's decision, with a reason),
/// recounts its chief-week and writes the audit entry, in one transaction.
/// `town_scope` limits which patrols the caller may touch (NotFound outside).
pub async fn set_override(
    pool: &PgPool,
    patrol_id: i64,
    town_scope: Option<i64>,
    valid: bool,
    reason: &str,
    user_id: i64,
) -> crate::Result<PatrolValidity> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(StoreError::invalid(
            "reason",
            "is required: say why the patrol's validity is overridden",
        ));
    }
    let mut tx = pool.begin().await?;
    let before = lock_patrol(&mut tx, patrol_id, town_scope).await?;
    let sql = format!(
        "UPDATE patrols SET override_valid = $2, override_reason = $3, overridden_by = $4,
                overridden_at = now()
         WHERE id = $1 RETURNING {PATROL_VALIDITY_COLUMNS}"
    );
    let after: PatrolValidityRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(patrol_id)
        .bind(valid)
        .bind(reason)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    let count = recount_week(&mut tx, after.chief_id, after.week_start).await?;
    audit::record(
        &mut tx,
        AuditEntry {
            town_id: Some(after.town_id),
            user_id: Some(user_id),
            action: "override_validity",
            entity: "patrol",
            entity_id: Some(patrol_id),
            details: serde_json::json!({
                "machine_valid": after.valid,
                "before": override_json(&before),
                "after": override_json(&after),
                "week_valid_patrols": count,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    after.into_validity(count)
}

/// Clears a patrol's validity override (back to the machine's verdict),
/// recounts its chief-week and writes the audit entry. Clearing a patrol
/// without an override changes nothing and writes no audit entry.
pub async fn clear_override(
    pool: &PgPool,
    patrol_id: i64,
    town_scope: Option<i64>,
    user_id: i64,
) -> crate::Result<PatrolValidity> {
    let mut tx = pool.begin().await?;
    let before = lock_patrol(&mut tx, patrol_id, town_scope).await?;
    if before.override_valid.is_none() {
        let count = recount_week(&mut tx, before.chief_id, before.week_start).await?;
        tx.commit().await?;
        return before.into_validity(count);
    }
    let sql = format!(
        "UPDATE patrols SET override_valid = NULL, override_reason = NULL, overridden_by = NULL,
                overridden_at = NULL
         WHERE id = $1 RETURNING {PATROL_VALIDITY_COLUMNS}"
    );
    let after: PatrolValidityRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(patrol_id)
        .fetch_one(&mut *tx)
        .await?;
    let count = recount_week(&mut tx, after.chief_id, after.week_start).await?;
    audit::record(
        &mut tx,
        AuditEntry {
            town_id: Some(after.town_id),
            user_id: Some(user_id),
            action: "clear_validity_override",
            entity: "patrol",
            entity_id: Some(patrol_id),
            details: serde_json::json!({
                "machine_valid": after.valid,
                "before": override_json(&before),
                "week_valid_patrols": count,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    after.into_validity(count)
}

// --------------------------------------------------------- test support

/// Stores a minimal patrol (all NOT NULL columns, a two-point LineStringM
/// near 103.1°E 25.3°N) for `chief_id`, started at `started_at`, lasting 30
/// minutes, `length_m` long, with the machine verdict `valid`, and recounts
/// its chief-week. Returns its id.
///
/// For tests and benches while the upload path is elsewhere: it bypasses
/// track reading and the validity rules, so never call it from a handler.
pub async fn insert_minimal_patrol(
    conn: &mut PgConnection,
    chief_id: i64,
    started_at: DateTime<Utc>,
    valid: bool,
    length_m: f64,
) -> crate::Result<i64> {
    let week_start = IsoWeek::of_instant(started_at).map_err(corrupt)?.monday();
    let original = format!("minimal patrol {}", uuid::Uuid::new_v4());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO patrols (town_id, chief_id, original, original_sha256, original_content_type,
             started_at, ended_at, week_start, point_count, length_m, duration_s, moving_time_s,
             max_speed_kmh, fast_share, track, track_simplified, coverage, valid, reasons,
             shape_fingerprint)
         SELECT c.town_id, c.id, convert_to($3, 'UTF8'), sha256(convert_to($3, 'UTF8')),
                'application/geo+json', $2, $2 + interval '30 minutes', $4, 2, $5, 1800, 1800,
                5.0, 0.0,
                ST_SetSRID(ST_MakeLine(ST_MakePointM(103.1, 25.3, extract(epoch FROM $2)::float8),
                                       ST_MakePointM(103.11, 25.31, extract(epoch FROM $2)::float8 + 1800)), 4326),
                ST_SetSRID(ST_MakeLine(ST_MakePoint(103.1, 25.3), ST_MakePoint(103.11, 25.31)), 4326),
                CASE WHEN $6 THEN 1.0 ELSE 0.0 END, $6,
                CASE WHEN $6 THEN '{}'::text[] ELSE '{low_coverage}'::text[] END,
                $3
         FROM chiefs c WHERE c.id = $1
         RETURNING id",
    )
    .bind(chief_id)
    .bind(started_at)
    .bind(&original)
    .bind(week_start)
    .bind(length_m)
    .bind(valid)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("chief"))?;
    recount_week(conn, chief_id, week_start).await?;
    Ok(id)
}
