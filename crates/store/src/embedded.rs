//! The embedded default database: a private PostgreSQL cluster that
//! `riverchief serve` creates and starts under its data directory when no
//! `DATABASE_URL` is given, using the PostgreSQL programs installed on the
//! machine. The test harness ([`crate::testing`]) uses it too.
//!
//! Layout under the *cluster root* (normally the data directory itself):
//!
//! | path | what |
//! | --- | --- |
//! | `pg/` | the cluster (`initdb` output, PGDATA) |
//! | `pg.log` | the server log (`pg_ctl -l`) |
//! | `sock/` | the Unix socket directory (mode 0700); no TCP port is opened |
//!
//! Decisions worth knowing:
//! - **Unix socket only, trust authentication.** `listen_addresses = ''`, and
//!   the socket directory is readable only by the server's user (and root),
//!   so "trust" admits nobody else. The superuser is `riverchief`.
//! - **Root.** PostgreSQL refuses to run as root. When riverchief runs as
//!   root, `initdb`, `pg_ctl` and the server run as the `postgres` system
//!   user, which owns `pg/`, `sock/` and `pg.log`.
//! - **Relocation.** If that user cannot reach the data directory (say it is
//!   under `/root`, mode 0700), the cluster root moves to
//!   `/var/lib/riverchief/<hash of the data directory>/`; the data directory
//!   then holds a file `pg-location` naming it, and one line on stderr says
//!   where the cluster went.
//! - **Socket path length.** A socket path is limited to 107 bytes. When
//!   `<cluster root>/sock` is too long, the socket directory is
//!   `/tmp/riverchief-<hash>` instead (PostgreSQL touches its socket files
//!   regularly, so tmp cleaners leave them alone).
//! - Server settings live in `pg/riverchief.conf`, rewritten at every start
//!   and included from `postgresql.conf`, rather than in `pg_ctl -o`, which
//!   goes through a shell.

use std::fmt::Write as _;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};

/// Name of the PostgreSQL superuser `initdb` creates.
pub const SUPERUSER: &str = "riverchief";
/// Database created in the cluster for the application.
pub const DATABASE: &str = "riverchief";
/// The port only names the socket file (`.s.PGSQL.5432`): no TCP is opened.
const PORT: u16 = 5432;
/// Oldest PostgreSQL major version riverchief supports.
const MIN_MAJOR: u32 = 15;
/// Where the cluster goes when the server's user cannot reach the data directory.
const RELOCATION_BASE: &str = "/var/lib/riverchief";
/// Longest socket *directory* that keeps `<dir>/.s.PGSQL.5432` within the
/// 107 usable bytes of `sockaddr_un.sun_path`.
const MAX_SOCKET_DIR_LEN: usize = 107 - "/.s.PGSQL.5432".len();
/// How long `pg_ctl` may wait for the server to start or stop.
const PG_CTL_TIMEOUT_S: &str = "120";
/// Marker written into PGDATA once `initdb` and our configuration finished,
/// so an interrupted first run is redone instead of half-used.
const INITIALIZED_MARKER: &str = "riverchief.initialized";

