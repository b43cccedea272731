//! An Oxen-compatible HTTP/1.1 server on 127.0.0.1 for the tests, answering as the captured 0.50.7 server did.
//!
//! It serves repository `ox/demo`: branch `main` (commit 175b5b0e…) holds the captured repository's files,
//! branch `feature/x` (commit 950adc1b…) the same with its own `hello.txt`. Batch answers are real gzip over
//! a real GNU tar in request order, sent with chunked transfer encoding like the real server.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

pub const MAIN_COMMIT: &str = "175b5b0eb33472df934319ae60476e1e";
pub const FEATURE_COMMIT: &str = "950adc1bee7b07698442ec9a42944e2b";
const OXEN_VERSION: &str = "0.50.7";

/// The captured fixtures, copied into the project.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oxen-server-0.50.7")
}

/// A captured response body.
pub fn fixture_body(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("responses").join(format!("{name}.body"))).unwrap()
}

/// The server's hash string for some bytes.
pub fn hash_of(bytes: &[u8]) -> String {
    format!("{:x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// How the server answers the two batch routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRoutes {
    /// As real servers: `QUERY /versions` works, `POST /versions/batch-download` is a generic 404.
    Real,
    /// As behind a proxy that rejects QUERY with this status (404: the generic route-missing body), in
    /// front of a server that serves the documented POST route.
    QueryRejected(u16),
}

/// Replaces the body of a successful batch answer: given the requested hashes, the raw bytes to send.
pub type ArchiveOverride = Arc<dyn Fn(&[String]) -> Vec<u8> + Send + Sync>;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The request target as sent: path and query, still percent-encoded.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The hash lines of a batch request body (gunzipped).
    pub fn batch_hashes(&self) -> Vec<String> {
        let mut text = String::new();
        GzDecoder::new(&self.body[..])
            .read_to_string(&mut text)
            .unwrap();
        text.lines().map(str::to_string).collect()
    }
}

/// What the server serves and how it misbehaves.
#[derive(Clone)]
pub struct Config {
    /// When set, requests must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
    pub batch_routes: BatchRoutes,
    pub archive_override: Option<ArchiveOverride>,
    /// Cut a successful batch body after this many bytes by closing the connection mid-chunk.
    pub cut_batch_after: Option<usize>,
    /// Extra blobs the batch routes can serve, beyond the repository's files.
    pub extra_blobs: Vec<Vec<u8>>,
    /// Advertise this Content-Length on file downloads but close after sending this many bytes.
    pub cut_get_after: Option<usize>,
    /// How `GET /meta/...` answers.
    pub meta: MetaMode,
    /// Misbehaviours for the first requests, one each, in order.
    pub faults: Vec<Fault>,
    /// Extra files on branch `main`, by path.
    pub extra_files: Vec<(String, Vec<u8>)>,
}

/// How the metadata route behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaMode {
    /// As the real server: hash and size of the file.
    Real,
    /// No such route (the generic 404), as an older server or a strict proxy might answer.
    Absent,
    /// Claims a different hash than the bytes served.
    WrongHash,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: None,
            batch_routes: BatchRoutes::Real,
            archive_override: None,
            cut_batch_after: None,
            extra_blobs: Vec::new(),
            cut_get_after: None,
            meta: MetaMode::Real,
            faults: Vec::new(),
            extra_files: Vec::new(),
        }
    }
}

/// A running server; it lives until the test process ends.
pub struct TestServer {
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub fn start() -> TestServer {
        Self::with(Config::default())
    }

    /// Starts a server on a free loopback port.
    pub fn with(config: Config) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State::new(config, requests.clone()));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = state.clone();
                thread::spawn(move || {
                    let _ = state.serve(stream);
                });
            }
        });
        TestServer {
            url: format!("http://127.0.0.1:{port}"),
            port,
            requests,
        }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

