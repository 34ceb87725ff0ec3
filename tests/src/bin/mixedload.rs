//! Mixed load for `tests/load/mixed` (`make loadtest`, issue #8): 32
//! concurrent clients for 60 s against a running demo server, each one
//! request after another, as the town would use it at a busy moment:
//!
//! - 8 village chiefs (hz001–hz008) upload distinct one-hour 1 Hz GPX
//!   patrols of their reach, gzip-compressed as the phone page sends them;
//! - 12 map viewers fetch vector tiles of this week (z12–z15 over the
//!   demo river), as chiefs hz009–hz016 and the town chief;
//! - 6 office clients read this week's and this quarter's compliance and
//!   the overdue list (town chief, assessor, admin);
//! - 6 issue readers list the problems and open one (admin, town chief).
//!
//! Tracks are generated and problems seeded before the clock starts. Every
//! request has a 30 s timeout; any non-2xx (or 204 for an empty tile) is an
//! error. Prints a Markdown table per kind; exits 1 on any error.
//!
//! Usage: `mixedload BASE_URL [--clients 32] [--seconds 60]`.

use chrono::{DateTime, Duration as Span, Utc};
use clap::Parser;
use clap::builder::RangedU64ValueParser;
use domain::time::{IsoWeek, Quarter};
use e2e::issues::point_on_reach;
use e2e::load::percentile_ms;
use e2e::tracks::{demo_reach, gpx, walk};
use flate2::{Compression, write::GzEncoder};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};
use store::tiles::TileId;

/// What a client does, one request after another.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Upload,
    Tile,
    Compliance,
    IssueRead,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Upload => "upload GPX (gzip, 1 h at 1 Hz)",
            Kind::Tile => "vector tile z12–z15",
            Kind::Compliance => "compliance (week, quarter, overdue)",
            Kind::IssueRead => "issues (list, one)",
        }
    }
}

#[derive(Parser)]
#[command(about = "Mixed load: uploads, tiles, compliance and problems (make loadtest)")]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(value_parser = e2e::load::base_url)]
    base: String,
    /// Concurrent clients, at least one of each of the four kinds.
    #[arg(long, default_value_t = 32, value_parser = RangedU64ValueParser::<usize>::new().range(4..=1024))]
    clients: usize,
    /// How long the load runs.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
}

/// The client mix: a quarter uploading, three eighths on the map, the rest
/// split between compliance and issues (8/12/6/6 for 32).
fn kind_of(client: usize, clients: usize) -> Kind {
    let uploaders = (clients / 4).clamp(1, 16);
    let viewers = (clients * 3 / 8).max(1);
    let office = ((clients - uploaders - viewers) / 2).max(1);
    match client {
        c if c < uploaders => Kind::Upload,
        c if c < uploaders + viewers => Kind::Tile,
        c if c < uploaders + viewers + office => Kind::Compliance,
        _ => Kind::IssueRead,
    }
}

fn login_of(kind: Kind, client: usize) -> (String, &'static str) {
    let chief = |n: usize| (format!("hz{n:03}"), "demo-chief-2026");
    match (kind, client % 4) {
        (Kind::Upload, _) => chief(client + 1),
        (Kind::Tile, 0) | (Kind::Compliance, 0) | (Kind::IssueRead, 0) => {
            ("dahezhang".into(), "demo-town-2026")
        }
        (Kind::Tile, _) => chief(9 + client % 8),
        (Kind::Compliance, 1) => ("assessor".into(), "demo-assessor-2026"),
        (Kind::Compliance, _) | (Kind::IssueRead, _) => ("admin".into(), "demo-admin-2026"),
    }
}

