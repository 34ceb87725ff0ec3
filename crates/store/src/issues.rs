//! Problems on the river: categories, creating an issue (snapped to the
//! nearest reach), photos, the transition log, and the queries behind the
//! API lists and the public Open311 view.
//!
//! Transitions are serialised per issue: [`lock`] takes the row lock
//! (`SELECT … FOR UPDATE`) inside the caller's transaction, so of two
//! concurrent transitions the second sees the state the first left and is
//! judged against it.

use chrono::{DateTime, Utc};
use domain::issues::{Action, DeadlinePolicy, Level, Source, Status};
use serde::Serialize;
use sqlx::{PgConnection, Row};
use utoipa::ToSchema;

use crate::StoreError;

/// An issue is snapped to a reach no farther than this.
pub const SNAP_DISTANCE_M: f64 = 500.0;
/// A public request belongs to the town with a reach this close.
pub const TOWN_DISTANCE_M: f64 = 5_000.0;

// ---------------------------------------------------------------- categories

/// An issue category (an Open311 service).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Category {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub sort: i32,
    /// The town that defined or renamed it; null for the defaults.
    pub town_id: Option<i64>,
}

/// The categories in force for a town: its own rows override the defaults
/// (`town_id` NULL) with the same code and add new codes. Without a town,
/// the defaults.
pub async fn categories(
    conn: &mut PgConnection,
    town: Option<i64>,
) -> crate::Result<Vec<Category>> {
    Ok(sqlx::query_as(
        "SELECT code, name_zh, name_en, sort, town_id FROM (
             SELECT DISTINCT ON (code) code, name_zh, name_en, sort, town_id
             FROM issue_categories
             WHERE town_id IS NULL OR town_id = $1
             ORDER BY code, town_id NULLS LAST) c
         ORDER BY sort, code",
    )
    .bind(town)
    .fetch_all(conn)
    .await?)
}

/// One category in force for a town, if the code is known there.
pub async fn category(
    conn: &mut PgConnection,
    town: Option<i64>,
    code: &str,
) -> crate::Result<Option<Category>> {
    Ok(sqlx::query_as(
        "SELECT code, name_zh, name_en, sort, town_id FROM issue_categories
         WHERE code = $2 AND (town_id IS NULL OR town_id = $1)
         ORDER BY town_id NULLS LAST LIMIT 1",
    )
    .bind(town)
    .bind(code)
    .fetch_optional(conn)
    .await?)
}

// ------------------------------------------------------------------- places

/// Where an issue lands: the nearest reach within [`SNAP_DISTANCE_M`], its
/// village, and the chief assigned to that reach today (CST).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Snap {
    pub reach_id: Option<i64>,
    pub village_id: Option<i64>,
    /// The natural assignee: the chief in office assigned to the reach today.
    pub chief_id: Option<i64>,
    pub distance_m: Option<f64>,
}

/// Snaps a point to the nearest reach of a town. Distances are geodesic
/// (geography); the `&&` on a box of ±0.05° (≥ 5 km at 25°N… 2 km at 80°N)
/// lets the GiST index pick the candidates first.
pub async fn snap(
    conn: &mut PgConnection,
    town_id: i64,
    lon: f64,
    lat: f64,
) -> crate::Result<Snap> {
    let row = sqlx::query(
        "WITH p AS (SELECT ST_SetSRID(ST_MakePoint($2, $3), 4326) AS g)
         SELECT r.id, r.village_id, ST_Distance(r.geom::geography, p.g::geography) AS d,
                (SELECT a.chief_id FROM assignments a JOIN chiefs c ON c.id = a.chief_id
                 WHERE a.reach_id = r.id
                   AND a.from_date <= (now() AT TIME ZONE 'Asia/Shanghai')::date
                   AND (a.to_date IS NULL OR a.to_date >= (now() AT TIME ZONE 'Asia/Shanghai')::date)
                   AND c.appointed_on <= (now() AT TIME ZONE 'Asia/Shanghai')::date
                   AND (c.left_on IS NULL OR c.left_on >= (now() AT TIME ZONE 'Asia/Shanghai')::date)
                 ORDER BY (c.level = 'village') DESC, a.from_date DESC, a.id DESC LIMIT 1) AS chief_id
         FROM reaches r, p
         WHERE r.town_id = $1 AND r.geom && ST_Expand(p.g, 0.05)
           AND ST_DWithin(r.geom::geography, p.g::geography, $4)
         ORDER BY d, r.id LIMIT 1",
    )
    .bind(town_id)
    .bind(lon)
    .bind(lat)
    .bind(SNAP_DISTANCE_M)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(row) => Snap {
            reach_id: Some(row.try_get("id")?),
            village_id: row.try_get("village_id")?,
            chief_id: row.try_get("chief_id")?,
            distance_m: Some(row.try_get("d")?),
        },
        None => Snap::default(),
    })
}

