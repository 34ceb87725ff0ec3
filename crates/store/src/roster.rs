//! The roster: towns, villages, party branches, rivers, reaches, chiefs and
//! their reach assignments. Lists are scoped to a town when the caller
//! belongs to one (`town_id = None` means every town).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Town {
    pub id: i64,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Village {
    pub id: i64,
    pub town_id: i64,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Branch {
    pub id: i64,
    pub town_id: i64,
    pub village_id: Option<i64>,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct River {
    pub id: i64,
    pub town_id: i64,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Chief {
    pub id: i64,
    pub town_id: i64,
    pub code: String,
    pub name: String,
    pub phone: Option<String>,
    /// `town` (大河长) or `village` (小河长).
    pub level: String,
    pub village_id: Option<i64>,
    pub village_name: Option<String>,
    pub branch_id: Option<i64>,
    pub appointed_on: NaiveDate,
    /// Last day in office, inclusive.
    pub left_on: Option<NaiveDate>,
    /// Reaches assigned today (CST).
    pub reach_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Assignment {
    pub id: i64,
    pub town_id: i64,
    pub chief_id: i64,
    pub reach_id: i64,
    /// First day (inclusive).
    #[serde(rename = "from")]
    pub from_date: NaiveDate,
    /// Last day (inclusive); null while open.
    #[serde(rename = "to")]
    pub to_date: Option<NaiveDate>,
}

/// A reach as a GeoJSON Feature (RFC 7946: lon, lat).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReachFeature {
    #[serde(rename = "type")]
    #[schema(example = "Feature")]
    pub kind: &'static str,
    pub id: i64,
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
    pub properties: ReachProperties,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ReachProperties {
    pub id: i64,
    pub town_id: i64,
    pub code: String,
    pub name: String,
    pub river_id: i64,
    pub river_name: String,
    pub village_id: Option<i64>,
    pub village_name: Option<String>,
    /// Geodesic length in metres.
    pub length_m: f64,
}

/// A collection of reaches (GeoJSON FeatureCollection).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReachCollection {
    #[serde(rename = "type")]
    #[schema(example = "FeatureCollection")]
    pub kind: &'static str,
    pub features: Vec<ReachFeature>,
}

pub async fn towns(pool: &PgPool, town: Option<i64>) -> crate::Result<Vec<Town>> {
    Ok(sqlx::query_as(
        "SELECT id, code, name FROM towns WHERE $1::bigint IS NULL OR id = $1 ORDER BY code",
    )
    .bind(town)
    .fetch_all(pool)
    .await?)
}

pub async fn villages(pool: &PgPool, town: Option<i64>) -> crate::Result<Vec<Village>> {
    Ok(sqlx::query_as(
        "SELECT id, town_id, code, name FROM villages
         WHERE $1::bigint IS NULL OR town_id = $1 ORDER BY code",
    )
    .bind(town)
    .fetch_all(pool)
    .await?)
}

pub async fn branches(pool: &PgPool, town: Option<i64>) -> crate::Result<Vec<Branch>> {
    Ok(sqlx::query_as(
        "SELECT id, town_id, village_id, code, name FROM branches
         WHERE $1::bigint IS NULL OR town_id = $1 ORDER BY code",
    )
    .bind(town)
    .fetch_all(pool)
    .await?)
}

pub async fn rivers(pool: &PgPool, town: Option<i64>) -> crate::Result<Vec<River>> {
    Ok(sqlx::query_as(
        "SELECT id, town_id, code, name FROM rivers
         WHERE $1::bigint IS NULL OR town_id = $1 ORDER BY code",
    )
    .bind(town)
    .fetch_all(pool)
    .await?)
}

const CHIEF_SELECT: &str = "
    SELECT c.id, c.town_id, c.code, c.name, c.phone, c.level, c.village_id,
           v.name AS village_name, c.branch_id, c.appointed_on, c.left_on,
           COALESCE((SELECT array_agg(a.reach_id ORDER BY a.reach_id) FROM assignments a
                     WHERE a.chief_id = c.id
                       AND a.from_date <= (now() AT TIME ZONE 'Asia/Shanghai')::date
                       AND (a.to_date IS NULL OR a.to_date >= (now() AT TIME ZONE 'Asia/Shanghai')::date)),
                    '{}') AS reach_ids
    FROM chiefs c LEFT JOIN villages v ON v.id = c.village_id";

/// Chiefs, filtered by town and optionally village.
pub async fn chiefs(
    pool: &PgPool,
    town: Option<i64>,
    village: Option<i64>,
) -> crate::Result<Vec<Chief>> {
    let sql = format!(
        "{CHIEF_SELECT} WHERE ($1::bigint IS NULL OR c.town_id = $1)
           AND ($2::bigint IS NULL OR c.village_id = $2)
         ORDER BY c.level DESC, c.code"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(town)
        .bind(village)
        .fetch_all(pool)
        .await?)
}

pub async fn chief(db: impl sqlx::PgExecutor<'_>, id: i64) -> crate::Result<Chief> {
    let sql = format!("{CHIEF_SELECT} WHERE c.id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(crate::StoreError::NotFound("chief"))
}

const REACH_SELECT: &str = "
    SELECT ST_AsGeoJSON(r.geom, 7)::jsonb AS geometry, r.id, r.town_id, r.code, r.name,
           r.river_id, rv.name AS river_name, r.village_id, v.name AS village_name, r.length_m
    FROM reaches r JOIN rivers rv ON rv.id = r.river_id
    LEFT JOIN villages v ON v.id = r.village_id";

fn reach_feature(row: sqlx::postgres::PgRow) -> Result<ReachFeature, sqlx::Error> {
    use sqlx::{FromRow, Row};
    let properties = ReachProperties::from_row(&row)?;
    Ok(ReachFeature {
        kind: "Feature",
        id: properties.id,
        geometry: row.try_get("geometry")?,
        properties,
    })
}

/// Reaches as GeoJSON, filtered by town and optionally village.
pub async fn reaches(
    pool: &PgPool,
    town: Option<i64>,
    village: Option<i64>,
) -> crate::Result<ReachCollection> {
    let sql = format!(
        "{REACH_SELECT} WHERE ($1::bigint IS NULL OR r.town_id = $1)
           AND ($2::bigint IS NULL OR r.village_id = $2) ORDER BY r.code"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(town)
        .bind(village)
        .fetch_all(pool)
        .await?;
    let features = rows
        .into_iter()
        .map(reach_feature)
        .collect::<Result<_, _>>()?;
    Ok(ReachCollection {
        kind: "FeatureCollection",
        features,
    })
}

pub async fn reach(db: impl sqlx::PgExecutor<'_>, id: i64) -> crate::Result<ReachFeature> {
    let sql = format!("{REACH_SELECT} WHERE r.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(crate::StoreError::NotFound("reach"))?;
    Ok(reach_feature(row)?)
}

pub async fn assignments(
    pool: &PgPool,
    town: Option<i64>,
    chief: Option<i64>,
) -> crate::Result<Vec<Assignment>> {
    Ok(sqlx::query_as(
        "SELECT id, town_id, chief_id, reach_id, from_date, to_date FROM assignments
         WHERE ($1::bigint IS NULL OR town_id = $1) AND ($2::bigint IS NULL OR chief_id = $2)
         ORDER BY chief_id, from_date, reach_id",
    )
    .bind(town)
    .bind(chief)
    .fetch_all(pool)
    .await?)
}

/// Creates a town (admin without a town only; a town's own roster comes by import).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTown {
    pub code: String,
    pub name: String,
}

pub async fn create_town(pool: &PgPool, new: &NewTown) -> crate::Result<Town> {
    if new.code.len() != 9 || !new.code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(crate::StoreError::invalid(
            "code",
            "must be a 9-digit administrative code",
        ));
    }
    domain::import::check_name("name", &new.name)?;
    sqlx::query_as("INSERT INTO towns (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING RETURNING id, code, name")
        .bind(&new.code)
        .bind(new.name.trim())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| crate::StoreError::Conflict(format!("town {} exists", new.code)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAssignment {
    pub chief_id: i64,
    pub reach_id: i64,
    /// First day (inclusive, CST).
    pub from: NaiveDate,
    /// Last day (inclusive); omit for open-ended.
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

/// Assigns a reach to a chief for a date range; both must be in one town.
pub async fn create_assignment(
    conn: &mut PgConnection,
    new: &NewAssignment,
    town_scope: Option<i64>,
) -> crate::Result<Assignment> {
    if new.to.is_some_and(|to| to < new.from) {
        return Err(crate::StoreError::invalid("to", "is before from"));
    }
    let towns: Option<(i64, i64)> = sqlx::query_as(
        "SELECT c.town_id, r.town_id FROM chiefs c, reaches r WHERE c.id = $1 AND r.id = $2",
    )
    .bind(new.chief_id)
    .bind(new.reach_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((chief_town, reach_town)) = towns else {
        return Err(crate::StoreError::invalid(
            "chief_id",
            "unknown chief or reach",
        ));
    };
    if chief_town != reach_town || town_scope.is_some_and(|t| t != chief_town) {
        return Err(crate::StoreError::invalid(
            "reach_id",
            "the reach is not in the chief's town",
        ));
    }
    Ok(sqlx::query_as(
        "INSERT INTO assignments (town_id, chief_id, reach_id, from_date, to_date)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, town_id, chief_id, reach_id, from_date, to_date",
    )
    .bind(chief_town)
    .bind(new.chief_id)
    .bind(new.reach_id)
    .bind(new.from)
    .bind(new.to)
    .fetch_one(conn)
    .await?)
}

/// The town a chief belongs to (for scope checks).
pub async fn chief_town(pool: &PgPool, chief_id: i64) -> crate::Result<i64> {
    sqlx::query_scalar("SELECT town_id FROM chiefs WHERE id = $1")
        .bind(chief_id)
        .fetch_optional(pool)
        .await?
        .ok_or(crate::StoreError::NotFound("chief"))
}

/// Whether the database has any town yet (for `serve --demo`).
pub async fn is_empty(pool: &PgPool) -> crate::Result<bool> {
    Ok(
        !sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM towns)")
            .fetch_one(pool)
            .await?,
    )
}

// --- One row at a time (`POST /api/v1/{villages,branches,rivers,reaches,chiefs}`).
// The town import creates whole towns by code; these create a single row in
// an existing town, referring to other rows by id. A code that exists is a
// conflict (409): an update goes through the import, which is idempotent.

/// A new village of a town (the town defaults to the admin's own).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVillage {
    #[serde(default)]
    pub town_id: Option<i64>,
    /// 12 digits, starting with the town's 9-digit code.
    pub code: String,
    pub name: String,
}

/// A new party branch (党总支/党支部), optionally of a village.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBranch {
    #[serde(default)]
    pub town_id: Option<i64>,
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub village_id: Option<i64>,
}

/// A new river of a town.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRiver {
    #[serde(default)]
    pub town_id: Option<i64>,
    pub code: String,
    pub name: String,
}

/// A new reach: a GeoJSON Feature (RFC 7946, lon/lat) whose geometry is a
/// LineString or MultiLineString, as `GET /api/v1/reaches` answers.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewReach {
    #[serde(rename = "type")]
    #[schema(example = "Feature")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
    pub properties: NewReachProperties,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReachProperties {
    #[serde(default)]
    pub town_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub river_id: i64,
    #[serde(default)]
    pub village_id: Option<i64>,
}

/// A new chief, with the reaches assigned from `appointed_on` and, when
/// `login` and `password` are given, a chief account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChief {
    #[serde(default)]
    pub town_id: Option<i64>,
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// `town` (大河长) or `village` (小河长).
    #[schema(value_type = String, example = "village")]
    pub level: domain::import::ChiefLevel,
    #[serde(default)]
    pub village_id: Option<i64>,
    #[serde(default)]
    pub branch_id: Option<i64>,
    pub appointed_on: NaiveDate,
    /// Last day in office, inclusive.
    #[serde(default)]
    pub left_on: Option<NaiveDate>,
    /// Reaches of the town; a village chief needs at least one, a town
    /// chief may have none (then every reach of the town counts).
    #[serde(default)]
    pub reach_ids: Vec<i64>,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// The code of an existing town (a 422 on `town_id` when there is none).
async fn town_code(conn: &mut PgConnection, town_id: i64) -> crate::Result<String> {
    sqlx::query_scalar("SELECT code FROM towns WHERE id = $1")
        .bind(town_id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| crate::StoreError::invalid("town_id", format!("unknown town {town_id}")))
}

/// Checks that the row `id` of `table` exists in `town_id`; `field` names
/// the reference in the error.
async fn check_in_town(
    conn: &mut PgConnection,
    table: &str,
    field: &str,
    id: i64,
    town_id: i64,
) -> crate::Result<()> {
    // `table` is one of our own table names, never user input.
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1 AND town_id = $2)");
    let found: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(town_id)
        .fetch_one(conn)
        .await?;
    if found {
        Ok(())
    } else {
        Err(crate::StoreError::invalid(
            field,
            format!(
                "no {} with id {id} in this town",
                table.trim_end_matches('s')
            ),
        ))
    }
}

fn taken(what: &str, code: &str) -> crate::StoreError {
    crate::StoreError::Conflict(format!(
        "a {what} with code {code:?} exists; change it through the town import"
    ))
}

pub async fn create_village(
    conn: &mut PgConnection,
    town_id: i64,
    new: &NewVillage,
) -> crate::Result<Village> {
    let town = town_code(conn, town_id).await?;
    domain::import::check_village_code("code", &town, &new.code)?;
    domain::import::check_name("name", &new.name)?;
    sqlx::query_as(
        "INSERT INTO villages (town_id, code, name) VALUES ($1, $2, $3)
         ON CONFLICT (code) DO NOTHING RETURNING id, town_id, code, name",
    )
    .bind(town_id)
    .bind(&new.code)
    .bind(new.name.trim())
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| taken("village", &new.code))
}

pub async fn create_branch(
    conn: &mut PgConnection,
    town_id: i64,
    new: &NewBranch,
) -> crate::Result<Branch> {
    town_code(conn, town_id).await?;
    domain::import::check_short_code("code", &new.code)?;
    domain::import::check_name("name", &new.name)?;
    if let Some(village) = new.village_id {
        check_in_town(conn, "villages", "village_id", village, town_id).await?;
    }
    sqlx::query_as(
        "INSERT INTO branches (town_id, village_id, code, name) VALUES ($1, $2, $3, $4)
         ON CONFLICT (town_id, code) DO NOTHING RETURNING id, town_id, village_id, code, name",
    )
    .bind(town_id)
    .bind(new.village_id)
    .bind(&new.code)
    .bind(new.name.trim())
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| taken("branch", &new.code))
}

pub async fn create_river(
    conn: &mut PgConnection,
    town_id: i64,
    new: &NewRiver,
) -> crate::Result<River> {
    town_code(conn, town_id).await?;
    domain::import::check_short_code("code", &new.code)?;
    domain::import::check_name("name", &new.name)?;
    sqlx::query_as(
        "INSERT INTO rivers (town_id, code, name) VALUES ($1, $2, $3)
         ON CONFLICT (town_id, code) DO NOTHING RETURNING id, town_id, code, name",
    )
    .bind(town_id)
    .bind(&new.code)
    .bind(new.name.trim())
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| taken("river", &new.code))
}

