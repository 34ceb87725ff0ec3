//! The office's week over HTTP: a town's channels (企业微信 / 钉钉 robots,
//! webhooks), reminders (催办), the outbox's deliveries, and the weekly
//! bulletin (周通报). Admins of the town; the bulletin also for assessors.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domain::bulletin::Bulletin;
use domain::time::IsoWeek;
use serde::{Deserialize, Serialize};
use store::auth::Role;
use store::channels::{Channel, ChannelInput};
use store::outbox::Delivery;
use store::reminders::Reminded;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::reports::town_for;

/// `GET/PUT /api/v1/towns/{id}/channels` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Channels {
    pub channels: Vec<Channel>,
}

/// `PUT /api/v1/towns/{id}/channels` body: the whole set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelsInput {
    pub channels: Vec<ChannelInput>,
}

/// A town's channels (secrets answered only as `secret_set`).
#[utoipa::path(get, path = "/api/v1/towns/{id}/channels", tag = "channels", params(("id" = i64, Path)),
    responses((status = 200, body = Channels), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_channels(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(town_id): ApiPath<i64>,
) -> ApiResult<Json<Channels>> {
    auth.require_admin()?;
    auth.check_town(town_id, "town")?;
    let channels = store::channels::list(&ctx.pool, town_id).await?;
    Ok(Json(Channels { channels }))
}

/// Replaces a town's channels. A channel sent with its `id` and without
/// `secret` keeps its secret.
#[utoipa::path(put, path = "/api/v1/towns/{id}/channels", tag = "channels", params(("id" = i64, Path)),
    request_body = ChannelsInput,
    responses((status = 200, body = Channels), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn put_channels(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(town_id): ApiPath<i64>,
    ApiJson(body): ApiJson<ChannelsInput>,
) -> ApiResult<Json<Channels>> {
    auth.require_admin()?;
    auth.check_town(town_id, "town")?;
    if body.channels.len() > 20 {
        return Err(ApiError::invalid_field("channels", "at most 20 channels"));
    }
    let channels =
        store::channels::replace(&ctx.pool, town_id, &body.channels, Some(auth.user.id)).await?;
    Ok(Json(Channels { channels }))
}

/// `POST /api/v1/reminders`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderRequest {
    /// The week in progress (default).
    pub week: Option<String>,
    /// Only these chiefs (default: every chief still pending).
    pub chief_ids: Option<Vec<i64>>,
    /// For admins of several towns.
    pub town_id: Option<i64>,
}

fn parse_week(s: &str) -> ApiResult<IsoWeek> {
    s.parse::<IsoWeek>().map_err(|e| ApiError::BadRequest {
        code: "invalid_week",
        message: e.to_string(),
    })
}

/// Reminds the chiefs still pending this week: one message per channel
/// subscribed to `reminder` (@ their phones) and an in-app notice each.
#[utoipa::path(post, path = "/api/v1/reminders", tag = "channels", request_body = ReminderRequest,
    responses((status = 200, body = Reminded), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn remind(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(request): ApiJson<ReminderRequest>,
) -> ApiResult<Json<Reminded>> {
    auth.require_admin()?;
    let town_id = town_for(&ctx, &auth, request.town_id).await?;
    let now = Utc::now();
    let week = match request.week.as_deref() {
        Some(w) => parse_week(w)?,
        None => IsoWeek::current(now).map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    if IsoWeek::current(now).ok() != Some(week) {
        return Err(ApiError::unprocessable(
            "week_not_current",
            format!(
                "{week} is not the week in progress: only this week's pending chiefs can be reminded"
            ),
        ));
    }
    let reminded =
        store::reminders::remind(&ctx.pool, town_id, week, request.chief_ids.as_deref(), now)
            .await?;
    Ok(Json(reminded))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliveriesQuery {
    pub town_id: Option<i64>,
}

/// `GET /api/v1/deliveries`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deliveries {
    pub deliveries: Vec<Delivery>,
}

/// The town's outgoing messages, newest first (the last 200).
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "channels", params(DeliveriesQuery),
    responses((status = 200, body = Deliveries), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<Deliveries>> {
    auth.require_admin()?;
    let town_id = town_for(&ctx, &auth, q.town_id).await?;
    let deliveries = store::outbox::list(&ctx.pool, town_id, 200).await?;
    Ok(Json(Deliveries { deliveries }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct WeeklyQuery {
    /// e.g. `2026-W49`; default last week.
    pub week: Option<String>,
    /// `json` (default), `md` or `pdf`.
    pub format: Option<String>,
    pub town_id: Option<i64>,
}

/// The town's weekly bulletin (周通报): figures, chiefs by name and
/// status, per village, problems, and the change from the week before.
#[utoipa::path(get, path = "/api/v1/reports/weekly", tag = "reports", params(WeeklyQuery),
    responses((status = 200, description = "JSON or markdown"), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn weekly(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<WeeklyQuery>,
) -> ApiResult<Response> {
    auth.require(&[Role::Admin, Role::Assessor])?;
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "md" | "pdf") {
        return Err(ApiError::BadRequest {
            code: "invalid_format",
            message: format!("format `{format}`: expected json, md or pdf"),
        });
    }
    let town_id = town_for(&ctx, &auth, q.town_id).await?;
    let now = Utc::now();
    let week = match q.week.as_deref() {
        Some(w) => parse_week(w)?,
        None => IsoWeek::current(now)
            .ok()
            .and_then(IsoWeek::prev)
            .ok_or_else(|| ApiError::Internal("no last week".into()))?,
    };
    let town = store::reminders::town_ref(&ctx.pool, town_id).await?;
    let bulletin = store::bulletin::weekly(&ctx.pool, town, week, now).await?;
    Ok(match format {
        "pdf" => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"riverchief-{week}.pdf\""),
                ),
            ],
            bulletin_pdf(&ctx, bulletin).await?,
        )
            .into_response(),
        "md" => (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            domain::bulletin::markdown(&bulletin),
        )
            .into_response(),
        _ => Json(bulletin).into_response(),
    })
}

#[cfg(feature = "pdf")]
async fn bulletin_pdf(ctx: &ApiContext, bulletin: Bulletin) -> ApiResult<Vec<u8>> {
    let font = ctx.config.pdf_font.clone();
    tokio::task::spawn_blocking(move || {
        let font = report_pdf::load_font(font.as_deref())?;
        report_pdf::render_weekly(&bulletin, &font)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(crate::reports::pdf_error)
}

#[cfg(not(feature = "pdf"))]
async fn bulletin_pdf(_: &ApiContext, _: Bulletin) -> ApiResult<Vec<u8>> {
    Err(ApiError::unprocessable(
        "format_not_supported",
        "this server was built without PDF support (cargo feature `pdf`): use json or md",
    ))
}
