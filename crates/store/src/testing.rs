//! One brand-new database per test: [`fresh_database`] gives a test its own
//! PostgreSQL database with PostGIS and every migration applied, so tests
//! run in parallel without seeing each other's rows.
//!
//! Where the databases live:
//! - with `DATABASE_URL` set, on that server (the URL is the admin
//!   connection; its user needs `CREATEDB`);
//! - otherwise in a private cluster in `<target dir>/test-pg`, started by
//!   the first test that needs it and left running for the next run
//!   (`make test` and `make test-db-stop` stop it).
//!
//! Speed: the schema is built once into a template database
//! `rc_template_<checksum of the migrations>`; each test then takes a copy
//! (`CREATE DATABASE … TEMPLATE …`), which costs tens of milliseconds
//! instead of seconds. A changed migration set gets a new template. Nobody
//! may connect to a template (`ALLOW_CONNECTIONS false`), which is what
//! lets concurrent copies of it succeed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

use crate::MIGRATOR;
use crate::embedded::{self, ClusterOptions, EmbeddedCluster, PostgisError};

/// Prefix of every test database; leftovers are recognised by it.
const TEST_PREFIX: &str = "rc_test_";
/// Test databases older than this are dropped once there are too many.
const STALE_AFTER: Duration = Duration::from_secs(3600);
/// More leftover test databases than this triggers a clean-up.
const MAX_LEFTOVERS: usize = 200;
/// Advisory lock key serialising template builds ("rctmpl" in ASCII).
const TEMPLATE_LOCK: i64 = 0x7263_746d_706c;

/// A database of one's own for one test. Its pool is closed and the
/// database dropped when this value is dropped, unless the test panicked:
/// then it is kept for inspection (its name is printed) and removed by a
/// later clean-up.
#[derive(Debug)]
pub struct TestDb {
    pool: PgPool,
    url: String,
    name: String,
    admin_url: String,
}

impl TestDb {
    /// A pool on the test database (up to 10 connections).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The URL of the test database, e.g. to start a server on it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name (`rc_test_…`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the pool and drops the database now, without blocking.
    pub async fn close(self) {
        self.pool.close().await;
        drop_database(&self.admin_url, &self.name).await;
        // The database is gone: nothing left for `Drop` to do.
        std::mem::forget(self);
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "keeping test database {} for inspection: {}",
                self.name, self.url
            );
            return;
        }
        // Drop has no async: drop the database from a helper thread with its
        // own small runtime, and wait for it so it happens before the test
        // process exits. `WITH (FORCE)` ends the pool's sessions.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_database(&admin_url, &name));
            }
        });
        let _ = dropper.join();
    }
}

/// A new, empty, migrated database with PostGIS, isolated from every other
/// test. Panics with a readable message when no database can be had (no
/// PostgreSQL installed and no `DATABASE_URL`, …): it is meant for tests.
///
/// ```no_run
/// # async fn t() {
/// let db = store::testing::fresh_database().await;
/// let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(db.pool()).await.unwrap();
/// assert_eq!(one, 1);
/// # }
/// ```
pub async fn fresh_database() -> TestDb {
    match try_fresh_database().await {
        Ok(db) => db,
        Err(message) => panic!("no test database: {message}"),
    }
}

/// The server every test database of this process lives on.
#[derive(Debug, Clone)]
struct Server {
    /// URL of a database to connect to for `CREATE DATABASE`.
    admin_url: String,
    /// Template database holding PostGIS and the migrations.
    template: String,
}

// Only plain data is shared between tests: each `#[tokio::test]` has its own
// runtime, and sqlx connections die with the runtime that opened them.
static SERVER: OnceCell<Server> = OnceCell::const_new();

