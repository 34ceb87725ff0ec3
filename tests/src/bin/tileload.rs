//! County-scale map tiles for `tests/load/tiles` (`make tileload`, issue #6):
//! a county of 300 villages with a year of patrols, 16 map clients asking
//! the release server for z14 tiles across it for 30 s, and then the raw
//! `ST_AsMVT` query (the baseline) for the same tiles, 16 at a time
//! straight on the database, for as long.
//!
//! The county: 20 towns of 15 villages, each town a copy of the demo river
//! (~40 km, a reach of ~2.7 km per village) on a 5 × 4 grid ~25 km apart,
//! imported through `store::import` (a chief per village, a town chief per
//! town). A year: the 52 ISO weeks up to this one; a chief walks their reach
//! 0–3 times a week (mostly once or twice), now and then only part of it or
//! a few hundred metres. Each patrol goes the way an upload goes, minus
//! reading the file and the duplicate search: recorded by
//! `domain::synth::record` (the demo season's gait: a fix every 5 s, a
//! drifting GPS error), judged by `domain::patrol::assess` against the
//! chief's reach, stored by `store::patrols::insert` (the track, its map
//! copy, coverage rows, the chief-week count) with its GPX as the original.
//! The database is a fresh one from `store::testing` (the shared test
//! cluster, or `DATABASE_URL`), dropped at the end.
//!
//! The clients: half the county office (every town), half town chiefs (their
//! town); weeks: this one 40 %, last week 30 %, any week of the year 30 %.
//! A client that has fetched a tile before sends `If-None-Match` with its
//! ETag, as a browser revalidating after `max-age`. Answers 200, 204 (an
//! empty tile) and 304 are successes; anything else is an error.
//!
//! Usage: `tileload SERVER_BIN [--villages 300] [--weeks 52] [--clients 16]
//! [--seconds 30] [--keep]`; `--keep` only generates the county and keeps
//! the database (its URL is printed), to look at plans. Exits 1 on any
//! error.

use chrono::{DateTime, Duration as Span, Utc};
use clap::Parser;
use clap::builder::RangedU64ValueParser;
use domain::synth::{Gait, Rng};
use domain::time::IsoWeek;
use e2e::load::percentile_ms;
use e2e::process::{ScratchDir, Server};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::tiles::TileId;

const VILLAGES_PER_TOWN: usize = 15;
const ZOOM: u32 = 14;
const CHIEF_PASSWORD: &str = "county-load-2026";
const COUNTY_LOGIN: &str = "county";

#[derive(Parser)]
#[command(
    about = "County-scale map tiles: generate a county, then load its z14 tiles (make tileload)"
)]
struct Args {
    /// The riverchief binary to serve the tiles.
    server_bin: String,
    /// Villages of the county (15 a town).
    #[arg(long, default_value_t = 300, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    villages: usize,
    /// Weeks of patrols back from now.
    #[arg(long, default_value_t = 52, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    weeks: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    clients: usize,
    /// How long the load runs.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
    /// Generate, print the database URL and keep it (no load).
    #[arg(long)]
    keep: bool,
}

/// Reach `n` (1-based) of a town: an equal share of the demo river, moved
/// to the town's place on the county grid.
fn reach_line(town: usize, n: usize) -> Vec<[f64; 2]> {
    let river = store::demo::river_line();
    let per = (river.len() - 1) / VILLAGES_PER_TOWN;
    let end = if n == VILLAGES_PER_TOWN {
        river.len() - 1
    } else {
        n * per
    };
    let (dlon, dlat) = (0.25 * (town % 5) as f64, 0.25 * (town / 5) as f64 - 0.5);
    river[(n - 1) * per..=end]
        .iter()
        .map(|[lon, lat]| [lon + dlon, lat + dlat])
        .collect()
}

