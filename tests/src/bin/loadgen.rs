//! Upload load generator for `tests/load/run`: N concurrent clients (one
//! demo chief each) upload distinct, realistic one-hour 1 Hz GPX tracks of
//! their own reach to a running server, plain and gzip-compressed, and
//! report uploads/s and latency percentiles next to a baseline measured in
//! the same run (`GET /healthz` under the same concurrency).
//!
//! Every track is generated (and compressed) before the clock starts, so the
//! figures are the server's, not the generator's; the generator does share
//! the machine's cores with the server, as a loopback test must. Bounded:
//! a fixed number of requests per phase, each with a 30 s timeout.
//!
//! A last phase sends gzip uploads at a fixed combined rate (`--rate`, 100
//! a second, the throughput goal) instead of as fast as answers come back:
//! the latency a chief sees when the server carries that load. Each
//! request has its time slot, and its latency counts from the slot, so a
//! server that falls behind is not flattered by clients that wait for it
//! (coordinated omission).
//!
//! Usage: `loadgen BASE_URL [--clients 8] [--uploads 400] [--health 2000]
//! [--rate 100]` (`--uploads` per phase). Logins are the demo town's
//! `hz001`….

use chrono::{DateTime, Duration as Span, Utc};
use clap::Parser;
use clap::builder::RangedU64ValueParser;
use e2e::tracks::{demo_reach, gpx, walk};
use flate2::{Compression, write::GzEncoder};
use geo::{Distance, Haversine, Point};
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Upload load: 8 chiefs uploading one-hour GPX tracks (tests/load/run)")]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(value_parser = e2e::load::base_url)]
    base: String,
    /// Concurrent clients, one demo chief each (the demo town has 16).
    #[arg(long, default_value_t = 8, value_parser = RangedU64ValueParser::<usize>::new().range(1..=16))]
    clients: usize,
    /// Uploads per phase.
    #[arg(long, default_value_t = 400, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    uploads: usize,
    /// `GET /healthz` requests of the baseline.
    #[arg(long, default_value_t = 2000, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    health: usize,
    /// Uploads a second, all clients together, in the paced phase.
    #[arg(long, default_value_t = 100, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    rate: usize,
}

/// One request to send: a body (None for GET /healthz) and its encoding.
struct Job {
    body: Option<Vec<u8>>,
    gzip: bool,
}

/// A one-hour 1 Hz walk along chief `n`'s reach and back, the `k`-th of
/// that chief: its own start time (so its own GPS noise) and a slightly
/// different pace, as no two real patrols are alike.
fn track(n: usize, k: usize, base: DateTime<Utc>) -> Vec<u8> {
    let reach = demo_reach(n);
    let there_and_back: Vec<[f64; 2]> = reach.iter().chain(reach.iter().rev()).copied().collect();
    let length_m: f64 = there_and_back
        .windows(2)
        .map(|w| Haversine.distance(Point::from(w[0]), Point::from(w[1])))
        .sum();
    let pace = 1.0 + 0.002 * (k % 50) as f64;
    let speed_kmh = length_m / 1000.0 * pace;
    let start = base + Span::minutes((k * 16 + n) as i64 * 97);
    gpx(&walk(&there_and_back, start, speed_kmh, 1, 4.0)).into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// Latencies and outcomes of one phase.
struct Phase {
    name: String,
    latencies: Vec<Duration>,
    failures: Vec<String>,
    elapsed: Duration,
    bytes: usize,
}

impl Phase {
    fn report(&mut self) {
        self.latencies.sort();
        let pct = |p: f64| e2e::load::percentile_ms(&self.latencies, p);
        let n = self.latencies.len() + self.failures.len();
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.0} |",
            self.name,
            n,
            n as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.90),
            pct(0.99),
            pct(1.0),
            self.failures.len(),
            self.bytes as f64 / n.max(1) as f64 / 1024.0,
        );
        for f in self.failures.iter().take(5) {
            println!("    failure: {f}");
        }
    }
}

