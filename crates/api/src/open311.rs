//! Open311 GeoReport v2 for the public (群众诉求): no login, JSON or XML by
//! the path's extension, errors in the spec's format.
//!
//! Decisions:
//! - **Services** are the issue categories: those of the town named by
//!   `jurisdiction_id` (its 9-digit code), else of the only town, else the
//!   defaults.
//! - **A posted request** belongs to the town whose reaches come nearest,
//!   within 5 km; else to the only town; else it is refused with a 400. With
//!   no `lat`/`long`, an `address_string` naming a village places the
//!   request on that village's reach (approximate; `location_source:
//!   address`). `jurisdiction_id` and `api_key` are accepted and ignored.
//!   `media_url` is stored for the office, never fetched, never shown back.
//! - **Reporters' contact details** (`email`, `phone`, names, `device_id`)
//!   are kept for the town office to call back and are never shown by any
//!   API, to anybody, nor written to logs or the audit log.
//! - **The public sees** every issue of the towns served (all sources:
//!   problems found on patrol are public interest too) with its status,
//!   category and location, never history notes, names or contacts. The
//!   description only of requests the public filed: what a chief or the
//!   office wrote is internal and may name people (issue #5: "the public
//!   sees status and category only"). `status` is `closed` only once the office closed it.
//!   `media_url` is the first photo's public copy, re-encoded without EXIF.
//! - Posting is rate-limited per client address (20 an hour by default).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{TimeDelta, Utc};
use domain::issues::Source;
use domain::open311::{self as spec, RequestCreated, Service, ServiceRequest};
use domain::text::{self, TextKind};
use serde::{Deserialize, Serialize};
use store::issues::{IssueRecord, LocationSource, PublicFilter};
use utoipa::{IntoParams, ToSchema};

use crate::auth::ClientAddr;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiPath, Open311Error, Open311Format};
use crate::issues::serve_file;
use crate::photos;

type Open311Result<T> = Result<T, Open311Error>;

/// Most requests in one answer.
pub const MAX_REQUESTS: i64 = 1000;
/// The default date range of the request list.
pub const DEFAULT_DAYS: i64 = 90;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

fn respond<T: Serialize>(
    format: Open311Format,
    status: StatusCode,
    value: &T,
    xml: impl FnOnce(&T) -> String,
) -> Response {
    let body = match format {
        Open311Format::Json => serde_json::to_string(value).unwrap_or_default(),
        Open311Format::Xml => xml(value),
    };
    (
        status,
        [(header::CONTENT_TYPE, format.content_type())],
        body,
    )
        .into_response()
}

fn in_format(format: Open311Format) -> impl FnOnce(ApiError) -> Open311Error {
    move |error| Open311Error { error, format }
}

// ---------------------------------------------------------------- services

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ServicesQuery {
    /// A town's 9-digit code (optional).
    pub jurisdiction_id: Option<String>,
}

async fn services(
    ctx: &ApiContext,
    query: Result<Query<ServicesQuery>, QueryRejection>,
) -> Result<Vec<Service>, ApiError> {
    let Query(q) = query.map_err(|e| bad(e.body_text()))?;
    let mut conn = ctx.pool.acquire().await?;
    let town = match q.jurisdiction_id.as_deref().map(str::trim) {
        Some(code) if !code.is_empty() => store::issues::town_by_code(&mut conn, code).await?,
        _ => None,
    };
    let town = match town {
        Some(t) => Some(t),
        None => store::issues::only_town(&mut conn).await?,
    };
    let categories = store::issues::categories(&mut conn, town).await?;
    Ok(categories
        .into_iter()
        .map(|c| {
            let mut keywords = vec![c.code.clone(), c.name_en.clone()];
            keywords.extend(c.name_zh.split('/').map(str::to_owned));
            Service {
                description: format!("{}（{}）", c.name_zh, c.name_en),
                group: domain::issues::category_group(&c.code).to_owned(),
                keywords: keywords.join(","),
                metadata: false,
                kind: "realtime",
                service_name: c.name_zh,
                service_code: c.code,
            }
        })
        .collect())
}

