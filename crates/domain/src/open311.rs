//! Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2/>): the
//! documents the public API answers, in JSON (serde) and XML (written here,
//! so the element order and the empty elements are exactly the spec's), and
//! the W3C datetimes it speaks.
//!
//! Times are written in China Standard Time with their offset
//! (`2026-07-01T08:00:00+08:00`); times read without an offset are taken as
//! CST, the time the public lives in.
//!
//! ```
//! use domain::open311::{Open311Error, errors_xml};
//! let xml = errors_xml(&[Open311Error::new(400, "service_code <x> is unknown")]);
//! assert!(xml.ends_with("<errors><error><code>400</code><description>service_code &lt;x&gt; is unknown</description></error></errors>"));
//! ```

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::time::{CST, cst_day_start_utc, format_cst_rfc3339};

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

/// One service (an issue category): `GET services.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// Always `false`: no extra attributes are asked.
    pub metadata: bool,
    /// Always `realtime`: requests become issues at once.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub keywords: String,
    pub group: String,
}

/// One service request (an issue) as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRequest {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    pub status_notes: Option<String>,
    pub service_name: String,
    pub service_code: String,
    pub description: Option<String>,
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    pub requested_datetime: String,
    pub updated_datetime: Option<String>,
    pub expected_datetime: Option<String>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub lat: f64,
    pub long: f64,
    pub media_url: Option<String>,
}

/// The answer to `POST requests.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestCreated {
    pub service_request_id: String,
    pub service_notice: Option<String>,
    /// Always null: requests are anonymous.
    pub account_id: Option<String>,
}

/// One error, `{"code": 400, "description": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Open311Error {
    pub code: u16,
    pub description: String,
}

impl Open311Error {
    pub fn new(code: u16, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
}

/// `open` or `closed`: only a closed issue is closed for the public (a
/// resolved one still waits for the office to verify the fix).
pub fn status(status: crate::issues::Status) -> &'static str {
    if status.is_open() { "open" } else { "closed" }
}

/// A W3C datetime in CST with its offset.
pub fn datetime(t: DateTime<Utc>) -> String {
    format_cst_rfc3339(t)
}

/// Reads a W3C datetime (`2026-07-01T08:00:00+08:00`, `…Z`, `2026-07-01T08:00+08:00`,
/// `2026-07-01T08:00:00`, `2026-07-01`); without an offset the time is CST,
/// and a bare date is its 00:00 CST.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use domain::open311::parse_datetime;
/// let t = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
/// assert_eq!(parse_datetime("2026-07-01T08:00:00+08:00"), Some(t));
/// assert_eq!(parse_datetime("2026-07-01T00:00:00Z"), Some(t));
/// assert_eq!(parse_datetime("2026-07-01T08:00:00"), Some(t));
/// assert_eq!(parse_datetime("2026-07-01"), Some(t - chrono::TimeDelta::hours(8)));
/// assert_eq!(parse_datetime("yesterday"), None);
/// ```
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.to_utc());
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%:z") {
        return Some(t.to_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, format) {
            return naive.and_local_timezone(CST).single().map(|t| t.to_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(cst_day_start_utc)
}

/// Escapes text for an XML element's content or an attribute value.
///
/// ```
/// assert_eq!(domain::open311::xml_escape(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
/// ```
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn element(out: &mut String, name: &str, value: Option<&str>) {
    match value {
        Some(v) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            out.push_str(&xml_escape(v));
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        None => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
    }
}

/// `<services><service>…</service></services>`.
pub fn services_xml(services: &[Service]) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str("<services>");
    for s in services {
        out.push_str("<service>");
        element(&mut out, "service_code", Some(&s.service_code));
        element(&mut out, "service_name", Some(&s.service_name));
        element(&mut out, "description", Some(&s.description));
        element(
            &mut out,
            "metadata",
            Some(if s.metadata { "true" } else { "false" }),
        );
        element(&mut out, "type", Some(s.kind));
        element(&mut out, "keywords", Some(&s.keywords));
        element(&mut out, "group", Some(&s.group));
        out.push_str("</service>");
    }
    out.push_str("</services>");
    out
}

/// A service definition (GeoReport v2 `GET services/{service_code}`): the
/// extra attributes a request of the service asks for. Ours ask for none,
/// as the standard allows (`metadata: false` in the service list).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceDefinition {
    pub service_code: String,
    pub attributes: Vec<serde_json::Value>,
}

/// `<service_definition><service_code/><attributes/></service_definition>`.
pub fn service_definition_xml(definition: &ServiceDefinition) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str("<service_definition>");
    element(&mut out, "service_code", Some(&definition.service_code));
    out.push_str("<attributes></attributes></service_definition>");
    out
}

