//! Just enough HTTP/1.1: reading requests one after another on a connection, writing each response (with a
//! length, chunked, or delimited by closing the connection).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The request target as sent: path and query, still percent-encoded.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The protocol of the request line, e.g. `HTTP/1.1`.
    pub version: String,
    /// The connection that carried it: the server numbers the connections it accepts 1, 2, 3, …
    pub connection: u64,
    /// Whether an earlier request came on the same connection (a kept-alive connection reused).
    pub reused: bool,
}

impl Recorded {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection may carry another request after this one's answer: HTTP/1.1 unless the client
    /// sent `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keeps_alive(&self) -> bool {
        let token = |name: &str| {
            self.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
                .flat_map(|(_, v)| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(name))
        };
        match self.version.as_str() {
            "HTTP/1.1" => !token("close"),
            "HTTP/1.0" => token("keep-alive") && !token("close"),
            _ => false,
        }
    }

    /// Whether this is a listing request, `GET /api/repos/{namespace}/{name}/dir/...`.
    pub fn is_listing(&self) -> bool {
        let path = self.target.split('?').next().unwrap_or("");
        self.method == "GET" && path.split('/').nth(5) == Some("dir")
    }

    /// The hash lines of a batch request body (gunzipped).
    pub fn batch_hashes(&self) -> Vec<String> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&self.body[..])
            .read_to_string(&mut text)
            .expect("a gzipped batch body");
        text.lines().map(str::to_string).collect()
    }
}

/// Reads a request's line and headers; `None` when the client closed the connection first.
pub fn read_head(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Recorded>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let version = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    Ok(Some(Recorded {
        method,
        target,
        headers,
        body: Vec::new(),
        version,
        connection: 0,
        reused: false,
    }))
}

/// Reads the body the head announces, all of it (with a chunked body's trailer), so that the next request
/// on the connection starts where this one ends. Answers `Expect: 100-continue` first, as real servers do.
pub fn read_body(reader: &mut BufReader<TcpStream>, request: &mut Recorded) -> io::Result<()> {
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length = request
        .header("content-length")
        .map(|l| l.parse().unwrap_or(0));
    if (chunked || length.unwrap_or(0) > 0)
        && request
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    if chunked {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let size = size.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16).unwrap_or(0);
            if size == 0 {
                // The trailer: header lines up to an empty one.
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                        return Ok(());
                    }
                }
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            request.body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = length {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        request.body = body;
    }
    Ok(())
}

/// How a response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`.
    Length(u64),
    /// Chunked transfer encoding.
    Chunked,
    /// Neither: the body ends where the connection does (for an HTTP/1.0 client, which cannot read chunks).
    UntilClose,
}

/// Writes the status line and headers; `connection`, when set, is the `Connection` header's value
/// (`close` announces that the connection ends after this answer).
pub fn write_head(
    stream: &mut impl Write,
    status: u16,
    headers: &[(String, String)],
    framing: Framing,
    connection: Option<&str>,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(value) = connection {
        head.push_str(&format!("connection: {value}\r\n"));
    }
    match framing {
        Framing::Length(length) => head.push_str(&format!("content-length: {length}\r\n")),
        Framing::Chunked => head.push_str("transfer-encoding: chunked\r\n"),
        Framing::UntilClose => {}
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())
}

/// Frames everything written as HTTP chunks; `finish` writes the last, empty chunk.
pub struct Chunked<W: Write> {
    inner: W,
}

impl<W: Write> Chunked<W> {
    pub fn new(inner: W) -> Self {
        Chunked { inner }
    }

    /// Ends the body properly.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(b"0\r\n\r\n")?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Chunked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.inner
            .write_all(format!("{:x}\r\n", buf.len()).as_bytes())?;
        self.inner.write_all(buf)?;
        self.inner.write_all(b"\r\n")?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Passes at most `limit` body bytes, then (after an optional silence) fails every write: a connection
/// that breaks mid-body.
pub struct Cutoff<W: Write> {
    pub inner: W,
    pub limit: Option<u64>,
    pub stall: Option<Duration>,
    pub written: u64,
}

impl<W: Write> Write for Cutoff<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(limit) = self.limit else {
            return self.inner.write(buf);
        };
        let room = limit.saturating_sub(self.written) as usize;
        if room == 0 {
            self.inner.flush()?;
            if let Some(pause) = self.stall.take() {
                std::thread::sleep(pause);
            }
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "cut on purpose",
            ));
        }
        let n = self.inner.write(&buf[..buf.len().min(room)])?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The reason phrase for the statuses the server sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Decodes `%XX` escapes in one path segment.
pub fn percent_decode(segment: &str) -> String {
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
