//! The web app from `map-ui/`: `/` (town head's map), `/chief` (the chief's
//! phone page), `/office` (the town office), plus their assets.

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

use crate::context::{ApiContext, Config};

pub fn routes(config: &Config) -> Router<ApiContext> {
    let dir = &config.ui_dir;
    let page = |name: &str| ServeFile::new(dir.join(name)).precompressed_gzip();
    Router::new()
        .route_service("/chief", page("chief.html"))
        .route_service("/office", page("office.html"))
        .route_service("/report", page("report.html"))
        .fallback_service(
            ServeDir::new(dir)
                .precompressed_gzip()
                .append_index_html_on_directories(true),
        )
}
