//! A CONNECT proxy on 127.0.0.1 for the tests: it records every tunnel it opens and relays the bytes.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// A running proxy; it lives until the test process ends.
pub struct ConnectProxy {
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    /// Starts the proxy on a free loopback port.
    pub fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let record = record.clone();
                thread::spawn(move || {
                    let _ = tunnel(client, &record);
                });
            }
        });
        ConnectProxy {
            url: format!("http://127.0.0.1:{port}"),
            seen,
        }
    }

    /// The request lines seen so far, e.g. `CONNECT 127.0.0.1:4000 HTTP/1.1`.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn tunnel(client: TcpStream, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    seen.lock().unwrap().push(request_line.trim().to_string());
    let mut parts = request_line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        let mut client = client;
        return client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
    };
    let upstream = TcpStream::connect(target)?;
    let mut client_out = client.try_clone()?;
    client_out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let mut upstream_in = upstream.try_clone()?;
    // Bytes the client sent after its request head are already in `reader`'s buffer: relay them too.
    let to_upstream = thread::spawn(move || std::io::copy(&mut reader, &mut upstream_in));
    let mut upstream_out = upstream;
    let _ = std::io::copy(&mut upstream_out, &mut client_out);
    let _ = client_out.shutdown(std::net::Shutdown::Both);
    let _ = to_upstream.join();
    Ok(())
}
