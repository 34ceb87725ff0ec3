//! Patrol endpoints: upload a track file (raw body or multipart), list,
//! detail, the track as GeoJSON and the original file. A chief uploads and
//! sees only their own patrols; an admin uploads for any chief of the town.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domain::read::TrackFormat;
use domain::text::{self, TextKind};
use domain::time::IsoWeek;
use serde::Deserialize;
use serde_json::json;
use store::auth::Role;
use store::patrols::{PatrolDetail, PatrolFilter};
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult, Body};

#[derive(Debug, Deserialize, IntoParams)]
pub struct UploadQuery {
    /// The chief the patrol is for (admins; chiefs upload for themselves).
    pub chief_id: Option<i64>,
    /// `gcj02` for tracks from Chinese map apps; default `wgs84`.
    pub coords: Option<String>,
}

/// An upload as received: bytes, their format and the optional notes.
struct Upload {
    bytes: Vec<u8>,
    /// The gzip stream `bytes` came in, if so.
    gzip: Option<Vec<u8>>,
    format: TrackFormat,
    notes: Option<String>,
}

/// Marks a track upload whose gzip body [`upload`] decompresses itself.
#[derive(Clone, Copy)]
struct DeferredGzip;

/// Middleware: a track upload sent with `Content-Encoding: gzip` (not a
/// multipart form) is left compressed for its handler, which decompresses
/// it after checking the caller and keeps the gzip stream as the original
/// (migrations/0011): an eighth of the bytes to store, nothing for the
/// database to compress. Every other request is decompressed by the
/// general layer.
pub async fn defer_gzip_upload(mut request: Request, next: axum::middleware::Next) -> Response {
    let headers = request.headers();
    let is_gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if is_gzip
        && !is_form
        && request.method() == axum::http::Method::POST
        && request.uri().path() == "/api/v1/patrols"
    {
        request.headers_mut().remove(header::CONTENT_ENCODING);
        request.extensions_mut().insert(DeferredGzip);
    }
    next.run(request).await
}

fn unsupported(content_type: &str) -> ApiError {
    ApiError::UnsupportedMediaType(format!(
        "cannot read {content_type:?} as a track: send application/gpx+xml, application/geo+json \
         or application/vnd.google-earth.kml+xml (or multipart with a `track` file)"
    ))
}

async fn read_upload(ctx: &ApiContext, headers: &HeaderMap, request: Request) -> ApiResult<Upload> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, ctx)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        return read_multipart(multipart).await;
    }
    let format =
        TrackFormat::from_content_type(&content_type).ok_or_else(|| unsupported(&content_type))?;
    let deferred_gzip = request.extensions().get::<DeferredGzip>().is_some();
    let Body(bytes) = Body::from_request(request, ctx).await?;
    if !deferred_gzip {
        return Ok(Upload {
            bytes: bytes.to_vec(),
            gzip: None,
            format,
            notes: None,
        });
    }
    let limit = ctx.config.max_track_bytes;
    let gzip = bytes.to_vec();
    let file = tokio::task::spawn_blocking(move || store::patrols::gunzip(&bytes, limit))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| match e {
            store::patrols::GunzipError::TooLarge => ApiError::PayloadTooLarge(format!(
                "the track file is larger than the upload limit ({limit} bytes) once decompressed"
            )),
            store::patrols::GunzipError::Corrupt(e) => {
                ApiError::bad_request(format!("the gzip body could not be decompressed: {e}"))
            }
        })?;
    Ok(Upload {
        bytes: file,
        gzip: Some(gzip),
        format,
        notes: None,
    })
}

async fn read_multipart(mut multipart: Multipart) -> ApiResult<Upload> {
    let mut track = None;
    let mut notes = None;
    let too_large = |e: axum::extract::multipart::MultipartError| {
        crate::error::body_read_failed(
            e.status(),
            &e,
            "the track file is larger than the upload limit",
        )
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        match field.name() {
            Some("track") => {
                let declared = field.content_type().unwrap_or("").to_owned();
                let file_name = field.file_name().unwrap_or("").to_owned();
                let format = TrackFormat::from_content_type(&declared)
                    .or_else(|| TrackFormat::from_file_name(&file_name))
                    .ok_or_else(|| unsupported(&declared))?;
                let bytes = field.bytes().await.map_err(too_large)?;
                track = Some((bytes.to_vec(), format));
            }
            Some("notes") => notes = Some(field.text().await.map_err(too_large)?),
            _ => {}
        }
    }
    let (bytes, format) = track.ok_or_else(|| {
        ApiError::unprocessable(
            "missing_track",
            "the multipart upload has no `track` file field",
        )
    })?;
    Ok(Upload {
        bytes,
        gzip: None,
        format,
        notes: text::clean_optional("notes", TextKind::Note, notes.as_deref())?,
    })
}

