//! Talking to one repository on an Oxen server: requests, auth, and turning error answers into typed errors.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Deserialize;
use ureq::config::RedirectAuthHeaders;
use ureq::http::{self, HeaderMap, Method, Response};
use ureq::{Agent, Body, BodyReader};

use crate::error::{Kind, fail, transient, unreachable};
use crate::server::endpoint::{Endpoint, encode_path, encode_segment};
use crate::server::retry::parse_retry_after;

/// How much of an error answer is read: enough for the longest real one (a `version_blobs_missing`
/// listing about 70 bytes per missing hash, for the largest `--batch-size`), bounded against hostile servers.
const ERROR_BODY_LIMIT: u64 = 4 * 1024 * 1024;

/// Bytes ureq receives from a connection at a time (its default is 128 KiB): as large as the copy
/// blocks of `transfer` and `ranged`, so each read of a body drains one receive; it cut `get`'s time on
/// loopback (bench/RESULTS.md), and 8 ranged connections still fit the 32 MiB budget.
const BODY_BUFFER: usize = 256 * 1024;

/// The most connections oxdl opens to one server at once (`--connections`, `--jobs`).
pub const MAX_PARALLEL: usize = 64;

/// Top-level entries asked for per listing page.
const DIR_PAGE_SIZE: u64 = 100;
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

/// An open download of one file.
pub struct Download {
    /// The last commit that changed the file (`oxen-revision-id`), when the server said.
    pub revision: Option<String>,
    /// The body's length from `Content-Length`, when the server said.
    pub length: Option<u64>,
    /// The file's bytes, streamed from the network.
    pub body: NetReader,
}

/// What the server's metadata says of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// XXH3-128 of the content.
    pub hash: u128,
    /// Size in bytes.
    pub size: u64,
    /// The same file as `COMMIT/PATH`, when the server said which commit the revision resolved to.
    pub pinned: Option<String>,
    /// The last commit that changed the file (`latest_commit`), when the server said: what a ranged
    /// download reports, as `/chunk` answers carry no `oxen-revision-id`.
    pub revision: Option<String>,
}

/// The server's answer to a range request.
pub enum Chunk {
    /// The range's bytes, with the length the server announced.
    Bytes {
        length: Option<u64>,
        body: NetReader,
    },
    /// The generic route-missing 404: after a good `/meta`, a server without the ranged route.
    NoRoute,
}

/// The server's answer to a batch request.
pub enum BatchReply {
    /// The gzipped tarball, streamed from the network.
    Archive(NetReader),
    /// The server has none of the files because it lacks these hashes.
    Missing(Vec<String>),
}

/// A response body whose read errors say what happened in terms a user can act on.
pub struct NetReader {
    inner: BodyReader<'static>,
    read_timeout: Option<Duration>,
    /// With `-v`: log how many bytes actually arrived when the body ends or breaks.
    verbose: bool,
    received: u64,
    logged: bool,
}

impl Read for NetReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.read_inner(buf);
        match &result {
            Ok(0) => self.log_end(None),
            Ok(n) => self.received += *n as u64,
            Err(err) => self.log_end(Some(err)),
        }
        result
    }
}

impl NetReader {
    /// Logs the bytes received (not the announced Content-Length), once.
    fn log_end(&mut self, err: Option<&io::Error>) {
        if !self.verbose || std::mem::replace(&mut self.logged, true) {
            return;
        }
        match err {
            None => eprintln!("< body: {} bytes received", self.received),
            Some(err) => eprintln!("< body: {} bytes received, then: {err}", self.received),
        }
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|err| {
            let timed_out = matches!(
                err.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()),
                Some(ureq::Error::Timeout(_))
            );
            match (timed_out, self.read_timeout) {
                (true, Some(limit)) => io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no data from the server for {}s (--timeout)",
                        limit.as_secs_f64()
                    ),
                ),
                _ => err,
            }
        })
    }
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
    /// The server as shown in messages (a password in `--host` as `***`).
    shown: String,
    repo_url: String,
    token: Option<String>,
    /// `Basic …` from the user info in `--host`, sent when there is no token.
    basic: Option<String>,
    config_unreadable: Option<String>,
    read_timeout: Option<Duration>,
    verbose: bool,
    /// Where a token for this host would be configured, for error hints.
    host_key: String,
    /// The server is this machine, where one stream is not capped and parallel ranges only cost CPU.
    local: bool,
    /// The batch route that worked last; starts with QUERY and falls back to POST once.
    use_post: AtomicBool,
}

/// A non-success answer, sorted by what the caller can do about it.
enum Refusal {
    /// 404 `version_blobs_missing`, with the missing hashes and the server's message.
    Missing(Vec<String>, String),
    /// A route or method the server (or a proxy) does not serve: 404 of the generic shape, 405 or 501.
    NoSuchRoute(String),
    /// Anything else, already typed.
    Failed(anyhow::Error),
}

/// One page of a directory listing (`GET /dir/...`).
#[derive(Debug, Deserialize)]
pub struct DirPage {
    #[serde(default)]
    pub entries: Vec<DirEntry>,
    #[serde(default)]
    pub total_pages: u64,
    /// The listed directory: its path in the repository.
    pub resource: Option<DirResource>,
    /// The listed directory's own entry, naming the commit the revision resolved to.
    dir: Option<DirSelf>,
}

impl DirPage {
    /// The listed directory as `COMMIT[/PATH]`, when the server said which commit the revision resolved
    /// to: later pages name that, so a branch that moves meanwhile cannot mix two trees.
    pub fn pinned(&self) -> Option<String> {
        self.dir.as_ref()?.resource.as_ref()?.pinned()
    }

