//! Talking to one repository on an Oxen server: its routes, the connection pool and credentials. What the
//! routes answer is in [`super::answers`]; how refusals become typed errors, in [`super::refusal`].

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use ureq::config::RedirectAuthHeaders;
use ureq::http::{self, Method, Response};
use ureq::{Agent, Body};

use crate::error::{Kind, fail};
use crate::server::endpoint::{Endpoint, encode_path, encode_segment};

use super::answers::MetaBody;
use super::answers::header;
pub(crate) use super::answers::{BatchReply, Chunk, DirEntry, DirPage, Download, Meta, NetReader};
use super::refusal::{ERROR_BODY_LIMIT, Explain, Refusal};

/// Bytes ureq receives from a connection at a time (its default is 128 KiB): as large as the copy
/// blocks of `transfer` and `ranged`, so each read of a body drains one receive; it cut `get`'s time on
/// loopback (bench/RESULTS.md), and 8 ranged connections still fit the 32 MiB budget.
const BODY_BUFFER: usize = 256 * 1024;

/// The most connections oxdl opens to one server at once (`--connections`, `--jobs`).
pub const MAX_PARALLEL: usize = 64;

/// The largest listing page read (a recursive page carries whole subtrees), bounded against hostile servers.
const LISTING_LIMIT: u64 = 256 * 1024 * 1024;

/// The two routes a batch download can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRoute {
    /// `QUERY /versions`: what real servers route.
    Query,
    /// `POST /versions/batch-download`: what the OpenAPI description documents.
    Post,
}

/// How to talk to the server, beyond where.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Sent as `Authorization: Bearer <token>`; wins over credentials in `--host`.
    pub token: Option<String>,
    /// Why `auth_config.toml` could not be read, if it could not (named when the server asks for a token).
    pub config_unreadable: Option<String>,
    /// Limit for establishing a connection.
    pub connect_timeout: Option<Duration>,
    /// Longest silence tolerated while waiting for data (there is no limit on a transfer's total time).
    pub read_timeout: Option<Duration>,
    /// Log each request and answer on stderr (credentials redacted).
    pub verbose: bool,
    /// The proxy to connect through (chosen by `proxy::for_endpoint`); never one of ureq's own choosing.
    pub proxy: Option<ureq::Proxy>,
    /// Trusted roots for https (see `tls::config`); ureq's defaults when `None`.
    pub tls: Option<ureq::tls::TlsConfig>,
}

/// A repository named as NAMESPACE/NAME.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoName {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// One repository on one server, with the connection pool and credentials to reach it.
pub struct Remote {
    agent: Agent,
    repo_url: String,
    token: Option<String>,
    /// `Basic …` from the user info in `--host`, sent when there is no token.
    basic: Option<String>,
    read_timeout: Option<Duration>,
    verbose: bool,
    /// Turns refusals into errors that say what was sent; its `shown` names the server in messages.
    explain: Explain,
    /// The server is this machine, where one stream is not capped and parallel ranges only cost CPU.
    local: bool,
    /// The batch route that worked last; starts with QUERY and falls back to POST once.
    use_post: AtomicBool,
}

/// `versions/{rev}/metadata` is shadowed by the server's metadata route; `file/` serves the same bytes.
fn file_route(resource: &str) -> &'static str {
    match resource.split('/').collect::<Vec<_>>().as_slice() {
        [_, "metadata"] => "file",
        _ => "versions",
    }
}

