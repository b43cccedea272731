//! The batch answer: gzip → tar entries → verified files, accepting nothing but the files asked for.

use std::io::{self, Read};
use std::path::Path;

use anyhow::Result;
use flate2::read::MultiGzDecoder;
use tar::{Archive, EntryType};

use crate::disk::fingerprints::{ValueMap, ValueSet};
use crate::disk::fsio::{Confined, PendingFile, copy_to_the_others};
use crate::error::{Kind, fail, transient};
use crate::hash::{Wanted, hash_text, parse_hash};
use crate::transfer::{Copied, Copier, read_failure};

/// A tar archive ends with two zero blocks of this size.
const BLOCK: u64 = 512;
/// How much zero padding may follow the end-of-archive marker (tar pads to 10 KiB records; allow more).
const TRAILER_LIMIT: u64 = 1024 * 1024;

/// What the unpacker tells its caller as it goes.
pub trait Observer {
    /// `n` more bytes of file content were written.
    fn bytes(&mut self, n: u64);
    /// A file was verified and published at all its destinations; `copied` says what was written.
    fn file_done(&mut self, wanted: &Wanted, copied: &Copied);
}

/// Unpacks the gzipped tarball in `reader` into `out_dir`, writing only the `wanted` files.
///
/// Each entry must be a regular file named by a wanted hash not yet received; its bytes must hash to
/// that name. A file is published only once verified, so on any error the files already reported
/// through `observer` are complete and nothing else was written.
pub fn unpack(
    reader: impl Read,
    wanted: &[Wanted],
    out_dir: &Path,
    sha256: bool,
    observer: &mut dyn Observer,
) -> Result<()> {
    let mut pending: ValueMap<&Wanted> = wanted.iter().map(|w| (w.value, w)).collect();
    let mut received = ValueSet::default();
    // Every gzip member in turn: a re-compressing proxy may send several, which together are one stream.
    let mut archive = Archive::new(Counting::new(MultiGzDecoder::new(reader)));
    let mut copier = Copier::with_sha256(sha256);
    let mut end_of_entries = 0u64;
    // Raw entries: GNU long names and pax headers come through as entries of their own (and are
    // rejected below) instead of being read whole into memory.
    for entry in archive.entries().map_err(broken_stream)?.raw(true) {
        let mut entry = entry.map_err(broken_stream)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let entry_type = entry.header().entry_type();
        if entry_type != EntryType::Regular {
            return Err(protocol(format!(
                "the archive holds a {entry_type:?} entry named {name:?}; only regular files are expected"
            )));
        }
        // Only the server's own spelling of a hash names it: no `./`, no capitals, no leading zeros.
        let value = parse_hash(&name)
            .ok()
            .filter(|&value| hash_text(value) == name);
        let Some(&target) = value.and_then(|value| pending.get(&value)) else {
            let why = if value.is_some_and(|value| received.contains(&value)) {
                "a second time"
            } else {
                "although it was not requested"
            };
            return Err(protocol(format!(
                "the archive holds an entry named {name:?} {why}"
            )));
        };
        let size = entry.size();
        Confined::check_all(out_dir, &target.destinations)?;
        let first = out_dir.join(&target.destinations[0]);
        let mut file = PendingFile::create(&first)?;
        let shown = first.display().to_string();
        let copied = copier.copy(&mut entry, file.file(), &shown, &mut |n| observer.bytes(n))?;
        if copied.bytes != size {
            return Err(transient(
                Kind::Integrity,
                format!(
                    "the archive was cut short inside {name}: {} of {size} bytes arrived",
                    copied.bytes
                ),
                None,
            ));
        }
        if copied.hash != target.value {
            return Err(fail(
                Kind::Integrity,
                format!(
                    "the bytes sent for {name} hash to {:x}; {shown} was not written",
                    copied.hash
                ),
            ));
        }
        file.publish()?;
        copy_to_the_others(out_dir, &target.destinations)?;
        end_of_entries = entry.raw_file_position() + size.div_ceil(BLOCK) * BLOCK;
        pending.remove(&target.value);
        received.insert(target.value);
        observer.file_done(target, &copied);
    }
    let mut rest = archive.into_inner();
    check_trailer(&mut rest, end_of_entries)?;
    if !pending.is_empty() {
        let mut missing: Vec<String> = pending.into_values().map(Wanted::hash).collect();
        missing.sort_unstable();
        return Err(protocol(format!(
            "the archive ended without {} requested file(s): {}",
            missing.len(),
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Reads what follows the last entry to the end of the gzip stream (which checks the gzip trailer)
/// and requires the tar end-of-archive marker: at least two zero blocks and nothing but zeros.
fn check_trailer(rest: &mut Counting<impl Read>, end_of_entries: u64) -> Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        let n = match rest.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(broken_stream(err)),
        };
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(protocol(
                "the archive has data after its end-of-archive marker".into(),
            ));
        }
        if rest.count > end_of_entries + TRAILER_LIMIT {
            return Err(protocol(
                "the archive has too much padding after its end".into(),
            ));
        }
    }
    if rest.count < end_of_entries + 2 * BLOCK {
        return Err(transient(
            Kind::Integrity,
            "the archive stopped before its end-of-archive marker: the stream was cut short",
            None,
        ));
    }
    Ok(())
}

fn broken_stream(err: io::Error) -> anyhow::Error {
    read_failure(err, "the server's tarball is damaged or was cut short")
}

fn protocol(message: String) -> anyhow::Error {
    fail(
        Kind::Integrity,
        format!("protocol error: {message}; nothing of that entry was written"),
    )
}

/// Counts the bytes read through it, to locate the end of the tar stream.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R> Counting<R> {
    fn new(inner: R) -> Self {
        Counting { inner, count: 0 }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}
