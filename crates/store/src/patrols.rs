//! Patrols: the original file byte for byte, the parsed track as a
//! LineStringM (M = epoch seconds), a simplified copy for maps, per-reach
//! coverage and the verdict — all written in one transaction, together with
//! the chief's weekly counter.

use chrono::{DateTime, NaiveDate, Utc};
use domain::Track;
use domain::patrol::Assessment;
use domain::similarity::{NearCopyBoxes, NearCopyIndex};
use geo::MultiLineString;
use geozero::ToGeo;
use serde::Serialize;
use sqlx::PgPool;
use std::sync::Arc;
use utoipa::ToSchema;

use crate::StoreError;

/// The chief a patrol is uploaded for, with what the rules need.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadChief {
    pub id: i64,
    pub name: String,
    pub town_id: i64,
    pub level: String,
    pub village_id: Option<i64>,
    /// The town's rule overrides (JSON object; missing keys = defaults).
    pub rules: serde_json::Value,
}

const UPLOAD_CHIEF_SELECT: &str = "SELECT c.id, c.name, c.town_id, c.level, c.village_id, t.rules
     FROM chiefs c JOIN towns t ON t.id = c.town_id WHERE c.id = $1";

pub async fn upload_chief(pool: &PgPool, chief_id: i64) -> crate::Result<UploadChief> {
    sqlx::query_as(UPLOAD_CHIEF_SELECT)
        .bind(chief_id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("chief"))
}

/// The patrol a chief already has for this idempotency key or file, if any.
pub async fn existing(
    pool: &PgPool,
    chief_id: i64,
    idempotency_key: Option<&str>,
    sha256: &[u8],
) -> crate::Result<Option<i64>> {
    Ok(sqlx::query_scalar(EXISTING_SELECT)
        .bind(chief_id)
        .bind(sha256)
        .bind(idempotency_key)
        .fetch_optional(pool)
        .await?)
}

const EXISTING_SELECT: &str = "SELECT id FROM patrols WHERE chief_id = $1
       AND (original_sha256 = $2 OR ($3::text IS NOT NULL AND idempotency_key = $3))
     ORDER BY id LIMIT 1";

/// [`upload_chief`] and [`existing`] in one round trip: the chief, and the
/// patrol they already have for this key or file (`Ok(Err(id))`).
async fn upload_chief_unless_existing(
    pool: &PgPool,
    chief_id: i64,
    idempotency_key: Option<&str>,
    sha256: &[u8],
) -> crate::Result<Result<UploadChief, i64>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        chief: UploadChief,
        existing: Option<i64>,
    }
    let sql = format!(
        "WITH chief AS ({UPLOAD_CHIEF_SELECT})
         SELECT chief.*, ({EXISTING_SELECT}) AS existing FROM chief"
    );
    let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(chief_id)
        .bind(sha256)
        .bind(idempotency_key)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("chief"))?;
    Ok(row.existing.map_or(Ok(row.chief), Err))
}

/// Reaches assigned to the chief on `day` (CST). A town chief with none
/// assigned that day covers every reach of the town.
pub async fn assigned_reaches(
    pool: &PgPool,
    chief: &UploadChief,
    day: NaiveDate,
) -> crate::Result<Vec<(i64, MultiLineString<f64>)>> {
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT r.id, ST_AsBinary(r.geom) FROM assignments a JOIN reaches r ON r.id = a.reach_id
         WHERE a.chief_id = $1 AND a.from_date <= $2 AND (a.to_date IS NULL OR a.to_date >= $2)
         ORDER BY r.id",
    )
    .bind(chief.id)
    .bind(day)
    .fetch_all(pool)
    .await?;
    let rows = if rows.is_empty() && chief.level == "town" {
        sqlx::query_as("SELECT id, ST_AsBinary(geom) FROM reaches WHERE town_id = $1 ORDER BY id")
            .bind(chief.town_id)
            .fetch_all(pool)
            .await?
    } else {
        rows
    };
    rows.into_iter()
        .map(|(id, wkb)| Ok((id, multi_line_string(&wkb)?)))
        .collect()
}

fn multi_line_string(wkb: &[u8]) -> crate::Result<MultiLineString<f64>> {
    match geozero::wkb::Wkb(wkb.to_vec()).to_geo() {
        Ok(geo::Geometry::MultiLineString(m)) => Ok(m),
        Ok(geo::Geometry::LineString(l)) => Ok(MultiLineString::new(vec![l])),
        Ok(_) | Err(_) => Err(StoreError::Conflict(
            "a reach has an unreadable geometry".into(),
        )),
    }
}

/// What the duplicate search needs of a new track, computed once per upload
/// (off the async runtime: the index costs a pass over the points).
pub struct DuplicateProbe {
    pub fingerprint: String,
    pub point_count: usize,
    /// `None` for a track without points.
    pub boxes: Option<NearCopyBoxes>,
    pub index: NearCopyIndex,
    /// The track's positions as later uploads compare with them.
    pub packed_positions: Vec<u8>,
}

impl DuplicateProbe {
    pub fn new(track: &Track) -> Self {
        Self {
            fingerprint: domain::similarity::shape_fingerprint(track),
            point_count: track.points.len(),
            boxes: NearCopyBoxes::of(track),
            index: NearCopyIndex::new(track),
            packed_positions: domain::packed_positions::pack(track),
        }
    }
}

/// Most earlier patrols whose points an upload is compared with.
const NEAR_COPY_CANDIDATES: i64 = 20;