    /// The commit the revision resolved to, when the server said.
    pub fn commit(&self) -> Option<&str> {
        let commit = &self.dir.as_ref()?.resource.as_ref()?.commit.as_ref()?.id;
        (!commit.is_empty() && commit.bytes().all(|b| b.is_ascii_hexdigit())).then_some(commit)
    }
}

#[derive(Debug, Deserialize)]
struct DirSelf {
    resource: Option<MetaResource>,
}

/// A file or directory in a listing.
#[derive(Debug, Deserialize)]
pub struct DirEntry {
    pub filename: String,
    #[serde(default)]
    pub hash: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub is_dir: bool,
    pub resource: Option<DirResource>,
    /// With `depth` ≠ 0, a directory's own entries.
    #[serde(default)]
    pub children: Option<Vec<DirEntry>>,
}

/// Where an entry is in the repository.
#[derive(Debug, Deserialize)]
pub struct DirResource {
    #[serde(default)]
    pub path: String,
}

#[derive(Deserialize)]
struct MetaBody {
    entry: MetaEntry,
}

#[derive(Deserialize)]
struct MetaEntry {
    hash: String,
    size: u64,
    #[serde(default)]
    is_dir: bool,
    resource: Option<MetaResource>,
    latest_commit: Option<CommitRef>,
}

#[derive(Debug, Deserialize)]
struct MetaResource {
    commit: Option<CommitRef>,
    path: Option<String>,
}

impl MetaResource {
    /// `COMMIT/PATH` (`COMMIT` alone for the root), when the commit id is a plain hex id.
    fn pinned(&self) -> Option<String> {
        let commit = &self.commit.as_ref()?.id;
        if commit.is_empty() || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(match self.path.as_deref().map(|p| p.trim_matches('/')) {
            Some(path) if !path.is_empty() => format!("{commit}/{path}"),
            _ => commit.clone(),
        })
    }
}

#[derive(Debug, Deserialize)]
struct CommitRef {
    id: String,
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
            shown: endpoint.to_string(),
            repo_url: format!(
                "{}/api/repos/{}/{}",
                endpoint.base(),
                encode_segment(&repo.namespace),
                encode_segment(&repo.name)
            ),
            token: options.token,
            basic: endpoint.basic_authorization(),
            config_unreadable: options.config_unreadable,
            read_timeout: options.read_timeout,
            verbose: options.verbose,
            host_key: endpoint.host_key(),
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
        let response = self.success_or_not_found(response)?;
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
    pub fn dir_page(&self, resource: &str, page: u64, depth: i64) -> Result<DirPage> {
        let url = format!(
            "{}/dir/{}?page={page}&page_size={DIR_PAGE_SIZE}&depth={depth}",
            self.repo_url,
            encode_path(resource.trim_end_matches('/'))
        );
        let response = self.send(Method::GET, &url, Vec::new())?;
        let response = self.success_or_not_found(response)?;
        self.read_json(response, LISTING_LIMIT, "listing")
    }

    /// The content hash and size of `REVISION/PATH` from `GET /meta/...`.
    pub fn meta(&self, resource: &str) -> Result<Meta> {
        let url = format!("{}/meta/{}", self.repo_url, encode_path(resource));
        let response = self.send(Method::GET, &url, Vec::new())?;
        if !response.status().is_success() {
            return Err(match self.refusal(response) {
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
        match self.refusal(response) {
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
            match self.refusal(response) {
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
                            self.shown
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

    fn reader(&self, body: Body) -> NetReader {
        NetReader {
            inner: body.into_reader(),
            read_timeout: self.read_timeout,
            verbose: self.verbose,
            received: 0,
            logged: false,
        }
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
            .map_err(|err| self.transport_error(err))?;
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

    /// Connection-level failures are worth retrying, except those that no retry can fix.
    fn transport_error(&self, err: ureq::Error) -> anyhow::Error {
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

    /// The response if it succeeded; otherwise its error, where anything route-like means "not found".
    fn success_or_not_found(&self, response: Response<Body>) -> Result<Response<Body>> {
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
    fn refusal(&self, response: Response<Body>) -> Refusal {
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
        if self.token.is_some() {
            return format!(
                "{message}: the server rejected the token; check --token, OXDL_TOKEN or the entry for \
                 host \"{host}\" in auth_config.toml"
            );
        }
        let refused = if self.basic.is_some() {
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

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `versions/{rev}/metadata` is shadowed by the server's metadata route; `file/` serves the same bytes.
fn file_route(resource: &str) -> &'static str {
    match resource.split('/').collect::<Vec<_>>().as_slice() {
        [_, "metadata"] => "file",
        _ => "versions",
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

    #[test]
    fn the_real_metadata_answer_names_its_commit() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/oxen-server-0.50.7/responses/meta-hello.body"
        );
        let body: MetaBody = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let resource = body.entry.resource.unwrap();
        assert_eq!(
            resource.commit.unwrap().id,
            "175b5b0eb33472df934319ae60476e1e"
        );
        assert_eq!(resource.path.as_deref(), Some("hello.txt"));
        assert_eq!(body.entry.hash, "4bc6f9c6f8941bc2e3a7ebff29145cde");
    }

    #[test]
    fn metadata_is_served_by_the_file_route() {
        assert_eq!(file_route("main/metadata"), "file");
        assert_eq!(file_route("main/dir/metadata"), "versions");
        assert_eq!(file_route("main/hello.txt"), "versions");
    }
}
