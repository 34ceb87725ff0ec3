//! Roster endpoints: towns, villages, branches, rivers, chiefs, reaches and
//! assignments. Everyone logged in reads their town's roster (the names and
//! phones of river chiefs are on public signboards anyway); only admins write.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use sqlx::PgConnection;
use store::roster::{
    Assignment, Branch, Chief, NewAssignment, NewBranch, NewChief, NewReach, NewRiver, NewTown,
    NewVillage, ReachCollection, ReachFeature, River, Town, Village,
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

/// The town a new row goes into: an admin's own town (a different
/// `town_id` is refused), or for an admin over every town the `town_id`
/// the request names.
fn target_town(auth: &AuthUser, asked: Option<i64>) -> ApiResult<i64> {
    auth.require_admin()?;
    match (auth.town_scope(), asked) {
        (Some(own), Some(asked)) if own != asked => {
            Err(ApiError::forbidden("town_id is outside your town"))
        }
        (Some(own), _) => Ok(own),
        (None, Some(asked)) => Ok(asked),
        (None, None) => Err(ApiError::invalid_field(
            "town_id",
            "an admin over every town must name the town_id",
        )),
    }
}

async fn audit_create(
    conn: &mut PgConnection,
    auth: &AuthUser,
    town_id: i64,
    entity: &'static str,
    id: i64,
    code: &str,
) -> ApiResult<()> {
    store::audit::record(
        conn,
        store::audit::AuditEntry {
            town_id: Some(town_id),
            user_id: Some(auth.user.id),
            action: "create",
            entity,
            entity_id: Some(id),
            details: serde_json::json!({ "code": code }),
        },
    )
    .await?;
    Ok(())
}

/// Add a village to a town (12-digit code starting with the town's code).
#[utoipa::path(post, path = "/api/v1/villages", tag = "roster",
    request_body = NewVillage,
    responses((status = 201, body = Village), (status = 401), (status = 403), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_village(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(new): ApiJson<NewVillage>,
) -> ApiResult<(StatusCode, Json<Village>)> {
    let town = target_town(&auth, new.town_id)?;
    let mut tx = ctx.pool.begin().await?;
    let village = store::roster::create_village(&mut tx, town, &new).await?;
    audit_create(&mut tx, &auth, town, "village", village.id, &village.code).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(village)))
}

/// Add a party branch, optionally of one of the town's villages.
#[utoipa::path(post, path = "/api/v1/branches", tag = "roster",
    request_body = NewBranch,
    responses((status = 201, body = Branch), (status = 401), (status = 403), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_branch(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(new): ApiJson<NewBranch>,
) -> ApiResult<(StatusCode, Json<Branch>)> {
    let town = target_town(&auth, new.town_id)?;
    let mut tx = ctx.pool.begin().await?;
    let branch = store::roster::create_branch(&mut tx, town, &new).await?;
    audit_create(&mut tx, &auth, town, "branch", branch.id, &branch.code).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(branch)))
}

/// Add a river to a town.
#[utoipa::path(post, path = "/api/v1/rivers", tag = "roster",
    request_body = NewRiver,
    responses((status = 201, body = River), (status = 401), (status = 403), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_river(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(new): ApiJson<NewRiver>,
) -> ApiResult<(StatusCode, Json<River>)> {
    let town = target_town(&auth, new.town_id)?;
    let mut tx = ctx.pool.begin().await?;
    let river = store::roster::create_river(&mut tx, town, &new).await?;
    audit_create(&mut tx, &auth, town, "river", river.id, &river.code).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(river)))
}

/// Add a reach: a GeoJSON Feature with a (Multi)LineString in lon/lat; its
/// geodesic length is computed on the way in.
#[utoipa::path(post, path = "/api/v1/reaches", tag = "roster",
    request_body = NewReach,
    responses((status = 201, body = ReachFeature), (status = 401), (status = 403), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_reach(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(new): ApiJson<NewReach>,
) -> ApiResult<(StatusCode, Json<ReachFeature>)> {
    let town = target_town(&auth, new.properties.town_id)?;
    let mut tx = ctx.pool.begin().await?;
    let reach = store::roster::create_reach(&mut tx, town, &new).await?;
    let code = reach.properties.code.clone();
    audit_create(&mut tx, &auth, town, "reach", reach.id, &code).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(reach)))
}

/// Add a chief with their reaches (assigned from `appointed_on`) and,
/// given `login` and `password`, their account.
#[utoipa::path(post, path = "/api/v1/chiefs", tag = "roster",
    request_body = NewChief,
    responses((status = 201, body = Chief), (status = 401), (status = 403), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_chief(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(new): ApiJson<NewChief>,
) -> ApiResult<(StatusCode, Json<Chief>)> {
    let town = target_town(&auth, new.town_id)?;
    let mut tx = ctx.pool.begin().await?;
    let chief = store::roster::create_chief(&mut tx, town, &new).await?;
    audit_create(&mut tx, &auth, town, "chief", chief.id, &chief.code).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(chief)))
}