/// What an upload may copy: an earlier patrol (any chief's) with the same
/// shape fingerprint, or the candidates for the point comparison
/// ([`DuplicateCandidates::first_copy`]: the same points within GPS-free
/// precision, a replay with shifted times). Independent recordings of the
/// same walk have their own noise and are not copies.
///
/// Candidates for the point comparison are the patrols that can be near
/// copies by their boxes ([`domain::similarity::boxes_may_be_near_copies`],
/// checked exactly here and through the `bbox` index) and have a similar
/// number of points; the closest core boxes first (a replay's is the
/// original's to the centimetre, an independent walk's differs by its GPS
/// noise), the most recent first among equals. So when a chief has walked
/// the same reach more than [`NEAR_COPY_CANDIDATES`] times, the copied walk
/// is still among those compared.
pub async fn duplicate_candidates(
    pool: &PgPool,
    probe: &DuplicateProbe,
) -> crate::Result<DuplicateCandidates> {
    const EXACT: &str = "SELECT id, NULL::bytea AS positions, NULL::bytea AS track, true AS exact
         FROM patrols WHERE shape_fingerprint = $1 ORDER BY id LIMIT 1";
    let Some(NearCopyBoxes {
        bbox,
        core: Some(core),
    }) = probe.boxes
    else {
        // Fewer than ten distinct positions: nobody's near copy, but the
        // same shape may have been uploaded before.
        let exact = sqlx::query_scalar(
            "SELECT id FROM patrols WHERE shape_fingerprint = $1 ORDER BY id LIMIT 1",
        )
        .bind(&probe.fingerprint)
        .fetch_optional(pool)
        .await?;
        return Ok(DuplicateCandidates {
            exact,
            near: vec![],
        });
    };
    let (dlon, dlat) = bbox.margin_deg();
    let n = probe.point_count as i32;
    // The exact copy (same fingerprint) and the near-copy candidates in one
    // round trip. Rows from before migration 0008 have no packed positions:
    // their track.
    let sql = format!(
        "({EXACT})
         UNION ALL
         (SELECT id, positions, CASE WHEN positions IS NULL THEN ST_AsBinary(track) END, false
         FROM patrols
         WHERE bbox && ST_MakeEnvelope($2 - $10, $3 - $11, $4 + $10, $5 + $11, 4326)
           AND core_bbox IS NOT NULL
           AND point_count BETWEEN $12 * 0.8 AND $12 * 1.25
           AND (   (ST_XMin(bbox) <= $6 + $10 AND ST_YMin(bbox) <= $7 + $11
                    AND ST_XMax(bbox) >= $8 - $10 AND ST_YMax(bbox) >= $9 - $11)
                OR (ST_XMin(core_bbox) >= $2 - $10 AND ST_YMin(core_bbox) >= $3 - $11
                    AND ST_XMax(core_bbox) <= $4 + $10 AND ST_YMax(core_bbox) <= $5 + $11))
         ORDER BY greatest(abs(ST_XMin(core_bbox) - $6), abs(ST_YMin(core_bbox) - $7),
                           abs(ST_XMax(core_bbox) - $8), abs(ST_YMax(core_bbox) - $9)),
                  id DESC
         LIMIT $13)"
    );
    let rows: Vec<CandidateRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&probe.fingerprint)
        .bind(bbox.min_lon)
        .bind(bbox.min_lat)
        .bind(bbox.max_lon)
        .bind(bbox.max_lat)
        .bind(core.min_lon)
        .bind(core.min_lat)
        .bind(core.max_lon)
        .bind(core.max_lat)
        .bind(dlon)
        .bind(dlat)
        .bind(n)
        .bind(NEAR_COPY_CANDIDATES)
        .fetch_all(pool)
        .await?;
    let (exact, near): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| row.exact);
    Ok(DuplicateCandidates {
        exact: exact.first().map(|row| row.id),
        near,
    })
}

/// A patrol the upload may copy, as [`duplicate_candidates`] reads it.
#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: i64,
    /// Packed positions; `None` for rows from before migration 0008,
    /// which come with their `track` (WKB) instead.
    positions: Option<Vec<u8>>,
    track: Option<Vec<u8>>,
    /// The same shape fingerprint: a copy without comparing points.
    exact: bool,
}

/// See [`duplicate_candidates`].
pub struct DuplicateCandidates {
    /// The earliest patrol with the same shape fingerprint.
    pub exact: Option<i64>,
    /// The patrols to compare point by point, most likely copy first.
    near: Vec<CandidateRow>,
}

impl DuplicateCandidates {
    /// The patrol the probed track copies, if any: the exact match, else
    /// the first near copy. CPU work, for the blocking pool.
    pub fn first_copy(&self, probe: &DuplicateProbe) -> Option<i64> {
        self.exact.or_else(|| {
            self.near.iter().find_map(|c| {
                let near = match (&c.positions, &c.track) {
                    (Some(packed), _) => probe
                        .index
                        .is_near_copy_of_positions(domain::packed_positions::positions(packed)?),
                    (None, Some(wkb)) => probe
                        .index
                        .is_near_copy_of_positions(track_m_positions(wkb)?),
                    (None, None) => false,
                };
                near.then_some(c.id)
            })
        })
    }
}