/// The kinds of problem the public may report (the issue categories).
#[utoipa::path(get, path = "/open311/v2/services.json", tag = "open311",
    params(ServicesQuery), responses((status = 200, content_type = "application/json")))]
pub async fn services_json(
    State(ctx): State<ApiContext>,
    query: Result<Query<ServicesQuery>, QueryRejection>,
) -> Open311Result<Response> {
    let f = Open311Format::Json;
    let list = services(&ctx, query).await.map_err(in_format(f))?;
    Ok(respond(f, StatusCode::OK, &list, |l| spec::services_xml(l)))
}

/// The services in XML.
#[utoipa::path(get, path = "/open311/v2/services.xml", tag = "open311",
    params(ServicesQuery), responses((status = 200, content_type = "text/xml")))]
pub async fn services_xml(
    State(ctx): State<ApiContext>,
    query: Result<Query<ServicesQuery>, QueryRejection>,
) -> Open311Result<Response> {
    let f = Open311Format::Xml;
    let list = services(&ctx, query).await.map_err(in_format(f))?;
    Ok(respond(f, StatusCode::OK, &list, |l| spec::services_xml(l)))
}

/// One service's definition (`/open311/v2/services/sewage.json` or
/// `.xml`): no attributes to fill in (every service has `metadata: false`).
#[utoipa::path(get, path = "/open311/v2/services/{service_file}", tag = "open311",
    params(("service_file" = String, Path, description = "the service code with .json or .xml, e.g. sewage.json"),
           ServicesQuery),
    responses((status = 200, content_type = "application/json",
               description = "`{\"service_code\": \"sewage\", \"attributes\": []}`"),
              (status = 404)))]
pub async fn service_definition(
    State(ctx): State<ApiContext>,
    ApiPath(file): ApiPath<String>,
    query: Result<Query<ServicesQuery>, QueryRejection>,
) -> Open311Result<Response> {
    let (code, f) = match file.strip_suffix(".xml") {
        Some(code) => (code, Open311Format::Xml),
        None => (
            file.strip_suffix(".json").unwrap_or(&file),
            Open311Format::Json,
        ),
    };
    let list = services(&ctx, query).await.map_err(in_format(f))?;
    let service = list
        .into_iter()
        .find(|s| s.service_code == code)
        .ok_or_else(|| {
            in_format(f)(ApiError::not_found(format!(
                "service {code:?} (GET /open311/v2/services.json lists them)"
            )))
        })?;
    let definition = spec::ServiceDefinition {
        service_code: service.service_code,
        attributes: vec![],
    };
    Ok(respond(
        f,
        StatusCode::OK,
        &definition,
        spec::service_definition_xml,
    ))
}

// ------------------------------------------------------------ view of one

/// The server's own address for absolute `media_url`s: the configured
/// `--public-url`, else as the client reached it; `None` when the Host
/// header is unusable. `X-Forwarded-*` headers are only still there when
/// the trusted proxy sent them ([`crate::forwarded`]).
fn public_base(public_url: Option<&str>, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = public_url {
        return Some(url.to_owned());
    }
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = value("x-forwarded-host").or_else(|| value("host"))?;
    let host = host.split(',').next()?.trim();
    let plausible = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    let scheme = match value("x-forwarded-proto").map(str::trim) {
        Some("https") => "https",
        _ => "http",
    };
    plausible.then(|| format!("{scheme}://{host}"))
}

fn agency(issue: &IssueRecord) -> String {
    match (&issue.level, &issue.village_name) {
        (domain::issues::Level::Village, Some(village)) => format!("{village}河长"),
        _ => format!("{}河长办公室", issue.town_name),
    }
}

fn notice(issue: &IssueRecord) -> Option<String> {
    if !issue.status.awaits_handling() {
        return None;
    }
    let by = agency(issue);
    Some(match issue.deadline {
        Some(d) => format!(
            "已受理，由{by}处理，预计{}前办结",
            domain::time::format_cst(d).get(..10).unwrap_or_default()
        ),
        None => format!("已受理，由{by}处理"),
    })
}