/// Town `t` (0-based) as an import document with `villages` villages.
fn town_document(t: usize, villages: usize) -> Value {
    let town_code = format!("530199{:03}", 100 + t);
    let mut doc_villages = vec![];
    let mut reaches = vec![];
    let mut chiefs = vec![];
    for n in 1..=villages {
        let village = format!("{town_code}{:03}", 200 + n);
        doc_villages.push(json!({"code": village, "name": format!("第{}镇{n}村", t + 1)}));
        reaches.push(json!({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": reach_line(t, n)},
            "properties": {"code": format!("R{n:02}"), "name": format!("第{}镇{n}段", t + 1),
                           "river": "R", "village": village}
        }));
        chiefs.push(json!({
            "code": format!("V{n:03}"), "name": format!("河长{}-{n}", t + 1),
            "phone": format!("1390000{:02}{n:02}", t), "level": "village", "village": village,
            "appointed_on": "2025-01-01", "reaches": [format!("R{n:02}")]
        }));
    }
    chiefs.push(json!({
        "code": "T000", "name": format!("镇河长{}", t + 1), "phone": format!("13900009{t:03}"),
        "level": "town", "appointed_on": "2025-01-01", "reaches": [],
        "login": format!("county-t{t:02}"), "password": CHIEF_PASSWORD
    }));
    json!({
        "town": {"code": town_code, "name": format!("第{}镇", t + 1)},
        "villages": doc_villages,
        "branches": [],
        "rivers": [{"code": "R", "name": format!("第{}镇河", t + 1)}],
        "reaches": {"type": "FeatureCollection", "features": reaches},
        "chiefs": chiefs,
    })
}

/// A village chief of the county and what their uploads need.
struct Chief {
    town: usize,
    n: usize,
    upload: store::patrols::UploadChief,
    reaches: Vec<(i64, geo::MultiLineString<f64>)>,
}

/// What one planned patrol walks.
fn planned_line(reach: &[[f64; 2]], rng: &mut Rng) -> Vec<[f64; 2]> {
    let r = rng.unit();
    let line = if r < 0.9 {
        reach.to_vec()
    } else if r < 0.96 {
        // A third of the reach and home: low coverage.
        domain::synth::part(reach, 0.0, 0.33)
    } else {
        // A few hundred metres: too short.
        domain::synth::part(reach, 0.45, 0.55)
    };
    if rng.chance(0.5) {
        line.into_iter().rev().collect()
    } else {
        line
    }
}

/// Records, judges and stores one patrol (the upload pipeline's steps).
async fn store_patrol(
    pool: &sqlx::PgPool,
    chief: &Chief,
    uploaded_by: i64,
    start: DateTime<Utc>,
    seed: u64,
    now: DateTime<Utc>,
) -> bool {
    let reach = reach_line(chief.town, chief.n);
    let reaches = chief.reaches.clone();
    let (track, gpx, assessment, uploaded_at) = tokio::task::spawn_blocking(move || {
        let mut rng = Rng::seeded(&[seed]);
        let line = planned_line(&reach, &mut rng);
        let points = domain::synth::record(&line, start, &Gait::WALK, &mut rng);
        let gpx = domain::synth::gpx(&points);
        let track = domain::synth::track_of(&points);
        let assigned = domain::patrol::AssignedReach::all(&reaches);
        let rules = domain::validity::RuleSet::default();
        // Uploaded soon after the walk, as chiefs do (not `now`, a year
        // later, which would make it a late upload).
        let ended_at = track.ended_at().unwrap_or(start);
        let uploaded_at = (ended_at + Span::minutes(20)).min(now);
        let assessment = domain::patrol::assess(&track, &assigned, &rules, None, uploaded_at);
        (track, gpx, assessment, uploaded_at)
    })
    .await
    .expect("recording a patrol");
    let sha256 = Sha256::digest(gpx.as_bytes()).to_vec();
    let week = IsoWeek::of_instant(start).expect("week").monday();
    let fingerprint = domain::similarity::shape_fingerprint(&track);
    let boxes = domain::similarity::NearCopyBoxes::of(&track);
    let packed_positions = domain::packed_positions::pack(&track);
    let key = format!("county-{seed}");
    store::patrols::insert(
        pool,
        store::patrols::NewPatrol {
            chief: &chief.upload,
            uploaded_by,
            idempotency_key: Some(&key),
            original: gpx.as_bytes(),
            original_encoding: None,
            original_sha256: &sha256,
            original_content_type: "application/gpx+xml",
            coords: "wgs84",
            notes: None,
            track: &track,
            week_start: week,
            fingerprint: &fingerprint,
            boxes: boxes.as_ref(),
            packed_positions: &packed_positions,
            duplicate_of: None,
            assessment: &assessment,
            uploaded_at,
        },
    )
    .await
    .expect("storing a patrol");
    assessment.validity.valid
}

