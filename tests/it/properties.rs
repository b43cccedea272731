//! Property tests: the hash-list parser and the tarball unpacker take untrusted bytes, so any bytes at
//! all must give a result or an error, never a panic, and never a file outside the output directory.
//! And the list format carries any file name: what `ls` writes, `batch` reads back unchanged.
//!
//! Each property counts its cases and prints the count (`cargo test --test it properties -- --nocapture`).

use crate::support;

use std::io::Write;
use std::path::{Component, Path};

use oxdl::disk::hashlist as hashes;
use oxdl::disk::listfmt;
use oxdl::engine::unpack::{Observer, unpack};
use oxdl::hash::Wanted;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use support::server::{end_of_archive, gzip, raw_entry, tar_of};

const CASES: u32 = 512;

struct Quiet;

impl Observer for Quiet {
    fn bytes(&mut self, _n: u64) {}
    fn file_done(&mut self, _wanted: &Wanted, _copied: &oxdl::transfer::Copied) {}
}

/// Every file below `root`, relative to it.
fn files_below(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out
}

/// Lines that look like hash lists: real hashes, padded or uppercase ones, paths good and hostile, junk.
fn list_line() -> impl Strategy<Value = String> {
    let hash = any::<u128>().prop_map(|v| format!("{v:x}"));
    let padded = any::<u128>().prop_map(|v| format!("{v:032X}"));
    let path = prop_oneof![
        Just("a.txt".to_string()),
        Just("dir/b.bin".to_string()),
        Just("../escape".to_string()),
        Just("/abs/path".to_string()),
        Just("./x/./y".to_string()),
        Just("a/../../b".to_string()),
        "[a-z./ ]{0,12}",
        any::<String>(),
        file_name().prop_map(|name| listfmt::quote(&name).into_owned()),
        "\"[a-z0-7x\\\\\" ]{0,12}",
    ];
    prop_oneof![
        hash.clone(),
        padded,
        (hash, path).prop_map(|(h, p)| format!("{h} {p}")),
        Just("# comment".to_string()),
        Just(String::new()),
        any::<String>(),
    ]
}

/// Runs `test` on `CASES` values of `strategy`, panicking with the minimal failing input if any fails,
/// and reports how many cases ran.
fn check<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let ran = std::cell::Cell::new(0usize);
    let result = TestRunner::new(config).run(&strategy, |value| {
        ran.set(ran.get() + 1);
        test(value)
    });
    if let Err(err) = result {
        panic!("property {name} failed: {err}");
    }
    let line = format!("property {name}: {} cases ran", ran.get());
    eprintln!("{line}");
    // cargo test hides a passing test's output; CI prints this file instead (see .ci/run).
    let report = Path::new(env!("CARGO_TARGET_TMPDIR")).join("property-cases.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(report)
    {
        let _ = writeln!(file, "{line}");
    }
    assert!(
        ran.get() >= CASES as usize,
        "{name}: only {} cases ran",
        ran.get()
    );
}

/// What a successful parse must guarantee, whatever the input.
fn check_parsed(list: &[Wanted]) -> Result<(), TestCaseError> {
    for w in list {
        prop_assert!((2..=32).contains(&w.hash().len()), "{}", w.hash());
        prop_assert_eq!(format!("{:x}", w.value), w.hash());
        prop_assert!(!w.destinations.is_empty());
        for d in &w.destinations {
            prop_assert!(
                d.components().all(|c| matches!(c, Component::Normal(_))),
                "{}",
                d.display()
            );
        }
    }
    Ok(())
}

#[test]
fn parser_never_panics_on_bytes() {
    check(
        "parser_never_panics_on_bytes",
        proptest::collection::vec(any::<u8>(), 0..2048),
        |bytes| match hashes::parse(&bytes[..], "prop") {
            Ok(list) => check_parsed(&list),
            Err(_) => Ok(()),
        },
    );
}

#[test]
fn parser_on_list_like_lines() {
    check(
        "parser_on_list_like_lines",
        proptest::collection::vec(list_line(), 0..20),
        |lines| match hashes::parse(lines.join("\n").as_bytes(), "prop") {
            Ok(list) => check_parsed(&list),
            Err(_) => Ok(()),
        },
    );
}

/// File names, often with what a list line cannot carry as is: edge whitespace, controls (C0, DEL, C1),
/// quotes and backslashes.
fn file_name() -> impl Strategy<Value = String> {
    let awkward = prop::sample::select(vec![
        ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}',
        '\u{a0}', '\u{2028}', '\u{3000}', '"', '\\', '\'', '#', '/', '.', 'x', 'é', '7',
    ]);
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(awkward, 0..12).prop_map(|chars| chars.into_iter().collect()),
    ]
}

