//! Persistent connections: many requests on one connection, closed when the client asks, for HTTP/1.0,
//! after a body only the close can end, and after an answer cut on purpose.

mod support;

use std::io::Read;

use oxdl_testserver::{Config, Fault, gzip, hash_of};
use support::{Conn, start};

const HELLO: &str = "/api/repos/ox/demo/versions/main/hello.txt";

#[test]
fn requests_share_a_kept_alive_connection() {
    let server = start(Config::default());
    let mut conn = Conn::open(&server);
    for _ in 0..3 {
        conn.get(HELLO);
        let answer = conn.answer(false);
        assert_eq!((answer.status, &answer.body[..]), (200, &b"hello\n"[..]));
        assert_eq!(answer.header("connection"), None);
    }
    let requests = server.requests();
    assert_eq!(
        requests.iter().map(|r| r.reused).collect::<Vec<_>>(),
        [false, true, true]
    );
    assert!(requests.iter().all(|r| r.connection == 1));
    assert!(requests.iter().all(|r| r.version == "HTTP/1.1"));
    assert_eq!(server.connections(), 1);

    // Another connection is numbered on.
    let mut other = Conn::open(&server);
    other.get(HELLO);
    assert_eq!(other.answer(false).status, 200);
    let last = server.requests().pop().unwrap();
    assert_eq!((last.connection, last.reused), (2, false));
    assert_eq!(server.connections(), 2);
}

#[test]
fn connection_close_ends_the_connection_after_its_answer() {
    let server = start(Config::default());
    let mut conn = Conn::open(&server);
    conn.send(format!("GET {HELLO} HTTP/1.1\r\nhost: x\r\nConnection: Close\r\n\r\n").as_bytes());
    let answer = conn.answer(false);
    assert_eq!(answer.body, b"hello\n");
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(conn.closed());
}

#[test]
fn http_1_0_keeps_the_connection_only_when_asked() {
    let server = start(Config::default());
    let mut conn = Conn::open(&server);
    conn.send(format!("GET {HELLO} HTTP/1.0\r\n\r\n").as_bytes());
    let answer = conn.answer(false);
    assert_eq!(answer.body, b"hello\n");
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(conn.closed());

    let mut conn = Conn::open(&server);
    for _ in 0..2 {
        conn.send(format!("GET {HELLO} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").as_bytes());
        let answer = conn.answer(false);
        assert_eq!(answer.body, b"hello\n");
        assert_eq!(answer.header("connection"), Some("keep-alive"));
    }
    assert_eq!(server.requests()[2].version, "HTTP/1.0");
    assert!(server.requests()[2].reused);
}

#[test]
fn a_streamed_answer_to_http_1_0_ends_with_the_connection() {
    // HTTP/1.0 has no chunks: the batch answer goes out as it is and the close ends it.
    let server = start(Config::default());
    let list = gzip(format!("{}\n", hash_of(b"hello\n")).as_bytes());
    let mut conn = Conn::open(&server);
    conn.send(&batch_request(
        "HTTP/1.0",
        "Connection: keep-alive\r\n",
        &list,
    ));
    let answer = conn.answer(false);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("transfer-encoding"), None);
    assert_eq!(answer.header("content-length"), None);
    assert_eq!(answer.header("connection"), Some("close"));
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&answer.body[..])
        .read_to_end(&mut tar)
        .unwrap();
    assert!(
        tar.windows(6).any(|w| w == b"hello\n"),
        "the file is in the archive"
    );
}

#[test]
fn request_bodies_are_read_whole_before_the_next_request() {
    let server = start(Config::default());
    let list = gzip(format!("{}\n", hash_of(b"a file\n")).as_bytes());
    let mut conn = Conn::open(&server);

    // With a length.
    conn.send(&batch_request("HTTP/1.1", "", &list));
    let answer = conn.answer(false);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("transfer-encoding"), Some("chunked"));

    // Chunked, in two chunks (one with an extension), with a trailer.
    let (a, b) = list.split_at(list.len() / 2);
    let mut request =
        b"QUERY /api/repos/ox/demo/versions HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    request.extend_from_slice(format!("{:x};ext=1\r\n", a.len()).as_bytes());
    request.extend_from_slice(a);
    request.extend_from_slice(format!("\r\n{:X}\r\n", b.len()).as_bytes());
    request.extend_from_slice(b);
    request.extend_from_slice(b"\r\n0\r\nx-trailer: yes\r\n\r\n");
    conn.send(&request);
    assert_eq!(conn.answer(false).status, 200);

    // Expect: 100-continue gets the interim answer first.
    let mut request = format!(
        "QUERY /api/repos/ox/demo/versions HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        list.len()
    )
    .into_bytes();
    conn.send(&request);
    assert_eq!(conn.answer(true).status, 100);
    request.clear();
    request.extend_from_slice(&list);
    conn.send(&request);
    assert_eq!(conn.answer(false).status, 200);

    // The connection is still in step: the next request is answered as itself.
    conn.get(HELLO);
    assert_eq!(conn.answer(false).body, b"hello\n");
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    for request in &requests[..3] {
        assert_eq!(request.batch_hashes(), [hash_of(b"a file\n")]);
    }
    assert!(requests.iter().all(|r| r.connection == 1));
}

#[test]
fn head_answers_carry_no_body() {
    let server = start(Config::default());
    let mut conn = Conn::open(&server);
    conn.send(format!("HEAD {HELLO} HTTP/1.1\r\n\r\n").as_bytes());
    let answer = conn.answer(true);
    // As the real server: HEAD on /versions is the generic 404, whose length is announced.
    assert_eq!(answer.status, 404);
    assert_ne!(answer.header("content-length"), Some("0"));
    conn.get(HELLO);
    let answer = conn.answer(false);
    assert_eq!((answer.status, &answer.body[..]), (200, &b"hello\n"[..]));
}

#[test]
fn a_cut_answer_closes_the_connection() {
    for config in [
        Config {
            faults: vec![Fault::Cut(2)],
            ..Config::default()
        },
        Config {
            cut_get_after: Some(2),
            ..Config::default()
        },
    ] {
        let server = start(config);
        let mut conn = Conn::open(&server);
        conn.get(HELLO);
        let mut raw = Vec::new();
        let _ = conn.reader.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("content-length: 6\r\n"), "{text}");
        assert!(text.contains("connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nhe"), "{text}");
    }
}

#[test]
fn idle_kept_alive_connections_are_not_in_flight() {
    let server = start(Config::default());
    let mut conns: Vec<Conn> = (0..3).map(|_| Conn::open(&server)).collect();
    for conn in &mut conns {
        conn.get(HELLO);
        assert_eq!(conn.answer(false).status, 200);
    }
    for conn in &mut conns {
        conn.get("/api/repos/ox/demo/dir/main/dir");
        assert_eq!(conn.answer(false).status, 200);
    }
    assert_eq!(server.connections(), 3);
    assert_eq!(server.max_in_flight(), 1);
    assert_eq!(server.max_dir_in_flight(), 1);
}

/// A batch request (QUERY) of `version` with `headers` (each ending in CRLF) and `list` as its body.
fn batch_request(version: &str, headers: &str, list: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "QUERY /api/repos/ox/demo/versions {version}\r\n{headers}content-length: {}\r\n\r\n",
        list.len()
    )
    .into_bytes();
    request.extend_from_slice(list);
    request
}
