//! Vector tiles end to end: a real patrol, the tile that contains it decoded
//! with geozero, caching headers, scope and bad input.

use chrono::{Duration, Utc};
use domain::time::IsoWeek;
use e2e::tracks::{demo_reach, gpx, walk};
use e2e::{TestServer, logins, send};
use geozero::mvt::tile::{Layer, Value as MvtValue};
use geozero::mvt::{Message, Tile};
use std::collections::HashMap;

/// The XYZ tile containing lon/lat at zoom z.
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let tile = store::tiles::TileId::containing(lon, lat, z).expect("tile");
    (tile.x, tile.y)
}

fn value(v: &MvtValue) -> String {
    if let Some(s) = &v.string_value {
        s.clone()
    } else if let Some(b) = v.bool_value {
        b.to_string()
    } else if let Some(d) = v.double_value {
        d.to_string()
    } else if let Some(f) = v.float_value {
        f.to_string()
    } else if let Some(i) = v.int_value {
        i.to_string()
    } else if let Some(i) = v.sint_value {
        i.to_string()
    } else if let Some(i) = v.uint_value {
        i.to_string()
    } else {
        String::new()
    }
}

/// Every feature of a layer as a map of its properties.
fn features(layer: &Layer) -> Vec<HashMap<String, String>> {
    layer
        .features
        .iter()
        .map(|f| {
            f.tags
                .chunks(2)
                .map(|kv| {
                    (
                        layer.keys[kv[0] as usize].clone(),
                        value(&layer.values[kv[1] as usize]),
                    )
                })
                .collect()
        })
        .collect()
}

