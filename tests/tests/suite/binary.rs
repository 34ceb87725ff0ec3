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
    let base = format!("http://127.0.0.1:{port}");
    // Logging in works (it panics otherwise): the demo town is loaded.
    e2e::load::login(&client, &base, "admin", "demo-admin-2026").await;
    let page = client.get(format!("{base}/")).send().await.unwrap();
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
    let base = format!("http://127.0.0.1:{port}");
    let token = e2e::load::login(&client, &base, "admin", "demo-admin-2026").await;
    let towns: serde_json::Value = client
        .get(format!("{base}/api/v1/towns"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(towns.as_array().unwrap().len(), 1);
    terminate(child);
}

/// The reason a command that failed gave, asserted to be one line.
fn one_line_failure(out: &std::process::Output) -> String {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    stderr
}

/// The most resident memory the process `pid` has had (`VmHWM`), in MiB.
fn peak_memory_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib / 1024
}

#[tokio::test]
async fn photo_bombs_arriving_together_keep_the_server_small() {
    let dir = e2e::process::ScratchDir::new();
    let port = free_port();
    let child = serve(&dir.path().join("data"), port);
    wait_ready(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let token = e2e::load::login(&client, &base, "hz001", "demo-chief-2026").await;
    let before = peak_memory_mib(child.id());
    // 800 MB of pixels each when decoded, under 1 MB each on the wire.
    let bomb = e2e::issues::png_bomb(16384, 16384);
    let at = e2e::issues::geojson_point(e2e::issues::point_on_reach(1)).to_string();
    let sending: Vec<_> = (0..4)
        .map(|_| {
            let form = reqwest::multipart::Form::new()
                .text("location", at.clone())
                .text("category", "floating_garbage")
                .part(
                    "photo",
                    e2e::issues::photo_part(bomb.clone(), "bomb.png", "image/png"),
                );
            let request = client
                .post(format!("{base}/api/v1/issues"))
                .bearer_auth(&token)
                .multipart(form);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    for answer in sending {
        assert_eq!(answer.await.unwrap(), 422);
    }
    let after = peak_memory_mib(child.id());
    assert!(
        after < 200,
        "peak {after} MiB (before the photos: {before} MiB)"
    );
    terminate(child);
}

#[test]
fn commands_fail_with_one_line_reasons() {
    let out = Command::new(binary())
        .args(["import", "town", "/nonexistent/town.json"])
        .output()
        .unwrap();
    let stderr = one_line_failure(&out);
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

#[test]
fn user_add_refuses_a_weak_password_before_touching_the_database() {
    let dir = e2e::process::ScratchDir::new();
    let data_dir = dir.path().join("data");
    for (password, reason) in [
        ("12345678", "at least 10 characters"),
        ("Woaini1314", "most common"),
    ] {
        let out = Command::new(binary())
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["user", "add", "--login", "clerk", "--role", "admin"])
            .args(["--password", password])
            .output()
            .unwrap();
        let stderr = one_line_failure(&out);
        assert!(
            stderr.contains("--password") && stderr.contains(reason),
            "{stderr}"
        );
    }
    assert!(!data_dir.exists(), "no database was created");
}

/// A self-signed certificate for 127.0.0.1 and its key, made by openssl.
fn self_signed_certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=riverchief-test"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-addext"])
        // As issued to a server: not a CA (webpki refuses a CA as the end entity).
        .args(["basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (cert, key)
}

/// GET `path` over HTTPS trusting only `cert`; the whole answer as text.
async fn https_get(port: u16, cert: &std::path::Path, path: &str) -> std::io::Result<String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(cert).expect("certificate"))
        .expect("root");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut tls = connector.connect(name, tcp).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// `serve --tls-cert --tls-key`: the server speaks HTTPS (phones allow the
/// chief's patrol recording only over HTTPS), with the same headers; plain
/// HTTP to that port gets no answer; a key file that is not there stops
/// the start with a message naming it.
#[tokio::test]
async fn serve_with_a_certificate_speaks_https_only() {
    let dir = e2e::process::ScratchDir::new();
    let (cert, key) = self_signed_certificate(dir.path());
    let serve_tls = |port: u16, key: &std::path::Path| {
        Command::new(binary())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--tls-cert",
            ])
            .arg(&cert)
            .arg("--tls-key")
            .arg(key)
            .env("RIVERCHIEF_DATA_DIR", dir.path().join("data"))
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start riverchief")
    };

    let missing = serve_tls(free_port(), &dir.path().join("no-such-key.pem"))
        .wait_with_output()
        .unwrap();
    assert!(!missing.status.success());
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(message.contains("no-such-key.pem"), "{message}");

    let port = free_port();
    let child = e2e::process::Server::new(serve_tls(port, &key));
    let started = std::time::Instant::now();
    let ready = loop {
        match https_get(port, &cert, "/readyz").await {
            Ok(answer) if answer.starts_with("HTTP/1.1 200") => break answer,
            other if started.elapsed() > std::time::Duration::from_secs(120) => {
                panic!("no HTTPS answer from /readyz: {other:?}")
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
        }
    };
    assert!(ready.contains("\"database\":\"ok\""), "{ready}");
    let page = https_get(port, &cert, "/").await.unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.to_lowercase().contains("content-security-policy"),
        "{page}"
    );

    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP to the HTTPS port: {plain:?}");
    terminate(child);
}