/// Starts of chief `c`'s patrols in `week` (none after `now`).
fn patrol_starts(c: usize, week: IsoWeek, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 3).expect("a Monday");
    let mut rng = Rng::seeded(&[c as u64, (week.monday() - epoch).num_days() as u64]);
    let r = rng.unit();
    let count = if r < 0.08 {
        0
    } else if r < 0.63 {
        1
    } else if r < 0.93 {
        2
    } else {
        3
    };
    let mut days: Vec<i64> = (0..count).map(|_| rng.below(7) as i64).collect();
    days.sort_unstable();
    days.into_iter()
        .enumerate()
        .map(|(k, day)| {
            // 08:00–17:00 CST is 00:00–09:00 UTC; two walks of a day apart.
            week.start_utc()
                + Span::days(day)
                + Span::minutes(k as i64 * 150 + rng.below(420) as i64)
        })
        .filter(|&start| start + Span::hours(1) < now)
        .collect()
}

/// Builds the county; answers the chiefs, the towns' ids and the weeks.
async fn generate(
    pool: &sqlx::PgPool,
    args: &Args,
    now: DateTime<Utc>,
) -> (Vec<i64>, Vec<IsoWeek>) {
    let towns = args.villages.div_ceil(VILLAGES_PER_TOWN);
    let mut town_ids = vec![];
    for t in 0..towns {
        let villages = VILLAGES_PER_TOWN.min(args.villages - t * VILLAGES_PER_TOWN);
        let doc = town_document(t, villages);
        let town = domain::import::parse(doc.to_string().as_bytes()).expect("county town document");
        let summary = store::import::import_town(pool, &town, None)
            .await
            .expect("import a town");
        town_ids.push(summary.town_id);
    }
    let mut conn = pool.acquire().await.expect("connection");
    let county = store::auth::create_user(
        &mut conn,
        store::auth::NewUser {
            login: COUNTY_LOGIN,
            password: CHIEF_PASSWORD,
            role: store::auth::Role::Admin,
            chief_id: None,
            town_id: None,
        },
    )
    .await
    .expect("county office account");
    drop(conn);

    let mut weeks = vec![IsoWeek::current(now).expect("this week")];
    while weeks.len() < args.weeks {
        let prev = weeks.last().and_then(|w| w.prev()).expect("a week before");
        weeks.push(prev);
    }
    weeks.reverse();

    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT c.id, c.town_id, c.code FROM chiefs c WHERE c.level = 'village' ORDER BY c.town_id, c.code",
    )
    .fetch_all(pool)
    .await
    .expect("chiefs");
    let today = domain::time::cst_date(now);
    let mut chiefs = vec![];
    for (id, town_id, code) in rows {
        let town = town_ids
            .iter()
            .position(|&t| t == town_id)
            .expect("a county town");
        let n: usize = code[1..].parse().expect("V<n>");
        let upload = store::patrols::upload_chief(pool, id).await.expect("chief");
        let reaches = store::patrols::assigned_reaches(pool, &upload, today)
            .await
            .expect("reaches");
        chiefs.push(Chief {
            town,
            n,
            upload,
            reaches,
        });
    }
    let chiefs = Arc::new(chiefs);
    let weeks_arc = Arc::new(weeks.clone());
    // Four writers: recording and judging run on the blocking pool while
    // other writers wait for the database.
    let writers = 4;
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (pool, chiefs, weeks) = (pool.clone(), chiefs.clone(), weeks_arc.clone());
            let uploaded_by = county.id;
            tokio::spawn(async move {
                let (mut stored, mut valid) = (0usize, 0usize);
                for c in (w..chiefs.len()).step_by(writers) {
                    for (wi, &week) in weeks.iter().enumerate() {
                        for (k, start) in patrol_starts(c, week, now).into_iter().enumerate() {
                            let seed = ((c * 1000 + wi) * 4 + k) as u64;
                            valid += usize::from(
                                store_patrol(&pool, &chiefs[c], uploaded_by, start, seed, now)
                                    .await,
                            );
                            stored += 1;
                        }
                    }
                }
                (stored, valid)
            })
        })
        .collect();
    let (mut stored, mut valid) = (0, 0);
    for task in tasks {
        let (s, v) = task.await.expect("writer");
        stored += s;
        valid += v;
    }
    // What autovacuum would have done over the year: statistics, and the
    // visibility map that lets the ETag's count read the week index alone.
    sqlx::query("VACUUM ANALYZE")
        .execute(pool)
        .await
        .expect("vacuum");
    println!(
        "county: {towns} towns, {} villages, {stored} patrols ({valid} valid) over {} weeks",
        chiefs.len(),
        weeks.len()
    );
    (town_ids, weeks)
}

