//! Database loss under load (issue #8): the real binary serves the demo town
//! on its embedded cluster while two chiefs upload patrols; PostgreSQL is
//! stopped mid-stream (fast shutdown, as a crash or an operator would) and
//! started again. The server stays up, says 503 `database_unavailable` and
//! /readyz says not ready while the database is away, recovers by itself,
//! and afterwards every upload that was answered 2xx is stored whole. The
//! uploads that failed are retried with their Idempotency-Key, as the phone
//! page does, and end up stored exactly once.

use chrono::{Duration as Span, Utc};
use e2e::process::{free_port, postmaster_pid, serve, terminate, wait_ready};
use e2e::tracks::{demo_reach, gpx, walk};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// One upload and what the server said.
#[derive(Debug, Clone)]
struct Sent {
    key: String,
    body: String,
    points: usize,
    status: Option<u16>,
    id: Option<i64>,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn login(base: &str, login: &str) -> String {
    e2e::load::login(&http(), base, login, "demo-chief-2026").await
}

/// A ten-minute walk along chief `n`'s reach, the `k`-th (its own start).
fn track(n: usize, k: usize) -> (String, usize) {
    let start = Utc::now() - Span::hours(48) + Span::minutes((k * 20 + n) as i64);
    let points = walk(&demo_reach(n), start, 4.0, 5, 3.0);
    (gpx(&points), points.len())
}

async fn upload(base: &str, token: &str, key: &str, body: &str) -> (Option<u16>, Value) {
    let sent = http()
        .post(format!("{base}/api/v1/patrols"))
        .bearer_auth(token)
        .header("content-type", "application/gpx+xml")
        .header("idempotency-key", key)
        .body(body.to_owned())
        .send()
        .await;
    match sent {
        Ok(r) => {
            let status = r.status().as_u16();
            (Some(status), r.json().await.unwrap_or(Value::Null))
        }
        // Connection reset or timeout: the client cannot know the outcome.
        Err(_) => (None, Value::Null),
    }
}

/// Chief `n` uploads one track after another until `stop`.
async fn uploader(
    base: String,
    token: String,
    n: usize,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Sent>>>,
) {
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) {
        let (body, points) = track(n, k);
        let key = format!("fault-{n}-{k}");
        let (status, reply) = upload(&base, &token, &key, &body).await;
        let ok = status.is_some_and(|c| (200..300).contains(&c));
        log.lock().await.push(Sent {
            key,
            body,
            points,
            status,
            id: reply["id"].as_i64(),
        });
        k += 1;
        // Back off after a failure, as the phone page does.
        let pause = if ok { 50 } else { 500 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

async fn successes(log: &Mutex<Vec<Sent>>) -> usize {
    let log = log.lock().await;
    log.iter()
        .filter(|s| s.status.is_some_and(|c| (200..300).contains(&c)))
        .count()
}

async fn wait_for(what: &str, limit: Duration, mut ok: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !ok().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fast shutdown of the cluster (SIGINT to the postmaster), as `pg_ctl stop
/// -m fast` does; waits until it is gone.
async fn stop_postgres(data_dir: &Path) {
    let pid_file = postmaster_pid(data_dir);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_owned();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -INT {pid}");
    wait_for("postgres stopped", Duration::from_secs(30), async || {
        !pid_file.exists()
    })
    .await;
}

#[tokio::test]
async fn uploads_survive_the_database_going_away_and_coming_back() {
    let dir = e2e::process::ScratchDir::new();
    let data_dir = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(&data_dir, port);
    wait_ready(port).await;
    let tokens = [login(&base, "hz001").await, login(&base, "hz002").await];

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let uploaders: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            tokio::spawn(uploader(
                base.clone(),
                token.clone(),
                i + 1,
                stop.clone(),
                log.clone(),
            ))
        })
        .collect();
    wait_for("uploads before", Duration::from_secs(60), async || {
        successes(&log).await >= 4
    })
    .await;

    stop_postgres(&data_dir).await;
    let before = successes(&log).await;
    // Away: /readyz and the API say so, promptly, and the server lives on.
    let readyz = http().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(readyz.status(), 503);
    let body: Value = readyz.json().await.unwrap();
    assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
    let (status, reply) = upload(&base, &tokens[0], "fault-away", &track(1, 999).0).await;
    assert_eq!(status, Some(503), "{reply}");
    assert_eq!(reply["error"]["code"], "database_unavailable", "{reply}");
    assert!(
        !reply["error"]["message"].as_str().unwrap_or("").is_empty(),
        "{reply}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Back: the cluster is started again (the same code the server uses),
    // and the server finds it without a restart.
    let cluster = store::embedded::EmbeddedCluster::start(&data_dir)
        .await
        .expect("restart the cluster");
    let database_url = cluster.database_url();
    cluster.leave_running();
    wait_for("ready again", Duration::from_secs(30), async || {
        http()
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    wait_for("uploads after", Duration::from_secs(60), async || {
        successes(&log).await >= before + 4
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for u in uploaders {
        u.await.unwrap();
    }

    let log = log.lock().await.clone();
    let failed = log.iter().filter(|s| s.id.is_none()).count();
    assert!(failed > 0, "some uploads met the database away: {log:#?}");
    // Every 2xx is stored whole: the same id, every point.
    let pool = store::connect(&database_url).await.unwrap();
    for s in log.iter().filter(|s| s.id.is_some()) {
        let stored: Option<(i64, i32)> =
            sqlx::query_as("SELECT id, point_count FROM patrols WHERE idempotency_key = $1")
                .bind(&s.key)
                .fetch_optional(&pool)
                .await
                .unwrap();
        assert_eq!(stored, Some((s.id.unwrap(), s.points as i32)), "{}", s.key);
    }
    // The failed ones, retried with their key, are stored exactly once.
    for (i, s) in log.iter().enumerate().filter(|(_, s)| s.id.is_none()) {
        let token = if s.key.starts_with("fault-1-") {
            &tokens[0]
        } else {
            &tokens[1]
        };
        let (status, reply) = upload(&base, token, &s.key, &s.body).await;
        assert!(
            matches!(status, Some(200 | 201)),
            "retry {i} {}: {status:?} {reply}",
            s.key
        );
    }
    let (rows, keys): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT idempotency_key) FROM patrols
         WHERE idempotency_key LIKE 'fault-%' AND idempotency_key <> 'fault-away'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((rows, keys), (log.len() as i64, log.len() as i64));
    // Nothing half-written: every patrol has its reach coverage, and the
    // weekly counters agree with the patrols they count.
    let uncovered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM patrols p WHERE idempotency_key LIKE 'fault-%'
           AND NOT EXISTS (SELECT 1 FROM patrol_reaches r WHERE r.patrol_id = p.id)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(uncovered, 0, "patrols without their reach coverage");
    let counters_off: Vec<(i64, chrono::NaiveDate, i64, i32)> = sqlx::query_as(
        "SELECT p.chief_id, p.week_start, count(*) FILTER (WHERE coalesce(p.override_valid, p.valid)),
                coalesce(max(w.valid_patrols), 0)
           FROM patrols p
           LEFT JOIN chief_weeks w ON w.chief_id = p.chief_id AND w.week_start = p.week_start
          GROUP BY p.chief_id, p.week_start
         HAVING count(*) FILTER (WHERE coalesce(p.override_valid, p.valid))
                <> coalesce(max(w.valid_patrols), 0)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        counters_off.is_empty(),
        "chief_weeks disagree: {counters_off:?}"
    );
    // And the quarters' week masks agree with the chief-weeks.
    let masks_off: Vec<(i64, chrono::NaiveDate, i32, i32)> = sqlx::query_as(
        "SELECT coalesce(q.chief_id, w.chief_id), coalesce(q.quarter_start, w.quarter_start),
                coalesce(q.valid_weeks, 0), coalesce(w.mask, 0)
           FROM chief_quarters q
           FULL JOIN (
               SELECT chief_id, qs AS quarter_start, bit_or(1 << ((week_start + 3 - qs) / 7)) AS mask
                 FROM (SELECT chief_id, week_start,
                              date_trunc('quarter', (week_start + 3)::timestamp)::date AS qs
                         FROM chief_weeks WHERE valid_patrols > 0) cw
                GROUP BY chief_id, qs
           ) w ON w.chief_id = q.chief_id AND w.quarter_start = q.quarter_start
          WHERE coalesce(q.valid_weeks, 0) <> coalesce(w.mask, 0)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        masks_off.is_empty(),
        "chief_quarters disagree: {masks_off:?}"
    );
    eprintln!(
        "database loss: {} uploads, {} answered 2xx, {failed} failed while it was away",
        log.len(),
        log.len() - failed
    );
    pool.close().await;
    terminate(child);
}

/// A mounted tmpfs, unmounted when dropped (also when the test fails).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Files under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                files_under(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// Disk trouble (issue #8, item 3): the photo store cannot be written (its
/// directory is a file) or is full (a 64 KiB tmpfs). A problem report with
/// a photo gets a clear 503 / 507 naming what happened, no issue or photo
/// row is written and no file is left behind; once the disk is fixed the
/// same report goes through.
#[tokio::test]
async fn a_broken_or_full_photo_store_is_a_clear_5xx_and_saves_nothing() {
    use e2e::issues::{photo_part, png, point_on_reach};
    let server = e2e::TestServer::with_demo().await;
    let chief = server
        .login(e2e::logins::CHIEF_1.0, e2e::logins::CHIEF_1.1)
        .await;
    let photos = server.data_dir.path().join("photos");
    let at = point_on_reach(1);
    let report = async || {
        let form = reqwest::multipart::Form::new()
            .text("category", "floating_garbage")
            .text("description", "河面漂浮垃圾")
            .text(
                "location",
                serde_json::json!({"type": "Point", "coordinates": at}).to_string(),
            )
            // A gradient PNG of about 200 kB: more than the tmpfs holds.
            .part(
                "photos",
                photo_part(png(640, 480), "river.png", "image/png"),
            );
        e2e::issues::report_multipart(&server, &chief, form).await
    };
    let rows = async || (server.count("issues").await, server.count("photos").await);
    let before = rows().await;

    // Unwritable: where the directory should be there is a file.
    std::fs::write(&photos, b"not a directory").unwrap();
    let (status, body) = report().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was changed")
    );
    assert_eq!(rows().await, before);
    std::fs::remove_file(&photos).unwrap();

    // Full: a tmpfs too small for the photo.
    let Some(tmpfs) = Tmpfs::mount(&photos, "64k") else {
        panic!("mount -t tmpfs failed: this test needs root (CI runs as root)");
    };
    let (status, body) = report().await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"]["code"], "storage_full", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("磁盘已满")
    );
    assert_eq!(rows().await, before);
    assert_eq!(
        files_under(&photos),
        Vec::<std::path::PathBuf>::new(),
        "no file left behind"
    );
    drop(tmpfs);

    // Fixed: the same report is stored, its photo file with it.
    let (status, body) = report().await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(rows().await, (before.0 + 1, before.1 + 1));
    assert_eq!(
        files_under(&photos).len(),
        3,
        "original, thumbnail, public copy"
    );
}
