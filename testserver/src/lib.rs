//! An Oxen-compatible HTTP/1.1 server for oxdl's tests, benchmarks and demo.
//!
//! It answers as a real oxen-server 0.50.7 did (the captured answers are in oxdl's `tests/fixtures/`):
//! `GET /versions/{revision}/{path}` (and `/file/...`), `GET /meta/...`, `GET /chunk/...` (byte ranges), the
//! batch download as
//! `QUERY /versions` (real servers) or `POST /versions/batch-download` (the documented route), with the
//! same error bodies, and the batch answer as one gzip member around a GNU tar in request order, sent
//! with chunked transfer encoding. Bodies are streamed from memory or disk, never built whole. For tests it
//! can also misbehave on purpose (see [`Fault`] and [`Config`]).
//!
//! Connections are kept alive between requests, as actix-web (the real server) keeps them: HTTP/1.1 unless
//! the client sends `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`. A connection closes
//! after an answer cut on purpose ([`Fault::Cut`], [`Fault::Stall`], `cut_*` in [`Config`]) and after a
//! body that only the close can end (a streamed answer to an HTTP/1.0 client). One thread serves each
//! connection, so requests on different connections are answered at the same time; [`Config::latency`]
//! delays each on its own connection's thread.

mod http;
mod repo;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

pub use http::{Recorded, percent_decode};
pub use repo::{Blob, Repo, hash_of};

use http::{Chunked, Cutoff, Framing, read_body, read_head, write_head};

/// The server version the answers imitate.
pub const OXEN_VERSION: &str = "0.50.7";

/// Body of the 426 a real server sends to User-Agents containing "oxen" with an old version.
const UPDATE_REQUIRED: &str = r#"{"error":{"detail":"Oxen CLI out of date. Pushing to OxenHub requires version >= 0.36.0.","title":"Update Required","type":"update_required"},"status":"error","status_message":"update_required"}"#;

/// How the server answers the two batch routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRoutes {
    /// As real servers: `QUERY /versions` works, `POST /versions/batch-download` is a generic 404.
    Real,
    /// As behind a proxy that rejects QUERY with this status (404: the generic route-missing body), in
    /// front of a server that serves the documented POST route.
    QueryRejected(u16),
}

/// How the metadata route behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaMode {
    /// As the real server: hash and size of the file.
    Real,
    /// No such route (the generic 404), as an older server or a strict proxy might answer.
    Absent,
    /// Claims a different hash than the bytes served.
    WrongHash,
    /// As if `branch` moved to commit `to` just before the metadata was asked for: the metadata
    /// describes the file at `to`, while downloads by the branch name still serve the old commit.
    Moved { branch: String, to: String },
}

/// A misbehaviour for one request: each request takes the next fault in the queue, if any.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status, `Retry-After` value and body instead of the real answer.
    Status {
        status: u16,
        retry_after: Option<String>,
        body: Vec<u8>,
    },
    /// Answer normally but close the connection after this many body bytes.
    Cut(usize),
    /// Answer normally, but after half the body (or 64 KiB of a batch) go silent for this long, then close.
    Stall(Duration),
    /// Redirect (302) to the same path and query on this base URL.
    Redirect(String),
    /// Answer normally (to let earlier requests through).
    Pass,
}

/// A canned answer for one resize request: path, width, height, and the bytes to send.
pub type Resized = (String, Option<u32>, Option<u32>, Vec<u8>);

/// Replaces the body of a successful batch answer: given the requested hashes, the raw bytes to send.
pub type ArchiveOverride = Arc<dyn Fn(&[String]) -> Vec<u8> + Send + Sync>;

