//! Where the server is: `--host` parsed into scheme, credentials, host, port and path prefix; the key its
//! token is filed under; URL encoding.

use std::fmt;

use anyhow::Result;

use crate::error::{Kind, fail};

/// http or https.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// The scheme as written in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port a URL without one means.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// The `user[:password]` of `--host http://user:password@host`, for a server behind a reverse proxy that
/// asks for Basic auth.
#[derive(Clone, PartialEq, Eq)]
struct Credentials {
    /// The user name as written (still percent-encoded): safe to show.
    shown_user: String,
    /// Whether a password was given (shown as `***`).
    has_password: bool,
    /// `user:password`, percent-decoded, as Basic auth encodes it.
    secret: Vec<u8>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}:***)", self.shown_user)
    }
}

/// A parsed server address. Its `Display` form is safe to show: a password appears as `***`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    scheme: Scheme,
    /// Lowercase; an IPv6 address keeps its brackets.
    host: String,
    /// The port as written, if it was.
    port: Option<u16>,
    /// A path the server's routes sit under: empty, or `/…` without a trailing slash.
    prefix: String,
    credentials: Option<Credentials>,
}

/// Hosts that mean "this machine" and default to plain http, as the official client does.
const LOCAL_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "0.0.0.0", "[::1]"];

/// Parses `HOST[:PORT]` or a full `http(s)://[USER[:PASSWORD]@]HOST[:PORT][/PREFIX]` base URL.
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
    // The last `@` ends the user info, so an unencoded `@` in a password still parses.
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (host, port) = split_port(host_port).ok_or_else(|| bad_host(text))?;
    if host.is_empty() {
        return Err(bad_host(text));
    }
    if !host.starts_with('[') && host.contains(':') {
        return Err(unbracketed_ipv6(text, host_port));
    }
    let host = host.to_ascii_lowercase();
    let local = LOCAL_HOSTS.contains(&host.as_str());
    let scheme = match scheme.as_str() {
        "" if local => Scheme::Http,
        "" => Scheme::Https,
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => {
            return Err(fail(
                Kind::Usage,
                format!(
                    "--host: unsupported scheme '{other}' in '{}' (use http or https)",
                    redact_userinfo(text)
                ),
            ));
        }
    };
    Ok(Endpoint {
        scheme,
        host,
        port,
        prefix: prefix.to_string(),
        credentials: userinfo.filter(|info| !info.is_empty()).map(credentials),
    })
}

impl Endpoint {
    /// `scheme://host[:port][/prefix]`, the root every request URL is built on; never carries credentials
    /// (they travel in a header, so they cannot follow a redirect or reach a log).
    pub fn base(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.prefix
        )
    }

    /// http or https.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The lowercase host without IPv6 brackets, as `NO_PROXY` entries name it.
    pub fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The port connected to: the one written, else the scheme's default.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// Host as written in `auth_config.toml`: the host, plus `:port` only when the port is not the default;
    /// never the user info.
    pub fn host_key(&self) -> String {
        match self.port {
            Some(port) if port != self.scheme.default_port() => format!("{}:{port}", self.host),
            _ => self.host.clone(),
        }
    }

    /// Whether the connection is plain http to a host other than this machine (secrets would travel in clear).
    pub fn insecure_remote(&self) -> bool {
        self.scheme == Scheme::Http && !self.is_this_machine()
    }

    /// Whether the server is this machine (localhost or a loopback address).
    pub fn is_this_machine(&self) -> bool {
        LOCAL_HOSTS.contains(&self.host.as_str()) || is_loopback_ip(&self.host)
    }

    /// The `Authorization` value for the user info in `--host` (`Basic base64(user:password)`), if any.
    pub fn basic_authorization(&self) -> Option<String> {
        self.credentials
            .as_ref()
            .map(|credentials| format!("Basic {}", base64(&credentials.secret)))
    }

    /// `host[:port]` as written.
    fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for Endpoint {
    /// The base URL with the user name kept and the password shown as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = match &self.credentials {
            Some(c) if c.has_password => format!("{}:***@", c.shown_user),
            Some(c) => format!("{}@", c.shown_user),
            None => String::new(),
        };
        write!(
            f,
            "{}://{user}{}{}",
            self.scheme.as_str(),
            self.authority(),
            self.prefix
        )
    }
}

/// `text` (a URL as the user wrote it, maybe unparseable) with any password replaced by `***`, for error
/// messages. Everything up to the last `@` counts as user info, so nothing secret survives a typo.
pub fn redact_userinfo(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(at) => text.split_at(at + 3),
        None => ("", text),
    };
    match rest.rfind('@') {
        Some(at) => {
            let (user, password) = match rest[..at].split_once(':') {
                Some((user, _)) => (user, ":***"),
                None => (&rest[..at], ""),
            };
            format!("{scheme}{user}{password}@{}", &rest[at + 1..])
        }
        None => text.to_string(),
    }
}

/// The credentials in `user[:password]`.
fn credentials(userinfo: &str) -> Credentials {
    let (user, has_password) = match userinfo.split_once(':') {
        Some((user, _)) => (user, true),
        None => (userinfo, false),
    };
    // Percent-decoded piecewise, so an encoded `:` in the user name stays part of it.
    let mut secret = percent_decode(user);
    secret.push(b':');
    if let Some((_, password)) = userinfo.split_once(':') {
        secret.extend(percent_decode(password));
    }
    Credentials {
        shown_user: user.to_string(),
        has_password,
        secret,
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648), as Basic auth wants it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(group >> (18 - 6 * i) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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
        format!(
            "--host: '{}' is not HOST[:PORT] or an http(s):// URL",
            redact_userinfo(text)
        ),
    )
}