async fn try_fresh_database() -> Result<TestDb, String> {
    let server = SERVER.get_or_try_init(set_up_server).await?;
    let name = format!(
        "{TEST_PREFIX}{}_{}",
        unix_time(),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );

    let mut admin = PgConnection::connect(&server.admin_url)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", server.admin_url))?;
    let create = format!(
        "CREATE DATABASE {} TEMPLATE {}",
        embedded::quote_ident(&name),
        embedded::quote_ident(&server.template)
    );
    let mut attempt = 0;
    loop {
        match sqlx::raw_sql(AssertSqlSafe(create.as_str()))
            .execute(&mut admin)
            .await
        {
            Ok(_) => break,
            // "source database is being accessed by other users": someone
            // is connected to the template; they leave soon.
            Err(e) if embedded::is_code(&e, "55006") && attempt < 50 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(format!("{create}: {e}")),
        }
    }
    let _ = admin.close().await;

    let url = with_database(&server.admin_url, &name);
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&url)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    Ok(TestDb {
        pool,
        url,
        name,
        admin_url: server.admin_url.clone(),
    })
}

async fn set_up_server() -> Result<Server, String> {
    let (admin_url, fresh_cluster) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => (url, false),
        _ => start_test_cluster().await?,
    };
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .map_err(|e| format!("cannot connect to {admin_url}: {e}"))?;
    clean_up(&mut admin, fresh_cluster).await;
    let template = ensure_template(&mut admin, &admin_url).await?;
    let _ = admin.close().await;
    Ok(Server {
        admin_url,
        template,
    })
}

/// Starts (or finds running) the shared test cluster. Returns the admin URL
/// and whether the server was started now (then no test can be using it).
async fn start_test_cluster() -> Result<(String, bool), String> {
    let dir = test_cluster_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // Test binaries run one after another, but `cargo test -p a -p b`,
    // nextest and several terminals run them in parallel: serialise the
    // initdb/start across processes.
    let lock_path = dir.join("lock");
    let lock = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot lock {}: {e}", dir.join("lock").display()))?;

    let options = ClusterOptions {
        durable: false,
        max_connections: 300,
        database: "postgres".to_owned(),
        ..ClusterOptions::default()
    };
    let cluster = EmbeddedCluster::start_with(&dir, &options)
        .await
        .map_err(|e| e.to_string())?;
    let url = cluster.url_for("postgres");
    let started_now = cluster.started_now();
    cluster.leave_running();
    drop(lock);
    Ok((url, started_now))
}

/// `<target dir>/test-pg`: `CARGO_TARGET_DIR` when set, else the `target`
/// directory of the workspace containing this crate.
fn test_cluster_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .ancestors()
        .filter(|d| {
            std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .last()
        .unwrap_or(manifest_dir);
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => workspace.join(t),
        _ => workspace.join("target"),
    };
    target.join("test-pg")
}

/// Builds the template for the current migration set unless it exists.
/// Returns its name.
async fn ensure_template(admin: &mut PgConnection, admin_url: &str) -> Result<String, String> {
    let template = format!("rc_template_{}", migrations_checksum());
    if database_exists(admin, &template).await? {
        return Ok(template);
    }
    // Another process may be building the same template right now.
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut *admin)
        .await
        .map_err(|e| format!("pg_advisory_lock: {e}"))?;
    let result = build_template(admin, admin_url, &template).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut *admin)
        .await;
    result.map(|()| template)
}

async fn build_template(
    admin: &mut PgConnection,
    admin_url: &str,
    template: &str,
) -> Result<(), String> {
    if database_exists(admin, template).await? {
        return Ok(());
    }
    // Build under a temporary name and rename at the end, so a failed
    // migration never leaves a half-built template behind.
    let building = format!(
        "rc_build_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    execute(
        admin,
        format!("CREATE DATABASE {}", embedded::quote_ident(&building)),
    )
    .await?;
    let built = migrate_new_database(&with_database(admin_url, &building)).await;
    if let Err(e) = built {
        let _ = execute(
            admin,
            format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                embedded::quote_ident(&building)
            ),
        )
        .await;
        return Err(e);
    }
    execute(
        admin,
        format!(
            "ALTER DATABASE {} RENAME TO {}",
            embedded::quote_ident(&building),
            embedded::quote_ident(template)
        ),
    )
    .await?;
    execute(
        admin,
        format!(
            "ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
            embedded::quote_ident(template)
        ),
    )
    .await?;
    // Templates of older migration sets: no longer needed (best effort; a
    // concurrent run of older test binaries may still be copying one).
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database \
         WHERE (datname LIKE 'rc\\_template\\_%' AND datname <> $1) OR datname LIKE 'rc\\_build\\_%'",
    )
    .bind(template)
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    for name in stale {
        let quoted = embedded::quote_ident(&name);
        let _ = execute(
            admin,
            format!("ALTER DATABASE {quoted} WITH IS_TEMPLATE false"),
        )
        .await;
        let _ = execute(admin, format!("DROP DATABASE IF EXISTS {quoted}")).await;
    }
    Ok(())
}

