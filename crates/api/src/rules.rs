//! The town's patrol rule thresholds: read by everyone in the town, set by
//! its admins. Missing keys take the DESIGN defaults.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct TownRules {
    pub town_id: i64,
    /// What the town overrides (JSON object).
    #[schema(value_type = Object)]
    pub overrides: serde_json::Value,
    /// The thresholds in force: min_duration_s, min_length_m, min_coverage,
    /// buffer_m, fast_speed_kmh, max_fast_share, future_tolerance_s,
    /// max_duration_h, max_gap_min, upload_grace_days (null = off).
    #[schema(value_type = Object)]
    pub effective: serde_json::Value,
}

fn view(
    town_id: i64,
    overrides: serde_json::Value,
    rules: &domain::validity::RuleSet,
) -> ApiResult<TownRules> {
    let effective = serde_json::to_value(rules).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(TownRules {
        town_id,
        overrides,
        effective,
    })
}

/// The patrol rules of a town.
#[utoipa::path(get, path = "/api/v1/towns/{id}/rules", tag = "roster", params(("id" = i64, Path)),
    responses((status = 200, body = TownRules), (status = 401), (status = 404)), security(("bearer" = [])))]
pub async fn get_rules(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(town_id): ApiPath<i64>,
) -> ApiResult<Json<TownRules>> {
    auth.check_town(town_id, "town")?;
    let (overrides, rules) = store::rules::get(&ctx.pool, town_id).await?;
    Ok(Json(view(town_id, overrides, &rules)?))
}

/// Replace the town's overrides, e.g. `{"min_coverage": 0.6}` (admins).
#[utoipa::path(put, path = "/api/v1/towns/{id}/rules", tag = "roster", params(("id" = i64, Path)),
    request_body = Object,
    responses((status = 200, body = TownRules), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn set_rules(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(town_id): ApiPath<i64>,
    ApiJson(overrides): ApiJson<serde_json::Value>,
) -> ApiResult<Json<TownRules>> {
    auth.require_admin()?;
    auth.check_town(town_id, "town")?;
    let rules = store::rules::set(&ctx.pool, town_id, &overrides, Some(auth.user.id)).await?;
    Ok(Json(view(town_id, overrides, &rules)?))
}
