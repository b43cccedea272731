//! An https front for the tests: terminates TLS with a fresh self-signed certificate (for localhost and
//! 127.0.0.1) and passes each request to a plain test server behind it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A running https front; it lives until the test process ends.
pub struct TlsFront {
    /// `https://localhost:PORT`
    pub url: String,
    /// The self-signed certificate, PEM-encoded, to trust with `--cacert`.
    pub cert_pem: String,
}

impl TlsFront {
    /// Starts an https front for the plain server on `upstream_port`.
    pub fn start(upstream_port: u16) -> TlsFront {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        let cert_pem = certified.cert.pem();
        let cert = CertificateDer::from(certified.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let config = config.clone();
                thread::spawn(move || {
                    let _ = relay(client, config, upstream_port);
                });
            }
        });
        TlsFront {
            url: format!("https://localhost:{port}"),
            cert_pem,
        }
    }
}

/// One request over TLS, passed on in clear; the answer passed back. The server closes after each.
fn relay(
    client: TcpStream,
    config: Arc<rustls::ServerConfig>,
    upstream_port: u16,
) -> std::io::Result<()> {
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, client);
    let mut request = Vec::new();
    {
        let mut reader = BufReader::new(&mut tls);
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                // One request per connection here, so the answer ends where the connection does.
                request.extend_from_slice(b"connection: close\r\n\r\n");
                break;
            }
            request.extend_from_slice(line.as_bytes());
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        request.extend_from_slice(&body);
    }
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
    upstream.write_all(&request)?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    tls.write_all(&answer)?;
    tls.conn.send_close_notify();
    tls.flush()
}
