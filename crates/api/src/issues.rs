//! Problems on the river (问题): report one (JSON, or multipart with
//! photos), list and read them, move them through their lifecycle, and
//! fetch their photos.
//!
//! Who sees what: admins and assessors every issue of their town; a town
//! chief too; a village chief their village's issues, the ones assigned
//! to them and the ones they reported. An issue outside that is a 404, never a 403, so ids of other
//! villages reveal nothing. Who does what: admins everything; a village
//! chief `start`s and `resolve`s the issues of their village or assigned to
//! them and `escalate`s their village's issues; dispatching (`assign`),
//! `verify`, `reopen` and `reject` are the town office's and the town
//! chief's (大河长: DESIGN has them dispatch problems with the office);
//! assessors only read.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::issues::{Action, Source, Status};
use domain::text::{self, TextKind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::auth::Role;
use store::issues::{
    Category, Event, IssueFilter, IssueRecord, LocationSource, VillageChief, Visibility,
};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::photos::{self, ProcessedPhoto};

/// Largest non-file multipart field.
const MAX_FIELD_BYTES: usize = 64 * 1024;
/// Most multipart fields in one report (the body has no overall limit:
/// photos and fields are limited one by one as they stream in).
const MAX_FIELDS: usize = 32;
/// A staff report without a town of its own belongs to a town with a reach this close.
const TOWN_DISTANCE_M: f64 = store::issues::TOWN_DISTANCE_M;

// ------------------------------------------------------------------ shapes

/// A GeoJSON Point (RFC 7946: `[lon, lat]`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Point {
    #[serde(rename = "type")]
    #[schema(example = "Point")]
    pub kind: &'static str,
    pub coordinates: [f64; 2],
}

/// A photo of an issue; the URLs need the same login as the issue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhotoRef {
    pub id: i64,
    pub url: String,
    /// A JPEG of at most 320 px.
    pub thumbnail_url: String,
    pub content_type: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// Where the photo says it was taken (EXIF GPS), if it does.
    pub exif_location: Option<Point>,
}

/// An issue. Contact details of public reporters are never shown to anybody:
/// admins see `reporter_contact: "联系方式已保存"` when some were given.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Issue {
    pub id: i64,
    pub town_id: i64,
    /// `reported` | `assigned` | `in_progress` | `resolved` | `closed`.
    pub status: String,
    /// A category code (Open311 `service_code`).
    pub category: String,
    pub category_name: Option<String>,
    pub description: String,
    pub location: Point,
    /// `given` | `exif` (from a photo) | `address` (placed on the reach of
    /// the village named in an Open311 address).
    pub location_source: String,
    /// The nearest reach within 500 m, if any.
    pub reach_id: Option<i64>,
    pub village_id: Option<i64>,
    /// `village` | `town`: who handles it.
    pub level: String,
    /// `patrol` | `staff` | `public`.
    pub source: String,
    /// The chief handling it (on creation: the reach's chief, as a candidate).
    pub assignee_id: Option<i64>,
    pub deadline: Option<DateTime<Utc>>,
    /// Still waiting for handling after the deadline.
    pub overdue: bool,
    /// Closed by `reject` (an unfounded report).
    pub rejected: bool,
    /// The actions allowed now (for the caller's role, the office may do more).
    pub allowed_actions: Vec<String>,
    pub patrol_id: Option<i64>,
    /// Open311 `address_string` of a public report.
    pub address: Option<String>,
    pub photos: Vec<PhotoRef>,
    pub history: Vec<Event>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Admins only, and only whether contact details were left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter_contact: Option<&'static str>,
    /// Admins only: the link the public reporter gave (never fetched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_media_url: Option<String>,
}

/// `POST /api/v1/issues` as JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIssueRequest {
    /// A GeoJSON Point; may be left out when a photo has an EXIF position.
    #[schema(value_type = Object)]
    pub location: Option<Value>,
    pub category: String,
    #[serde(default)]
    pub description: String,
    pub patrol_id: Option<i64>,
}