/// The town whose reaches come nearest to a point, within `within_m`.
pub async fn town_near(
    conn: &mut PgConnection,
    lon: f64,
    lat: f64,
    within_m: f64,
) -> crate::Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS g)
         SELECT r.town_id FROM reaches r, p
         WHERE r.geom && ST_Expand(p.g, 0.5)
           AND ST_DWithin(r.geom::geography, p.g::geography, $3)
         ORDER BY ST_Distance(r.geom::geography, p.g::geography), r.id LIMIT 1",
    )
    .bind(lon)
    .bind(lat)
    .bind(within_m)
    .fetch_optional(conn)
    .await?)
}

/// The only town, when there is exactly one.
pub async fn only_town(conn: &mut PgConnection) -> crate::Result<Option<i64>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM towns ORDER BY id LIMIT 2")
        .fetch_all(conn)
        .await?;
    Ok(match ids.as_slice() {
        [one] => Some(*one),
        _ => None,
    })
}

/// A town by its 9-digit code.
pub async fn town_by_code(conn: &mut PgConnection, code: &str) -> crate::Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM towns WHERE code = $1")
        .bind(code)
        .fetch_optional(conn)
        .await?)
}

/// A place found from words: a village named in an address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddressPlace {
    pub town_id: i64,
    pub lon: f64,
    pub lat: f64,
}

/// Finds the village named in `address` (the longest village name it
/// contains, within `town` if given) and answers the middle of that
/// village's first reach. This is no geocoder: it only lets "大村村河边"
/// land on 大村村's reach when the public sends no coordinates.
pub async fn locate_address(
    conn: &mut PgConnection,
    town: Option<i64>,
    address: &str,
) -> crate::Result<Option<AddressPlace>> {
    let row = sqlx::query(
        "SELECT v.town_id, ST_X(p) AS lon, ST_Y(p) AS lat FROM villages v
         JOIN LATERAL (SELECT ST_LineInterpolatePoint(ST_GeometryN(r.geom, 1), 0.5) AS p
                       FROM reaches r WHERE r.village_id = v.id ORDER BY r.code LIMIT 1) m ON true
         WHERE ($1::bigint IS NULL OR v.town_id = $1)
           AND strpos($2, v.name) > 0
         ORDER BY char_length(v.name) DESC, v.code LIMIT 1",
    )
    .bind(town)
    .bind(address)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(AddressPlace {
            town_id: row.try_get("town_id")?,
            lon: row.try_get("lon")?,
            lat: row.try_get("lat")?,
        })
    })
    .transpose()
}

/// The deadline policy of a town (its `rules` overrides on the defaults).
pub async fn deadline_policy(
    conn: &mut PgConnection,
    town_id: i64,
) -> crate::Result<DeadlinePolicy> {
    let rules: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT rules FROM towns WHERE id = $1")
            .bind(town_id)
            .fetch_optional(conn)
            .await?;
    Ok(rules
        .map(|r| DeadlinePolicy::from_rules(&r))
        .unwrap_or_default())
}