/// What the server serves beyond its repository, and how it misbehaves.
#[derive(Clone)]
pub struct Config {
    /// When set, requests must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
    pub batch_routes: BatchRoutes,
    pub archive_override: Option<ArchiveOverride>,
    /// Cut every successful batch body after this many bytes by closing the connection mid-chunk.
    pub cut_batch_after: Option<usize>,
    /// Extra blobs the batch routes can serve, beyond the repository's files.
    pub extra_blobs: Vec<Vec<u8>>,
    /// Leave `oxen-revision-id` out of file downloads, as a proxy that drops unknown headers might.
    pub no_revision_header: bool,
    /// Announce the full Content-Length on file downloads but close after sending this many bytes.
    pub cut_get_after: Option<usize>,
    /// How `GET /meta/...` answers.
    pub meta: MetaMode,
    /// Misbehaviours for the first requests, one each, in order.
    pub faults: Vec<Fault>,
    /// When set, `faults` apply only to requests whose target contains this text (say `/chunk/`); the
    /// others are answered normally and take none. For clients that send requests at once, whose order
    /// of arrival is not fixed.
    pub faults_for: Option<String>,
    /// Serve `GET /chunk/...` (byte ranges) as real servers do; off, it is the generic route-missing 404.
    pub chunk_route: bool,
    /// Pace every response body to at most this many bytes per second (each connection on its own), as a
    /// WAN path that caps each stream.
    pub rate: Option<u64>,
    /// Wait this long before answering each listing request but the first (a slow listing).
    pub dir_delay: Option<Duration>,
    /// Hold each listing request after the first N until a batch request has arrived (at most
    /// [`HOLD_LIMIT`]): a client that starts downloads while it lists goes on, one that waits for the
    /// whole listing first is held, which [`Server::listings_held_to_the_limit`] counts.
    pub hold_listings_after: Option<u64>,
    /// Extra files on branch `main`, by path.
    pub extra_files: Vec<(String, Vec<u8>)>,
    /// Canned answers for resize requests. Other sizes get the original bytes.
    pub resized: Vec<Resized>,
    /// gzip level of batch answers (the real server uses the default, 6).
    pub gzip_level: u32,
    /// Keep each batch answer in this directory and replay it for the same hash list, so that the
    /// server's own compression stays out of benchmarks.
    pub archive_cache: Option<PathBuf>,
    /// A WAN path's round-trip time: each request is answered this much later (after its head and body
    /// are read), and each new connection waits this long before its first request is read (the TCP
    /// handshake's round trip). A fresh connection's first request so costs two round trips, a request on
    /// a kept-alive one one. The waits happen on the connection's own thread, so concurrent requests
    /// overlap.
    pub latency: Option<Duration>,
    /// Print a line to stderr for each request as it arrives: connection number, new or reused,
    /// method and target.
    pub log_requests: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: None,
            batch_routes: BatchRoutes::Real,
            archive_override: None,
            cut_batch_after: None,
            extra_blobs: Vec::new(),
            no_revision_header: false,
            cut_get_after: None,
            meta: MetaMode::Real,
            faults: Vec::new(),
            faults_for: None,
            chunk_route: true,
            rate: None,
            dir_delay: None,
            hold_listings_after: None,
            extra_files: Vec::new(),
            resized: Vec::new(),
            gzip_level: 6,
            archive_cache: None,
            latency: None,
            log_requests: false,
        }
    }
}

/// The longest `Config::hold_listings_after` holds a listing.
pub const HOLD_LIMIT: Duration = Duration::from_secs(5);

/// A running server; it serves until the process ends.
pub struct Server {
    pub url: String,
    pub port: u16,
    state: Arc<State>,
}

impl Server {
    /// Starts serving `repo` on `bind:port` (port 0: any free port).
    pub fn start(mut repo: Repo, config: Config, bind: &str, port: u16) -> io::Result<Server> {
        for bytes in &config.extra_blobs {
            repo.add_blob(Blob::bytes(bytes.clone()))?;
        }
        let listener = TcpListener::bind((bind, port))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            faults: Mutex::new(config.faults.iter().cloned().collect()),
            next_request_id: AtomicU64::new(1),
            dir_requests: AtomicU64::new(0),
            batch_seen: (Mutex::new(false), std::sync::Condvar::new()),
            held_to_the_limit: AtomicU64::new(0),
            config,
            repo,
            requests: Mutex::new(Vec::new()),
            connections: AtomicU64::new(0),
            in_flight: Gauge::default(),
            dir_in_flight: Gauge::default(),
        });
        let serving = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = serving.clone();
                let number = state.connections.fetch_add(1, Ordering::SeqCst) + 1;
                thread::spawn(move || {
                    // A client that goes away mid-answer is not the server's problem.
                    let _ = state.serve(stream, number);
                });
            }
        });
        let host = if bind.contains(':') {
            format!("[{bind}]")
        } else {
            bind.to_string()
        };
        Ok(Server {
            url: format!("http://{host}:{port}"),
            port,
            state,
        })
    }

    /// The most requests in flight at once: a request counts from the moment its head has been read
    /// until its answer has been written (or cut), so a kept-alive connection that sits idle between
    /// requests does not count. (Precisely: until just before the answer's last bytes are sent, so that
    /// a client that goes on to its next request on another connection never finds the one it is done
    /// with still counted.) With one request per connection at a time (HTTP/1.1 without
    /// pipelining), this is the most connections busy at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.in_flight.max.load(Ordering::SeqCst)
    }

    /// The most listing requests (`GET .../dir/...`) in flight at once, counted as [`Self::max_in_flight`].
    pub fn max_dir_in_flight(&self) -> usize {
        self.state.dir_in_flight.max.load(Ordering::SeqCst)
    }

    /// Listing requests held until [`HOLD_LIMIT`] by `Config::hold_listings_after`, no batch request
    /// having come meanwhile.
    pub fn listings_held_to_the_limit(&self) -> u64 {
        self.state.held_to_the_limit.load(Ordering::SeqCst)
    }

    /// The connections accepted so far (open or closed).
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Every request so far, in arrival order (as each was read whole, before any latency).
    pub fn requests(&self) -> Vec<Recorded> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A count of things under way, and the most there were at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    /// Counts one more until the returned guard is dropped.
    fn enter(&self) -> Entered<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        Entered(self)
    }
}

