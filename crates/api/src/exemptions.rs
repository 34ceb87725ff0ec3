//! Exemption endpoints 请假/免巡: the town office (admin) approves, lists and
//! withdraws exemptions; the posting admin is the approver. Admins and
//! assessors list their town's; a chief lists only their own (reasons may
//! be personal, e.g. sick leave, so chiefs do not see each other's).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use domain::compliance::DateRange;
use serde::Deserialize;
use store::auth::Role;
use store::exemptions::{Exemption, ExemptionFilter, NewExemption};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};

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

/// Approve an exemption for a chief of your town (admin). Days are
/// inclusive CST dates; a week is exempt when exemptions (merged, if they
/// overlap) cover every day of it the chief is in office.
#[utoipa::path(post, path = "/api/v1/exemptions", tag = "compliance",
    request_body = ExemptionRequest,
    responses((status = 201, body = Exemption), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_exemption(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(req): ApiJson<ExemptionRequest>,
) -> ApiResult<(StatusCode, Json<Exemption>)> {
    auth.require_admin()?;
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
        store::exemptions::create(&ctx.pool, &new, auth.town_scope(), auth.user.id).await?;
    tracing::info!(
        exemption_id = exemption.id,
        chief_id = exemption.chief_id,
        "exemption approved"
    );
    Ok((StatusCode::CREATED, Json(exemption)))
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
    let chief_id = if auth.role() == Role::Chief {
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
    let filter = ExemptionFilter {
        town_id,
        chief_id,
        from: query.from,
        to: query.to,
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
    if auth.role() == Role::Chief && auth.user.chief_id != Some(exemption.chief_id) {
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
