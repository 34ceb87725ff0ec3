//! The web app from `map-ui/`: `/` (town head's map), `/chief` (the chief's
//! phone page), `/office` (the town office), `/report` (public complaints),
//! `/assessment` (the printable assessment), plus their assets. Everything is served from disk with precompressed
//! `.br`/`.gz` siblings where they exist, so the map works offline and the
//! 1.1 MB map library crosses a village's mobile network as ~240 KB.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::context::{ApiContext, Config};

/// Vendored libraries change only with their version: let browsers keep them a week.
const VENDOR_CACHE: &str = "public, max-age=604800";
/// Our own pages and scripts change with each deployment: always revalidate
/// (a 304 costs a round trip, not the file).
const APP_CACHE: &str = "no-cache";

pub fn routes(config: &Config) -> Router<ApiContext> {
    let dir = &config.ui_dir;
    let page = |name: &str| {
        tower::ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static(APP_CACHE),
            ))
            .service(
                ServeFile::new(dir.join(name))
                    .precompressed_br()
                    .precompressed_gzip(),
            )
    };
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(true);
    let vendor = ServeDir::new(dir.join("vendor"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .route_service("/chief", page("chief.html"))
        .route_service("/office", page("office.html"))
        .route_service("/report", page("report.html"))
        .route_service("/assessment", page("assessment.html"))
        .nest_service(
            "/vendor",
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(VENDOR_CACHE),
                ))
                .service(vendor),
        )
        .fallback(move |req: Request| {
            let files = files.clone();
            async move {
                // An API path nobody serves answers the API's JSON error, so
                // clients can tell "no such endpoint" from a missing file.
                if req.uri().path().starts_with("/api/") {
                    return no_such_endpoint(&req);
                }
                let Ok(mut response) = files.oneshot(req).await;
                response
                    .headers_mut()
                    .entry(header::CACHE_CONTROL)
                    .or_insert(HeaderValue::from_static(APP_CACHE));
                response.into_response()
            }
        })
}

fn no_such_endpoint(req: &Request) -> Response {
    let message = format!("no endpoint {} {}", req.method(), req.uri().path());
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            json!({"error": {"code": "no_such_endpoint", "message": message, "details": null}}),
        ),
    )
        .into_response()
}
