//! Compliance endpoints: the weekly rule per chief for a week or a quarter,
//! the overdue list of the week in progress, and the town office's override
//! of a patrol's validity.
//!
//! Who sees what: admins, assessors and the town chief see every chief of
//! their town; a village chief sees only their own row (DESIGN: "sees ...
//! their own status"). Asking for another town, village or chief than one's
//! own is a 403.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use domain::time::{IsoWeek, Quarter};
use serde::{Deserialize, Serialize};
use store::auth::Role;
use store::compliance::{OverdueReport, PatrolValidity, QuarterReport, Scope, WeekReport};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};

/// The chiefs a caller may see, narrowed by the filters they asked for.
/// Shared by the compliance views and the exemption list.
pub fn visible_scope(
    auth: &AuthUser,
    town_id: Option<i64>,
    village_id: Option<i64>,
    chief_id: Option<i64>,
) -> ApiResult<Scope> {
    let town_id = match (auth.town_scope(), town_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::forbidden("town_id is outside your town"));
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    if let Some(own) = village_chief(auth) {
        if village_id.is_some_and(|v| Some(v) != auth.user.village_id) {
            return Err(ApiError::forbidden(
                "a village chief sees only their own status: village_id is not your village",
            ));
        }
        if chief_id.is_some_and(|c| c != own) {
            return Err(ApiError::forbidden(
                "a village chief sees only their own status: chief_id is not you",
            ));
        }
        return Ok(Scope {
            town_id,
            village_id: auth.user.village_id,
            chief_id: Some(own),
        });
    }
    Ok(Scope {
        town_id,
        village_id,
        chief_id,
    })
}

/// The caller's chief id when the caller is a village chief (小河长).
fn village_chief(auth: &AuthUser) -> Option<i64> {
    match (auth.role(), auth.user.village_id) {
        (Role::Chief, Some(_)) => auth.user.chief_id,
        _ => None,
    }
}

/// `?week=` or `?quarter=` (not both; neither = the week in progress), plus filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ComplianceQuery {
    /// ISO week in CST, `2026-W48`.
    pub week: Option<String>,
    /// Quarter of weeks, `2026-Q4` (weeks whose Thursday is in the quarter).
    pub quarter: Option<String>,
    /// Only this town (within your scope).
    pub town_id: Option<i64>,
    /// Only this village's chiefs.
    pub village_id: Option<i64>,
    /// Only this chief.
    pub chief_id: Option<i64>,
}

/// The weekly or the quarterly view.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ComplianceReport {
    Week(WeekReport),
    Quarter(QuarterReport),
}

fn time_error(e: domain::time::TimeError) -> ApiError {
    ApiError::BadRequest {
        code: e.code(),
        message: e.to_string(),
    }
}

/// Weekly status of every chief for a week, or the quarter's matrix.
///
/// Statuses, in order of precedence: `not_in_office`, `compliant`,
/// `exempt`, `pending`, `missed`. Without `week` and `quarter`, the week in
/// progress. Every chief of the scope is listed, those not in office with
/// `not_in_office`. In a quarter, `required` = compliant + missed (weeks in
/// office − exempt − pending) and `rate` = compliant / required (null when
/// nothing is required yet).
#[utoipa::path(get, path = "/api/v1/compliance", tag = "compliance",
    params(ComplianceQuery),
    responses((status = 200, body = ComplianceReport), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn get_compliance(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<ComplianceQuery>,
) -> ApiResult<Json<ComplianceReport>> {
    let scope = visible_scope(&auth, query.town_id, query.village_id, query.chief_id)?;
    let now = Utc::now();
    let report = match (query.week.as_deref(), query.quarter.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest {
                code: "week_and_quarter",
                message: "ask for either week=YYYY-Www or quarter=YYYY-Qn, not both".into(),
            });
        }
        (None, Some(q)) => {
            let quarter: Quarter = q.parse().map_err(time_error)?;
            ComplianceReport::Quarter(
                store::compliance::quarter(&ctx.pool, scope, quarter, now).await?,
            )
        }
        (week, None) => {
            let week = match week {
                Some(w) => w.parse::<IsoWeek>().map_err(time_error)?,
                None => IsoWeek::current(now).map_err(time_error)?,
            };
            ComplianceReport::Week(store::compliance::week(&ctx.pool, scope, week, now).await?)
        }
    };
    Ok(Json(report))
}

/// Filters of the overdue list.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct OverdueQuery {
    pub town_id: Option<i64>,
    pub village_id: Option<i64>,
}

/// Chiefs in office with no valid patrol yet this week (and not exempt),
/// with their last valid patrol and the days left; most overdue first.
#[utoipa::path(get, path = "/api/v1/compliance/overdue", tag = "compliance",
    params(OverdueQuery),
    responses((status = 200, body = OverdueReport), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn get_overdue(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<OverdueQuery>,
) -> ApiResult<Json<OverdueReport>> {
    let scope = visible_scope(&auth, query.town_id, query.village_id, None)?;
    Ok(Json(
        store::compliance::overdue(&ctx.pool, scope, Utc::now()).await?,
    ))
}

/// The town office's decision on a patrol's validity.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OverrideRequest {
    /// The validity to use instead of the machine's verdict.
    pub valid: bool,
    /// Why (required; kept in the audit log).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Override a patrol's validity (admin): the patrol's week is recounted at once.
#[utoipa::path(post, path = "/api/v1/patrols/{id}/override", tag = "compliance",
    params(("id" = i64, Path)), request_body = OverrideRequest,
    responses((status = 200, body = PatrolValidity), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn set_override(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<OverrideRequest>,
) -> ApiResult<Json<PatrolValidity>> {
    auth.require_admin()?;
    let reason = req.reason.unwrap_or_default();
    let validity = store::compliance::set_override(
        &ctx.pool,
        id,
        auth.town_scope(),
        req.valid,
        &reason,
        auth.user.id,
    )
    .await?;
    tracing::info!(
        patrol_id = id,
        valid = req.valid,
        user_id = auth.user.id,
        "validity overridden"
    );
    Ok(Json(validity))
}

/// Clear a patrol's validity override (admin): back to the machine's verdict.
#[utoipa::path(delete, path = "/api/v1/patrols/{id}/override", tag = "compliance",
    params(("id" = i64, Path)),
    responses((status = 200, body = PatrolValidity), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn clear_override(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PatrolValidity>> {
    auth.require_admin()?;
    let validity =
        store::compliance::clear_override(&ctx.pool, id, auth.town_scope(), auth.user.id).await?;
    tracing::info!(
        patrol_id = id,
        user_id = auth.user.id,
        "validity override cleared"
    );
    Ok(Json(validity))
}