fn service_request(issue: &IssueRecord, photo: Option<i64>, base: Option<&str>) -> ServiceRequest {
    let status_notes = if issue.rejected {
        "经核查不予受理，已关闭".to_owned()
    } else {
        issue.status.notes_zh().to_owned()
    };
    ServiceRequest {
        service_request_id: issue.id.to_string(),
        status: spec::status(issue.status),
        status_notes: Some(status_notes),
        service_name: issue
            .category_name
            .clone()
            .unwrap_or_else(|| issue.category.clone()),
        service_code: issue.category.clone(),
        description: Some(issue.description.clone())
            .filter(|d| !d.is_empty() && issue.source == Source::Public),
        agency_responsible: Some(agency(issue)),
        service_notice: notice(issue),
        requested_datetime: spec::datetime(issue.created_at),
        updated_datetime: Some(spec::datetime(issue.updated_at)),
        expected_datetime: issue
            .deadline
            .filter(|_| issue.status.awaits_handling())
            .map(spec::datetime),
        address: issue.address.clone(),
        address_id: None,
        zipcode: None,
        lat: issue.lat,
        long: issue.lon,
        media_url: photo.map(|id| format!("{}/open311/v2/media/{id}.jpg", base.unwrap_or(""))),
    }
}

// ------------------------------------------------------------------- post

/// A new service request, form-encoded (`application/x-www-form-urlencoded`).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PostRequest {
    /// Accepted and ignored.
    pub jurisdiction_id: Option<String>,
    /// Accepted and ignored: posting is anonymous.
    pub api_key: Option<String>,
    pub service_code: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
    /// Used when no lat/long: it must name a village.
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub description: Option<String>,
    /// A link to the reporter's photo elsewhere (kept for the office, never fetched).
    pub media_url: Option<String>,
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
}

fn short(field: &str, value: Option<&str>) -> Result<Option<String>, ApiError> {
    let kind = match field {
        "phone" => TextKind::Phone,
        "first_name" | "last_name" => TextKind::Name,
        _ => TextKind::Line,
    };
    Ok(text::clean_optional(field, kind, value)?)
}