/// `POST /api/v1/issues` as multipart/form-data.
#[derive(Debug, ToSchema)]
pub struct IssueUpload {
    /// A GeoJSON Point as JSON text (or give `lon` and `lat`).
    pub location: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub category: String,
    pub description: Option<String>,
    pub patrol_id: Option<i64>,
    /// One to six JPEG, PNG or WebP files (10 MiB each).
    #[schema(value_type = Vec<String>, format = Binary)]
    pub photo: Vec<Vec<u8>>,
}

/// `POST /api/v1/issues/{id}/transitions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// `assign` | `start` | `resolve` | `verify` | `reopen` | `escalate` | `reject`.
    pub action: String,
    /// Required for `reject` (why the report is unfounded).
    #[serde(default)]
    pub note: Option<String>,
    /// For `assign`: a chief of the issue's town; defaults to the candidate.
    #[serde(default)]
    pub assignee_id: Option<i64>,
}

/// Filters of `GET /api/v1/issues`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct IssueQuery {
    pub status: Option<String>,
    pub village_id: Option<i64>,
    pub category: Option<String>,
    /// `true`: only issues still waiting for handling after their deadline.
    pub overdue: Option<bool>,
    pub town_id: Option<i64>,
    /// 1–500, default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PhotoQuery {
    /// `1` (or `true`): the JPEG thumbnail.
    pub thumbnail: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct CategoryQuery {
    pub town_id: Option<i64>,
}

// ------------------------------------------------------------- visibility

/// What the caller may see.
pub fn visibility(auth: &AuthUser) -> Visibility {
    let user = &auth.user;
    Visibility {
        town_id: user.town_id,
        village_chief: match (user.role, user.village_id, user.chief_id) {
            (Role::Chief, Some(village_id), Some(chief_id)) => Some(VillageChief {
                village_id,
                chief_id,
                user_id: user.id,
            }),
            _ => None,
        },
    }
}

/// 403 unless the caller may take `action` on a visible issue.
fn check_permission(auth: &AuthUser, issue: &IssueRecord, action: Action) -> ApiResult<()> {
    let user = &auth.user;
    let own_village = user.village_id.is_some() && issue.village_id == user.village_id;
    let assigned_to_me = user.chief_id.is_some() && issue.assignee_id == user.chief_id;
    let allowed = match user.role {
        Role::Admin => true,
        Role::Assessor => {
            return Err(ApiError::forbidden(
                "assessors read issues; they change none",
            ));
        }
        Role::Chief if !auth.is_village_chief() => true,
        Role::Chief => match action {
            Action::Start | Action::Resolve => own_village || assigned_to_me,
            Action::Escalate => own_village,
            _ => false,
        },
    };
    if allowed {
        Ok(())
    } else if matches!(action, Action::Start | Action::Resolve | Action::Escalate) {
        Err(ApiError::forbidden(format!(
            "only the town office or the chief of the issue's village may {action} it"
        )))
    } else {
        Err(ApiError::forbidden(format!(
            "only the town office or the town chief may {action} issues"
        )))
    }
}

/// The actions the caller could take now.
fn allowed_for(auth: &AuthUser, issue: &IssueRecord) -> Vec<String> {
    domain::issues::allowed_actions(issue.status, issue.level)
        .into_iter()
        .filter(|&a| check_permission(auth, issue, a).is_ok())
        .map(|a| a.as_str().to_owned())
        .collect()
}

// ---------------------------------------------------------------- building

fn point(lon: f64, lat: f64) -> Point {
    Point {
        kind: "Point",
        coordinates: [lon, lat],
    }
}

