//! Reminders (催办) and the scheduled jobs of the office's week: who is
//! still pending by the weekly rule, one message per subscribed channel
//! naming them, an in-app notice each, and the weekly bulletin to the
//! channels. Each decision and its outbox rows are one transaction; a
//! scheduled one also records its `schedule_runs` row there, so it runs
//! once per town and week whatever the number of servers.

use chrono::{DateTime, Utc};
use domain::bulletin::{reminder_notice, reminder_text};
use domain::channels::{Event, Message, NamedChief, TownRef};
use domain::compliance::{WeekStatus, week_status};
use domain::schedule::{Job, Schedule, due};
use domain::time::IsoWeek;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use crate::StoreError;
use crate::compliance::{Scope, load};
use crate::outbox::{Queued, enqueue};

/// `POST /api/v1/reminders`.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Reminded {
    pub reminded: Vec<i64>,
    pub deliveries: Vec<Queued>,
}

/// The town as messages name it.
pub async fn town_ref(conn: impl sqlx::PgExecutor<'_>, town_id: i64) -> crate::Result<TownRef> {
    let (code, name): (String, String) =
        sqlx::query_as("SELECT code, name FROM towns WHERE id = $1")
            .bind(town_id)
            .fetch_optional(conn)
            .await?
            .ok_or(StoreError::NotFound("town"))?;
    Ok(TownRef {
        id: town_id,
        code,
        name,
    })
}

/// The chiefs of the town still owing a patrol in `week` at `now`
/// (`pending`; never compliant, exempt or out of office), of `only` when
/// given (each of which must be a chief of the town).
async fn pending_chiefs(
    pool: &PgPool,
    town_id: i64,
    week: IsoWeek,
    only: Option<&[i64]>,
    now: DateTime<Utc>,
) -> crate::Result<Vec<NamedChief>> {
    let scope = Scope {
        town_id: Some(town_id),
        ..Scope::default()
    };
    let chiefs = load(pool, scope, week..=week).await?;
    if let Some(ids) = only
        && let Some(stranger) = ids.iter().find(|id| !chiefs.iter().any(|c| c.id == **id))
    {
        tracing::debug!(chief_id = stranger, "reminder for a chief outside the town");
        return Err(StoreError::NotFound("chief"));
    }
    Ok(chiefs
        .into_iter()
        .filter(|c| only.is_none_or(|ids| ids.contains(&c.id)))
        .filter(|c| {
            let valid = c.valid_patrols.first().copied().unwrap_or(0);
            week_status(week, &c.tenure, &c.exemptions, valid, now) == WeekStatus::Pending
        })
        .map(|c| NamedChief {
            chief_id: c.id,
            code: c.code,
            name: c.name,
            phone: c.phone,
            status: WeekStatus::Pending.as_str().to_owned(),
        })
        .collect())
}

/// The in-app notice of a reminder.
async fn insert_notice(
    conn: &mut PgConnection,
    town_id: i64,
    chief_id: i64,
    week: &str,
) -> crate::Result<()> {
    crate::notices::create(
        conn,
        town_id,
        chief_id,
        "reminder",
        Some(week),
        serde_json::json!({ "week": week }),
        &reminder_notice(week),
    )
    .await?;
    Ok(())
}

/// Writes a reminder of `chiefs` (notices and outbox rows) in `conn`'s
/// transaction.
async fn write_reminder(
    conn: &mut PgConnection,
    town: TownRef,
    week: IsoWeek,
    chiefs: Vec<NamedChief>,
) -> crate::Result<Reminded> {
    let week = week.to_string();
    for c in &chiefs {
        insert_notice(conn, town.id, c.chief_id, &week).await?;
    }
    let names: Vec<&str> = chiefs.iter().map(|c| c.name.as_str()).collect();
    let text = reminder_text(&town.name, &week, &names);
    let reminded = chiefs.iter().map(|c| c.chief_id).collect();
    let message = Message {
        event: Event::Reminder,
        town,
        week,
        chiefs,
        title: "巡河催办".to_owned(),
        text,
    };
    let deliveries = enqueue(conn, &message).await?;
    Ok(Reminded {
        reminded,
        deliveries,
    })
}