/// What can go wrong when starting the embedded cluster. `Display` is the
/// whole message, on one line, meant for the person running riverchief.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// No PostgreSQL server programs anywhere we looked.
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) not found in {searched}; \
         install PostgreSQL 15+ and PostGIS 3 (Debian/Ubuntu: apt-get install postgresql-15 postgresql-15-postgis-3), \
         or set DATABASE_URL to an existing PostgreSQL+PostGIS database"
    )]
    PostgresNotFound {
        /// The places searched, comma separated.
        searched: String,
    },
    /// An explicitly given bin directory lacks the server programs.
    #[error(
        "{dir} does not contain the PostgreSQL server programs (missing {missing}); \
         install postgresql-15 (Debian/Ubuntu) or give the right bin directory (see `pg_config --bindir`)"
    )]
    BinDirInvalid {
        /// The directory given.
        dir: PathBuf,
        /// The programs missing from it.
        missing: String,
    },
    /// The PostgreSQL found is older than 15.
    #[error(
        "PostgreSQL {found} in {bin_dir} is too old: riverchief needs {MIN_MAJOR} or newer \
         (Debian/Ubuntu: apt-get install postgresql-15 postgresql-15-postgis-3)"
    )]
    TooOld {
        /// Major version found.
        found: u32,
        /// Where it was found.
        bin_dir: PathBuf,
    },
    /// The cluster on disk was made by another major version than the programs found.
    #[error(
        "the cluster in {pgdata} was created by PostgreSQL {cluster} but the programs in {bin_dir} are PostgreSQL {binaries}; \
         install postgresql-{cluster} (with postgresql-{cluster}-postgis-3), or move the data directory away to start afresh"
    )]
    VersionMismatch {
        /// PGDATA.
        pgdata: PathBuf,
        /// Major version of the cluster.
        cluster: u32,
        /// Major version of the programs.
        binaries: u32,
        /// Where the programs are.
        bin_dir: PathBuf,
    },
    /// The server runs but has no PostGIS extension available.
    #[error(
        "PostGIS is not installed for PostgreSQL {major}: apt-get install postgresql-{major}-postgis-3"
    )]
    PostgisMissing {
        /// Major version of the server, which names the package.
        major: u32,
    },
    /// Running as root without a user to drop privileges to.
    #[error(
        "riverchief runs as root, and PostgreSQL refuses to run as root, but there is no `postgres` system user to run it as; \
         create one (useradd --system --user-group --home-dir /var/lib/postgresql postgres) or run riverchief as an ordinary user"
    )]
    NoUnprivilegedUser,
    /// A path `pg_ctl` would mangle (it passes paths through a shell in double quotes).
    #[error(
        "cannot use {path} for the embedded PostgreSQL: the path must not contain \" $ ` or \\"
    )]
    UnsupportedPath {
        /// The offending path.
        path: PathBuf,
    },
    /// A socket directory under /tmp exists but belongs to someone else.
    #[error(
        "{path} belongs to another user; remove it, or set RIVERCHIEF_DATA_DIR to a shorter path"
    )]
    ForeignSocketDir {
        /// The directory.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What we were doing ("create", "read", ...).
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// A PostgreSQL program failed.
    #[error("{program} failed: {detail}")]
    Command {
        /// The program (and sub-command).
        program: String,
        /// The last lines of its output.
        detail: String,
    },
    /// The server did not come up.
    #[error("PostgreSQL did not start (log: {log}): {detail}")]
    StartFailed {
        /// The server log.
        log: PathBuf,
        /// The last error lines of the log.
        detail: String,
    },
    /// Connecting or setting up the database failed.
    #[error("embedded PostgreSQL at {socket_dir}: {source}")]
    Sql {
        /// The socket directory.
        socket_dir: PathBuf,
        /// The sqlx error.
        source: sqlx::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> EmbeddedError {
    let path = path.to_path_buf();
    move |source| EmbeddedError::Io {
        action,
        path,
        source,
    }
}

/// How to start the cluster. `ClusterOptions::default()` is what
/// `riverchief serve` uses.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Directory holding `initdb`, `pg_ctl` and `postgres`. `None` searches
    /// `pg_config --bindir`, `/usr/lib/postgresql/{18,17,16,15}/bin`, then `PATH`.
    pub bin_dir: Option<PathBuf>,
    /// `false` turns off `fsync`, `full_page_writes` and `synchronous_commit`:
    /// much faster, and a crash of the machine may lose or corrupt data. For
    /// test clusters only.
    pub durable: bool,
    /// The server's `max_connections`.
    pub max_connections: u32,
    /// Database to create (if missing) with the PostGIS extension.
    pub database: String,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            bin_dir: None,
            durable: true,
            max_connections: 100,
            database: DATABASE.to_owned(),
        }
    }
}

/// The user the PostgreSQL programs run as when riverchief runs as root.
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

/// A running private PostgreSQL cluster. Stop it with [`EmbeddedCluster::stop`];
/// dropping it stops it too (blocking, best effort) unless
/// [`EmbeddedCluster::leave_running`] was called.
#[derive(Debug)]
pub struct EmbeddedCluster {
    bin_dir: PathBuf,
    major: u32,
    root: PathBuf,
    pgdata: PathBuf,
    log_file: PathBuf,
    socket_dir: PathBuf,
    database: String,
    run_as: Option<RunAs>,
    /// Owner of the cluster's files: `run_as`'s uid, or ours.
    server_uid: u32,
    started_now: bool,
    stop_on_drop: bool,
}