/// Full issues (history and photos) for records the caller may see.
async fn build(
    conn: &mut sqlx::PgConnection,
    auth: &AuthUser,
    records: Vec<IssueRecord>,
) -> ApiResult<Vec<Issue>> {
    let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    let mut events = store::issues::events(conn, &ids).await?;
    let mut photos = store::issues::photos(conn, &ids).await?;
    let now = Utc::now();
    let admin = auth.role() == Role::Admin;
    Ok(records
        .into_iter()
        .map(|r| {
            let history: Vec<Event> = events.extract_if(.., |e| e.issue_id == r.id).collect();
            let photos = photos
                .extract_if(.., |p| p.issue_id == r.id)
                .map(|p| PhotoRef {
                    id: p.id,
                    url: format!("/api/v1/issues/{}/photos/{}", r.id, p.id),
                    thumbnail_url: format!("/api/v1/issues/{}/photos/{}?thumbnail=1", r.id, p.id),
                    content_type: p.content_type,
                    width: p.width,
                    height: p.height,
                    exif_location: p.exif_lon.zip(p.exif_lat).map(|(lon, lat)| point(lon, lat)),
                })
                .collect();
            Issue {
                id: r.id,
                town_id: r.town_id,
                status: r.status.as_str().to_owned(),
                category: r.category.clone(),
                category_name: r.category_name.clone(),
                description: r.description.clone(),
                location: point(r.lon, r.lat),
                location_source: r.location_source.clone(),
                reach_id: r.reach_id,
                village_id: r.village_id,
                level: r.level.as_str().to_owned(),
                source: r.source.as_str().to_owned(),
                assignee_id: r.assignee_id,
                deadline: r.deadline,
                overdue: domain::issues::is_overdue(r.status, r.deadline, now),
                rejected: r.rejected,
                allowed_actions: allowed_for(auth, &r),
                patrol_id: r.patrol_id,
                address: r.address.clone(),
                photos,
                history,
                created_at: r.created_at,
                updated_at: r.updated_at,
                reporter_contact: (admin && r.has_reporter_contact).then_some("联系方式已保存"),
                external_media_url: if admin {
                    r.external_media_url.clone()
                } else {
                    None
                },
            }
        })
        .collect())
}

async fn one(ctx: &ApiContext, auth: &AuthUser, id: i64) -> ApiResult<Issue> {
    let mut conn = ctx.pool.acquire().await?;
    let record = store::issues::get(&mut conn, id).await?;
    if !visibility(auth).sees(&record) {
        return Err(ApiError::not_found("issue"));
    }
    build(&mut conn, auth, vec![record])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("issue"))
}

// ------------------------------------------------------------------ create

/// What a report says, from JSON or multipart.
#[derive(Default)]
struct Draft {
    location: Option<(f64, f64)>,
    category: String,
    description: String,
    patrol_id: Option<i64>,
    photos: Vec<axum::body::Bytes>,
}

/// Reads a GeoJSON Point `{"type": "Point", "coordinates": [lon, lat]}`.
pub fn parse_point(field: &str, value: &Value) -> ApiResult<(f64, f64)> {
    let bad = || {
        ApiError::invalid_field(
            field,
            "must be a GeoJSON Point {\"type\": \"Point\", \"coordinates\": [lon, lat]}",
        )
    };
    if value.get("type").and_then(Value::as_str) != Some("Point") {
        return Err(bad());
    }
    let coordinates = value
        .get("coordinates")
        .and_then(Value::as_array)
        .ok_or_else(bad)?;
    let (Some(lon), Some(lat)) = (
        coordinates.first().and_then(Value::as_f64),
        coordinates.get(1).and_then(Value::as_f64),
    ) else {
        return Err(bad());
    };
    if coordinates.len() > 3 {
        return Err(bad());
    }
    check_lon_lat(field, lon, lat)
}

pub fn check_lon_lat(field: &str, lon: f64, lat: f64) -> ApiResult<(f64, f64)> {
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::invalid_field(
            field,
            format!("[{lon}, {lat}] is not a WGS-84 [lon, lat] position"),
        ));
    }
    Ok((lon, lat))
}

async fn draft_from_json(ctx: &ApiContext, req: Request) -> ApiResult<Draft> {
    let bytes = axum::body::to_bytes(req.into_body(), ctx.config.max_json_bytes)
        .await
        .map_err(|_| ApiError::PayloadTooLarge("the JSON body is too large".into()))?;
    let body: NewIssueRequest = serde_json::from_slice(&bytes).map_err(ApiError::json_body)?;
    Ok(Draft {
        location: body
            .location
            .as_ref()
            .filter(|v| !v.is_null())
            .map(|v| parse_point("location", v))
            .transpose()?,
        category: body.category,
        description: text::clean("description", TextKind::Note, &body.description)?,
        patrol_id: body.patrol_id,
        photos: vec![],
    })
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    match crate::error::body_read_failed(e.status(), &e, "the upload is too large") {
        ApiError::BadRequest { .. } => ApiError::BadRequest {
            code: "malformed_multipart",
            message: e.body_text(),
        },
        other => other,
    }
}