/// The chief a patrol belongs to and its town.
pub async fn patrol_owner(
    conn: &mut PgConnection,
    patrol_id: i64,
) -> crate::Result<Option<(i64, i64)>> {
    Ok(
        sqlx::query_as("SELECT town_id, chief_id FROM patrols WHERE id = $1")
            .bind(patrol_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// A chief who may be assigned an issue of `town_id`: of that town and in
/// office today (CST).
pub async fn assignable_chief(
    conn: &mut PgConnection,
    town_id: i64,
    chief_id: i64,
) -> crate::Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM chiefs WHERE id = $1 AND town_id = $2
             AND appointed_on <= (now() AT TIME ZONE 'Asia/Shanghai')::date
             AND (left_on IS NULL OR left_on >= (now() AT TIME ZONE 'Asia/Shanghai')::date))",
    )
    .bind(chief_id)
    .bind(town_id)
    .fetch_one(conn)
    .await?)
}

// ------------------------------------------------------------------- create

/// Where a location came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationSource {
    Given,
    Exif,
    Address,
}

impl LocationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::Exif => "exif",
            Self::Address => "address",
        }
    }
}

/// A new issue, checked by the caller (category known, patrol allowed).
#[derive(Debug, Clone)]
pub struct NewIssue {
    pub town_id: i64,
    pub category: String,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    pub location_source: LocationSource,
    pub source: Source,
    pub patrol_id: Option<i64>,
    pub reporter_user_id: Option<i64>,
    /// Public reporters only; never shown by any API.
    pub reporter_contact: Option<serde_json::Value>,
    pub address: Option<String>,
    pub external_media_url: Option<String>,
    /// The client's Idempotency-Key: a second report with the same key from
    /// the same user is the first one.
    pub idempotency_key: Option<String>,
}

/// What [`create`] did: stored a new issue, or found the one an earlier
/// request with the same Idempotency-Key stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    pub id: i64,
    pub existing: bool,
}

/// The issue `user_id` reported with Idempotency-Key `key`, if any.
pub async fn by_idempotency_key(
    conn: &mut PgConnection,
    user_id: i64,
    key: &str,
) -> crate::Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM issues WHERE reporter_user_id = $1 AND idempotency_key = $2",
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

/// A stored photo file, to be recorded with its issue.
#[derive(Debug, Clone)]
pub struct NewPhoto {
    /// Lower-case hex SHA-256 of the original bytes.
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// (lon, lat) from the photo's EXIF GPS.
    pub exif_location: Option<(f64, f64)>,
}

