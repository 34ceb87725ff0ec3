//! `riverchief backup` / `restore` round trip (issue #8): a town with a
//! patrol and an issue with a photo is backed up from one data directory
//! and restored into a fresh one, where the same rows and the same photo
//! bytes come back; restoring under a running server and restoring a file
//! that is not a backup are refused and change nothing.

use e2e::issues::{photo_part, png, point_on_reach};
use e2e::process::{binary, free_port, serve, terminate, wait_ready};
use e2e::tracks;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn riverchief(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env("RIVERCHIEF_DATA_DIR", data_dir)
        .env("RIVERCHIEF_LOG", "warn")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run riverchief")
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn login(port: u16, login: &str, password: &str) -> Self {
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let token = e2e::load::login(&http, &base, login, password).await;
        Self { http, base, token }
    }

    async fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    async fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}");
        serde_json::from_slice(&body).unwrap()
    }
}

/// What must survive: the patrols, the issues and a photo's bytes.
async fn snapshot(client: &Client, photo_url: &str) -> (Value, Value, Vec<u8>) {
    let patrols = client.json("/api/v1/patrols").await;
    let issues = client.json("/api/v1/issues").await;
    let (status, photo) = client.get(photo_url).await;
    assert_eq!(status, 200, "{photo_url}");
    (patrols, issues, photo)
}

#[tokio::test]
async fn a_backup_restores_rows_and_photos_into_a_fresh_data_directory() {
    let dir = e2e::process::ScratchDir::new();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let archive = dir.path().join("riverchief.tar.gz");

    let port = free_port();
    let server = serve(&first, port);
    wait_ready(port).await;
    let chief = Client::login(port, "hz001", "demo-chief-2026").await;
    let start = chrono::Utc::now() - chrono::Duration::hours(5);
    let gpx = tracks::gpx(&tracks::walk(&tracks::demo_reach(1), start, 4.0, 5, 3.0));
    let upload = chief
        .http
        .post(format!("{}/api/v1/patrols", chief.base))
        .bearer_auth(&chief.token)
        .header("content-type", "application/gpx+xml")
        .body(gpx)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201);
    let form = reqwest::multipart::Form::new()
        .text("lon", point_on_reach(1)[0].to_string())
        .text("lat", point_on_reach(1)[1].to_string())
        .text("category", "floating_garbage")
        .part("photo", photo_part(png(64, 48), "p.png", "image/png"));
    let issue: Value = chief
        .http
        .post(format!("{}/api/v1/issues", chief.base))
        .bearer_auth(&chief.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let photo_url = issue["photos"][0]["url"]
        .as_str()
        .expect("photo url")
        .to_owned();
    let before = snapshot(&chief, &photo_url).await;
    // The demo season's patrols of HZ001 and the one just uploaded.
    assert!(!before.0.as_array().unwrap().is_empty());

    // A backup is safe while the server runs; a restore is not.
    let out = riverchief(&first, &["backup", archive.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The photo, its thumbnail and its public copy.
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with(" 3 files\n"),
        "{out:?}"
    );
    let out = riverchief(&first, &["restore", archive.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stop it"),
        "{out:?}"
    );
    terminate(server);

    // Not a backup: refused, the fresh directory's database stays empty.
    let junk = dir.path().join("junk.tar.gz");
    std::fs::write(&junk, b"not a backup at all").unwrap();
    let out = riverchief(&second, &["restore", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a riverchief backup"),
        "{out:?}"
    );

    let out = riverchief(&second, &["restore", archive.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let server = serve(&second, port);
    wait_ready(port).await;
    // The chief's account came back with the rows: the same password works.
    let chief = Client::login(port, "hz001", "demo-chief-2026").await;
    let after = snapshot(&chief, &photo_url).await;
    assert_eq!(after.0, before.0, "patrols");
    assert_eq!(after.1["id"], before.1["id"]);
    assert_eq!(
        after.1.as_array().map(Vec::len),
        before.1.as_array().map(Vec::len),
        "issues"
    );
    assert_eq!(after.2, before.2, "photo bytes");
    // New rows get fresh ids after the restored ones (sequences restored).
    let start = chrono::Utc::now() - chrono::Duration::hours(3);
    let gpx = tracks::gpx(&tracks::walk(&tracks::demo_reach(1), start, 4.0, 5, 3.0));
    let upload: Value = chief
        .http
        .post(format!("{}/api/v1/patrols", chief.base))
        .bearer_auth(&chief.token)
        .header("content-type", "application/gpx+xml")
        .body(gpx)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = before.0.as_array().unwrap().iter();
    let newest = ids.filter_map(|p| p["id"].as_i64()).max();
    assert!(upload["id"].as_i64() > newest, "{upload}");
    terminate(server);
}