struct State {
    config: Config,
    /// commit id → path → bytes
    commits: HashMap<String, BTreeMap<String, Vec<u8>>>,
    branches: Vec<(String, String)>,
    blobs: HashMap<String, Vec<u8>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    faults: Mutex<VecDeque<Fault>>,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Chunked transfer encoding (as the real server streams batch answers) instead of Content-Length.
    chunked: bool,
    /// Close the connection after this many body bytes (the headers still announce the whole body).
    cut: Option<usize>,
    /// Before cutting, go silent for this long.
    stall: Option<Duration>,
}

impl Response {
    fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Response {
        Response {
            status,
            headers,
            body,
            chunked: false,
            cut: None,
            stall: None,
        }
    }
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
    /// Answer normally, but after half the body go silent for this long, then close.
    Stall(Duration),
    /// Redirect (302) to the same path and query on this base URL.
    Redirect(String),
    /// Answer normally (to let earlier requests through).
    Pass,
}

impl State {
    fn new(config: Config, requests: Arc<Mutex<Vec<Recorded>>>) -> State {
        let mut main = BTreeMap::new();
        collect_files(&fixtures().join("repo"), "", &mut main);
        main.extend(config.extra_files.iter().cloned());
        let mut feature = main.clone();
        feature.insert("hello.txt".to_string(), fixture_body("get-branch-slash"));
        let mut blobs = HashMap::new();
        for bytes in main
            .values()
            .chain(feature.values())
            .chain(config.extra_blobs.iter())
        {
            blobs.insert(hash_of(bytes), bytes.clone());
        }
        State {
            commits: HashMap::from([
                (MAIN_COMMIT.to_string(), main),
                (FEATURE_COMMIT.to_string(), feature),
            ]),
            branches: vec![
                ("main".to_string(), MAIN_COMMIT.to_string()),
                ("feature/x".to_string(), FEATURE_COMMIT.to_string()),
            ],
            blobs,
            requests,
            faults: Mutex::new(config.faults.iter().cloned().collect()),
            config,
        }
    }

    fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let Some(request) = read_request(&mut reader)? else {
            return Ok(());
        };
        self.requests.lock().unwrap().push(request.clone());
        let fault = self.faults.lock().unwrap().pop_front();
        let response = match fault {
            Some(Fault::Status {
                status,
                retry_after,
                body,
            }) => {
                let mut headers = vec![("content-type".to_string(), "text/plain".to_string())];
                if let Some(value) = retry_after {
                    headers.push(("retry-after".to_string(), value));
                }
                Response::new(status, headers, body)
            }
            Some(Fault::Redirect(base)) => Response::new(
                302,
                vec![("location".to_string(), format!("{base}{}", request.target))],
                Vec::new(),
            ),
            Some(Fault::Cut(bytes)) => Response {
                cut: Some(bytes),
                ..self.route(&request)
            },
            Some(Fault::Stall(pause)) => {
                let response = self.route(&request);
                Response {
                    cut: Some(response.body.len() / 2),
                    stall: Some(pause),
                    ..response
                }
            }
            Some(Fault::Pass) | None => self.route(&request),
        };
        write_response(stream, response)
    }

    fn route(&self, request: &Recorded) -> Response {
        if let Some(response) = self.check_auth(request) {
            return response;
        }
        let user_agent = request.header("user-agent").unwrap_or("");
        if user_agent.to_ascii_lowercase().contains("oxen") {
            return json(426, fixture_body("get-ua-oxen-old"));
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
        if (namespace.as_str(), name.as_str()) != ("ox", "demo") {
            let body = format!(
                r#"{{"status":"error","status_message":"resource_not_found","oxen_version":"{OXEN_VERSION}","status_description":"Repository '{namespace}/{name}' not found"}}"#
            );
            return json(404, body.into_bytes());
        }
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        match (request.method.as_str(), rest.as_slice()) {
            ("GET", ["versions" | "file", resource @ ..]) if !resource.is_empty() => {
                self.get_file(resource, query)
            }
            ("GET", ["meta", resource @ ..]) if !resource.is_empty() => self.meta(resource),
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
            Some(_) => Some(Response::new(
                401,
                vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                fixture_body("get-bad-token"),
            )),
            None => Some(Response::new(
                401,
                vec![("www-authenticate".into(), "Bearer".into())],
                Vec::new(),
            )),
        }
    }

    /// Resolves `{revision}/{path}` as the server does: a commit id, else the longest branch prefix.
    /// Returns the commit and the path, or the 404 to send.
    fn resolve(&self, resource: &[&str]) -> Result<(String, String), Response> {
        let resolved = if self.commits.contains_key(resource[0]) {
            Some((resource[0].to_string(), 1))
        } else {
            (1..resource.len()).rev().find_map(|take| {
                let name = resource[..take].join("/");
                self.branches
                    .iter()
                    .find(|(branch, _)| *branch == name)
                    .map(|(_, commit)| (commit.clone(), take))
            })
        };
        let Some((commit, taken)) = resolved else {
            return Err(path_missing(&resource.join("/")));
        };
        Ok((commit, resource[taken..].join("/")))
    }

    /// `GET /meta/{revision}/{path}`: the entry's hash and size (other fields of the real answer omitted).
    fn meta(&self, resource: &[&str]) -> Response {
        if self.config.meta == MetaMode::Absent {
            return generic_404();
        }
        let (commit, path) = match self.resolve(resource) {
            Ok(found) => found,
            Err(response) => return response,
        };
        let files = &self.commits[&commit];
        let entry = match files.get(&path) {
            Some(bytes) => {
                let hash = match self.config.meta {
                    MetaMode::WrongHash => hash_of(b"something else"),
                    _ => hash_of(bytes),
                };
                serde_json::json!({"filename": path.rsplit('/').next(), "hash": hash, "size": bytes.len(), "is_dir": false})
            }
            None if files.keys().any(|f| f.starts_with(&format!("{path}/"))) => {
                serde_json::json!({"filename": path, "hash": "81aca808e0c55ea0283c25168af52c9d", "size": 0, "is_dir": true})
            }
            None => return path_missing(&path),
        };
        let body = serde_json::json!({
            "status": "success", "status_message": "resource_found", "oxen_version": OXEN_VERSION, "entry": entry,
        });
        json(200, body.to_string().into_bytes())
    }

    fn get_file(&self, resource: &[&str], query: &str) -> Response {
        let (width, height) = match parse_size_query(query) {
            Ok(size) => size,
            Err(message) => return text(400, &message),
        };
        let (commit, path) = match self.resolve(resource) {
            Ok(found) => found,
            Err(response) => return response,
        };
        let Some(bytes) = self.commits[&commit].get(&path) else {
            return path_missing(&path);
        };
        let bytes = match (path.ends_with(".png"), width, height) {
            (true, Some(32), Some(32)) => fixture_body("get-resize-32x32"),
            (true, Some(16), None) => fixture_body("get-resize-w16"),
            // Other sizes are not resized: the tests only check that they reach the server.
            _ => bytes.clone(),
        };
        // oxen-revision-id is the last commit that changed the file.
        let changed_in = if commit == FEATURE_COMMIT && path == "hello.txt" {
            FEATURE_COMMIT
        } else {
            MAIN_COMMIT
        };
        let headers = vec![
            (
                "access-control-expose-headers".into(),
                "content-length".into(),
            ),
            ("content-type".into(), mime_type(&path).into()),
            ("oxen-revision-id".into(), changed_in.into()),
        ];
        Response {
            cut: self.config.cut_get_after,
            ..Response::new(200, headers, bytes)
        }
    }

    fn batch(&self, body: &[u8]) -> Response {
        let mut text = String::new();
        if GzDecoder::new(body).read_to_string(&mut text).is_err() {
            return json(500, fixture_body("batch-not-gzip"));
        }
        // The real handler silently drops blank and non-hex lines and keeps duplicates.
        let hashes: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && line.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string)
            .collect();
        let missing: Vec<&String> = hashes
            .iter()
            .filter(|h| !self.blobs.contains_key(*h))
            .collect();
        if !missing.is_empty() {
            let list: Vec<&str> = missing.iter().map(|h| h.as_str()).collect();
            let body = serde_json::json!({
                "error": {
                    "detail": format!(
                        "Server is missing {} content blob(s) for this batch download. Missing hashes: {}",
                        list.len(),
                        list.join(", ")
                    ),
                    "missing_hashes": list,
                    "title": "Version blobs missing on server",
                    "type": "version_blobs_missing",
                },
                "status": "error",
                "status_message": "resource_not_found",
            });
            return json(404, body.to_string().into_bytes());
        }
        let archive = match &self.config.archive_override {
            Some(make) => make(&hashes),
            None => {
                let entries: Vec<(String, Vec<u8>)> = hashes
                    .iter()
                    .map(|h| (h.clone(), self.blobs[h].clone()))
                    .collect();
                gzip(&tar_of(&entries))
            }
        };
        Response {
            chunked: true,
            cut: self.config.cut_batch_after,
            ..Response::new(
                200,
                vec![("content-type".into(), "application/gzip".into())],
                archive,
            )
        }
    }
}

