//! The figures of the weekly bulletin (周通报) from the weekly rule
//! ([`crate::compliance::load`]) and the town figures
//! ([`crate::stats::town_stats`]), for a week and the week before.

use chrono::{DateTime, Utc};
use domain::bulletin::{Activity, Bulletin, ChiefWeek, WeekFigures, bulletin, markdown};
use domain::channels::{Event, Message, NamedChief, TownRef};
use domain::compliance::week_status;
use domain::time::IsoWeek;
use sqlx::PgPool;

use crate::StoreError;
use crate::compliance::{Scope, load};

/// Each chief's status in `weeks[0]` and `weeks[1]`.
async fn chief_weeks(
    pool: &PgPool,
    town_id: i64,
    weeks: [IsoWeek; 2],
    now: DateTime<Utc>,
) -> crate::Result<[Vec<ChiefWeek>; 2]> {
    let scope = Scope {
        town_id: Some(town_id),
        ..Scope::default()
    };
    let records = load(pool, scope, weeks[0]..=weeks[1]).await?;
    let of_week = |i: usize| -> Vec<ChiefWeek> {
        records
            .iter()
            .map(|c| {
                let valid = c.valid_patrols.get(i).copied().unwrap_or(0);
                ChiefWeek {
                    chief_id: c.id,
                    code: c.code.clone(),
                    name: c.name.clone(),
                    village: c.village_name.clone(),
                    status: week_status(weeks[i], &c.tenure, &c.exemptions, valid, now),
                    valid_patrols: valid,
                }
            })
            .collect()
    };
    Ok([of_week(0), of_week(1)])
}

/// Patrols, kilometres and problems of `week`.
async fn activity(pool: &PgPool, town_id: i64, week: IsoWeek) -> crate::Result<Activity> {
    let stats = crate::stats::town_stats(pool, Some(town_id), week.monday(), week.sunday()).await?;
    // Open at the week's end and past its deadline by then.
    let overdue: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM issues
         WHERE town_id = $1 AND created_at < $2 AND deadline < $2
           AND (resolved_at IS NULL OR resolved_at >= $2) AND status NOT IN ('closed')",
    )
    .bind(town_id)
    .bind(week.end_utc())
    .fetch_one(pool)
    .await?;
    Ok(Activity {
        patrols: stats.patrols,
        valid_patrols: stats.valid_patrols,
        km: stats.km_patrolled,
        issues_found: stats.issues_found,
        issues_resolved: stats.issues_resolved,
        issues_overdue: overdue,
    })
}

/// The bulletin of `week` for the town, as of `now`.
pub async fn weekly(
    pool: &PgPool,
    town: TownRef,
    week: IsoWeek,
    now: DateTime<Utc>,
) -> crate::Result<Bulletin> {
    let previous_week = week
        .prev()
        .ok_or_else(|| StoreError::invalid("week", "has no week before it"))?;
    let [previous_chiefs, chiefs] = chief_weeks(pool, town.id, [previous_week, week], now).await?;
    let (previous_activity, this_activity) = tokio::try_join!(
        activity(pool, town.id, previous_week),
        activity(pool, town.id, week)
    )?;
    let previous = WeekFigures::new(
        previous_week.to_string(),
        &previous_chiefs,
        previous_activity,
    );
    Ok(bulletin(
        town,
        week.to_string(),
        chiefs,
        this_activity,
        previous,
    ))
}

/// The bulletin of `week` as a message to the channels.
pub async fn message(
    pool: &PgPool,
    town: TownRef,
    week: IsoWeek,
    now: DateTime<Utc>,
) -> crate::Result<Message> {
    let b = weekly(pool, town, week, now).await?;
    let text = markdown(&b);
    let chiefs = b
        .chiefs
        .iter()
        .map(|c| NamedChief {
            chief_id: c.chief_id,
            code: c.code.clone(),
            name: c.name.clone(),
            // A bulletin names, it does not call: no phones.
            phone: None,
            status: c.status.as_str().to_owned(),
        })
        .collect();
    Ok(Message {
        event: Event::Bulletin,
        title: format!("{} 河长巡河周通报（{}）", b.town.name, b.week),
        town: b.town,
        week: b.week,
        chiefs,
        text,
    })
}
