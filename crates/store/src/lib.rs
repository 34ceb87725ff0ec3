//! Storage for riverchief: PostgreSQL + PostGIS through sqlx. Queries, row
//! types and transactions; knows SQL, knows nothing of HTTP.

pub mod audit;
pub mod auth;
pub mod bulletin;
pub mod channels;
pub mod compliance;
pub mod demo;
pub mod embedded;
pub mod error;
pub mod exemptions;
pub mod import;
pub mod issues;
pub mod notices;
pub mod outbox;
pub mod patrols;
mod pool;
pub mod reminders;
pub mod reports;
pub mod roster;
pub mod rules;
pub mod stats;
pub mod testing;
pub mod tiles;

pub use error::StoreError;
pub use pool::{
    ACQUIRE_TIMEOUT, MAX_CONNECTIONS, SERVER_STATEMENT_TIMEOUT, connect,
    connect_with_statement_timeout, migrate,
};
pub use sqlx::PgPool;

/// The schema, embedded from `migrations/` at the workspace root.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
