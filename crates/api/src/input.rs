//! Input refused at the edge, before any handler sees it: control
//! characters (NUL above all, which PostgreSQL cannot store) in the path,
//! the query string, a form body or the strings of a JSON body. One layer
//! instead of a check in every handler, so no parameter can slip through to
//! the database as a 500. Multipart forms stream photos and are checked
//! field by field where they are read. Also: the empty 415 of an unknown
//! `Content-Encoding` gets the error envelope.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::text::TextError;

use crate::error::{ApiError, Body, Open311Error, Open311Format};

/// What a body is, for the control-character check.
enum BodyKind {
    /// `application/x-www-form-urlencoded`: fields may be free text.
    Form,
    Json,
    /// Files (tracks, photos) and multipart forms: not checked here.
    Other,
}

/// Track files may be sent as `application/json` (GeoJSON), and gzipped
/// ones reach this layer still compressed ([`crate::patrols::defer_gzip_upload`]):
/// they are files, not typed text, and their readers refuse what they
/// cannot read.
fn is_track_upload(request: &Request) -> bool {
    request.method() == axum::http::Method::POST
        && matches!(
            request.uri().path(),
            "/api/v1/patrols" | "/api/v1/patrols/match"
        )
}

fn body_kind(request: &Request) -> BodyKind {
    if is_track_upload(request) {
        return BodyKind::Other;
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        BodyKind::Form
    } else if essence.eq_ignore_ascii_case("application/json") {
        BodyKind::Json
    } else {
        BodyKind::Other
    }
}

fn control(field: impl Into<String>, code_point: u32) -> ApiError {
    TextError::ControlCharacter {
        field: field.into(),
        position: 0,
        code_point,
    }
    .into()
}

/// The request, unchanged, when none of its text holds a control character.
async fn checked(request: Request) -> Result<Request, ApiError> {
    let uri = request.uri();
    let path = domain::text::percent_decode(uri.path().as_bytes());
    if let Some(b) = path.iter().find(|b| b.is_ascii_control()) {
        return Err(control("path", u32::from(*b)));
    }
    if let Some((name, b)) = uri
        .query()
        .and_then(|q| domain::text::url_encoded_control_character(q.as_bytes(), false))
    {
        return Err(control(name, u32::from(b)));
    }
    let kind = body_kind(&request);
    if matches!(kind, BodyKind::Other) {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let Body(bytes) = Body::from_request(Request::from_parts(parts.clone(), body), &()).await?;
    let found = match kind {
        BodyKind::Form => domain::text::url_encoded_control_character(&bytes, true)
            .map(|(name, b)| control(name, u32::from(b))),
        _ => domain::text::json_control_character(&bytes).map(|c| control("body", c)),
    };
    match found {
        Some(e) => Err(e),
        None => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
    }
}

/// Middleware: refuses control characters with a 422 `control_character`
/// (in the Open311 error format on the Open311 API).
pub async fn refuse_control_characters(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let open311 = path.starts_with("/open311/").then(|| {
        if path.ends_with(".xml") {
            Open311Format::Xml
        } else {
            Open311Format::Json
        }
    });
    match checked(request).await {
        Ok(request) => next.run(request).await,
        Err(error) => match open311 {
            Some(format) => Open311Error { error, format }.into_response(),
            None => error.into_response(),
        },
    }
}

/// Middleware around the request decompression: its bare 415 for a
/// `Content-Encoding` it cannot undo becomes the error envelope.
pub async fn explain_unsupported_encoding(request: Request, next: Next) -> Response {
    let encoding = request
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let response = next.run(request).await;
    let bare = response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE
        && !response.headers().contains_key(header::CONTENT_TYPE);
    let Some(encoding) = encoding.filter(|_| bare) else {
        return response;
    };
    let mut explained = ApiError::UnsupportedMediaType(format!(
        "Content-Encoding {encoding:?} is not supported: send the body as it is, or gzip it"
    ))
    .into_response();
    if let Some(accepted) = response.headers().get(header::ACCEPT_ENCODING) {
        explained
            .headers_mut()
            .insert(header::ACCEPT_ENCODING, accepted.clone());
    }
    explained
}
