//! Exemption endpoints 请假/免巡: the town office (admin) approves, lists and
//! withdraws exemptions; the posting admin is the approver. A chief asks
//! leave for themself (`requested`), which the office approves or rejects.
//! Admins and assessors list their town's; a chief lists only their own
//! (reasons may be personal, e.g. sick leave, so chiefs do not see each
//! other's).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use domain::compliance::DateRange;
use serde::Deserialize;
use store::auth::Role;
use store::exemptions::{
    Decision, Exemption, ExemptionFilter, ExemptionStatus, NewExemption, PostedBy,
};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Body};

/// `{"chief_id", "from": "2026-07-13", "to": "2026-07-19", "reason"}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExemptionRequest {
    pub chief_id: i64,
    /// First day (inclusive, CST), `YYYY-MM-DD`.
    pub from: NaiveDate,
    /// Last day (inclusive, CST); equal to `from` for a single day.
    pub to: NaiveDate,
    /// Why (required), e.g. 住院 / 外出培训.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Approve an exemption for a chief of your town (admin: `approved`), or
/// ask leave for yourself (chief: `requested`, counted once the office
/// approves it). Days are inclusive CST dates; a week is exempt when
/// approved exemptions (merged, if they overlap) cover every day of it the
/// chief is in office.
#[utoipa::path(post, path = "/api/v1/exemptions", tag = "compliance",
    request_body = ExemptionRequest,
    responses((status = 201, body = Exemption), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_exemption(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(req): ApiJson<ExemptionRequest>,
) -> ApiResult<(StatusCode, Json<Exemption>)> {
    let posted_by = poster(&auth, req.chief_id)?;
    let reason = req.reason.unwrap_or_default();
    if reason.trim().is_empty() {
        return Err(ApiError::invalid_field(
            "reason",
            "is required: say why the chief is exempt",
        ));
    }
    let range = DateRange::new(req.from, req.to)
        .map_err(|e| ApiError::invalid_field("to", e.to_string()))?;
    let new = NewExemption {
        chief_id: req.chief_id,
        range,
        reason,
    };
    let exemption =
        store::exemptions::create(&ctx.pool, &new, auth.town_scope(), posted_by).await?;
    tracing::info!(
        exemption_id = exemption.id,
        chief_id = exemption.chief_id,
        status = %exemption.status,
        "exemption posted"
    );
    Ok((StatusCode::CREATED, Json(exemption)))
}

/// Who may post an exemption for `chief_id`: the office for any chief of
/// its town, a chief only for themself.
fn poster(auth: &AuthUser, chief_id: i64) -> ApiResult<PostedBy> {
    match auth.role() {
        Role::Admin => Ok(PostedBy::Admin(auth.user.id)),
        Role::Chief if auth.user.chief_id == Some(chief_id) => Ok(PostedBy::Chief(auth.user.id)),
        Role::Chief => Err(ApiError::forbidden(
            "a chief asks leave only for themself: chief_id is not you",
        )),
        Role::Assessor => Err(ApiError::forbidden("assessors cannot post exemptions")),
    }
}

/// Filters of the exemption list.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ExemptionQuery {
    pub town_id: Option<i64>,
    pub chief_id: Option<i64>,
    /// Only exemptions with a day on or after this date.
    pub from: Option<NaiveDate>,
    /// Only exemptions with a day on or before this date.
    pub to: Option<NaiveDate>,
    /// Only `requested`, `approved` or `rejected` ones.
    pub status: Option<String>,
}

