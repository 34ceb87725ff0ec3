//! Roster endpoints: towns, villages, branches, rivers, chiefs, reaches and
//! assignments. Everyone logged in reads their town's roster (the names and
//! phones of river chiefs are on public signboards anyway); only admins write.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use store::roster::{
    Assignment, Branch, Chief, NewAssignment, NewTown, ReachCollection, ReachFeature, River, Town,
    Village,
};
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};

/// Filters shared by the roster lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RosterFilter {
    /// Only this town (must be within the caller's scope).
    pub town_id: Option<i64>,
    /// Only this village.
    pub village_id: Option<i64>,
    /// Only this chief.
    pub chief_id: Option<i64>,
}

impl RosterFilter {
    /// The town to filter on: the caller's own, or the asked one if allowed.
    pub fn town(&self, auth: &AuthUser) -> ApiResult<Option<i64>> {
        match (auth.town_scope(), self.town_id) {
            (Some(own), Some(asked)) if own != asked => {
                Err(ApiError::forbidden("town_id is outside your town"))
            }
            (Some(own), _) => Ok(Some(own)),
            (None, asked) => Ok(asked),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/towns", tag = "roster",
    params(RosterFilter), responses((status = 200, body = [Town]), (status = 401)),
    security(("bearer" = [])))]
pub async fn list_towns(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(filter): ApiQuery<RosterFilter>,
) -> ApiResult<Json<Vec<Town>>> {
    Ok(Json(
        store::roster::towns(&ctx.pool, filter.town(&auth)?).await?,
    ))
}

/// Create an empty town (admins without a town only; fill it by import).
#[utoipa::path(post, path = "/api/v1/towns", tag = "roster",
    request_body = NewTown,
    responses((status = 201, body = Town), (status = 401), (status = 403), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_town(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(new): ApiJson<NewTown>,
) -> ApiResult<(StatusCode, Json<Town>)> {
    auth.require_admin()?;
    if auth.town_scope().is_some() {
        return Err(ApiError::forbidden(
            "a town's admin cannot create other towns",
        ));
    }
    let town = store::roster::create_town(&ctx.pool, &new).await?;
    Ok((StatusCode::CREATED, Json(town)))
}

#[utoipa::path(get, path = "/api/v1/villages", tag = "roster",
    params(RosterFilter), responses((status = 200, body = [Village]), (status = 401)),
    security(("bearer" = [])))]
pub async fn list_villages(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(filter): ApiQuery<RosterFilter>,
) -> ApiResult<Json<Vec<Village>>> {
    Ok(Json(
        store::roster::villages(&ctx.pool, filter.town(&auth)?).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/branches", tag = "roster",
    params(RosterFilter), responses((status = 200, body = [Branch]), (status = 401)),
    security(("bearer" = [])))]
pub async fn list_branches(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(filter): ApiQuery<RosterFilter>,
) -> ApiResult<Json<Vec<Branch>>> {
    Ok(Json(
        store::roster::branches(&ctx.pool, filter.town(&auth)?).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/rivers", tag = "roster",
    params(RosterFilter), responses((status = 200, body = [River]), (status = 401)),
    security(("bearer" = [])))]
pub async fn list_rivers(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(filter): ApiQuery<RosterFilter>,
) -> ApiResult<Json<Vec<River>>> {
    Ok(Json(
        store::roster::rivers(&ctx.pool, filter.town(&auth)?).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/chiefs", tag = "roster",
    params(RosterFilter), responses((status = 200, body = [Chief]), (status = 401)),
    security(("bearer" = [])))]
pub async fn list_chiefs(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(filter): ApiQuery<RosterFilter>,
) -> ApiResult<Json<Vec<Chief>>> {
    let town = filter.town(&auth)?;
    Ok(Json(
        store::roster::chiefs(&ctx.pool, town, filter.village_id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/chiefs/{id}", tag = "roster",
    params(("id" = i64, Path)),
    responses((status = 200, body = Chief), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_chief(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Chief>> {
    let chief = store::roster::chief(&ctx.pool, id).await?;
    auth.check_town(chief.town_id, "chief")?;
    Ok(Json(chief))
}

/// Reaches as a GeoJSON FeatureCollection (RFC 7946, lon/lat).
#[utoipa::path(get, path = "/api/v1/reaches", tag = "roster",
    params(RosterFilter), responses((status = 200, body = ReachCollection), (status = 401)),
    security(("bearer" = [])))]
pub async fn list_reaches(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(filter): ApiQuery<RosterFilter>,
) -> ApiResult<Json<ReachCollection>> {
    let town = filter.town(&auth)?;
    Ok(Json(
        store::roster::reaches(&ctx.pool, town, filter.village_id).await?,
    ))
}

/// One reach as a GeoJSON Feature.
#[utoipa::path(get, path = "/api/v1/reaches/{id}", tag = "roster",
    params(("id" = i64, Path)),
    responses((status = 200, body = ReachFeature), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_reach(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ReachFeature>> {
    let reach = store::roster::reach(&ctx.pool, id).await?;
    auth.check_town(reach.properties.town_id, "reach")?;
    Ok(Json(reach))
}

#[utoipa::path(get, path = "/api/v1/assignments", tag = "roster",
    params(RosterFilter), responses((status = 200, body = [Assignment]), (status = 401)),
    security(("bearer" = [])))]
pub async fn list_assignments(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(filter): ApiQuery<RosterFilter>,
) -> ApiResult<Json<Vec<Assignment>>> {
    let town = filter.town(&auth)?;
    Ok(Json(
        store::roster::assignments(&ctx.pool, town, filter.chief_id).await?,
    ))
}

/// Assign a reach to a chief for a date range (inclusive, CST).
#[utoipa::path(post, path = "/api/v1/assignments", tag = "roster",
    request_body = NewAssignment,
    responses((status = 201, body = Assignment), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_assignment(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(new): ApiJson<NewAssignment>,
) -> ApiResult<(StatusCode, Json<Assignment>)> {
    auth.require_admin()?;
    let mut tx = ctx.pool.begin().await?;
    let assignment = store::roster::create_assignment(&mut tx, &new, auth.town_scope()).await?;
    store::audit::record(
        &mut tx,
        store::audit::AuditEntry {
            town_id: Some(assignment.town_id),
            user_id: Some(auth.user.id),
            action: "create",
            entity: "assignment",
            entity_id: Some(assignment.id),
            details: serde_json::json!({"chief_id": new.chief_id, "reach_id": new.reach_id}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(assignment)))
}
