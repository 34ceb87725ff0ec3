//! The audit log: every change of an issue, a patrol's validity, an
//! exemption or the roster, with who and when.

use sqlx::PgConnection;

/// One entry; written in the same transaction as the change it records.
pub struct AuditEntry<'a> {
    pub town_id: Option<i64>,
    pub user_id: Option<i64>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<i64>,
    pub details: serde_json::Value,
}

pub async fn record(conn: &mut PgConnection, entry: AuditEntry<'_>) -> crate::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (town_id, user_id, action, entity, entity_id, details)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(entry.town_id)
    .bind(entry.user_id)
    .bind(entry.action)
    .bind(entry.entity)
    .bind(entry.entity_id)
    .bind(entry.details)
    .execute(conn)
    .await?;
    Ok(())
}