impl EmbeddedCluster {
    /// Creates (first run) and starts the cluster for `data_dir`, creates
    /// the `riverchief` database and the PostGIS extension in it. Migrations
    /// are the caller's job ([`crate::migrate`]). Reuses a cluster that is
    /// already running (e.g. left by a crashed run).
    pub async fn start(data_dir: &Path) -> Result<EmbeddedCluster, EmbeddedError> {
        Self::start_with(data_dir, &ClusterOptions::default()).await
    }

    /// [`EmbeddedCluster::start`] with options.
    pub async fn start_with(
        data_dir: &Path,
        options: &ClusterOptions,
    ) -> Result<EmbeddedCluster, EmbeddedError> {
        let euid = effective_uid().await;
        let run_as = if euid == Some(0) {
            Some(
                lookup_user("postgres")
                    .await
                    .ok_or(EmbeddedError::NoUnprivilegedUser)?,
            )
        } else {
            None
        };

        tokio::fs::create_dir_all(data_dir)
            .await
            .map_err(io_err("create", data_dir))?;
        let data_dir = tokio::fs::canonicalize(data_dir)
            .await
            .map_err(io_err("resolve", data_dir))?;

        let root = cluster_root(&data_dir, run_as.as_ref()).await?;
        let pgdata = root.join("pg");
        let log_file = root.join("pg.log");
        let socket_dir = socket_dir_for(&root);
        for path in [&pgdata, &log_file, &socket_dir] {
            check_path(path)?;
        }

        let existing_major = read_major(&pgdata.join("PG_VERSION")).await;
        let (bin_dir, major) = find_binaries(options.bin_dir.as_deref(), existing_major).await?;
        if major < MIN_MAJOR {
            return Err(EmbeddedError::TooOld {
                found: major,
                bin_dir,
            });
        }

        let mut cluster = EmbeddedCluster {
            bin_dir,
            major,
            root,
            pgdata,
            log_file,
            socket_dir,
            database: options.database.clone(),
            server_uid: run_as.as_ref().map_or(euid.unwrap_or(0), |u| u.uid),
            run_as,
            started_now: false,
            stop_on_drop: false,
        };

        cluster.prepare_dirs().await?;
        if !cluster.pgdata.join(INITIALIZED_MARKER).exists() {
            cluster.initdb(options).await?;
        } else if let Some(cluster_major) = existing_major.filter(|m| *m != major) {
            return Err(EmbeddedError::VersionMismatch {
                pgdata: cluster.pgdata.clone(),
                cluster: cluster_major,
                binaries: major,
                bin_dir: cluster.bin_dir.clone(),
            });
        }
        cluster.write_config(options).await?;

        cluster.started_now = cluster.ensure_running().await?;
        // From here on, an error must not leave a server behind that we started.
        cluster.stop_on_drop = cluster.started_now;
        cluster.create_database().await?;
        cluster.stop_on_drop = true;
        Ok(cluster)
    }

    /// URL of the application database, e.g.
    /// `postgres://riverchief@localhost/riverchief?host=/srv/rc/sock`.
    pub fn database_url(&self) -> String {
        self.url_for(&self.database)
    }