/// PostGIS and the migrations, in the database at `url`.
async fn migrate_new_database(url: &str) -> Result<(), String> {
    // A one-connection pool rather than a `PgConnection`: `Migrator::run`
    // on `&mut PgConnection` makes the future's `Send` unprovable
    // ("implementation of `Acquire` is not general enough"), and
    // `fresh_database()` must be spawnable.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
    embedded::ensure_postgis(&mut conn)
        .await
        .map_err(|e| match e {
            PostgisError::Missing => "PostGIS is not installed on the test database server: \
             apt-get install postgresql-15-postgis-3 (with the server's major version)"
                .to_owned(),
            PostgisError::Sql(e) => format!("CREATE EXTENSION postgis: {e}"),
        })?;
    drop(conn);
    let migrated = MIGRATOR.run(&pool).await;
    pool.close().await;
    migrated.map_err(|e| format!("migrations failed: {e}"))
}

/// Hex digest over the versions and checksums of all migrations.
fn migrations_checksum() -> String {
    let mut hasher = Sha256::new();
    for m in MIGRATOR.iter() {
        hasher.update(m.version.to_le_bytes());
        hasher.update([m.migration_type as u8]);
        hasher.update(&*m.checksum);
    }
    hasher
        .finalize()
        .iter()
        .take(6)
        .fold(String::new(), |mut acc, b| {
            let _ = write!(acc, "{b:02x}");
            acc
        })
}

/// Drops leftover test databases: all of them when the cluster was just
/// started (nobody can be using one), otherwise only when there are many,
/// and then only old ones.
async fn clean_up(admin: &mut PgConnection, all: bool) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'rc\\_test\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    if !all && names.len() <= MAX_LEFTOVERS {
        return;
    }
    let cutoff = unix_time().saturating_sub(STALE_AFTER.as_secs());
    for name in names {
        let created = name
            .strip_prefix(TEST_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        if all || created < cutoff {
            let sql = format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                embedded::quote_ident(&name)
            );
            let _ = execute(admin, sql).await;
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(mut admin) = PgConnection::connect(admin_url).await {
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            embedded::quote_ident(name)
        );
        let _ = execute(&mut admin, sql).await;
        let _ = admin.close().await;
    }
}

async fn database_exists(admin: &mut PgConnection, name: &str) -> Result<bool, String> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut *admin)
        .await
        .map_err(|e| format!("reading pg_database: {e}"))
}

/// Runs one statement built at run time (identifiers only, quoted).
async fn execute(conn: &mut PgConnection, sql: String) -> Result<(), String> {
    match sqlx::raw_sql(AssertSqlSafe(sql.as_str()))
        .execute(conn)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{sql}: {e}")),
    }
}

/// `url` with its database replaced by `database`; keeps user, host and
/// query parameters (`?host=/socket/dir`, `sslmode`, …).
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!(
        "{}/{}",
        &base[..path_start],
        embedded::percent_encode(database)
    );
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_in_urls() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/db?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            with_database(
                "postgres://riverchief@localhost/postgres?host=/tmp/s",
                "rc_test_1"
            ),
            "postgres://riverchief@localhost/rc_test_1?host=/tmp/s"
        );
        assert_eq!(
            with_database("postgresql:///postgres?host=/var/run/postgresql", "x"),
            "postgresql:///x?host=/var/run/postgresql"
        );
    }
}
