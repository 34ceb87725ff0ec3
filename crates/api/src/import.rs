//! `POST /api/v1/import/town`: the whole town in one JSON document, applied
//! in one transaction; a bad document keeps nothing.

use axum::Json;
use axum::extract::State;
use store::import::ImportSummary;

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiResult, Body};

/// Import (or re-import) a town: idempotent by codes.
#[utoipa::path(post, path = "/api/v1/import/town", tag = "roster",
    request_body(content = Object, description = "The town import document (docs/import.md in the repository)", content_type = "application/json"),
    responses((status = 200, body = ImportSummary), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn import_town(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    Body(body): Body,
) -> ApiResult<Json<ImportSummary>> {
    auth.require_admin()?;
    // Through the store's error: a text limit keeps its own code.
    let town = domain::import::parse(&body).map_err(store::StoreError::from)?;
    if let Some(own) = auth.town_scope() {
        let own_code = store::roster::towns(&ctx.pool, Some(own)).await?;
        if own_code.first().map(|t| t.code.as_str()) != Some(town.town.code.as_str()) {
            return Err(ApiError::forbidden("you may import only your own town"));
        }
    }
    let summary = store::import::import_town(&ctx.pool, &town, Some(auth.user.id)).await?;
    tracing::info!(
        town_id = summary.town_id,
        chiefs = summary.chiefs,
        "town imported"
    );
    Ok(Json(summary))
}