async fn get_tile(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    etag: Option<&str>,
) -> reqwest::Response {
    let mut request = server.client.get(server.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(e) = etag {
        request = request.header("if-none-match", e);
    }
    request.send().await.expect("tile request")
}

/// The tile of a 200 answer.
async fn decode_tile(response: reqwest::Response) -> Tile {
    assert_eq!(response.status(), 200);
    Tile::decode(response.bytes().await.unwrap().as_ref()).expect("an MVT")
}

#[tokio::test]
async fn the_tile_shows_the_patrolled_reach_compliant_with_its_patrol() {
    let server = TestServer::with_demo().await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let started = Utc::now() - Duration::hours(3);
    let file = gpx(&walk(&demo_reach(1), started, 4.0, 5, 4.0));
    let (status, patrol) = send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .bearer_auth(&chief)
            .header("content-type", "application/gpx+xml")
            .body(file),
    )
    .await;
    assert_eq!(status, 201, "{patrol}");
    assert_eq!(patrol["valid"], true, "{patrol}");

    // Three hours ago may be last week (a run early on a Monday, CST): then
    // the other reaches have missed it and the tile is cached longer.
    let week = IsoWeek::of_instant(started).unwrap();
    let (others, max_age) = if Utc::now() < week.end_utc() {
        ("pending", "private, max-age=60")
    } else {
        ("missed", "private, max-age=3600")
    };
    let reach = demo_reach(1);
    let mid = reach[reach.len() / 2];
    let (x, y) = tile_of(mid[0], mid[1], 14);
    let path = format!("/tiles/14/{x}/{y}.mvt?week={week}");
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;

    let response = get_tile(&server, &path, Some(&admin), None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    assert_eq!(response.headers()["cache-control"], max_age);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let bytes = response.bytes().await.unwrap();
    let tile = Tile::decode(bytes.as_ref()).expect("an MVT");
    let layer = |name: &str| {
        tile.layers
            .iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("layer {name}"))
    };
    let reaches = features(layer("reaches"));
    let nlj01 = reaches
        .iter()
        .find(|f| f["code"] == "NLJ-01")
        .expect("NLJ-01 in the tile");
    assert_eq!(nlj01["status"], "compliant", "{nlj01:?}");
    assert!(nlj01["coverage"].parse::<f64>().unwrap() > 0.9, "{nlj01:?}");
    assert!(!nlj01["chief_name"].is_empty());
    for other in reaches.iter().filter(|f| f["code"] != "NLJ-01") {
        assert_eq!(other["status"], others, "{other:?}");
        assert_eq!(other["coverage"], "0", "{other:?}");
    }
    let patrols = features(layer("patrols"));
    let patrol_id = patrol["id"].to_string();
    assert!(
        patrols
            .iter()
            .any(|p| p["id"] == patrol_id && p["valid"] == "true"),
        "{patrols:?}"
    );

    // Unchanged data: 304 without a body.
    let again = get_tile(&server, &path, Some(&admin), Some(&etag)).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);

    // Another village chief sees the reaches but not chief 1's patrol.
    let chief2 = server.login(logins::CHIEF_2.0, logins::CHIEF_2.1).await;
    let tile = decode_tile(get_tile(&server, &path, Some(&chief2), None).await).await;
    assert!(tile.layers.iter().any(|l| l.name == "reaches"));
    assert!(
        tile.layers
            .iter()
            .filter(|l| l.name == "patrols")
            .all(|l| l.features.is_empty())
    );

    // A past week: no patrol, reaches missed, longer caching.
    let past = week.prev().unwrap().prev().unwrap();
    let response = get_tile(
        &server,
        &format!("/tiles/14/{x}/{y}.mvt?week={past}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(response.headers()["cache-control"], "private, max-age=3600");
    let tile = decode_tile(response).await;
    let reaches = features(tile.layers.iter().find(|l| l.name == "reaches").unwrap());
    assert!(
        reaches.iter().all(|f| f["status"] == "missed"),
        "{reaches:?}"
    );
}

#[tokio::test]
async fn empty_tiles_bad_addresses_and_no_token() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let (x, y) = tile_of(0.0, 0.0, 14);
    let response = get_tile(
        &server,
        &format!("/tiles/14/{x}/{y}.mvt"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(response.status(), 204);
    assert!(response.headers().contains_key("etag"));

    let response = get_tile(&server, &format!("/tiles/14/{x}/{y}.mvt"), None, None).await;
    assert_eq!(response.status(), 401);

    for (path, status, code) in [
        ("/tiles/14/1/1.mvt?week=2026-W60", 400, "invalid_week"),
        ("/tiles/14/1/1.mvt?week=yesterday", 400, "invalid_week"),
        ("/tiles/30/1/1.mvt", 400, "invalid_tile"),
        ("/tiles/a/1/1.mvt", 400, "invalid_tile"),
        ("/tiles/2/4/1.mvt", 404, "not_found"),
        ("/tiles/2/1/1.png", 404, "not_found"),
    ] {
        let (got, body) = server.get(path, Some(&admin)).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
    }
}

/// The vertices of an MVT line geometry (its parts in order), in tile
/// coordinates: MoveTo/LineTo commands with zigzag-encoded deltas.
fn mvt_lines(geometry: &[u32]) -> Vec<Vec<[i64; 2]>> {
    let mut lines: Vec<Vec<[i64; 2]>> = vec![];
    let (mut x, mut y) = (0i64, 0i64);
    let mut i = 0;
    while i < geometry.len() {
        let (command, count) = (geometry[i] & 7, (geometry[i] >> 3) as usize);
        i += 1;
        for _ in 0..count {
            if command == 7 {
                break;
            }
            let zigzag = |v: u32| i64::from((v >> 1) as i32 ^ -((v & 1) as i32));
            x += zigzag(geometry[i]);
            y += zigzag(geometry[i + 1]);
            i += 2;
            if command == 1 {
                lines.push(vec![]);
            }
            lines.last_mut().expect("MoveTo first").push([x, y]);
        }
    }
    lines
}

/// Tile coordinates (extent 4096) of tile z/x/y → lon/lat.
fn lon_lat(z: u32, x: u32, y: u32, [cx, cy]: [i64; 2]) -> [f64; 2] {
    let n = f64::from(1u32 << z);
    let px = (f64::from(x) + cx as f64 / 4096.0) / n;
    let py = (f64::from(y) + cy as f64 / 4096.0) / n;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * py)).sinh().atan();
    [px * 360.0 - 180.0, lat.to_degrees()]
}

/// Metres from `p` to the segment a–b (local flat approximation).
fn metres_to_segment(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let k = p[1].to_radians().cos();
    let m = |q: [f64; 2]| [(q[0] - p[0]) * k * 111_320.0, (q[1] - p[1]) * 111_320.0];
    let (a, b) = (m(a), m(b));
    let d = [b[0] - a[0], b[1] - a[1]];
    let len2 = d[0] * d[0] + d[1] * d[1];
    let t = if len2 == 0.0 {
        0.0
    } else {
        (-(a[0] * d[0] + a[1] * d[1]) / len2).clamp(0.0, 1.0)
    };
    (a[0] + t * d[0]).hypot(a[1] + t * d[1])
}