async fn draft_from_multipart(ctx: &ApiContext, req: Request) -> ApiResult<Draft> {
    let mut multipart = Multipart::from_request(req, ctx)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut draft = Draft::default();
    let (mut lon, mut lat) = (None, None);
    let max_photo = ctx.config.max_photo_bytes;
    let mut fields = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(ApiError::PayloadTooLarge(format!(
                "more than {MAX_FIELDS} fields in one report"
            )));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let is_photo = matches!(name.as_str(), "photo" | "photos" | "photo[]");
        if is_photo && draft.photos.len() >= ctx.config.max_photos {
            return Err(ApiError::unprocessable(
                "too_many_photos",
                format!("at most {} photos per report", ctx.config.max_photos),
            ));
        }
        // Read the field in chunks so an oversized one is refused as soon
        // as it passes the limit, not after it has all arrived.
        let limit = if is_photo { max_photo } else { MAX_FIELD_BYTES };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if bytes.len() + chunk.len() > limit {
                return Err(if is_photo {
                    ApiError::PayloadTooLarge(format!(
                        "photo {} is larger than {} MiB",
                        draft.photos.len() + 1,
                        max_photo / (1024 * 1024)
                    ))
                } else {
                    ApiError::PayloadTooLarge(format!("field {name} is too large"))
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_photo {
            if !bytes.is_empty() {
                draft.photos.push(bytes.into());
            }
            continue;
        }
        let value = String::from_utf8(bytes)
            .map_err(|_| ApiError::invalid_field(&name, "is not UTF-8 text"))?;
        if name != "description" {
            text::refuse_control(&name, &value, false)?;
        }
        let number = |v: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| ApiError::invalid_field(&name, "must be a number"))
        };
        match name.as_str() {
            "location" if !value.trim().is_empty() => {
                let v: Value = serde_json::from_str(&value).map_err(|_| {
                    ApiError::invalid_field("location", "must be a GeoJSON Point as JSON text")
                })?;
                draft.location = Some(parse_point("location", &v)?);
            }
            "location" => {}
            "lon" => lon = Some(number(&value)?),
            "lat" => lat = Some(number(&value)?),
            "category" => draft.category = value.trim().to_owned(),
            "description" => {
                draft.description = text::clean("description", TextKind::Note, &value)?;
            }
            "patrol_id" if value.trim().is_empty() => {}
            "patrol_id" => {
                draft.patrol_id =
                    Some(value.trim().parse().map_err(|_| {
                        ApiError::invalid_field("patrol_id", "must be a patrol id")
                    })?);
            }
            other => {
                return Err(ApiError::invalid_field(
                    other,
                    "unknown field; send location (or lon and lat), category, description, \
                     patrol_id and photo",
                ));
            }
        }
    }
    match (lon, lat, draft.location) {
        (Some(lon), Some(lat), None) => draft.location = Some(check_lon_lat("lon", lon, lat)?),
        (None, None, _) => {}
        (Some(_), Some(_), Some(_)) => {
            return Err(ApiError::invalid_field(
                "location",
                "give either location or lon and lat, not both",
            ));
        }
        _ => {
            return Err(ApiError::invalid_field("lat", "lon and lat go together"));
        }
    }
    Ok(draft)
}

/// Removes the files a failed report created, unless another issue's row
/// has come to use the same content meanwhile.
async fn remove_created(ctx: &ApiContext, created: &[(String, Vec<std::path::PathBuf>)]) {
    let Ok(mut conn) = ctx.pool.acquire().await else {
        return;
    };
    for (sha256, paths) in created {
        if matches!(
            store::issues::photo_file_in_use(&mut conn, sha256).await,
            Ok(false)
        ) {
            for path in paths {
                let _ = tokio::fs::remove_file(path).await;
            }
        }
    }
}