/// ISO WKB of a LineStringM (type 2002), M = epoch seconds. Hand-built:
/// geo has no M dimension, and the format is three doubles per point.
pub fn encode_track_m(track: &Track) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + track.points.len() * 24);
    out.push(1u8); // little endian
    out.extend_from_slice(&2002u32.to_le_bytes());
    out.extend_from_slice(&(track.points.len() as u32).to_le_bytes());
    for p in &track.points {
        let m = p.time.timestamp() as f64 + f64::from(p.time.timestamp_subsec_millis()) / 1000.0;
        for v in [p.lon, p.lat, m] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Tolerance of the map copy `track_simplified`, in degrees (~8 m): the
/// least any map tile simplifies a track ([`crate::tiles::TRACK_NOISE_DEG`]).
/// At 2 m a 1 Hz walk kept two thirds of its points (GPS noise is larger
/// than that), which every tile then had to read and simplify again.
pub const SIMPLIFY_TOLERANCE_DEG: f64 = crate::tiles::TRACK_NOISE_DEG;

/// ISO WKB of the LineString kept for maps: the track without times,
/// simplified with Douglas–Peucker ([`SIMPLIFY_TOLERANCE_DEG`]). Done here
/// rather than with GEOS's `ST_SimplifyPreserveTopology` in the INSERT,
/// which was a fifth of PostgreSQL's CPU in the upload load test; tracks
/// cross themselves anyway (there and back), and the map tiles simplify
/// further with `ST_Simplify`.
pub fn encode_simplified(track: &Track) -> Vec<u8> {
    use geo::Simplify;
    let line: geo::LineString<f64> = track.points.iter().map(|p| (p.lon, p.lat)).collect();
    let line = line.simplify(SIMPLIFY_TOLERANCE_DEG);
    let mut out = Vec::with_capacity(9 + line.0.len() * 16);
    out.push(1u8); // little endian
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(line.0.len() as u32).to_le_bytes());
    for c in &line.0 {
        out.extend_from_slice(&c.x.to_le_bytes());
        out.extend_from_slice(&c.y.to_le_bytes());
    }
    out
}