/// The z14 tiles each town's reaches pass through.
fn town_tiles(towns: usize, villages: usize) -> Vec<Vec<(u32, u32)>> {
    (0..towns)
        .map(|t| {
            let mut tiles = BTreeSet::new();
            let here = VILLAGES_PER_TOWN.min(villages - t * VILLAGES_PER_TOWN);
            for n in 1..=here {
                for [lon, lat] in reach_line(t, n) {
                    let tile = TileId::containing(lon, lat, ZOOM).expect("tile");
                    tiles.insert((tile.x, tile.y));
                }
            }
            tiles.into_iter().collect()
        })
        .collect()
}

/// The server on `database_url` (not its own cluster; its data directory
/// holds only photos), killed when dropped.
async fn start_server(bin: &str, database_url: &str) -> (Server, ScratchDir, String) {
    let port = e2e::process::free_port();
    let data_dir = ScratchDir::new();
    let child = Command::new(bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", database_url)
        .env("RIVERCHIEF_DATA_DIR", data_dir.path())
        .env("RIVERCHIEF_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let server = Server::new(child);
    e2e::process::wait_ready(port).await;
    (server, data_dir, format!("http://127.0.0.1:{port}"))
}

/// The `k`-th tile client `c` has not asked for yet: a walk along its
/// area, four neighbouring tiles per week looked at.
fn pick(c: usize, k: usize, tiles: &[(u32, u32)], weeks: &[IsoWeek]) -> ((u32, u32), IsoWeek) {
    let mut rng = Rng::seeded(&[c as u64, (k / 4) as u64]);
    let last = weeks.len() - 1;
    let r = rng.unit();
    let week = if r < 0.4 {
        weeks[last]
    } else if r < 0.7 {
        weeks[last.saturating_sub(1)]
    } else {
        weeks[rng.below(weeks.len() as u64) as usize]
    };
    let tile = tiles[(c * 37 + k) % tiles.len()];
    (tile, week)
}

/// Share of requests that revalidate a tile fetched before (its cache
/// entry expired: `max-age` is 60 s for this week, an hour for past ones).
const REVALIDATIONS: f64 = 0.3;

/// Latencies by answer, and the failures.
#[derive(Default)]
struct Tally {
    by_status: HashMap<u16, Vec<Duration>>,
    /// The tiles asked for without `If-None-Match`, in order.
    new_tiles: Vec<((u32, u32), IsoWeek)>,
    bytes: u64,
    failures: Vec<String>,
}

async fn run_client(
    base: String,
    c: usize,
    token: String,
    tiles: Arc<Vec<(u32, u32)>>,
    weeks: Arc<Vec<IsoWeek>>,
    until: Instant,
) -> Tally {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut etags: HashMap<String, String> = HashMap::new();
    let mut tally = Tally::default();
    let mut fetched: Vec<String> = vec![];
    let (mut i, mut k) = (0, 0);
    while Instant::now() < until {
        let mut rng = Rng::seeded(&[c as u64, i as u64, 7]);
        i += 1;
        let path = if !fetched.is_empty() && rng.chance(REVALIDATIONS) {
            fetched[rng.below(fetched.len() as u64) as usize].clone()
        } else {
            let ((x, y), mut week) = pick(c, k, &tiles, &weeks);
            k += 1;
            // A tile still in the browser's cache is not asked for: the
            // user looks at another week of it instead.
            let path = |week: IsoWeek| format!("/tiles/{ZOOM}/{x}/{y}.mvt?week={week}");
            for _ in 0..8 {
                if !etags.contains_key(&path(week)) {
                    break;
                }
                week = weeks[rng.below(weeks.len() as u64) as usize];
            }
            if !etags.contains_key(&path(week)) {
                tally.new_tiles.push(((x, y), week));
            }
            path(week)
        };
        let mut request = http.get(format!("{base}{path}")).bearer_auth(&token);
        if let Some(etag) = etags.get(&path) {
            request = request.header("if-none-match", etag);
        }
        let sent = Instant::now();
        match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let etag = r
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                match r.bytes().await {
                    Ok(body) if matches!(status, 200 | 204 | 304) => {
                        tally
                            .by_status
                            .entry(status)
                            .or_default()
                            .push(sent.elapsed());
                        tally.bytes += body.len() as u64;
                        if let Some(etag) = etag
                            && etags.insert(path.clone(), etag).is_none()
                        {
                            fetched.push(path);
                        }
                    }
                    Ok(body) => tally.failures.push(format!(
                        "{status} {path}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(200)])
                    )),
                    Err(e) => tally.failures.push(format!("{path}: {e}")),
                }
            }
            Err(e) => tally.failures.push(format!("{path}: {e}")),
        }
    }
    tally
}

