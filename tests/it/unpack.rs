//! The unpacker on bytes alone: the tarball a real oxen-server 0.50.7 sent, and archives built to break it.

use crate::support;

use std::path::Path;

use oxdl::disk::hashlist as hashes;
use oxdl::engine::unpack::{Observer, unpack};
use oxdl::error::{Kind, kind_of};
use oxdl::hash::Wanted;
use support::server::{end_of_archive, fixtures, gzip, raw_entry, tar_of};

#[derive(Default)]
struct Seen {
    bytes: u64,
    files: Vec<String>,
}

impl Observer for Seen {
    fn bytes(&mut self, n: u64) {
        self.bytes += n;
    }

    fn file_done(&mut self, wanted: &Wanted, _copied: &oxdl::transfer::Copied) {
        self.files.push(wanted.hash());
    }
}

fn captured_list() -> Vec<Wanted> {
    let text = std::fs::read(fixtures().join("hashes-with-paths.txt")).unwrap();
    hashes::parse(&text[..], "hashes-with-paths.txt").unwrap()
}

fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn unpacks_the_real_servers_tarball() {
    let tarball = std::fs::read(fixtures().join("responses/batch-query.tar.gz")).unwrap();
    let wanted = captured_list();
    let out = tempfile::tempdir().unwrap();
    let mut seen = Seen::default();
    unpack(&tarball[..], &wanted, out.path(), false, &mut seen).unwrap();
    assert_eq!(
        seen.files,
        wanted.iter().map(|w| w.hash()).collect::<Vec<_>>()
    );
    assert_eq!(seen.bytes, 6542);
    let mut expected: Vec<String> = wanted
        .iter()
        .map(|w| w.destinations[0].to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(files_below(out.path()), expected);
    for w in &wanted {
        let rel = &w.destinations[0];
        let original = std::fs::read(fixtures().join("repo").join(rel)).unwrap();
        assert_eq!(
            std::fs::read(out.path().join(rel)).unwrap(),
            original,
            "{}",
            rel.display()
        );
    }
}

#[test]
fn unrequested_files_in_the_real_tarball_are_refused() {
    let tarball = std::fs::read(fixtures().join("responses/batch-query.tar.gz")).unwrap();
    // Ask for the second file only: the first entry was not requested.
    let wanted = vec![captured_list().remove(1)];
    let out = tempfile::tempdir().unwrap();
    let err = unpack(
        &tarball[..],
        &wanted,
        out.path(),
        false,
        &mut Seen::default(),
    )
    .unwrap_err();
    assert_eq!(kind_of(&err), Kind::Integrity);
    assert!(format!("{err:#}").contains("not requested"), "{err:#}");
    assert!(files_below(out.path()).is_empty());
}

#[test]
fn every_truncation_of_the_real_tarball_fails_without_partial_files() {
    let tarball = std::fs::read(fixtures().join("responses/batch-query.tar.gz")).unwrap();
    let wanted = captured_list();
    for cut in (0..tarball.len()).step_by(97) {
        let out = tempfile::tempdir().unwrap();
        let mut seen = Seen::default();
        let err = unpack(&tarball[..cut], &wanted, out.path(), false, &mut seen).unwrap_err();
        assert_eq!(kind_of(&err), Kind::Integrity, "cut at {cut}: {err:#}");
        // Whatever was reported is complete; nothing else is on disk.
        let on_disk = files_below(out.path());
        assert_eq!(on_disk.len(), seen.files.len(), "cut at {cut}: {on_disk:?}");
    }
}

#[test]
fn a_damaged_gzip_trailer_fails() {
    let tarball = std::fs::read(fixtures().join("responses/batch-query.tar.gz")).unwrap();
    let wanted = captured_list();
    // The last 8 bytes are the CRC-32 and length: drop some, or change one.
    for cut in 1..=8 {
        let out = tempfile::tempdir().unwrap();
        let err = unpack(
            &tarball[..tarball.len() - cut],
            &wanted,
            out.path(),
            false,
            &mut Seen::default(),
        )
        .unwrap_err();
        assert_eq!(kind_of(&err), Kind::Integrity, "{cut}: {err:#}");
    }
    let mut bad_crc = tarball.clone();
    let at = bad_crc.len() - 8;
    bad_crc[at] ^= 0xff;
    let out = tempfile::tempdir().unwrap();
    let err = unpack(
        &bad_crc[..],
        &wanted,
        out.path(),
        false,
        &mut Seen::default(),
    )
    .unwrap_err();
    assert_eq!(kind_of(&err), Kind::Integrity, "{err:#}");
}

#[test]
fn a_hostile_name_is_refused_even_when_it_normalises_to_a_wanted_hash() {
    let content = b"abc".to_vec();
    let hash = oxdl::transfer::hash_hex(&content);
    let wanted = hashes::parse(format!("{hash}\n").as_bytes(), "t").unwrap();
    for name in [format!("./{hash}"), hash.to_uppercase(), format!("0{hash}")] {
        let mut tar = raw_entry(name.as_bytes(), tar::EntryType::Regular, b"", &content);
        tar.extend(end_of_archive());
        let out = tempfile::tempdir().unwrap();
        let err = unpack(
            &gzip(&tar)[..],
            &wanted,
            out.path(),
            false,
            &mut Seen::default(),
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("protocol error"),
            "{name}: {err:#}"
        );
        assert!(files_below(out.path()).is_empty());
    }
    // The exact name works.
    let out = tempfile::tempdir().unwrap();
    unpack(
        &gzip(&tar_of(&[(hash.clone(), content)]))[..],
        &wanted,
        out.path(),
        false,
        &mut Seen::default(),
    )
    .unwrap();
    assert_eq!(files_below(out.path()), vec![hash]);
}

#[test]
fn trailing_garbage_after_the_archive_is_refused() {
    let content = b"abc".to_vec();
    let hash = oxdl::transfer::hash_hex(&content);
    let wanted = hashes::parse(format!("{hash}\n").as_bytes(), "t").unwrap();
    let mut tar = tar_of(&[(hash, content)]);
    tar.extend_from_slice(b"garbage");
    let out = tempfile::tempdir().unwrap();
    let err = unpack(
        &gzip(&tar)[..],
        &wanted,
        out.path(),
        false,
        &mut Seen::default(),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("data after its end-of-archive"),
        "{err:#}"
    );
}
