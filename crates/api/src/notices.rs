//! Notice endpoints 通知: a chief reads their own notices (reminders, leave
//! decisions, assignments) and marks them read. Notices belong to a chief,
//! so an account without one has none.

use axum::Json;
use axum::extract::State;
use store::notices::Notice;

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiPath, ApiResult};

/// Your notices, newest first (an account that is not a chief has none).
#[utoipa::path(get, path = "/api/v1/notices", tag = "compliance",
    responses((status = 200, body = [Notice]), (status = 401)),
    security(("bearer" = [])))]
pub async fn list_notices(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
) -> ApiResult<Json<Vec<Notice>>> {
    let Some(chief_id) = auth.user.chief_id else {
        return Ok(Json(Vec::new()));
    };
    Ok(Json(
        store::notices::list_for_chief(&ctx.pool, chief_id).await?,
    ))
}

/// Mark one of your notices read; another's or an unknown id is 404.
#[utoipa::path(post, path = "/api/v1/notices/{id}/read", tag = "compliance",
    params(("id" = i64, Path)),
    responses((status = 200, body = Notice), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn mark_notice_read(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Notice>> {
    let chief_id = auth
        .user
        .chief_id
        .ok_or_else(|| ApiError::not_found("notice"))?;
    Ok(Json(
        store::notices::mark_read(&ctx.pool, id, chief_id).await?,
    ))
}
