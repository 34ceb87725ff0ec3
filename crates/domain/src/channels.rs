//! Messages to a town's channels (企业微信 and 钉钉 group robots, a generic
//! webhook): what a message says, the exact JSON each vendor documents, the
//! signatures, and how long to wait before trying a failed one again.
//! Pure: the outbox (crates/store) keeps the bodies, the worker sends them.

use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

/// Where a channel posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// 企业微信群机器人: `{"msgtype": "text"|"markdown", ...}`.
    Wecom,
    /// 钉钉自定义机器人, optionally signed (加签).
    Dingtalk,
    /// Any HTTP endpoint: our own JSON, optionally signed.
    Webhook,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wecom => "wecom",
            Self::Dingtalk => "dingtalk",
            Self::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "wecom" => Some(Self::Wecom),
            "dingtalk" => Some(Self::Dingtalk),
            "webhook" => Some(Self::Webhook),
            _ => None,
        }
    }
}

/// What a message is about; a channel subscribes to some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// 催办: the chiefs who have not patrolled yet this week.
    Reminder,
    /// 周通报: last week's results.
    Bulletin,
    /// A problem on the river (reserved for issue notifications).
    Issue,
}

impl Event {
    pub const ALL: [Event; 3] = [Event::Reminder, Event::Bulletin, Event::Issue];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Bulletin => "bulletin",
            Self::Issue => "issue",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// Why a channel's settings cannot be kept. `code()` is the API's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("kind must be wecom, dingtalk or webhook, got {0:?}")]
    UnknownKind(String),
    #[error("url must be an http:// or https:// address with a host, got {0:?}")]
    InvalidUrl(String),
    #[error("event must be reminder, bulletin or issue, got {0:?}")]
    UnknownEvent(String),
    #[error("a channel needs at least one event")]
    NoEvents,
}

impl ChannelError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownKind(_) => "invalid_channel_kind",
            Self::InvalidUrl(_) => "invalid_channel_url",
            Self::UnknownEvent(_) | Self::NoEvents => "invalid_channel_events",
        }
    }

    /// The field of the channel the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::UnknownKind(_) => "kind",
            Self::InvalidUrl(_) => "url",
            Self::UnknownEvent(_) | Self::NoEvents => "events",
        }
    }
}

/// Checks a robot's address: http or https, a host, no spaces, at most
/// 2,000 characters (the vendors' addresses are about 120).
///
/// ```
/// use domain::channels::check_url;
/// assert!(check_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc").is_ok());
/// assert!(check_url("ftp://example.com/").is_err());
/// assert!(check_url("https:///nohost").is_err());
/// ```
pub fn check_url(url: &str) -> Result<(), ChannelError> {
    let invalid = || ChannelError::InvalidUrl(url.chars().take(100).collect());
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let bad_char = |c: char| c.is_whitespace() || c.is_control();
    if host.is_empty() || url.len() > 2000 || url.chars().any(bad_char) {
        return Err(invalid());
    }
    Ok(())
}

/// Parses a channel's kind and events (each at most once, in the order given).
pub fn parse_channel(
    kind: &str,
    events: &[String],
) -> Result<(ChannelKind, Vec<Event>), ChannelError> {
    let kind = ChannelKind::parse(kind).ok_or_else(|| ChannelError::UnknownKind(kind.into()))?;
    let mut parsed = Vec::new();
    for e in events {
        let event = Event::parse(e).ok_or_else(|| ChannelError::UnknownEvent(e.clone()))?;
        if !parsed.contains(&event) {
            parsed.push(event);
        }
    }
    if parsed.is_empty() {
        return Err(ChannelError::NoEvents);
    }
    Ok((kind, parsed))
}

/// The town a message is from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TownRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// A chief a message names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedChief {
    pub chief_id: i64,
    pub code: String,
    pub name: String,
    pub phone: Option<String>,
    /// The chief's weekly status (`pending`, `missed`, ...).
    pub status: String,
}