/// Creates an issue with its photos, its first history event and an audit
/// entry, in the caller's transaction: snapped to the nearest reach within
/// [`SNAP_DISTANCE_M`] (then handled at village level, with the reach's
/// chief as the assignee candidate) or else handled by the town.
pub async fn create(
    conn: &mut PgConnection,
    new: &NewIssue,
    photos: &[NewPhoto],
) -> crate::Result<Created> {
    let snap = snap(conn, new.town_id, new.lon, new.lat).await?;
    let level = if snap.reach_id.is_some() {
        Level::Village
    } else {
        Level::Town
    };
    let policy = deadline_policy(conn, new.town_id).await?;
    let now = Utc::now();
    let deadline = policy.deadline(level, now);
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO issues (town_id, category, description, location, reach_id, village_id,
                             level, source, status, assignee_id, patrol_id, reporter_user_id,
                             reporter_contact, deadline, created_at, updated_at,
                             location_source, address, external_media_url, idempotency_key)
         VALUES ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8, $9, 'reported',
                 $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19)
         ON CONFLICT (reporter_user_id, idempotency_key) WHERE idempotency_key IS NOT NULL
         DO NOTHING
         RETURNING id",
    )
    .bind(new.town_id)
    .bind(&new.category)
    .bind(&new.description)
    .bind(new.lon)
    .bind(new.lat)
    .bind(snap.reach_id)
    .bind(snap.village_id)
    .bind(level.as_str())
    .bind(new.source.as_str())
    .bind(snap.chief_id)
    .bind(new.patrol_id)
    .bind(new.reporter_user_id)
    .bind(&new.reporter_contact)
    .bind(deadline)
    .bind(now)
    .bind(new.location_source.as_str())
    .bind(&new.address)
    .bind(&new.external_media_url)
    .bind(&new.idempotency_key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = inserted else {
        // A request with the same Idempotency-Key got here first (it raced
        // the handler's check before the insert): that report stands.
        let earlier = match (new.reporter_user_id, &new.idempotency_key) {
            (Some(user), Some(key)) => by_idempotency_key(conn, user, key).await?,
            _ => None,
        };
        return earlier
            .map(|id| Created { id, existing: true })
            .ok_or_else(|| {
                StoreError::Conflict("the report could not be stored; send it again".into())
            });
    };
    for p in photos {
        sqlx::query(
            "INSERT INTO photos (issue_id, town_id, sha256, content_type, size_bytes, width, height,
                                 exif_location)
             VALUES ($1, $2, $3, $4, $5, $6, $7,
                     CASE WHEN $8::float8 IS NULL THEN NULL
                          ELSE ST_SetSRID(ST_MakePoint($8, $9), 4326) END)",
        )
        .bind(id)
        .bind(new.town_id)
        .bind(&p.sha256)
        .bind(&p.content_type)
        .bind(p.size_bytes)
        .bind(p.width)
        .bind(p.height)
        .bind(p.exif_location.map(|l| l.0))
        .bind(p.exif_location.map(|l| l.1))
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "INSERT INTO issue_events (issue_id, town_id, at, actor_user_id, action, from_status,
                                   to_status, assignee_id)
         VALUES ($1, $2, $3, $4, 'report', NULL, 'reported', $5)",
    )
    .bind(id)
    .bind(new.town_id)
    .bind(now)
    .bind(new.reporter_user_id)
    .bind(snap.chief_id)
    .execute(&mut *conn)
    .await?;
    crate::audit::record(
        conn,
        crate::audit::AuditEntry {
            town_id: Some(new.town_id),
            user_id: new.reporter_user_id,
            action: "create",
            entity: "issue",
            entity_id: Some(id),
            // Never the reporter's contact details.
            details: serde_json::json!({
                "source": new.source.as_str(), "category": new.category,
                "level": level.as_str(), "reach_id": snap.reach_id,
                "village_id": snap.village_id, "photos": photos.len(),
            }),
        },
    )
    .await?;
    Ok(Created {
        id,
        existing: false,
    })
}

// -------------------------------------------------------------------- read

/// An issue as stored (without its history and photos).
#[derive(Debug, Clone)]
pub struct IssueRecord {
    pub id: i64,
    pub town_id: i64,
    pub status: Status,
    pub category: String,
    pub category_name: Option<String>,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    pub location_source: String,
    pub address: Option<String>,
    pub reach_id: Option<i64>,
    pub village_id: Option<i64>,
    pub level: Level,
    pub source: Source,
    pub assignee_id: Option<i64>,
    pub patrol_id: Option<i64>,
    pub reporter_user_id: Option<i64>,
    /// Whether contact details of a public reporter are kept (not what they are).
    pub has_reporter_contact: bool,
    pub external_media_url: Option<String>,
    pub deadline: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Closed by `reject`.
    pub rejected: bool,
    pub town_name: String,
    pub village_name: Option<String>,
}