/// Which chief the upload is for, checked against the caller's role.
async fn upload_chief_id(ctx: &ApiContext, auth: &AuthUser, asked: Option<i64>) -> ApiResult<i64> {
    match auth.role() {
        Role::Chief => {
            let own = auth
                .user
                .chief_id
                .ok_or_else(|| ApiError::forbidden("this account is not a chief"))?;
            match asked {
                Some(other) if other != own => Err(ApiError::forbidden(
                    "a chief uploads patrols only for themself",
                )),
                _ => Ok(own),
            }
        }
        Role::Admin => {
            let id = asked.ok_or_else(|| {
                ApiError::invalid_field(
                    "chief_id",
                    "an admin must say whose patrol this is (?chief_id=)",
                )
            })?;
            let town = store::roster::chief_town(&ctx.pool, id).await?;
            auth.check_town(town, "chief")?;
            Ok(id)
        }
        Role::Assessor => Err(ApiError::forbidden("assessors cannot upload patrols")),
    }
}

/// Whether `?coords=` says GCJ-02 (default WGS-84).
fn is_gcj02(coords: Option<&str>) -> ApiResult<bool> {
    match coords {
        None | Some("wgs84") => Ok(false),
        Some("gcj02") => Ok(true),
        Some(other) => Err(ApiError::invalid_field(
            "coords",
            format!("must be wgs84 or gcj02, not {other:?}"),
        )),
    }
}

/// Upload a patrol track (GPX, KML or GeoJSON; gzip accepted).
#[utoipa::path(post, path = "/api/v1/patrols", tag = "patrols",
    params(UploadQuery, ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key return the same patrol")),
    request_body(content = String, description = "the track file (application/gpx+xml, application/geo+json, \
        application/vnd.google-earth.kml+xml), or multipart/form-data with `track` and `notes`",
        content_type = "application/gpx+xml"),
    responses((status = 201, body = PatrolDetail), (status = 200, body = PatrolDetail, description = "already uploaded"),
        (status = 401), (status = 403), (status = 413), (status = 415), (status = 422)),
    security(("bearer" = [])))]
pub async fn upload(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    request: Request,
) -> ApiResult<Response> {
    let chief_id = upload_chief_id(&ctx, &auth, query.chief_id).await?;
    let gcj02 = is_gcj02(query.coords.as_deref())?;
    let idempotency_key = idempotency_key(&headers)?;
    let upload = read_upload(&ctx, &headers, request).await?;
    let store::patrols::Ingested { detail, created } = store::patrols::ingest(
        &ctx.pool,
        store::patrols::Ingest {
            chief_id,
            uploaded_by: auth.user.id,
            bytes: upload.bytes,
            gzip: upload.gzip,
            format: upload.format,
            gcj02,
            notes: upload.notes.as_deref(),
            idempotency_key: idempotency_key.as_deref(),
            now: Utc::now(),
        },
    )
    .await?;
    tracing::info!(
        patrol_id = detail.id,
        chief_id,
        valid = detail.valid,
        "patrol stored"
    );
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(detail)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MatchQuery {
    /// `gcj02` for tracks from Chinese map apps; default `wgs84`.
    pub coords: Option<String>,
    /// The town whose chiefs are candidates (admins of every town).
    pub town_id: Option<i64>,
}

/// `{"candidates": [...]}`, best first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MatchAnswer {
    pub candidates: Vec<store::patrols::MatchCandidate>,
}

/// Whose track is this? For the office's bulk upload of files chiefs sent
/// in (admin): the body is a track file exactly as for upload (same
/// content types, limits and errors); answers the town's chiefs with
/// reaches assigned on the track's day (CST) that it covers, best first,
/// with the coverage an upload would compute. Nothing is stored.
#[utoipa::path(post, path = "/api/v1/patrols/match", tag = "patrols",
    params(MatchQuery),
    request_body(content = String, description = "the track file, as for POST /api/v1/patrols",
        content_type = "application/gpx+xml"),
    responses((status = 200, body = MatchAnswer), (status = 401), (status = 403), (status = 413),
        (status = 415), (status = 422)),
    security(("bearer" = [])))]
