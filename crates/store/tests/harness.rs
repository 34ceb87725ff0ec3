//! The database harness itself: per-test databases from
//! `store::testing::fresh_database`, and the embedded cluster that
//! `riverchief serve` runs without `DATABASE_URL`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sqlx::{Connection, PgConnection};
use store::embedded::{ClusterOptions, EmbeddedCluster, EmbeddedError};
use store::testing::fresh_database;

#[tokio::test]
async fn fresh_databases_are_independent() {
    let t = Instant::now();
    let a = fresh_database().await;
    let first_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let b = fresh_database().await;
    eprintln!(
        "fresh_database: first {first_s:.3} s (may include cluster start and template), second {:.3} s",
        t.elapsed().as_secs_f64()
    );
    assert_ne!(a.name(), b.name());

    sqlx::raw_sql("CREATE TABLE only_in_a (id int); INSERT INTO only_in_a VALUES (1)")
        .execute(a.pool())
        .await
        .unwrap();
    let in_b: bool = sqlx::query_scalar("SELECT to_regclass('only_in_a') IS NOT NULL")
        .fetch_one(b.pool())
        .await
        .unwrap();
    assert!(
        !in_b,
        "a table created in one test database shows in another"
    );

    // Migrations are applied: sqlx's bookkeeping table is there.
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(b.pool())
        .await
        .unwrap();
    assert!(migrated);

    let name = a.name().to_owned();
    a.close().await;
    let still_there: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(b.pool())
            .await
            .unwrap();
    assert!(!still_there, "close() did not drop {name}");
}

#[tokio::test]
async fn postgis_works() {
    let db = fresh_database().await;
    let version: String = sqlx::query_scalar("SELECT PostGIS_Version()")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(version.starts_with('3'), "PostGIS {version}");
    let length_m: f64 = sqlx::query_scalar(
        "SELECT ST_Length(ST_GeomFromText('LINESTRING(103.1 25.3, 103.11 25.31)', 4326)::geography)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    // 0.01° of longitude and latitude at 25° N: about 1.5 km.
    assert!((1400.0..1600.0).contains(&length_m), "{length_m} m");
}

#[tokio::test]
async fn many_databases_at_once() {
    let t = Instant::now();
    let dbs = futures_join_all(8).await;
    eprintln!(
        "8 concurrent fresh databases: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    for db in &dbs {
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
}

async fn futures_join_all(n: usize) -> Vec<store::testing::TestDb> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        set.spawn(fresh_database());
    }
    let mut out = Vec::new();
    while let Some(db) = set.join_next().await {
        out.push(db.unwrap());
    }
    out
}

// --- the embedded cluster ------------------------------------------------

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// A temporary data directory the `postgres` user can reach when we are root.
fn open_temp_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("rc-embedded-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// SIGKILLs the postmaster named in `pid_file` and waits for its children
/// to notice and exit, as after a crash.
fn kill_hard(pid_file: &Path) {
    let text = std::fs::read_to_string(pid_file).unwrap();
    let pid: u32 = text.lines().next().unwrap().trim().parse().unwrap();
    let children: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                // "pid (comm) state ppid ...": ppid is the 2nd field after the ')'.
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect();
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    for p in children.iter().copied().chain([pid]) {
        while alive(p) && Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next().map(|st| st != "Z"))
            .unwrap_or(false)
    })
}