/// Reads back what [`encode_track_m`] wrote (as PostGIS returns it).
pub fn decode_track_m(wkb: &[u8]) -> Option<Track> {
    let points = linestring_m(wkb)?
        .map(|[lon, lat, m]| {
            Some(domain::TrackPoint {
                lon,
                lat,
                ele: None,
                time: DateTime::from_timestamp_millis((m * 1000.0).round() as i64)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Track {
        points,
        ..Track::default()
    })
}

/// The positions `(lon, lat)` of a track as [`decode_track_m`] reads it,
/// without making times of the M values: all the duplicate check needs.
fn track_m_positions(wkb: &[u8]) -> Option<impl ExactSizeIterator<Item = (f64, f64)> + Clone + '_> {
    Some(linestring_m(wkb)?.map(|[lon, lat, _]| (lon, lat)))
}

/// The points `[x, y, m]` of an ISO WKB LineStringM, either byte order.
fn linestring_m(wkb: &[u8]) -> Option<impl ExactSizeIterator<Item = [f64; 3]> + Clone + '_> {
    let little = *wkb.first()? == 1;
    let u32_at = |i: usize| -> Option<u32> {
        let b: [u8; 4] = wkb.get(i..i + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    if u32_at(1)? != 2002 {
        return None;
    }
    let n = u32_at(5)? as usize;
    let body = wkb.get(9..9 + n.checked_mul(24)?)?;
    Some(body.chunks_exact(24).map(move |point| {
        let f64_at = |i: usize| {
            let b: [u8; 8] = point[i..i + 8].try_into().unwrap_or_default();
            if little {
                f64::from_le_bytes(b)
            } else {
                f64::from_be_bytes(b)
            }
        };
        [f64_at(0), f64_at(8), f64_at(16)]
    }))
}

/// A patrol ready to be stored.
#[derive(Clone, Copy)]
pub struct NewPatrol<'a> {
    pub chief: &'a UploadChief,
    pub uploaded_by: i64,
    pub idempotency_key: Option<&'a str>,
    /// The file as stored: itself, or the gzip stream it came in
    /// (`original_encoding`).
    pub original: &'a [u8],
    /// `Some("gzip")` when `original` is the file gzip-compressed.
    pub original_encoding: Option<&'a str>,
    /// SHA-256 of the file itself.
    pub original_sha256: &'a [u8],
    pub original_content_type: &'a str,
    pub coords: &'a str,
    pub notes: Option<&'a str>,
    pub track: &'a Track,
    pub week_start: NaiveDate,
    pub fingerprint: &'a str,
    /// The boxes the duplicate check finds this patrol by.
    pub boxes: Option<&'a NearCopyBoxes>,
    /// What the duplicate check of later uploads compares with.
    pub packed_positions: &'a [u8],
    pub duplicate_of: Option<i64>,
    pub assessment: &'a Assessment,
    /// When the file arrived: what `late_upload` was judged against.
    pub uploaded_at: DateTime<Utc>,
}

/// What [`insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored now, with the instants as the database keeps them
    /// (microseconds).
    Created {
        id: i64,
        uploaded_at: DateTime<Utc>,
        started_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
    },
    /// An equal upload (same file or idempotency key) won a race: its id.
    Existing(i64),
}

#[derive(sqlx::FromRow)]
struct CreatedRow {
    id: i64,
    uploaded_at: DateTime<Utc>,
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
}

/// Stores a patrol: the patrol with its per-reach coverage and the lock on
/// its chief-week in one statement, the week's recount in a second, in one
/// transaction (four round trips with BEGIN and COMMIT).
pub async fn insert(pool: &PgPool, new: NewPatrol<'_>) -> crate::Result<Stored> {
    let mut tx = pool.begin().await?;
    let a = new.assessment;
    let reasons: Vec<&str> = a.validity.reasons.iter().map(|r| r.code()).collect();
    let metrics =
        serde_json::json!({"gaps": a.metrics.gaps, "fast_length_m": a.metrics.fast_length_m});
    let reach_ids: Vec<i64> = a.reaches.iter().map(|(id, _)| *id).collect();
    let reach_coverage: Vec<f64> = a.reaches.iter().map(|(_, c)| c.coverage.get()).collect();
    let reach_covered_m: Vec<f64> = a.reaches.iter().map(|(_, c)| c.covered_m).collect();
    // The chief-week row is locked here (created if missing) and counted in
    // the next statement, whose snapshot then includes every patrol
    // committed by an upload that held the lock before: see
    // [`crate::compliance::recount_week`].
    let mut query = sqlx::query_as(
        "WITH g AS (SELECT ST_GeomFromWKB($13, 4326) AS track),
         patrol AS (
             INSERT INTO patrols (town_id, chief_id, uploaded_by, idempotency_key, original,
                 original_sha256, original_content_type, coords, notes, started_at, ended_at,
                 week_start, track, track_simplified, point_count, length_m, duration_s,
                 moving_time_s, max_speed_kmh, fast_share, coverage, valid, reasons, flags,
                 shape_fingerprint, metrics, duplicate_of, bbox, core_bbox, positions,
                 original_encoding, uploaded_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                 g.track, ST_GeomFromWKB($35, 4326),
                 $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,
                 ST_MakeEnvelope($27, $28, $29, $30, 4326), ST_MakeEnvelope($31, $32, $33, $34, 4326),
                 $36, $40, $41
             FROM g
             ON CONFLICT DO NOTHING
             RETURNING id, uploaded_at, started_at, ended_at),
         reaches AS (
             INSERT INTO patrol_reaches (patrol_id, reach_id, town_id, coverage, covered_m)
             SELECT patrol.id, r.reach_id, $1, r.coverage, r.covered_m
             FROM patrol, unnest($37::bigint[], $38::float8[], $39::float8[])
                 AS r(reach_id, coverage, covered_m)),
         week_lock AS (
             INSERT INTO chief_weeks (chief_id, week_start, town_id, valid_patrols)
             SELECT $2, $12, $1, 0 FROM patrol
             ON CONFLICT (chief_id, week_start)
             DO UPDATE SET valid_patrols = chief_weeks.valid_patrols)
         SELECT id, uploaded_at, started_at, ended_at FROM patrol",
    )
    .bind(new.chief.town_id)
    .bind(new.chief.id)
    .bind(new.uploaded_by)
    .bind(new.idempotency_key)
    .bind(new.original)
    .bind(new.original_sha256)
    .bind(new.original_content_type)
    .bind(new.coords)
    .bind(new.notes)
    .bind(new.track.started_at())
    .bind(new.track.ended_at())
    .bind(new.week_start)
    .bind(encode_track_m(new.track))
    .bind(a.metrics.point_count as i32)
    .bind(a.metrics.length_m)
    .bind(a.metrics.duration_s)
    .bind(a.metrics.moving_time_s)
    .bind(a.metrics.max_speed_kmh)
    .bind(a.metrics.fast_share)
    .bind(a.best_coverage())
    .bind(a.validity.valid)
    .bind(&reasons)
    .bind(&a.flags)
    .bind(new.fingerprint)
    .bind(metrics)
    .bind(new.duplicate_of);
    let bbox = new.boxes.map(|b| b.bbox);
    let core = new.boxes.and_then(|b| b.core);
    for b in [bbox, core] {
        query = query
            .bind(b.map(|b| b.min_lon))
            .bind(b.map(|b| b.min_lat))
            .bind(b.map(|b| b.max_lon))
            .bind(b.map(|b| b.max_lat));
    }
    let created: Option<CreatedRow> = query
        .bind(encode_simplified(new.track))
        .bind(new.packed_positions)
        .bind(&reach_ids)
        .bind(&reach_coverage)
        .bind(&reach_covered_m)
        .bind(new.original_encoding)
        .bind(new.uploaded_at)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(CreatedRow {
        id,
        uploaded_at,
        started_at,
        ended_at,
    }) = created
    else {
        tx.rollback().await?;
        let id = existing(pool, new.chief.id, new.idempotency_key, new.original_sha256)
            .await?
            .ok_or_else(|| StoreError::Conflict("the upload conflicts with another".into()))?;
        return Ok(Stored::Existing(id));
    };
    crate::compliance::count_locked_week(&mut tx, new.chief.id, new.week_start).await?;
    tx.commit().await?;
    Ok(Stored::Created {
        id,
        uploaded_at,
        started_at,
        ended_at,
    })
}

impl NewPatrol<'_> {
    /// The patrol as `GET /api/v1/patrols/{id}` shows it right after
    /// [`insert`] created it, without reading it back.
    fn detail(
        &self,
        id: i64,
        uploaded_at: DateTime<Utc>,
        started_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
    ) -> PatrolDetail {
        let a = self.assessment;
        let mut reaches: Vec<PatrolReach> = a
            .reaches
            .iter()
            .map(|(reach_id, c)| PatrolReach {
                reach_id: *reach_id,
                coverage: c.coverage.get(),
                covered_m: c.covered_m,
            })
            .collect();
        reaches.sort_by_key(|r| r.reach_id);
        PatrolRow {
            id,
            town_id: self.chief.town_id,
            chief_id: self.chief.id,
            chief_name: self.chief.name.clone(),
            uploaded_at,
            started_at,
            ended_at,
            week_start: self.week_start,
            point_count: a.metrics.point_count as i32,
            length_m: a.metrics.length_m,
            duration_s: a.metrics.duration_s,
            moving_time_s: a.metrics.moving_time_s,
            max_speed_kmh: a.metrics.max_speed_kmh,
            fast_share: a.metrics.fast_share,
            coverage: a.best_coverage(),
            valid: a.validity.valid,
            reasons: a
                .validity
                .reasons
                .iter()
                .map(|r| r.code().to_owned())
                .collect(),
            flags: a.flags.iter().map(|f| (*f).to_owned()).collect(),
            notes: self.notes.map(str::to_owned),
            coords: self.coords.to_owned(),
            original_content_type: self.original_content_type.to_owned(),
            duplicate_of: self.duplicate_of,
            override_valid: None,
            override_reason: None,
            overridden_by: None,
            overridden_at: None,
        }
        .into_detail(reaches)
    }
}

/// Coverage of one reach by a patrol.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct PatrolReach {
    pub reach_id: i64,
    pub coverage: f64,
    pub covered_m: f64,
}

