//! `GET /api/v1/stats`: the town's figures for a date range (see
//! `store::stats` for what each figure counts). Town figures are for the
//! town office, the town chief and the assessors; a village chief gets 403.

use axum::Json;
use axum::extract::State;
use chrono::{NaiveDate, Utc};
use domain::time::Quarter;
use serde::Deserialize;
use store::auth::Role;
use store::stats::TownStats;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiQuery, ApiResult};

/// `from`/`to` (inclusive CST dates), or `quarter`; default: the quarter in
/// progress (the days of its weeks, as the quarterly compliance uses).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct StatsQuery {
    /// First day (inclusive, CST), `YYYY-MM-DD`.
    pub from: Option<NaiveDate>,
    /// Last day (inclusive, CST).
    pub to: Option<NaiveDate>,
    /// Instead of from/to: the days of a quarter's weeks, `2026-Q4`.
    pub quarter: Option<String>,
    /// Only this town (within your scope).
    pub town_id: Option<i64>,
}

/// Town figures: patrols, valid patrols, km patrolled, chiefs, issues found
/// and resolved, for the days `from ..= to` (CST).
#[utoipa::path(get, path = "/api/v1/stats", tag = "compliance",
    params(StatsQuery),
    responses((status = 200, body = TownStats), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn get_stats(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<TownStats>> {
    if auth.role() == Role::Chief && auth.user.village_id.is_some() {
        return Err(ApiError::forbidden(
            "town figures are for the town office, the town chief and assessors; \
             see your own weeks at /api/v1/compliance",
        ));
    }
    let town = match (auth.town_scope(), query.town_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::forbidden("town_id is outside your town"));
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let quarter_days = |q: Quarter| (q.first_day(), q.last_day());
    let (from, to) = match (query.quarter.as_deref(), query.from, query.to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ApiError::bad_request(
                "ask for either from/to or quarter, not both",
            ));
        }
        (Some(q), None, None) => quarter_days(q.parse().map_err(
            |e: domain::time::TimeError| ApiError::BadRequest {
                code: e.code(),
                message: e.to_string(),
            },
        )?),
        (None, Some(from), Some(to)) => (from, to),
        (None, None, None) => quarter_days(
            Quarter::current(Utc::now()).map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
        (None, _, _) => {
            return Err(ApiError::bad_request(
                "give both from and to (inclusive dates, YYYY-MM-DD), or neither for the quarter in progress",
            ));
        }
    };
    if to < from {
        return Err(ApiError::BadRequest {
            code: "invalid_date_range",
            message: format!("to {to} is before from {from}: both dates are inclusive"),
        });
    }
    Ok(Json(
        store::stats::town_stats(&ctx.pool, town, from, to).await?,
    ))
}
