//! The `riverchief` binary as a newcomer runs it: no DATABASE_URL, a fresh
//! data directory. The server comes up on the embedded database, answers
//! /readyz, stops with its cluster on SIGTERM, and a second start reuses
//! the data.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The debug binary, built (or brought up to date) once per test process:
/// the e2e crate does not depend on the binary, so cargo would not rebuild it.
fn binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "riverchief"])
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(data_dir: &std::path::Path, port: u16) -> Child {
    Command::new(binary())
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .env("RIVERCHIEF_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start riverchief")
}

async fn wait_ready(port: u16) -> serde_json::Value {
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

fn terminate(mut child: Child) {
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
fn postmaster_pid(data_dir: &std::path::Path) -> PathBuf {
    let root = std::fs::read_to_string(data_dir.join("pg-location"))
        .map(|s| PathBuf::from(s.trim()))
        .unwrap_or_else(|_| data_dir.to_path_buf());
    root.join("pg").join("postmaster.pid")
}

#[tokio::test]
async fn serve_without_database_url_uses_the_embedded_cluster_and_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let port = free_port();
    let child = serve(&data_dir, port);
    assert_eq!(wait_ready(port).await["database"], "ok");
    let client = reqwest::Client::new();
    let login = client
        .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
        .json(&serde_json::json!({"login": "admin", "password": "demo-admin-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let page = client
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(postmaster_pid(&data_dir).exists(), "cluster running");
    terminate(child);
    assert!(
        !postmaster_pid(&data_dir).exists(),
        "cluster stopped with the server"
    );

    // Second start: same data (the demo town is there, not loaded twice).
    let port = free_port();
    let child = serve(&data_dir, port);
    wait_ready(port).await;
    let token: serde_json::Value = client
        .post(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
        .json(&serde_json::json!({"login": "admin", "password": "demo-admin-2026"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let towns: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/api/v1/towns"))
        .bearer_auth(token["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(towns.as_array().unwrap().len(), 1);
    terminate(child);
}

#[test]
fn commands_fail_with_one_line_reasons() {
    let out = Command::new(binary())
        .args(["import", "town", "/nonexistent/town.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot read /nonexistent/town.json"),
        "{stderr}"
    );
    let help = Command::new(binary()).arg("--help").output().unwrap();
    assert!(help.status.success());
    for command in ["serve", "migrate", "import", "demo", "user"] {
        assert!(String::from_utf8_lossy(&help.stdout).contains(command));
    }
}