/// The office's decision on a patrol's validity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Override {
    pub valid: bool,
    pub reason: Option<String>,
    pub by: Option<i64>,
    pub at: Option<DateTime<Utc>>,
}

/// A patrol as `GET /api/v1/patrols/{id}` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PatrolDetail {
    pub id: i64,
    pub town_id: i64,
    pub chief_id: i64,
    pub chief_name: String,
    pub uploaded_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// ISO week in CST the patrol counts for, e.g. `2026-W48`.
    pub week: String,
    pub point_count: i32,
    pub length_m: f64,
    pub duration_s: f64,
    pub moving_time_s: f64,
    pub max_speed_kmh: f64,
    pub fast_share: f64,
    pub reaches: Vec<PatrolReach>,
    /// Best coverage of an assigned reach.
    pub coverage: f64,
    /// Effective validity: the office's override if any, else the rules'.
    pub valid: bool,
    /// The rules' verdict before any override.
    pub machine_valid: bool,
    pub reasons: Vec<String>,
    pub flags: Vec<String>,
    pub notes: Option<String>,
    pub coords: String,
    pub original_content_type: String,
    pub duplicate_of: Option<i64>,
    #[serde(rename = "override")]
    pub override_: Option<Override>,
}

#[derive(sqlx::FromRow)]
struct PatrolRow {
    id: i64,
    town_id: i64,
    chief_id: i64,
    chief_name: String,
    uploaded_at: DateTime<Utc>,
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    week_start: NaiveDate,
    point_count: i32,
    length_m: f64,
    duration_s: f64,
    moving_time_s: f64,
    max_speed_kmh: f64,
    fast_share: f64,
    coverage: f64,
    valid: bool,
    reasons: Vec<String>,
    flags: Vec<String>,
    notes: Option<String>,
    coords: String,
    original_content_type: String,
    duplicate_of: Option<i64>,
    override_valid: Option<bool>,
    override_reason: Option<String>,
    overridden_by: Option<i64>,
    overridden_at: Option<DateTime<Utc>>,
}

const PATROL_SELECT: &str = "
    SELECT p.id, p.town_id, p.chief_id, c.name AS chief_name, p.uploaded_at, p.started_at, p.ended_at,
           p.week_start, p.point_count, p.length_m, p.duration_s, p.moving_time_s, p.max_speed_kmh,
           p.fast_share, p.coverage, p.valid, p.reasons, p.flags, p.notes, p.coords,
           p.original_content_type, p.duplicate_of, p.override_valid, p.override_reason,
           p.overridden_by, p.overridden_at
    FROM patrols p JOIN chiefs c ON c.id = p.chief_id";

impl PatrolRow {
    fn into_detail(self, reaches: Vec<PatrolReach>) -> PatrolDetail {
        let week = domain::time::IsoWeek::of_date(self.week_start)
            .map(|w| w.to_string())
            .unwrap_or_default();
        PatrolDetail {
            id: self.id,
            town_id: self.town_id,
            chief_id: self.chief_id,
            chief_name: self.chief_name,
            uploaded_at: self.uploaded_at,
            started_at: self.started_at,
            ended_at: self.ended_at,
            week,
            point_count: self.point_count,
            length_m: self.length_m,
            duration_s: self.duration_s,
            moving_time_s: self.moving_time_s,
            max_speed_kmh: self.max_speed_kmh,
            fast_share: self.fast_share,
            reaches,
            coverage: self.coverage,
            valid: self.override_valid.unwrap_or(self.valid),
            machine_valid: self.valid,
            reasons: self.reasons,
            flags: self.flags,
            notes: self.notes,
            coords: self.coords,
            original_content_type: self.original_content_type,
            duplicate_of: self.duplicate_of,
            override_: self.override_valid.map(|valid| Override {
                valid,
                reason: self.override_reason,
                by: self.overridden_by,
                at: self.overridden_at,
            }),
        }
    }
}

pub async fn detail(pool: &PgPool, id: i64) -> crate::Result<PatrolDetail> {
    let sql = format!("{PATROL_SELECT} WHERE p.id = $1");
    let row: PatrolRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("patrol"))?;
    let reaches = sqlx::query_as(
        "SELECT reach_id, coverage, covered_m FROM patrol_reaches WHERE patrol_id = $1 ORDER BY reach_id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(row.into_detail(reaches))
}