pub async fn match_track(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<MatchQuery>,
    headers: HeaderMap,
    request: Request,
) -> ApiResult<Json<MatchAnswer>> {
    auth.require_admin()?;
    let town_id = crate::reports::town_for(&ctx, &auth, query.town_id).await?;
    let gcj02 = is_gcj02(query.coords.as_deref())?;
    let upload = read_upload(&ctx, &headers, request).await?;
    let candidates =
        store::patrols::match_chiefs(&ctx.pool, town_id, upload.format, upload.bytes, gcj02)
            .await?;
    Ok(Json(MatchAnswer { candidates }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    pub chief_id: Option<i64>,
    /// ISO week in CST, e.g. `2026-W48`.
    pub week: Option<String>,
    pub town_id: Option<i64>,
    pub village_id: Option<i64>,
    /// At most 1000 (default 100).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// List patrols, newest first. Chiefs see only their own.
#[utoipa::path(get, path = "/api/v1/patrols", tag = "patrols", params(ListQuery),
    responses((status = 200, body = [PatrolDetail]), (status = 400), (status = 401)),
    security(("bearer" = [])))]
pub async fn list(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<PatrolDetail>>> {
    let week_start = q
        .week
        .as_deref()
        .map(|w| w.parse::<IsoWeek>().map(|w| w.monday()))
        .transpose()
        .map_err(|e| ApiError::BadRequest {
            code: "invalid_week",
            message: e.to_string(),
        })?;
    // A village chief lists their own patrols; everyone else the town's.
    let chief_id = if auth.is_village_chief() {
        auth.user.chief_id
    } else {
        q.chief_id
    };
    let town_id = crate::roster::RosterFilter {
        town_id: q.town_id,
        ..Default::default()
    }
    .town(&auth)?;
    let filter = PatrolFilter {
        town_id,
        chief_id,
        village_id: q.village_id,
        week_start,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
        offset: q.offset.unwrap_or(0).max(0),
    };
    Ok(Json(store::patrols::list(&ctx.pool, &filter).await?))
}

/// 404 unless the caller may see the patrol.
async fn check_visible(ctx: &ApiContext, auth: &AuthUser, id: i64) -> ApiResult<()> {
    let (chief_id, town_id) = store::patrols::owner(&ctx.pool, id).await?;
    auth.check_town(town_id, "patrol")?;
    if auth.is_village_chief() && auth.user.chief_id != Some(chief_id) {
        return Err(ApiError::not_found("patrol"));
    }
    Ok(())
}

/// One patrol with its metrics, coverage and verdict.
#[utoipa::path(get, path = "/api/v1/patrols/{id}", tag = "patrols", params(("id" = i64, Path)),
    responses((status = 200, body = PatrolDetail), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn detail(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PatrolDetail>> {
    check_visible(&ctx, &auth, id).await?;
    Ok(Json(store::patrols::detail(&ctx.pool, id).await?))
}

/// The track as a GeoJSON Feature with per-point times
/// (`properties.coordinateProperties.times`, as togeojson writes them).
#[utoipa::path(get, path = "/api/v1/patrols/{id}/track", tag = "patrols", params(("id" = i64, Path)),
    responses((status = 200, description = "GeoJSON Feature"), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn track(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    check_visible(&ctx, &auth, id).await?;
    let track = store::patrols::track(&ctx.pool, id).await?;
    let coordinates: Vec<[f64; 2]> = track.points.iter().map(|p| [p.lon, p.lat]).collect();
    let times: Vec<String> = track
        .points
        .iter()
        .map(|p| p.time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .collect();
    let feature = json!({
        "type": "Feature",
        "id": id,
        "geometry": {"type": "LineString", "coordinates": coordinates},
        "properties": {"patrol_id": id, "coordinateProperties": {"times": times}},
    });
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        Json(feature),
    )
        .into_response())
}

/// The file exactly as it was uploaded.
#[utoipa::path(get, path = "/api/v1/patrols/{id}/original", tag = "patrols", params(("id" = i64, Path)),
    responses((status = 200, description = "the original bytes"), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn original(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    check_visible(&ctx, &auth, id).await?;
    let (content_type, bytes) = store::patrols::original(&ctx.pool, id).await?;
    let extension = match content_type.as_str() {
        "application/gpx+xml" => "gpx",
        "application/vnd.google-earth.kml+xml" => "kml",
        _ => "geojson",
    };
    let disposition = format!("attachment; filename=\"patrol-{id}.{extension}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The request's `Idempotency-Key`: retries with the same key (a phone on a
/// weak signal that never saw the answer) mean the same upload or report.
pub(crate) fn idempotency_key(headers: &axum::http::HeaderMap) -> ApiResult<Option<String>> {
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?;
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        return Err(ApiError::bad_request(
            "Idempotency-Key must be 1 to 200 characters",
        ));
    }
    Ok(key)
}