    /// URL of another database in this cluster (as the superuser).
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost/{}?host={}",
            percent_encode(database),
            percent_encode(&self.socket_dir.to_string_lossy()),
        )
    }

    /// The Unix socket directory.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The cluster directory (PGDATA).
    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// The server log.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// Where the cluster lives: the data directory, or its relocation under
    /// `/var/lib/riverchief/` (see the module documentation).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of the PostgreSQL programs in use.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// PostgreSQL major version of the programs (and the cluster).
    pub fn major_version(&self) -> u32 {
        self.major
    }

    /// `true` if this call started the server, `false` if it found it running.
    pub fn started_now(&self) -> bool {
        self.started_now
    }

    /// Stops the server (`pg_ctl stop -m fast`: open sessions are ended,
    /// transactions rolled back) and waits until it is down.
    pub async fn stop(mut self) -> Result<(), EmbeddedError> {
        self.stop_on_drop = false;
        self.pg_ctl_stop().await
    }

    /// Forgets the cluster without stopping it, for a server shared between
    /// processes (the test cluster).
    pub fn leave_running(mut self) {
        self.stop_on_drop = false;
    }

    // --- steps of start -------------------------------------------------

    /// Creates `pg/`, `sock/` and `pg.log` owned by the server's user, mode
    /// 0700/0600. The data directory itself keeps the owner and mode the user
    /// gave it; a relocated root is ours and gets the same treatment.
    async fn prepare_dirs(&self) -> Result<(), EmbeddedError> {
        // A socket directory in /tmp may have been planted by someone else:
        // never chown or chmod through a symlink or a stranger's directory.
        if let Ok(meta) = tokio::fs::symlink_metadata(&self.socket_dir).await
            && (!meta.is_dir() || meta.uid() != self.server_uid)
        {
            return Err(EmbeddedError::ForeignSocketDir {
                path: self.socket_dir.clone(),
            });
        }
        let relocated = self.root.starts_with(RELOCATION_BASE);
        let mut owned = vec![&self.pgdata, &self.socket_dir];
        if relocated {
            owned.insert(0, &self.root);
        }
        for dir in owned {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(io_err("create", dir))?;
            self.make_private(dir, 0o700).await?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(io_err("create", &self.log_file))?;
        self.make_private(&self.log_file, 0o600).await
    }

    /// Gives `path` to the server's user with `mode`.
    async fn make_private(&self, path: &Path, mode: u32) -> Result<(), EmbeddedError> {
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
                .map_err(io_err("change the owner of", path))?;
        }
        tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .await
            .map_err(io_err("set permissions of", path))
    }

    async fn initdb(&self, options: &ClusterOptions) -> Result<(), EmbeddedError> {
        // A marker-less PGDATA is an interrupted first run: start over.
        clear_dir(&self.pgdata).await?;
        let initdb = self.bin_dir.join("initdb");
        let mut args: Vec<std::ffi::OsString> = vec![
            "-D".into(),
            self.pgdata.clone().into(),
            format!("--username={SUPERUSER}").into(),
            "--encoding=UTF8".into(),
            // C collation: byte order, deterministic, and lets `LIKE 'x%'` use indexes.
            "--no-locale".into(),
            "--auth-local=trust".into(),
            "--auth-host=reject".into(),
            "--no-instructions".into(),
        ];
        if !options.durable {
            args.push("--no-sync".into());
        }
        let out = self.run(&initdb, &args).await?;
        if !out.status.success() {
            return Err(EmbeddedError::Command {
                program: "initdb".into(),
                detail: tail(&out),
            });
        }
        let conf = self.pgdata.join("postgresql.conf");
        let mut text = tokio::fs::read_to_string(&conf)
            .await
            .map_err(io_err("read", &conf))?;
        text.push_str("\n# riverchief: settings managed by riverchief, rewritten at each start\ninclude_if_exists = 'riverchief.conf'\n");
        self.write_owned(&conf, text.as_bytes()).await?;
        self.write_owned(&self.pgdata.join(INITIALIZED_MARKER), b"initdb done\n")
            .await
    }

    async fn write_config(&self, options: &ClusterOptions) -> Result<(), EmbeddedError> {
        let mut conf = String::new();
        conf.push_str("# Written by riverchief at every start; edits are lost.\n");
        conf.push_str("listen_addresses = ''\n");
        let _ = writeln!(conf, "port = {PORT}");
        let _ = writeln!(
            conf,
            "unix_socket_directories = '{}'",
            self.socket_dir.to_string_lossy().replace('\'', "''")
        );
        conf.push_str("unix_socket_permissions = 0700\n");
        let _ = writeln!(conf, "max_connections = {}", options.max_connections);
        if !options.durable {
            conf.push_str("# Test cluster: speed over crash safety.\n");
            conf.push_str("fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n");
        }
        self.write_owned(&self.pgdata.join("riverchief.conf"), conf.as_bytes())
            .await
    }

    /// Starts the server unless it already runs with our socket directory.
    /// Returns whether it was started now.
    async fn ensure_running(&self) -> Result<bool, EmbeddedError> {
        self.clear_zombie_lock_files().await?;
        if self.status().await? {
            let pid_file = self.pgdata.join("postmaster.pid");
            let sockets = tokio::fs::read_to_string(&pid_file)
                .await
                .ok()
                .and_then(|s| s.lines().nth(4).map(str::to_owned));
            if sockets.as_deref() == Some(&*self.socket_dir.to_string_lossy()) {
                tracing::info!(pgdata = %self.pgdata.display(), "reusing the running embedded PostgreSQL");
                return Ok(false);
            }
            // Running with other settings (the data directory moved, say): restart.
            self.pg_ctl_stop().await?;
        }
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let out = self
            .run(
                &pg_ctl,
                &[
                    "start".as_ref(),
                    "-D".as_ref(),
                    self.pgdata.as_os_str(),
                    "-l".as_ref(),
                    self.log_file.as_os_str(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    PG_CTL_TIMEOUT_S.as_ref(),
                    "-s".as_ref(),
                ],
            )
            .await?;
        if !out.status.success() {
            return Err(EmbeddedError::StartFailed {
                log: self.log_file.clone(),
                detail: log_errors(&self.log_file).unwrap_or_else(|| tail(&out)),
            });
        }
        tracing::info!(pgdata = %self.pgdata.display(), "started the embedded PostgreSQL");
        Ok(true)
    }

    /// A killed postmaster stays a zombie until its parent (init, by then)
    /// reaps it, and some container inits are slow or never do. `pg_ctl` and
    /// `postgres` take a zombie's pid for a live server and refuse to start;
    /// a zombie holds no resources, so its lock files can go.
    async fn clear_zombie_lock_files(&self) -> Result<(), EmbeddedError> {
        let pid_file = self.pgdata.join("postmaster.pid");
        let Some(pid) = tokio::fs::read_to_string(&pid_file)
            .await
            .ok()
            .and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
        else {
            return Ok(());
        };
        for _ in 0..30 {
            if !is_zombie(pid).await {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tracing::warn!(
            pid,
            "the previous PostgreSQL server is dead (a zombie): removing its lock files"
        );
        let socket_lock = self.socket_dir.join(format!(".s.PGSQL.{PORT}.lock"));
        for file in [pid_file, socket_lock] {
            match tokio::fs::remove_file(&file).await {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &file)(e)),
            }
        }
        Ok(())
    }

    /// `pg_ctl status`: `true` when a server runs on PGDATA.
    async fn status(&self) -> Result<bool, EmbeddedError> {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let out = self
            .run(
                &pg_ctl,
                &["status".as_ref(), "-D".as_ref(), self.pgdata.as_os_str()],
            )
            .await?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(3) => Ok(false),
            _ => Err(EmbeddedError::Command {
                program: "pg_ctl status".into(),
                detail: tail(&out),
            }),
        }
    }

    async fn create_database(&self) -> Result<(), EmbeddedError> {
        let sql_err = |source| EmbeddedError::Sql {
            socket_dir: self.socket_dir.clone(),
            source,
        };
        let mut admin = PgConnection::connect(&self.url_for("postgres"))
            .await
            .map_err(sql_err)?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&self.database)
                .fetch_one(&mut admin)
                .await
                .map_err(sql_err)?;
        if !exists {
            let create = format!("CREATE DATABASE {}", quote_ident(&self.database));
            if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&mut admin)
                .await
            {
                // Lost a race with another process creating it: fine
                // (duplicate_database, or unique_violation in pg_database).
                if !is_code(&e, "42P04") && !is_code(&e, "23505") {
                    return Err(sql_err(e));
                }
            }
        }
        admin.close().await.map_err(sql_err)?;

        let mut conn = PgConnection::connect(&self.database_url())
            .await
            .map_err(sql_err)?;
        ensure_postgis(&mut conn).await.map_err(|e| match e {
            PostgisError::Missing => EmbeddedError::PostgisMissing { major: self.major },
            PostgisError::Sql(source) => sql_err(source),
        })?;
        conn.close().await.map_err(sql_err)
    }

    // --- helpers ---------------------------------------------------------

    async fn pg_ctl_stop(&self) -> Result<(), EmbeddedError> {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let out = self.run(&pg_ctl, &self.stop_args()).await?;
        if out.status.success() || !self.pgdata.join("postmaster.pid").exists() {
            Ok(())
        } else {
            Err(EmbeddedError::Command {
                program: "pg_ctl stop".into(),
                detail: tail(&out),
            })
        }
    }

    fn stop_args(&self) -> [&std::ffi::OsStr; 8] {
        [
            "stop".as_ref(),
            "-D".as_ref(),
            self.pgdata.as_os_str(),
            "-m".as_ref(),
            "fast".as_ref(),
            "-w".as_ref(),
            "-t".as_ref(),
            PG_CTL_TIMEOUT_S.as_ref(),
        ]
    }

    /// Runs a PostgreSQL program, as the unprivileged user when we are root.
    async fn run<S: AsRef<std::ffi::OsStr>>(
        &self,
        program: &Path,
        args: &[S],
    ) -> Result<Output, EmbeddedError> {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            // The unprivileged user may not be able to enter our working directory.
            .current_dir("/")
            .stdin(std::process::Stdio::null());
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid).gid(user.gid).env("USER", &user.name);
        }
        cmd.output().await.map_err(|source| EmbeddedError::Io {
            action: "run",
            path: program.to_path_buf(),
            source,
        })
    }

    /// Writes a file inside PGDATA, owned by the server's user.
    async fn write_owned(&self, path: &Path, contents: &[u8]) -> Result<(), EmbeddedError> {
        tokio::fs::write(path, contents)
            .await
            .map_err(io_err("write", path))?;
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
                .map_err(io_err("change the owner of", path))?;
        }
        Ok(())
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        if !self.stop_on_drop {
            return;
        }
        let mut cmd = std::process::Command::new(self.bin_dir.join("pg_ctl"));
        cmd.args(self.stop_args())
            .current_dir("/")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(user) = &self.run_as {
            std::os::unix::process::CommandExt::uid(&mut cmd, user.uid);
            std::os::unix::process::CommandExt::gid(&mut cmd, user.gid);
        }
        if let Err(e) = cmd.status() {
            tracing::warn!(error = %e, "could not stop the embedded PostgreSQL");
        }
    }
}

