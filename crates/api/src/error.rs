//! The one place where HTTP status codes are chosen. Every error a user can
//! cause has a stable snake_case code and a message a person can act on:
//! `{"error": {"code", "message", "details"}}`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required: send Authorization: Bearer TOKEN (POST /api/v1/auth/login)")]
    Unauthorized,
    /// A login with an unknown account or a wrong password: one answer for
    /// both, so which logins exist is not revealed.
    #[error("账号或密码错误。Wrong login or password.")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// An issue action not allowed in the issue's current state.
    #[error("{0}")]
    InvalidTransition(domain::issues::InvalidTransition),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_s: u64 },
    /// Too many wrong passwords from this client (login and address, or
    /// token): nothing was checked; wait `retry_after_s` seconds.
    #[error(
        "密码错误次数过多，请 {retry_after_s} 秒后再试。\
         Too many wrong passwords: try again in {retry_after_s} s."
    )]
    TooManyAttempts { retry_after_s: u64 },
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// Something the server's installation lacks (e.g. the PDF font): the
    /// message says what to install; retrying will not help.
    #[error("{message}")]
    NotInstalled { code: &'static str, message: String },
    #[error("the request took too long; zoom in or try again shortly")]
    Timeout,
    /// The client stopped sending the request body for longer than the
    /// server waits (a phone that lost its signal): nothing was saved.
    #[error(
        "上传中断：长时间未收到数据，未保存任何内容，请重试。\
         The upload stalled (no data for too long): nothing was saved; send it again."
    )]
    BodyStalled,
    /// The server could not write its own files or rows: a full disk
    /// (507) or storage it cannot write (503). Nothing was saved.
    #[error("{message}")]
    Storage { full: bool, message: String },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "bad_request",
            message: message.into(),
        }
    }

    /// A 422 for one named field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        Self::Unprocessable {
            code: "invalid_field",
            message: format!("{field}: {message}"),
            details: json!({ "field": field }),
        }
    }

    /// A 422 for a password the policy refuses; `details.rule` says which
    /// rule (`domain::password::Weakness::rule`).
    pub fn weak_password(field: impl Into<String>, weakness: domain::password::Weakness) -> Self {
        let field = field.into();
        Self::Unprocessable {
            code: "weak_password",
            message: format!("{field}: {}", weakness.message()),
            details: json!({
                "field": field,
                "rule": weakness.rule(),
                "min_length": domain::password::MIN_CHARS,
            }),
        }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    /// Writing `what` (Chinese, English: e.g. ("照片", "the photo")) to the
    /// server's disk failed with `e`; logged in full, answered with what
    /// the user can do.
    pub fn storage((zh, what): (&str, &str), e: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        tracing::error!(error = %e, "writing {what} failed");
        let full = matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded);
        let message = if full {
            format!(
                "服务器磁盘已满，{zh}未保存，未作任何更改；请联系管理员后重试。\
                 The server's disk is full: {what} was not saved and nothing was changed; \
                 tell the administrator, then try again."
            )
        } else {
            format!(
                "服务器无法写入文件，{zh}未保存，未作任何更改；请联系管理员。\
                 The server cannot write its files ({}): {what} was not saved and nothing \
                 was changed; tell the administrator.",
                e.kind()
            )
        };
        Self::Storage { full, message }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::InvalidTransition(_) => (
                StatusCode::CONFLICT,
                domain::issues::InvalidTransition::CODE,
            ),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"),
            Self::NotInstalled { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, code),
            Self::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            Self::BodyStalled => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            Self::Storage { full: true, .. } => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
            Self::Storage { full: false, .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// Why a request body could not be read: `status` and `error` from axum's
/// rejection. A stall (the body idle timeout of [`crate::router`]) is a 408
/// the phone can retry; too large a 413 with `too_large`; else a 400.
pub fn body_read_failed(
    status: StatusCode,
    error: &(dyn std::error::Error + 'static),
    too_large: &str,
) -> ApiError {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::BodyStalled;
        }
        cause = e.source();
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(too_large.to_owned())
    } else {
        ApiError::bad_request(format!("the request body could not be read: {error}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let details = match &self {
            Self::Unprocessable { details, .. } => details.clone(),
            Self::InvalidTransition(e) => json!({
                "status": e.status, "level": e.level, "action": e.action, "allowed": e.allowed,
            }),
            Self::TooManyAttempts { retry_after_s } => json!({ "retry_after_s": retry_after_s }),
            _ => Value::Null,
        };
        let body = Json(json!({
            "error": {"code": code, "message": self.to_string(), "details": details}
        }));
        let mut response = (status, body).into_response();
        if let Self::TooManyRequests { retry_after_s, .. }
        | Self::TooManyAttempts { retry_after_s } = self
        {
            response
                .headers_mut()
                .insert("retry-after", retry_after_s.into());
        }
        if status == StatusCode::SERVICE_UNAVAILABLE && !matches!(self, Self::NotInstalled { .. }) {
            response.headers_mut().insert("retry-after", 5u64.into());
        }
        response
    }
}

/// The two encodings of the Open311 GeoReport v2 API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open311Format {
    Json,
    Xml,
}

impl Open311Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json; charset=utf-8",
            Self::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// An error of the public Open311 API, in the spec's format:
/// `[{"code": 400, "description": "..."}]` or
/// `<errors><error><code>400</code><description>…</description></error></errors>`,
/// with the HTTP status the wrapped [`ApiError`] chooses.
#[derive(Debug)]
pub struct Open311Error {
    pub error: ApiError,
    pub format: Open311Format,
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let (status, _) = self.error.status_and_code();
        let description = match &self.error {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let errors = [domain::open311::Open311Error::new(
            status.as_u16(),
            description,
        )];
        let body = match self.format {
            Open311Format::Json => serde_json::to_string(&errors).unwrap_or_default(),
            Open311Format::Xml => domain::open311::errors_xml(&errors),
        };
        let mut response = (
            status,
            [(axum::http::header::CONTENT_TYPE, self.format.content_type())],
            body,
        )
            .into_response();
        let retry_after = match self.error {
            ApiError::TooManyRequests { retry_after_s, .. } => Some(retry_after_s),
            ApiError::Unavailable => Some(5),
            _ => None,
        };
        if let Some(s) = retry_after {
            response.headers_mut().insert("retry-after", s.into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what.to_owned()),
            StoreError::Invalid { field, message } => Self::invalid_field(field, message),
            StoreError::WeakPassword { field, weakness } => Self::weak_password(field, weakness),
            StoreError::Conflict(message) => Self::conflict("conflict", message),
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable
            }
            StoreError::Timeout => Self::Timeout,
            StoreError::DiskFull(e) => Self::storage(
                ("数据", "the data"),
                &std::io::Error::new(std::io::ErrorKind::StorageFull, e),
            ),
            StoreError::Database(e) => Self::Internal(e.to_string()),
            StoreError::Text(e) => e.into(),
        }
    }
}

