//! Opening the database: `DATABASE_URL` when set, else the embedded private
//! cluster under the data directory (started here, stopped on close).

use anyhow::Context;
use std::path::Path;
use store::embedded::EmbeddedCluster;

pub struct Database {
    pub pool: store::PgPool,
    pub url: String,
    cluster: Option<EmbeddedCluster>,
}

impl Database {
    /// Connects (starting the embedded cluster if needed) and migrates.
    pub async fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let (url, cluster) = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => (url, None),
            _ => {
                std::fs::create_dir_all(data_dir).with_context(|| {
                    format!("cannot create the data directory {}", data_dir.display())
                })?;
                let cluster = EmbeddedCluster::start(data_dir).await?;
                (cluster.database_url(), Some(cluster))
            }
        };
        let pool = store::connect(&url)
            .await
            .context("cannot connect to the database")?;
        store::migrate(&pool)
            .await
            .context("cannot apply the database migrations")?;
        Ok(Self { pool, url, cluster })
    }

    /// A pool for serving requests: the same database, with the server's
    /// statement timeout (`pool` has none, for the CLI's long jobs).
    pub async fn server_pool(&self) -> anyhow::Result<store::PgPool> {
        store::connect_with_statement_timeout(&self.url, store::SERVER_STATEMENT_TIMEOUT)
            .await
            .context("cannot connect to the database")
    }

    /// The embedded cluster's PostgreSQL programs (None with DATABASE_URL).
    pub fn bin_dir(&self) -> Option<&Path> {
        self.cluster.as_ref().map(|c| c.bin_dir())
    }

    /// Whether the embedded cluster was already running: a server uses it.
    pub fn in_use_by_a_server(&self) -> bool {
        self.cluster.as_ref().is_some_and(|c| !c.started_now())
    }

    /// Closes the pool and stops the embedded cluster if this process started it.
    pub async fn close(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            if cluster.started_now() {
                cluster.stop().await?;
            } else {
                cluster.leave_running();
            }
        }
        Ok(())
    }
}
