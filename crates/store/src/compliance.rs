//! Compliance storage: the per-chief-week counter `chief_weeks` and its
//! per-chief-quarter week mask `chief_quarters`, the data the weekly rule
//! needs (tenure, exemptions, valid patrols per week), the weekly and
//! quarterly views, the overdue list and validity overrides.
//!
//! The rule itself is `domain::compliance`; this module only gathers its
//! inputs. Compliance never scans `patrols`: the number of effectively valid
//! patrols (`COALESCE(override_valid, valid)`) of each chief and week is kept
//! in `chief_weeks`, and which weeks of a quarter have any in
//! `chief_quarters`, by [`recount_week`], which every write that can change
//! them (a patrol stored, an override set or cleared) calls in its
//! transaction.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use domain::compliance::{
    ComplianceSummary, DateRange, Tenure, WeekMask, WeekRun, WeekStatus, WeekStatuses,
    days_left_in_week, merge_ranges, week_status,
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
/// `patrols.week_start`), stores the count in `chief_weeks` and whether it
/// is above 0 as the week's bit in `chief_quarters.valid_weeks`. Returns
/// the new count.
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
    count_locked_week(conn, chief_id, week_start).await
}

/// The second half of [`recount_week`], for a caller that has locked the
/// chief-week row in an earlier statement of its transaction (the upload
/// does so in the statement that inserts the patrol): counts the week's
/// valid patrols into `chief_weeks` and sets or clears the week's bit in
/// its quarter's mask, in one statement. Returns the count.
pub(crate) async fn count_locked_week(
    conn: &mut PgConnection,
    chief_id: i64,
    week_start: NaiveDate,
) -> crate::Result<i32> {
    // The week's bit in its quarter's mask, under the chief_weeks row lock.
    // Setting or clearing one bit of the latest row version (ON CONFLICT
    // updates it in place) commutes with a concurrent recount of another
    // week of the same quarter, which holds another chief_weeks row lock
    // and touches another bit. EXCLUDED.valid_weeks is the bit if the week
    // counts, else 0.
    let (quarter_start, bit) = quarter_bit(week_start)?;
    sqlx::query_scalar(
        "WITH counted AS (
             UPDATE chief_weeks SET valid_patrols = (
                 SELECT count(*) FROM patrols
                 WHERE chief_id = $1 AND week_start = $2 AND COALESCE(override_valid, valid))
             WHERE chief_id = $1 AND week_start = $2
             RETURNING valid_patrols),
         quarter AS (
             INSERT INTO chief_quarters (chief_id, quarter_start, town_id, valid_weeks)
             SELECT c.id, $3, c.town_id, CASE WHEN counted.valid_patrols > 0 THEN $4 ELSE 0 END
             FROM chiefs c, counted WHERE c.id = $1
             ON CONFLICT (chief_id, quarter_start) DO UPDATE SET valid_weeks =
                 CASE WHEN EXCLUDED.valid_weeks <> 0 THEN chief_quarters.valid_weeks | $4
                      ELSE chief_quarters.valid_weeks & ~$4 END)
         SELECT valid_patrols FROM counted",
    )
    .bind(chief_id)
    .bind(week_start)
    .bind(quarter_start)
    .bind(bit)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("chief week"))
}

/// The quarter of the week starting on `week_start` (a Monday) as stored in
/// `chief_quarters.quarter_start` (its first calendar day), and the week's
/// bit in `valid_weeks` (bit i = the quarter's i-th week; see
/// migrations/0007_chief_quarters.sql, whose backfill computes the same in
/// SQL).
fn quarter_bit(week_start: NaiveDate) -> crate::Result<(NaiveDate, i32)> {
    let week = IsoWeek::of_date(week_start).map_err(corrupt)?;
    let quarter = week.quarter();
    let i = (week.monday() - quarter.first_week().monday()).num_weeks();
    if !(0..14).contains(&i) {
        return Err(corrupt(format!("{week} is week {i} of {quarter}")));
    }
    Ok((quarter_start(quarter)?, 1 << i))
}

