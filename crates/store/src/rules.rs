//! Per-town rule thresholds (domain::validity::RuleSet): stored as the
//! town's overrides only, so a changed default reaches every town that did
//! not override it.

use domain::validity::RuleSet;
use sqlx::PgPool;

use crate::StoreError;

/// The overrides as stored and the effective rule set.
pub async fn get(pool: &PgPool, town_id: i64) -> crate::Result<(serde_json::Value, RuleSet)> {
    let overrides: serde_json::Value = sqlx::query_scalar("SELECT rules FROM towns WHERE id = $1")
        .bind(town_id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("town"))?;
    let rules = RuleSet::from_json(&overrides.to_string()).unwrap_or_default();
    Ok((overrides, rules))
}

/// Replaces the town's overrides after checking them; audited.
pub async fn set(
    pool: &PgPool,
    town_id: i64,
    overrides: &serde_json::Value,
    user_id: Option<i64>,
) -> crate::Result<RuleSet> {
    if !overrides.is_object() {
        return Err(StoreError::invalid(
            "rules",
            "must be a JSON object of thresholds",
        ));
    }
    let rules = RuleSet::from_json(&overrides.to_string())
        .map_err(|e| StoreError::invalid("rules", e.to_string()))?;
    domain::schedule::Schedule::from_rules(overrides)
        .map_err(|e| StoreError::invalid("rules", e.to_string()))?;
    let mut tx = pool.begin().await?;
    let done = sqlx::query("UPDATE towns SET rules = $2 WHERE id = $1")
        .bind(town_id)
        .bind(overrides)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("town"));
    }
    crate::audit::record(
        &mut tx,
        crate::audit::AuditEntry {
            town_id: Some(town_id),
            user_id,
            action: "set_rules",
            entity: "town",
            entity_id: Some(town_id),
            details: overrides.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(rules)
}
