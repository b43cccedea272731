//! What the server answers, as oxdl reads it: a download's body, file metadata, ranges, batch
//! archives and directory listings.

use std::io::{self, Read};
use std::time::Duration;

use serde::Deserialize;
use ureq::BodyReader;

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

/// A header's value, if it is text.
pub(super) fn header<'a>(headers: &'a ureq::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
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
    /// Reads `body`, naming `read_timeout` when it runs out and, with `verbose`, logging its end.
    pub(super) fn new(body: ureq::Body, read_timeout: Option<Duration>, verbose: bool) -> Self {
        NetReader {
            inner: body.into_reader(),
            read_timeout,
            verbose,
            received: 0,
            logged: false,
        }
    }

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
pub(super) struct MetaBody {
    pub(super) entry: MetaEntry,
}

#[derive(Deserialize)]
pub(super) struct MetaEntry {
    pub(super) hash: String,
    pub(super) size: u64,
    #[serde(default)]
    pub(super) is_dir: bool,
    pub(super) resource: Option<MetaResource>,
    pub(super) latest_commit: Option<CommitRef>,
}

#[derive(Debug, Deserialize)]
pub(super) struct MetaResource {
    pub(super) commit: Option<CommitRef>,
    pub(super) path: Option<String>,
}

impl MetaResource {
    /// `COMMIT/PATH` (`COMMIT` alone for the root), when the commit id is a plain hex id.
    pub(super) fn pinned(&self) -> Option<String> {
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
pub(super) struct CommitRef {
    pub(super) id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