/// Typed text over its limit or with a control character: a 422 naming
/// the field, with the numbers a page needs to say what to shorten.
impl From<domain::text::TextError> for ApiError {
    fn from(e: domain::text::TextError) -> Self {
        use domain::text::TextError;
        let details = match &e {
            TextError::TooLong {
                field,
                limit,
                length,
            } => json!({"field": field, "limit": limit, "length": length}),
            TextError::ControlCharacter {
                field,
                position,
                code_point,
            } => json!({"field": field, "position": position, "code_point": code_point}),
            TextError::InvalidPhone { field } => json!({"field": field}),
        };
        Self::Unprocessable {
            code: e.code(),
            message: e.to_string(),
            details,
        }
    }
}

impl From<domain::import::ImportError> for ApiError {
    fn from(e: domain::import::ImportError) -> Self {
        StoreError::from(e).into()
    }
}

impl From<store::patrols::IngestError> for ApiError {
    fn from(e: store::patrols::IngestError) -> Self {
        use store::patrols::IngestError;
        match e {
            IngestError::Store(e) => e.into(),
            IngestError::Worker(detail) => Self::Internal(detail),
            e @ (IngestError::Read(_) | IngestError::InvalidTimestamp(_)) => {
                Self::unprocessable(e.code(), e.to_string())
            }
        }
    }
}

impl ApiError {
    /// A JSON body serde could not read: malformed JSON is a 400, JSON of
    /// the wrong shape a 422, as for the `ApiJson` extractor.
    pub fn json_body(e: serde_json::Error) -> Self {
        if e.is_data() {
            Self::unprocessable("invalid_body", e.to_string())
        } else {
            Self::BadRequest {
                code: "malformed_json",
                message: e.to_string(),
            }
        }
    }
}

impl From<store::exemptions::DecideError> for ApiError {
    fn from(e: store::exemptions::DecideError) -> Self {
        use store::exemptions::DecideError;
        match e {
            DecideError::Store(e) => e.into(),
            e @ DecideError::NotRequested { .. } => {
                Self::conflict("exemption_not_requested", e.to_string())
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => {
                Self::UnsupportedMediaType("send the body as Content-Type: application/json".into())
            }
            JsonRejection::JsonDataError(e) => Self::unprocessable("invalid_body", e.body_text()),
            JsonRejection::JsonSyntaxError(e) => Self::BadRequest {
                code: "malformed_json",
                message: e.body_text(),
            },
            JsonRejection::BytesRejection(r) => body_read_failed(
                r.status(),
                &r,
                "the request body is larger than this endpoint accepts",
            ),
            other => Self::bad_request(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::BadRequest {
            code: "invalid_path",
            message: r.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::BadRequest {
            code: "invalid_query",
            message: r.body_text(),
        }
    }
}

/// `Json<T>` whose rejections use our error format.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Path<T>` whose rejections use our error format.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Query<T>` whose rejections use our error format.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

pub type ApiResult<T> = Result<T, ApiError>;

/// The raw request body, with size and read failures in our error format.
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> ApiResult<Self> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|r| {
                body_read_failed(
                    r.status(),
                    &r,
                    "the request body is larger than this endpoint accepts",
                )
            })
    }
}
