//! Vector tiles (MVT) for the map: one query builds the three layers
//! `reaches` (with the week's status of their chief), `patrols` (that week's
//! tracks, generalised by zoom) and `issues`, bounded by a statement timeout.
//!
//! Reach statuses are decided in Rust by [`domain::compliance::week_status`]
//! (the one definition of the weekly rule) and handed to the tile query as
//! arrays, so the map can never disagree with the compliance reports.

use chrono::{DateTime, NaiveDate, Utc};
use domain::compliance::{DateRange, Tenure, WeekStatus, week_status};
use domain::time::IsoWeek;
use sqlx::PgPool;
use std::collections::BTreeMap;

use crate::StoreError;

/// Highest zoom served.
pub const MAX_ZOOM: u8 = 22;

/// Bound on the tile query; beyond it the caller gets a timeout error.
const STATEMENT_TIMEOUT: &str = "SET LOCAL statement_timeout = '2s'";

/// A tile address (z/x/y, XYZ scheme as MapLibre requests it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Why a tile address is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileIdError {
    /// The zoom is above [`MAX_ZOOM`].
    Zoom,
    /// x or y is not below 2^z.
    OutOfRange,
}

impl TileId {
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, TileIdError> {
        if z > u32::from(MAX_ZOOM) {
            return Err(TileIdError::Zoom);
        }
        let n = 1u64 << z;
        if u64::from(x) >= n || u64::from(y) >= n {
            return Err(TileIdError::OutOfRange);
        }
        Ok(Self { z: z as u8, x, y })
    }

    /// The tile at zoom `z` that holds the point (Web Mercator; points
    /// beyond the map's edges, ±180° or ±85.05°, fall in the edge tiles).
    pub fn containing(lon: f64, lat: f64, z: u32) -> Result<Self, TileIdError> {
        if z > u32::from(MAX_ZOOM) {
            return Err(TileIdError::Zoom);
        }
        let n = f64::from(1u32 << z);
        let last = n - 1.0;
        let x = ((lon + 180.0) / 360.0 * n).floor().clamp(0.0, last);
        let lat = lat.to_radians();
        let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
            .floor()
            .clamp(0.0, last);
        Self::new(z, x as u32, y as u32)
    }

    /// One screen pixel (of a 256 px tile) at this zoom, in degrees of
    /// longitude: the simplification tolerance and the shortest track drawn.
    /// Degrees because tracks are stored in 4326; close enough at our
    /// latitudes for a tolerance.
    pub fn pixel_deg(self) -> f64 {
        360.0 / 256.0 / f64::from(1u32 << self.z.min(31))
    }

    /// How far a drawn track may stray from the recorded one: a pixel, but
    /// never less than [`TRACK_NOISE_DEG`]. Douglas–Peucker keeps every
    /// point further than the tolerance from its chord, so below about twice
    /// the GPS noise it keeps the noise itself: with 5 m a z15 tile of a
    /// reach walked 108 times in a week was 150 kB of zigzags, with 8 m it
    /// is 20 kB and looks the same.
    pub fn track_tolerance_deg(self) -> f64 {
        self.pixel_deg().max(TRACK_NOISE_DEG)
    }
}

/// Issue #6's baseline, not used to serve: `ST_AsMVT` over the
/// full-resolution tracks of week `$4` (its Monday) in tile `$1/$2/$3`. The
/// tile bench and the county load test (`make tileload`) measure ours
/// against it.
pub const RAW_BASELINE_SQL: &str = "
SELECT COALESCE((SELECT ST_AsMVT(t, 'patrols', 4096, 'geom') FROM (
  SELECT p.id, p.chief_id, p.valid,
         ST_AsMVTGeom(ST_Transform(ST_Force2D(p.track), 3857), ST_TileEnvelope($1::int, $2::int, $3::int), 4096, 64, true) AS geom
  FROM patrols p
  WHERE p.track && ST_Transform(ST_TileEnvelope($1::int, $2::int, $3::int), 4326) AND p.week_start = $4
) t WHERE geom IS NOT NULL), ''::bytea)";

