//! The `riverchief` binary as a newcomer runs it: no DATABASE_URL, a fresh
//! data directory. The server comes up on the embedded database, answers
//! /readyz, stops with its cluster on SIGTERM, and a second start reuses
//! the data.

use e2e::process::{binary, free_port, postmaster_pid, serve, terminate, wait_ready};
use std::process::Command;

#[tokio::test]
async fn serve_without_database_url_uses_the_embedded_cluster_and_stops_it() {
    let dir = e2e::process::ScratchDir::new();
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