/// Filters for the patrol list.
#[derive(Debug, Default)]
pub struct PatrolFilter {
    pub town_id: Option<i64>,
    pub chief_id: Option<i64>,
    pub village_id: Option<i64>,
    pub week_start: Option<NaiveDate>,
    pub limit: i64,
    pub offset: i64,
}

/// Patrols, newest first (per-reach coverage included).
pub async fn list(pool: &PgPool, filter: &PatrolFilter) -> crate::Result<Vec<PatrolDetail>> {
    // Only the start of the notes leaves the database (rows from before the
    // limit on notes may hold megabytes); one more character than the
    // preview keeps, so the preview knows it was cut.
    let select = PATROL_SELECT.replacen(
        "p.notes,",
        &format!(
            "left(p.notes, {}) AS notes,",
            domain::text::PREVIEW_CHARS + 1
        ),
        1,
    );
    let sql = format!(
        "{select} WHERE ($1::bigint IS NULL OR p.town_id = $1)
           AND ($2::bigint IS NULL OR p.chief_id = $2)
           AND ($3::bigint IS NULL OR c.village_id = $3)
           AND ($4::date IS NULL OR p.week_start = $4)
         ORDER BY p.started_at DESC, p.id DESC LIMIT $5 OFFSET $6"
    );
    let rows: Vec<PatrolRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(filter.town_id)
        .bind(filter.chief_id)
        .bind(filter.village_id)
        .bind(filter.week_start)
        .bind(filter.limit)
        .bind(filter.offset)
        .fetch_all(pool)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let reach_rows: Vec<(i64, i64, f64, f64)> = sqlx::query_as(
        "SELECT patrol_id, reach_id, coverage, covered_m FROM patrol_reaches
         WHERE patrol_id = ANY($1) ORDER BY patrol_id, reach_id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let reaches = reach_rows
                .iter()
                .filter(|r| r.0 == row.id)
                .map(|r| PatrolReach {
                    reach_id: r.1,
                    coverage: r.2,
                    covered_m: r.3,
                })
                .collect();
            let mut detail = row.into_detail(reaches);
            // A list is loaded whole by the town map: notes only as a
            // preview, in full in the patrol's detail.
            detail.notes = detail
                .notes
                .map(|n| domain::text::preview(&n, domain::text::PREVIEW_CHARS));
            detail
        })
        .collect())
}

/// The stored track (with times) of a patrol.
pub async fn track(pool: &PgPool, id: i64) -> crate::Result<Track> {
    let wkb: Vec<u8> = sqlx::query_scalar("SELECT ST_AsBinary(track) FROM patrols WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("patrol"))?;
    decode_track_m(&wkb)
        .ok_or_else(|| StoreError::Conflict("the stored track is unreadable".into()))
}

/// The file exactly as uploaded, and its content type. An original kept
/// as the gzip stream it came in is decompressed.
pub async fn original(pool: &PgPool, id: i64) -> crate::Result<(String, Vec<u8>)> {
    let (content_type, stored, encoding): (String, Vec<u8>, Option<String>) = sqlx::query_as(
        "SELECT original_content_type, original, original_encoding FROM patrols WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    .ok_or(StoreError::NotFound("patrol"))?;
    let bytes = match encoding.as_deref() {
        None => stored,
        Some("gzip") => gunzip(&stored, usize::MAX)
            .map_err(|e| StoreError::Conflict(format!("the stored original is unreadable: {e}")))?,
        Some(other) => {
            return Err(StoreError::Conflict(format!(
                "the stored original has an unknown encoding {other:?}"
            )));
        }
    };
    Ok((content_type, bytes))
}

/// Decompresses a gzip stream (every member, as HTTP clients may send
/// several), refusing to give more than `limit` bytes.
pub fn gunzip(gzip: &[u8], limit: usize) -> Result<Vec<u8>, GunzipError> {
    use std::io::Read;
    let mut out = Vec::with_capacity(gzip.len().saturating_mul(8).min(limit.min(64 << 20)));
    flate2::read::MultiGzDecoder::new(gzip)
        .take(limit.saturating_add(1) as u64)
        .read_to_end(&mut out)
        .map_err(GunzipError::Corrupt)?;
    if out.len() > limit {
        return Err(GunzipError::TooLarge);
    }
    Ok(out)
}

/// Why [`gunzip`] gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum GunzipError {
    #[error("not a gzip stream: {0}")]
    Corrupt(std::io::Error),
    #[error("decompresses to more than the limit")]
    TooLarge,
}

/// Owner and town of a patrol, for visibility checks.
pub async fn owner(pool: &PgPool, id: i64) -> crate::Result<(i64, i64)> {
    sqlx::query_as("SELECT chief_id, town_id FROM patrols WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(StoreError::NotFound("patrol"))
}

/// A track file to ingest: what the upload handler and the demo loader pass.
pub struct Ingest<'a> {
    pub chief_id: i64,
    pub uploaded_by: i64,
    /// The file.
    pub bytes: Vec<u8>,
    /// The gzip stream `bytes` came in, if so: kept instead of `bytes`.
    pub gzip: Option<Vec<u8>>,
    pub format: domain::read::TrackFormat,
    /// The track's coordinates are GCJ-02 (Chinese map apps), not WGS-84.
    pub gcj02: bool,
    pub notes: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    /// The instant of the upload: stored as `uploaded_at`, and what the
    /// rules judge against (no points after it, `late_upload`). The demo
    /// season passes the time each chief would have uploaded.
    pub now: DateTime<Utc>,
}

/// Why a track was not ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file cannot be read as a track (`code()` says why).
    #[error(transparent)]
    Read(#[from] domain::read::ReadError),
    /// The track's start lies outside the supported calendar.
    #[error("{0}")]
    InvalidTimestamp(domain::time::TimeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking worker that reads or measures the track died (a bug).
    #[error("track worker failed: {0}")]
    Worker(String),
}

impl IngestError {
    /// The stable snake_case code of a user-caused error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read(e) => e.code(),
            Self::InvalidTimestamp(_) => "invalid_timestamp",
            Self::Store(_) | Self::Worker(_) => "internal",
        }
    }
}

