//! Who the client is and how it reached the server. `X-Forwarded-*`
//! headers are believed only from the configured reverse proxy
//! (`--trusted-proxy`): anybody else could write them, to dodge the limits
//! on password guesses or to put their own host into the links the server
//! hands out. From any other peer they are removed before a handler runs.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
pub use ipnet::IpNet;

use crate::context::ApiContext;

/// The headers a reverse proxy sets about the client.
const FORWARDED_HEADERS: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// The client's address as [`resolve_client`] found it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// `--trusted-proxy`: an address (`127.0.0.1`) or a network (`10.0.0.0/8`).
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a network such as 10.0.0.0/8"))
}

/// `--public-url`: an absolute http(s) URL without query or fragment; the
/// answer has no trailing slash, ready for `{base}/open311/...`.
pub fn parse_public_url(text: &str) -> Result<String, String> {
    let base = text.trim().trim_end_matches('/');
    let host = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))
        .ok_or_else(|| format!("{text:?} does not start with https:// or http://"))?;
    let plausible = !host.is_empty()
        && !host.starts_with('/')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]/_~%".contains(&b));
    if plausible {
        Ok(base.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a plain URL such as https://hz.example.cn"
        ))
    }
}

/// Middleware: notes the client's address ([`ClientIp`]) and removes the
/// forwarded headers unless the connection comes from the trusted proxy.
pub async fn resolve_client(
    State(ctx): State<ApiContext>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical());
    let proxy = ctx.config.trusted_proxy;
    let client = match (peer, proxy) {
        (Some(peer), Some(proxy)) if proxy.contains(&peer) => {
            Some(forwarded_client(request.headers(), &proxy).unwrap_or(peer))
        }
        _ => {
            let headers = request.headers_mut();
            for name in FORWARDED_HEADERS {
                headers.remove(name);
            }
            peer
        }
    };
    if let Some(ip) = client {
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

/// The client in `X-Forwarded-For`: the last address the proxy (or one
/// of its network) did not add itself; what comes before it was written
/// by the client and proves nothing.
fn forwarded_client(headers: &HeaderMap, proxy: &IpNet) -> Option<IpAddr> {
    let listed: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for entry in listed.into_iter().rev() {
        let ip = entry.trim().parse::<IpAddr>().ok()?.to_canonical();
        if !proxy.contains(&ip) {
            return Some(ip);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let one = parse_trusted_proxy("127.0.0.1").unwrap();
        assert!(one.contains(&"127.0.0.1".parse::<IpAddr>().unwrap()));
        assert!(!one.contains(&"127.0.0.2".parse::<IpAddr>().unwrap()));
        let net = parse_trusted_proxy(" 10.0.0.0/8 ").unwrap();
        assert!(net.contains(&"10.1.2.3".parse::<IpAddr>().unwrap()));
        assert!(parse_trusted_proxy("::1").is_ok());
        assert!(parse_trusted_proxy("proxy.local").is_err());
    }

    #[test]
    fn the_client_is_the_last_address_the_proxy_did_not_add() {
        let proxy = parse_trusted_proxy("10.0.0.0/8").unwrap();
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 203.0.113.7"),
        );
        headers.append("x-forwarded-for", HeaderValue::from_static("10.0.0.2"));
        assert_eq!(
            forwarded_client(&headers, &proxy),
            Some("203.0.113.7".parse().unwrap())
        );
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(forwarded_client(&headers, &proxy), None);
    }

    #[test]
    fn public_urls_are_plain_http_urls() {
        assert_eq!(
            parse_public_url("https://hz.example.cn/").as_deref(),
            Ok("https://hz.example.cn")
        );
        assert_eq!(
            parse_public_url("http://10.0.0.5:8080/hezhang").as_deref(),
            Ok("http://10.0.0.5:8080/hezhang")
        );
        for bad in [
            "hz.example.cn",
            "ftp://x",
            "https://",
            "https://x/?a=1",
            "https://x/<b>",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
