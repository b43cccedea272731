//! The standalone server: start it on a directory with `--port 0`, read its URL, and ask it for files.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// Starts the server binary with `args` (stderr piped when `stderr`, else dropped) and returns it with the
/// URL it prints.
fn spawn(args: &[&str], stderr: bool) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxdl-testserver"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(if stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    (child, url.trim().to_string())
}

/// Sends one raw HTTP/1.1 request with `connection: close` and returns the whole answer.
fn request(url: &str, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let authority = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

#[test]
fn serves_a_directory_on_a_port_it_prints() {
    let dir = tempfile_dir();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/hello.txt"), b"hello from disk\n").unwrap();
    let (mut child, url) = spawn(
        &[dir.to_str().unwrap(), "--port", "0", "--repo", "me/data"],
        false,
    );
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"));

    let answer = request(
        &url,
        "GET",
        "/api/repos/me/data/versions/main/sub/hello.txt",
        b"",
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("content-length: 16\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nhello from disk\n"), "{text}");

    let hash = oxdl_testserver::hash_of(b"hello from disk\n");
    let list = oxdl_testserver::gzip(format!("{hash}\n").as_bytes());
    let answer = request(&url, "QUERY", "/api/repos/me/data/versions", &list);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("transfer-encoding: chunked\r\n"), "{text}");
    assert!(
        answer.ends_with(b"0\r\n\r\n"),
        "the chunked body ends properly"
    );

    let answer = request(
        &url,
        "GET",
        "/api/repos/me/other/versions/main/sub/hello.txt",
        b"",
    );
    assert!(String::from_utf8_lossy(&answer).contains("Repository 'me/other' not found"));
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("oxdl-testserver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn generates_a_large_tree_on_request() {
    // A directory of its own: the other test removes the shared one when it ends.
    let dir = tempfile_dir().with_extension("generated");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("own.txt"), b"own\n").unwrap();
    let list = dir.join("list.txt");
    let (mut child, url) = spawn(
        &[
            dir.to_str().unwrap(),
            "--port",
            "0",
            "--generate",
            "2500",
            "--write-list",
            list.to_str().unwrap(),
        ],
        false,
    );
    let text = std::fs::read_to_string(&list).unwrap();
    let generated: Vec<&str> = text.lines().filter(|l| l.contains(" generated/")).collect();
    assert_eq!(generated.len(), 2500);
    assert_eq!(text.lines().count(), 2501, "plus the directory's own file");
    // Wide and deep: 50 directories of up to 40 subdirectories.
    assert!(
        generated
            .iter()
            .any(|l| l.ends_with("generated/t49/u01/f0000099.txt")),
        "{text}"
    );
    let answer = request(
        url.trim(),
        "GET",
        "/api/repos/ox/demo/versions/main/generated/t00/u00/f0000000.txt",
        b"",
    );
    assert!(String::from_utf8_lossy(&answer).ends_with("generated file 0\n"));
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn latency_delays_each_answer_and_requests_are_logged() {
    let dir = tempfile_dir().with_extension("latency");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), b"hello\n").unwrap();
    let (mut child, url) = spawn(
        &[
            dir.to_str().unwrap(),
            "--port",
            "0",
            "--latency",
            "100",
            "--log-requests",
        ],
        true,
    );
    let started = std::time::Instant::now();
    let answer = request(
        &url,
        "GET",
        "/api/repos/ox/demo/versions/main/hello.txt",
        b"",
    );
    // A new connection: the handshake's round trip, then the request's.
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_millis(200), "{took:?}");
    assert!(String::from_utf8_lossy(&answer).ends_with("\r\n\r\nhello\n"));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("connection 1 (new) GET /api/repos/ox/demo/versions/main/hello.txt\n"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