struct Entered<'a>(&'a Gauge);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

struct State {
    config: Config,
    repo: Repo,
    requests: Mutex<Vec<Recorded>>,
    faults: Mutex<VecDeque<Fault>>,
    next_request_id: AtomicU64,
    /// Listing requests answered so far (for `Config::dir_delay` and `Config::hold_listings_after`).
    dir_requests: AtomicU64,
    /// A batch request has arrived (for `Config::hold_listings_after`).
    batch_seen: (Mutex<bool>, std::sync::Condvar),
    /// Listings held until the limit, no batch request having come.
    held_to_the_limit: AtomicU64,
    /// Connections accepted so far; the last one's number.
    connections: AtomicU64,
    /// Requests between their head's being read and their answer's being written.
    in_flight: Gauge,
    /// The same for listing requests only.
    dir_in_flight: Gauge,
}

/// What a response carries.
enum Payload {
    Bytes(Vec<u8>),
    Blob(Blob),
    /// `len` bytes of a blob from `start`.
    Range(Blob, u64, u64),
    /// A batch answer, built (gzip over tar) while it is sent.
    Archive(Vec<(String, Blob)>),
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    payload: Payload,
    /// Chunked transfer encoding (as the real server streams batch answers) instead of Content-Length.
    chunked: bool,
    /// Close the connection after this many body bytes (the headers still announce the whole body).
    cut: Option<u64>,
    /// Before cutting, go silent for this long.
    stall: Option<Duration>,
}

impl Response {
    fn new(status: u16, headers: Vec<(String, String)>, payload: Payload) -> Response {
        Response {
            status,
            headers,
            payload,
            chunked: false,
            cut: None,
            stall: None,
        }
    }
}

impl State {
    /// Answers requests on connection number `number`, keeping it open between them as the real server
    /// does, until the client closes it or asks to, an answer is cut on purpose, or a body can only end
    /// with the connection.
    fn serve(&self, stream: TcpStream, number: u64) -> io::Result<()> {
        if let Some(latency) = self.config.latency {
            // The handshake's round trip, before the client's first request can arrive.
            thread::sleep(latency);
        }
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut reused = false;
        while let Some(mut request) = read_head(&mut reader)? {
            let busy = (
                self.in_flight.enter(),
                request.is_listing().then(|| self.dir_in_flight.enter()),
            );
            request.connection = number;
            request.reused = reused;
            reused = true;
            if self.config.log_requests {
                eprintln!(
                    "oxdl-testserver: connection {number} ({}) {} {}",
                    if request.reused { "reused" } else { "new" },
                    request.method,
                    request.target
                );
            }
            read_body(&mut reader, &mut request)?;
            self.requests
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(request.clone());
            if let Some(latency) = self.config.latency {
                thread::sleep(latency);
            }
            let response = self.answer(&request);
            let keep = request.keeps_alive() && response.cut.is_none();
            if !self.write(&stream, &request, response, keep, busy)? {
                break;
            }
        }
        let _ = stream.shutdown(std::net::Shutdown::Both);
        Ok(())
    }

    fn answer(&self, request: &Recorded) -> Response {
        let faulty = match &self.config.faults_for {
            Some(part) => request.target.contains(part.as_str()),
            None => true,
        };
        let fault = if faulty {
            self.faults
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front()
        } else {
            None
        };
        match fault {
            Some(Fault::Status {
                status,
                retry_after,
                body,
            }) => {
                let mut headers = vec![("content-type".to_string(), "text/plain".to_string())];
                if let Some(value) = retry_after {
                    headers.push(("retry-after".to_string(), value));
                }
                Response::new(status, headers, Payload::Bytes(body))
            }
            Some(Fault::Redirect(base)) => Response::new(
                302,
                vec![("location".to_string(), format!("{base}{}", request.target))],
                Payload::Bytes(Vec::new()),
            ),
            Some(Fault::Cut(bytes)) => Response {
                cut: Some(bytes as u64),
                ..self.route(request)
            },
            Some(Fault::Stall(pause)) => {
                let response = self.route(request);
                let half = match &response.payload {
                    Payload::Bytes(bytes) => bytes.len() as u64 / 2,
                    Payload::Blob(blob) => blob.size() / 2,
                    Payload::Range(_, _, len) => len / 2,
                    Payload::Archive(_) => 64 * 1024,
                };
                Response {
                    cut: Some(half),
                    stall: Some(pause),
                    ..response
                }
            }
            Some(Fault::Pass) | None => self.route(request),
        }
    }