/// The whole upload pipeline, shared by `POST /api/v1/patrols` and the demo
/// season so both are judged by the same rules: an earlier equal upload
/// (same file or idempotency key) → read (and GCJ-02 → WGS-84) → duplicate
/// candidates and the reaches assigned on the CST day (two queries at
/// once) → duplicate check, metrics, coverage, validity and flags ([`domain::patrol::assess`]) → [`insert`] (the patrol, its
/// coverage rows and the chief-week recount in one transaction). Returns
/// the patrol as the API shows it and whether it was created now; a new
/// patrol's is built from what was stored, not read back. CPU work runs on
/// the blocking pool so the async runtime keeps serving.
pub async fn ingest(pool: &PgPool, upload: Ingest<'_>) -> Result<Ingested, IngestError> {
    use sha2::{Digest, Sha256};
    let sha256 = Sha256::digest(&upload.bytes).to_vec();
    let chief =
        match upload_chief_unless_existing(pool, upload.chief_id, upload.idempotency_key, &sha256)
            .await?
        {
            Ok(chief) => chief,
            Err(id) => return Ok(Ingested::earlier(pool, id).await?),
        };
    let rules = domain::validity::RuleSet::from_json(&chief.rules.to_string()).unwrap_or_default();
    let (format, gcj02, gzip) = (upload.format, upload.gcj02, upload.gzip);
    let (track, bytes, probe) = blocking(move || {
        let track = read_wgs84(format, &upload.bytes, gcj02)?;
        let probe = Arc::new(DuplicateProbe::new(&track));
        Ok((track, upload.bytes, probe))
    })
    .await?;
    let started_at = track
        .started_at()
        .ok_or(domain::read::ReadError::TooFewPoints)?;
    let week =
        domain::time::IsoWeek::of_instant(started_at).map_err(IngestError::InvalidTimestamp)?;
    // Two queries on two connections at once.
    let (candidates, reaches) = tokio::try_join!(
        duplicate_candidates(pool, &probe),
        assigned_reaches(pool, &chief, domain::time::cst_date(started_at)),
    )?;
    let now = upload.now;
    let probe_for_check = Arc::clone(&probe);
    let (track, assessment, duplicate_of) = blocking(move || {
        let duplicate_of = candidates.first_copy(&probe_for_check);
        let assigned = domain::patrol::AssignedReach::all(&reaches);
        let assessment = domain::patrol::assess(&track, &assigned, &rules, duplicate_of, now);
        Ok((track, assessment, duplicate_of))
    })
    .await?;
    let new = NewPatrol {
        chief: &chief,
        uploaded_by: upload.uploaded_by,
        idempotency_key: upload.idempotency_key,
        original: gzip.as_deref().unwrap_or(&bytes),
        original_encoding: gzip.is_some().then_some("gzip"),
        original_sha256: &sha256,
        original_content_type: format.content_type(),
        coords: if gcj02 { "gcj02" } else { "wgs84" },
        notes: upload.notes,
        track: &track,
        week_start: week.monday(),
        fingerprint: &probe.fingerprint,
        boxes: probe.boxes.as_ref(),
        packed_positions: &probe.packed_positions,
        duplicate_of,
        assessment: &assessment,
        uploaded_at: now,
    };
    match insert(pool, new).await? {
        Stored::Created {
            id,
            uploaded_at,
            started_at,
            ended_at,
        } => Ok(Ingested {
            detail: new.detail(id, uploaded_at, started_at, ended_at),
            created: true,
        }),
        Stored::Existing(id) => Ok(Ingested::earlier(pool, id).await?),
    }
}

/// Reads a track file, with GCJ-02 coordinates (Chinese map apps) turned
/// into WGS-84 when `gcj02`.
fn read_wgs84(
    format: domain::read::TrackFormat,
    bytes: &[u8],
    gcj02: bool,
) -> Result<Track, domain::read::ReadError> {
    let mut track = domain::read::read_track(format, bytes)?;
    if gcj02 {
        domain::gcj02::track_gcj02_to_wgs84(&mut track);
    }
    Ok(track)
}

/// A chief an unnamed track file may belong to: their reach it covers best.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MatchCandidate {
    pub chief_id: i64,
    pub name: String,
    pub reach_id: i64,
    /// Share of the reach's length within the town's buffer of the track, 0..=1.
    pub coverage: f64,
}