async fn count_rows(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let n = sqlx::query_scalar("SELECT count(*) FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    n
}

#[tokio::test]
async fn embedded_cluster_starts_stops_and_keeps_its_data() {
    let dir = open_temp_dir();
    let data_dir = dir.path().join("data");

    let t = Instant::now();
    let cluster = EmbeddedCluster::start(&data_dir).await.unwrap();
    eprintln!("first start (initdb): {:.2} s", t.elapsed().as_secs_f64());
    assert!(cluster.started_now());
    assert_eq!(cluster.root(), data_dir.canonicalize().unwrap());
    let url = cluster.database_url();
    assert!(url.contains("host="), "{url}");

    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2)")
        .execute(&mut conn)
        .await
        .unwrap();
    let postgis: String = sqlx::query_scalar("SELECT PostGIS_Version()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(postgis.starts_with('3'));
    // No TCP: the server listens on its socket only.
    let listen: String = sqlx::query_scalar("SHOW listen_addresses")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(listen, "");
    conn.close().await.unwrap();

    let pgdata = cluster.pgdata().to_path_buf();
    cluster.stop().await.unwrap();
    assert!(!pgdata.join("postmaster.pid").exists());
    assert!(
        PgConnection::connect(&url).await.is_err(),
        "still answering after stop"
    );

    let t = Instant::now();
    let cluster = EmbeddedCluster::start(&data_dir).await.unwrap();
    eprintln!("second start: {:.2} s", t.elapsed().as_secs_f64());
    assert!(cluster.started_now());
    assert_eq!(count_rows(&cluster.database_url()).await, 2);

    // A crashed riverchief leaves the server running: the next start reuses it.
    let url = cluster.database_url();
    cluster.leave_running();
    let cluster = EmbeddedCluster::start(&data_dir).await.unwrap();
    assert!(!cluster.started_now());
    assert_eq!(cluster.database_url(), url);
    assert_eq!(count_rows(&url).await, 2);
    cluster.stop().await.unwrap();

    // A killed server (or a crashed machine) leaves a stale postmaster.pid:
    // the next start copes.
    let pid_file = pgdata.join("postmaster.pid");
    let cluster = EmbeddedCluster::start(&data_dir).await.unwrap();
    kill_hard(&pid_file);
    assert!(pid_file.exists());
    let cluster2 = EmbeddedCluster::start(&data_dir).await.unwrap();
    assert!(cluster2.started_now());
    assert_eq!(count_rows(&cluster2.database_url()).await, 2);
    cluster.leave_running(); // the same server as cluster2's
    cluster2.stop().await.unwrap();

    // A pid file naming a process that does not exist.
    let bogus = format!(
        "999999\n{}\n1700000000\n5432\n/nonexistent\n\n",
        pgdata.display()
    );
    std::fs::write(&pid_file, bogus).unwrap();
    let cluster = EmbeddedCluster::start(&data_dir).await.unwrap();
    assert!(cluster.started_now());
    assert_eq!(count_rows(&cluster.database_url()).await, 2);

    // Dropping without stop() stops the server too.
    drop(cluster);
    assert!(!pid_file.exists(), "drop did not stop the server");
}

/// A data directory the `postgres` user cannot reach (only when root).
#[tokio::test]
async fn embedded_cluster_moves_out_of_unreachable_dirs() {
    if !is_root() {
        eprintln!("skipped: only relevant when running as root");
        return;
    }
    // A 0700 directory of root's: postgres cannot traverse it.
    let dir = tempfile::Builder::new()
        .prefix("rc-private-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let data_dir = dir.path().join("deep").join("data");

    let cluster = EmbeddedCluster::start(&data_dir).await.unwrap();
    let root: PathBuf = cluster.root().to_path_buf();
    assert!(
        root.starts_with("/var/lib/riverchief"),
        "{}",
        root.display()
    );
    let pointer = std::fs::read_to_string(data_dir.join("pg-location")).unwrap();
    assert_eq!(Path::new(pointer.trim()), root);

    let mut conn = PgConnection::connect(&cluster.database_url())
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    cluster.stop().await.unwrap();

    let cluster = EmbeddedCluster::start(&data_dir).await.unwrap();
    assert_eq!(cluster.root(), root);
    assert_eq!(count_rows(&cluster.database_url()).await, 2);
    cluster.stop().await.unwrap();
    std::fs::remove_dir_all(&root).unwrap();
}

#[tokio::test]
async fn long_data_dirs_get_a_short_socket_dir() {
    let dir = open_temp_dir();
    let mut data_dir = dir.path().to_path_buf();
    for _ in 0..4 {
        data_dir.push("a-rather-long-directory-name");
    }
    let cluster = EmbeddedCluster::start(&data_dir).await.unwrap();
    assert!(cluster.socket_dir().as_os_str().len() < 100);
    let mut conn = PgConnection::connect(&cluster.database_url())
        .await
        .unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    conn.close().await.unwrap();
    let socket_dir = cluster.socket_dir().to_path_buf();
    cluster.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(socket_dir);
}

#[tokio::test]
async fn wrong_bin_dir_is_a_clear_error() {
    let dir = open_temp_dir();
    let options = ClusterOptions {
        bin_dir: Some(PathBuf::from("/nonexistent/postgresql/bin")),
        ..ClusterOptions::default()
    };
    let err = EmbeddedCluster::start_with(&dir.path().join("data"), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, EmbeddedError::BinDirInvalid { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("/nonexistent/postgresql/bin"), "{message}");
    assert!(message.contains("initdb"), "{message}");
    assert!(message.contains("postgresql-15"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}
