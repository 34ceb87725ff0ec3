//! Open311 GeoReport v2 end to end, checked field by field against the
//! spec (<https://wiki.open311.org/GeoReport_v2/>), in JSON and XML, errors
//! included; reporters' contact details never come back out.

use e2e::issues::{act, jpeg_with_gps, photo_part, point_on_reach, report_multipart, xml_leaves};
use e2e::{TestServer, logins};
use serde_json::{Value, json};

const CONTACT: [(&str, &str); 4] = [
    ("email", "wang.reporter@example.com"),
    ("phone", "13912345678"),
    ("first_name", "小明"),
    ("last_name", "王"),
];

struct Answer {
    status: u16,
    content_type: String,
    text: String,
    retry_after: Option<String>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    Answer {
        status: response.status().as_u16(),
        content_type,
        retry_after,
        text: response.text().await.expect("text"),
    }
}

async fn get(server: &TestServer, path: &str) -> Answer {
    answer(server.client.get(server.url(path))).await
}

async fn post(server: &TestServer, path: &str, form: &[(&str, String)]) -> Answer {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    answer(
        server
            .client
            .post(server.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn complaint(at: [f64; 2]) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("jurisdiction_id", "530127104".to_owned()),
        ("api_key", "ignored".to_owned()),
        ("service_code", "floating_garbage".to_owned()),
        ("lat", at[1].to_string()),
        ("long", at[0].to_string()),
        ("description", "桥下有大量漂浮垃圾 <塑料> & 泡沫".to_owned()),
    ];
    form.extend(CONTACT.iter().map(|(k, v)| (*k, (*v).to_owned())));
    form
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    k.sort();
    k
}

const REQUEST_FIELDS: [&str; 17] = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
];

fn assert_w3c_cst(value: &Value) {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("datetime: {value}"));
    assert!(s.ends_with("+08:00"), "{s}");
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
}

fn assert_no_contact(text: &str) {
    for (_, v) in CONTACT {
        assert!(!text.contains(v), "contact {v} leaked: {text}");
    }
}

#[tokio::test]
async fn services_in_json_and_xml() {
    let server = TestServer::with_demo().await;
    let a = get(&server, "/open311/v2/services.json").await;
    assert_eq!(a.status, 200);
    assert!(
        a.content_type.starts_with("application/json"),
        "{}",
        a.content_type
    );
    let services = a.json();
    let services = services.as_array().expect("array");
    assert_eq!(services.len(), 8);
    for s in services {
        assert_eq!(
            keys(s),
            sorted(&[
                "service_code",
                "service_name",
                "description",
                "metadata",
                "type",
                "keywords",
                "group"
            ])
        );
        assert_eq!(s["metadata"], false);
        assert_eq!(s["type"], "realtime");
        for k in [
            "service_code",
            "service_name",
            "description",
            "keywords",
            "group",
        ] {
            assert!(!s[k].as_str().unwrap().is_empty(), "{k} of {s}");
        }
    }
    assert_eq!(services[0]["service_code"], "floating_garbage");
    assert_eq!(services[0]["service_name"], "漂浮垃圾");
    assert_eq!(services[0]["group"], "水环境污染");
    assert!(
        services[0]["keywords"]
            .as_str()
            .unwrap()
            .contains("漂浮垃圾")
    );
    let codes: Vec<&str> = services
        .iter()
        .map(|s| s["service_code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "floating_garbage",
            "sewage",
            "sand_mining",
            "encroachment",
            "siltation",
            "water_quality",
            "facility_damage",
            "other"
        ]
    );

    let x = get(
        &server,
        "/open311/v2/services.xml?jurisdiction_id=530127104",
    )
    .await;
    assert_eq!(x.status, 200);
    assert!(x.content_type.starts_with("text/xml"), "{}", x.content_type);
    assert!(
        x.text
            .starts_with(r#"<?xml version="1.0" encoding="utf-8"?><services><service>"#)
    );
    let leaves = xml_leaves(&x.text);
    let first: Vec<(&str, &str)> = leaves[..7]
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        first,
        [
            ("services/service/service_code", "floating_garbage"),
            ("services/service/service_name", "漂浮垃圾"),
            (
                "services/service/description",
                services[0]["description"].as_str().unwrap()
            ),
            ("services/service/metadata", "false"),
            ("services/service/type", "realtime"),
            (
                "services/service/keywords",
                services[0]["keywords"].as_str().unwrap()
            ),
            ("services/service/group", "水环境污染"),
        ]
    );
    assert_eq!(leaves.len(), 8 * 7);
}