/// Report a problem. JSON `{"location", "category", "description",
/// "patrol_id"?}`, or multipart with fields `location` (GeoJSON text) or
/// `lon`/`lat`, `category`, `description`, `patrol_id` and up to six `photo`
/// files (JPEG, PNG or WebP, 10 MiB each). Without a location, the first
/// photo with an EXIF GPS position places it. The issue is snapped to the
/// nearest reach within 500 m (then handled by its village, with the
/// reach's chief as assignee candidate), else handled by the town.
#[utoipa::path(post, path = "/api/v1/issues", tag = "issues",
    request_body(content(
        (NewIssueRequest = "application/json"),
        (IssueUpload = "multipart/form-data"),
    )),
    responses((status = 201, body = Issue), (status = 401), (status = 403), (status = 413),
              (status = 415), (status = 422),
              (status = 503, description = "the database or the photo store cannot be written; nothing saved"),
              (status = 507, description = "the server's disk is full; nothing saved")),
    security(("bearer" = [])))]
pub async fn create_issue(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    req: Request,
) -> ApiResult<(StatusCode, Json<Issue>)> {
    auth.require(&[Role::Admin, Role::Chief])?;
    // A report sent again (the chief page resends what it queued offline
    // when an answer was lost) answers the one already stored.
    let idempotency_key = crate::patrols::idempotency_key(req.headers())?;
    if let Some(key) = &idempotency_key {
        let mut conn = ctx.pool.acquire().await?;
        if let Some(id) = store::issues::by_idempotency_key(&mut conn, auth.user.id, key).await? {
            drop(conn);
            return Ok((StatusCode::OK, Json(one(&ctx, &auth, id).await?)));
        }
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let draft = if content_type.starts_with("multipart/form-data") {
        draft_from_multipart(&ctx, req).await?
    } else if content_type.starts_with("application/json") {
        draft_from_json(&ctx, req).await?
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "send application/json, or multipart/form-data with photos".into(),
        ));
    };

    let processed = photos::process_all(draft.photos).await?;

    let (location, location_source) = match draft.location {
        Some(l) => (l, LocationSource::Given),
        None => match processed.iter().find_map(|p| p.exif_location) {
            Some(l) => (l, LocationSource::Exif),
            None => {
                return Err(ApiError::invalid_field(
                    "location",
                    "is required (a GeoJSON Point, or a photo with its GPS position)",
                ));
            }
        },
    };

    let mut conn = ctx.pool.acquire().await?;
    let town_id = match auth.town_scope() {
        Some(t) => t,
        None => match store::issues::town_near(&mut conn, location.0, location.1, TOWN_DISTANCE_M)
            .await?
        {
            Some(t) => t,
            None => store::issues::only_town(&mut conn).await?.ok_or_else(|| {
                ApiError::invalid_field("location", "is not near the rivers of any town")
            })?,
        },
    };
    let category = draft.category.trim();
    if store::issues::category(&mut conn, Some(town_id), category)
        .await?
        .is_none()
    {
        let known = store::issues::categories(&mut conn, Some(town_id)).await?;
        let codes: Vec<&str> = known.iter().map(|c| c.code.as_str()).collect();
        return Err(ApiError::Unprocessable {
            code: "unknown_category",
            message: format!(
                "category {category:?} is not one of this town's: {}",
                codes.join(", ")
            ),
            details: json!({"field": "category", "allowed": codes}),
        });
    }
    if let Some(patrol_id) = draft.patrol_id {
        let owner = store::issues::patrol_owner(&mut conn, patrol_id).await?;
        let ok = owner.is_some_and(|(town, chief)| {
            town == town_id && (auth.role() != Role::Chief || auth.user.chief_id == Some(chief))
        });
        if !ok {
            return Err(ApiError::invalid_field(
                "patrol_id",
                if auth.role() == Role::Chief {
                    "is not one of your patrols"
                } else {
                    "is not a patrol of this town"
                },
            ));
        }
    }
    drop(conn);

    let mut created = vec![];
    for photo in &processed {
        match photos::write_files(&ctx.config.data_dir, photo).await {
            Ok(paths) => created.push((photo.sha256.clone(), paths)),
            Err(e) => {
                remove_created(&ctx, &created).await;
                return Err(ApiError::storage(("照片", "the photo"), &e));
            }
        }
    }
    let new = store::issues::NewIssue {
        town_id,
        category: category.to_owned(),
        description: draft.description,
        lon: location.0,
        lat: location.1,
        location_source,
        // What a chief reports they found patrolling (巡河发现); the office's own reports are staff's.
        source: if draft.patrol_id.is_some() || auth.role() == Role::Chief {
            Source::Patrol
        } else {
            Source::Staff
        },
        patrol_id: draft.patrol_id,
        reporter_user_id: Some(auth.user.id),
        reporter_contact: None,
        address: None,
        external_media_url: None,
        idempotency_key,
    };
    let new_photos: Vec<_> = processed.iter().map(ProcessedPhoto::new_photo).collect();
    let stored = async {
        let mut tx = ctx.pool.begin().await?;
        let created = store::issues::create(&mut tx, &new, &new_photos).await?;
        tx.commit().await?;
        Ok::<_, store::StoreError>(created)
    }
    .await;
    let stored = match stored {
        Ok(stored) => stored,
        Err(e) => {
            remove_created(&ctx, &created).await;
            return Err(e.into());
        }
    };
    if stored.existing {
        // The same report raced in first; its photos are the ones kept.
        remove_created(&ctx, &created).await;
        return Ok((StatusCode::OK, Json(one(&ctx, &auth, stored.id).await?)));
    }
    tracing::info!(
        issue_id = stored.id,
        photos = processed.len(),
        "issue reported"
    );
    Ok((
        StatusCode::CREATED,
        Json(one(&ctx, &auth, stored.id).await?),
    ))
}

