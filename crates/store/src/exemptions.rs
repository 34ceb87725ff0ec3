//! Exemptions 请假/免巡: a chief, an inclusive range of CST days, a reason
//! and the admin who approved it. Stored as given; overlapping ones are
//! merged by the weekly rule (`domain::compliance::merge_ranges`), not here,
//! so deleting one never changes another. Creating and deleting are audited.
//!
//! An admin's exemption is approved at once; a chief's own request (请假)
//! waits as `requested` until the office approves or rejects it
//! ([`decide`]), and only `approved` ones count for the weekly rule. The
//! chief hears of the decision through a notice (`crate::notices`).

use chrono::{DateTime, NaiveDate, Utc};
use domain::compliance::DateRange;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

use crate::StoreError;
use crate::audit::{self, AuditEntry};

/// An exemption: requested by a chief, approved, or rejected.
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
    /// `requested` (a chief's leave request, not counted yet), `approved`
    /// or `rejected`.
    pub status: String,
    /// The admin (user id) who approved or rejected it.
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The office's note on its decision.
    pub decision_note: Option<String>,
}

const EXEMPTION_SELECT: &str = "
    SELECT e.id, e.town_id, e.chief_id, c.code AS chief_code, c.name AS chief_name,
           e.from_date, e.to_date, e.reason, e.approved_by, u.login AS approved_by_login,
           e.created_at, e.status, e.decided_by, e.decided_at, e.decision_note
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
    /// Only exemptions with this status.
    pub status: Option<ExemptionStatus>,
}

/// Where an exemption stands. Only `Approved` ones count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExemptionStatus {
    Requested,
    Approved,
    Rejected,
}

impl ExemptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// The status named `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Requested, Self::Approved, Self::Rejected]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// Who posts an exemption (a user id), which decides its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostedBy {
    /// The town office: approved at once, the admin is the approver.
    Admin(i64),
    /// A chief asking leave for themself: `requested`.
    Chief(i64),
}

impl PostedBy {
    fn user_id(self) -> i64 {
        match self {
            Self::Admin(id) | Self::Chief(id) => id,
        }
    }

    fn approver(self) -> Option<i64> {
        match self {
            Self::Admin(id) => Some(id),
            Self::Chief(_) => None,
        }
    }
}

/// Stores an exemption posted by `posted_by`: approved when an admin posts
/// it, requested when a chief does. The chief must exist and, with
/// `town_scope`, belong to that town (NotFound otherwise: other towns'
/// chiefs are not revealed).
pub async fn create(
    pool: &PgPool,
    new: &NewExemption,
    town_scope: Option<i64>,
    posted_by: PostedBy,
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
    let (status, action) = match posted_by {
        PostedBy::Admin(_) => (ExemptionStatus::Approved, "create"),
        PostedBy::Chief(_) => (ExemptionStatus::Requested, "request"),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO exemptions (town_id, chief_id, from_date, to_date, reason, approved_by,
                                 status, decided_by, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6, CASE WHEN $6 IS NOT NULL THEN now() END)
         RETURNING id",
    )
    .bind(town_id)
    .bind(new.chief_id)
    .bind(new.range.from())
    .bind(new.range.to())
    .bind(reason)
    .bind(posted_by.approver())
    .bind(status.as_str())
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        AuditEntry {
            town_id: Some(town_id),
            user_id: Some(posted_by.user_id()),
            action,
            entity: "exemption",
            entity_id: Some(id),
            details: serde_json::json!({
                "chief_id": new.chief_id,
                "from": new.range.from(),
                "to": new.range.to(),
                "reason": reason,
                "status": status.as_str(),
            }),
        },
    )
    .await?;
    let exemption = select_one(&mut tx, id).await?;
    tx.commit().await?;
    Ok(exemption)
}

async fn select_one(conn: &mut PgConnection, id: i64) -> crate::Result<Exemption> {
    let sql = format!("{EXEMPTION_SELECT} WHERE e.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(conn)
        .await?)
}