/// Why PostGIS could not be enabled.
pub(crate) enum PostgisError {
    /// The extension is not installed on the server.
    Missing,
    /// Any other failure.
    Sql(sqlx::Error),
}

/// `CREATE EXTENSION IF NOT EXISTS postgis`, telling a missing package apart
/// from other errors.
pub(crate) async fn ensure_postgis(conn: &mut PgConnection) -> Result<(), PostgisError> {
    let available: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis')",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(PostgisError::Sql)?;
    if !available {
        return Err(PostgisError::Missing);
    }
    match sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        .execute(&mut *conn)
        .await
    {
        Ok(_) => Ok(()),
        // Two sessions creating it at once: the loser sees a unique violation.
        Err(e) if is_code(&e, "23505") || is_code(&e, "42710") => Ok(()),
        Err(e) => Err(PostgisError::Sql(e)),
    }
}

/// Whether process `pid` has exited but not been reaped yet.
async fn is_zombie(pid: u32) -> bool {
    tokio::fs::read_to_string(format!("/proc/{pid}/stat"))
        .await
        .is_ok_and(|stat| {
            // "pid (comm) state …": comm may contain spaces and parentheses.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                == Some("Z")
        })
}

/// Whether `e` is a database error with this SQLSTATE.
pub(crate) fn is_code(e: &sqlx::Error, code: &str) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == code)
}