/// List exemptions: your town's (admin, assessor) or your own (chief).
#[utoipa::path(get, path = "/api/v1/exemptions", tag = "compliance",
    params(ExemptionQuery),
    responses((status = 200, body = [Exemption]), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn list_exemptions(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<ExemptionQuery>,
) -> ApiResult<Json<Vec<Exemption>>> {
    let town_id = match (auth.town_scope(), query.town_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::forbidden("town_id is outside your town"));
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let chief_id = if auth.is_village_chief() {
        let own = auth.user.chief_id;
        if query.chief_id.is_some_and(|c| Some(c) != own) {
            return Err(ApiError::forbidden(
                "a chief sees only their own exemptions: chief_id is not you",
            ));
        }
        // A chief account always has a chief; -1 matches nothing otherwise.
        Some(own.unwrap_or(-1))
    } else {
        query.chief_id
    };
    let status = query
        .status
        .as_deref()
        .map(|name| {
            ExemptionStatus::parse(name).ok_or_else(|| {
                ApiError::invalid_field("status", "must be requested, approved or rejected")
            })
        })
        .transpose()?;
    let filter = ExemptionFilter {
        town_id,
        chief_id,
        from: query.from,
        to: query.to,
        status,
    };
    Ok(Json(store::exemptions::list(&ctx.pool, filter).await?))
}

/// One exemption (admin, assessor, or the chief it is for).
#[utoipa::path(get, path = "/api/v1/exemptions/{id}", tag = "compliance",
    params(("id" = i64, Path)),
    responses((status = 200, body = Exemption), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_exemption(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Exemption>> {
    let exemption = store::exemptions::get(&ctx.pool, id, auth.town_scope()).await?;
    if auth.is_village_chief() && auth.user.chief_id != Some(exemption.chief_id) {
        return Err(ApiError::not_found("exemption"));
    }
    Ok(Json(exemption))
}

/// Withdraw an exemption (admin); audited. The weeks it covered are
/// decided again from the remaining exemptions and patrols.
#[utoipa::path(delete, path = "/api/v1/exemptions/{id}", tag = "compliance",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn delete_exemption(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    auth.require_admin()?;
    let deleted = store::exemptions::delete(&ctx.pool, id, auth.town_scope(), auth.user.id).await?;
    tracing::info!(
        exemption_id = id,
        chief_id = deleted.chief_id,
        "exemption withdrawn"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// `{"note"}`: the office's optional note on its decision (≤ 1,000 characters).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DecisionRequest {
    #[serde(default)]
    pub note: Option<String>,
}

/// The decision's body: none (or blank) is no note.
fn decision_body(bytes: &[u8]) -> ApiResult<DecisionRequest> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(DecisionRequest::default());
    }
    serde_json::from_slice(bytes).map_err(ApiError::json_body)
}

/// Most characters of a decision's note (DESIGN.md "Limits").
const MAX_NOTE_CHARS: usize = 1000;

/// The note trimmed, `None` when blank; 422 when too long or with control
/// characters other than newline and tab.
fn decision_note(note: Option<String>) -> ApiResult<Option<String>> {
    let Some(note) = note else { return Ok(None) };
    let note = note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::invalid_field(
            "note",
            format!("is longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::invalid_field(
            "note",
            "contains control characters",
        ));
    }
    Ok((!note.is_empty()).then(|| note.to_owned()))
}

async fn decide(
    ctx: &ApiContext,
    auth: &AuthUser,
    id: i64,
    decision: Decision,
    body: &[u8],
) -> ApiResult<Json<Exemption>> {
    auth.require_admin()?;
    let note = decision_note(decision_body(body)?.note)?;
    let decided = store::exemptions::decide(
        &ctx.pool,
        id,
        auth.town_scope(),
        auth.user.id,
        decision,
        note.as_deref(),
    )
    .await?;
    tracing::info!(
        exemption_id = id,
        chief_id = decided.chief_id,
        status = %decided.status,
        "leave request decided"
    );
    Ok(Json(decided))
}

/// Approve a chief's leave request (admin of its town): it counts from now
/// on, and the chief gets a `leave_approved` notice. 409 unless `requested`.
#[utoipa::path(post, path = "/api/v1/exemptions/{id}/approve", tag = "compliance",
    params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = Exemption), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn approve_exemption(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
    Body(body): Body,
) -> ApiResult<Json<Exemption>> {
    decide(&ctx, &auth, id, Decision::Approve, &body).await
}

/// Reject a chief's leave request (admin of its town): it never counts, and
/// the chief gets a `leave_rejected` notice. 409 unless `requested`.
#[utoipa::path(post, path = "/api/v1/exemptions/{id}/reject", tag = "compliance",
    params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = Exemption), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn reject_exemption(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
    Body(body): Body,
) -> ApiResult<Json<Exemption>> {
    decide(&ctx, &auth, id, Decision::Reject, &body).await
}
