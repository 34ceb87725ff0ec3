//! `riverchief backup FILE` / `riverchief restore FILE`: the database's rows
//! and the stored files (photos) in one gzip-compressed tar archive.
//!
//! The schema is not in the archive: it is the binary's migrations. A
//! backup holds the rows (`pg_dump --data-only`, plain SQL with COPY), and
//! restore replaces every row in one transaction (`psql --single-transaction`
//! over TRUNCATE + the dump), so a failed restore leaves the database as it
//! was. The rows are dumped before the files are read: photo files are
//! written before their rows commit, so every row in the archive has its file.

use anyhow::{Context, bail};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FORMAT: &str = "riverchief-backup";
const FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "database.sql";
/// Directories of the data directory that hold uploaded files.
const FILE_DIRS: [&str; 1] = ["photos"];
/// Tables whose rows are not ours to back up: PostGIS's reference table and
/// the migration ledger (the schema comes from the binary).
const NOT_BACKED_UP: [&str; 2] = ["spatial_ref_sys", "_sqlx_migrations"];

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    format_version: u32,
    created_at: chrono::DateTime<chrono::Utc>,
    /// The newest migration applied when the backup was made.
    migration: i64,
    riverchief_version: String,
    files: usize,
}

/// What a backup or restore did, for the one line the command prints.
pub struct Summary {
    pub files: usize,
    pub database_bytes: u64,
}

/// Where the connection goes and which PostgreSQL programs to use.
pub struct Target<'a> {
    pub pool: &'a store::PgPool,
    pub url: &'a str,
    /// The embedded cluster's programs, or None to search for them.
    pub bin_dir: Option<&'a Path>,
    pub data_dir: &'a Path,
}

pub async fn backup(target: &Target<'_>, out: &Path) -> anyhow::Result<Summary> {
    let migration = latest_migration(target.pool).await?;
    let work = tempfile::tempdir_in(parent_dir(out))
        .context("cannot create a temporary directory next to the backup")?;
    let dump = work.path().join(DATABASE);
    let mut pg_dump = Command::new(program(target.bin_dir, "pg_dump")?);
    pg_dump.args([
        "--data-only",
        "--no-owner",
        "--no-privileges",
        "--quote-all-identifiers",
    ]);
    for table in NOT_BACKED_UP {
        pg_dump.arg(format!("--exclude-table=public.{table}"));
    }
    pg_dump
        .arg("--file")
        .arg(&dump)
        .arg("--dbname")
        .arg(target.url);
    run(&mut pg_dump, "pg_dump")?;

    let files = stored_files(target.data_dir)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        created_at: chrono::Utc::now(),
        migration,
        riverchief_version: env!("CARGO_PKG_VERSION").into(),
        files: files.len(),
    };
    // Write next to the destination, then rename: a crash leaves no half file.
    let partial = work.path().join("backup.partial");
    write_archive(&partial, &manifest, &dump, target.data_dir, &files)?;
    std::fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(Summary {
        files: files.len(),
        database_bytes: std::fs::metadata(&dump)?.len(),
    })
}

pub async fn restore(target: &Target<'_>, archive: &Path) -> anyhow::Result<Summary> {
    let work = tempfile::tempdir_in(target.data_dir)
        .context("cannot create a temporary directory in the data directory")?;
    let manifest = unpack(archive, work.path())?;
    let migration = latest_migration(target.pool).await?;
    if manifest.migration > migration {
        bail!(
            "{} was made by a newer riverchief (migration {} > {migration}); restore it with that version",
            archive.display(),
            manifest.migration
        );
    }
    let dump = work.path().join(DATABASE);
    let script = work.path().join("restore.sql");
    write_restore_script(target.pool, &dump, &script).await?;
    let mut psql = Command::new(program(target.bin_dir, "psql")?);
    psql.args([
        "--no-psqlrc",
        "--quiet",
        "--single-transaction",
        "-v",
        "ON_ERROR_STOP=1",
    ])
    .arg("--file")
    .arg(&script)
    .arg("--dbname")
    .arg(target.url);
    run(&mut psql, "psql (restoring the rows)")?;
    // The rows are in; now the files they point at.
    for dir in FILE_DIRS {
        let restored = work.path().join(dir);
        let live = target.data_dir.join(dir);
        let old = work.path().join(format!("{dir}.replaced"));
        if live.exists() {
            std::fs::rename(&live, &old)
                .with_context(|| format!("cannot move {} aside", live.display()))?;
        }
        if restored.exists() {
            std::fs::rename(&restored, &live)
                .with_context(|| format!("cannot put back {}", live.display()))?;
        }
    }
    Ok(Summary {
        files: manifest.files,
        database_bytes: std::fs::metadata(&dump)?.len(),
    })
}