// -------------------------------------------------------------------- read

/// Issues the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/issues", tag = "issues",
    params(IssueQuery),
    responses((status = 200, body = [Issue]), (status = 400), (status = 401), (status = 403),
              (status = 422)),
    security(("bearer" = [])))]
pub async fn list_issues(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<IssueQuery>,
) -> ApiResult<Json<Vec<Issue>>> {
    let mut vis = visibility(&auth);
    match (auth.town_scope(), q.town_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::forbidden("town_id is outside your town"));
        }
        (None, asked) => vis.town_id = asked,
        _ => {}
    }
    let status = q
        .status
        .as_deref()
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                ApiError::invalid_field(
                    "status",
                    "must be reported, assigned, in_progress, resolved or closed",
                )
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be 1 to 500"));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid_field("offset", "must not be negative"));
    }
    let filter = IssueFilter {
        status,
        village_id: q.village_id,
        category: q.category,
        overdue: q.overdue.unwrap_or(false),
        limit,
        offset,
    };
    let mut conn = ctx.pool.acquire().await?;
    let records = store::issues::list(&mut conn, vis, &filter).await?;
    Ok(Json(build(&mut conn, &auth, records).await?))
}

/// One issue with its history and photos.
#[utoipa::path(get, path = "/api/v1/issues/{id}", tag = "issues",
    params(("id" = i64, Path)),
    responses((status = 200, body = Issue), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_issue(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Issue>> {
    Ok(Json(one(&ctx, &auth, id).await?))
}

/// The issue categories in force for a town (Open311 services).
#[utoipa::path(get, path = "/api/v1/categories", tag = "issues",
    params(CategoryQuery),
    responses((status = 200, body = [Category]), (status = 401)),
    security(("bearer" = [])))]
pub async fn list_categories(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<CategoryQuery>,
) -> ApiResult<Json<Vec<Category>>> {
    let town = match (auth.town_scope(), q.town_id) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::forbidden("town_id is outside your town"));
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let mut conn = ctx.pool.acquire().await?;
    Ok(Json(store::issues::categories(&mut conn, town).await?))
}

// ------------------------------------------------------------- transitions

