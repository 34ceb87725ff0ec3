//! Applying a validated town document: one transaction, upserts by code, so
//! importing the same document again changes nothing and duplicates nothing.
//! Reach assignments keep their history: a reach dropped from a chief's list
//! is closed yesterday, a new one opens today (or on appointment, first time).

use chrono::{Days, NaiveDate};
use domain::import::ValidTown;
use serde::Serialize;
use sqlx::PgConnection;
use std::collections::HashMap;

use crate::StoreError;

/// What an import touched.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub town_id: i64,
    pub villages: usize,
    pub branches: usize,
    pub rivers: usize,
    pub reaches: usize,
    pub chiefs: usize,
    /// Accounts created now (existing logins keep their passwords).
    pub users_created: usize,
}

/// Applies a validated document in one transaction, dated today in CST.
pub async fn import_town(
    pool: &sqlx::PgPool,
    town: &ValidTown,
    user_id: Option<i64>,
) -> crate::Result<ImportSummary> {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let mut tx = pool.begin().await?;
    let summary = apply(&mut tx, town, today, user_id).await?;
    tx.commit().await?;
    Ok(summary)
}

/// Applies `town` inside the caller's transaction. `today` is the CST date.
pub async fn apply(
    tx: &mut PgConnection,
    town: &ValidTown,
    today: NaiveDate,
    user_id: Option<i64>,
) -> crate::Result<ImportSummary> {
    let town_id: i64 = sqlx::query_scalar(
        "INSERT INTO towns (code, name) VALUES ($1, $2)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(&town.town.code)
    .bind(town.town.name.trim())
    .fetch_one(&mut *tx)
    .await?;

    let villages = upsert_villages(tx, town_id, town).await?;
    let branches = upsert_branches(tx, town_id, town, &villages).await?;
    let rivers = upsert_rivers(tx, town_id, town).await?;
    let reaches = upsert_reaches(tx, town_id, town, &rivers, &villages).await?;
    let mut users_created = 0;
    for (i, c) in town.chiefs.iter().enumerate() {
        let chief_id = upsert_chief(tx, town_id, c, &villages, &branches).await?;
        let reach_ids: Vec<i64> = c.reaches.iter().map(|code| reaches[code]).collect();
        sync_assignments(
            tx,
            town_id,
            chief_id,
            &reach_ids,
            c.appointed_on,
            c.left_on,
            today,
        )
        .await?;
        if let (Some(login), Some(password)) = (&c.login, &c.password)
            && ensure_chief_login(tx, i, town_id, chief_id, login, password).await?
        {
            users_created += 1;
        }
    }
    crate::audit::record(
        tx,
        crate::audit::AuditEntry {
            town_id: Some(town_id),
            user_id,
            action: "import",
            entity: "town",
            entity_id: Some(town_id),
            details: serde_json::json!({"code": town.town.code, "chiefs": town.chiefs.len()}),
        },
    )
    .await?;
    Ok(ImportSummary {
        town_id,
        villages: villages.len(),
        branches: branches.len(),
        rivers: rivers.len(),
        reaches: reaches.len(),
        chiefs: town.chiefs.len(),
        users_created,
    })
}

async fn upsert_villages(
    tx: &mut PgConnection,
    town_id: i64,
    town: &ValidTown,
) -> crate::Result<HashMap<String, i64>> {
    let mut ids = HashMap::new();
    for (i, v) in town.villages.iter().enumerate() {
        // A village code is national: it must not move between towns.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO villages (town_id, code, name) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name
             WHERE villages.town_id = EXCLUDED.town_id RETURNING id",
        )
        .bind(town_id)
        .bind(&v.code)
        .bind(v.name.trim())
        .fetch_optional(&mut *tx)
        .await?;
        let id = id.ok_or_else(|| {
            StoreError::invalid(format!("villages[{i}].code"), "belongs to another town")
        })?;
        ids.insert(v.code.clone(), id);
    }
    Ok(ids)
}

async fn upsert_branches(
    tx: &mut PgConnection,
    town_id: i64,
    town: &ValidTown,
    villages: &HashMap<String, i64>,
) -> crate::Result<HashMap<String, i64>> {
    let mut ids = HashMap::new();
    for b in &town.branches {
        let village_id = b.village.as_ref().map(|code| villages[code]);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO branches (town_id, village_id, code, name) VALUES ($1, $2, $3, $4)
             ON CONFLICT (town_id, code) DO UPDATE
               SET village_id = EXCLUDED.village_id, name = EXCLUDED.name RETURNING id",
        )
        .bind(town_id)
        .bind(village_id)
        .bind(&b.code)
        .bind(b.name.trim())
        .fetch_one(&mut *tx)
        .await?;
        ids.insert(b.code.clone(), id);
    }
    Ok(ids)
}

async fn upsert_rivers(
    tx: &mut PgConnection,
    town_id: i64,
    town: &ValidTown,
) -> crate::Result<HashMap<String, i64>> {
    let mut ids = HashMap::new();
    for r in &town.rivers {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rivers (town_id, code, name) VALUES ($1, $2, $3)
             ON CONFLICT (town_id, code) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        )
        .bind(town_id)
        .bind(&r.code)
        .bind(r.name.trim())
        .fetch_one(&mut *tx)
        .await?;
        ids.insert(r.code.clone(), id);
    }
    Ok(ids)
}