    /// Writes `response` to `request`; `keep` says whether the connection may carry another request
    /// afterwards. Returns whether it may: not when the body can only end with the connection. `busy` (the
    /// in-flight counts) is let go just before the answer's last bytes are sent, so that a client that has
    /// read them and sends its next request on another connection never finds this one still counted.
    fn write<B>(
        &self,
        stream: &TcpStream,
        request: &Recorded,
        response: Response,
        keep: bool,
        busy: B,
    ) -> io::Result<bool> {
        let mut headers = response.headers;
        headers.push(("oxen-version".to_string(), OXEN_VERSION.to_string()));
        let id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        headers.push(("x-oxen-request-id".to_string(), format!("{id:016x}")));
        let framing = match (&response.payload, response.chunked) {
            // An HTTP/1.0 client cannot read chunks: the end of the connection ends the body.
            (_, true) | (Payload::Archive(_), _) if request.version == "HTTP/1.0" => {
                Framing::UntilClose
            }
            (_, true) | (Payload::Archive(_), _) => Framing::Chunked,
            (Payload::Bytes(bytes), false) => Framing::Length(bytes.len() as u64),
            (Payload::Blob(blob), false) => Framing::Length(blob.size()),
            (Payload::Range(_, _, len), false) => Framing::Length(*len),
        };
        let keep = keep && framing != Framing::UntilClose;
        let connection = match (keep, request.version.as_str()) {
            (false, _) => Some("close"),
            (true, "HTTP/1.0") => Some("keep-alive"),
            (true, _) => None,
        };
        let mut socket = BufWriter::with_capacity(256 * 1024, stream.try_clone()?);
        write_head(&mut socket, response.status, &headers, framing, connection)?;
        if request.method == "HEAD" {
            // The head announces the body, which is not sent.
            drop(busy);
            socket.flush()?;
            return Ok(keep);
        }
        let body = match framing {
            Framing::Chunked => BodyWriter::Chunked(Chunked::new(socket)),
            Framing::Length(_) | Framing::UntilClose => BodyWriter::Fixed(socket),
        };
        let body = Cutoff {
            inner: body,
            limit: response.cut,
            stall: response.stall,
            written: 0,
        };
        let mut body = Paced::new(body, self.config.rate);
        let result = match response.payload {
            Payload::Bytes(bytes) => body.write_all(&bytes),
            Payload::Blob(blob) => blob.reader().and_then(|mut r| copy(&mut r, &mut body)),
            Payload::Range(blob, start, len) => blob
                .range_reader(start, len)
                .and_then(|mut r| copy(&mut r, &mut body)),
            Payload::Archive(entries) => self.write_archive(&mut body, &entries),
        };
        // Only a complete body gets its proper end (the last chunk); a cut one just stops.
        if result.is_ok() {
            drop(busy);
            body.inner.inner.finish()?;
        } else {
            let _ = body.flush();
        }
        result.map(|()| keep)
    }

    /// Streams a batch answer, from the archive cache when it holds this list.
    fn write_archive(&self, out: &mut impl Write, entries: &[(String, Blob)]) -> io::Result<()> {
        let Some(dir) = &self.config.archive_cache else {
            return write_archive(out, entries, self.config.gzip_level);
        };
        let mut key = xxhash_rust::xxh3::Xxh3::new();
        for (hash, _) in entries {
            key.update(hash.as_bytes());
            key.update(b"\n");
        }
        let path = dir.join(format!(
            "{:032x}-{}.tar.gz",
            key.digest128(),
            self.config.gzip_level
        ));
        if let Ok(mut cached) = File::open(&path) {
            return io::copy(&mut cached, out).map(drop);
        }
        std::fs::create_dir_all(dir)?;
        // Unique per answer: two clients may ask for the same list at once.
        let serial = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        let temp = path.with_extension(format!("part{}-{serial}", std::process::id()));
        let mut tee = Tee {
            a: out,
            b: BufWriter::new(File::create(&temp)?),
        };
        write_archive(&mut tee, entries, self.config.gzip_level)?;
        tee.b.flush()?;
        std::fs::rename(&temp, &path)
    }

