//! Answers that are not a success, and transport failures, turned into typed errors that say what went
//! wrong and what to do.

use std::io::Read;

use anyhow::Result;
use serde::Deserialize;
use ureq::Body;
use ureq::http::{self, Response};

use super::answers::header;
use crate::error::{Kind, fail, transient, unreachable};
use crate::server::retry::parse_retry_after;

/// How much of an error answer is read: enough for the longest real one (a `version_blobs_missing`
/// listing about 70 bytes per missing hash, for the largest `--batch-size`), bounded against hostile servers.
pub(super) const ERROR_BODY_LIMIT: u64 = 4 * 1024 * 1024;

/// A non-success answer, sorted by what the caller can do about it.
pub(super) enum Refusal {
    /// 404 `version_blobs_missing`, with the missing hashes and the server's message.
    Missing(Vec<String>, String),
    /// A route or method the server (or a proxy) does not serve: 404 of the generic shape, 405 or 501.
    NoSuchRoute(String),
    /// Anything else, already typed.
    Failed(anyhow::Error),
}

#[derive(Default, Deserialize)]
struct ErrorBody {
    error: Option<ErrorDetail>,
    status_description: Option<String>,
    status_message: Option<String>,
}

#[derive(Default, Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type")]
    kind: Option<String>,
    title: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    missing_hashes: Vec<String>,
}

/// Whether a connection failed on the server's certificate (which no retry will change).
fn is_certificate_error(err: &ureq::Error) -> bool {
    match err {
        ureq::Error::Rustls(rustls::Error::InvalidCertificate(_)) => true,
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_))),
        _ => false,
    }
}

/// A one-line human description of an error body: JSON title and detail, or the text, or the reason phrase.
fn describe(parsed: Option<&ErrorBody>, raw: &[u8], status: http::StatusCode) -> String {
    if let Some(body) = parsed {
        let detail = body.error.as_ref();
        let parts: Vec<&str> = [
            detail.and_then(|d| d.title.as_deref()),
            detail.and_then(|d| d.detail.as_deref()),
        ]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect();
        if !parts.is_empty() {
            return one_line(&parts.join(": "));
        }
        if let Some(text) = body
            .status_description
            .as_deref()
            .or(body.status_message.as_deref())
        {
            return one_line(text);
        }
    }
    let text = String::from_utf8_lossy(raw);
    let text = text.trim();
    if text.is_empty() || parsed.is_some() {
        return status.canonical_reason().unwrap_or("error").to_string();
    }
    one_line(text)
}

