//! `riverchief`: the command line. Wires storage and the HTTP API together;
//! no logic of its own beyond choosing what to run.

mod backup;
mod compliance;
mod db;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "riverchief",
    version,
    about = "河长制巡河服务 — river-chief patrols, compliance and problems"
)]
struct Cli {
    /// Data directory: the embedded database cluster and uploaded files.
    #[arg(
        long,
        env = "RIVERCHIEF_DATA_DIR",
        default_value = ".riverchief",
        global = true
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (embedded database unless DATABASE_URL is set).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "RIVERCHIEF_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Load the demo town first when the database has no town yet.
        #[arg(long)]
        demo: bool,
        /// Serve HTTPS with this PEM certificate chain (with --tls-key).
        /// Phones allow location (the chief's patrol recording) only to
        /// pages over HTTPS, or on the phone itself.
        #[arg(long, env = "RIVERCHIEF_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, env = "RIVERCHIEF_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        public: PublicSide,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Import data.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Load the demo town 牛栏江镇 (idempotent) and print its logins.
    Demo,
    /// Write the database's rows and the uploaded files to FILE (.tar.gz);
    /// safe while the server runs.
    Backup {
        /// The archive to write (replaced atomically).
        file: PathBuf,
    },
    /// Replace every row and uploaded file with those of a backup, in one
    /// transaction. Stop the server first.
    Restore {
        /// An archive written by `riverchief backup`.
        file: PathBuf,
    },
    /// Show or set a town's patrol rule thresholds.
    Rules {
        /// The town's 9-digit code (default: the only town).
        #[arg(long)]
        town: Option<String>,
        /// New overrides as a JSON object, e.g. '{"min_coverage": 0.6}'; omit to show.
        #[arg(long)]
        set: Option<String>,
    },
    /// Print the weekly compliance table (default: the week in progress),
    /// a quarter's matrix, or the chiefs without a valid patrol yet this week.
    Compliance {
        /// ISO week in CST, e.g. 2026-W48.
        #[arg(long, conflicts_with_all = ["quarter", "overdue"])]
        week: Option<domain::time::IsoWeek>,
        /// Quarter of weeks, e.g. 2026-Q4.
        #[arg(long, conflicts_with = "overdue")]
        quarter: Option<domain::time::Quarter>,
        /// The overdue list of the week in progress.
        #[arg(long)]
        overdue: bool,
        /// Only this town (9-digit code).
        #[arg(long)]
        town: Option<String>,
    },
    /// Produce reports.
    Report {
        #[command(subcommand)]
        what: ReportWhat,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

/// How the server meets the public: behind which proxy, under which name,
/// how many connections at once.
#[derive(Args)]
struct PublicSide {
    /// The reverse proxy (an IP address or a network such as 10.0.0.0/8)
    /// whose X-Forwarded-For/-Host/-Proto headers are believed: the
    /// limits on password guesses then count the client's address.
    #[arg(long, env = "RIVERCHIEF_TRUSTED_PROXY", value_parser = api::forwarded::parse_trusted_proxy)]
    trusted_proxy: Option<api::forwarded::IpNet>,
    /// The server's public address, e.g. https://hz.example.cn: the base
    /// of the links it hands out (Open311 media_url).
    #[arg(long, env = "RIVERCHIEF_PUBLIC_URL", value_parser = api::forwarded::parse_public_url)]
    public_url: Option<String>,
    /// Most connections served at once; more wait until one closes.
    #[arg(long, env = "RIVERCHIEF_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Import a town document (JSON, see docs/import.md); idempotent by codes.
    Town {
        /// The JSON file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ReportWhat {
    /// The quarterly assessment per chief, party branch and town.
    Quarterly {
        /// e.g. 2026-Q3.
        #[arg(long)]
        quarter: String,
        #[command(flatten)]
        output: ReportOutput,
    },
    /// The year view: the four quarters side by side and the year's rate.
    Yearly {
        /// e.g. 2026 (the ISO week-year).
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        output: ReportOutput,
    },
}

/// Where and how a report is written, the same for every period.
#[derive(Args)]
struct ReportOutput {
    /// csv | xlsx | pdf | json.
    #[arg(long, default_value = "csv")]
    format: String,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// The town's 9-digit code; default: the only town.
    #[arg(long)]
    town: Option<String>,
}

#[derive(Subcommand)]
enum UserAction {
    /// Create an account.
    Add {
        #[arg(long)]
        login: String,
        #[arg(long)]
        password: String,
        /// admin | chief | assessor
        #[arg(long)]
        role: String,
        /// The chief's code (role chief).
        #[arg(long)]
        chief: Option<String>,
        /// Limit the account to one town (9-digit code); default: the only town, if there is one.
        #[arg(long)]
        town: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RIVERCHIEF_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("RIVERCHIEF_LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            demo,
            tls_cert,
            tls_key,
            public,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => {
                    Some(api::tls_acceptor(&cert, &key).map_err(anyhow::Error::msg)?)
                }
                _ => None,
            };
            serve(&cli.data_dir, listen, demo, tls, public).await
        }
        Command::Migrate => {
            let db = db::Database::open(&cli.data_dir).await?;
            println!("migrations applied");
            db.close().await
        }
        Command::Import {
            what: ImportWhat::Town { file },
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let town = domain::import::parse(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let db = db::Database::open(&cli.data_dir).await?;
            let result = store::import::import_town(&db.pool, &town, None).await;
            let closed = db.close().await;
            let summary = result?;
            println!(
                "imported town {} ({}): {} villages, {} branches, {} rivers, {} reaches, {} chiefs, {} new accounts",
                town.town.name,
                town.town.code,
                summary.villages,
                summary.branches,
                summary.rivers,
                summary.reaches,
                summary.chiefs,
                summary.users_created
            );
            closed
        }
        Command::Report { what } => {
            let (period, ReportOutput { format, out, town }) = match what {
                ReportWhat::Quarterly { quarter, output } => {
                    let quarter = quarter
                        .parse()
                        .map_err(|e| anyhow::anyhow!("--quarter: {e}"))?;
                    (Period::Quarter(quarter), output)
                }
                ReportWhat::Yearly { year, output } => {
                    let year = domain::time::Year::new(year)
                        .map_err(|e| anyhow::anyhow!("--year: {e}"))?;
                    (Period::Year(year), output)
                }
            };
            if !matches!(format.as_str(), "csv" | "xlsx" | "pdf" | "json") {
                anyhow::bail!("--format {format}: not supported; use csv, xlsx, pdf or json");
            }
            let db = db::Database::open(&cli.data_dir).await?;
            let result = report(&db.pool, period, &format, town.as_deref()).await;
            let closed = db.close().await;
            let bytes = result?;
            std::fs::write(&out, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("wrote {} ({} bytes)", out.display(), bytes.len());
            closed
        }
        Command::Demo => {
            let db = db::Database::open(&cli.data_dir).await?;
            let result = store::demo::load(&db.pool, chrono::Utc::now()).await;
            let closed = db.close().await;
            print_loaded(&result?);
            closed
        }
        Command::Backup { file } => {
            let db = db::Database::open(&cli.data_dir).await?;
            let result = backup::backup(&backup_target(&db, &cli.data_dir), &file).await;
            let closed = db.close().await;
            let summary = result?;
            println!(
                "wrote {}: {} bytes of rows, {} files",
                file.display(),
                summary.database_bytes,
                summary.files
            );
            closed
        }
        Command::Restore { file } => {
            let db = db::Database::open(&cli.data_dir).await?;
            let result = if db.in_use_by_a_server() {
                Err(anyhow::anyhow!(
                    "a riverchief server is using the database in {}: stop it, then restore",
                    cli.data_dir.display()
                ))
            } else {
                backup::restore(&backup_target(&db, &cli.data_dir), &file).await
            };
            let closed = db.close().await;
            let summary = result?;
            println!(
                "restored {}: {} bytes of rows, {} files",
                file.display(),
                summary.database_bytes,
                summary.files
            );
            closed
        }
        Command::Rules { town, set } => {
            let db = db::Database::open(&cli.data_dir).await?;
            let result = rules(&db.pool, town.as_deref(), set.as_deref()).await;
            let closed = db.close().await;
            println!("{}", result?);
            closed
        }
        Command::Compliance {
            week,
            quarter,
            overdue,
            town,
        } => {
            let view = match (week, quarter, overdue) {
                (_, _, true) => compliance::View::Overdue,
                (_, Some(q), false) => compliance::View::Quarter(q),
                (week, None, false) => compliance::View::Week(week),
            };
            let db = db::Database::open(&cli.data_dir).await?;
            let result = compliance::run(&db.pool, view, town.as_deref()).await;
            let closed = db.close().await;
            result.and(closed)
        }
        Command::User {
            action:
                UserAction::Add {
                    login,
                    password,
                    role,
                    chief,
                    town,
                },
        } => {
            // Refused before the database is opened (or created).
            domain::import::check_credentials(
                "--login",
                "--password",
                Some(&login),
                Some(&password),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let db = db::Database::open(&cli.data_dir).await?;
            let result = add_user(
                &db.pool,
                &login,
                &password,
                &role,
                chief.as_deref(),
                town.as_deref(),
            )
            .await;
            let closed = db.close().await;
            let user = result?;
            println!(
                "created {} account {:?} (id {})",
                user.role.as_str(),
                user.login,
                user.id
            );
            closed
        }
    }
}

fn backup_target<'a>(db: &'a db::Database, data_dir: &'a std::path::Path) -> backup::Target<'a> {
    backup::Target {
        pool: &db.pool,
        url: &db.url,
        bin_dir: db.bin_dir(),
        data_dir,
    }
}

async fn serve(
    data_dir: &std::path::Path,
    listen: SocketAddr,
    demo: bool,
    tls: Option<api::serve::TlsAcceptor>,
    public: PublicSide,
) -> anyhow::Result<()> {
    let db = db::Database::open(data_dir).await?;
    if demo && store::roster::is_empty(&db.pool).await? {
        let loaded = store::demo::load(&db.pool, chrono::Utc::now()).await?;
        print_loaded(&loaded);
    }
    let config = api::Config {
        data_dir: data_dir.to_path_buf(),
        trusted_proxy: public.trusted_proxy,
        public_url: public.public_url,
        max_connections: public.max_connections as usize,
        ..api::Config::default()
    };
    let serving = api::Serving::new(&config, tls);
    let server_pool = db.server_pool().await?;
    let app = api::router(api::ApiContext::new(server_pool.clone(), config));
    // Reminders and bulletins: the scheduler decides, the worker sends;
    // both keep their state in the database (safe with several servers).
    let outbox = api::outbox::spawn_worker(server_pool.clone(), Default::default());
    let scheduler = api::outbox::spawn_scheduler(
        server_pool.clone(),
        std::sync::Arc::new(api::outbox::SystemClock),
        std::time::Duration::from_secs(60),
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let scheme = if serving.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("riverchief is serving on {scheme}://{listen}/  (Ctrl-C to stop)");
    api::serve(listener, app, serving, shutdown_signal()).await;
    tracing::info!("shutting down");
    outbox.abort();
    scheduler.abort();
    server_pool.close().await;
    db.close().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

async fn town_id(pool: &store::PgPool, code: Option<&str>) -> anyhow::Result<i64> {
    let towns = store::roster::towns(pool, None).await?;
    match code {
        Some(code) => towns
            .iter()
            .find(|t| t.code == code)
            .map(|t| t.id)
            .ok_or_else(|| anyhow::anyhow!("no town with code {code}")),
        None if towns.len() == 1 => Ok(towns[0].id),
        None => anyhow::bail!(
            "there are {} towns: say which with --town CODE",
            towns.len()
        ),
    }
}

async fn rules(
    pool: &store::PgPool,
    town: Option<&str>,
    set: Option<&str>,
) -> anyhow::Result<String> {
    let town_id = town_id(pool, town).await?;
    let rules = match set {
        Some(json) => {
            let overrides: serde_json::Value = serde_json::from_str(json)
                .map_err(|e| anyhow::anyhow!("--set is not JSON: {e}"))?;
            store::rules::set(pool, town_id, &overrides, None).await?
        }
        None => store::rules::get(pool, town_id).await?.1,
    };
    Ok(serde_json::to_string_pretty(&rules)?)
}

async fn add_user(
    pool: &store::PgPool,
    login: &str,
    password: &str,
    role: &str,
    chief: Option<&str>,
    town: Option<&str>,
) -> anyhow::Result<store::auth::User> {
    let role = store::auth::Role::parse(role)
        .ok_or_else(|| anyhow::anyhow!("--role must be admin, chief or assessor, not {role:?}"))?;
    let towns = store::roster::towns(pool, None).await?;
    let town_id = match town {
        Some(code) => Some(
            towns
                .iter()
                .find(|t| t.code == code)
                .ok_or_else(|| anyhow::anyhow!("no town with code {code}"))?
                .id,
        ),
        None if towns.len() == 1 => Some(towns[0].id),
        None => None,
    };
    let chief_id = match (role, chief) {
        (store::auth::Role::Chief, None) => anyhow::bail!("--role chief needs --chief CODE"),
        (_, Some(code)) => {
            let chiefs = store::roster::chiefs(pool, town_id, None).await?;
            Some(
                chiefs
                    .iter()
                    .find(|c| c.code == code)
                    .ok_or_else(|| anyhow::anyhow!("no chief with code {code}"))?
                    .id,
            )
        }
        (_, None) => None,
    };
    let mut conn = pool.acquire().await?;
    Ok(store::auth::create_user(
        &mut conn,
        store::auth::NewUser {
            login,
            password,
            role,
            chief_id,
            town_id,
        },
    )
    .await?)
}

fn print_loaded(loaded: &store::demo::Loaded) {
    println!(
        "demo town 牛栏江镇 ({}) loaded. Logins:",
        store::demo::TOWN_CODE
    );
    for l in &loaded.logins {
        println!("  {:<10} {:<20} {}", l.login, l.password, l.what);
    }
    println!("{}", loaded.season);
}

enum Period {
    Quarter(domain::time::Quarter),
    Year(domain::time::Year),
}

async fn report(
    pool: &store::PgPool,
    period: Period,
    format: &str,
    town: Option<&str>,
) -> anyhow::Result<Vec<u8>> {
    use api::reports::Assessment;
    let towns = store::roster::towns(pool, None).await?;
    let town = match town {
        Some(code) => towns
            .iter()
            .find(|t| t.code == code)
            .ok_or_else(|| anyhow::anyhow!("--town {code}: no such town"))?,
        None => match towns.as_slice() {
            [one] => one,
            [] => anyhow::bail!("no town yet: import one first"),
            _ => anyhow::bail!("several towns: name one with --town CODE"),
        },
    };
    let now = chrono::Utc::now();
    let report = match period {
        Period::Quarter(q) => {
            Assessment::Quarter(store::reports::quarterly(pool, town.id, q, now).await?)
        }
        Period::Year(y) => Assessment::Year(store::reports::yearly(pool, town.id, y, now).await?),
    };
    Ok(match (format, &report) {
        ("csv", Assessment::Quarter(q)) => api::reports::to_csv(q)?,
        ("csv", Assessment::Year(y)) => api::reports::year_to_csv(y)?,
        ("xlsx", Assessment::Quarter(q)) => api::reports::to_xlsx(q)?,
        ("xlsx", Assessment::Year(y)) => api::reports::year_to_xlsx(y)?,
        ("pdf", _) => api::reports::to_pdf(&report, None)?,
        (_, Assessment::Quarter(q)) => serde_json::to_vec_pretty(q)?,
        (_, Assessment::Year(y)) => serde_json::to_vec_pretty(y)?,
    })
}
