//! The outbox of messages to channels (`deliveries`): written in the
//! transaction that decides a message, sent by a worker that claims one
//! due row at a time with `FOR UPDATE SKIP LOCKED` and keeps the lock
//! while it sends, so two server processes never send one message twice
//! and a restart loses nothing (the state is the table).

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::channels::{ChannelKind, Message, render};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use utoipa::ToSchema;
use uuid::Uuid;

/// A delivery as `GET /api/v1/deliveries` lists it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Delivery {
    /// Also the `X-Riverchief-Delivery` header, the same on every attempt.
    pub id: Uuid,
    pub channel_id: i64,
    /// `wecom`, `dingtalk` or `webhook`.
    pub channel_kind: String,
    /// `reminder`, `bulletin` or `issue`.
    pub event: String,
    pub week: Option<String>,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A new delivery as a decision answers it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Queued {
    pub id: Uuid,
    pub channel_id: i64,
    pub status: String,
}

/// Queues `message` for each of the town's channels subscribed to its
/// event, inside the caller's transaction.
pub async fn enqueue(conn: &mut PgConnection, message: &Message) -> crate::Result<Vec<Queued>> {
    let channels = crate::channels::subscribed(conn, message.town.id, message.event).await?;
    let mut queued = Vec::with_capacity(channels.len());
    for (channel_id, kind) in channels {
        let row: Queued = sqlx::query_as(
            "INSERT INTO deliveries (town_id, channel_id, event, week, body)
             VALUES ($1, $2, $3, $4, $5) RETURNING id, channel_id, status",
        )
        .bind(message.town.id)
        .bind(channel_id)
        .bind(message.event.as_str())
        .bind(&message.week)
        .bind(render(kind, message))
        .fetch_one(&mut *conn)
        .await?;
        queued.push(row);
    }
    Ok(queued)
}

/// The town's deliveries, newest first (at most `limit`).
pub async fn list(pool: &PgPool, town_id: i64, limit: i64) -> crate::Result<Vec<Delivery>> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.channel_id, c.kind AS channel_kind, d.event, d.week, d.status,
                d.attempts, d.last_error, d.created_at, d.sent_at
         FROM deliveries d JOIN channels c ON c.id = d.channel_id
         WHERE d.town_id = $1 ORDER BY d.created_at DESC, d.id LIMIT $2",
    )
    .bind(town_id)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// A due delivery, locked for this worker until [`Claim::sent`] or
/// [`Claim::failed`] (or until the claim is dropped: then it stays due).
pub struct Claim {
    tx: Transaction<'static, Postgres>,
    pub id: Uuid,
    pub kind: ChannelKind,
    pub url: String,
    pub secret: Option<String>,
    pub body: String,
    /// Attempts before this one.
    pub attempts: i32,
    /// The channel was removed since: nothing is sent.
    pub channel_removed: bool,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: Uuid,
    kind: String,
    url: String,
    secret: Option<String>,
    body: String,
    attempts: i32,
    channel_removed: bool,
}

/// Claims the most overdue pending delivery, if any is due.
pub async fn claim_due(pool: &PgPool) -> crate::Result<Option<Claim>> {
    let mut tx = pool.begin().await?;
    // Another worker's row is skipped, not waited for: each row is sent
    // by the one worker that holds its lock.
    let row: Option<DueRow> = sqlx::query_as(
        "SELECT d.id, c.kind, c.url, c.secret, d.body, d.attempts,
                c.removed_at IS NOT NULL AS channel_removed
         FROM deliveries d JOIN channels c ON c.id = d.channel_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= now()
         ORDER BY d.next_attempt_at
         LIMIT 1
         FOR UPDATE OF d SKIP LOCKED",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let kind = ChannelKind::parse(&row.kind).unwrap_or(ChannelKind::Webhook);
    Ok(Some(Claim {
        tx,
        id: row.id,
        kind,
        url: row.url,
        secret: row.secret,
        body: row.body,
        attempts: row.attempts,
        channel_removed: row.channel_removed,
    }))
}

impl Claim {
    /// The channel took the message.
    pub async fn sent(mut self) -> crate::Result<()> {
        sqlx::query(
            "UPDATE deliveries SET status = 'sent', attempts = attempts + 1,
                    last_error = NULL, sent_at = now()
             WHERE id = $1",
        )
        .bind(self.id)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// The attempt failed with `error`: try again after `retry_after`,
    /// unless that is later than `give_up_after` from its creation (then
    /// `failed`, for good).
    pub async fn failed(
        mut self,
        error: &str,
        retry_after: Duration,
        give_up_after: Duration,
    ) -> crate::Result<()> {
        let error: String = error.chars().take(500).collect();
        sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = $2,
                    next_attempt_at = now() + $3,
                    status = CASE WHEN now() + $3 > created_at + $4 OR $5 THEN 'failed'
                                  ELSE 'pending' END
             WHERE id = $1",
        )
        .bind(self.id)
        .bind(&error)
        .bind(interval(retry_after))
        .bind(interval(give_up_after))
        .bind(self.channel_removed)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

fn interval(d: Duration) -> sqlx::postgres::types::PgInterval {
    sqlx::postgres::types::PgInterval {
        months: 0,
        days: 0,
        microseconds: i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
    }
}
