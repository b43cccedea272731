//! Which proxy, if any, carries the connection: `--proxy`, else the usual environment variables.

use anyhow::Result;

use crate::error::{Kind, fail};
use crate::server::endpoint::{Endpoint, Scheme, redact_userinfo};

/// The proxy for `endpoint`: `explicit` if given, else `HTTPS_PROXY` (https) or `HTTP_PROXY` (http),
/// else `ALL_PROXY`, each in upper or lower case, unless `NO_PROXY` names the host.
pub fn for_endpoint(endpoint: &Endpoint, explicit: Option<&str>) -> Result<Option<ureq::Proxy>> {
    let url = match explicit {
        Some(url) => Some(url.to_string()),
        None if no_proxy_matches(&env_any(&["NO_PROXY", "no_proxy"]), endpoint) => None,
        None => {
            let scheme_vars: &[&str] = match endpoint.scheme() {
                Scheme::Https => &["HTTPS_PROXY", "https_proxy"],
                Scheme::Http => &["HTTP_PROXY", "http_proxy"],
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
                format!(
                    "proxy '{}' is not a usable proxy URL: {err}",
                    redact_userinfo(&url)
                ),
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
/// the endpoint's host. A port in an entry is compared with the port connected to, written or implied.
pub fn no_proxy_matches(list: &str, endpoint: &Endpoint) -> bool {
    let (host, port) = (endpoint.bare_host(), endpoint.port());
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
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let pattern = pattern.trim_start_matches('*');
            pattern.is_empty()
                || host == pattern.trim_start_matches('.')
                || (pattern.starts_with('.') && host.ends_with(pattern))
                || host.ends_with(&format!(".{pattern}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::endpoint;

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
        assert!(no_proxy_matches("[::1]:8080", &at("[::1]:8080")));
        // The port a URL implies counts as much as one written.
        assert!(no_proxy_matches("hub.oxen.ai:443", &at("hub.oxen.ai")));
        assert!(!no_proxy_matches("hub.oxen.ai:80", &at("hub.oxen.ai")));
        // User info is not part of the host.
        assert!(no_proxy_matches(
            "example.com",
            &at("https://u:p@example.com")
        ));
    }

    #[test]
    fn a_bad_proxy_url_is_reported_without_its_password() {
        let endpoint = endpoint::parse("hub.oxen.ai").unwrap();
        let err = for_endpoint(&endpoint, Some("gopher://user:secret@proxy:3128")).unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("user:***@proxy:3128"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
}