#[test]
fn quoting_then_parsing_gives_the_name_back() {
    check(
        "quoting_then_parsing_gives_the_name_back",
        file_name(),
        |name| {
            let quoted = listfmt::quote(&name);
            prop_assert_eq!(listfmt::parse_path(&quoted), Ok(name.clone()));
            // Nothing a terminal would act on, nothing that ends a line.
            prop_assert!(
                !quoted.chars().any(char::is_control),
                "control character in {:?}",
                quoted
            );
            // And through the whole reader, as `ls | batch` does (no file has an empty name; a line with
            // none is a hash alone).
            if name.is_empty() {
                return Ok(());
            }
            let line = format!("abc {quoted}\r\n");
            match (
                hashes::parse(line.as_bytes(), "prop"),
                oxdl::disk::listfmt::relative_destination(&name),
            ) {
                (Ok(list), Ok(expected)) => prop_assert_eq!(&list[0].destinations, &vec![expected]),
                (Err(_), Err(_)) => {}
                (list, expected) => {
                    return Err(TestCaseError::fail(format!(
                        "{name:?}: read {list:?}, expected {expected:?}"
                    )));
                }
            }
            Ok(())
        },
    );
}

#[test]
fn unpack_never_panics_on_bytes() {
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..4096),
        any::<bool>(),
    );
    check("unpack_never_panics_on_bytes", strategy, |(bytes, gz)| {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        let wanted = hashes::parse(&b"4bc6f9c6f8941bc2e3a7ebff29145cde\n"[..], "w").unwrap();
        let input = if gz { gzip(&bytes) } else { bytes };
        prop_assert!(unpack(&input[..], &wanted, &out, false, &mut Quiet).is_err());
        prop_assert!(files_below(root.path()).is_empty());
        Ok(())
    });
}

#[test]
fn unpack_survives_damaged_archives() {
    let strategy = (
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        any::<prop::sample::Index>(),
        any::<bool>(),
    );
    check(
        "unpack_survives_damaged_archives",
        strategy,
        |(flips, cut, truncate)| {
            let contents: Vec<Vec<u8>> = vec![b"hello\n".to_vec(), vec![7u8; 1500], Vec::new()];
            let list: String = contents
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{} d{i}/f{i}\n", oxdl::transfer::hash_hex(c)))
                .collect();
            let wanted = hashes::parse(list.as_bytes(), "w").unwrap();
            let entries: Vec<(String, Vec<u8>)> = wanted
                .iter()
                .zip(&contents)
                .map(|(w, c)| (w.hash(), c.clone()))
                .collect();
            // Damage the tar inside a valid gzip, and maybe cut the gzip stream too.
            let mut tar = tar_of(&entries);
            for (at, byte) in &flips {
                let i = at.index(tar.len());
                tar[i] ^= byte | 1;
            }
            let mut input = gzip(&tar);
            if truncate {
                input.truncate(cut.index(input.len()));
            }
            let root = tempfile::tempdir().unwrap();
            let out = root.path().join("out");
            let result = unpack(&input[..], &wanted, &out, false, &mut Quiet);
            for file in files_below(root.path()) {
                prop_assert!(
                    file.starts_with("out/"),
                    "wrote outside the output directory: {}",
                    file
                );
                prop_assert!(!file.contains(".oxdl-"), "temp file left: {}", file);
            }
            // Whatever was written is exactly right.
            for (w, c) in wanted.iter().zip(&contents) {
                if let Ok(bytes) = std::fs::read(out.join(&w.destinations[0])) {
                    prop_assert_eq!(&bytes, c);
                }
            }
            if result.is_ok() {
                prop_assert_eq!(files_below(&out).len(), 3);
            }
            Ok(())
        },
    );
}

#[test]
fn unpack_writes_only_wanted_names_whatever_the_entries() {
    let strategy = proptest::collection::vec((0usize..8, any::<bool>()), 0..6);
    check(
        "unpack_writes_only_wanted_names_whatever_the_entries",
        strategy,
        |picks| {
            let content = b"payload".to_vec();
            let hash = oxdl::transfer::hash_hex(&content);
            let wanted = hashes::parse(format!("{hash} inner/file\n").as_bytes(), "w").unwrap();
            let escape = std::env::temp_dir().join(format!("oxdl-prop-{}", std::process::id()));
            let names: Vec<(Vec<u8>, tar::EntryType)> = vec![
                (hash.as_bytes().to_vec(), tar::EntryType::Regular),
                (b"../escaped".to_vec(), tar::EntryType::Regular),
                (
                    escape.to_string_lossy().as_bytes().to_vec(),
                    tar::EntryType::Regular,
                ),
                (hash.as_bytes().to_vec(), tar::EntryType::Symlink),
                (hash.as_bytes().to_vec(), tar::EntryType::Link),
                (hash.as_bytes().to_vec(), tar::EntryType::Directory),
                (b"pax".to_vec(), tar::EntryType::XHeader),
                (hash.to_uppercase().into_bytes(), tar::EntryType::Regular),
            ];
            let mut tar = Vec::new();
            for (pick, stop) in &picks {
                let (name, kind) = &names[*pick];
                tar.extend(raw_entry(name, *kind, b"/etc/passwd", &content));
                if *stop {
                    break;
                }
            }
            tar.extend(end_of_archive());
            let root = tempfile::tempdir().unwrap();
            let out = root.path().join("out");
            let result = unpack(&gzip(&tar)[..], &wanted, &out, false, &mut Quiet);
            let files = files_below(root.path());
            prop_assert!(
                files.is_empty() || files == vec!["out/inner/file".to_string()],
                "{:?}",
                files
            );
            prop_assert!(!escape.exists());
            if result.is_ok() {
                prop_assert_eq!(std::fs::read(out.join("inner/file")).unwrap(), content);
            }
            Ok(())
        },
    );
}