/// Twice the position noise of a phone's GPS (σ ≈ 4 m), about 8 m, in
/// degrees: the least simplification of a track on the map, and the
/// tolerance of the stored map copy `patrols.track_simplified`, which thus
/// holds no more points than any tile needs.
pub const TRACK_NOISE_DEG: f64 = 0.00008;

/// What of the town the caller may see on the map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TileScope {
    /// `None`: every town (a national admin).
    pub town_id: Option<i64>,
    /// Patrols of this chief only (a village chief sees their own).
    pub patrols_of_chief: Option<i64>,
    /// Issues of this village only (a village chief).
    pub issues_of_village: Option<i64>,
}

/// The status of a reach for a week, and the chief it is the status of.
#[derive(Debug, Clone, PartialEq)]
pub struct ReachStatus {
    pub reach_id: i64,
    pub chief_id: i64,
    pub chief_name: String,
    pub status: WeekStatus,
}

/// Best first: a reach with one compliant chief is compliant.
fn rank(status: WeekStatus) -> u8 {
    match status {
        WeekStatus::Compliant => 0,
        WeekStatus::Exempt => 1,
        WeekStatus::Pending => 2,
        WeekStatus::Missed => 3,
        WeekStatus::NotInOffice => 4,
    }
}

type ChiefRow = (
    i64,
    i64,
    String,
    NaiveDate,
    Option<NaiveDate>,
    i32,
    Vec<NaiveDate>,
    Vec<NaiveDate>,
);

/// The week's status of every reach of the scope in `tile` that has a chief
/// assigned during that week: the best status of its chiefs. Reaches not in
/// the result are `unassigned`. Only the tile's reaches (the same `&&` test
/// as the tile query's): a county office's tile would otherwise decide the
/// status of every reach of the county for the two or three it shows.
pub async fn reach_statuses(
    pool: &PgPool,
    town_id: Option<i64>,
    tile: TileId,
    week: IsoWeek,
    now: DateTime<Utc>,
) -> crate::Result<Vec<ReachStatus>> {
    let rows: Vec<ChiefRow> = sqlx::query_as(
        "SELECT a.reach_id, c.id, c.name, c.appointed_on, c.left_on,
                COALESCE(max(cw.valid_patrols), 0)::int4,
                COALESCE(array_agg(e.from_date) FILTER (WHERE e.id IS NOT NULL), '{}'),
                COALESCE(array_agg(e.to_date) FILTER (WHERE e.id IS NOT NULL), '{}')
         FROM assignments a
         JOIN chiefs c ON c.id = a.chief_id
         JOIN reaches r ON r.id = a.reach_id
           AND r.geom && ST_Transform(ST_TileEnvelope($4::int, $5::int, $6::int), 4326)
         LEFT JOIN chief_weeks cw ON cw.chief_id = c.id AND cw.week_start = $2
         LEFT JOIN exemptions e ON e.chief_id = c.id AND e.from_date <= $3 AND e.to_date >= $2
           AND e.status = 'approved'
         WHERE a.from_date <= $3 AND (a.to_date IS NULL OR a.to_date >= $2)
           AND ($1::bigint IS NULL OR a.town_id = $1)
         GROUP BY a.reach_id, c.id, c.name, c.appointed_on, c.left_on
         ORDER BY a.reach_id, c.id",
    )
    .bind(town_id)
    .bind(week.monday())
    .bind(week.sunday())
    .bind(i32::from(tile.z))
    .bind(i64::from(tile.x))
    .bind(i64::from(tile.y))
    .fetch_all(pool)
    .await?;
    let mut best: BTreeMap<i64, ReachStatus> = BTreeMap::new();
    for (reach_id, chief_id, chief_name, appointed_on, left_on, valid, froms, tos) in rows {
        let tenure = Tenure::new(appointed_on, left_on)
            .map_err(|e| StoreError::Conflict(format!("chief {chief_id}: {e}")))?;
        let exemptions: Vec<DateRange> = froms
            .into_iter()
            .zip(tos)
            .filter_map(|(f, t)| DateRange::new(f, t).ok())
            .collect();
        let status = week_status(week, &tenure, &exemptions, valid.max(0) as u32, now);
        let candidate = ReachStatus {
            reach_id,
            chief_id,
            chief_name,
            status,
        };
        match best.get(&reach_id) {
            Some(current) if rank(current.status) <= rank(status) => {}
            _ => {
                best.insert(reach_id, candidate);
            }
        }
    }
    Ok(best.into_values().collect())
}