    fn route(&self, request: &Recorded) -> Response {
        if let Some(response) = self.check_auth(request) {
            return response;
        }
        let user_agent = request.header("user-agent").unwrap_or("");
        if user_agent.to_ascii_lowercase().contains("oxen") && !client_version_ok(user_agent) {
            return json(426, UPDATE_REQUIRED.as_bytes().to_vec());
        }
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((&request.target, ""));
        let segments: Vec<String> = path.split('/').skip(1).map(percent_decode).collect();
        let [api, repos, namespace, name, rest @ ..] = segments.as_slice() else {
            return generic_404();
        };
        if api != "api" || repos != "repos" {
            return generic_404();
        }
        if (namespace, name) != (&self.repo.namespace, &self.repo.name) {
            let body = serde_json::json!({
                "status": "error",
                "status_message": "resource_not_found",
                "oxen_version": OXEN_VERSION,
                "status_description": format!("Repository '{namespace}/{name}' not found"),
            });
            return json(404, body.to_string().into_bytes());
        }
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        match (request.method.as_str(), rest.as_slice()) {
            ("GET", ["versions" | "file", resource @ ..]) if !resource.is_empty() => {
                self.get_file(resource, query)
            }
            ("GET", ["meta", resource @ ..]) if !resource.is_empty() => self.meta(resource),
            ("GET", ["chunk", resource @ ..])
                if !resource.is_empty() && self.config.chunk_route =>
            {
                self.chunk(resource, query)
            }
            ("GET", ["dir", resource @ ..]) if !resource.is_empty() => self.dir(resource, query),
            ("QUERY", ["versions"]) => match self.config.batch_routes {
                BatchRoutes::Real => self.batch(&request.body),
                BatchRoutes::QueryRejected(404) => generic_404(),
                BatchRoutes::QueryRejected(status) => text(status, "Method Not Allowed"),
            },
            ("POST", ["versions", "batch-download"]) => match self.config.batch_routes {
                BatchRoutes::Real => generic_404(),
                BatchRoutes::QueryRejected(_) => self.batch(&request.body),
            },
            _ => generic_404(),
        }
    }

    fn check_auth(&self, request: &Recorded) -> Option<Response> {
        let expected = self.config.token.as_ref()?;
        match request.header("authorization") {
            Some(value) if value == format!("Bearer {expected}") => None,
            Some(_) => Some(text(401, "unauthorized")),
            None => Some(Response::new(
                401,
                vec![("www-authenticate".into(), "Bearer".into())],
                Payload::Bytes(Vec::new()),
            )),
        }
    }

    /// `GET /meta/{revision}/{path}`: the entry's hash and size (other fields of the real answer omitted).
    fn meta(&self, resource: &[&str]) -> Response {
        if self.config.meta == MetaMode::Absent {
            return generic_404();
        }
        let mut moved = resource.to_vec();
        if let MetaMode::Moved { branch, to } = &self.config.meta
            && resource.first() == Some(&branch.as_str())
        {
            moved[0] = to.as_str();
        }
        let resource = &moved[..];
        let Some((commit, path)) = self.repo.resolve(resource) else {
            return path_missing(&resource.join("/"));
        };
        let entry = match self.repo.file(&commit, &path) {
            Some((blob, hash)) => {
                let hash = match self.config.meta {
                    MetaMode::WrongHash => hash_of(b"something else"),
                    _ => hash.clone(),
                };
                serde_json::json!({
                    "filename": path.rsplit('/').next(), "hash": hash, "size": blob.size(), "is_dir": false,
                    "latest_commit": {"id": self.repo.changed_in(&commit, &path)},
                    "resource": {"commit": {"id": commit}, "path": path},
                })
            }
            None if self.repo.is_dir(&commit, &path) => serde_json::json!({
                "filename": path, "hash": "81aca808e0c55ea0283c25168af52c9d", "size": 0, "is_dir": true,
            }),
            None => return path_missing(&path),
        };
        let body = serde_json::json!({
            "status": "success", "status_message": "resource_found", "oxen_version": OXEN_VERSION, "entry": entry,
        });
        json(200, body.to_string().into_bytes())
    }

