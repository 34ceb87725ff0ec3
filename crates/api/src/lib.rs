//! The HTTP API of riverchief (axum): routes, authentication, the mapping of
//! errors to responses, the OpenAPI document and the static web app.
//! Handlers are thin: parse, call domain/storage, respond.

pub mod auth;
pub mod channels;
pub mod compliance;
pub mod context;
pub mod error;
pub mod exemptions;
pub mod forwarded;
pub mod import;
pub mod input;
pub mod issues;
pub mod limits;
pub mod metrics;
pub mod notices;
pub mod open311;
pub mod ops;
pub mod outbox;
pub mod patrols;
pub mod photos;
pub mod reports;
pub mod roster;
pub mod rules;
pub mod serve;
pub mod stats;
pub mod tiles;
mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use context::{ApiContext, Config};
pub use error::ApiError;
pub use serve::{Serving, serve, tls_acceptor};

#[derive(OpenApi)]
#[openapi(
    info(title = "riverchief", description = "河长制巡河 — river-chief patrols, compliance and problems"),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "登录 / login"),
        (name = "roster", description = "河长名册与河段 / roster and reaches"),
        (name = "patrols", description = "巡河记录 / patrols"),
        (name = "reports", description = "考核报表 / assessment reports"),
        (name = "map", description = "地图 / map tiles and GeoJSON"),
        (name = "operations", description = "运维 / operations"),
        (name = "compliance", description = "每周巡河达标、请假与统计 / weekly compliance, exemptions and figures"),
        (name = "issues", description = "问题上报与处置 / problems on the river and their dispatch"),
        (name = "channels", description = "催办、通报与消息渠道 / reminders, bulletins and channels"),
        (name = "open311", description = "群众诉求 / public complaints, Open311 GeoReport v2 (no login)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API routes and their OpenAPI document.
fn api_routes() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(roster::list_towns, roster::create_town))
        .routes(routes!(roster::list_villages, roster::create_village))
        .routes(routes!(roster::list_branches, roster::create_branch))
        .routes(routes!(roster::list_rivers, roster::create_river))
        .routes(routes!(roster::list_chiefs, roster::create_chief))
        .routes(routes!(roster::get_chief))
        .routes(routes!(roster::list_reaches, roster::create_reach))
        .routes(routes!(roster::get_reach))
        .routes(routes!(roster::list_assignments, roster::create_assignment))
        .routes(routes!(import::import_town))
        .routes(routes!(rules::get_rules, rules::set_rules))
        .routes(routes!(patrols::upload, patrols::list))
        .routes(routes!(patrols::detail))
        .routes(routes!(patrols::track))
        .routes(routes!(patrols::original))
        .routes(routes!(compliance::get_compliance))
        .routes(routes!(compliance::get_overdue))
        .routes(routes!(
            compliance::set_override,
            compliance::clear_override
        ))
        .routes(routes!(
            exemptions::list_exemptions,
            exemptions::create_exemption
        ))
        .routes(routes!(
            exemptions::get_exemption,
            exemptions::delete_exemption
        ))
        .routes(routes!(exemptions::approve_exemption))
        .routes(routes!(exemptions::reject_exemption))
        .routes(routes!(notices::list_notices))
        .routes(routes!(notices::mark_notice_read))
        .routes(routes!(patrols::match_track))
        .routes(routes!(stats::get_stats))
        .merge(channel_routes())
        .merge(issue_routes())
}

/// The office's week: channels, reminders, deliveries, the weekly bulletin.
fn channel_routes() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(channels::get_channels, channels::put_channels))
        .routes(routes!(channels::remind))
        .routes(routes!(channels::deliveries))
        .routes(routes!(channels::weekly))
}

/// Issues and Open311. Reporting streams photos and limits each one (and
/// the number of fields) itself, so the general body limit is lifted there.
fn issue_routes() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(issues::create_issue, issues::list_issues))
        .layer(DefaultBodyLimit::disable())
        .routes(routes!(issues::get_issue))
        .routes(routes!(issues::transition))
        .routes(routes!(issues::get_photo))
        .routes(routes!(issues::list_categories))
        .routes(routes!(open311::services_json))
        .routes(routes!(open311::services_xml))
        .routes(routes!(open311::service_definition))
        .routes(routes!(open311::post_json, open311::list_json))
        .routes(routes!(open311::post_xml, open311::list_xml))
        .routes(routes!(open311::get_request))
        .routes(routes!(open311::media))
        .routes(routes!(reports::quarterly))
        .routes(routes!(reports::chief))
        .routes(routes!(reports::yearly))
        .routes(routes!(tiles::tile))
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// The whole application: API, docs, web app, and the middleware stack.
pub fn router(ctx: ApiContext) -> Router {
    let (api, openapi) = api_routes().split_for_parts();
    let request_id = HeaderName::from_static("x-request-id");
    api.merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .merge(web::routes(&ctx.config))
        // Inside the body limit (it reads form and JSON bodies under it)
        // and the decompression (it reads what the handlers will).
        .layer(axum::middleware::from_fn(input::refuse_control_characters))
        .layer(DefaultBodyLimit::max(ctx.config.max_json_bytes.max(ctx.config.max_track_bytes)))
        // Uploads may be gzipped: a 1-hour GPX shrinks 7-8x on a rural link.
        // The body limit above applies to the decompressed bytes. A track
        // upload is decompressed by its handler instead, which keeps the
        // gzip stream as the original.
        .layer(RequestDecompressionLayer::new())
        .layer(axum::middleware::from_fn(input::explain_unsupported_encoding))
        .layer(axum::middleware::from_fn(patrols::defer_gzip_upload))
        .layer(RequestBodyTimeoutLayer::new(ctx.config.body_idle_timeout))
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            forwarded::resolve_client,
        ))
        .layer(axum::middleware::from_fn_with_state(
            ctx.metrics.clone(),
            metrics::track,
        ))
        .layer(security_headers())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // The path only: query strings may carry personal data.
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(ctx)
}

fn security_headers() -> tower::layer::util::Stack<
    SetResponseHeaderLayer<HeaderValue>,
    tower::layer::util::Stack<
        SetResponseHeaderLayer<HeaderValue>,
        SetResponseHeaderLayer<HeaderValue>,
    >,
> {
    // Maps may load a configured raster basemap over https; everything else is ours.
    let csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
               img-src 'self' data: blob: https:; connect-src 'self' https:; worker-src 'self' blob:; \
               object-src 'none'; frame-ancestors 'none'; base-uri 'self'";
    tower::layer::util::Stack::new(
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(csp),
        ),
        tower::layer::util::Stack::new(
            SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
            SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static("referrer-policy"),
                HeaderValue::from_static("same-origin"),
            ),
        ),
    )
}