/// Reminds the town's chiefs still pending in `week` (the week in
/// progress at `now`), or those of `chief_ids` among them.
pub async fn remind(
    pool: &PgPool,
    town_id: i64,
    week: IsoWeek,
    chief_ids: Option<&[i64]>,
    now: DateTime<Utc>,
) -> crate::Result<Reminded> {
    if IsoWeek::current(now).ok() != Some(week) {
        return Err(StoreError::invalid(
            "week",
            format!("{week} is not the week in progress: only its pending chiefs can be reminded"),
        ));
    }
    let town = town_ref(pool, town_id).await?;
    let chiefs = pending_chiefs(pool, town_id, week, chief_ids, now).await?;
    if chiefs.is_empty() {
        return Ok(Reminded::default());
    }
    let mut tx = pool.begin().await?;
    let reminded = write_reminder(&mut tx, town, week, chiefs).await?;
    tx.commit().await?;
    Ok(reminded)
}

/// Claims the run of `job` for `town_id` and `week` in `conn`'s
/// transaction: false when it already ran (or another server is running
/// it right now and will commit first).
async fn claim_run(
    conn: &mut PgConnection,
    town_id: i64,
    job: Job,
    week: IsoWeek,
) -> crate::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO schedule_runs (town_id, kind, week) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(town_id)
    .bind(job.as_str())
    .bind(week.to_string())
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// A job that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub town_id: i64,
    pub job: Job,
    pub week: IsoWeek,
    pub deliveries: usize,
}

/// Runs every town's jobs due at `now` that have not run yet for their
/// week (see [`domain::schedule::due`]). Safe to call from several
/// servers at once, and as often as one likes.
pub async fn run_due(pool: &PgPool, now: DateTime<Utc>) -> crate::Result<Vec<Ran>> {
    let towns: Vec<(i64, serde_json::Value)> =
        sqlx::query_as("SELECT id, rules FROM towns ORDER BY id")
            .fetch_all(pool)
            .await?;
    let mut ran = Vec::new();
    for (town_id, rules) in towns {
        let schedule = Schedule::from_rules(&rules).unwrap_or_else(|e| {
            tracing::warn!(town_id, error = %e, "town schedule unreadable; using the defaults");
            Schedule::default()
        });
        for (job, week) in due(&schedule, now) {
            if already_ran(pool, town_id, job, week).await? {
                continue;
            }
            if let Some(deliveries) = run_job(pool, town_id, job, week, now).await? {
                ran.push(Ran {
                    town_id,
                    job,
                    week,
                    deliveries,
                });
            }
        }
    }
    Ok(ran)
}

async fn already_ran(pool: &PgPool, town_id: i64, job: Job, week: IsoWeek) -> crate::Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM schedule_runs WHERE town_id = $1 AND kind = $2 AND week = $3)",
    )
    .bind(town_id)
    .bind(job.as_str())
    .bind(week.to_string())
    .fetch_one(pool)
    .await?)
}

/// Runs one job; `None` when another server ran it first.
async fn run_job(
    pool: &PgPool,
    town_id: i64,
    job: Job,
    week: IsoWeek,
    now: DateTime<Utc>,
) -> crate::Result<Option<usize>> {
    let town = town_ref(pool, town_id).await?;
    // Read before the transaction: the claim's row lock is held only
    // while writing.
    let message = match job {
        Job::Reminder => None,
        Job::Bulletin => Some(crate::bulletin::message(pool, town.clone(), week, now).await?),
    };
    let chiefs = match job {
        Job::Reminder => pending_chiefs(pool, town_id, week, None, now).await?,
        Job::Bulletin => Vec::new(),
    };
    let mut tx = pool.begin().await?;
    if !claim_run(&mut tx, town_id, job, week).await? {
        return Ok(None);
    }
    let deliveries = match message {
        Some(message) => enqueue(&mut tx, &message).await?.len(),
        None if chiefs.is_empty() => 0,
        None => write_reminder(&mut tx, town, week, chiefs)
            .await?
            .deliveries
            .len(),
    };
    tx.commit().await?;
    Ok(Some(deliveries))
}