async fn post_request(
    ctx: &ApiContext,
    peer: Option<std::net::IpAddr>,
    form: Result<Form<PostRequest>, FormRejection>,
) -> Result<Vec<RequestCreated>, ApiError> {
    let key = format!(
        "open311:{}",
        peer.map(|ip| ip.to_string()).unwrap_or_default()
    );
    if let Some(wait) = ctx.open311_limiter.blocked_for(&key) {
        return Err(ApiError::TooManyRequests {
            message: format!("too many requests from your address; try again in {wait} s"),
            retry_after_s: wait,
        });
    }
    ctx.open311_limiter.record(&key);
    let Form(r) = form.map_err(|e| match e {
        FormRejection::InvalidFormContentType(_) => ApiError::UnsupportedMediaType(
            "send the request as application/x-www-form-urlencoded".into(),
        ),
        other => bad(other.body_text()),
    })?;

    let service_code = short("service_code", r.service_code.as_deref())?
        .ok_or_else(|| bad("service_code is required; GET /open311/v2/services.json lists them"))?;
    let number = |field: &str, v: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                bad(format!(
                    "{field} must be a decimal number of degrees (WGS-84)"
                ))
            })
    };
    let lat = r.lat.as_deref().filter(|v| !v.trim().is_empty());
    let long = r.long.as_deref().filter(|v| !v.trim().is_empty());
    let address = short("address_string", r.address_string.as_deref())?;
    let mut conn = ctx.pool.acquire().await?;
    let (lon, lat, town, source) = match (lat, long) {
        (Some(lat), Some(long)) => {
            let (lat, lon) = (number("lat", lat)?, number("long", long)?);
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(bad("lat must be within ±90 and long within ±180"));
            }
            let town =
                match store::issues::town_near(&mut conn, lon, lat, store::issues::TOWN_DISTANCE_M)
                    .await?
                {
                    Some(t) => t,
                    None => store::issues::only_town(&mut conn).await?.ok_or_else(|| {
                        bad("the location is not near the rivers of any town served here")
                    })?,
                };
            (lon, lat, town, LocationSource::Given)
        }
        (None, None) => {
            let address = address.as_deref().ok_or_else(|| {
                bad("lat and long are required (or an address_string naming a village)")
            })?;
            let place = store::issues::locate_address(&mut conn, None, address)
                .await?
                .ok_or_else(|| {
                    bad("address_string names no village served here; send lat and long")
                })?;
            (place.lon, place.lat, place.town_id, LocationSource::Address)
        }
        _ => return Err(bad("lat and long go together")),
    };
    if store::issues::category(&mut conn, Some(town), &service_code)
        .await?
        .is_none()
    {
        return Err(bad(format!(
            "service_code {service_code:?} is not a service here; GET /open311/v2/services.json lists them"
        )));
    }
    let description = text::clean(
        "description",
        TextKind::Note,
        r.description.as_deref().unwrap_or_default(),
    )?;
    let media_url = r
        .media_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            let ok = (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 2000
                && !u.chars().any(char::is_whitespace);
            ok.then(|| u.to_owned())
                .ok_or_else(|| bad("media_url must be an http(s) URL"))
        })
        .transpose()?;
    let mut contact = serde_json::Map::new();
    for (field, value) in [
        ("email", &r.email),
        ("phone", &r.phone),
        ("first_name", &r.first_name),
        ("last_name", &r.last_name),
        ("device_id", &r.device_id),
        ("account_id", &r.account_id),
    ] {
        if let Some(v) = short(field, value.as_deref())? {
            contact.insert(field.to_owned(), v.into());
        }
    }
    drop(conn);
    let new = store::issues::NewIssue {
        town_id: town,
        category: service_code,
        description,
        lon,
        lat,
        location_source: source,
        source: Source::Public,
        patrol_id: None,
        reporter_user_id: None,
        reporter_contact: (!contact.is_empty()).then_some(serde_json::Value::Object(contact)),
        address,
        external_media_url: media_url,
        idempotency_key: None,
    };
    let mut tx = ctx.pool.begin().await?;
    let id = store::issues::create(&mut tx, &new, &[]).await?.id;
    let issue = store::issues::get(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(issue_id = id, "public request received");
    Ok(vec![RequestCreated {
        service_request_id: id.to_string(),
        service_notice: notice(&issue),
        account_id: None,
    }])
}

/// File a complaint (anonymous, form-encoded): `service_code`, `lat` and
/// `long` (or `address_string`), `description`, optional `media_url`,
/// `email`, `phone`, `first_name`, `last_name`. Contact details are kept
/// for the town office and never shown.
#[utoipa::path(post, path = "/open311/v2/requests.json", tag = "open311",
    request_body(content = PostRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 201, content_type = "application/json"), (status = 400), (status = 429)))]
pub async fn post_json(
    State(ctx): State<ApiContext>,
    ClientAddr(peer): ClientAddr,
    form: Result<Form<PostRequest>, FormRejection>,
) -> Open311Result<Response> {
    let f = Open311Format::Json;
    let created = post_request(&ctx, peer, form).await.map_err(in_format(f))?;
    Ok(respond(f, StatusCode::CREATED, &created, |c| {
        spec::created_xml(c)
    }))
}

/// File a complaint, answered in XML.
#[utoipa::path(post, path = "/open311/v2/requests.xml", tag = "open311",
    request_body(content = PostRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 201, content_type = "text/xml"), (status = 400), (status = 429)))]
pub async fn post_xml(
    State(ctx): State<ApiContext>,
    ClientAddr(peer): ClientAddr,
    form: Result<Form<PostRequest>, FormRejection>,
) -> Open311Result<Response> {
    let f = Open311Format::Xml;
    let created = post_request(&ctx, peer, form).await.map_err(in_format(f))?;
    Ok(respond(f, StatusCode::CREATED, &created, |c| {
        spec::created_xml(c)
    }))
}