/// The first line of `text`, cut to a length that fits a terminal line, with control characters
/// (which a hostile server could use to rewrite the terminal) replaced.
fn one_line(text: &str) -> String {
    const MAX: usize = 300;
    let line = text.lines().next().unwrap_or("").trim();
    let mut out: String = line
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if line.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// What a refusal is explained with: the server as shown, and the credentials that were sent.
pub(super) struct Explain {
    /// The server as shown in messages (a password in `--host` as `***`).
    pub shown: String,
    /// A token was sent.
    pub token: bool,
    /// User info from `--host` was sent as `Basic …` (when there is no token).
    pub basic: bool,
    /// Why the official client's token file could not be read, if it could not.
    pub config_unreadable: Option<String>,
    /// Where a token for this host would be configured, for error hints.
    pub host_key: String,
}

impl Explain {
    /// Connection-level failures are worth retrying, except those that no retry can fix.
    pub(super) fn transport_error(&self, err: ureq::Error) -> anyhow::Error {
        let message = format!("cannot reach {}: {err}", self.shown);
        if is_certificate_error(&err) {
            return unreachable(
                format!(
                    "{message}; the server's TLS certificate is not trusted: if a private CA signed it, \
                     pass --cacert FILE or set SSL_CERT_FILE"
                ),
                false,
            );
        }
        match err {
            ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::HostNotFound
            | ureq::Error::RequireHttpsOnly(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::TooManyRedirects
            | ureq::Error::RedirectFailed => {
                unreachable(format!("{message}; check --host and your network"), false)
            }
            _ => unreachable(message, true),
        }
    }
    /// The response if it succeeded; otherwise its error, where anything route-like means "not found".
    pub(super) fn success_or_not_found(&self, response: Response<Body>) -> Result<Response<Body>> {
        if response.status().is_success() {
            return Ok(response);
        }
        Err(match self.refusal(response) {
            Refusal::Failed(err) => err,
            Refusal::NoSuchRoute(message) | Refusal::Missing(_, message) => {
                fail(Kind::NotFound, message)
            }
        })
    }
    /// Reads a bounded part of an error answer and decides what it means.
    pub(super) fn refusal(&self, response: Response<Body>) -> Refusal {
        let status = response.status();
        let retry_after = header(response.headers(), "retry-after").and_then(parse_retry_after);
        let mut raw = Vec::new();
        // A body that cannot be read still leaves the status to report.
        let _ = response
            .into_body()
            .into_reader()
            .take(ERROR_BODY_LIMIT)
            .read_to_end(&mut raw);
        let parsed: Option<ErrorBody> = serde_json::from_slice(&raw).ok();
        let detail = parsed.as_ref().and_then(|body| body.error.as_ref());
        let message = format!(
            "{} (HTTP {})",
            describe(parsed.as_ref(), &raw, status),
            status.as_u16()
        );
        match status.as_u16() {
            404 if detail.and_then(|d| d.kind.as_deref()) == Some("version_blobs_missing") => {
                Refusal::Missing(
                    detail.map(|d| d.missing_hashes.clone()).unwrap_or_default(),
                    message,
                )
            }
            // Real servers answer an unrouted path with a bare `resource_not_found`, without the
            // `error` object or `status_description` that a missing repository or file carries.
            404 if parsed
                .as_ref()
                .is_some_and(|body| body.error.is_none() && body.status_description.is_none()) =>
            {
                Refusal::NoSuchRoute(message)
            }
            405 | 501 => Refusal::NoSuchRoute(message),
            404 => Refusal::Failed(fail(Kind::NotFound, message)),
            401 | 403 => Refusal::Failed(fail(Kind::Auth, self.auth_message(&message))),
            // The file's content is gone from the server's store: asking again will not bring it back.
            500 if detail.and_then(|d| d.kind.as_deref()) == Some("version_blob_missing") => {
                Refusal::Failed(fail(
                    Kind::NotFound,
                    format!("the server lacks the file's content: {message}"),
                ))
            }
            408 | 429 | 500..=599 => Refusal::Failed(transient(
                Kind::Network,
                format!("the server answered: {message}"),
                retry_after,
            )),
            _ => Refusal::Failed(fail(
                Kind::Network,
                format!("the server answered: {message}"),
            )),
        }
    }
    /// What a 401/403 means given what was sent, and where a token would come from.
    fn auth_message(&self, message: &str) -> String {
        let host = &self.host_key;
        if self.token {
            return format!(
                "{message}: the server rejected the token; check --token, OXDL_TOKEN or the entry for \
                 host \"{host}\" in auth_config.toml"
            );
        }
        let refused = if self.basic {
            "the server rejected the user name and password in --host, or needs a token"
        } else {
            "the server needs a token"
        };
        match &self.config_unreadable {
            Some(why) => format!(
                "{message}: {refused}, and no token could be looked up: {why}; make the file readable, \
                 or pass --token or set OXDL_TOKEN"
            ),
            None => format!(
                "{message}: {refused}; pass --token, set OXDL_TOKEN, or add one for host \"{host}\" to \
                 auth_config.toml"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe_json(json: &str) -> String {
        let parsed: ErrorBody = serde_json::from_str(json).unwrap();
        describe(Some(&parsed), json.as_bytes(), http::StatusCode::NOT_FOUND)
    }

    #[test]
    fn describes_real_bodies() {
        assert_eq!(
            describe_json(
                r#"{"error":{"detail":"Could not find path: nope.txt","title":"Path does not exist","type":"resource_not_found"},"status":"error","status_message":"resource_not_found"}"#
            ),
            "Path does not exist: Could not find path: nope.txt"
        );
        assert_eq!(
            describe_json(
                r#"{"status":"error","status_message":"resource_not_found","oxen_version":"0.50.7","status_description":"Repository 'ox/nope' not found"}"#
            ),
            "Repository 'ox/nope' not found"
        );
        assert_eq!(
            describe(None, b"unauthorized", http::StatusCode::UNAUTHORIZED),
            "unauthorized"
        );
        assert_eq!(
            describe(None, b"", http::StatusCode::UNAUTHORIZED),
            "Unauthorized"
        );
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            one_line("\u{1b}[31mRED\u{1b}[0m\rX\nsecond"),
            "\u{FFFD}[31mRED\u{FFFD}[0m\u{FFFD}X"
        );
        assert_eq!(one_line(&"é".repeat(400)).chars().count(), 301);
    }
}