/// `::1:8080` is ambiguous (the last group could be the port or part of the address); URLs settle it with
/// brackets, so the error shows the bracketed form, reading the last group as the port when that makes sense.
fn unbracketed_ipv6(text: &str, host_port: &str) -> anyhow::Error {
    let as_port = host_port.rsplit_once(':').filter(|(address, port)| {
        address.parse::<std::net::Ipv6Addr>().is_ok() && port.parse::<u16>().is_ok()
    });
    let hint = match as_port {
        Some((address, port)) => format!("[{address}]:{port}"),
        None if host_port.parse::<std::net::Ipv6Addr>().is_ok() => format!("[{host_port}]"),
        None => return bad_host(text),
    };
    fail(
        Kind::Usage,
        format!(
            "--host: '{}' has an IPv6 address without brackets; write it as {hint}",
            redact_userinfo(text)
        ),
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
        (endpoint.base(), endpoint.host_key())
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
            (
                "http://user:secret@example.com:8080/oxen",
                "http://example.com:8080/oxen",
                "example.com:8080",
            ),
            (
                "https://u@Example.com",
                "https://example.com",
                "example.com",
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
        for bad in [
            "",
            "ftp://x",
            "host:port",
            "host:99999",
            "[::1",
            "http://",
            "a:b:80",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parts() {
        let endpoint = parse("https://[::1]:8443/p").unwrap();
        assert_eq!(endpoint.scheme(), Scheme::Https);
        assert_eq!(endpoint.bare_host(), "::1");
        assert_eq!(endpoint.port(), 8443);
        assert_eq!(parse("hub.oxen.ai").unwrap().port(), 443);
        assert_eq!(parse("localhost").unwrap().port(), 80);
    }

    #[test]
    fn unbracketed_ipv6_is_refused_with_the_bracketed_form() {
        let message = |text: &str| format!("{:#}", parse(text).unwrap_err());
        assert!(
            message("::1:8080").contains("[::1]:8080"),
            "{}",
            message("::1:8080")
        );
        assert!(message("http://::1:8080/x").contains("[::1]:8080"));
        assert!(
            message("fe80::1").contains("[fe80::1]"),
            "{}",
            message("fe80::1")
        );
        assert!(message("::1").contains("[::1]"));
        assert_eq!(
            crate::error::kind_of(&parse("::1:8080").unwrap_err()),
            Kind::Usage
        );
    }

    #[test]
    fn credentials_are_sent_as_basic_and_never_shown() {
        let endpoint = parse("http://user:secret@example.com:8080/oxen").unwrap();
        assert_eq!(
            endpoint.basic_authorization().as_deref(),
            Some("Basic dXNlcjpzZWNyZXQ=")
        );
        assert_eq!(
            endpoint.to_string(),
            "http://user:***@example.com:8080/oxen"
        );
        assert!(!format!("{endpoint:?}").contains("secret"));
        // Percent-escapes are decoded; the last `@` ends the user info.
        let encoded = parse("https://a%3Ab:p%40ss@h").unwrap();
        assert_eq!(
            encoded.basic_authorization().unwrap(),
            format!("Basic {}", base64(b"a:b:p@ss"))
        );
        let raw_at = parse("https://u:p@ss@h").unwrap();
        assert_eq!(
            raw_at.basic_authorization().unwrap(),
            format!("Basic {}", base64(b"u:p@ss"))
        );
        assert_eq!(raw_at.to_string(), "https://u:***@h");
        let user_only = parse("https://u@h").unwrap();
        assert_eq!(user_only.basic_authorization().unwrap(), "Basic dTo=");
        assert_eq!(user_only.to_string(), "https://u@h");
        assert_eq!(parse("https://@h").unwrap().basic_authorization(), None);
        assert_eq!(parse("h").unwrap().basic_authorization(), None);
    }

    #[test]
    fn errors_never_show_a_password() {
        for bad in [
            "http://user:secret@host:port",
            "ftp://user:secret@host",
            "http://user:sec/ret@host",
            "user:secret@::1:8080",
        ] {
            let message = format!("{:#}", parse(bad).unwrap_err());
            assert!(
                !message.contains("secret") && !message.contains("sec/"),
                "{message}"
            );
            assert!(message.contains("user:***@"), "{message}");
        }
        assert_eq!(redact_userinfo("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(
            redact_userinfo("http://u:p@proxy:3128"),
            "http://u:***@proxy:3128"
        );
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, output) in cases {
            assert_eq!(base64(input.as_bytes()), output, "{input}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn insecure_only_for_remote_http() {
        assert!(parse("http://example.com").unwrap().insecure_remote());
        assert!(!parse("localhost:3000").unwrap().insecure_remote());
        assert!(!parse("example.com").unwrap().insecure_remote());
        assert!(!parse("http://127.0.0.2:8080").unwrap().insecure_remote());
        assert!(
            parse("http://127.example.invalid")
                .unwrap()
                .insecure_remote()
        );
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