/// Exemptions matching `filter`, by chief code and first day.
pub async fn list(pool: &PgPool, filter: ExemptionFilter) -> crate::Result<Vec<Exemption>> {
    let sql = format!(
        "{EXEMPTION_SELECT}
         WHERE ($1::bigint IS NULL OR e.town_id = $1) AND ($2::bigint IS NULL OR e.chief_id = $2)
           AND ($3::date IS NULL OR e.to_date >= $3) AND ($4::date IS NULL OR e.from_date <= $4)
           AND ($5::text IS NULL OR e.status = $5)
         ORDER BY c.code, e.from_date, e.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(filter.town_id)
        .bind(filter.chief_id)
        .bind(filter.from)
        .bind(filter.to)
        .bind(filter.status.map(ExemptionStatus::as_str))
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

/// Exemption `id`, locked for a change in the caller's transaction;
/// NotFound if it does not exist or is outside `town_scope`.
async fn lock(
    conn: &mut PgConnection,
    id: i64,
    town_scope: Option<i64>,
) -> crate::Result<Exemption> {
    let sql = format!("{EXEMPTION_SELECT} WHERE e.id = $1 FOR UPDATE OF e");
    let exemption: Option<Exemption> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    exemption
        .filter(|e| town_scope.is_none_or(|t| t == e.town_id))
        .ok_or(StoreError::NotFound("exemption"))
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
    let exemption = lock(&mut tx, id, town_scope).await?;
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
                "status": exemption.status,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(exemption)
}

/// The office's answer to a leave request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    fn status(self) -> ExemptionStatus {
        match self {
            Self::Approve => ExemptionStatus::Approved,
            Self::Reject => ExemptionStatus::Rejected,
        }
    }

    /// The audit action and the kind of the chief's notice.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Approve => ("approve", "leave_approved"),
            Self::Reject => ("reject", "leave_rejected"),
        }
    }
}

/// Why [`decide`] changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// Only a `requested` exemption can be decided; this one is `status`.
    #[error("this exemption is already {status}: only a requested one can be approved or rejected")]
    NotRequested { status: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DecideError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Approves or rejects the leave request `id` as admin `user_id`, with the
/// office's optional `note`: the new status, an audit entry and the
/// chief's notice in one transaction. The weekly rule reads approved
/// exemptions as it goes, so an approval counts from the next read on.
/// NotFound outside `town_scope`; [`DecideError::NotRequested`] unless the
/// exemption is still `requested` (the row lock makes a second admin's
/// concurrent decision see the first one).
pub async fn decide(
    pool: &PgPool,
    id: i64,
    town_scope: Option<i64>,
    user_id: i64,
    decision: Decision,
    note: Option<&str>,
) -> Result<Exemption, DecideError> {
    let mut tx = pool.begin().await?;
    let exemption = lock(&mut tx, id, town_scope).await?;
    if exemption.status != ExemptionStatus::Requested.as_str() {
        return Err(DecideError::NotRequested {
            status: exemption.status,
        });
    }
    let status = decision.status();
    sqlx::query(
        "UPDATE exemptions SET status = $2, decided_by = $3, decided_at = now(), decision_note = $4,
                approved_by = CASE WHEN $2 = 'approved' THEN $3 END
         WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(user_id)
    .bind(note)
    .execute(&mut *tx)
    .await?;
    let (action, kind) = decision.names();
    let details = serde_json::json!({
        "exemption_id": id,
        "from": exemption.from_date,
        "to": exemption.to_date,
        "reason": exemption.reason,
        "note": note,
    });
    audit::record(
        &mut tx,
        AuditEntry {
            town_id: Some(exemption.town_id),
            user_id: Some(user_id),
            action,
            entity: "exemption",
            entity_id: Some(id),
            details: serde_json::json!({"chief_id": exemption.chief_id, "note": note}),
        },
    )
    .await?;
    let text = decision_text(decision, &exemption, note);
    crate::notices::create(
        &mut tx,
        exemption.town_id,
        exemption.chief_id,
        kind,
        None,
        details,
        &text,
    )
    .await?;
    let decided = select_one(&mut tx, id).await?;
    tx.commit().await?;
    Ok(decided)
}

/// The chief's notice of a decision, in zh-CN (the pages have their own
/// sentence in both languages; channels and fallbacks use this one).
fn decision_text(decision: Decision, e: &Exemption, note: Option<&str>) -> String {
    let verdict = match decision {
        Decision::Approve => "已批准，请假期间免巡",
        Decision::Reject => "未批准，请按时巡河",
    };
    let note = note.map(|n| format!("河长办备注：{n}")).unwrap_or_default();
    format!(
        "您 {} 至 {} 的请假（{}）{verdict}。{note}",
        e.from_date, e.to_date, e.reason
    )
}