/// A one-hour 1 Hz walk along chief `n`'s reach and back, the `k`-th of
/// that chief (its own start, so its own noise), gzip-compressed.
fn track(n: usize, k: usize, base: DateTime<Utc>) -> Vec<u8> {
    let reach = demo_reach(n);
    let there_and_back: Vec<[f64; 2]> = reach.iter().chain(reach.iter().rev()).copied().collect();
    let start = base + Span::minutes((k * 16 + n) as i64 * 97);
    let plain = gpx(&walk(
        &there_and_back,
        start,
        3.0 + 0.01 * (k % 50) as f64,
        1,
        4.0,
    ));
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(plain.as_bytes()).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// Every tile at z12–z15 that some demo reach passes through.
fn river_tiles() -> Vec<String> {
    let mut tiles = std::collections::BTreeSet::new();
    for n in 1..=16 {
        for [lon, lat] in demo_reach(n) {
            for z in 12..=15 {
                tiles.insert(TileId::containing(lon, lat, z).expect("tile"));
            }
        }
    }
    tiles
        .into_iter()
        .map(|t| format!("/tiles/{}/{}/{}.mvt", t.z, t.x, t.y))
        .collect()
}

/// Problems to read: one per chief at a point on its reach; their ids.
async fn seed_issues(http: &reqwest::Client, base: &str, tokens: &[(usize, String)]) -> Vec<i64> {
    let mut seeded = vec![];
    for (n, token) in tokens {
        let body = json!({
            "category": "floating_garbage",
            "description": format!("负载测试 load test {n}"),
            "location": {"type": "Point", "coordinates": point_on_reach(*n)},
        });
        let r = http
            .post(format!("{base}/api/v1/issues"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("seed an issue");
        assert!(r.status().is_success(), "seeding an issue: {}", r.status());
        let issue: Value = r.json().await.expect("issue");
        seeded.push(issue["id"].as_i64().expect("issue id"));
    }
    seeded
}

/// One client's requests and their outcomes.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    failures: Vec<String>,
    /// An uploader used up its tracks before the end (its rate is then low).
    ran_out: bool,
}

struct Client {
    kind: Kind,
    index: usize,
    token: String,
    uploads: Vec<Vec<u8>>,
}

/// The `i`-th request of a client of this kind: method, path and body.
fn request(client: &Client, i: usize, shared: &Shared) -> (String, Option<Vec<u8>>) {
    let Shared {
        tiles,
        issues,
        week,
        quarter,
    } = shared;
    match client.kind {
        Kind::Upload => ("/api/v1/patrols".into(), client.uploads.get(i).cloned()),
        Kind::Tile => {
            let tile = &tiles[(client.index * 131 + i * 17) % tiles.len()];
            (format!("{tile}?week={week}"), None)
        }
        Kind::Compliance => match i % 3 {
            0 => (format!("/api/v1/compliance?week={week}"), None),
            1 => (format!("/api/v1/compliance?quarter={quarter}"), None),
            _ => ("/api/v1/compliance/overdue".into(), None),
        },
        Kind::IssueRead => match i % 2 {
            0 => ("/api/v1/issues".into(), None),
            _ => (
                format!("/api/v1/issues/{}", issues[i / 2 % issues.len()]),
                None,
            ),
        },
    }
}

/// What every client reads from.
struct Shared {
    tiles: Vec<String>,
    issues: Vec<i64>,
    week: String,
    quarter: String,
}

async fn run_client(
    base: String,
    client: Client,
    until: Instant,
    shared: std::sync::Arc<Shared>,
) -> (Kind, Tally) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut tally = Tally::default();
    let mut i = 0;
    while Instant::now() < until {
        let (path, body) = request(&client, i, &shared);
        i += 1;
        let request = match (client.kind, body) {
            (Kind::Upload, None) => {
                tally.ran_out = true;
                break;
            }
            (Kind::Upload, Some(body)) => http
                .post(format!("{base}{path}"))
                .header("content-type", "application/gpx+xml")
                .header("content-encoding", "gzip")
                .body(body),
            _ => http.get(format!("{base}{path}")),
        };
        let sent = Instant::now();
        let outcome = match request.bearer_auth(&client.token).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.bytes().await {
                    Ok(_) if (200..300).contains(&status) => Ok(()),
                    Ok(b) => Err(format!(
                        "{status} {path}: {}",
                        String::from_utf8_lossy(&b[..b.len().min(200)])
                    )),
                    Err(e) => Err(format!("{path}: {e}")),
                }
            }
            Err(e) => Err(format!("{path}: {e}")),
        };
        match outcome {
            Ok(()) => tally.latencies.push(sent.elapsed()),
            Err(e) => tally.failures.push(e),
        }
    }
    (client.kind, tally)
}