#[tokio::test]
async fn a_complaint_round_trip_in_json_and_contacts_never_leak() {
    let server = TestServer::with_demo().await;
    let at = point_on_reach(1);
    let a = post(&server, "/open311/v2/requests.json", &complaint(at)).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert!(a.content_type.starts_with("application/json"));
    let created = a.json();
    assert_eq!(created.as_array().unwrap().len(), 1);
    assert_eq!(
        keys(&created[0]),
        sorted(&["service_request_id", "service_notice", "account_id"])
    );
    assert!(created[0]["account_id"].is_null());
    assert!(
        created[0]["service_notice"]
            .as_str()
            .unwrap()
            .contains("大村村河长")
    );
    let id = created[0]["service_request_id"]
        .as_str()
        .expect("a string id")
        .to_owned();

    let a = get(&server, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_no_contact(&a.text);
    let list = a.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let r = &list[0];
    assert_eq!(keys(r), sorted(&REQUEST_FIELDS));
    assert_eq!(r["service_request_id"], id.as_str());
    assert_eq!(r["status"], "open");
    assert_eq!(r["status_notes"], "已受理，等待派单");
    assert_eq!(r["service_name"], "漂浮垃圾");
    assert_eq!(r["service_code"], "floating_garbage");
    assert_eq!(r["description"], "桥下有大量漂浮垃圾 <塑料> & 泡沫");
    assert_eq!(r["agency_responsible"], "大村村河长");
    assert!(r["service_notice"].is_string());
    assert_w3c_cst(&r["requested_datetime"]);
    assert_w3c_cst(&r["updated_datetime"]);
    assert_w3c_cst(&r["expected_datetime"]);
    for k in ["address", "address_id", "zipcode", "media_url"] {
        assert!(r[k].is_null(), "{k}: {r}");
    }
    assert_eq!(r["lat"].as_f64(), Some(at[1]));
    assert_eq!(r["long"].as_f64(), Some(at[0]));

    // The office sees a public issue, and only that contact details exist.
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let response = server
        .client
        .get(server.url(&format!("/api/v1/issues/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert_no_contact(&text);
    let issue: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(issue["source"], "public");
    assert_eq!(issue["reporter_contact"], "联系方式已保存");
    assert_eq!(issue["level"], "village");
    assert!(issue["history"][0]["actor"].is_null());
    for (login, password) in [logins::ASSESSOR, logins::CHIEF_1] {
        let token = server.login(login, password).await;
        let (status, issue) = server
            .get(&format!("/api/v1/issues/{id}"), Some(&token))
            .await;
        assert_eq!(status, 200);
        assert!(issue.get("reporter_contact").is_none(), "{login}");
        assert_no_contact(&issue.to_string());
        let (_, list) = server.get("/api/v1/issues", Some(&token)).await;
        assert_no_contact(&list.to_string());
    }
    // Kept in the database for the office to call back, but not in the audit log.
    let contact: Value = sqlx::query_scalar("SELECT reporter_contact FROM issues WHERE id = $1")
        .bind(id.parse::<i64>().unwrap())
        .fetch_one(server.db.pool())
        .await
        .unwrap();
    assert_eq!(contact["email"], CONTACT[0].1);
    assert_eq!(contact["phone"], CONTACT[1].1);
    let audit: Vec<Value> = sqlx::query_scalar("SELECT details FROM audit_log")
        .fetch_all(server.db.pool())
        .await
        .unwrap();
    assert_no_contact(&json!(audit).to_string());

    // The list shows it; status follows the lifecycle (closed only when closed).
    let a = get(&server, "/open311/v2/requests.json").await;
    assert_eq!(a.status, 200);
    assert_no_contact(&a.text);
    assert_eq!(a.json().as_array().unwrap().len(), 1);
    let n: i64 = id.parse().unwrap();
    act(
        &server,
        Some(&admin),
        n,
        json!({"action": "reject", "note": "经核查为倒影"}),
    )
    .await;
    let r = &get(&server, &format!("/open311/v2/requests/{id}.json"))
        .await
        .json()[0];
    assert_eq!(r["status"], "closed");
    assert_eq!(r["status_notes"], "经核查不予受理，已关闭");
    assert!(r["expected_datetime"].is_null());
    assert!(
        !r.to_string().contains("倒影"),
        "internal notes stay internal"
    );
}

#[tokio::test]
async fn a_complaint_round_trip_in_xml() {
    let server = TestServer::with_demo().await;
    let at = point_on_reach(2);
    let a = post(&server, "/open311/v2/requests.xml", &complaint(at)).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert!(a.content_type.starts_with("text/xml"));
    let leaves = xml_leaves(&a.text);
    let paths: Vec<&str> = leaves.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "service_requests/request/service_request_id",
            "service_requests/request/service_notice",
            "service_requests/request/account_id",
        ]
    );
    assert_eq!(leaves[2].1, "", "account_id is empty");
    let id = leaves[0].1.clone();

    let a = get(&server, &format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.content_type.starts_with("text/xml"));
    assert_no_contact(&a.text);
    let leaves = xml_leaves(&a.text);
    let names: Vec<&str> = leaves
        .iter()
        .map(|(p, _)| p.strip_prefix("service_requests/request/").expect(p))
        .collect();
    assert_eq!(names, REQUEST_FIELDS, "every field, in the spec's order");
    let field = |name: &str| {
        leaves
            .iter()
            .find(|(p, _)| p.ends_with(&format!("/{name}")))
            .map(|(_, t)| t.as_str())
            .unwrap()
    };
    assert_eq!(field("service_request_id"), id);
    assert_eq!(field("status"), "open");
    assert_eq!(field("service_code"), "floating_garbage");
    assert_eq!(field("description"), "桥下有大量漂浮垃圾 <塑料> & 泡沫");
    assert_eq!(field("agency_responsible"), "小新街村河长");
    assert_eq!(field("lat").parse::<f64>().unwrap(), at[1]);
    assert_eq!(field("long").parse::<f64>().unwrap(), at[0]);
    assert!(field("requested_datetime").ends_with("+08:00"));
    assert_eq!(field("media_url"), "");
    assert_eq!(field("zipcode"), "");

    let a = get(&server, "/open311/v2/requests.xml?status=open").await;
    assert_eq!(a.status, 200);
    let ids: Vec<String> = xml_leaves(&a.text)
        .into_iter()
        .filter(|(p, _)| p.ends_with("/service_request_id"))
        .map(|(_, t)| t)
        .collect();
    assert_eq!(ids, [id]);
}

#[tokio::test]
async fn errors_are_in_the_spec_format() {
    let server = TestServer::with_demo().await;
    let at = point_on_reach(1);
    let without = |field: &str| -> Vec<(&'static str, String)> {
        complaint(at)
            .into_iter()
            .filter(|(k, _)| *k != field)
            .collect()
    };
    let mut unknown = complaint(at);
    unknown[2].1 = "ufo_sighting".into();
    let mut bad_lat = complaint(at);
    bad_lat[3].1 = "north".into();
    let mut lat_only = without("long");
    lat_only.retain(|(k, _)| *k != "address_string");
    type Form = Vec<(&'static str, String)>;
    let cases: Vec<(&str, Form, &str)> = vec![
        ("no service_code", without("service_code"), "service_code"),
        ("unknown service_code", unknown, "ufo_sighting"),
        ("bad lat", bad_lat, "lat"),
        ("lat without long", lat_only, "lat and long"),
        (
            "no place at all",
            without("lat")
                .into_iter()
                .filter(|(k, _)| *k != "long")
                .collect(),
            "lat and long are required",
        ),
    ];
    for (what, form, mentions) in cases {
        let a = post(&server, "/open311/v2/requests.json", &form).await;
        assert_eq!(a.status, 400, "{what}: {}", a.text);
        assert!(a.content_type.starts_with("application/json"));
        let errors = a.json();
        assert_eq!(errors.as_array().unwrap().len(), 1, "{what}");
        assert_eq!(keys(&errors[0]), sorted(&["code", "description"]));
        assert_eq!(errors[0]["code"], 400);
        let description = errors[0]["description"].as_str().unwrap();
        assert!(description.contains(mentions), "{what}: {description}");

        let x = post(&server, "/open311/v2/requests.xml", &form).await;
        assert_eq!(x.status, 400, "{what}");
        assert!(x.content_type.starts_with("text/xml"));
        assert_eq!(
            xml_leaves(&x.text),
            [
                ("errors/error/code".to_owned(), "400".to_owned()),
                (
                    "errors/error/description".to_owned(),
                    description.to_owned()
                ),
            ],
            "{what}"
        );
    }
    assert_eq!(server.count("issues").await, 0, "nothing kept");

    let a = get(&server, "/open311/v2/requests/999.json").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json()[0]["code"], 404);
    let x = get(&server, "/open311/v2/requests/999.xml").await;
    assert_eq!(x.status, 404);
    assert_eq!(
        xml_leaves(&x.text)[0],
        ("errors/error/code".to_owned(), "404".to_owned())
    );
    let a = get(&server, "/open311/v2/requests.json?start_date=last+week").await;
    assert_eq!(a.status, 400);
    assert!(
        a.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("start_date")
    );
    let a = get(&server, "/open311/v2/requests.json?status=pending").await;
    assert_eq!(a.status, 400);
    let a = get(&server, "/open311/v2/requests.json?service_request_id=1,x").await;
    assert_eq!(a.status, 400);
    // A JSON body where a form is expected.
    let a = answer(
        server
            .client
            .post(server.url("/open311/v2/requests.json"))
            .json(&json!({"service_code": "sewage"})),
    )
    .await;
    assert_eq!(a.status, 415, "{}", a.text);
    assert_eq!(a.json()[0]["code"], 415);

    // With no town at all, nobody serves the request.
    let empty = TestServer::start().await;
    let a = post(&empty, "/open311/v2/requests.json", &complaint(at)).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert!(
        a.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("not near")
    );
}

#[tokio::test]
async fn the_request_list_filters_and_defaults_to_90_days() {
    let server = TestServer::with_demo().await;
    let mut ids = vec![];
    for (n, code) in [(1, "floating_garbage"), (2, "sewage"), (3, "sewage")] {
        let mut form = complaint(point_on_reach(n));
        form[2].1 = code.into();
        let a = post(&server, "/open311/v2/requests.json", &form).await;
        assert_eq!(a.status, 201, "{}", a.text);
        ids.push(
            a.json()[0]["service_request_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let listed = |a: Answer| -> Vec<String> {
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(
        listed(get(&server, "/open311/v2/requests.json").await),
        newest_first
    );
    assert_eq!(
        listed(get(&server, "/open311/v2/requests.json?service_code=sewage").await),
        [ids[2].clone(), ids[1].clone()]
    );
    assert_eq!(
        listed(
            get(
                &server,
                &format!(
                    "/open311/v2/requests.json?service_request_id={},{}",
                    ids[0], ids[2]
                )
            )
            .await
        ),
        [ids[2].clone(), ids[0].clone()]
    );
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    act(
        &server,
        Some(&admin),
        ids[1].parse().unwrap(),
        json!({"action": "reject", "note": "重复"}),
    )
    .await;
    assert_eq!(
        listed(get(&server, "/open311/v2/requests.json?status=closed").await),
        [ids[1].clone()]
    );
    assert_eq!(
        listed(get(&server, "/open311/v2/requests.json?status=open").await),
        [ids[2].clone(), ids[0].clone()]
    );
    assert_eq!(
        listed(get(&server, "/open311/v2/requests.json?status=open,closed").await),
        newest_first
    );
    // An old request is outside the default 90 days, but found by date or id.
    sqlx::query("UPDATE issues SET created_at = now() - interval '100 days' WHERE id = $1")
        .bind(ids[0].parse::<i64>().unwrap())
        .execute(server.db.pool())
        .await
        .unwrap();
    assert_eq!(
        listed(get(&server, "/open311/v2/requests.json").await),
        [ids[2].clone(), ids[1].clone()]
    );
    let since = (chrono::Utc::now() - chrono::TimeDelta::days(120))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .to_rfc3339();
    assert_eq!(
        listed(
            get(
                &server,
                &format!(
                    "/open311/v2/requests.json?start_date={}",
                    since.replace('+', "%2B")
                )
            )
            .await
        ),
        newest_first
    );
    assert_eq!(
        listed(
            get(
                &server,
                &format!("/open311/v2/requests.json?service_request_id={}", ids[0])
            )
            .await
        ),
        [ids[0].clone()]
    );
    assert_eq!(
        listed(get(&server, "/open311/v2/requests.json?end_date=2020-01-01").await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn an_address_naming_a_village_places_the_complaint() {
    let server = TestServer::with_demo().await;
    let form = vec![
        ("service_code", "sewage".to_owned()),
        ("address_string", "杨柳村小桥下游".to_owned()),
        ("description", "有污水管直排".to_owned()),
    ];
    let a = post(&server, "/open311/v2/requests.json", &form).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = &get(&server, &format!("/open311/v2/requests/{id}.json"))
        .await
        .json()[0];
    assert_eq!(r["address"], "杨柳村小桥下游");
    assert_eq!(r["agency_responsible"], "杨柳村河长");
    let form = vec![
        ("service_code", "sewage".to_owned()),
        ("address_string", "火星基地".to_owned()),
    ];
    let a = post(&server, "/open311/v2/requests.json", &form).await;
    assert_eq!(a.status, 400);
    assert!(
        a.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("address_string")
    );
}

#[tokio::test]
async fn posting_is_rate_limited_per_address() {
    let server = TestServer::start_with(|c| c.open311_posts_per_hour = 3).await;
    store::demo::load_town(server.db.pool()).await.unwrap();
    for _ in 0..3 {
        let a = post(
            &server,
            "/open311/v2/requests.json",
            &complaint(point_on_reach(1)),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let a = post(
        &server,
        "/open311/v2/requests.json",
        &complaint(point_on_reach(1)),
    )
    .await;
    assert_eq!(a.status, 429, "{}", a.text);
    assert!(a.retry_after.is_some());
    assert_eq!(a.json()[0]["code"], 429);
    let x = post(
        &server,
        "/open311/v2/requests.xml",
        &complaint(point_on_reach(1)),
    )
    .await;
    assert_eq!(x.status, 429);
    assert_eq!(xml_leaves(&x.text)[0].1, "429");
    assert_eq!(server.count("issues").await, 3);
    // Reading is not limited.
    assert_eq!(get(&server, "/open311/v2/requests.json").await.status, 200);
}

#[tokio::test]
async fn the_public_photo_copy_has_no_exif() {
    let server = TestServer::with_demo().await;
    let admin = server.login(logins::ADMIN.0, logins::ADMIN.1).await;
    let at = point_on_reach(4);
    let original = jpeg_with_gps(120, 90, at);
    assert!(
        e2e::issues::jpeg_markers(&original).contains(&0xE1),
        "the upload has EXIF"
    );
    let form = reqwest::multipart::Form::new()
        .text("category", "encroachment")
        .text("description", "河道内违建")
        .part(
            "photo",
            photo_part(original.clone(), "IMG_2041.jpg", "image/jpeg"),
        );
    let (status, issue) = report_multipart(&server, &admin, form).await;
    assert_eq!(status, 201, "{issue}");
    assert_eq!(issue["location_source"], "exif");
    let id = issue["id"].as_i64().unwrap();

    let r = &get(&server, &format!("/open311/v2/requests/{id}.json"))
        .await
        .json()[0];
    let media_url = r["media_url"].as_str().expect("media_url");
    let photo_id = issue["photos"][0]["id"].as_i64().unwrap();
    assert_eq!(
        media_url,
        format!("{}/open311/v2/media/{photo_id}.jpg", server.base)
    );

    let response = server.client.get(media_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let public = response.bytes().await.unwrap().to_vec();
    let markers = e2e::issues::jpeg_markers(&public);
    assert!(
        !markers.contains(&0xE1),
        "no APP1/EXIF in the public copy: {markers:02X?}"
    );
    assert!(!public.windows(6).any(|w| w == b"Exif\0\0"));
    assert_eq!(api::photos::exif_location(&public), None);
    let decoded = image::load_from_memory(&public).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (120, 90));
    // The staff copy is the original, EXIF and all.
    let staff = server
        .client
        .get(server.url(issue["photos"][0]["url"].as_str().unwrap()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(staff.to_vec(), original);
    assert_eq!(get(&server, "/open311/v2/media/999.jpg").await.status, 404);
    assert_eq!(get(&server, "/open311/v2/media/abc").await.status, 404);
}

/// What a chief or the office wrote is internal: the public list shows the
/// issue's status, category and place, not its description.
#[tokio::test]
async fn internal_descriptions_stay_internal() {
    let server = TestServer::with_demo().await;
    let chief = server.login(logins::CHIEF_1.0, logins::CHIEF_1.1).await;
    let note = "张某某家养殖场排污，已口头警告";
    let (status, issue) = server
        .post_json(
            "/api/v1/issues",
            Some(&chief),
            &json!({"location": {"type": "Point", "coordinates": point_on_reach(1)},
                    "category": "sewage", "description": note}),
        )
        .await;
    assert_eq!(status, 201, "{issue}");
    let public = post(
        &server,
        "/open311/v2/requests.json",
        &complaint(point_on_reach(2)),
    )
    .await;
    assert_eq!(public.status, 201, "{}", public.text);

    let list = get(&server, "/open311/v2/requests.json").await;
    assert_eq!(list.status, 200);
    assert!(!list.text.contains("张某某"), "{}", list.text);
    let one = get(
        &server,
        &format!("/open311/v2/requests/{}.json", issue["id"]),
    )
    .await;
    let row = &one.json()[0];
    assert_eq!(row["service_code"], "sewage");
    assert_eq!(row["status"], "open");
    assert!(row["lat"].is_number(), "{row}");
    assert!(row.get("description").is_none_or(Value::is_null), "{row}");
    // The public's own words stay on their request.
    let theirs = list.json();
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["description"].is_string()),
        "{}",
        list.text
    );
}