/// `<service_requests><request>…</request></service_requests>`.
pub fn requests_xml(requests: &[ServiceRequest]) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str("<service_requests>");
    for r in requests {
        let lat = r.lat.to_string();
        let long = r.long.to_string();
        out.push_str("<request>");
        element(&mut out, "service_request_id", Some(&r.service_request_id));
        element(&mut out, "status", Some(r.status));
        element(&mut out, "status_notes", r.status_notes.as_deref());
        element(&mut out, "service_name", Some(&r.service_name));
        element(&mut out, "service_code", Some(&r.service_code));
        element(&mut out, "description", r.description.as_deref());
        element(
            &mut out,
            "agency_responsible",
            r.agency_responsible.as_deref(),
        );
        element(&mut out, "service_notice", r.service_notice.as_deref());
        element(&mut out, "requested_datetime", Some(&r.requested_datetime));
        element(&mut out, "updated_datetime", r.updated_datetime.as_deref());
        element(
            &mut out,
            "expected_datetime",
            r.expected_datetime.as_deref(),
        );
        element(&mut out, "address", r.address.as_deref());
        element(&mut out, "address_id", r.address_id.as_deref());
        element(&mut out, "zipcode", r.zipcode.as_deref());
        element(&mut out, "lat", Some(&lat));
        element(&mut out, "long", Some(&long));
        element(&mut out, "media_url", r.media_url.as_deref());
        out.push_str("</request>");
    }
    out.push_str("</service_requests>");
    out
}

/// The answer to a POST in XML.
pub fn created_xml(created: &[RequestCreated]) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str("<service_requests>");
    for c in created {
        out.push_str("<request>");
        element(&mut out, "service_request_id", Some(&c.service_request_id));
        element(&mut out, "service_notice", c.service_notice.as_deref());
        element(&mut out, "account_id", c.account_id.as_deref());
        out.push_str("</request>");
    }
    out.push_str("</service_requests>");
    out
}

/// `<errors><error><code>…</code><description>…</description></error></errors>`.
pub fn errors_xml(errors: &[Open311Error]) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str("<errors>");
    for e in errors {
        out.push_str("<error>");
        element(&mut out, "code", Some(&e.code.to_string()));
        element(&mut out, "description", Some(&e.description));
        out.push_str("</error>");
    }
    out.push_str("</errors>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn request() -> ServiceRequest {
        ServiceRequest {
            service_request_id: "7".into(),
            status: "open",
            status_notes: Some("正在处理".into()),
            service_name: "漂浮垃圾".into(),
            service_code: "floating_garbage".into(),
            description: Some("河面有<塑料>瓶 & 泡沫".into()),
            agency_responsible: Some("大村村河长".into()),
            service_notice: None,
            requested_datetime: "2026-07-01T08:00:00+08:00".into(),
            updated_datetime: Some("2026-07-01T09:00:00+08:00".into()),
            expected_datetime: None,
            address: None,
            address_id: None,
            zipcode: None,
            lat: 25.3,
            long: 103.1,
            media_url: None,
        }
    }

    #[test]
    fn request_xml_has_every_field_in_order_with_empty_elements() {
        let xml = requests_xml(&[request()]);
        assert_eq!(
            xml,
            concat!(
                r#"<?xml version="1.0" encoding="utf-8"?><service_requests><request>"#,
                "<service_request_id>7</service_request_id><status>open</status>",
                "<status_notes>正在处理</status_notes><service_name>漂浮垃圾</service_name>",
                "<service_code>floating_garbage</service_code>",
                "<description>河面有&lt;塑料&gt;瓶 &amp; 泡沫</description>",
                "<agency_responsible>大村村河长</agency_responsible><service_notice/>",
                "<requested_datetime>2026-07-01T08:00:00+08:00</requested_datetime>",
                "<updated_datetime>2026-07-01T09:00:00+08:00</updated_datetime>",
                "<expected_datetime/><address/><address_id/><zipcode/>",
                "<lat>25.3</lat><long>103.1</long><media_url/></request></service_requests>"
            )
        );
    }

    #[test]
    fn request_json_names_and_nulls() {
        let v = serde_json::to_value(request()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys.len(), 17);
        assert_eq!(v["long"], 103.1);
        assert!(v["media_url"].is_null());
        assert_eq!(
            serde_json::to_value(RequestCreated {
                service_request_id: "1".into(),
                service_notice: None,
                account_id: None
            })
            .unwrap(),
            serde_json::json!({"service_request_id": "1", "service_notice": null, "account_id": null})
        );
    }

    #[test]
    fn services_xml_and_json() {
        let s = Service {
            service_code: "sewage".into(),
            service_name: "污水直排".into(),
            description: "Sewage discharge".into(),
            metadata: false,
            kind: "realtime",
            keywords: "sewage,污水直排".into(),
            group: "水环境污染".into(),
        };
        assert!(services_xml(std::slice::from_ref(&s)).contains(
            "<service><service_code>sewage</service_code><service_name>污水直排</service_name>\
             <description>Sewage discharge</description><metadata>false</metadata>\
             <type>realtime</type><keywords>sewage,污水直排</keywords><group>水环境污染</group></service>"
        ));
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["type"], "realtime");
        assert_eq!(v["metadata"], false);
    }

    #[test]
    fn control_characters_are_dropped_from_xml() {
        assert_eq!(xml_escape("a\u{1}b\nc"), "ab\nc");
    }

    #[test]
    fn datetimes_are_cst_with_offset() {
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 20, 0, 0).unwrap();
        assert_eq!(datetime(t), "2027-01-01T04:00:00+08:00");
        assert_eq!(parse_datetime(&datetime(t)), Some(t));
        assert_eq!(parse_datetime("2027-01-01T04:00+08:00"), Some(t));
        assert_eq!(parse_datetime("2027-01-01T04:00"), Some(t));
    }

    #[test]
    fn public_status() {
        use crate::issues::Status;
        assert_eq!(status(Status::Resolved), "open");
        assert_eq!(status(Status::Closed), "closed");
    }
}
