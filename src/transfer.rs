//! Moving bytes from a stream to a writer in large blocks, counting and hashing them on the way.

use std::io::{ErrorKind, Read, Write};

use anyhow::Result;
use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::Xxh3;

use crate::error::{Kind, OutputClosed, fail, transient};

/// Block size for every copy: large enough that syscalls and hashing stay cheap per byte.
const BLOCK: usize = 256 * 1024;

/// What a copy moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copied {
    /// How many bytes.
    pub bytes: u64,
    /// Their XXH3-128, the server's content hash.
    pub hash: u128,
    /// Their SHA-256, when asked for.
    pub sha256: Option<[u8; 32]>,
}

/// XXH3-128 of some bytes, and their SHA-256 when asked for: the one pass every copy, check and resumed
/// download makes over its bytes.
pub(crate) struct Digests {
    xxh3: Xxh3,
    sha256: Option<Sha256>,
    bytes: u64,
}

impl Digests {
    /// Empty digests; SHA-256 too when `sha256`.
    pub(crate) fn new(sha256: bool) -> Self {
        Digests {
            xxh3: Xxh3::new(),
            sha256: sha256.then(Sha256::new),
            bytes: 0,
        }
    }

    /// Takes in the next bytes.
    pub(crate) fn update(&mut self, block: &[u8]) {
        self.xxh3.update(block);
        if let Some(sha) = &mut self.sha256 {
            sha.update(block);
        }
        self.bytes += block.len() as u64;
    }

    /// How many bytes went in so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// What went in.
    pub(crate) fn finish(self) -> Copied {
        Copied {
            bytes: self.bytes,
            hash: self.xxh3.digest128(),
            sha256: self.sha256.map(|sha| sha.finalize().into()),
        }
    }
}

/// A reusable copy buffer.
pub struct Copier {
    buf: Vec<u8>,
    /// Also compute SHA-256 (for `--json` and `--checksums`); off by default, as it costs time.
    sha256: bool,
}

impl Default for Copier {
    fn default() -> Self {
        Copier {
            buf: vec![0; BLOCK],
            sha256: false,
        }
    }
}

impl Copier {
    /// A copier that also computes SHA-256 when `sha256` is set.
    pub fn with_sha256(sha256: bool) -> Self {
        Copier {
            sha256,
            ..Copier::default()
        }
    }

    /// Copies `reader` to `writer` (named `dest` in errors), reporting each block's size to `on_bytes`.
    ///
    /// A failed read means the stream broke (an integrity failure); a failed write is a local error.
    pub fn copy(
        &mut self,
        reader: &mut impl Read,
        writer: &mut impl Write,
        dest: &str,
        on_bytes: &mut dyn FnMut(u64),
    ) -> Result<Copied> {
        let mut digests = Digests::new(self.sha256);
        loop {
            let n = match reader.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                Err(err) => {
                    return Err(read_failure(
                        err,
                        &format!("the stream broke after {} bytes of {dest}", digests.bytes()),
                    ));
                }
            };
            let block = &self.buf[..n];
            digests.update(block);
            writer
                .write_all(block)
                .map_err(|err| write_failure(err, dest))?;
            on_bytes(n as u64);
        }
        Ok(digests.finish())
    }
}

/// A failed write: a reader that went away (`oxdl get -o - | head`) is not an error of oxdl's.
pub fn write_failure(err: std::io::Error, dest: &str) -> anyhow::Error {
    if err.kind() == ErrorKind::BrokenPipe {
        return anyhow::Error::new(OutputClosed);
    }
    crate::error::local(&err, format!("cannot write {dest}: {err}"))
}

/// A failed read from the network. A stall is a network failure and a broken connection a truncated
/// stream, both worth trying again; malformed data (a bad gzip header, a tar checksum) would come the
/// same way again, so it is final.
pub fn read_failure(err: std::io::Error, context: &str) -> anyhow::Error {
    let message = format!("{context}: {err}");
    match err.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => transient(Kind::Network, message, None),
        ErrorKind::UnexpectedEof
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::NotConnected
        | ErrorKind::BrokenPipe
        | ErrorKind::Interrupted => transient(Kind::Integrity, message, None),
        _ => fail(Kind::Integrity, message),
    }
}

/// The XXH3-128 (and SHA-256 when asked) of a local file's content, and its size.
pub fn hash_file(path: &std::path::Path, sha256: bool) -> std::io::Result<Copied> {
    hash_reader(std::fs::File::open(path)?, sha256)
}

/// The XXH3-128 (and SHA-256 when asked) of everything `reader` gives, and its size. Read errors are
/// returned as they are: for a local file they are local errors, not a broken stream.
pub(crate) fn hash_reader(mut reader: impl Read, sha256: bool) -> std::io::Result<Copied> {
    let mut digests = Digests::new(sha256);
    let mut buf = vec![0; BLOCK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => digests.update(&buf[..n]),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(digests.finish())
}

/// A SHA-256 digest as lowercase hex, the form `sha256sum` writes.
pub fn sha256_hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server's hash string for some bytes.
pub fn hash_hex(bytes: &[u8]) -> String {
    format!("{:x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_hashes() {
        let data = vec![7u8; BLOCK * 2 + 5];
        let mut out = Vec::new();
        let mut seen = 0;
        let copied = Copier::default()
            .copy(&mut &data[..], &mut out, "x", &mut |n| seen += n)
            .unwrap();
        assert_eq!(out, data);
        assert_eq!(copied.bytes, data.len() as u64);
        assert_eq!(seen, data.len() as u64);
        assert_eq!(format!("{:x}", copied.hash), hash_hex(&data));
    }
}