/// One message for every channel of a town: the text is zh-CN, markdown
/// for bulletins and plain for reminders.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub event: Event,
    pub town: TownRef,
    pub week: String,
    /// The chiefs named (reminders: the ones to @).
    pub chiefs: Vec<NamedChief>,
    /// A short title (钉钉 shows it in the chat list).
    pub title: String,
    pub text: String,
}

impl Message {
    /// The phones to @: the named chiefs' of a reminder, none in a bulletin
    /// (naming is not summoning).
    fn mentions(&self) -> Vec<&str> {
        if self.event != Event::Reminder {
            return Vec::new();
        }
        self.chiefs
            .iter()
            .filter_map(|c| c.phone.as_deref())
            .filter(|p| !p.trim().is_empty())
            .collect()
    }
}

/// The JSON body a channel of `kind` is sent, in the vendor's documented
/// format (企业微信 群机器人 text/markdown; 钉钉 自定义机器人 markdown with
/// `at`; our webhook's own document).
///
/// ```
/// use domain::channels::*;
/// let m = Message {
///     event: Event::Reminder,
///     town: TownRef { id: 1, code: "530127104".into(), name: "牛栏江镇".into() },
///     week: "2026-W49".into(),
///     chiefs: vec![NamedChief { chief_id: 7, code: "HZ001".into(), name: "张三".into(),
///                               phone: Some("13800000000".into()), status: "pending".into() }],
///     title: "巡河催办".into(),
///     text: "张三 尚未巡河".into(),
/// };
/// let body: serde_json::Value = serde_json::from_str(&render(ChannelKind::Wecom, &m)).unwrap();
/// assert_eq!(body["msgtype"], "text");
/// assert_eq!(body["text"]["mentioned_mobile_list"][0], "13800000000");
/// ```
pub fn render(kind: ChannelKind, message: &Message) -> String {
    let mentions = message.mentions();
    let body = match kind {
        ChannelKind::Wecom if message.event == Event::Reminder => json!({
            "msgtype": "text",
            "text": {"content": message.text, "mentioned_mobile_list": mentions},
        }),
        ChannelKind::Wecom => json!({
            "msgtype": "markdown",
            "markdown": {"content": message.text},
        }),
        ChannelKind::Dingtalk => {
            // 钉钉 shows the @ only when the text itself names the phone.
            let mut text = message.text.clone();
            for phone in &mentions {
                text.push_str(&format!(" @{phone}"));
            }
            json!({
                "msgtype": "markdown",
                "markdown": {"title": message.title, "text": text},
                "at": {"atMobiles": mentions, "isAtAll": false},
            })
        }
        ChannelKind::Webhook => json!({
            "event": message.event.as_str(),
            "town": message.town,
            "week": message.week,
            "chiefs": message.chiefs,
            "text": message.text,
        }),
    };
    body.to_string()
}

type HmacSha256 = hmac::Hmac<Sha256>;

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// 钉钉 加签: the `sign` of a request at `timestamp_ms`, URL-encoded
/// base64 of HMAC-SHA256("{timestamp}\n{secret}") keyed with the secret.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let digest = hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    );
    percent_encode(&base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The address a 钉钉 robot is posted to: with a secret, the robot's URL
/// plus `&timestamp=…&sign=…` (the robot rejects a timestamp over an hour
/// old, so it is computed at each attempt).
pub fn dingtalk_url(url: &str, secret: Option<&str>, timestamp_ms: i64) -> String {
    match secret {
        None => url.to_owned(),
        Some(secret) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            let sign = dingtalk_sign(secret, timestamp_ms);
            format!("{url}{separator}timestamp={timestamp_ms}&sign={sign}")
        }
    }
}