/// The raw baseline: the tiles a client fetched new, in the same order (and
/// again from the start if it is faster), straight on the database: there
/// is nothing to revalidate.
async fn run_raw(
    pool: sqlx::PgPool,
    tiles: Vec<((u32, u32), IsoWeek)>,
    until: Instant,
) -> (Vec<Duration>, u64) {
    let (mut latencies, mut bytes) = (vec![], 0u64);
    for &((x, y), week) in tiles.iter().cycle() {
        if Instant::now() >= until {
            break;
        }
        let sent = Instant::now();
        let tile: Vec<u8> = sqlx::query_scalar(store::tiles::RAW_BASELINE_SQL)
            .bind(ZOOM as i32)
            .bind(i64::from(x))
            .bind(i64::from(y))
            .bind(week.monday())
            .fetch_one(&pool)
            .await
            .expect("raw tile");
        latencies.push(sent.elapsed());
        bytes += tile.len() as u64;
    }
    (latencies, bytes)
}

fn row(label: &str, latencies: &mut [Duration], errors: usize, kb: Option<f64>, elapsed: Duration) {
    latencies.sort();
    let n = latencies.len() + errors;
    let kb = kb.map_or("–".to_owned(), |kb| format!("{kb:.1}"));
    println!(
        "| {label} | {n} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {kb} | {errors} |",
        n as f64 / elapsed.as_secs_f64(),
        percentile_ms(latencies, 0.50),
        percentile_ms(latencies, 0.90),
        percentile_ms(latencies, 0.99),
        percentile_ms(latencies, 1.0),
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let now = Utc::now();
    let db = store::testing::fresh_database().await;
    let generating = Instant::now();
    let (town_ids, weeks) = generate(db.pool(), &args, now).await;
    println!("generated in {:.0} s", generating.elapsed().as_secs_f64());
    if args.keep {
        println!("kept: DATABASE_URL={}", db.url());
        std::mem::forget(db);
        return;
    }

    let (server, _data_dir, base) = start_server(&args.server_bin, db.url()).await;
    let http = reqwest::Client::new();
    let per_town = town_tiles(town_ids.len(), args.villages);
    let all: Vec<(u32, u32)> = per_town.iter().flatten().copied().collect();
    let weeks = Arc::new(weeks);
    // Even clients: the county office, all tiles; odd: a town chief, the town's.
    let mut clients = vec![];
    for c in 0..args.clients {
        let (login_name, tiles) = if c % 2 == 0 {
            (COUNTY_LOGIN.to_owned(), all.clone())
        } else {
            let t = (c / 2) % town_ids.len();
            (format!("county-t{t:02}"), per_town[t].clone())
        };
        let token = e2e::load::login(&http, &base, &login_name, CHIEF_PASSWORD).await;
        clients.push((token, Arc::new(tiles)));
    }
    println!(
        "{} clients for {} s on {} z{ZOOM} river tiles ({} per town on average), \
         {} cores, load average {}",
        args.clients,
        args.seconds,
        all.len(),
        all.len() / town_ids.len().max(1),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );

    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(c, (token, tiles))| {
            tokio::spawn(run_client(
                base.clone(),
                c,
                token.clone(),
                tiles.clone(),
                weeks.clone(),
                until,
            ))
        })
        .collect();
    let mut tally = Tally::default();
    let mut replays = vec![];
    for task in tasks {
        let t = task.await.expect("client");
        replays.push(t.new_tiles);
        for (status, l) in t.by_status {
            tally.by_status.entry(status).or_default().extend(l);
        }
        tally.bytes += t.bytes;
        tally.failures.extend(t.failures);
    }
    let elapsed = started.elapsed();
    drop(server);

    // The baseline, the same requests straight on the database.
    let raw_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(args.clients as u32)
        .connect(db.url())
        .await
        .expect("raw pool");
    let raw_started = Instant::now();
    let raw_until = raw_started + Duration::from_secs(args.seconds);
    let raw_tasks: Vec<_> = replays
        .into_iter()
        .filter(|tiles| !tiles.is_empty())
        .map(|tiles| tokio::spawn(run_raw(raw_pool.clone(), tiles, raw_until)))
        .collect();
    let (mut raw, mut raw_bytes) = (vec![], 0u64);
    for task in raw_tasks {
        let (l, b) = task.await.expect("raw client");
        raw.extend(l);
        raw_bytes += b;
    }
    let raw_elapsed = raw_started.elapsed();
    raw_pool.close().await;

    println!();
    println!(
        "| z{ZOOM} tiles, {} clients | count | per s | p50 ms | p90 ms | p99 ms | max ms | mean kB | errors |",
        args.clients
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut everything: Vec<Duration> = tally.by_status.values().flatten().copied().collect();
    row(
        "ours over HTTP, all answers",
        &mut everything,
        tally.failures.len(),
        None,
        elapsed,
    );
    let tiles_built = tally.by_status.get(&200).map_or(0, Vec::len).max(1) as f64;
    for (status, what) in [
        (200, "200 tile"),
        (204, "204 empty"),
        (304, "304 revalidated"),
    ] {
        if let Some(l) = tally.by_status.get_mut(&status) {
            let kb = (status == 200).then(|| tally.bytes as f64 / tiles_built / 1000.0);
            row(&format!("… {what}"), l, 0, kb, elapsed);
        }
    }
    let raw_n = raw.len().max(1) as f64;
    row(
        "raw ST_AsMVT on the database",
        &mut raw,
        0,
        Some(raw_bytes as f64 / raw_n / 1000.0),
        raw_elapsed,
    );
    println!();
    println!("load average after: {}", loadavg());
    db.close().await;
    if !tally.failures.is_empty() {
        for f in tally.failures.iter().take(10) {
            eprintln!("error: {f}");
        }
        std::process::exit(1);
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
