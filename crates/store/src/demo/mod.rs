//! The demo town: 牛栏江镇, modelled on a township on the Niulan river in
//! Yunnan. Sixteen villages strung along a meandering river, each with a
//! party branch, a village chief and a reach; a town chief over all of them;
//! an office admin and an assessor, and a season of patrols ([`season`]).
//! Loading it again changes nothing.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub mod season;

pub use season::SeasonSummary;

pub const TOWN_CODE: &str = "530127104";

const VILLAGES: [(&str, &str); 16] = [
    ("大村村", "张建国"),
    ("小新街村", "李卫东"),
    ("河口村", "王秀英"),
    ("杨柳村", "赵志强"),
    ("龙潭村", "刘德明"),
    ("石坝村", "陈家华"),
    ("白邑村", "杨光荣"),
    ("上营村", "黄海燕"),
    ("下营村", "周永福"),
    ("松林村", "吴春兰"),
    ("果子园村", "徐文军"),
    ("水井村", "孙丽萍"),
    ("沙沟村", "马云飞"),
    ("凤凰村", "朱国庆"),
    ("新庄村", "胡桂芳"),
    ("牛栏江社区", "郭顺发"),
];

/// A demo account, printed after loading.
pub struct DemoLogin {
    pub login: String,
    pub password: String,
    pub what: String,
}

/// The river's centre line: ~40 km from south-west to north-east, with
/// meanders, one point every ~100 m.
pub fn river_line() -> Vec<[f64; 2]> {
    let (lon0, lat0) = (103.02, 25.22);
    let (lon1, lat1) = (103.20, 25.40);
    let steps = 400;
    (0..=steps)
        .map(|i| {
            let t = f64::from(i) / f64::from(steps);
            // Perpendicular offset: two superposed meanders, ~600 m and ~150 m.
            let wiggle = 0.0055 * (t * std::f64::consts::TAU * 7.0).sin()
                + 0.0014 * (t * std::f64::consts::TAU * 23.0).sin();
            let lon = lon0 + (lon1 - lon0) * t - wiggle * 0.7;
            let lat = lat0 + (lat1 - lat0) * t + wiggle * 0.7;
            [round7(lon), round7(lat)]
        })
        .collect()
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// The centre line of reach `n` (1-based, `NLJ-01` … `NLJ-16`): an equal
/// share of the river's points, the last reach taking the rest.
pub fn reach_line(n: usize) -> Vec<[f64; 2]> {
    let line = river_line();
    let per = (line.len() - 1) / VILLAGES.len();
    let end = if n == VILLAGES.len() {
        line.len() - 1
    } else {
        n * per
    };
    line[(n - 1) * per..=end].to_vec()
}

/// The demo town as an import document.
pub fn document() -> Value {
    let mut villages = vec![];
    let mut branches = vec![];
    let mut reaches = vec![];
    let mut chiefs = vec![];
    for (i, (village, chief)) in VILLAGES.iter().enumerate() {
        let n = i + 1;
        let village_code = format!("{TOWN_CODE}{:03}", 200 + n);
        villages.push(json!({"code": village_code, "name": village}));
        branches.push(json!({"code": format!("B{n:02}"), "name": format!("{village}党总支"), "village": village_code}));
        let coordinates = reach_line(n);
        reaches.push(json!({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coordinates},
            "properties": {"code": format!("NLJ-{n:02}"), "name": format!("牛栏江{}段", village.trim_end_matches('村')),
                           "river": "NLJ", "village": village_code}
        }));
        chiefs.push(json!({
            "code": format!("HZ{n:03}"), "name": chief, "phone": format!("1390871{n:04}"),
            "level": "village", "village": village_code, "branch": format!("B{n:02}"),
            "appointed_on": "2026-01-01", "reaches": [format!("NLJ-{n:02}")],
            "login": format!("hz{n:03}"), "password": "demo-chief-2026"
        }));
    }
    branches.push(json!({"code": "B00", "name": "牛栏江镇机关党支部"}));
    chiefs.push(json!({
        "code": "HZ000", "name": "李明华", "phone": "13908710000", "level": "town", "branch": "B00",
        "appointed_on": "2026-01-01", "reaches": [], "login": "dahezhang", "password": "demo-town-2026"
    }));
    json!({
        "town": {"code": TOWN_CODE, "name": "牛栏江镇"},
        "villages": villages,
        "branches": branches,
        "rivers": [{"code": "NLJ", "name": "牛栏江"}],
        "reaches": {"type": "FeatureCollection", "features": reaches},
        "chiefs": chiefs,
    })
}

/// The demo town and its season, as [`load`] left them.
pub struct Loaded {
    pub logins: Vec<DemoLogin>,
    pub season: SeasonSummary,
}

/// Loads (or refreshes) the demo town, its accounts and its season of
/// patrols up to `now` (see [`season`]). Idempotent.
pub async fn load(pool: &sqlx::PgPool, now: DateTime<Utc>) -> crate::Result<Loaded> {
    let logins = load_town(pool).await?;
    let season = season::load(pool, now).await?;
    Ok(Loaded { logins, season })
}

/// Loads (or refreshes) the demo town and its office accounts, without
/// patrols: what most tests start from.
pub async fn load_town(pool: &sqlx::PgPool) -> crate::Result<Vec<DemoLogin>> {
    let town = domain::import::parse(document().to_string().as_bytes())?;
    let summary = crate::import::import_town(pool, &town, None).await?;
    let mut conn = pool.acquire().await?;
    for (login, password, role) in [
        ("admin", "demo-admin-2026", crate::auth::Role::Admin),
        (
            "assessor",
            "demo-assessor-2026",
            crate::auth::Role::Assessor,
        ),
    ] {
        let new = crate::auth::NewUser {
            login,
            password,
            role,
            chief_id: None,
            town_id: Some(summary.town_id),
        };
        match crate::auth::create_user(&mut conn, new).await {
            Ok(_) | Err(crate::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(vec![
        DemoLogin {
            login: "admin".into(),
            password: "demo-admin-2026".into(),
            what: "河长办 town office (admin)".into(),
        },
        DemoLogin {
            login: "dahezhang".into(),
            password: "demo-town-2026".into(),
            what: "大河长 李明华, town chief".into(),
        },
        DemoLogin {
            login: "hz001".into(),
            password: "demo-chief-2026".into(),
            what: "小河长 张建国, 大村村 (hz001 … hz016)".into(),
        },
        DemoLogin {
            login: "assessor".into(),
            password: "demo-assessor-2026".into(),
            what: "考核 assessor (read-only)".into(),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_document_is_valid_and_complete() {
        let town = domain::import::parse(document().to_string().as_bytes()).unwrap();
        assert_eq!(town.villages.len(), 16);
        assert_eq!(town.reaches.len(), 16);
        assert_eq!(town.chiefs.len(), 17);
        assert!(
            town.villages
                .iter()
                .all(|v| v.code.len() == 12 && v.code.starts_with(TOWN_CODE))
        );
    }
}