/// Quotes an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Percent-encodes everything but unreserved characters and `/`, for a
/// path or name inside a URL.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// First 16 hex digits of the SHA-256 of `s`.
fn short_hash(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().take(8).fold(String::new(), |mut acc, b| {
        let _ = write!(acc, "{b:02x}");
        acc
    })
}

async fn effective_uid() -> Option<u32> {
    // /proc/<pid> belongs to the process's effective user; `id -u` elsewhere.
    if let Ok(meta) = tokio::fs::metadata("/proc/self").await {
        return Some(meta.uid());
    }
    let out = tokio::process::Command::new("id")
        .arg("-u")
        .output()
        .await
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Looks a user up through NSS (`getent`), falling back to `/etc/passwd`.
async fn lookup_user(name: &str) -> Option<RunAs> {
    let line = match tokio::process::Command::new("getent")
        .args(["passwd", name])
        .output()
        .await
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => tokio::fs::read_to_string("/etc/passwd")
            .await
            .ok()?
            .lines()
            .find(|l| l.split(':').next() == Some(name))?
            .to_owned(),
    };
    let fields: Vec<&str> = line.trim().split(':').collect();
    if fields.len() < 4 || fields[0] != name {
        return None;
    }
    let uid: u32 = fields[2].parse().ok()?;
    let gid: u32 = fields[3].parse().ok()?;
    (uid != 0).then(|| RunAs {
        name: name.to_owned(),
        uid,
        gid,
    })
}