    /// `GET /dir/{revision}/{path}?page=&page_size=&depth=`: directories first, then files, each by
    /// name; paging applies to the top-level entries; with depth ≠ 0 (negative: unlimited) directories
    /// carry their `children`. Only the fields oxdl reads and a few more of the real answer. A file's
    /// path answers the same 404 as a missing path: the real answer for that was not captured, and this
    /// is the assumption oxdl's `ls` is written against.
    fn dir(&self, resource: &[&str], query: &str) -> Response {
        let seen = self.dir_requests.fetch_add(1, Ordering::Relaxed);
        if let Some(delay) = self.config.dir_delay
            && seen > 0
        {
            std::thread::sleep(delay);
        }
        if let Some(free) = self.config.hold_listings_after
            && seen >= free
        {
            let (batch_seen, wake) = &self.batch_seen;
            let seen = batch_seen.lock().unwrap_or_else(|e| e.into_inner());
            let (seen, _) = wake
                .wait_timeout_while(seen, HOLD_LIMIT, |seen| !*seen)
                .unwrap_or_else(|e| e.into_inner());
            if !*seen {
                self.held_to_the_limit.fetch_add(1, Ordering::SeqCst);
            }
        }
        let number = |key: &str, default: i64| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .unwrap_or(default)
        };
        let (page, page_size, depth) = (
            number("page", 1).max(1),
            number("page_size", 100).max(1),
            number("depth", 0),
        );
        // The revision alone (a branch name may have slashes) lists the root: the real server tries the
        // longest branch prefix first, which here is the whole resource.
        let whole: Vec<&str> = resource.iter().copied().chain([""]).collect();
        let (commit, path) = match self.repo.resolve(&whole) {
            Some((commit, path)) if path.is_empty() => (commit, path),
            _ => match self.repo.resolve(resource) {
                Some(found) => found,
                None => return path_missing(&resource.join("/")),
            },
        };
        let version = resource.join("/");
        let version = version
            .strip_suffix(&path)
            .unwrap_or(&version)
            .trim_end_matches('/')
            .to_string();
        let Some(entries) = self.dir_entries(&commit, &path, &version, depth) else {
            return path_missing(&path);
        };
        let total = entries.len() as i64;
        let start = ((page - 1) * page_size).min(total) as usize;
        let end = (page * page_size).min(total) as usize;
        let body = serde_json::json!({
            "status": "success",
            "status_message": "resource_found",
            "oxen_version": OXEN_VERSION,
            // As the real server: the directory's own entry names the commit the revision resolved to.
            "dir": {"filename": path.rsplit('/').next(), "is_dir": true, "size": self.repo.dir_size(&commit, &path),
                    "resource": {"commit": {"id": commit}, "path": path, "version": version}},
            "entries": &entries[start..end],
            "resource": {"path": path, "version": version},
            "page_size": page_size,
            "page_number": page,
            "total_pages": ((total + page_size - 1) / page_size).max(1),
            "total_entries": total,
        });
        json(200, body.to_string().into_bytes())
    }

    fn dir_entries(
        &self,
        commit: &str,
        dir: &str,
        version: &str,
        depth: i64,
    ) -> Option<Vec<serde_json::Value>> {
        let (dirs, files) = self.repo.children(commit, dir)?;
        let join = |name: &str| {
            if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            }
        };
        let mut entries = Vec::new();
        for name in dirs {
            let path = join(&name);
            let mut entry = serde_json::json!({
                "filename": name, "hash": hash_of(path.as_bytes()), "is_dir": true,
                "size": self.repo.dir_size(commit, &path), "data_type": "dir", "mime_type": "inode/directory",
                "resource": {"path": path, "version": version},
            });
            if depth != 0 {
                entry["children"] = serde_json::Value::Array(self.dir_entries(
                    commit,
                    &path,
                    version,
                    depth - 1,
                )?);
            }
            entries.push(entry);
        }
        for (name, blob, hash) in files {
            entries.push(serde_json::json!({
                "filename": name, "hash": hash, "is_dir": false, "size": blob.size(),
                "mime_type": mime_type(&name), "resource": {"path": join(&name), "version": version},
            }));
        }
        Some(entries)
    }

    fn get_file(&self, resource: &[&str], query: &str) -> Response {
        let (width, height) = match parse_size_query(query) {
            Ok(size) => size,
            Err(message) => return text(400, &message),
        };
        let Some((commit, path)) = self.repo.resolve(resource) else {
            return path_missing(&resource.join("/"));
        };
        let Some((blob, _)) = self.repo.file(&commit, &path) else {
            return path_missing(&path);
        };
        let resized = self
            .config
            .resized
            .iter()
            .find(|(p, w, h, _)| *p == path && (*w, *h) == (width, height));
        let payload = match resized {
            Some((_, _, _, bytes)) => Payload::Bytes(bytes.clone()),
            // Other sizes are not resized: the tests only check that they reach the server.
            None => Payload::Blob(blob.clone()),
        };
        let mut headers = vec![
            (
                "access-control-expose-headers".into(),
                "content-length".into(),
            ),
            ("content-type".into(), mime_type(&path).into()),
        ];
        if !self.config.no_revision_header {
            headers.push((
                "oxen-revision-id".into(),
                self.repo.changed_in(&commit, &path),
            ));
        }
        Response {
            cut: self.config.cut_get_after.map(|n| n as u64),
            ..Response::new(200, headers, payload)
        }
    }

    /// `GET /chunk/{revision}/{path}?chunk_start=N&chunk_size=M`: bytes `[N, N+M)` of the file, answered
    /// as the real server does (captured as `chunk-*`): the size defaults to 10 MiB, a range reaching past
    /// the end is a 500, a missing path or a directory the generic 404, a bad number a 400 in text.
    fn chunk(&self, resource: &[&str], query: &str) -> Response {
        let mut start = 0u64;
        let mut size = 10 * 1024 * 1024u64;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let target = match key {
                "chunk_start" => &mut start,
                "chunk_size" => &mut size,
                _ => continue,
            };
            match value.parse() {
                Ok(number) => *target = number,
                Err(_) => {
                    return text(
                        400,
                        "Query deserialize error: invalid digit found in string",
                    );
                }
            }
        }
        let Some((blob, _)) = self
            .repo
            .resolve(resource)
            .and_then(|(commit, path)| self.repo.file(&commit, &path))
        else {
            return generic_404();
        };
        if start >= blob.size() || start.saturating_add(size) > blob.size() {
            let body = format!(
                r#"{{"status":"error","status_message":"internal_server_error","oxen_version":"{OXEN_VERSION}"}}"#
            );
            return json(500, body.into_bytes());
        }
        Response {
            cut: self.config.cut_get_after.map(|n| n as u64),
            ..Response::new(200, Vec::new(), Payload::Range(blob.clone(), start, size))
        }
    }

    fn batch(&self, body: &[u8]) -> Response {
        {
            let (batch_seen, wake) = &self.batch_seen;
            *batch_seen.lock().unwrap_or_else(|e| e.into_inner()) = true;
            wake.notify_all();
        }
        let mut text = String::new();
        if GzDecoder::new(body).read_to_string(&mut text).is_err() {
            let body = format!(
                r#"{{"status":"error","status_message":"internal_server_error","oxen_version":"{OXEN_VERSION}"}}"#
            );
            return json(500, body.into_bytes());
        }
        // The real handler silently drops blank and non-hex lines and keeps duplicates.
        let hashes: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && line.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string)
            .collect();
        let missing: Vec<&str> = hashes
            .iter()
            .filter(|h| self.repo.blob(h).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let body = serde_json::json!({
                "error": {
                    "detail": format!(
                        "Server is missing {} content blob(s) for this batch download. Missing hashes: {}",
                        missing.len(),
                        missing.join(", ")
                    ),
                    "missing_hashes": missing,
                    "title": "Version blobs missing on server",
                    "type": "version_blobs_missing",
                },
                "status": "error",
                "status_message": "resource_not_found",
            });
            return json(404, body.to_string().into_bytes());
        }
        let headers = vec![("content-type".into(), "application/gzip".into())];
        let payload = match &self.config.archive_override {
            Some(make) => Payload::Bytes(make(&hashes)),
            None => Payload::Archive(
                hashes
                    .iter()
                    .filter_map(|h| self.repo.blob(h).map(|b| (h.clone(), b.clone())))
                    .collect(),
            ),
        };
        Response {
            chunked: true,
            cut: self.config.cut_batch_after.map(|n| n as u64),
            ..Response::new(200, headers, payload)
        }
    }
}