// `reporter_contact` itself is never selected: only whether it exists.
const ISSUE_SELECT: &str = "
    SELECT i.id, i.town_id, i.status, i.category, cat.name_zh AS category_name, i.description,
           ST_X(i.location) AS lon, ST_Y(i.location) AS lat, i.location_source, i.address,
           i.reach_id, i.village_id, i.level, i.source, i.assignee_id, i.patrol_id,
           i.reporter_user_id, i.reporter_contact IS NOT NULL AS has_reporter_contact,
           i.external_media_url, i.deadline, i.resolved_at, i.closed_at, i.created_at,
           i.updated_at, t.name AS town_name, v.name AS village_name,
           (i.status = 'closed' AND EXISTS (SELECT 1 FROM issue_events e
                WHERE e.issue_id = i.id AND e.action = 'reject')) AS rejected
    FROM issues i
    JOIN towns t ON t.id = i.town_id
    LEFT JOIN villages v ON v.id = i.village_id
    LEFT JOIN LATERAL (SELECT c.name_zh FROM issue_categories c
                       WHERE c.code = i.category AND (c.town_id IS NULL OR c.town_id = i.town_id)
                       ORDER BY c.town_id NULLS LAST LIMIT 1) cat ON true";

fn issue_record(row: &sqlx::postgres::PgRow) -> Result<IssueRecord, sqlx::Error> {
    let text = |col: &str| row.try_get::<String, _>(col);
    let bad = |col: &str, v: String| sqlx::Error::Decode(format!("issues.{col} = {v:?}").into());
    let status = text("status")?;
    let level = text("level")?;
    let source = text("source")?;
    Ok(IssueRecord {
        id: row.try_get("id")?,
        town_id: row.try_get("town_id")?,
        status: Status::parse(&status).ok_or_else(|| bad("status", status.clone()))?,
        category: row.try_get("category")?,
        category_name: row.try_get("category_name")?,
        description: row.try_get("description")?,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        location_source: row.try_get("location_source")?,
        address: row.try_get("address")?,
        reach_id: row.try_get("reach_id")?,
        village_id: row.try_get("village_id")?,
        level: Level::parse(&level).ok_or_else(|| bad("level", level.clone()))?,
        source: Source::parse(&source).ok_or_else(|| bad("source", source.clone()))?,
        assignee_id: row.try_get("assignee_id")?,
        patrol_id: row.try_get("patrol_id")?,
        reporter_user_id: row.try_get("reporter_user_id")?,
        has_reporter_contact: row.try_get("has_reporter_contact")?,
        external_media_url: row.try_get("external_media_url")?,
        deadline: row.try_get("deadline")?,
        resolved_at: row.try_get("resolved_at")?,
        closed_at: row.try_get("closed_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        rejected: row.try_get("rejected")?,
        town_name: row.try_get("town_name")?,
        village_name: row.try_get("village_name")?,
    })
}

/// What a caller may see: a town (None: every town), and for a village
/// chief only their village's issues, the ones assigned to them and the
/// ones they reported themselves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Visibility {
    pub town_id: Option<i64>,
    pub village_chief: Option<VillageChief>,
}

/// A village chief's account, as far as visibility goes.
#[derive(Debug, Clone, Copy)]
pub struct VillageChief {
    pub village_id: i64,
    pub chief_id: i64,
    pub user_id: i64,
}

impl Visibility {
    /// Whether an issue is within this visibility.
    pub fn sees(&self, issue: &IssueRecord) -> bool {
        self.town_id.is_none_or(|t| t == issue.town_id)
            && self.village_chief.is_none_or(|v| {
                issue.village_id == Some(v.village_id)
                    || issue.assignee_id == Some(v.chief_id)
                    || issue.reporter_user_id == Some(v.user_id)
            })
    }
}