/// Decides where the cluster lives (see the module documentation).
async fn cluster_root(data_dir: &Path, run_as: Option<&RunAs>) -> Result<PathBuf, EmbeddedError> {
    let pointer = data_dir.join("pg-location");
    if let Ok(text) = tokio::fs::read_to_string(&pointer).await {
        let root = PathBuf::from(text.trim());
        if root.is_absolute() {
            return Ok(root);
        }
    }
    let Some(user) = run_as else {
        return Ok(data_dir.to_path_buf());
    };
    if can_traverse(user, data_dir).await {
        return Ok(data_dir.to_path_buf());
    }
    let root = Path::new(RELOCATION_BASE).join(short_hash(&data_dir.to_string_lossy()));
    tokio::fs::create_dir_all(RELOCATION_BASE)
        .await
        .map_err(io_err("create", Path::new(RELOCATION_BASE)))?;
    tokio::fs::write(&pointer, format!("{}\n", root.display()))
        .await
        .map_err(io_err("write", &pointer))?;
    eprintln!(
        "riverchief: the `{}` user cannot enter {}, so the embedded PostgreSQL cluster lives in {} (noted in {})",
        user.name,
        data_dir.display(),
        root.display(),
        pointer.display()
    );
    Ok(root)
}

/// Whether `user` can reach `dir` (search permission on it and every ancestor).
async fn can_traverse(user: &RunAs, dir: &Path) -> bool {
    tokio::process::Command::new("test")
        .arg("-x")
        .arg(dir)
        .current_dir("/")
        .uid(user.uid)
        .gid(user.gid)
        .status()
        .await
        .is_ok_and(|s| s.success())
}

fn socket_dir_for(root: &Path) -> PathBuf {
    let dir = root.join("sock");
    if dir.as_os_str().len() <= MAX_SOCKET_DIR_LEN {
        dir
    } else {
        std::env::temp_dir().join(format!(
            "riverchief-{}",
            short_hash(&root.to_string_lossy())
        ))
    }
}