impl Remote {
    /// A remote for `repo` on `endpoint`.
    pub fn new(endpoint: &Endpoint, repo: &RepoName, options: Options) -> Self {
        let config = Agent::config_builder()
            // Error answers carry JSON bodies we want to read, so they are not turned into errors.
            .http_status_as_error(false)
            // Real servers route batch downloads under the non-standard method QUERY.
            .allow_non_standard_methods(true)
            // The server holds User-Agents containing "oxen" to the official client's version scheme.
            .user_agent(concat!("oxdl/", env!("CARGO_PKG_VERSION")))
            .timeout_resolve(options.connect_timeout)
            .timeout_connect(options.connect_timeout)
            .timeout_per_write(options.read_timeout)
            // An idle timeout, restarted by every read: a big file is never cut off for being big.
            .timeout_per_read(options.read_timeout)
            // Credentials never follow a redirect: ureq's same-host rule ignores the port, and tokens are
            // filed per host and port. (They never sit in the URL either, where ureq would send its user
            // info again after a relative redirect.)
            .redirect_auth_headers(RedirectAuthHeaders::Never)
            // Parallel ranges (and batch jobs) each keep their connection between requests; ureq's
            // default keeps only 3 per host, which would reconnect the rest for every range.
            .max_idle_connections(MAX_PARALLEL)
            .max_idle_connections_per_host(MAX_PARALLEL)
            .input_buffer_size(BODY_BUFFER)
            .proxy(options.proxy.clone())
            .tls_config(options.tls.clone().unwrap_or_default())
            .build();
        Remote {
            agent: config.into(),
            repo_url: format!(
                "{}/api/repos/{}/{}",
                endpoint.base(),
                encode_segment(&repo.namespace),
                encode_segment(&repo.name)
            ),
            explain: Explain {
                shown: endpoint.to_string(),
                token: options.token.is_some(),
                basic: options.token.is_none() && endpoint.basic_authorization().is_some(),
                config_unreadable: options.config_unreadable,
                host_key: endpoint.host_key(),
            },
            token: options.token,
            basic: endpoint.basic_authorization(),
            read_timeout: options.read_timeout,
            verbose: options.verbose,
            local: endpoint.is_this_machine(),
            use_post: AtomicBool::new(false),
        }
    }
    /// Whether the server is this machine.
    pub fn is_local(&self) -> bool {
        self.local
    }
    /// Starts downloading `REVISION/PATH`, optionally resized.
    pub fn get_version(
        &self,
        resource: &str,
        width: Option<u32>,
        height: Option<u32>,
    ) -> Result<Download> {
        let mut url = format!(
            "{}/{}/{}",
            self.repo_url,
            file_route(resource),
            encode_path(resource)
        );
        let query: Vec<String> = [("width", width), ("height", height)]
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| format!("{name}={v}")))
            .collect();
        if !query.is_empty() {
            url = format!("{url}?{}", query.join("&"));
        }
        let response = self.send(Method::GET, &url, Vec::new())?;
        let response = self.explain.success_or_not_found(response)?;
        let revision = header(response.headers(), "oxen-revision-id").map(str::to_string);
        let body = response.into_body();
        Ok(Download {
            revision,
            length: body.content_length(),
            body: self.reader(body),
        })
    }
    /// Page `page` (from 1) of the listing of `REVISION[/PATH]`, with children down to `depth` levels
    /// (negative: all).
    pub fn dir_page(
        &self,
        resource: &str,
        page: u64,
        page_size: u64,
        depth: i64,
    ) -> Result<DirPage> {
        let url = format!(
            "{}/dir/{}?page={page}&page_size={page_size}&depth={depth}",
            self.repo_url,
            encode_path(resource.trim_end_matches('/'))
        );
        let response = self.send(Method::GET, &url, Vec::new())?;
        let response = self.explain.success_or_not_found(response)?;
        self.read_json(response, LISTING_LIMIT, "listing")
    }
    /// The content hash and size of `REVISION/PATH` from `GET /meta/...`.
    pub fn meta(&self, resource: &str) -> Result<Meta> {
        let url = format!("{}/meta/{}", self.repo_url, encode_path(resource));
        let response = self.send(Method::GET, &url, Vec::new())?;
        if !response.status().is_success() {
            return Err(match self.explain.refusal(response) {
                Refusal::Failed(err) => err,
                // A server or proxy without the route: the file may still be there.
                Refusal::NoSuchRoute(message) | Refusal::Missing(_, message) => fail(
                    Kind::Network,
                    format!("the server does not serve file metadata: {message}"),
                ),
            });
        }
        let parsed: MetaBody = self.read_json(response, ERROR_BODY_LIMIT, "metadata")?;
        if parsed.entry.is_dir {
            return Err(fail(
                Kind::NotFound,
                format!(
                    "{resource} is a directory, not a file; add -r to download the tree under it"
                ),
            ));
        }
        let hash = u128::from_str_radix(&parsed.entry.hash, 16).map_err(|_| {
            fail(
                Kind::Network,
                format!(
                    "the server's metadata has an invalid hash '{}'",
                    parsed.entry.hash
                ),
            )
        })?;
        // The commit the revision resolved to, so the bytes come from the same commit as the hash even if
        // a branch moves in between.
        let pinned = parsed
            .entry
            .resource
            .and_then(|resource| resource.pinned().filter(|p| p.contains('/')));
        let revision = parsed
            .entry
            .latest_commit
            .map(|commit| commit.id)
            .filter(|id| !id.is_empty());
        Ok(Meta {
            hash,
            size: parsed.entry.size,
            pinned,
            revision,
        })
    }
    /// Starts downloading bytes `[start, start + size)` of `REVISION/PATH` through `GET /chunk/...`.
    /// The range must lie inside the file: real servers answer 500 for one that reaches past its end.
    pub fn chunk(&self, resource: &str, start: u64, size: u64) -> Result<Chunk> {
        let url = format!(
            "{}/chunk/{}?chunk_start={start}&chunk_size={size}",
            self.repo_url,
            encode_path(resource)
        );
        let response = self.send(Method::GET, &url, Vec::new())?;
        if response.status().is_success() {
            let body = response.into_body();
            return Ok(Chunk::Bytes {
                length: body.content_length(),
                body: self.reader(body),
            });
        }
        match self.explain.refusal(response) {
            // A missing path answers the same generic 404; the caller asked /meta first.
            Refusal::NoSuchRoute(_) => Ok(Chunk::NoRoute),
            Refusal::Missing(_, message) => Err(fail(Kind::NotFound, message)),
            Refusal::Failed(err) => Err(err),
        }
    }
    /// Requests the files whose hashes are gzipped, one a line, in `gzipped_list`.
    pub fn batch(&self, gzipped_list: &[u8]) -> Result<BatchReply> {
        loop {
            let route = self.batch_route();
            let (method, url) = match route {
                BatchRoute::Query => (
                    Method::from_bytes(b"QUERY").expect("QUERY is a valid method token"),
                    format!("{}/versions", self.repo_url),
                ),
                BatchRoute::Post => (
                    Method::POST,
                    format!("{}/versions/batch-download", self.repo_url),
                ),
            };
            let response = self.send(method, &url, gzipped_list.to_vec())?;
            if response.status().is_success() {
                return Ok(BatchReply::Archive(self.reader(response.into_body())));
            }
            match self.explain.refusal(response) {
                Refusal::Missing(hashes, _) => return Ok(BatchReply::Missing(hashes)),
                Refusal::NoSuchRoute(_) if route == BatchRoute::Query => {
                    self.use_post.store(true, Ordering::Relaxed);
                }
                Refusal::NoSuchRoute(message) => {
                    return Err(fail(
                        Kind::NotFound,
                        format!(
                            "{message}: the server serves neither QUERY /versions nor \
                             POST /versions/batch-download for this repository; is {} an Oxen server?",
                            self.explain.shown
                        ),
                    ));
                }
                Refusal::Failed(err) => return Err(err),
            }
        }
    }
    /// The batch route in use (after any fallback).
    pub fn batch_route(&self) -> BatchRoute {
        if self.use_post.load(Ordering::Relaxed) {
            BatchRoute::Post
        } else {
            BatchRoute::Query
        }
    }
    /// A JSON answer (`what` names it in errors), read up to `limit` bytes.
    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        response: Response<Body>,
        limit: u64,
        what: &str,
    ) -> Result<T> {
        let mut raw = Vec::new();
        self.reader(response.into_body())
            .take(limit)
            .read_to_end(&mut raw)
            .map_err(|err| {
                crate::transfer::read_failure(err, &format!("cannot read the {what}"))
            })?;
        serde_json::from_slice(&raw).map_err(|err| {
            fail(
                Kind::Network,
                format!("the server's {what} is not understood: {err}"),
            )
        })
    }

    fn reader(&self, body: Body) -> NetReader {
        NetReader::new(body, self.read_timeout, self.verbose)
    }

    fn send(&self, method: Method, url: &str, body: Vec<u8>) -> Result<Response<Body>> {
        if self.verbose {
            if let Some(proxy) = self.agent.config().proxy() {
                eprintln!("> via proxy {}:{}", proxy.host(), proxy.port());
            }
            let auth = match self.authorization() {
                Some(value) => {
                    let scheme = value.split(' ').next().unwrap_or_default();
                    format!(" (authorization: {scheme} <redacted>)")
                }
                None => String::new(),
            };
            eprintln!("> {method} {url}{auth}");
        }
        let started = Instant::now();
        let mut request = http::Request::builder().method(method).uri(url);
        if let Some(value) = self.authorization() {
            request = request.header("Authorization", value);
        }
        let request = request.body(body).map_err(|err| {
            fail(
                Kind::Usage,
                format!("cannot build a request for {url}: {err}"),
            )
        })?;
        let response = self
            .agent
            .run(request)
            .map_err(|err| self.explain.transport_error(err))?;
        if self.verbose {
            let request_id = header(response.headers(), "x-oxen-request-id").unwrap_or("-");
            eprintln!(
                "< {} after {} ms (x-oxen-request-id: {request_id}, content-length: {})",
                response.status(),
                started.elapsed().as_millis(),
                header(response.headers(), "content-length").unwrap_or("-")
            );
        }
        Ok(response)
    }
    /// The `Authorization` header to send: the token, else the credentials in `--host`.
    fn authorization(&self) -> Option<String> {
        match &self.token {
            Some(token) => Some(format!("Bearer {token}")),
            None => self.basic.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_served_by_the_file_route() {
        assert_eq!(file_route("main/metadata"), "file");
        assert_eq!(file_route("main/dir/metadata"), "versions");
        assert_eq!(file_route("main/hello.txt"), "versions");
    }
}