/// One issue, whoever may see it (the caller checks [`Visibility::sees`]).
pub async fn get(conn: &mut PgConnection, id: i64) -> crate::Result<IssueRecord> {
    let sql = format!("{ISSUE_SELECT} WHERE i.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound("issue"))?;
    Ok(issue_record(&row)?)
}

/// Filters of the issue list.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    pub status: Option<Status>,
    pub village_id: Option<i64>,
    pub category: Option<String>,
    /// Only overdue issues (see [`domain::issues::is_overdue`]).
    pub overdue: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Issues within a visibility, newest first.
pub async fn list(
    conn: &mut PgConnection,
    visibility: Visibility,
    filter: &IssueFilter,
) -> crate::Result<Vec<IssueRecord>> {
    let v = visibility.village_chief;
    // The overdue test repeats domain::issues::is_overdue in SQL so the
    // partial index issues_open_deadline_idx can serve it.
    let sql = format!(
        "{ISSUE_SELECT}
         WHERE ($1::bigint IS NULL OR i.town_id = $1)
           AND ($2::bigint IS NULL OR i.village_id = $2 OR i.assignee_id = $3
                OR i.reporter_user_id = $10)
           AND ($4::text IS NULL OR i.status = $4)
           AND ($5::bigint IS NULL OR i.village_id = $5)
           AND ($6::text IS NULL OR i.category = $6)
           AND (NOT $7 OR (i.status IN ('reported', 'assigned', 'in_progress') AND i.deadline < now()))
         ORDER BY i.created_at DESC, i.id DESC
         LIMIT $8 OFFSET $9"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(visibility.town_id)
        .bind(v.map(|v| v.village_id))
        .bind(v.map(|v| v.chief_id))
        .bind(filter.status.map(Status::as_str))
        .bind(filter.village_id)
        .bind(filter.category.as_deref())
        .bind(filter.overdue)
        .bind(filter.limit)
        .bind(filter.offset)
        .bind(v.map(|v| v.user_id))
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(issue_record).collect::<Result<_, _>>()?)
}

/// One entry of an issue's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Event {
    pub id: i64,
    #[serde(skip)]
    pub issue_id: i64,
    pub at: DateTime<Utc>,
    /// `report` for the creation, else the transition's action.
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub actor_user_id: Option<i64>,
    /// The actor's login (null for the public).
    pub actor: Option<String>,
    /// The assignee after the event.
    pub assignee_id: Option<i64>,
}

/// The histories of some issues, oldest event first.
pub async fn events(conn: &mut PgConnection, issue_ids: &[i64]) -> crate::Result<Vec<Event>> {
    Ok(sqlx::query_as(
        "SELECT e.id, e.issue_id, e.at, e.action, e.from_status, e.to_status, e.note,
                e.actor_user_id, u.login AS actor, e.assignee_id
         FROM issue_events e LEFT JOIN users u ON u.id = e.actor_user_id
         WHERE e.issue_id = ANY($1) ORDER BY e.issue_id, e.at, e.id",
    )
    .bind(issue_ids)
    .fetch_all(conn)
    .await?)
}

/// A photo of an issue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PhotoRecord {
    pub id: i64,
    pub issue_id: i64,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub exif_lon: Option<f64>,
    pub exif_lat: Option<f64>,
}

const PHOTO_SELECT: &str = "SELECT id, issue_id, sha256, content_type, size_bytes, width, height,
        ST_X(exif_location) AS exif_lon, ST_Y(exif_location) AS exif_lat FROM photos";

/// The photos of some issues, in upload order.
pub async fn photos(conn: &mut PgConnection, issue_ids: &[i64]) -> crate::Result<Vec<PhotoRecord>> {
    let sql = format!("{PHOTO_SELECT} WHERE issue_id = ANY($1) ORDER BY issue_id, id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(issue_ids)
        .fetch_all(conn)
        .await?)
}

/// One photo.
pub async fn photo(conn: &mut PgConnection, photo_id: i64) -> crate::Result<PhotoRecord> {
    let sql = format!("{PHOTO_SELECT} WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(photo_id)
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound("photo"))
}

/// Whether any photo row refers to a file (before removing it).
pub async fn photo_file_in_use(conn: &mut PgConnection, sha256: &str) -> crate::Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM photos WHERE sha256 = $1)")
            .bind(sha256)
            .fetch_one(conn)
            .await?,
    )
}

// -------------------------------------------------------------- transitions