/// The chiefs of `town_id` a track file may belong to, best first, for the
/// office's bulk upload of files chiefs sent in: the file read as an upload
/// reads it (same errors), then coverage as an upload computes it of every
/// reach assigned on the track's CST day to a chief in office that day.
/// Nothing is stored.
pub async fn match_chiefs(
    pool: &PgPool,
    town_id: i64,
    format: domain::read::TrackFormat,
    bytes: Vec<u8>,
    gcj02: bool,
) -> Result<Vec<MatchCandidate>, IngestError> {
    let track = blocking(move || Ok(read_wgs84(format, &bytes, gcj02)?)).await?;
    let started_at = track
        .started_at()
        .ok_or(domain::read::ReadError::TooFewPoints)?;
    let day = domain::time::cst_date(started_at);
    let ((_, rules), reaches) = tokio::try_join!(
        crate::rules::get(pool, town_id),
        town_assigned_reaches(pool, town_id, day),
    )?;
    blocking(move || {
        let chief_reaches: Vec<domain::patrol::ChiefReach> = reaches
            .iter()
            .map(|r| domain::patrol::ChiefReach {
                chief_id: r.chief_id,
                reach: domain::patrol::AssignedReach {
                    reach_id: r.reach_id,
                    geometry: &r.geometry,
                },
            })
            .collect();
        let ranked = domain::patrol::rank_chiefs(&track, &chief_reaches, rules.buffer_m);
        Ok(ranked
            .into_iter()
            .map(|m| MatchCandidate {
                chief_id: m.chief_id,
                name: reaches
                    .iter()
                    .find(|r| r.chief_id == m.chief_id)
                    .map(|r| r.chief_name.clone())
                    .unwrap_or_default(),
                reach_id: m.reach_id,
                coverage: m.coverage,
            })
            .collect())
    })
    .await
}

/// A reach assigned to a chief of the town on some day.
struct TownAssignment {
    chief_id: i64,
    chief_name: String,
    reach_id: i64,
    geometry: MultiLineString<f64>,
}

/// The reaches assigned on `day` (CST) to the chiefs of `town_id` in office
/// that day, as [`assigned_reaches`] reads one chief's (explicit
/// assignments only: a town chief without any would match every track).
async fn town_assigned_reaches(
    pool: &PgPool,
    town_id: i64,
    day: NaiveDate,
) -> crate::Result<Vec<TownAssignment>> {
    let rows: Vec<(i64, String, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT c.id, c.name, r.id, ST_AsBinary(r.geom)
         FROM assignments a JOIN chiefs c ON c.id = a.chief_id JOIN reaches r ON r.id = a.reach_id
         WHERE a.town_id = $1 AND a.from_date <= $2 AND (a.to_date IS NULL OR a.to_date >= $2)
           AND c.appointed_on <= $2 AND (c.left_on IS NULL OR c.left_on >= $2)
         ORDER BY c.id, r.id",
    )
    .bind(town_id)
    .bind(day)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(chief_id, chief_name, reach_id, wkb)| {
            Ok(TownAssignment {
                chief_id,
                chief_name,
                reach_id,
                geometry: multi_line_string(&wkb)?,
            })
        })
        .collect()
}

/// An ingested upload: the patrol, and whether it was created now (`false`:
/// the chief had uploaded this file or idempotency key before).
#[derive(Debug, Clone)]
pub struct Ingested {
    pub detail: PatrolDetail,
    pub created: bool,
}

impl Ingested {
    async fn earlier(pool: &PgPool, id: i64) -> crate::Result<Self> {
        Ok(Self {
            detail: detail(pool, id).await?,
            created: false,
        })
    }
}

/// Runs an upload's CPU work on the blocking pool, at most one piece per
/// core at a time, first come first served. Eight uploads sharing two
/// cores all finish late; taking turns, each runs at full speed and the
/// slowest answers come sooner (same throughput, shorter tail).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, IngestError> + Send + 'static,
) -> Result<T, IngestError> {
    static TURNS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    let _turn = TURNS
        .acquire()
        .await
        .map_err(|e| IngestError::Worker(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| IngestError::Worker(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_copy_drops_points_within_the_tolerance() {
        let t0 = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        // A straight walk with a 1 m wiggle, then a 90° turn.
        let points = (0..200)
            .map(|i| {
                let (lon, lat) = if i < 100 {
                    (103.1 + f64::from(i) * 1e-5, 25.3 + f64::from(i % 2) * 1e-5)
                } else {
                    (103.101, 25.3 + f64::from(i - 100) * 1e-5)
                };
                domain::TrackPoint {
                    lon,
                    lat,
                    ele: None,
                    time: t0 + chrono::Duration::seconds(i64::from(i)),
                }
            })
            .collect();
        let track = Track {
            points,
            ..Track::default()
        };
        let wkb = encode_simplified(&track);
        let Ok(geo::Geometry::LineString(line)) = geozero::wkb::Wkb(wkb).to_geo() else {
            panic!("not a LineString");
        };
        assert!((3..=4).contains(&line.0.len()), "{:?}", line.0);
        assert_eq!(line.0[0], geo::coord! { x: 103.1, y: 25.3 });
        let last = line.0[line.0.len() - 1];
        assert!(
            last.x == 103.101 && (last.y - 25.30099).abs() < 1e-12,
            "{last:?}"
        );
    }

    #[test]
    fn track_wkb_round_trips_with_times() {
        let t0 = DateTime::from_timestamp(1_780_000_000, 500_000_000).unwrap();
        let track = Track {
            points: (0..3)
                .map(|i| domain::TrackPoint {
                    lon: 103.1 + f64::from(i) * 1e-4,
                    lat: 25.3,
                    ele: None,
                    time: t0 + chrono::Duration::seconds(i64::from(i)),
                })
                .collect(),
            ..Track::default()
        };
        let back = decode_track_m(&encode_track_m(&track)).unwrap();
        assert_eq!(back.points, track.points);
    }
}
