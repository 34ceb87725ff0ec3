//! A town's channels (where reminders and bulletins go). Secrets are
//! write-only: read here only by the outbox worker, never answered.

use domain::channels::{ChannelKind, Event, check_url, parse_channel};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use crate::StoreError;

/// A channel as the office sees it (no secret, only whether one is set).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Channel {
    pub id: i64,
    /// `wecom`, `dingtalk` or `webhook`.
    pub kind: String,
    pub url: String,
    pub secret_set: bool,
    /// Of `reminder`, `bulletin`, `issue`.
    pub events: Vec<String>,
}

/// A channel as sent to `PUT /api/v1/towns/{id}/channels`.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    /// An existing channel's id to keep it (and its secret when `secret`
    /// is left out); none for a new one.
    pub id: Option<i64>,
    pub kind: String,
    pub url: String,
    /// Write-only. Left out: an existing channel keeps its secret; `""`
    /// removes it.
    pub secret: Option<String>,
    pub events: Vec<String>,
}

const SELECT: &str = "SELECT id, kind, url, secret IS NOT NULL AS secret_set, events
                      FROM channels WHERE town_id = $1 AND removed_at IS NULL ORDER BY id";

/// The town's channels.
pub async fn list(pool: &PgPool, town_id: i64) -> crate::Result<Vec<Channel>> {
    Ok(sqlx::query_as(SELECT).bind(town_id).fetch_all(pool).await?)
}

/// Checks one channel of a PUT: `channels[i]` names it in errors.
fn check(i: usize, input: &ChannelInput) -> crate::Result<(ChannelKind, Vec<Event>)> {
    let field = |e: &domain::channels::ChannelError| format!("channels[{i}].{}", e.field());
    check_url(&input.url).map_err(|e| StoreError::invalid(field(&e), e.to_string()))?;
    if input.secret.as_deref().is_some_and(|s| s.len() > 200) {
        return Err(StoreError::invalid(
            format!("channels[{i}].secret"),
            "is longer than 200 characters",
        ));
    }
    parse_channel(&input.kind, &input.events)
        .map_err(|e| StoreError::invalid(field(&e), e.to_string()))
}

/// Replaces the town's channels with `inputs` in one transaction: a
/// channel with a known `id` is updated, one without is added, the rest
/// are removed (kept for their deliveries, no longer sent to). Audited
/// without secrets.
pub async fn replace(
    pool: &PgPool,
    town_id: i64,
    inputs: &[ChannelInput],
    user_id: Option<i64>,
) -> crate::Result<Vec<Channel>> {
    let checked = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| check(i, input))
        .collect::<crate::Result<Vec<_>>>()?;
    let mut tx = pool.begin().await?;
    let town_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM towns WHERE id = $1)")
        .bind(town_id)
        .fetch_one(&mut *tx)
        .await?;
    if !town_exists {
        return Err(StoreError::NotFound("town"));
    }
    let mut kept = Vec::new();
    for (input, (kind, events)) in inputs.iter().zip(checked) {
        let events: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        let id = match input.id {
            Some(id) => update(&mut tx, town_id, id, input, kind, &events).await?,
            None => insert(&mut tx, town_id, input, kind, &events).await?,
        };
        kept.push(id);
    }
    sqlx::query(
        "UPDATE channels SET removed_at = now()
         WHERE town_id = $1 AND removed_at IS NULL AND NOT (id = ANY($2))",
    )
    .bind(town_id)
    .bind(&kept)
    .execute(&mut *tx)
    .await?;
    let listed: Vec<Channel> = sqlx::query_as(SELECT)
        .bind(town_id)
        .fetch_all(&mut *tx)
        .await?;
    crate::audit::record(
        &mut tx,
        crate::audit::AuditEntry {
            town_id: Some(town_id),
            user_id,
            action: "set_channels",
            entity: "town",
            entity_id: Some(town_id),
            details: serde_json::to_value(&listed).unwrap_or_default(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(listed)
}

/// `""` removes a secret; a non-empty one is kept as given.
fn secret_value(secret: Option<&str>) -> Option<&str> {
    secret.filter(|s| !s.is_empty())
}

async fn update(
    conn: &mut PgConnection,
    town_id: i64,
    id: i64,
    input: &ChannelInput,
    kind: ChannelKind,
    events: &[&str],
) -> crate::Result<i64> {
    let updated = sqlx::query(
        "UPDATE channels SET kind = $3, url = $4, events = $5,
                secret = CASE WHEN $6 THEN $7 ELSE secret END
         WHERE id = $1 AND town_id = $2 AND removed_at IS NULL",
    )
    .bind(id)
    .bind(town_id)
    .bind(kind.as_str())
    .bind(&input.url)
    .bind(events)
    .bind(input.secret.is_some())
    .bind(secret_value(input.secret.as_deref()))
    .execute(conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound("channel"));
    }
    Ok(id)
}

async fn insert(
    conn: &mut PgConnection,
    town_id: i64,
    input: &ChannelInput,
    kind: ChannelKind,
    events: &[&str],
) -> crate::Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO channels (town_id, kind, url, secret, events)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(town_id)
    .bind(kind.as_str())
    .bind(&input.url)
    .bind(secret_value(input.secret.as_deref()))
    .bind(events)
    .fetch_one(conn)
    .await?)
}

/// The kinds of the town's channels subscribed to `event`.
pub(crate) async fn subscribed(
    conn: &mut PgConnection,
    town_id: i64,
    event: Event,
) -> crate::Result<Vec<(i64, ChannelKind)>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, kind FROM channels
         WHERE town_id = $1 AND removed_at IS NULL AND $2 = ANY(events) ORDER BY id",
    )
    .bind(town_id)
    .bind(event.as_str())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind)| ChannelKind::parse(&kind).map(|k| (id, k)))
        .collect())
}