/// Locks an issue for a transition (until the transaction ends) and reads
/// it. Another transaction locking the same issue waits here.
pub async fn lock(conn: &mut PgConnection, id: i64) -> crate::Result<IssueRecord> {
    sqlx::query("SELECT id FROM issues WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("issue"))?;
    get(conn, id).await
}

/// A transition decided by the caller (state machine and permissions).
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub action: Action,
    pub actor_user_id: i64,
    pub from: Status,
    pub to: Status,
    pub level: Level,
    pub assignee_id: Option<i64>,
    pub deadline: Option<DateTime<Utc>>,
    pub note: Option<&'a str>,
}

/// Applies a transition to a locked issue: the row, a history event and
/// an audit entry.
pub async fn apply(
    conn: &mut PgConnection,
    issue: &IssueRecord,
    t: &Transition<'_>,
) -> crate::Result<()> {
    let now = Utc::now();
    sqlx::query(
        "UPDATE issues SET status = $2, level = $3, assignee_id = $4, deadline = $5,
                resolved_at = CASE WHEN $2 = 'resolved' THEN $6 ELSE resolved_at END,
                closed_at = CASE WHEN $2 = 'closed' THEN $6 ELSE NULL END,
                updated_at = $6
         WHERE id = $1",
    )
    .bind(issue.id)
    .bind(t.to.as_str())
    .bind(t.level.as_str())
    .bind(t.assignee_id)
    .bind(t.deadline)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO issue_events (issue_id, town_id, at, actor_user_id, action, from_status,
                                   to_status, note, assignee_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(issue.id)
    .bind(issue.town_id)
    .bind(now)
    .bind(t.actor_user_id)
    .bind(t.action.as_str())
    .bind(t.from.as_str())
    .bind(t.to.as_str())
    .bind(t.note)
    .bind(t.assignee_id)
    .execute(&mut *conn)
    .await?;
    crate::audit::record(
        conn,
        crate::audit::AuditEntry {
            town_id: Some(issue.town_id),
            user_id: Some(t.actor_user_id),
            action: t.action.as_str(),
            entity: "issue",
            entity_id: Some(issue.id),
            details: serde_json::json!({
                "from": t.from.as_str(), "to": t.to.as_str(),
                "level_from": issue.level.as_str(), "level_to": t.level.as_str(),
                "assignee_id": t.assignee_id, "note": t.note,
            }),
        },
    )
    .await
}

// ------------------------------------------------------------------ Open311

/// Filters of the public request list.
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    /// Only these ids (then the date range does not apply).
    pub ids: Option<Vec<i64>>,
    pub service_code: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// `Some(true)`: open only; `Some(false)`: closed only.
    pub open: Option<bool>,
    pub limit: i64,
}

/// Issues for the public list, newest first, with their first photo id.
pub async fn public_list(
    conn: &mut PgConnection,
    filter: &PublicFilter,
) -> crate::Result<Vec<(IssueRecord, Option<i64>)>> {
    let sql = format!(
        "SELECT * FROM ({ISSUE_SELECT}
           WHERE ($1::bigint[] IS NULL OR i.id = ANY($1))
             AND ($2::text IS NULL OR i.category = $2)
             AND ($3::timestamptz IS NULL OR i.created_at >= $3)
             AND ($4::timestamptz IS NULL OR i.created_at <= $4)
             AND ($5::boolean IS NULL OR (i.status <> 'closed') = $5)
           ORDER BY i.created_at DESC, i.id DESC LIMIT $6) q
         LEFT JOIN LATERAL (SELECT min(p.id) AS first_photo_id FROM photos p
                            WHERE p.issue_id = q.id) ph ON true
         ORDER BY q.created_at DESC, q.id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.ids.as_deref())
        .bind(filter.service_code.as_deref())
        .bind(filter.start)
        .bind(filter.end)
        .bind(filter.open)
        .bind(filter.limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| Ok((issue_record(row)?, row.try_get("first_photo_id")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}