/// A cheap fingerprint of everything a tile of this scope and week is made
/// of, for ETags: answering `If-None-Match` costs this query, not a tile.
pub async fn version(pool: &PgPool, town_id: Option<i64>, week: IsoWeek) -> crate::Result<String> {
    Ok(sqlx::query_scalar(
        "SELECT concat_ws('|',
           (SELECT concat(count(*), '/', max(id), '/', max(uploaded_at), '/', max(overridden_at))
              FROM patrols WHERE week_start = $2 AND ($1::bigint IS NULL OR town_id = $1)),
           (SELECT concat(count(*), '/', max(updated_at))
              FROM issues WHERE ($1::bigint IS NULL OR town_id = $1)),
           (SELECT concat(count(*), '/', max(id), '/', max(created_at), '/', max(decided_at))
              FROM exemptions WHERE ($1::bigint IS NULL OR town_id = $1)),
           (SELECT md5(string_agg(concat(id, chief_id, reach_id, from_date, to_date), ',' ORDER BY id))
              FROM assignments WHERE ($1::bigint IS NULL OR town_id = $1)),
           (SELECT md5(string_agg(concat(id, name, appointed_on, left_on), ',' ORDER BY id))
              FROM chiefs WHERE ($1::bigint IS NULL OR town_id = $1)),
           (SELECT md5(string_agg(concat(id, code, name, village_id, length_m), ',' ORDER BY id))
              FROM reaches WHERE ($1::bigint IS NULL OR town_id = $1)))",
    )
    .bind(town_id)
    .bind(week.monday())
    .fetch_one(pool)
    .await?)
}

