//! A raw HTTP/1.x client for the server's own tests: requests written by hand, answers read one at a time
//! from a connection that may stay open.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use oxdl_testserver::{Blob, Config, Repo, Server};

/// A repository `ox/demo` whose branch `main` holds `hello.txt` and `dir/a.txt`.
pub fn start(config: Config) -> Server {
    let mut repo = Repo::new("ox", "demo");
    let files = vec![
        ("hello.txt".to_string(), Blob::bytes(&b"hello\n"[..])),
        ("dir/a.txt".to_string(), Blob::bytes(&b"a file\n"[..])),
    ];
    repo.add_commit("c0ffee", files, &[]).unwrap();
    repo.add_branch("main", "c0ffee");
    Server::start(repo, config, "127.0.0.1", 0).unwrap()
}

/// One answer as read off the connection.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A client connection.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(server: &Server) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        // A test that waits for an answer that never comes fails instead of hanging.
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    /// Sends raw bytes (a request written by hand).
    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// Sends `GET path` as HTTP/1.1 with no extra headers.
    pub fn get(&mut self, path: &str) {
        self.send(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes());
    }

    /// Reads one answer; `head` says the request was HEAD (no body follows the head).
    pub fn answer(&mut self, head: bool) -> Answer {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("a status line, got {line:?}"))
            .parse()
            .unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let mut answer = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        if head {
            return answer;
        }
        if let Some(length) = answer.header("content-length") {
            let mut body = vec![0; length.parse().unwrap()];
            self.reader.read_exact(&mut body).unwrap();
            answer.body = body;
        } else if answer.header("transfer-encoding") == Some("chunked") {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                if size == 0 {
                    break;
                }
                answer.body.extend_from_slice(&chunk[..size]);
            }
        } else {
            self.reader.read_to_end(&mut answer.body).unwrap();
        }
        answer
    }

    /// Whether the server closes the connection with nothing more to read (false after 20 s).
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => rest.is_empty(),
            // A reset (the server closed with bytes of ours unread) is a close too.
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}