/// The first calendar day of a quarter (`chief_quarters.quarter_start`);
/// not `Quarter::first_day`, the Monday of its first week.
pub fn quarter_start(quarter: Quarter) -> crate::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(quarter.year(), 3 * quarter.q() - 2, 1)
        .ok_or_else(|| corrupt(format!("{quarter} has no first day")))
}

/// Rebuilds `chief_weeks` from `patrols`, then `chief_quarters` from
/// `chief_weeks`, for one town (or every town): the repair tool, and how a
/// bulk load (the bench) fills them. Returns the number of chief-weeks
/// written. Rows of weeks (quarters) without any valid patrol left are set
/// to 0.
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
         -- New rows in the order uploads would have created them.
         ORDER BY p.week_start, min(p.started_at)
         ON CONFLICT (chief_id, week_start)
         DO UPDATE SET valid_patrols = EXCLUDED.valid_patrols, town_id = EXCLUDED.town_id",
    )
    .bind(town)
    .execute(&mut *conn)
    .await?;
    // And the quarters' week masks from those chief-weeks (the statement of
    // the backfill in migrations/0007_chief_quarters.sql).
    sqlx::query(
        "UPDATE chief_quarters SET valid_weeks = 0
         WHERE ($1::bigint IS NULL OR town_id = $1) AND valid_weeks <> 0",
    )
    .bind(town)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO chief_quarters (chief_id, quarter_start, town_id, valid_weeks)
         SELECT cw.chief_id, q.quarter_start, c.town_id,
                bit_or(1 << ((cw.week_start + 3 - q.quarter_start) / 7))
         FROM chief_weeks cw
         JOIN chiefs c ON c.id = cw.chief_id
         CROSS JOIN LATERAL (
             SELECT date_trunc('quarter', (cw.week_start + 3)::timestamp)::date AS quarter_start
         ) q
         WHERE cw.valid_patrols > 0 AND ($1::bigint IS NULL OR c.town_id = $1)
         GROUP BY cw.chief_id, q.quarter_start, c.town_id
         ON CONFLICT (chief_id, quarter_start)
         DO UPDATE SET valid_weeks = EXCLUDED.valid_weeks, town_id = EXCLUDED.town_id",
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

    /// The same filters on a table with its own `town_id` and `chief_id`
    /// (`chief_weeks`, `exemptions`) aliased `alias`, so its indexes serve.
    fn own_columns_clause(&self, alias: &str, first: usize) -> String {
        let part = |present: bool, n: usize, condition: &str| {
            if present {
                condition.replace('#', &n.to_string()).replace('@', alias)
            } else {
                format!("${n}::bigint IS NULL")
            }
        };
        format!(
            "{} AND {} AND {}",
            part(self.town_id.is_some(), first, "@.town_id = $#"),
            part(
                self.village_id.is_some(),
                first + 1,
                "@.chief_id IN (SELECT id FROM chiefs WHERE village_id = $#)"
            ),
            part(self.chief_id.is_some(), first + 2, "@.chief_id = $#"),
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
    /// The weeks loaded with at least one effectively valid patrol: bit i
    /// is the i-th week of the weeks asked (of the quarter, for
    /// [`load_quarter`]).
    pub valid_weeks: WeekMask,
    /// Effectively valid patrols in each week loaded, in order, when loaded
    /// from `chief_weeks` by [`load`] (the week view needs the number);
    /// empty when loaded by [`load_quarter`] from `chief_quarters`, which
    /// keeps only the mask.
    pub valid_patrols: Vec<u32>,
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
}

/// A chief with its quarter's week mask and exemptions, in one row: the
/// one-statement read of a town, a village or a chief ([`load_quarter`]).
#[derive(sqlx::FromRow)]
struct ChiefQuarterRow {
    #[sqlx(flatten)]
    chief: ChiefRow,
    valid_weeks: i32,
    exemptions_from: Option<Vec<NaiveDate>>,
    exemptions_to: Option<Vec<NaiveDate>>,
}

/// A value the schema's CHECKs rule out turned up: report it as a database
/// failure rather than panic.
fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Database(sqlx::Error::Decode(what.to_string().into()))
}