pub async fn create_reach(
    conn: &mut PgConnection,
    town_id: i64,
    new: &NewReach,
) -> crate::Result<ReachFeature> {
    let props = &new.properties;
    if new.kind != "Feature" {
        return Err(crate::StoreError::invalid(
            "type",
            "a reach is a GeoJSON Feature",
        ));
    }
    town_code(conn, town_id).await?;
    domain::import::check_short_code("properties.code", &props.code)?;
    domain::import::check_name("properties.name", &props.name)?;
    let lines = domain::import::parse_lines(&new.geometry)
        .map_err(|m| crate::StoreError::invalid("geometry", m))?;
    check_in_town(
        conn,
        "rivers",
        "properties.river_id",
        props.river_id,
        town_id,
    )
    .await?;
    if let Some(village) = props.village_id {
        check_in_town(conn, "villages", "properties.village_id", village, town_id).await?;
    }
    let id: Option<i64> = sqlx::query_scalar(
        "WITH g AS (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($6), 4326)) AS geom)
         INSERT INTO reaches (town_id, river_id, village_id, code, name, geom, length_m)
         SELECT $1, $2, $3, $4, $5, g.geom, ST_Length(g.geom::geography) FROM g
         ON CONFLICT (town_id, code) DO NOTHING RETURNING id",
    )
    .bind(town_id)
    .bind(props.river_id)
    .bind(props.village_id)
    .bind(&props.code)
    .bind(props.name.trim())
    .bind(geojson::Geometry::from(&lines).to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let id = id.ok_or_else(|| taken("reach", &props.code))?;
    reach(conn, id).await
}

pub async fn create_chief(
    conn: &mut PgConnection,
    town_id: i64,
    new: &NewChief,
) -> crate::Result<Chief> {
    use domain::import::{self as check, ChiefLevel};
    town_code(conn, town_id).await?;
    check::check_short_code("code", &new.code)?;
    check::check_name("name", &new.name)?;
    let phone =
        domain::text::clean_optional("phone", domain::text::TextKind::Phone, new.phone.as_deref())?;
    check::check_level_village(new.level, new.village_id.is_some())
        .map_err(|m| crate::StoreError::invalid("village_id", m))?;
    check::check_tenure(new.appointed_on, new.left_on)
        .map_err(|m| crate::StoreError::invalid("left_on", m))?;
    check::check_credentials(
        "login",
        "password",
        new.login.as_deref(),
        new.password.as_deref(),
    )?;
    if new.level == ChiefLevel::Village && new.reach_ids.is_empty() {
        return Err(crate::StoreError::invalid(
            "reach_ids",
            "a village chief needs at least one reach",
        ));
    }
    if let Some(village) = new.village_id {
        check_in_town(conn, "villages", "village_id", village, town_id).await?;
    }
    if let Some(branch) = new.branch_id {
        check_in_town(conn, "branches", "branch_id", branch, town_id).await?;
    }
    for (i, reach) in new.reach_ids.iter().enumerate() {
        check_in_town(conn, "reaches", &format!("reach_ids[{i}]"), *reach, town_id).await?;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO chiefs (town_id, code, name, phone, level, village_id, branch_id, appointed_on, left_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (town_id, code) DO NOTHING RETURNING id",
    )
    .bind(town_id)
    .bind(&new.code)
    .bind(new.name.trim())
    .bind(&phone)
    .bind(new.level.as_str())
    .bind(new.village_id)
    .bind(new.branch_id)
    .bind(new.appointed_on)
    .bind(new.left_on)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| taken("chief", &new.code))?;
    sqlx::query(
        "INSERT INTO assignments (town_id, chief_id, reach_id, from_date, to_date)
         SELECT $1, $2, r, $3, $4 FROM unnest($5::bigint[]) AS r",
    )
    .bind(town_id)
    .bind(id)
    .bind(new.appointed_on)
    .bind(new.left_on)
    .bind(&new.reach_ids)
    .execute(&mut *conn)
    .await?;
    if let (Some(login), Some(password)) = (&new.login, &new.password) {
        crate::auth::create_user(
            conn,
            crate::auth::NewUser {
                login,
                password,
                role: crate::auth::Role::Chief,
                chief_id: Some(id),
                town_id: Some(town_id),
            },
        )
        .await?;
    }
    chief(conn, id).await
}