/// The tile query. Candidates are found with `&&` against the tile envelope
/// transformed to 4326, so the GiST indexes on the stored (4326) geometries
/// are used; only the rows found are transformed to 3857 for encoding.
/// Tracks are simplified to about a pixel (at least twice the GPS noise, see
/// [`TileId::track_tolerance_deg`]) and tracks shorter than a pixel are
/// dropped: at z12 a 1 Hz hour-long walk becomes a few dozen vertices. The
/// stored map copy is already simplified to the noise (and not simplified
/// again where the tolerance is the noise), so simplifying it whole is
/// cheaper than clipping it to the tile first.
const TILE_SQL: &str = "
WITH env AS (
  SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS e3857,
         ST_Transform(ST_TileEnvelope($1::int, $2::int, $3::int), 4326) AS e4326
),
st AS (
  SELECT * FROM unnest($6::bigint[], $7::text[], $8::bigint[], $9::text[])
    AS s(reach_id, status, chief_id, chief_name)
),
r AS (
  SELECT r.id, r.code, r.name, r.village_id, v.name AS village_name,
         st.chief_id, st.chief_name, COALESCE(st.status, 'unassigned') AS status,
         COALESCE((SELECT max(pr.coverage) FROM patrol_reaches pr JOIN patrols p ON p.id = pr.patrol_id
                   WHERE pr.reach_id = r.id AND p.week_start = $5
                     AND COALESCE(p.override_valid, p.valid)), 0)::float8 AS coverage,
         ST_AsMVTGeom(ST_Transform(r.geom, 3857), env.e3857, 4096, 64, true) AS geom
  FROM reaches r CROSS JOIN env
  LEFT JOIN villages v ON v.id = r.village_id
  LEFT JOIN st ON st.reach_id = r.id
  WHERE r.geom && env.e4326 AND ($4::bigint IS NULL OR r.town_id = $4)
),
p AS (
  SELECT p.id, p.chief_id, COALESCE(p.override_valid, p.valid) AS valid, p.coverage,
         to_char(p.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS started_at,
         ST_AsMVTGeom(ST_Transform(COALESCE(ST_Simplify(p.track_simplified, $15::float8), p.track_simplified), 3857), env.e3857, 4096, 64, true) AS geom
  FROM patrols p CROSS JOIN env
  WHERE p.track_simplified && env.e4326 AND p.week_start = $5
    AND ($4::bigint IS NULL OR p.town_id = $4)
    AND ($10::bigint IS NULL OR p.chief_id = $10)
    AND ST_Length(p.track_simplified) >= $12
),
i AS (
  SELECT i.id, i.status, i.category, i.level,
         ST_AsMVTGeom(ST_Transform(i.location, 3857), env.e3857, 4096, 64, true) AS geom
  FROM issues i CROSS JOIN env
  WHERE i.location && env.e4326
    AND ($4::bigint IS NULL OR i.town_id = $4)
    AND ($11::bigint IS NULL OR i.village_id = $11)
    AND (i.status <> 'closed' OR (i.closed_at >= $13 AND i.closed_at < $14))
)
SELECT COALESCE((SELECT ST_AsMVT(r, 'reaches', 4096, 'geom') FROM r WHERE geom IS NOT NULL), ''::bytea)
    || COALESCE((SELECT ST_AsMVT(p, 'patrols', 4096, 'geom') FROM p WHERE geom IS NOT NULL), ''::bytea)
    || COALESCE((SELECT ST_AsMVT(i, 'issues', 4096, 'geom') FROM i WHERE geom IS NOT NULL), ''::bytea)";

/// One tile as MVT bytes (empty when nothing is in it).
pub async fn tile(
    pool: &PgPool,
    tile: TileId,
    week: IsoWeek,
    scope: TileScope,
    now: DateTime<Utc>,
) -> crate::Result<Vec<u8>> {
    let statuses = reach_statuses(pool, scope.town_id, tile, week, now).await?;
    let mut tx = pool.begin().await?;
    sqlx::query(STATEMENT_TIMEOUT).execute(&mut *tx).await?;
    let bytes: Vec<u8> = sqlx::query_scalar(TILE_SQL)
        .bind(i32::from(tile.z))
        .bind(i64::from(tile.x))
        .bind(i64::from(tile.y))
        .bind(scope.town_id)
        .bind(week.monday())
        .bind(statuses.iter().map(|s| s.reach_id).collect::<Vec<_>>())
        .bind(
            statuses
                .iter()
                .map(|s| s.status.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(statuses.iter().map(|s| s.chief_id).collect::<Vec<_>>())
        .bind(
            statuses
                .iter()
                .map(|s| s.chief_name.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(scope.patrols_of_chief)
        .bind(scope.issues_of_village)
        .bind(tile.pixel_deg())
        .bind(week.start_utc())
        .bind(week.end_utc())
        // The stored copy is already simplified to the noise: simplifying it
        // again at the same tolerance (z15 and up) could only add error.
        .bind(Some(tile.track_tolerance_deg()).filter(|&t| t > TRACK_NOISE_DEG))
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_ids_are_checked() {
        assert!(TileId::new(0, 0, 0).is_ok());
        assert_eq!(TileId::new(23, 0, 0), Err(TileIdError::Zoom));
        assert_eq!(TileId::new(1, 2, 0), Err(TileIdError::OutOfRange));
        assert!(TileId::new(22, (1 << 22) - 1, 0).is_ok());
    }

    #[test]
    fn the_tile_holding_a_point() {
        // 103.1°E 25.3°N (牛栏江): x and y from the slippy-map formula.
        assert_eq!(
            TileId::containing(103.1, 25.3, 14),
            Ok(TileId {
                z: 14,
                x: 12884,
                y: 7001
            })
        );
        assert_eq!(
            TileId::containing(0.0, 0.0, 0),
            Ok(TileId { z: 0, x: 0, y: 0 })
        );
        assert_eq!(
            TileId::containing(180.0, -89.0, 2),
            Ok(TileId { z: 2, x: 3, y: 3 })
        );
        assert_eq!(TileId::containing(0.0, 0.0, 23), Err(TileIdError::Zoom));
    }
}