/// Move an issue through its lifecycle; answers the updated issue. An
/// action not allowed from the current status is a 409 `invalid_transition`
/// that names the allowed ones, and changes nothing. Transitions of one
/// issue are serialised by a row lock: of two identical concurrent ones,
/// the second sees the first's result and gets the 409.
#[utoipa::path(post, path = "/api/v1/issues/{id}/transitions", tag = "issues",
    params(("id" = i64, Path)),
    request_body = TransitionRequest,
    responses((status = 200, body = Issue), (status = 401), (status = 403), (status = 404),
              (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn transition(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
    crate::error::ApiJson(req): crate::error::ApiJson<TransitionRequest>,
) -> ApiResult<Json<Issue>> {
    let action = Action::parse(req.action.trim()).ok_or_else(|| {
        ApiError::invalid_field(
            "action",
            "must be assign, start, resolve, verify, reopen, escalate or reject",
        )
    })?;
    let note = text::clean_optional("note", TextKind::Reason, req.note.as_deref())?;
    if req.assignee_id.is_some() && action != Action::Assign {
        return Err(ApiError::invalid_field(
            "assignee_id",
            "is only taken by the assign action",
        ));
    }

    let mut tx = ctx.pool.begin().await?;
    let issue = store::issues::lock(&mut tx, id).await?;
    if !visibility(&auth).sees(&issue) {
        return Err(ApiError::not_found("issue"));
    }
    check_permission(&auth, &issue, action)?;
    let next = domain::issues::transition(issue.status, issue.level, action)
        .map_err(ApiError::InvalidTransition)?;
    if action == Action::Reject && note.is_none() {
        return Err(ApiError::invalid_field(
            "note",
            "say why the report is rejected",
        ));
    }
    let assignee_id = if next.clears_assignee {
        None
    } else if action == Action::Assign {
        let chief = req.assignee_id.or(issue.assignee_id).ok_or_else(|| {
            ApiError::invalid_field("assignee_id", "is required: the chief to assign")
        })?;
        if !store::issues::assignable_chief(&mut tx, issue.town_id, chief).await? {
            return Err(ApiError::invalid_field(
                "assignee_id",
                "is not a chief in office in the issue's town",
            ));
        }
        Some(chief)
    } else {
        issue.assignee_id
    };
    let deadline = if action.restarts_deadline() {
        let policy = store::issues::deadline_policy(&mut tx, issue.town_id).await?;
        Some(policy.deadline(next.level, Utc::now()))
    } else {
        issue.deadline
    };
    store::issues::apply(
        &mut tx,
        &issue,
        &store::issues::Transition {
            action,
            actor_user_id: auth.user.id,
            from: issue.status,
            to: next.status,
            level: next.level,
            assignee_id,
            deadline,
            note: note.as_deref(),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(issue_id = id, action = action.as_str(), "issue transition");
    Ok(Json(one(&ctx, &auth, id).await?))
}

// ------------------------------------------------------------------ photos

/// A photo of an issue, as uploaded (with its EXIF), or `?thumbnail=1` for
/// a JPEG of at most 320 px. Only for those who may see the issue.
#[utoipa::path(get, path = "/api/v1/issues/{id}/photos/{photo_id}", tag = "issues",
    params(("id" = i64, Path), ("photo_id" = i64, Path), PhotoQuery),
    responses((status = 200, content_type = "image/jpeg"), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_photo(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath((id, photo_id)): ApiPath<(i64, i64)>,
    ApiQuery(q): ApiQuery<PhotoQuery>,
) -> ApiResult<Response> {
    let mut conn = ctx.pool.acquire().await?;
    let issue = store::issues::get(&mut conn, id).await?;
    if !visibility(&auth).sees(&issue) {
        return Err(ApiError::not_found("issue"));
    }
    let photo = store::issues::photo(&mut conn, photo_id).await?;
    if photo.issue_id != id {
        return Err(ApiError::not_found("photo"));
    }
    drop(conn);
    let thumbnail = matches!(q.thumbnail.as_deref(), Some("1" | "true" | "yes"));
    let format = photos::format_of(&photo.content_type);
    let (variant, content_type) = if thumbnail {
        (photos::Variant::Thumbnail, "image/jpeg")
    } else {
        (photos::Variant::Original, format.content_type())
    };
    let path = photos::path(&ctx.config.data_dir, &photo.sha256, format, variant);
    serve_file(&path, content_type, "private, max-age=86400").await
}

/// A stored file as the response body.
pub async fn serve_file(
    path: &std::path::Path,
    content_type: &'static str,
    cache: &'static str,
) -> ApiResult<Response> {
    let bytes = tokio::fs::read(path).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            tracing::error!(path = %path.display(), "photo file missing");
            ApiError::not_found("photo file")
        } else {
            ApiError::Internal(format!("reading {}: {e}", path.display()))
        }
    })?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(response)
}
