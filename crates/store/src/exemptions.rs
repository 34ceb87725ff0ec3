//! Exemptions 请假/免巡: a chief, an inclusive range of CST days, a reason
//! and the admin who approved it. Stored as given; overlapping ones are
//! merged by the weekly rule (`domain::compliance::merge_ranges`), not here,
//! so deleting one never changes another. Creating and deleting are audited.

use chrono::{DateTime, NaiveDate, Utc};
use domain::compliance::DateRange;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::StoreError;
use crate::audit::{self, AuditEntry};

/// An approved exemption.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Exemption {
    pub id: i64,
    pub town_id: i64,
    pub chief_id: i64,
    pub chief_code: String,
    pub chief_name: String,
    /// First day (inclusive, CST).
    #[serde(rename = "from")]
    pub from_date: NaiveDate,
    /// Last day (inclusive, CST).
    #[serde(rename = "to")]
    pub to_date: NaiveDate,
    pub reason: String,
    /// The admin (user id) who approved it.
    pub approved_by: Option<i64>,
    pub approved_by_login: Option<String>,
    pub created_at: DateTime<Utc>,
}

const EXEMPTION_SELECT: &str = "
    SELECT e.id, e.town_id, e.chief_id, c.code AS chief_code, c.name AS chief_name,
           e.from_date, e.to_date, e.reason, e.approved_by, u.login AS approved_by_login,
           e.created_at
    FROM exemptions e JOIN chiefs c ON c.id = e.chief_id
    LEFT JOIN users u ON u.id = e.approved_by";

/// A new exemption, checked: `range` is `from ..= to` with `to >= from`, and
/// `reason` is not blank.
#[derive(Debug, Clone)]
pub struct NewExemption {
    pub chief_id: i64,
    pub range: DateRange,
    pub reason: String,
}

/// Filters for [`list`]; each present one narrows the list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExemptionFilter {
    pub town_id: Option<i64>,
    pub chief_id: Option<i64>,
    /// Only exemptions with a day on or after this one.
    pub from: Option<NaiveDate>,
    /// Only exemptions with a day on or before this one.
    pub to: Option<NaiveDate>,
}

/// Stores an exemption approved by `approved_by`. The chief must exist and,
/// with `town_scope`, belong to that town (NotFound otherwise: other towns'
/// chiefs are not revealed).
pub async fn create(
    pool: &PgPool,
    new: &NewExemption,
    town_scope: Option<i64>,
    approved_by: i64,
) -> crate::Result<Exemption> {
    let reason = &domain::text::clean("reason", domain::text::TextKind::Reason, &new.reason)?;
    if reason.is_empty() {
        return Err(StoreError::invalid(
            "reason",
            "is required: say why the chief is exempt",
        ));
    }
    let mut tx = pool.begin().await?;
    let town_id: i64 = sqlx::query_scalar("SELECT town_id FROM chiefs WHERE id = $1")
        .bind(new.chief_id)
        .fetch_optional(&mut *tx)
        .await?
        .filter(|town| town_scope.is_none_or(|t| t == *town))
        .ok_or(StoreError::NotFound("chief"))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO exemptions (town_id, chief_id, from_date, to_date, reason, approved_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(town_id)
    .bind(new.chief_id)
    .bind(new.range.from())
    .bind(new.range.to())
    .bind(reason)
    .bind(approved_by)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        AuditEntry {
            town_id: Some(town_id),
            user_id: Some(approved_by),
            action: "create",
            entity: "exemption",
            entity_id: Some(id),
            details: serde_json::json!({
                "chief_id": new.chief_id,
                "from": new.range.from(),
                "to": new.range.to(),
                "reason": reason,
            }),
        },
    )
    .await?;
    let sql = format!("{EXEMPTION_SELECT} WHERE e.id = $1");
    let exemption = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(exemption)
}

/// Exemptions matching `filter`, by chief code and first day.
pub async fn list(pool: &PgPool, filter: ExemptionFilter) -> crate::Result<Vec<Exemption>> {
    let sql = format!(
        "{EXEMPTION_SELECT}
         WHERE ($1::bigint IS NULL OR e.town_id = $1) AND ($2::bigint IS NULL OR e.chief_id = $2)
           AND ($3::date IS NULL OR e.to_date >= $3) AND ($4::date IS NULL OR e.from_date <= $4)
         ORDER BY c.code, e.from_date, e.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(filter.town_id)
        .bind(filter.chief_id)
        .bind(filter.from)
        .bind(filter.to)
        .fetch_all(pool)
        .await?)
}

/// One exemption; NotFound outside `town_scope`.
pub async fn get(pool: &PgPool, id: i64, town_scope: Option<i64>) -> crate::Result<Exemption> {
    let sql = format!("{EXEMPTION_SELECT} WHERE e.id = $1");
    let exemption: Exemption = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("exemption"))?;
    if town_scope.is_some_and(|t| t != exemption.town_id) {
        return Err(StoreError::NotFound("exemption"));
    }
    Ok(exemption)
}

/// Deletes an exemption (withdrawn or entered by mistake), audited with the
/// deleted row. NotFound if it does not exist or is outside `town_scope`.
pub async fn delete(
    pool: &PgPool,
    id: i64,
    town_scope: Option<i64>,
    user_id: i64,
) -> crate::Result<Exemption> {
    let mut tx = pool.begin().await?;
    let sql = format!("{EXEMPTION_SELECT} WHERE e.id = $1 FOR UPDATE OF e");
    let exemption: Exemption = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .filter(|e: &Exemption| town_scope.is_none_or(|t| t == e.town_id))
        .ok_or(StoreError::NotFound("exemption"))?;
    sqlx::query("DELETE FROM exemptions WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        AuditEntry {
            town_id: Some(exemption.town_id),
            user_id: Some(user_id),
            action: "delete",
            entity: "exemption",
            entity_id: Some(id),
            details: serde_json::json!({
                "chief_id": exemption.chief_id,
                "from": exemption.from_date,
                "to": exemption.to_date,
                "reason": exemption.reason,
                "approved_by": exemption.approved_by,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(exemption)
}
