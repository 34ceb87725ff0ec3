//! Operations endpoints: liveness, readiness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;
use std::time::Duration;

use crate::context::ApiContext;
use crate::error::ApiError;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200)))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn database_answers(ctx: &ApiContext) -> bool {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&ctx.pool);
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ping).await,
        Ok(Ok(1))
    )
}

/// The service can serve: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200), (status = 503)))]
pub async fn readyz(State(ctx): State<ApiContext>) -> axum::response::Response {
    if database_answers(&ctx).await {
        Json(json!({"status": "ready", "database": "ok"})).into_response()
    } else {
        ApiError::Unavailable.into_response()
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200)))]
pub async fn metrics(State(ctx): State<ApiContext>) -> impl IntoResponse {
    let up = database_answers(&ctx).await;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ctx.metrics.render(up),
    )
}