// ------------------------------------------------------------------- list

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RequestsQuery {
    /// Comma-separated ids; then the dates do not apply.
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    /// W3C datetime; default 90 days before `end_date`.
    pub start_date: Option<String>,
    /// W3C datetime; default now.
    pub end_date: Option<String>,
    /// `open`, `closed` or both comma-separated.
    pub status: Option<String>,
    /// Accepted and ignored.
    pub jurisdiction_id: Option<String>,
}

fn public_filter(q: RequestsQuery) -> Result<PublicFilter, ApiError> {
    let ids = q
        .service_request_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.split(',')
                .map(|id| {
                    id.trim()
                        .parse::<i64>()
                        .map_err(|_| bad(format!("service_request_id {id:?} is not a request id")))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let date = |field: &str, v: Option<&str>| {
        v.filter(|s| !s.trim().is_empty())
            .map(|s| {
                spec::parse_datetime(s).ok_or_else(|| {
                    bad(format!(
                        "{field} must be a W3C datetime such as 2026-07-01T00:00:00+08:00"
                    ))
                })
            })
            .transpose()
    };
    let start = date("start_date", q.start_date.as_deref())?;
    let end = date("end_date", q.end_date.as_deref())?;
    let (start, end) = if ids.is_some() {
        (start, end)
    } else {
        let end = end.unwrap_or_else(Utc::now);
        (
            Some(start.unwrap_or(end - TimeDelta::days(DEFAULT_DAYS))),
            Some(end),
        )
    };
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(bad("start_date is after end_date"));
    }
    let open = match q.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let (mut open, mut closed) = (false, false);
            for part in s.split(',') {
                match part.trim() {
                    "open" => open = true,
                    "closed" => closed = true,
                    other => {
                        return Err(bad(format!("status {other:?} is neither open nor closed")));
                    }
                }
            }
            if open == closed { None } else { Some(open) }
        }
    };
    Ok(PublicFilter {
        ids,
        service_code: q
            .service_code
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
        start,
        end,
        open,
        limit: MAX_REQUESTS,
    })
}

async fn requests(
    ctx: &ApiContext,
    headers: &HeaderMap,
    filter: PublicFilter,
) -> Result<Vec<ServiceRequest>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let base = public_base(ctx.config.public_url.as_deref(), headers);
    Ok(store::issues::public_list(&mut conn, &filter)
        .await?
        .iter()
        .map(|(issue, photo)| service_request(issue, *photo, base.as_deref()))
        .collect())
}

async fn list(
    ctx: &ApiContext,
    headers: &HeaderMap,
    query: Result<Query<RequestsQuery>, QueryRejection>,
) -> Result<Vec<ServiceRequest>, ApiError> {
    let Query(q) = query.map_err(|e| bad(e.body_text()))?;
    requests(ctx, headers, public_filter(q)?).await
}

/// Service requests, newest first: the last 90 days unless dates are
/// given, at most 1000.
#[utoipa::path(get, path = "/open311/v2/requests.json", tag = "open311",
    params(RequestsQuery), responses((status = 200, content_type = "application/json"), (status = 400)))]
pub async fn list_json(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    query: Result<Query<RequestsQuery>, QueryRejection>,
) -> Open311Result<Response> {
    let f = Open311Format::Json;
    let list = list(&ctx, &headers, query).await.map_err(in_format(f))?;
    Ok(respond(f, StatusCode::OK, &list, |l| spec::requests_xml(l)))
}

/// Service requests in XML.
#[utoipa::path(get, path = "/open311/v2/requests.xml", tag = "open311",
    params(RequestsQuery), responses((status = 200, content_type = "text/xml"), (status = 400)))]
pub async fn list_xml(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    query: Result<Query<RequestsQuery>, QueryRejection>,
) -> Open311Result<Response> {
    let f = Open311Format::Xml;
    let list = list(&ctx, &headers, query).await.map_err(in_format(f))?;
    Ok(respond(f, StatusCode::OK, &list, |l| spec::requests_xml(l)))
}