/// The socket side of a body: as it is (Content-Length, or ended by the close), or chunked.
enum BodyWriter {
    Fixed(BufWriter<TcpStream>),
    Chunked(Chunked<BufWriter<TcpStream>>),
}

impl BodyWriter {
    /// Flushes, ending a chunked body with its last chunk.
    fn finish(self) -> io::Result<()> {
        match self {
            BodyWriter::Fixed(mut socket) => socket.flush(),
            BodyWriter::Chunked(chunked) => chunked.finish().map(drop),
        }
    }
}

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            BodyWriter::Fixed(w) => w.write(buf),
            BodyWriter::Chunked(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            BodyWriter::Fixed(w) => w.flush(),
            BodyWriter::Chunked(w) => w.flush(),
        }
    }
}

/// Copies in large blocks (`io::copy` would use 8 KiB ones here), so the server keeps up with clients.
fn copy(reader: &mut impl Read, writer: &mut impl Write) -> io::Result<()> {
    let mut buf = vec![0; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => writer.write_all(&buf[..n])?,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// Holds a body to `rate` bytes per second (when set), in slices of at most 16 KiB so the pace is even.
struct Paced<W: Write> {
    inner: W,
    rate: Option<u64>,
    started: std::time::Instant,
    sent: u64,
}

impl<W: Write> Paced<W> {
    fn new(inner: W, rate: Option<u64>) -> Self {
        Paced {
            inner,
            rate: rate.filter(|&r| r > 0),
            started: std::time::Instant::now(),
            sent: 0,
        }
    }
}

impl<W: Write> Write for Paced<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(rate) = self.rate else {
            return self.inner.write(buf);
        };
        // What was written goes out, and this slice waits until it would have: so the last slice stays
        // in the buffer until the body's end sends it, after the request stops counting as in flight
        // (otherwise a client could see its whole answer, and send its next request, while the server
        // still counted this one).
        self.inner.flush()?;
        let due = Duration::from_secs_f64(self.sent as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(self.started.elapsed()) {
            thread::sleep(wait);
        }
        let n = self.inner.write(&buf[..buf.len().min(16 * 1024)])?;
        self.sent += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes to two writers at once (the client and the archive cache).
struct Tee<A: Write, B: Write> {
    a: A,
    b: B,
}

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.a.write_all(buf)?;
        self.b.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.a.flush()?;
        self.b.flush()
    }
}

/// The tar header the real server writes for an entry: GNU, mode 0644, uid/gid 0, mtime 0.
fn entry_header(name: &str, size: u64) -> io::Result<tar::Header> {
    let mut header = tar::Header::new_gnu();
    header.set_path(name)?;
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    Ok(header)
}

/// Streams one gzip member around a tar of `entries`, as the real server does.
pub fn write_archive(out: impl Write, entries: &[(String, Blob)], level: u32) -> io::Result<()> {
    let gz = GzEncoder::new(out, Compression::new(level));
    let mut builder = tar::Builder::new(gz);
    for (name, blob) in entries {
        let header = entry_header(name, blob.size())?;
        builder.append(&header, blob.reader()?)?;
    }
    builder.into_inner()?.finish()?.flush()
}

/// A GNU tar of in-memory regular files as the real server writes it (with the end-of-archive marker).
pub fn tar_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let header = entry_header(name, bytes.len() as u64).expect("a valid entry name");
        builder
            .append(&header, &bytes[..])
            .expect("writing to memory");
    }
    builder.into_inner().expect("writing to memory")
}

