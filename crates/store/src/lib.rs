//! store

pub mod embedded;
mod pool;
pub mod testing;

pub use pool::{ACQUIRE_TIMEOUT, MAX_CONNECTIONS, connect, migrate};

/// The schema: every file of `migrations/`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");