/// `chief_weeks` rows travel packed into one `bigint` each:
/// `chief_id × 65536 + valid_patrols` (counts above 65535, more than nine
/// thousand patrols a day, are capped). One array instead of two halves
/// both the aggregation in PostgreSQL and the decoding here.
const COUNT_RANGE: i64 = 65_536;
const COUNT_MAX: i64 = COUNT_RANGE - 1;

/// Memory for the every-chief aggregation of `chief_weeks` (see [`load`]),
/// run before it in the same transaction.
pub const ALL_CHIEFS_WORK_MEM: &str = "SET LOCAL work_mem = '32MB'";

/// The chiefs query shared by [`load`] and [`load_quarter`] (every chief),
/// its scope filters at `$first..$first+2`.
fn chiefs_query(scope: Scope, first: usize) -> String {
    // Every chief: one hash join with all villages. A town or fewer: look
    // the village names up by key, rather than hashing every village.
    let (village_name, villages) = if scope == Scope::default() {
        ("v.name", "LEFT JOIN villages v ON v.id = c.village_id")
    } else {
        ("(SELECT name FROM villages WHERE id = c.village_id)", "")
    };
    format!(
        "SELECT c.id, c.town_id, c.code, c.name, c.level, c.village_id,
                {village_name} AS village_name, c.phone, c.appointed_on, c.left_on
         FROM chiefs c {villages}
         WHERE {}",
        scope.where_clause(first)
    )
}

/// The three queries of [`load`], with parameters `$1` = Monday of the
/// first week, `$2` = Monday of the last week (the exemptions query takes
/// the first and last *day*), `$3..$5` = town, village, chief.
///
/// Why three and shaped so: a province-wide run of weeks is 100,000
/// chiefs and up to a million chief-weeks. Joining per-chief aggregates to
/// the chiefs makes PostgreSQL sort or hash a million rows by chief;
/// instead the chief-weeks are aggregated *by week*, into one array of
/// packed (chief id, count) per week, which arrives in binary and is spread
/// over the chiefs in Rust. Filters on chief_weeks and exemptions use their
/// own town_id and chief_id so a town or a chief reads only its rows
/// (chief_weeks_town_idx or the primary key, exemptions_town_idx or
/// exemptions_chief_idx). A quarter reads `chief_quarters` instead
/// ([`quarter_queries`]).
pub fn load_queries(scope: Scope) -> [String; 3] {
    [
        chiefs_query(scope, 3),
        format!(
            "SELECT cw.week_start,
                    array_agg(cw.chief_id * {COUNT_RANGE} + least(cw.valid_patrols, {COUNT_MAX}))
             FROM chief_weeks cw
             WHERE cw.week_start BETWEEN $1 AND $2 AND cw.valid_patrols > 0 AND {}
             GROUP BY cw.week_start",
            scope.own_columns_clause("cw", 3)
        ),
        exemptions_query(scope, 3),
    ]
}

/// Exemptions overlapping the days `$1..=$2`, scope filters at `$first..`.
fn exemptions_query(scope: Scope, first: usize) -> String {
    format!(
        "SELECT e.chief_id, e.from_date, e.to_date
         FROM exemptions e
         WHERE e.to_date >= $1 AND e.from_date <= $2 AND e.status = 'approved' AND {}",
        scope.own_columns_clause("e", first)
    )
}