#[tokio::test]
async fn street_level_tiles_draw_a_noisy_walk_within_the_gps_noise_with_few_vertices() {
    // A 1 Hz walk with ±4 m of noise per axis: simplifying to a pixel (2–4 m
    // at z15–z16) would keep its zigzags; the map draws it within about 8 m
    // (twice the noise), and still as this patrol with its validity.
    let server = TestServer::with_demo().await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let started = Utc::now() - Duration::hours(3);
    let points = walk(&demo_reach(1), started, 3.0, 1, 4.0);
    let (status, patrol) = send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .bearer_auth(&chief)
            .header("content-type", "application/gpx+xml")
            .body(gpx(&points)),
    )
    .await;
    assert_eq!(status, 201, "{patrol}");
    let week = IsoWeek::of_instant(started).unwrap();
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let reach = demo_reach(1);
    let mid = reach[reach.len() / 2];
    for z in [15, 16] {
        let (x, y) = tile_of(mid[0], mid[1], z);
        let response = get_tile(
            &server,
            &format!("/tiles/{z}/{x}/{y}.mvt?week={week}"),
            Some(&admin),
            None,
        )
        .await;
        let tile = decode_tile(response).await;
        let layer = tile.layers.iter().find(|l| l.name == "patrols").unwrap();
        let props = features(layer);
        assert_eq!(props.len(), 1, "{props:?}");
        assert_eq!(props[0]["id"], patrol["id"].to_string());
        assert_eq!(props[0]["valid"], patrol["valid"].to_string());
        let drawn: Vec<Vec<[f64; 2]>> = mvt_lines(&layer.features[0].geometry)
            .into_iter()
            .map(|line| line.into_iter().map(|c| lon_lat(z, x, y, c)).collect())
            .collect();
        let vertices: usize = drawn.iter().map(Vec::len).sum();
        // The recorded points well inside the tile (the drawn line is
        // clipped at its buffer) are each within 10 m of the drawn line.
        let north_west = lon_lat(z, x, y, [200, 200]);
        let south_east = lon_lat(z, x, y, [3896, 3896]);
        let inside: Vec<[f64; 2]> = points
            .iter()
            .map(|&(lon, lat, _)| [lon, lat])
            .filter(|p| {
                p[0] > north_west[0]
                    && p[0] < south_east[0]
                    && p[1] < north_west[1]
                    && p[1] > south_east[1]
            })
            .collect();
        assert!(inside.len() > 100, "z{z}: {} points inside", inside.len());
        let worst = inside
            .iter()
            .map(|&p| {
                drawn
                    .iter()
                    .flat_map(|line| line.windows(2))
                    .map(|w| metres_to_segment(p, w[0], w[1]))
                    .fold(f64::INFINITY, f64::min)
            })
            .fold(0.0, f64::max);
        assert!(
            worst < 10.0,
            "z{z}: a recorded point {worst:.1} m off the drawn line"
        );
        assert!(
            vertices * 5 < inside.len(),
            "z{z}: {vertices} vertices for {} recorded points",
            inside.len()
        );
    }

    // Built tiles are kept by ETag: another patrol of the week is a new
    // version, so the same tile asked again is built again and shows it.
    let later = started + Duration::hours(1);
    let (status, second) = send(
        server
            .client
            .post(server.url("/api/v1/patrols"))
            .bearer_auth(&chief)
            .header("content-type", "application/gpx+xml")
            .body(gpx(&walk(&demo_reach(1), later, 3.0, 1, 4.0))),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    let (x, y) = tile_of(mid[0], mid[1], 15);
    let response = get_tile(
        &server,
        &format!("/tiles/15/{x}/{y}.mvt?week={week}"),
        Some(&admin),
        None,
    )
    .await;
    let tile = decode_tile(response).await;
    let layer = tile.layers.iter().find(|l| l.name == "patrols").unwrap();
    let mut ids: Vec<String> = features(layer).iter().map(|f| f["id"].clone()).collect();
    ids.sort();
    let mut expected = vec![patrol["id"].to_string(), second["id"].to_string()];
    expected.sort();
    assert_eq!(ids, expected);
}