async fn latest_migration(pool: &store::PgPool) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COALESCE(max(version), 0) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .context("cannot read the migration ledger")
}

/// TRUNCATE every table the dump fills, then the dump: one transaction.
async fn write_restore_script(
    pool: &store::PgPool,
    dump: &Path,
    script: &Path,
) -> anyhow::Result<()> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
         WHERE schemaname = 'public' AND tablename <> ALL($1) ORDER BY tablename",
    )
    .bind(NOT_BACKED_UP.map(str::to_owned).to_vec())
    .fetch_all(pool)
    .await?;
    let mut out = BufWriter::new(File::create(script)?);
    writeln!(
        out,
        "TRUNCATE {} RESTART IDENTITY CASCADE;",
        tables.join(", ")
    )?;
    std::io::copy(&mut BufReader::new(File::open(dump)?), &mut out)?;
    out.flush()?;
    Ok(())
}

fn write_archive(
    path: &Path,
    manifest: &Manifest,
    dump: &Path,
    data_dir: &Path,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    let gz = GzEncoder::new(BufWriter::new(File::create(path)?), Compression::default());
    let mut tar = tar::Builder::new(gz);
    let json = serde_json::to_vec_pretty(manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, json.as_slice())?;
    tar.append_path_with_name(dump, DATABASE)?;
    for relative in files {
        tar.append_path_with_name(data_dir.join(relative), relative)?;
    }
    let gz = tar.into_inner()?;
    let mut writer = gz.finish()?;
    writer.flush()?;
    writer.get_ref().sync_all()?;
    Ok(())
}

/// Unpacks into `into`, checking every entry's name: only the manifest, the
/// dump and files under the known directories, no absolute paths or `..`.
fn unpack(archive: &Path, into: &Path) -> anyhow::Result<Manifest> {
    let file = File::open(archive).with_context(|| format!("cannot read {}", archive.display()))?;
    let mut tar = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    let not_a_backup = || format!("{} is not a riverchief backup", archive.display());
    for entry in tar.entries().with_context(not_a_backup)? {
        let mut entry = entry.with_context(not_a_backup)?;
        let name = entry.path()?.into_owned();
        let allowed = name == Path::new(MANIFEST)
            || name == Path::new(DATABASE)
            || FILE_DIRS.iter().any(|d| name.starts_with(d));
        let plain = name
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !allowed || !plain || !entry.header().entry_type().is_file() {
            bail!("{}: unexpected entry {}", not_a_backup(), name.display());
        }
        let dest = into.join(&name);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        entry.unpack(&dest).with_context(not_a_backup)?;
    }
    let manifest: Manifest = std::fs::read(into.join(MANIFEST))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .with_context(|| format!("{}: no readable {MANIFEST}", not_a_backup()))?;
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        bail!(
            "{}: format {} version {}",
            not_a_backup(),
            manifest.format,
            manifest.format_version
        );
    }
    if !into.join(DATABASE).is_file() {
        bail!("{}: no {DATABASE}", not_a_backup());
    }
    Ok(manifest)
}

/// The stored files, relative to the data directory, in a stable order.
fn stored_files(data_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending: Vec<PathBuf> = FILE_DIRS.iter().map(PathBuf::from).collect();
    while let Some(relative) = pending.pop() {
        let dir = data_dir.join(&relative);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // nothing uploaded yet
        };
        for entry in entries {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A PostgreSQL client program: the embedded cluster's, else `pg_config
/// --bindir`, the Debian directories or PATH.
fn program(bin_dir: Option<&Path>, name: &str) -> anyhow::Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = bin_dir.map(Path::to_path_buf).into_iter().collect();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    candidates.extend(
        (15..=18)
            .rev()
            .map(|v| PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"))),
    );
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{name} not found: install the PostgreSQL client (Debian: postgresql-client-15)"
            )
        })
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        bail!("{what} failed ({}): {last}", out.status);
    }
    Ok(())
}
