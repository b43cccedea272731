//! Where the server is: the base URL from `--host`, the key its token is filed under, and URL encoding.

use anyhow::Result;

use crate::error::{Kind, fail};

/// A parsed server address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://authority[/prefix]`, without a trailing slash.
    pub base: String,
    /// Host as written in `auth_config.toml`: the host, plus `:port` only when the port is not the default.
    pub host_key: String,
    /// Whether the connection is plain http to a host other than this machine (tokens would travel in clear).
    pub insecure_remote: bool,
}

/// Hosts that mean "this machine" and default to plain http, as the official client does.
const LOCAL_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "0.0.0.0", "[::1]"];

/// Parses `HOST[:PORT]` or a full `http(s)://` base URL.
pub fn parse(text: &str) -> Result<Endpoint> {
    let text = text.trim();
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => (String::new(), text),
    };
    let (authority, prefix) = match rest.find('/') {
        Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = split_port(authority).ok_or_else(|| bad_host(text))?;
    if host.is_empty() {
        return Err(bad_host(text));
    }
    let host = host.to_ascii_lowercase();
    let local = LOCAL_HOSTS.contains(&host.as_str());
    let scheme = match scheme.as_str() {
        "" if local => "http",
        "" => "https",
        "http" => "http",
        "https" => "https",
        other => {
            return Err(fail(
                Kind::Usage,
                format!("--host: unsupported scheme '{other}' in '{text}' (use http or https)"),
            ));
        }
    };
    let default_port = if scheme == "https" { 443 } else { 80 };
    let host_key = match port {
        Some(port) if port != default_port => format!("{host}:{port}"),
        _ => host.clone(),
    };
    let authority = match port {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    Ok(Endpoint {
        base: format!("{scheme}://{authority}{prefix}"),
        host_key,
        insecure_remote: scheme == "http" && !local && !is_loopback_ip(&host),
    })
}

/// Whether `host` is a literal loopback address (127.0.0.0/8 or ::1), not merely a name that looks like one.
fn is_loopback_ip(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Splits `host[:port]`, keeping IPv6 brackets; `None` when the port is not a number.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let port_at = if authority.starts_with('[') {
        let close = authority.find(']')?;
        match &authority[close + 1..] {
            "" => return Some((authority, None)),
            rest if rest.starts_with(':') => close + 1,
            _ => return None,
        }
    } else {
        match authority.rfind(':') {
            Some(at) => at,
            None => return Some((authority, None)),
        }
    };
    let port = authority[port_at + 1..].parse::<u16>().ok()?;
    Some((&authority[..port_at], Some(port)))
}

fn bad_host(text: &str) -> anyhow::Error {
    fail(
        Kind::Usage,
        format!("--host: '{text}' is not HOST[:PORT] or an http(s):// URL"),
    )
}

/// Percent-encodes each `/`-separated segment of a path, keeping the slashes.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base_and_key(text: &str) -> (String, String) {
        let endpoint = parse(text).unwrap();
        (endpoint.base, endpoint.host_key)
    }

    #[test]
    fn hosts() {
        let cases = [
            ("hub.oxen.ai", "https://hub.oxen.ai", "hub.oxen.ai"),
            ("https://hub.oxen.ai/", "https://hub.oxen.ai", "hub.oxen.ai"),
            ("localhost:3000", "http://localhost:3000", "localhost:3000"),
            ("127.0.0.1", "http://127.0.0.1", "127.0.0.1"),
            ("example.com:443", "https://example.com:443", "example.com"),
            (
                "http://example.com:80/x/",
                "http://example.com:80/x",
                "example.com",
            ),
            ("[::1]:8080", "http://[::1]:8080", "[::1]:8080"),
            (
                "Example.COM:8443",
                "https://example.com:8443",
                "example.com:8443",
            ),
        ];
        for (input, base, key) in cases {
            assert_eq!(
                base_and_key(input),
                (base.to_string(), key.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn bad_hosts() {
        for bad in ["", "ftp://x", "host:port", "host:99999", "[::1", "http://"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn insecure_only_for_remote_http() {
        assert!(parse("http://example.com").unwrap().insecure_remote);
        assert!(!parse("localhost:3000").unwrap().insecure_remote);
        assert!(!parse("example.com").unwrap().insecure_remote);
        assert!(!parse("http://127.0.0.2:8080").unwrap().insecure_remote);
        assert!(parse("http://127.example.invalid").unwrap().insecure_remote);
    }

    #[test]
    fn encoding() {
        assert_eq!(
            encode_path("main/nested/with space#1?.txt"),
            "main/nested/with%20space%231%3F.txt"
        );
        assert_eq!(encode_segment("a+b%c"), "a%2Bb%25c");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }
}
