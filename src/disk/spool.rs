//! Records kept for the end of a run (the hashes the server is missing, listed last; destinations that
//! wait for their hash's fetch), on disk once there are many, so that a list of a million such costs no
//! more memory than one of ten.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::error::{Kind, KindContext};

/// Bytes of records kept in memory before they go to a temp file.
const IN_MEMORY: usize = 64 * 1024;

/// Something that can be kept in a spool: written as bytes, read back from them.
pub(crate) trait Record: Sized {
    fn encode(&self, out: &mut Vec<u8>);
    /// The record from `bytes` (exactly what `encode` wrote).
    fn decode(bytes: &[u8]) -> Option<Self>;
}

/// An append-only list of records, each framed by its length.
pub(crate) struct Spool<T> {
    memory: Vec<u8>,
    /// An unnamed temp file (gone with the process, however it ends) holding the records before `memory`.
    disk: Option<BufWriter<File>>,
    on_disk: u64,
    /// No temp file could be made or written: everything stays in memory.
    no_disk: bool,
    records: u64,
    kind: std::marker::PhantomData<T>,
}

impl<T> Default for Spool<T> {
    fn default() -> Self {
        Spool {
            memory: Vec::new(),
            disk: None,
            on_disk: 0,
            no_disk: false,
            records: 0,
            kind: std::marker::PhantomData,
        }
    }
}

impl<T: Record> Spool<T> {
    /// Adds a record.
    pub(crate) fn push(&mut self, record: &T) {
        let at = self.memory.len();
        self.memory.extend_from_slice(&[0; 4]);
        record.encode(&mut self.memory);
        let length = (self.memory.len() - at - 4) as u32;
        self.memory[at..at + 4].copy_from_slice(&length.to_le_bytes());
        self.records += 1;
        if self.memory.len() >= IN_MEMORY && !self.no_disk {
            self.spill();
        }
    }

    /// How many records it holds.
    #[cfg(test)]
    fn len(&self) -> u64 {
        self.records
    }

    /// Moves the records in memory to the temp file; on any failure keeps them in memory from now on.
    fn spill(&mut self) {
        if self.disk.is_none() {
            match tempfile::tempfile() {
                Ok(file) => self.disk = Some(BufWriter::new(file)),
                Err(_) => {
                    self.no_disk = true;
                    return;
                }
            }
        }
        let Some(disk) = &mut self.disk else { return };
        match disk.write_all(&self.memory).and_then(|()| disk.flush()) {
            Ok(()) => {
                self.on_disk += self.memory.len() as u64;
                self.memory.clear();
            }
            // What reached the file before the failure is not counted, so it is never read back.
            Err(_) => self.no_disk = true,
        }
    }

    /// Calls `each` with every record, in the order added.
    pub(crate) fn for_each(&self, mut each: impl FnMut(T)) -> Result<()> {
        for record in self.iter()? {
            each(record?);
        }
        Ok(())
    }

    /// Every record, in the order added; the spool may grow again afterwards.
    pub(crate) fn iter(&self) -> Result<Records<'_, T>> {
        let disk = match &self.disk {
            Some(disk) => {
                let file = disk
                    .get_ref()
                    .try_clone()
                    .kind_context(Kind::Other, READ_BACK)?;
                // Positioned reads: the writer's offset stays where it is.
                Some(BufReader::new(At {
                    file,
                    at: 0,
                    end: self.on_disk,
                }))
            }
            None => None,
        };
        Ok(Records {
            disk,
            memory: &self.memory,
            record: Vec::new(),
            kind: std::marker::PhantomData,
        })
    }
}

const READ_BACK: &str = "cannot read back a list kept in a temp file";

/// Reads a file from `at` to `end` by positioned reads.
struct At {
    file: File,
    at: u64,
    end: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let most = buf.len().min((self.end - self.at) as usize);
        let n = self.file.read_at(&mut buf[..most], self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// The records of a [`Spool`]: those on disk, then those in memory.
pub(crate) struct Records<'a, T> {
    disk: Option<BufReader<At>>,
    memory: &'a [u8],
    record: Vec<u8>,
    kind: std::marker::PhantomData<T>,
}

impl<T: Record> Iterator for Records<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let bad = || crate::error::fail(Kind::Other, READ_BACK);
        if let Some(disk) = &mut self.disk {
            let mut length = [0u8; 4];
            match disk.read_exact(&mut length) {
                Ok(()) => {
                    self.record.resize(u32::from_le_bytes(length) as usize, 0);
                    return Some(match disk.read_exact(&mut self.record) {
                        Ok(()) => T::decode(&self.record).ok_or_else(bad),
                        Err(err) => Err(err).kind_context(Kind::Other, READ_BACK),
                    });
                }
                Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => self.disk = None,
                Err(err) => {
                    self.disk = None;
                    return Some(Err(err).kind_context(Kind::Other, READ_BACK));
                }
            }
        }
        let length = u32::from_le_bytes(self.memory.get(..4)?.try_into().ok()?) as usize;
        let record = self.memory.get(4..4 + length)?;
        self.memory = &self.memory[4 + length..];
        Some(T::decode(record).ok_or_else(bad))
    }
}

impl Record for u128 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(u128::from_le_bytes(bytes.try_into().ok()?))
    }
}

/// Writes a path framed by its length.
pub(crate) fn encode_path(path: &Path, out: &mut Vec<u8>) {
    let bytes = path.as_os_str().as_bytes();
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Reads a path that [`encode_path`] wrote at the start of `bytes`; returns it and the rest.
pub(crate) fn decode_path(bytes: &[u8]) -> Option<(PathBuf, &[u8])> {
    let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let path = bytes.get(4..4 + length)?;
    Some((
        PathBuf::from(std::ffi::OsStr::from_bytes(path)),
        &bytes[4 + length..],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_back_every_record_in_order_from_memory_and_disk() {
        let mut spool = Spool::default();
        let values: Vec<u128> = (0..10_000u128).map(|i| i * 0x1_0000_0000_0001).collect();
        for v in &values {
            spool.push(v);
        }
        assert_eq!(spool.len(), 10_000);
        assert!(spool.disk.is_some() && spool.memory.len() < IN_MEMORY);
        for _ in 0..2 {
            let mut back = Vec::new();
            spool.for_each(|v| back.push(v)).unwrap();
            assert_eq!(back, values);
        }
        // Still appends where it left off after reading back.
        spool.push(&7);
        let mut back = Vec::new();
        spool.for_each(|v| back.push(v)).unwrap();
        assert_eq!(back.len(), 10_001);
        assert_eq!(back.last(), Some(&7));
    }

    #[test]
    fn paths_keep_every_byte() {
        let mut out = Vec::new();
        encode_path(Path::new("a/é\n b"), &mut out);
        encode_path(Path::new(""), &mut out);
        let (first, rest) = decode_path(&out).unwrap();
        let (second, rest) = decode_path(rest).unwrap();
        assert_eq!(
            (first.to_str(), second.to_str(), rest.len()),
            (Some("a/é\n b"), Some(""), 0)
        );
        assert!(decode_path(&out[..5]).is_none());
    }
}
