//! Map tiles: `GET /tiles/{z}/{x}/{y}.mvt?week=` — Mapbox Vector Tiles with
//! the layers `reaches`, `patrols` and `issues` for one ISO week, scoped to
//! the caller (a village chief: every reach of the town, their own patrols,
//! their village's issues).
//!
//! Tiles need the bearer token like every other API call: the web app adds
//! it in MapLibre's `transformRequest` for URLs under `/tiles/`.
//!
//! Built tiles are kept in memory by their ETag ([`TileCache`]): the ETag
//! covers the tile, the week, the caller's scope, whether the week is over
//! and the version of every row a tile is made of, so an entry is valid for
//! exactly as long as a client's `If-None-Match` with that ETag would be
//! answered 304, and a changed week simply misses.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domain::time::IsoWeek;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use store::tiles::{TileId, TileIdError, TileScope};
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};

/// The MVT media type (MapLibre does not need it, caches and proxies do).
pub const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";

#[derive(Debug, Deserialize, IntoParams)]
pub struct TileQuery {
    /// ISO week in CST, e.g. `2026-W48`; default the current week.
    pub week: Option<String>,
}

/// Memory for built tiles: 64 MB, some thousands of street-level tiles.
pub const TILE_CACHE_BYTES: usize = 64 << 20;

/// Built tiles by ETag, at most `capacity` bytes of them. Full, it starts
/// over: simpler than an LRU, and a week's tiles come back within a build.
pub struct TileCache {
    capacity: usize,
    inner: Mutex<(HashMap<String, Bytes>, usize)>,
}

impl TileCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new((HashMap::new(), 0)),
        }
    }

    pub fn get(&self, etag: &str) -> Option<Bytes> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.get(etag).cloned()
    }

    pub fn put(&self, etag: String, tile: Bytes) {
        let cost = etag.len() + tile.len();
        if cost > self.capacity {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.1 + cost > self.capacity {
            *inner = (HashMap::new(), 0);
        }
        if inner.0.insert(etag, tile).is_none() {
            inner.1 += cost;
        }
    }
}

/// The week asked for, or the current CST week.
pub fn parse_week(week: Option<&str>) -> ApiResult<IsoWeek> {
    match week {
        Some(w) => w.parse().map_err(|e| ApiError::BadRequest {
            code: "invalid_week",
            message: format!("week: {e} (expected an ISO week like 2026-W48)"),
        }),
        None => IsoWeek::current(Utc::now()).map_err(|e| ApiError::Internal(e.to_string())),
    }
}

/// What the caller may see on the map.
pub fn scope(auth: &AuthUser) -> TileScope {
    let chief = auth.is_village_chief();
    TileScope {
        town_id: auth.town_scope(),
        patrols_of_chief: if chief { auth.user.chief_id } else { None },
        issues_of_village: if chief { auth.user.village_id } else { None },
    }
}

fn tile_id(z: &str, x: &str, y: &str) -> ApiResult<TileId> {
    let y = y
        .strip_suffix(".mvt")
        .ok_or_else(|| ApiError::not_found("tile"))?;
    let number = |name: &str, s: &str| {
        s.parse::<u32>().map_err(|_| ApiError::BadRequest {
            code: "invalid_tile",
            message: format!("{name} must be a whole number, not {s:?}"),
        })
    };
    TileId::new(number("z", z)?, number("x", x)?, number("y", y)?).map_err(|e| match e {
        TileIdError::Zoom => ApiError::BadRequest {
            code: "invalid_tile",
            message: format!("z must be between 0 and {}", store::tiles::MAX_ZOOM),
        },
        TileIdError::OutOfRange => ApiError::not_found("tile"),
    })
}

/// A vector tile (MVT) of one week: layers `reaches` (id, code, name,
/// village_id, village_name, chief_id, chief_name, status, coverage),
/// `patrols` (id, chief_id, valid, coverage, started_at) and `issues` (id,
/// status, category, level). 204 when the tile is empty; `ETag` and
/// `If-None-Match` (304) are supported.
#[utoipa::path(get, path = "/tiles/{z}/{x}/{y}", tag = "map",
    params(("z" = u32, Path, description = "zoom 0..=22"), ("x" = u32, Path),
           ("y" = String, Path, description = "the row followed by `.mvt`, e.g. `6712.mvt`"), TileQuery),
    responses((status = 200, content_type = "application/vnd.mapbox-vector-tile", description = "the tile"),
              (status = 204, description = "nothing in this tile"), (status = 304), (status = 400),
              (status = 401), (status = 404), (status = 503, description = "the tile took too long")),
    security(("bearer" = [])))]
pub async fn tile(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiPath((z, x, y)): ApiPath<(String, String, String)>,
    ApiQuery(q): ApiQuery<TileQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = tile_id(&z, &x, &y)?;
    let week = parse_week(q.week.as_deref())?;
    let scope = scope(&auth);
    let now = Utc::now();
    let over = now >= week.end_utc();
    // The ETag covers the data version, the scope, and whether the week is
    // over (pending turns into missed without any write).
    let version = store::tiles::version(&ctx.pool, scope.town_id, week).await?;
    let mut hasher = Sha256::new();
    hasher.update(format!("{id:?}|{week}|{scope:?}|{over}|{version}"));
    let digest = hasher.finalize();
    let etag = format!("\"{}\"", hex(&digest[..12]));
    // Past weeks still change (overrides, late exemptions) but rarely.
    let cache = if over {
        "private, max-age=3600"
    } else {
        "private, max-age=60"
    };
    let common = [
        (
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex etag"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::VARY, HeaderValue::from_static("authorization")),
    ];
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let bytes = match ctx.tile_cache.get(&etag) {
        Some(bytes) => bytes,
        None => {
            let bytes = Bytes::from(store::tiles::tile(&ctx.pool, id, week, scope, now).await?);
            ctx.tile_cache.put(etag, bytes.clone());
            bytes
        }
    };
    if bytes.is_empty() {
        return Ok((StatusCode::NO_CONTENT, common).into_response());
    }
    Ok((
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(MVT_CONTENT_TYPE),
        )],
        bytes,
    )
        .into_response())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tile_cache_keeps_tiles_by_etag_within_its_capacity() {
        let cache = TileCache::new(100);
        cache.put("a".into(), Bytes::from_static(&[1; 40]));
        cache.put("b".into(), Bytes::from_static(&[2; 40]));
        assert_eq!(cache.get("a").unwrap().len(), 40);
        assert_eq!(cache.get("c"), None);
        // Full: it starts over with the new tile.
        cache.put("c".into(), Bytes::from_static(&[3; 40]));
        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.get("c").unwrap()[0], 3);
        // Larger than the whole cache: not kept.
        cache.put("d".into(), Bytes::from_static(&[4; 200]));
        assert_eq!(cache.get("d"), None);
        assert_eq!(cache.get("c").unwrap()[0], 3);
    }
}
