//! Which proxy, if any, carries the connection: `--proxy`, else the usual environment variables.

use anyhow::Result;

use crate::endpoint::Endpoint;
use crate::error::{Kind, fail};

/// The proxy for `endpoint`: `explicit` if given, else `HTTPS_PROXY` (https) or `HTTP_PROXY` (http),
/// else `ALL_PROXY`, each in upper or lower case, unless `NO_PROXY` names the host.
pub fn for_endpoint(endpoint: &Endpoint, explicit: Option<&str>) -> Result<Option<ureq::Proxy>> {
    let url = match explicit {
        Some(url) => Some(url.to_string()),
        None if no_proxy_matches(&env_any(&["NO_PROXY", "no_proxy"]), endpoint) => None,
        None => {
            let scheme_vars: &[&str] = if endpoint.base.starts_with("https://") {
                &["HTTPS_PROXY", "https_proxy"]
            } else {
                &["HTTP_PROXY", "http_proxy"]
            };
            let url = env_any(scheme_vars);
            let url = if url.is_empty() {
                env_any(&["ALL_PROXY", "all_proxy"])
            } else {
                url
            };
            (!url.is_empty()).then_some(url)
        }
    };
    url.map(|url| {
        ureq::Proxy::new(&url).map_err(|err| {
            fail(
                Kind::Usage,
                format!("proxy '{url}' is not a usable proxy URL: {err}"),
            )
        })
    })
    .transpose()
}

/// The first non-empty variable among `names`, or "".
fn env_any(names: &[&str]) -> String {
    names
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .map(|value| value.trim().to_string())
        .find(|value| !value.is_empty())
        .unwrap_or_default()
}

/// Whether a `NO_PROXY` list (comma-separated: `*`, hosts, `host:port`, `.suffix` or `*.suffix`) covers
/// the endpoint's host.
pub fn no_proxy_matches(list: &str, endpoint: &Endpoint) -> bool {
    let (host, port) = host_and_port(&endpoint.base);
    list.split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            // `host:port` or `[v6]:port`; a bare IPv6 address (several colons) has no port.
            let bare_v6 = !entry.starts_with('[') && entry.matches(':').count() > 1;
            let (pattern, entry_port) = match entry.rsplit_once(':') {
                Some((h, p)) if !bare_v6 => match p.parse::<u16>() {
                    Ok(p) => (
                        h.trim_start_matches('[').trim_end_matches(']').to_string(),
                        Some(p),
                    ),
                    Err(_) => (entry.clone(), None),
                },
                _ => (
                    entry
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string(),
                    None,
                ),
            };
            if entry_port.is_some_and(|p| Some(p) != port) {
                return false;
            }
            let pattern = pattern.trim_start_matches('*');
            pattern.is_empty()
                || host == pattern.trim_start_matches('.')
                || (pattern.starts_with('.') && host.ends_with(pattern))
                || host.ends_with(&format!(".{pattern}"))
        })
}

/// The lowercase host (without IPv6 brackets) and explicit port of a base URL.
fn host_and_port(base: &str) -> (String, Option<u16>) {
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()),
        _ => (authority, None),
    };
    (
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
        port,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint;

    #[test]
    fn no_proxy_patterns() {
        let at = |host: &str| endpoint::parse(host).unwrap();
        assert!(no_proxy_matches(
            "localhost,127.0.0.1",
            &at("127.0.0.1:3000")
        ));
        assert!(no_proxy_matches("*", &at("hub.oxen.ai")));
        assert!(no_proxy_matches(".oxen.ai", &at("hub.oxen.ai")));
        assert!(no_proxy_matches("*.oxen.ai", &at("hub.oxen.ai")));
        assert!(no_proxy_matches("oxen.ai", &at("hub.oxen.ai")));
        assert!(no_proxy_matches("127.0.0.1:3000", &at("127.0.0.1:3000")));
        assert!(!no_proxy_matches("127.0.0.1:3001", &at("127.0.0.1:3000")));
        assert!(!no_proxy_matches(
            "xoxen.ai,example.com",
            &at("hub.oxen.ai")
        ));
        assert!(!no_proxy_matches("", &at("hub.oxen.ai")));
        assert!(no_proxy_matches("::1", &at("[::1]:8080")));
    }
}
