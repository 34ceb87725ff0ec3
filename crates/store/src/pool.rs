//! Connecting to the database and applying the schema: the two steps every
//! entry point (server, CLI, tests) takes before it can run a query.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

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
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // Recycle idle connections so a long-running server gives memory
        // back to PostgreSQL after a burst.
        .idle_timeout(Duration::from_secs(600))
        .connect(url)
        .await
}

/// Applies the migrations of `migrations/` that this database has not seen
/// yet. Safe to run concurrently: sqlx serialises runs with an advisory lock.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