/// Loads the chiefs of `scope` with their tenure, exemptions and valid
/// patrol counts (from `chief_weeks`) for the weeks `weeks` (inclusive, at
/// most 64), ordered by town, town chiefs first, then by code. Every chief
/// of the scope is returned, also those not in office during the weeks
/// (their weeks are `not_in_office`). Three queries whatever the number of
/// chiefs (see [`load_queries`]). For a quarter, [`load_quarter`] is
/// cheaper.
pub async fn load(
    pool: &PgPool,
    scope: Scope,
    weeks: RangeInclusive<IsoWeek>,
) -> crate::Result<Vec<ChiefRecord>> {
    let week_list: Vec<IsoWeek> = std::iter::successors(Some(*weeks.start()), |w| {
        w.next().filter(|n| n <= weeks.end())
    })
    .collect();
    if week_list.len() > WeekMask::MAX_WEEKS {
        return Err(StoreError::invalid(
            "weeks",
            format!("{} weeks: at most 64 at once", week_list.len()),
        ));
    }
    let (first_monday, last_monday) = (weeks.start().monday(), weeks.end().monday());
    let [chiefs_sql, weeks_sql, exemptions_sql] = load_queries(scope);
    // The three reads are independent: run them side by side on three
    // connections (a province-wide run waits for the slowest, not the
    // sum). They are not one snapshot; an exemption approved meanwhile may
    // or may not show, as it would a moment earlier or later.
    let chiefs_query = sqlx::query_as::<_, ChiefRow>(sqlx::AssertSqlSafe(chiefs_sql))
        .bind(first_monday)
        .bind(last_monday)
        .bind(scope.town_id)
        .bind(scope.village_id)
        .bind(scope.chief_id)
        .fetch_all(pool);
    let weeks_query = async {
        let query = sqlx::query_as::<_, (NaiveDate, Vec<i64>)>(sqlx::AssertSqlSafe(weeks_sql))
            .bind(first_monday)
            .bind(last_monday)
            .bind(scope.town_id)
            .bind(scope.village_id)
            .bind(scope.chief_id);
        if scope != Scope::default() || week_list.len() == 1 {
            return query.fetch_all(pool).await;
        }
        // Every chief over many weeks: the arrays hold up to a million
        // packed values, about 15 MB being aggregated, which spills to
        // disk at the default work_mem of 4 MB. Give this one query the
        // memory, in a transaction so it does not outlive it.
        let mut tx = pool.begin().await?;
        sqlx::query(ALL_CHIEFS_WORK_MEM).execute(&mut *tx).await?;
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    };
    let exemptions_query =
        sqlx::query_as::<_, (i64, NaiveDate, NaiveDate)>(sqlx::AssertSqlSafe(exemptions_sql))
            .bind(first_monday)
            .bind(weeks.end().sunday())
            .bind(scope.town_id)
            .bind(scope.village_id)
            .bind(scope.chief_id)
            .fetch_all(pool);
    let (rows, week_rows, exemption_rows) =
        tokio::try_join!(chiefs_query, weeks_query, exemptions_query)?;

    let mut chiefs = in_order(rows)?;
    // Spread the per-week arrays over a dense chiefs × weeks matrix first
    // (a million random reads and writes into a few MB), then give each
    // chief its counts in one sequential pass.
    let n_weeks = week_list.len();
    let positions = Positions::new(chiefs.iter().map(|c| c.id));
    let mut counts = vec![0u32; chiefs.len() * n_weeks];
    for (week_start, packed) in week_rows {
        let w = usize::try_from((week_start - first_monday).num_days() / 7).map_err(corrupt)?;
        if w >= n_weeks {
            return Err(corrupt(format!(
                "chief_weeks row for {week_start} outside the weeks asked"
            )));
        }
        for p in packed {
            let (id, count) = (p.div_euclid(COUNT_RANGE), p.rem_euclid(COUNT_RANGE));
            if let Some(i) = positions.get(id) {
                counts[i * n_weeks + w] = count as u32;
            }
        }
    }
    for (chief, row) in chiefs.iter_mut().zip(counts.chunks_exact(n_weeks.max(1))) {
        chief.valid_weeks = row
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .fold(WeekMask::EMPTY, |mask, (i, _)| mask.with(i));
        chief.valid_patrols = row.to_vec();
    }
    add_exemptions(&mut chiefs, &positions, exemption_rows)?;
    Ok(chiefs)
}