/// Splits `12.json` into the id and the format.
fn id_and_format(file: &str) -> (Option<i64>, Open311Format) {
    let (stem, format) = if let Some(stem) = file.strip_suffix(".xml") {
        (stem, Open311Format::Xml)
    } else {
        (
            file.strip_suffix(".json").unwrap_or(file),
            Open311Format::Json,
        )
    };
    (stem.parse().ok(), format)
}

/// One service request (`/open311/v2/requests/12.json` or `.xml`), as an
/// array of one.
#[utoipa::path(get, path = "/open311/v2/requests/{request_file}", tag = "open311",
    params(("request_file" = String, Path, description = "the id with .json or .xml, e.g. 12.json")),
    responses((status = 200), (status = 404)))]
pub async fn get_request(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    ApiPath(file): ApiPath<String>,
) -> Open311Result<Response> {
    let (id, f) = id_and_format(&file);
    let not_found = || in_format(f)(ApiError::not_found(format!("service request {file}")));
    let id = id.ok_or_else(not_found)?;
    let filter = PublicFilter {
        ids: Some(vec![id]),
        limit: 1,
        ..PublicFilter::default()
    };
    let list = requests(&ctx, &headers, filter)
        .await
        .map_err(in_format(f))?;
    if list.is_empty() {
        return Err(not_found());
    }
    Ok(respond(f, StatusCode::OK, &list, |l| spec::requests_xml(l)))
}

/// The public copy of a photo (`/open311/v2/media/5.jpg`): a JPEG
/// re-encoded from the pixels, without EXIF (no position, no device).
#[utoipa::path(get, path = "/open311/v2/media/{media_file}", tag = "open311",
    params(("media_file" = String, Path, description = "the photo id with .jpg, e.g. 5.jpg")),
    responses((status = 200, content_type = "image/jpeg"), (status = 404)))]
pub async fn media(
    State(ctx): State<ApiContext>,
    ApiPath(file): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id: i64 = file
        .strip_suffix(".jpg")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::not_found("media"))?;
    let mut conn = ctx.pool.acquire().await?;
    let photo = store::issues::photo(&mut conn, id)
        .await
        .map_err(|_| ApiError::not_found("media"))?;
    drop(conn);
    let format = photos::format_of(&photo.content_type);
    let path = photos::path(
        &ctx.config.data_dir,
        &photo.sha256,
        format,
        photos::Variant::Public,
    );
    let mut response = serve_file(&path, "image/jpeg", "public, max-age=86400").await?;
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_files() {
        assert_eq!(id_and_format("12.json"), (Some(12), Open311Format::Json));
        assert_eq!(id_and_format("12.xml"), (Some(12), Open311Format::Xml));
        assert_eq!(id_and_format("x.xml"), (None, Open311Format::Xml));
    }

    #[test]
    fn base_url_from_host() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("example.org:8080"));
        assert_eq!(
            public_base(None, &h).as_deref(),
            Some("http://example.org:8080")
        );
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(
            public_base(None, &h).as_deref(),
            Some("https://example.org:8080")
        );
        let configured = Some("https://hz.example.cn");
        assert_eq!(public_base(configured, &h).as_deref(), configured);
        h.insert("host", HeaderValue::from_static("evil.org/<script>"));
        assert_eq!(public_base(None, &h), None);
    }

    #[test]
    fn filters() {
        let f = public_filter(RequestsQuery {
            status: Some("open".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.open, Some(true));
        let (s, e) = (f.start.unwrap(), f.end.unwrap());
        assert_eq!(e - s, TimeDelta::days(90));
        let f = public_filter(RequestsQuery {
            service_request_id: Some("3, 4".into()),
            status: Some("open,closed".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.ids, Some(vec![3, 4]));
        assert_eq!((f.start, f.open), (None, None));
        assert!(
            public_filter(RequestsQuery {
                status: Some("pending".into()),
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            public_filter(RequestsQuery {
                start_date: Some("2026-07-02".into()),
                end_date: Some("2026-07-01".into()),
                ..Default::default()
            })
            .is_err()
        );
    }
}