fn print_row(label: &str, clients: usize, tally: &mut Tally, elapsed: Duration) {
    tally.latencies.sort();
    let n = tally.latencies.len() + tally.failures.len();
    println!(
        "| {label} | {clients} | {n} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
        n as f64 / elapsed.as_secs_f64(),
        percentile_ms(&tally.latencies, 0.50),
        percentile_ms(&tally.latencies, 0.90),
        percentile_ms(&tally.latencies, 0.99),
        percentile_ms(&tally.latencies, 1.0),
        tally.failures.len(),
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let http = reqwest::Client::new();
    let now = Utc::now();
    let week = IsoWeek::current(now).expect("this week").to_string();
    let quarter = Quarter::current(now).expect("this quarter").to_string();
    let tiles = river_tiles();

    // Before the clock: logins, tracks (enough for 8 uploads/s per chief,
    // twice what 2 cores give one chief alone), issues.
    let prepared = Instant::now();
    let per_uploader = (args.seconds as usize * 8).max(10);
    let base_time = now - Span::days(60);
    let mut clients = vec![];
    let mut chief_tokens = vec![];
    for index in 0..args.clients {
        let kind = kind_of(index, args.clients);
        let (name, password) = login_of(kind, index);
        let token = e2e::load::login(&http, &args.base, &name, password).await;
        let uploads = if kind == Kind::Upload {
            chief_tokens.push((index + 1, token.clone()));
            (0..per_uploader)
                .map(|k| track(index + 1, k, base_time))
                .collect()
        } else {
            vec![]
        };
        clients.push(Client {
            kind,
            index,
            token,
            uploads,
        });
    }
    let seeded = seed_issues(&http, &args.base, &chief_tokens).await;
    let mut per_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for c in &clients {
        *per_kind.entry(c.kind).or_default() += 1;
    }
    println!(
        "{} clients for {} s: {per_kind:?}; {} river tiles at z12–z15; {} problems seeded; \
         prepared in {:.1} s",
        args.clients,
        args.seconds,
        tiles.len(),
        seeded.len(),
        prepared.elapsed().as_secs_f64()
    );
    let shared = std::sync::Arc::new(Shared {
        tiles,
        issues: seeded,
        week,
        quarter,
    });

    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(run_client(args.base.clone(), c, until, shared.clone())))
        .collect();
    let mut tallies: BTreeMap<Kind, Tally> = BTreeMap::new();
    for task in tasks {
        let (kind, tally) = task.await.expect("client task");
        let entry = tallies.entry(kind).or_default();
        entry.latencies.extend(tally.latencies);
        entry.failures.extend(tally.failures);
        entry.ran_out |= tally.ran_out;
    }
    let elapsed = started.elapsed();

    println!();
    println!("| requests | clients | count | per s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut all = Tally::default();
    for (kind, tally) in &mut tallies {
        print_row(kind.label(), per_kind[kind], tally, elapsed);
        all.latencies.extend(tally.latencies.iter().copied());
        all.failures.extend(tally.failures.iter().cloned());
    }
    print_row("**all**", args.clients, &mut all, elapsed);
    if tallies.values().any(|t| t.ran_out) {
        println!("    warning: an uploader used up its {per_uploader} tracks before the end");
    }
    for f in all.failures.iter().take(10) {
        println!("    error: {f}");
    }
    if !all.failures.is_empty() {
        std::process::exit(1);
    }
}