/// A GNU tar of regular files as the real server writes it: mode 0644, uid/gid 0, mtime 0.
pub fn tar_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_path(name).unwrap();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        builder.append(&header, &bytes[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A tar entry with any name bytes and type, bypassing the tar crate's own path checks.
pub fn raw_entry(name: &[u8], entry_type: tar::EntryType, link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    header.as_gnu_mut().unwrap().linkname[..link.len()].copy_from_slice(link);
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
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn collect_files(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if entry.file_type().unwrap().is_dir() {
            collect_files(&entry.path(), &rel, out);
        } else {
            out.insert(rel, std::fs::read(entry.path()).unwrap());
        }
    }
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
        Some("txt" | "csv" | "json") => "text/plain",
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

fn generic_404() -> Response {
    json(404, fixture_body("batch-post-documented"))
}

fn json(status: u16, body: Vec<u8>) -> Response {
    Response::new(
        status,
        vec![("content-type".into(), "application/json".into())],
        body,
    )
}

fn text(status: u16, message: &str) -> Response {
    Response::new(
        status,
        vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        message.as_bytes().to_vec(),
    )
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Recorded>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let mut request = Recorded {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if let Some(length) = request.header("content-length") {
        let mut body = vec![0; length.parse().unwrap_or(0)];
        reader.read_exact(&mut body)?;
        request.body = body;
    } else if request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            request.body.extend_from_slice(&chunk[..size]);
        }
    }
    Ok(Some(request))
}

fn write_response(mut stream: TcpStream, response: Response) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "oxen-version: {OXEN_VERSION}\r\nconnection: close\r\n"
    ));
    if response.chunked {
        head.push_str("transfer-encoding: chunked\r\n\r\n");
    } else {
        head.push_str(&format!("content-length: {}\r\n\r\n", response.body.len()));
    }
    stream.write_all(head.as_bytes())?;
    let sent = response
        .cut
        .unwrap_or(response.body.len())
        .min(response.body.len());
    if response.chunked {
        for chunk in response.body[..sent].chunks(16 * 1024) {
            stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
            stream.write_all(chunk)?;
            stream.write_all(b"\r\n")?;
        }
        if response.cut.is_none() {
            stream.write_all(b"0\r\n\r\n")?;
        }
    } else {
        stream.write_all(&response.body[..sent])?;
    }
    stream.flush()?;
    if let Some(pause) = response.stall {
        thread::sleep(pause);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        _ => "Unknown",
    }
}