/// The queries of [`load_quarter`], each with the parameters `$1` = the
/// quarter's first calendar day (`chief_quarters.quarter_start`), `$2` =
/// Monday of its first week, `$3` = Sunday of its last week, `$4..$6` =
/// town, village, chief. Named for the bench's plans.
///
/// Every chief: three reads side by side, as in [`load_queries`], but the
/// weeks are one row of two arrays (chief ids, masks) aggregated from the
/// quarter's 100,000 `chief_quarters` rows instead of a million
/// chief-weeks. A town, a village or a chief: one statement (one round
/// trip, one connection), each chief's mask by the primary key of
/// `chief_quarters` and its exemptions by `exemptions_chief_idx`, both
/// arrays aggregated in the same pass so their elements pair up.
pub fn quarter_queries(scope: Scope) -> Vec<(&'static str, String)> {
    if scope == Scope::default() {
        vec![
            ("chiefs", chiefs_query(scope, 4)),
            (
                "chief_quarters",
                format!(
                    "SELECT array_agg(cq.chief_id), array_agg(cq.valid_weeks)
                     FROM chief_quarters cq
                     WHERE cq.quarter_start = $1 AND cq.valid_weeks <> 0 AND {}",
                    scope.own_columns_clause("cq", 4)
                ),
            ),
            (
                "exemptions",
                format!(
                    "SELECT e.chief_id, e.from_date, e.to_date
                     FROM exemptions e
                     WHERE e.to_date >= $2 AND e.from_date <= $3 AND e.status = 'approved'
                       AND {}",
                    scope.own_columns_clause("e", 4)
                ),
            ),
        ]
    } else {
        vec![(
            "one statement",
            format!(
                "SELECT c.id, c.town_id, c.code, c.name, c.level, c.village_id,
                        (SELECT name FROM villages WHERE id = c.village_id) AS village_name,
                        c.phone, c.appointed_on, c.left_on,
                        COALESCE(cq.valid_weeks, 0) AS valid_weeks,
                        ex.exemptions_from, ex.exemptions_to
                 FROM chiefs c
                 LEFT JOIN chief_quarters cq ON cq.chief_id = c.id AND cq.quarter_start = $1
                 LEFT JOIN LATERAL (
                     SELECT array_agg(e.from_date) AS exemptions_from,
                            array_agg(e.to_date) AS exemptions_to
                     FROM exemptions e
                     WHERE e.chief_id = c.id AND e.to_date >= $2 AND e.from_date <= $3
                       AND e.status = 'approved'
                 ) ex ON true
                 WHERE {}",
                scope.where_clause(4)
            ),
        )]
    }
}

/// Loads the chiefs of `scope` with their tenure, exemptions and the weeks
/// of `quarter` with a valid patrol (`valid_weeks`, from `chief_quarters`;
/// `valid_patrols` stays empty), in the order of [`load`]. See
/// [`quarter_queries`] for the reads.
pub async fn load_quarter(
    pool: &PgPool,
    scope: Scope,
    quarter: Quarter,
) -> crate::Result<Vec<ChiefRecord>> {
    let (start, first_day, last_day) = (
        quarter_start(quarter)?,
        quarter.first_day(),
        quarter.last_day(),
    );
    let mut queries = quarter_queries(scope).into_iter().map(|(_, sql)| sql);
    let mut next_query = || {
        queries
            .next()
            .ok_or_else(|| corrupt("a quarter query missing"))
    };
    if scope != Scope::default() {
        let rows = sqlx::query_as::<_, ChiefQuarterRow>(sqlx::AssertSqlSafe(next_query()?))
            .bind(start)
            .bind(first_day)
            .bind(last_day)
            .bind(scope.town_id)
            .bind(scope.village_id)
            .bind(scope.chief_id)
            .fetch_all(pool)
            .await?;
        let mut masks = Vec::with_capacity(rows.len());
        let mut exemptions = Vec::new();
        let mut chiefs = Vec::with_capacity(rows.len());
        for row in rows {
            masks.push((row.chief.id, row.valid_weeks));
            let (from, to) = (
                row.exemptions_from.unwrap_or_default(),
                row.exemptions_to.unwrap_or_default(),
            );
            if from.len() != to.len() {
                return Err(corrupt("exemption arrays of different lengths"));
            }
            exemptions.extend(from.into_iter().zip(to).map(|(f, t)| (row.chief.id, f, t)));
            chiefs.push(row.chief);
        }
        let mut chiefs = in_order(chiefs)?;
        let positions = Positions::new(chiefs.iter().map(|c| c.id));
        add_masks(&mut chiefs, &positions, masks)?;
        add_exemptions(&mut chiefs, &positions, exemptions)?;
        return Ok(chiefs);
    }
    let (chiefs_sql, masks_sql, exemptions_sql) = (next_query()?, next_query()?, next_query()?);
    // Side by side, as in `load`.
    let chiefs_query = sqlx::query_as::<_, ChiefRow>(sqlx::AssertSqlSafe(chiefs_sql))
        .bind(start)
        .bind(first_day)
        .bind(last_day)
        .bind(scope.town_id)
        .bind(scope.village_id)
        .bind(scope.chief_id)
        .fetch_all(pool);
    let masks_query =
        sqlx::query_as::<_, (Option<Vec<i64>>, Option<Vec<i32>>)>(sqlx::AssertSqlSafe(masks_sql))
            .bind(start)
            .bind(first_day)
            .bind(last_day)
            .bind(scope.town_id)
            .bind(scope.village_id)
            .bind(scope.chief_id)
            .fetch_one(pool);
    let exemptions_query =
        sqlx::query_as::<_, (i64, NaiveDate, NaiveDate)>(sqlx::AssertSqlSafe(exemptions_sql))
            .bind(start)
            .bind(first_day)
            .bind(last_day)
            .bind(scope.town_id)
            .bind(scope.village_id)
            .bind(scope.chief_id)
            .fetch_all(pool);
    let (rows, (ids, masks), exemption_rows) =
        tokio::try_join!(chiefs_query, masks_query, exemptions_query)?;
    let (ids, masks) = (ids.unwrap_or_default(), masks.unwrap_or_default());
    if ids.len() != masks.len() {
        return Err(corrupt("chief_quarters arrays of different lengths"));
    }
    let mut chiefs = in_order(rows)?;
    let positions = Positions::new(chiefs.iter().map(|c| c.id));
    add_masks(&mut chiefs, &positions, ids.into_iter().zip(masks))?;
    add_exemptions(&mut chiefs, &positions, exemption_rows)?;
    Ok(chiefs)
}