async fn upsert_reaches(
    tx: &mut PgConnection,
    town_id: i64,
    town: &ValidTown,
    rivers: &HashMap<String, i64>,
    villages: &HashMap<String, i64>,
) -> crate::Result<HashMap<String, i64>> {
    let mut ids = HashMap::new();
    for r in &town.reaches {
        let geojson = geojson::Geometry::from(&r.geometry).to_string();
        let id: i64 = sqlx::query_scalar(
            "WITH g AS (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($6), 4326)) AS geom)
             INSERT INTO reaches (town_id, river_id, village_id, code, name, geom, length_m)
             SELECT $1, $2, $3, $4, $5, g.geom, ST_Length(g.geom::geography) FROM g
             ON CONFLICT (town_id, code) DO UPDATE
               SET river_id = EXCLUDED.river_id, village_id = EXCLUDED.village_id,
                   name = EXCLUDED.name, geom = EXCLUDED.geom, length_m = EXCLUDED.length_m
             RETURNING id",
        )
        .bind(town_id)
        .bind(rivers[&r.river])
        .bind(r.village.as_ref().map(|code| villages[code]))
        .bind(&r.code)
        .bind(r.name.trim())
        .bind(geojson)
        .fetch_one(&mut *tx)
        .await?;
        ids.insert(r.code.clone(), id);
    }
    Ok(ids)
}

async fn upsert_chief(
    tx: &mut PgConnection,
    town_id: i64,
    c: &domain::import::ChiefIn,
    villages: &HashMap<String, i64>,
    branches: &HashMap<String, i64>,
) -> crate::Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO chiefs (town_id, code, name, phone, level, village_id, branch_id, appointed_on, left_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (town_id, code) DO UPDATE
           SET name = EXCLUDED.name, phone = EXCLUDED.phone, level = EXCLUDED.level,
               village_id = EXCLUDED.village_id, branch_id = EXCLUDED.branch_id,
               appointed_on = EXCLUDED.appointed_on, left_on = EXCLUDED.left_on
         RETURNING id",
    )
    .bind(town_id)
    .bind(&c.code)
    .bind(c.name.trim())
    .bind(c.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()))
    .bind(c.level.as_str())
    .bind(c.village.as_ref().map(|code| villages[code]))
    .bind(c.branch.as_ref().map(|code| branches[code]))
    .bind(c.appointed_on)
    .bind(c.left_on)
    .fetch_one(&mut *tx)
    .await?)
}

/// Makes the chief's open assignments equal `reach_ids`, keeping history.
async fn sync_assignments(
    tx: &mut PgConnection,
    town_id: i64,
    chief_id: i64,
    reach_ids: &[i64],
    appointed_on: NaiveDate,
    left_on: Option<NaiveDate>,
    today: NaiveDate,
) -> crate::Result<()> {
    let current: Vec<(i64, i64, NaiveDate)> = sqlx::query_as(
        "SELECT id, reach_id, from_date FROM assignments
         WHERE chief_id = $1 AND (to_date IS NULL OR to_date >= $2)",
    )
    .bind(chief_id)
    .bind(today)
    .fetch_all(&mut *tx)
    .await?;
    let has_history: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM assignments WHERE chief_id = $1)")
            .bind(chief_id)
            .fetch_one(&mut *tx)
            .await?;
    let yesterday = today - Days::new(1);
    for (id, reach_id, from) in &current {
        if reach_ids.contains(reach_id) {
            sqlx::query("UPDATE assignments SET to_date = $2 WHERE id = $1")
                .bind(id)
                .bind(left_on)
                .execute(&mut *tx)
                .await?;
        } else if *from > yesterday {
            sqlx::query("DELETE FROM assignments WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("UPDATE assignments SET to_date = $2 WHERE id = $1")
                .bind(id)
                .bind(yesterday)
                .execute(&mut *tx)
                .await?;
        }
    }
    let from = if has_history {
        today.max(appointed_on)
    } else {
        appointed_on
    };
    if left_on.is_some_and(|l| l < from) {
        return Ok(()); // out of office before the new assignment could start
    }
    for reach_id in reach_ids {
        if current.iter().any(|(_, r, _)| r == reach_id) {
            continue;
        }
        sqlx::query(
            "INSERT INTO assignments (town_id, chief_id, reach_id, from_date, to_date)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(town_id)
        .bind(chief_id)
        .bind(reach_id)
        .bind(from)
        .bind(left_on)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Creates the chief's account unless the login exists; an existing login
/// must already belong to this chief. Returns whether one was created.
async fn ensure_chief_login(
    tx: &mut PgConnection,
    index: usize,
    town_id: i64,
    chief_id: i64,
    login: &str,
    password: &str,
) -> crate::Result<bool> {
    let existing: Option<Option<i64>> =
        sqlx::query_scalar("SELECT chief_id FROM users WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
    match existing {
        Some(Some(id)) if id == chief_id => Ok(false),
        Some(_) => Err(StoreError::invalid(
            format!("chiefs[{index}].login"),
            format!("login {login:?} belongs to another account"),
        )),
        None => {
            let taken: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE chief_id = $1)")
                    .bind(chief_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if taken {
                return Err(StoreError::invalid(
                    format!("chiefs[{index}].login"),
                    "this chief already has a different login",
                ));
            }
            crate::auth::create_user(
                tx,
                crate::auth::NewUser {
                    login,
                    password,
                    role: crate::auth::Role::Chief,
                    chief_id: Some(chief_id),
                    town_id: Some(town_id),
                },
            )
            .await?;
            Ok(true)
        }
    }
}