fn check_path(path: &Path) -> Result<(), EmbeddedError> {
    if path.to_string_lossy().contains(['"', '$', '`', '\\']) {
        return Err(EmbeddedError::UnsupportedPath {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

async fn read_major(pg_version: &Path) -> Option<u32> {
    tokio::fs::read_to_string(pg_version)
        .await
        .ok()?
        .trim()
        .parse()
        .ok()
}

const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

fn missing_programs(dir: &Path) -> Vec<&'static str> {
    SERVER_PROGRAMS
        .into_iter()
        .filter(|p| !dir.join(p).is_file())
        .collect()
}

/// Finds the PostgreSQL server programs; returns their directory and major
/// version. A cluster of major `prefer` steers the search to its version.
async fn find_binaries(
    explicit: Option<&Path>,
    prefer: Option<u32>,
) -> Result<(PathBuf, u32), EmbeddedError> {
    if let Some(dir) = explicit {
        let missing = missing_programs(dir);
        if !missing.is_empty() {
            return Err(EmbeddedError::BinDirInvalid {
                dir: dir.to_path_buf(),
                missing: missing.join(", "),
            });
        }
        let major = binary_major(dir).await?;
        return Ok((dir.to_path_buf(), major));
    }

    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(major) = prefer {
        candidates.push(PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")));
    }
    if let Ok(out) = tokio::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .await
        && out.status.success()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !dir.is_empty() {
            candidates.push(PathBuf::from(dir));
        }
    }
    for major in [18, 17, 16, 15] {
        candidates.push(PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }

    for dir in &candidates {
        if missing_programs(dir).is_empty() {
            let major = binary_major(dir).await?;
            return Ok((dir.clone(), major));
        }
    }
    let mut searched: Vec<String> = Vec::new();
    for c in candidates.iter().map(|c| c.display().to_string()) {
        if !searched.contains(&c) {
            searched.push(c);
        }
    }
    Err(EmbeddedError::PostgresNotFound {
        searched: if searched.is_empty() {
            "pg_config --bindir, /usr/lib/postgresql/*/bin and PATH".into()
        } else {
            format!("pg_config --bindir, {}", searched.join(", "))
        },
    })
}

/// Major version from `pg_ctl --version` ("pg_ctl (PostgreSQL) 15.18 (Debian …)").
async fn binary_major(dir: &Path) -> Result<u32, EmbeddedError> {
    let pg_ctl = dir.join("pg_ctl");
    let out = tokio::process::Command::new(&pg_ctl)
        .arg("--version")
        .output()
        .await
        .map_err(io_err("run", &pg_ctl))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_major(&text).ok_or_else(|| EmbeddedError::Command {
        program: "pg_ctl --version".into(),
        detail: format!("unexpected output {:?}", text.trim()),
    })
}

fn parse_major(version_output: &str) -> Option<u32> {
    let after = version_output.split("(PostgreSQL)").nth(1)?.trim_start();
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Empties a directory, keeping the directory (and its owner and mode).
async fn clear_dir(dir: &Path) -> Result<(), EmbeddedError> {
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(io_err("read", dir))?;
    while let Some(entry) = entries.next_entry().await.map_err(io_err("read", dir))? {
        let path = entry.path();
        let result = if entry.file_type().await.is_ok_and(|t| t.is_dir()) {
            tokio::fs::remove_dir_all(&path).await
        } else {
            tokio::fs::remove_file(&path).await
        };
        result.map_err(io_err("remove", &path))?;
    }
    Ok(())
}

/// The last few non-empty lines of a program's output, on one line.
fn tail(out: &Output) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines.len().saturating_sub(3);
    let joined = lines[start..].join(" | ");
    if joined.is_empty() {
        format!("exit status {}", out.status)
    } else {
        joined
    }
}

/// The last FATAL/ERROR/PANIC lines of the server log, on one line.
fn log_errors(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("FATAL") || l.contains("PANIC") || l.contains("ERROR"))
        .collect();
    let start = lines.len().saturating_sub(2);
    let joined = lines[start..].join(" | ");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_install() {
        let e = EmbeddedError::PostgisMissing { major: 16 };
        assert_eq!(
            e.to_string(),
            "PostGIS is not installed for PostgreSQL 16: apt-get install postgresql-16-postgis-3"
        );
        let e = EmbeddedError::PostgresNotFound {
            searched: "/usr/lib/postgresql/15/bin".into(),
        };
        let message = e.to_string();
        assert!(message.contains("apt-get install postgresql-15 postgresql-15-postgis-3"));
        assert!(!message.contains('\n'));
    }

    #[test]
    fn parses_the_major_version() {
        assert_eq!(
            parse_major("pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(parse_major("pg_ctl (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(parse_major("something else"), None);
    }

    #[test]
    fn long_roots_get_a_short_socket_dir() {
        let short = socket_dir_for(Path::new("/srv/riverchief"));
        assert_eq!(short, Path::new("/srv/riverchief/sock"));
        let long_root = format!("/srv/{}", "x".repeat(120));
        let dir = socket_dir_for(Path::new(&long_root));
        assert!(
            dir.as_os_str().len() <= MAX_SOCKET_DIR_LEN,
            "{}",
            dir.display()
        );
        assert!(dir.starts_with(std::env::temp_dir()));
    }

    #[test]
    fn urls_carry_the_socket_dir() {
        assert_eq!(percent_encode("/tmp/a b"), "/tmp/a%20b");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        let opts: sqlx::postgres::PgConnectOptions =
            "postgres://riverchief@localhost/riverchief?host=/tmp/a%20b"
                .parse()
                .unwrap();
        assert_eq!(
            opts.get_socket(),
            Some(Path::new("/tmp/a b").to_path_buf()).as_ref()
        );
        assert_eq!(opts.get_database(), Some("riverchief"));
    }
}