/// A tar entry with any name bytes and type, bypassing the tar crate's own path checks.
pub fn raw_entry(name: &[u8], entry_type: tar::EntryType, link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    if let Some(gnu) = header.as_gnu_mut() {
        gnu.name[..name.len()].copy_from_slice(name);
        gnu.linkname[..link.len()].copy_from_slice(link);
    }
    header.set_entry_type(entry_type);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// The two zero blocks that end a tar archive.
pub fn end_of_archive() -> Vec<u8> {
    vec![0; 1024]
}

/// One gzip member around `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// What the real server accepts from a User-Agent containing "oxen": `Name/<semver>` at 0.36.0 or later.
fn client_version_ok(user_agent: &str) -> bool {
    let version = user_agent.split_once('/').map_or("", |(_, v)| v.trim());
    let parts: Vec<u64> = version
        .split(['.', '-', '+', ' '])
        .take(3)
        .map_while(|p| p.parse().ok())
        .collect();
    parts.len() == 3 && (parts[0], parts[1], parts[2]) >= (0, 36, 0)
}

fn parse_size_query(query: &str) -> Result<(Option<u32>, Option<u32>), String> {
    let mut size = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let parsed = value
            .parse::<u32>()
            .map_err(|_| "Query deserialize error: invalid digit found in string".to_string());
        match key {
            "width" => size.0 = Some(parsed?),
            "height" => size.1 = Some(parsed?),
            _ => {}
        }
    }
    Ok(size)
}

fn mime_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("txt" | "csv" | "json" | "md") => "text/plain",
        _ => "application/octet-stream",
    }
}

fn path_missing(path: &str) -> Response {
    let body = serde_json::json!({
        "error": {"detail": format!("Could not find path: {path}"), "title": "Path does not exist", "type": "resource_not_found"},
        "status": "error",
        "status_message": "resource_not_found",
    });
    json(404, body.to_string().into_bytes())
}

/// What a real server answers for a route it does not have.
fn generic_404() -> Response {
    let body = format!(
        r#"{{"status":"error","status_message":"resource_not_found","oxen_version":"{OXEN_VERSION}"}}"#
    );
    json(404, body.into_bytes())
}

fn json(status: u16, body: Vec<u8>) -> Response {
    Response::new(
        status,
        vec![("content-type".into(), "application/json".into())],
        Payload::Bytes(body),
    )
}

fn text(status: u16, message: &str) -> Response {
    Response::new(
        status,
        vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        Payload::Bytes(message.as_bytes().to_vec()),
    )
}
