//! In-app notices for chiefs 通知: reminders to patrol, leave decisions,
//! assignments. Each keeps its zh-CN sentence (`text`, for channels and as
//! the page's fallback) and the figures the page fills into its own
//! sentence (`details`). A chief reads only their own.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use crate::StoreError;

/// One notice as `GET /api/v1/notices` shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Notice {
    pub id: i64,
    /// `reminder` | `leave_approved` | `leave_rejected` | `assignment`.
    pub kind: String,
    /// The ISO week (e.g. `2026-W48`) the notice is about, if any.
    pub week: Option<String>,
    /// Numbers and names the page fills into its sentence.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The zh-CN sentence.
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// Whether the chief has marked it read.
    pub read: bool,
}

/// Stores a notice for `chief_id`; takes a connection so it runs inside the
/// caller's transaction (a leave decision and its notice land together).
pub async fn create(
    conn: &mut PgConnection,
    town_id: i64,
    chief_id: i64,
    kind: &str,
    week: Option<&str>,
    details: serde_json::Value,
    text: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO notices (town_id, chief_id, kind, week, details, text)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(town_id)
    .bind(chief_id)
    .bind(kind)
    .bind(week)
    .bind(details)
    .bind(text)
    .fetch_one(conn)
    .await?)
}

/// Most notices a list answers: a chief gets a few a week.
const LIST_LIMIT: i64 = 200;

/// The chief's notices, newest first.
pub async fn list_for_chief(pool: &PgPool, chief_id: i64) -> crate::Result<Vec<Notice>> {
    Ok(sqlx::query_as(
        "SELECT id, kind, week, details, text, created_at, read_at IS NOT NULL AS read
         FROM notices WHERE chief_id = $1
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(chief_id)
    .bind(LIST_LIMIT)
    .fetch_all(pool)
    .await?)
}

/// Marks notice `id` of `chief_id` read (again is harmless: the first
/// reading time stays). NotFound when it is not that chief's.
pub async fn mark_read(pool: &PgPool, id: i64, chief_id: i64) -> crate::Result<Notice> {
    sqlx::query_as(
        "UPDATE notices SET read_at = COALESCE(read_at, now())
         WHERE id = $1 AND chief_id = $2
         RETURNING id, kind, week, details, text, created_at, true AS read",
    )
    .bind(id)
    .bind(chief_id)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound("notice"))
}