/// Runs `jobs[i]` on client `i` (each client's requests one after another,
/// all clients at once) and collects the latencies. With a `rate`, request
/// `j` of client `i` has the slot `(j · clients + i) / rate` seconds after
/// the start: the client waits for it if early, and its latency counts from
/// it.
async fn run(
    name: &str,
    args: &Args,
    tokens: &[String],
    jobs: Vec<Vec<Job>>,
    rate: Option<usize>,
) -> Phase {
    let bytes = jobs
        .iter()
        .flatten()
        .filter_map(|j| j.body.as_ref())
        .map(Vec::len)
        .sum();
    let started = Instant::now();
    let client_count = jobs.len();
    let clients: Vec<_> = jobs
        .into_iter()
        .zip(tokens.iter().cloned())
        .enumerate()
        .map(|(i, (jobs, token))| {
            let base = args.base.clone();
            let slot = move |j: usize| {
                rate.map(|rate| {
                    started + Duration::from_secs_f64((j * client_count + i) as f64 / rate as f64)
                })
            };
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("client");
                let mut latencies = Vec::with_capacity(jobs.len());
                let mut failures = vec![];
                for (j, job) in jobs.into_iter().enumerate() {
                    let slot = slot(j);
                    if let Some(slot) = slot {
                        tokio::time::sleep_until(slot.into()).await;
                    }
                    let request = match job.body {
                        None => http.get(format!("{base}/healthz")),
                        Some(body) => {
                            let r = http
                                .post(format!("{base}/api/v1/patrols"))
                                .bearer_auth(&token)
                                .header("content-type", "application/gpx+xml");
                            let r = if job.gzip {
                                r.header("content-encoding", "gzip")
                            } else {
                                r
                            };
                            r.body(body)
                        }
                    };
                    let sent = slot.unwrap_or_else(Instant::now);
                    let outcome = match request.send().await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            match response.bytes().await {
                                Ok(_) if status == 200 || status == 201 => Ok(()),
                                Ok(body) => Err(format!(
                                    "{status}: {}",
                                    String::from_utf8_lossy(&body[..body.len().min(300)])
                                )),
                                Err(e) => Err(e.to_string()),
                            }
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    match outcome {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(e) => failures.push(e),
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut phase = Phase {
        name: name.to_owned(),
        latencies: vec![],
        failures: vec![],
        elapsed: Duration::ZERO,
        bytes,
    };
    for client in clients {
        let (latencies, failures) = client.await.expect("client task");
        phase.latencies.extend(latencies);
        phase.failures.extend(failures);
    }
    phase.elapsed = started.elapsed();
    phase
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let http = reqwest::Client::new();
    let mut tokens = vec![];
    for n in 1..=args.clients {
        tokens.push(
            e2e::load::login(&http, &args.base, &format!("hz{n:03}"), "demo-chief-2026").await,
        );
    }

    // Distinct tracks for every upload, generated before any clock starts.
    let generated = Instant::now();
    let per_client = args.uploads.div_ceil(args.clients);
    let base = Utc::now() - Span::days(60);
    let warm_up = 2;
    let mut k = 0;
    let mut jobs = |gzipped: bool, count: usize| -> Vec<Vec<Job>> {
        let start_k = k;
        k += count;
        (1..=args.clients)
            .map(|n| {
                (start_k..start_k + count)
                    .map(|k| {
                        let plain = track(n, k, base);
                        let body = if gzipped { gzip(&plain) } else { plain };
                        Job {
                            body: Some(body),
                            gzip: gzipped,
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let warm = jobs(true, warm_up);
    let plain = jobs(false, per_client);
    let gzipped = jobs(true, per_client);
    let paced = jobs(true, per_client);
    let sample = track(1, 0, base);
    println!(
        "{} clients; {} distinct 1-hour 1 Hz GPX tracks per format ({:.0} KiB plain, {:.0} KiB gzip, {:.1}×), generated in {:.1} s",
        args.clients,
        per_client * args.clients,
        sample.len() as f64 / 1024.0,
        gzip(&sample).len() as f64 / 1024.0,
        sample.len() as f64 / gzip(&sample).len() as f64,
        generated.elapsed().as_secs_f64()
    );
    let health = (0..args.clients)
        .map(|_| {
            (0..args.health.div_ceil(args.clients))
                .map(|_| Job {
                    body: None,
                    gzip: false,
                })
                .collect()
        })
        .collect();

    let mut warm = run("warm-up (not counted)", &args, &tokens, warm, None).await;
    println!();
    println!(
        "| phase | requests | per s | p50 ms | p90 ms | p99 ms | max ms | failed | KiB sent each |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    warm.report();
    let mut phases = vec![run("GET /healthz (baseline)", &args, &tokens, health, None).await];
    phases.push(run("upload GPX, plain", &args, &tokens, plain, None).await);
    phases.push(run("upload GPX, gzip", &args, &tokens, gzipped, None).await);
    let paced_name = format!("upload GPX, gzip, paced at {}/s", args.rate);
    phases.push(run(&paced_name, &args, &tokens, paced, Some(args.rate)).await);
    let mut failed = false;
    for phase in &mut phases {
        phase.report();
        failed |= !phase.failures.is_empty();
    }
    if failed {
        std::process::exit(1);
    }
}
