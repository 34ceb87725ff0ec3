//! Connecting to the database and applying the schema: the two steps every
//! entry point (server, CLI, tests) takes before it can run a query.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::MIGRATOR;

/// Connections a pool opens at most. A town office is a handful of users;
/// 16 leaves room for tile bursts without exhausting a default server
/// (`max_connections = 100`) when several processes share it.
pub const MAX_CONNECTIONS: u32 = 16;

/// How long a query waits for a free connection (or for a new one to open)
/// before it fails. Short, so a database that is down shows up as an error
/// within seconds instead of a hung request.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a connection pool on `url` (`postgres://…`; a Unix socket directory
/// goes in `?host=/path`). Connects once before returning, so a wrong URL
/// or a database that is down fails here, not at the first request.
pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    options().connect(url).await
}

/// How long one statement of the server may run. The slowest a request
/// should need is a town's year report (well under a second); a statement
/// past this is a bug or an attack, and its answer is a 503 `timeout`
/// instead of a connection held for minutes. (Tiles set 2 s themselves.)
pub const SERVER_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// [`connect`] for serving requests: every statement is cancelled by
/// PostgreSQL after `statement_timeout`. The CLI's long jobs (demo season,
/// restore, benches) use [`connect`], without a limit.
pub async fn connect_with_statement_timeout(
    url: &str,
    statement_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    let millis = statement_timeout.as_millis().to_string();
    let connect_options = url
        .parse::<PgConnectOptions>()?
        .options([("statement_timeout", millis.as_str())]);
    options().connect_with(connect_options).await
}

fn options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // Recycle idle connections so a long-running server gives memory
        // back to PostgreSQL after a burst.
        .idle_timeout(Duration::from_secs(600))
}

/// Applies the migrations of `migrations/` that this database has not seen
/// yet. Safe to run concurrently: sqlx serialises runs with an advisory lock.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;

    #[tokio::test]
    async fn a_statement_past_the_server_timeout_is_cancelled_as_a_timeout() {
        let db = crate::testing::fresh_database().await;
        let pool = connect_with_statement_timeout(db.url(), Duration::from_millis(200))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let slow = sqlx::query("SELECT pg_sleep(5)").execute(&pool).await;
        assert!(matches!(
            slow.map_err(StoreError::from),
            Err(StoreError::Timeout)
        ));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "cancelled, not waited out"
        );
        let quick: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(quick, 1, "the connection is usable after the cancel");
        pool.close().await;
        db.close().await;
    }
}
