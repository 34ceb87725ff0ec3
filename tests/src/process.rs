//! The `riverchief` binary as a process: built once, served on a free port
//! with its own data directory, stopped with SIGTERM.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The debug binary, built (or brought up to date) once per test process:
/// the e2e crate does not depend on the binary, so cargo would not rebuild it.
/// `--workspace --bins --tests` resolves features exactly as
/// `cargo test --workspace` does, so after that it is a no-op; `-p riverchief`
/// alone would unify fewer features and rebuild hyper, tower and the typst
/// stack a second time.
pub fn binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "--workspace", "--bins", "--tests"])
                .status()
                .expect("cargo build");
            assert!(status.success());
            // target/debug/deps/binary-<hash> → target/debug/riverchief
            let exe = std::env::current_exe().expect("test exe");
            exe.parent()
                .and_then(|d| d.parent())
                .expect("target dir")
                .join("riverchief")
        })
        .clone()
}

/// A temporary directory for the binary's data directories (itself or its
/// subdirectories). Dropped, it stops each embedded cluster still running
/// there and deletes it with its relocated copy
/// (`/var/lib/riverchief/<hash>`, where a cluster made by root goes when
/// `postgres` cannot enter `/tmp/…`): a plain tempdir leaves those behind,
/// a few hundred MB per test.
pub struct ScratchDir(Option<tempfile::TempDir>);

impl ScratchDir {
    pub fn new() -> Self {
        Self(Some(tempfile::tempdir().expect("temp dir")))
    }

    pub fn path(&self) -> &std::path::Path {
        self.0.as_ref().expect("scratch dir").path()
    }
}

impl Default for ScratchDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let Some(dir) = self.0.take() else { return };
        let children = std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/embedded-pg.sh");
        for data_dir in std::iter::once(dir.path().to_path_buf()).chain(children) {
            if !data_dir.join("pg-location").exists() && !data_dir.join("pg").exists() {
                continue;
            }
            let cleaned = Command::new("bash")
                .args([script, "clean"])
                .arg(&data_dir)
                .stdout(Stdio::null())
                .status();
            if !cleaned.as_ref().is_ok_and(|s| s.success()) {
                eprintln!("could not clean {}: {cleaned:?}", data_dir.display());
            }
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `riverchief`, killed when dropped before [`terminate`]
/// stopped it: a test that fails half-way leaves no server behind (its
/// cluster is then stopped by the [`ScratchDir`] it lives in).
pub struct Server(Option<Child>);

impl Server {
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    /// The process id (for /proc/<pid>/status).
    pub fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn serve(data_dir: &std::path::Path, port: u16) -> Server {
    Server::new(
        Command::new(binary())
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .env("RIVERCHIEF_DATA_DIR", data_dir)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start riverchief"),
    )
}

pub async fn wait_ready(port: u16) -> serde_json::Value {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && r.status() == 200
        {
            return r.json().await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Stops the server with SIGTERM, as an operator would, and checks that it
/// exits cleanly within a minute.
pub fn terminate(mut server: Server) {
    let mut child = server.0.take().expect("running");
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "riverchief exited with {status}");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The cluster's postmaster.pid (wherever the cluster was put).
pub fn postmaster_pid(data_dir: &std::path::Path) -> PathBuf {
    let root = std::fs::read_to_string(data_dir.join("pg-location"))
        .map(|s| PathBuf::from(s.trim()))
        .unwrap_or_else(|_| data_dir.to_path_buf());
    root.join("pg").join("postmaster.pid")
}