/// `X-Riverchief-Signature` of a webhook body: `sha256=<hex HMAC-SHA256>`.
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let digest = hmac_sha256(secret.as_bytes(), body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How long to wait after the `attempts`-th failed attempt: `first`,
/// doubling each time, at most `cap`.
///
/// ```
/// use std::time::Duration;
/// use domain::channels::retry_delay;
/// let (first, cap) = (Duration::from_secs(30), Duration::from_secs(3600));
/// assert_eq!(retry_delay(1, first, cap), Duration::from_secs(30));
/// assert_eq!(retry_delay(3, first, cap), Duration::from_secs(120));
/// assert_eq!(retry_delay(40, first, cap), cap);
/// ```
pub fn retry_delay(attempts: u32, first: Duration, cap: Duration) -> Duration {
    let doublings = attempts.saturating_sub(1).min(30);
    first.saturating_mul(1 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn message(event: Event) -> Message {
        Message {
            event,
            town: TownRef {
                id: 1,
                code: "530127104".into(),
                name: "牛栏江镇".into(),
            },
            week: "2026-W49".into(),
            chiefs: vec![NamedChief {
                chief_id: 7,
                code: "HZ001".into(),
                name: "张三".into(),
                phone: Some("13800000000".into()),
                status: "pending".into(),
            }],
            title: "巡河催办".into(),
            text: "张三 尚未巡河".into(),
        }
    }

    fn parsed(kind: ChannelKind, event: Event) -> Value {
        serde_json::from_str(&render(kind, &message(event))).unwrap()
    }

    #[test]
    fn each_kind_renders_the_vendor_format() {
        assert_eq!(
            parsed(ChannelKind::Wecom, Event::Reminder),
            json!({"msgtype": "text", "text": {"content": "张三 尚未巡河",
                   "mentioned_mobile_list": ["13800000000"]}})
        );
        assert_eq!(
            parsed(ChannelKind::Wecom, Event::Bulletin),
            json!({"msgtype": "markdown", "markdown": {"content": "张三 尚未巡河"}})
        );
        assert_eq!(
            parsed(ChannelKind::Dingtalk, Event::Reminder),
            json!({"msgtype": "markdown",
                   "markdown": {"title": "巡河催办", "text": "张三 尚未巡河 @13800000000"},
                   "at": {"atMobiles": ["13800000000"], "isAtAll": false}})
        );
        let webhook = parsed(ChannelKind::Webhook, Event::Bulletin);
        assert_eq!(webhook["event"], "bulletin");
        assert_eq!(webhook["town"]["code"], "530127104");
        assert_eq!(webhook["chiefs"][0]["status"], "pending");
    }

    #[test]
    fn dingtalk_signature_matches_the_documented_example() {
        // HMAC-SHA256 of "1700000000000\nSECxyz" keyed "SECxyz", base64,
        // then URL-encoded ('+', '/', '=' escaped).
        let sign = dingtalk_sign("SECxyz", 1_700_000_000_000);
        assert!(!sign.contains(['+', '/', '=']), "{sign}");
        let url = dingtalk_url(
            "https://oapi.dingtalk.com/robot/send?access_token=t",
            Some("SECxyz"),
            1_700_000_000_000,
        );
        assert!(url.ends_with(&format!("&timestamp=1700000000000&sign={sign}")));
    }

    #[test]
    fn webhook_signature_is_rfc4231_hmac() {
        // RFC 4231 test case 2.
        assert_eq!(
            webhook_signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn channel_settings_are_checked() {
        assert_eq!(
            parse_channel("slack", &["reminder".into()])
                .unwrap_err()
                .code(),
            "invalid_channel_kind"
        );
        assert_eq!(
            parse_channel("wecom", &[]).unwrap_err(),
            ChannelError::NoEvents
        );
        assert_eq!(
            parse_channel("wecom", &["reminder".into(), "reminder".into()])
                .unwrap()
                .1,
            vec![Event::Reminder]
        );
        assert!(check_url("http://127.0.0.1:9/hook").is_ok());
        assert!(check_url("javascript:alert(1)").is_err());
        assert!(check_url("https://a b/").is_err());
    }
}