/// The chief rows as records (no weeks, no exemptions yet), town by town,
/// town chiefs first, then by code. Sorted here rather than in SQL
/// (100,000 rows would spill PostgreSQL's default work_mem to disk),
/// through a compact key vector rather than moving the rows.
fn in_order(rows: Vec<ChiefRow>) -> crate::Result<Vec<ChiefRecord>> {
    let mut order: Vec<(i64, bool, &str, i64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.town_id, r.level != "town", r.code.as_str(), r.id, i))
        .collect();
    order.sort_unstable();
    let order: Vec<usize> = order.into_iter().map(|key| key.4).collect();
    let mut rows: Vec<Option<ChiefRow>> = rows.into_iter().map(Some).collect();
    let mut chiefs = Vec::with_capacity(rows.len());
    for i in order {
        let row = rows[i].take().expect("each row once");
        chiefs.push(ChiefRecord {
            tenure: Tenure::new(row.appointed_on, row.left_on).map_err(corrupt)?,
            exemptions: Vec::new(),
            valid_weeks: WeekMask::EMPTY,
            valid_patrols: Vec::new(),
            id: row.id,
            town_id: row.town_id,
            code: row.code,
            name: row.name,
            level: row.level,
            village_id: row.village_id,
            village_name: row.village_name,
            phone: row.phone,
        });
    }
    Ok(chiefs)
}

/// Gives each chief its `chief_quarters.valid_weeks`.
fn add_masks(
    chiefs: &mut [ChiefRecord],
    positions: &Positions,
    masks: impl IntoIterator<Item = (i64, i32)>,
) -> crate::Result<()> {
    for (chief_id, bits) in masks {
        let bits = u64::try_from(bits).map_err(corrupt)?;
        if let Some(i) = positions.get(chief_id) {
            chiefs[i].valid_weeks = WeekMask::from_bits(bits);
        }
    }
    Ok(())
}

/// Gives each chief its exemptions, merged.
fn add_exemptions(
    chiefs: &mut [ChiefRecord],
    positions: &Positions,
    rows: impl IntoIterator<Item = (i64, NaiveDate, NaiveDate)>,
) -> crate::Result<()> {
    let mut exemptions: HashMap<i64, Vec<DateRange>> = HashMap::new();
    for (chief_id, from, to) in rows {
        let range = DateRange::new(from, to).map_err(corrupt)?;
        exemptions.entry(chief_id).or_default().push(range);
    }
    for (chief_id, ranges) in exemptions {
        if let Some(i) = positions.get(chief_id) {
            chiefs[i].exemptions = merge_ranges(&ranges);
        }
    }
    Ok(())
}

/// Chief id → position in the loaded list: a direct table when the ids are
/// dense (identity columns usually are: 100,000 chiefs take 400 KB, which
/// stays in cache), a hash map otherwise.
enum Positions {
    Dense { first: i64, slots: Vec<u32> },
    Sparse(HashMap<i64, usize>),
}

impl Positions {
    fn new(ids: impl Iterator<Item = i64> + Clone) -> Self {
        let count = ids.clone().count();
        let (min, max) = ids.clone().fold((i64::MAX, i64::MIN), |(lo, hi), id| {
            (lo.min(id), hi.max(id))
        });
        let span = max.checked_sub(min).and_then(|d| usize::try_from(d).ok());
        match span {
            Some(span) if span < 4 * count + 1024 && count < u32::MAX as usize => {
                let mut slots = vec![u32::MAX; span + 1];
                for (i, id) in ids.enumerate() {
                    slots[(id - min) as usize] = i as u32;
                }
                Positions::Dense { first: min, slots }
            }
            _ => Positions::Sparse(ids.enumerate().map(|(i, id)| (id, i)).collect()),
        }
    }

    fn get(&self, id: i64) -> Option<usize> {
        match self {
            Positions::Dense { first, slots } => {
                let slot = usize::try_from(id.checked_sub(*first)?).ok()?;
                slots
                    .get(slot)
                    .filter(|i| **i != u32::MAX)
                    .map(|i| *i as usize)
            }
            Positions::Sparse(map) => map.get(&id).copied(),
        }
    }
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

/// The weekly view of records loaded by [`load`] for that one week (pure).
pub fn week_report(week: IsoWeek, chiefs: Vec<ChiefRecord>, now: DateTime<Utc>) -> WeekReport {
    let chiefs = chiefs
        .into_iter()
        .map(|c| {
            let valid_patrols = c.valid_patrols.first().copied().unwrap_or(0);
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
    /// Status of every week of the quarter, by week name (in week order).
    #[schema(value_type = BTreeMap<String, String>)]
    pub weeks: WeekStatuses,
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
    fn new(c: ChiefRecord, s: ComplianceSummary<WeekStatuses>) -> Self {
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
    let chiefs = load_quarter(pool, scope, quarter).await?;
    if chiefs.len() < PARALLEL_FROM {
        return Ok(quarter_report(quarter, chiefs, now));
    }
    // Tens of thousands of chiefs are a few hundred ms of CPU: off the
    // async workers.
    tokio::task::spawn_blocking(move || quarter_report(quarter, chiefs, now))
        .await
        .map_err(|e| corrupt(format!("the quarter computation failed: {e}")))
}

/// From this many chiefs on, the rule runs on every core.
const PARALLEL_FROM: usize = 20_000;

/// The quarterly view of records loaded for the quarter's weeks
/// ([`load_quarter`], or [`load`] of its first to last week), pure. Large
/// lists are split over the available cores.
pub fn quarter_report(
    quarter: Quarter,
    chiefs: Vec<ChiefRecord>,
    now: DateTime<Utc>,
) -> QuarterReport {
    let weeks = quarter.weeks();
    // The quarter's dates once, every chief's weeks from its mask.
    let run = WeekRun::new(weeks.iter().copied()).expect("a quarter has at most 14 weeks");
    let summarize_all = |chiefs: Vec<ChiefRecord>| -> Vec<QuarterRow> {
        chiefs
            .into_iter()
            .map(|c| {
                // One allocation for the statuses rather than a map's
                // nodes: 100,000 of them are built, serialized and dropped.
                let summary = run.summarize(&c.tenure, &c.exemptions, c.valid_weeks, now);
                QuarterRow::new(c, summary)
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chiefs = if chiefs.len() < PARALLEL_FROM || threads < 2 {
        summarize_all(chiefs)
    } else {
        let per_thread = chiefs.len().div_ceil(threads);
        let mut parts = Vec::with_capacity(threads);
        let mut rest = chiefs;
        while rest.len() > per_thread {
            let tail = rest.split_off(per_thread);
            parts.push(rest);
            rest = tail;
        }
        parts.push(rest);
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|part| scope.spawn(|| summarize_all(part)))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("the weekly rule does not panic"))
                .collect()
        })
    };
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
            let valid = u32::from(c.valid_weeks.contains(0));
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
    let reason = &domain::text::clean("reason", domain::text::TextKind::Reason, reason)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::compliance::summarize;
    use std::collections::BTreeMap;

    #[test]
    fn positions_dense_and_sparse() {
        // Dense: ids 10..=19 in any order.
        let ids = [15i64, 10, 19, 11, 12, 13, 14, 16, 17, 18];
        let dense = Positions::new(ids.iter().copied());
        assert!(matches!(dense, Positions::Dense { .. }));
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(dense.get(*id), Some(i));
        }
        assert_eq!(dense.get(9), None);
        assert_eq!(dense.get(20), None);
        assert_eq!(dense.get(i64::MIN), None);
        // Sparse: ids far apart.
        let ids = [1i64, 1_000_000_000, 42, i64::MAX];
        let sparse = Positions::new(ids.iter().copied());
        assert!(matches!(sparse, Positions::Sparse(_)));
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(sparse.get(*id), Some(i));
        }
        assert_eq!(sparse.get(2), None);
        // Empty.
        assert_eq!(Positions::new(std::iter::empty()).get(1), None);
    }

    /// The parallel split gives the same rows, in the same order, as one
    /// sequential pass of `domain::compliance::summarize`.
    #[test]
    fn a_large_quarter_is_split_without_changing_anything() {
        let quarter: Quarter = "2026-Q4".parse().unwrap();
        let weeks = quarter.weeks();
        let now = Utc.with_ymd_and_hms(2026, 12, 9, 4, 0, 0).unwrap();
        let day = |n: u64| NaiveDate::from_ymd_opt(2026, 9, 1).unwrap() + chrono::Days::new(n);
        let chiefs: Vec<ChiefRecord> = (0..(PARALLEL_FROM as i64 + 777))
            .map(|i| ChiefRecord {
                id: i,
                town_id: i / 100,
                code: format!("HZ{i:06}"),
                name: format!("河长{i}"),
                level: if i % 100 == 0 { "town" } else { "village" }.into(),
                village_id: None,
                village_name: None,
                phone: None,
                tenure: Tenure::new(day(i as u64 % 60), (i % 7 == 0).then(|| day(90))).unwrap(),
                exemptions: if i % 5 == 0 {
                    vec![DateRange::new(day(40), day(40 + i as u64 % 10)).unwrap()]
                } else {
                    vec![]
                },
                valid_weeks: (0..weeks.len())
                    .filter(|w| !(i as usize + w).is_multiple_of(3))
                    .fold(WeekMask::EMPTY, |mask, w| mask.with(w)),
                valid_patrols: Vec::new(),
            })
            .collect();
        let expected: Vec<(i64, ComplianceSummary)> = chiefs
            .iter()
            .map(|c| {
                let valid_by_week: BTreeMap<IsoWeek, u32> = weeks
                    .iter()
                    .enumerate()
                    .filter(|(w, _)| c.valid_weeks.contains(*w))
                    .map(|(_, w)| (*w, 1 + (c.id % 2) as u32))
                    .collect();
                let s = summarize(
                    weeks.iter().copied(),
                    &c.tenure,
                    &c.exemptions,
                    &valid_by_week,
                    now,
                );
                (c.id, s)
            })
            .collect();
        let report = quarter_report(quarter, chiefs, now);
        assert_eq!(report.chiefs.len(), expected.len());
        for (row, (id, s)) in report.chiefs.iter().zip(&expected) {
            assert_eq!(row.chief_id, *id);
            assert_eq!(row.weeks.to_map(), s.weeks);
            assert_eq!(
                (
                    row.compliant,
                    row.exempt,
                    row.missed,
                    row.pending,
                    row.required
                ),
                (s.compliant, s.exempt, s.missed, s.pending, s.required)
            );
            assert_eq!(row.rate, s.rate);
        }
    }
}
