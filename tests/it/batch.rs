//! `oxdl batch` against the loopback server: the real binary, real gzip, real tar, real HTTP.

use crate::support;

use std::io::Read;
use std::sync::Arc;

use support::server::{
    BatchRoutes, Config, end_of_archive, fixtures, gzip, hash_of, raw_entry, tar_of,
};
use support::{Sandbox, TestServer, batch, json_lines, listed, repo_file, with_paths_txt};

/// The captured list: 8 files of the repository at `main`.
fn hashes_txt() -> String {
    std::fs::read_to_string(fixtures().join("hashes.txt")).unwrap()
}

fn assert_no_temp_files(sandbox: &Sandbox) {
    let leftovers: Vec<String> = sandbox
        .files()
        .into_iter()
        .filter(|f| f.contains(".oxdl-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
}

#[test]
fn test_server_tarball_matches_the_real_one_byte_for_byte() {
    let captured = std::fs::read(fixtures().join("responses/batch-query.tar.gz")).unwrap();
    let mut real = Vec::new();
    flate2::read::GzDecoder::new(&captured[..])
        .read_to_end(&mut real)
        .unwrap();
    let entries: Vec<(String, Vec<u8>)> = listed()
        .into_iter()
        .map(|(hash, path)| (hash, repo_file(&path)))
        .collect();
    for (hash, bytes) in &entries {
        assert_eq!(&hash_of(bytes), hash, "fixture hashes are real XXH3-128");
    }
    assert_eq!(tar_of(&entries), real);
}

#[test]
fn batch_from_file_names_files_by_hash() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("hashes.txt"), hashes_txt()).unwrap();
    let run = batch(&sandbox, &server, &["hashes.txt", "-C", "out"], "");
    run.expect_code(0)
        .expect_stderr("8 fetched, 0 skipped, 0 missing, 0 failed; 6542 bytes written to out");
    assert!(run.stdout.is_empty());
    for (hash, path) in listed() {
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{hash}"))).unwrap(),
            repo_file(&path)
        );
    }
    assert_no_temp_files(&sandbox);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "QUERY");
    assert_eq!(requests[0].target, "/api/repos/ox/demo/versions");
    assert_eq!(requests[0].header("content-encoding"), None);
    assert_eq!(requests[0].batch_hashes().join("\n") + "\n", hashes_txt());
}

#[test]
fn batch_from_stdin_with_dash_and_without_argument() {
    let server = TestServer::start();
    for args in [&["-", "-C", "out"][..], &["-C", "out"][..]] {
        let sandbox = Sandbox::new();
        batch(&sandbox, &server, args, &hashes_txt()).expect_code(0);
        assert_eq!(sandbox.files().len(), 8, "{args:?}");
        for (hash, path) in listed() {
            assert_eq!(
                std::fs::read(sandbox.join(&format!("out/{hash}"))).unwrap(),
                repo_file(&path)
            );
        }
    }
}

#[test]
fn batch_places_files_at_their_paths() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let list = format!("# the repository at main\n\n{}", with_paths_txt());
    batch(&sandbox, &server, &["-", "-C", "tree", "-q"], &list).expect_code(0);
    let mut expected: Vec<String> = listed()
        .into_iter()
        .map(|(_, p)| format!("tree/{p}"))
        .collect();
    expected.sort();
    assert_eq!(sandbox.files(), expected);
    for (_, path) in listed() {
        assert_eq!(
            std::fs::read(sandbox.join(&format!("tree/{path}"))).unwrap(),
            repo_file(&path)
        );
    }
}

#[test]
fn batch_quiet_prints_nothing() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = batch(&sandbox, &server, &["-q"], &hashes_txt());
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert!(run.stdout.is_empty());
}

#[test]
fn batch_requests_duplicates_once_and_writes_every_destination() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let hello = hash_of(&repo_file("hello.txt"));
    let list = format!(
        "{hello} a/hello.txt\n{hello}\n{}\n{hello} b/hello.txt\n",
        hello.to_uppercase()
    );
    batch(&sandbox, &server, &[], &list).expect_code(0);
    let mut expected = vec![
        "a/hello.txt".to_string(),
        "b/hello.txt".into(),
        hello.clone(),
    ];
    expected.sort();
    assert_eq!(sandbox.files(), expected);
    for file in sandbox.files() {
        assert_eq!(
            std::fs::read(sandbox.join(&file)).unwrap(),
            repo_file("hello.txt")
        );
    }
    assert_eq!(server.requests()[0].batch_hashes(), vec![hello]);
}

#[test]
fn batch_rejects_bad_lines_before_any_request() {
    let server = TestServer::start();
    let cases = [
        (
            "4bc6f9c6f8941bc2e3a7ebff29145cde\nnot-a-hash\n",
            "<stdin>: line 2: 'not-a-hash' is not a content hash",
        ),
        (
            "4bc6f9c6f8941bc2e3a7ebff29145cde ../../etc/x\n",
            "line 1: path '../../etc/x' must stay inside",
        ),
        (
            "4bc6f9c6f8941bc2e3a7ebff29145cde /tmp/x\n",
            "line 1: path '/tmp/x' must stay inside",
        ),
        ("\n\n0123456789abcdef0123456789abcdef0\n", "line 3:"),
    ];
    for (list, message) in cases {
        let sandbox = Sandbox::new();
        batch(&sandbox, &server, &["-C", "out"], list)
            .expect_code(2)
            .expect_stderr(message);
        assert!(sandbox.files().is_empty());
    }
    let sandbox = Sandbox::new();
    batch(&sandbox, &server, &["missing.txt"], "")
        .expect_code(2)
        .expect_stderr("cannot open hash list missing.txt");
    assert!(server.requests().is_empty());
}

#[test]
fn batch_empty_list_does_nothing() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    batch(&sandbox, &server, &[], "# nothing\n\n")
        .expect_code(0)
        .expect_stderr("nothing to download");
    assert!(server.requests().is_empty());
}

#[test]
fn batch_falls_back_to_the_documented_route() {
    for status in [404, 405, 501] {
        let server = TestServer::with(Config {
            batch_routes: BatchRoutes::QueryRejected(status),
            ..Config::default()
        });
        let sandbox = Sandbox::new();
        batch(&sandbox, &server, &["-C", "out"], &with_paths_txt()).expect_code(0);
        assert_eq!(
            std::fs::read(sandbox.join("out/hello.txt")).unwrap(),
            repo_file("hello.txt")
        );
        let routes: Vec<(String, String)> = server
            .requests()
            .into_iter()
            .map(|r| (r.method, r.target))
            .collect();
        assert_eq!(
            routes,
            vec![
                (
                    "QUERY".to_string(),
                    "/api/repos/ox/demo/versions".to_string()
                ),
                (
                    "POST".to_string(),
                    "/api/repos/ox/demo/versions/batch-download".to_string()
                ),
            ],
            "after {status}"
        );
        let requests = server.requests();
        assert_eq!(
            requests[0].body, requests[1].body,
            "same body on both routes"
        );
    }
}

#[test]
fn batch_unknown_repository_is_not_found() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    sandbox
        .run_with_stdin(
            &["--host", &server.url, "batch", "ox/nope", "-j", "1"],
            hashes_txt().as_bytes(),
        )
        .expect_code(3)
        .expect_stderr("Repository 'ox/nope' not found (HTTP 404)");
    // A missing repository is not mistaken for a missing route: no fallback to POST.
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, vec!["QUERY"]);
}

#[test]
fn batch_missing_hashes_are_reported_and_the_rest_fetched() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let missing = "ffffffffffffffffffffffffffffffff";
    let list = format!("{missing} gone.bin\n{}", with_paths_txt());
    let run = batch(&sandbox, &server, &["-C", "out"], &list);
    run.expect_code(5)
        .expect_stderr(&format!("missing: {missing}\n"))
        .expect_stderr("1 of 9 file(s) are missing on the server");
    assert_eq!(sandbox.files().len(), 8);
    for (_, path) in listed() {
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{path}"))).unwrap(),
            repo_file(&path)
        );
    }
    assert!(!sandbox.join("out/gone.bin").exists());
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].batch_hashes().contains(&missing.to_string()));
    assert!(!requests[1].batch_hashes().contains(&missing.to_string()));
    assert_eq!(requests[1].batch_hashes().len(), 8);
}

#[test]
fn batch_sends_31_digit_hashes_unpadded() {
    // A file whose XXH3-128 has a leading zero nibble, so its hash string has 31 digits.
    let content = (0..)
        .map(|i| format!("short hash {i}\n").into_bytes())
        .find(|bytes| hash_of(bytes).len() == 31)
        .unwrap();
    let short = hash_of(&content);
    let server = TestServer::with(Config {
        extra_blobs: vec![content.clone()],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    batch(
        &sandbox,
        &server,
        &["-C", "out"],
        &format!("0{short} short.bin\n"),
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("out/short.bin")).unwrap(),
        content
    );
    assert_eq!(server.requests()[0].batch_hashes(), vec![short]);

    // The real 50 MiB file of the captured repository: zero-padded, the server would call it missing.
    let real = "389f92e4837212abe1bdb262834fc63";
    let run = batch(&sandbox, &server, &["-C", "out"], &format!("0{real}\n"));
    run.expect_code(5)
        .expect_stderr(&format!("missing: {real}"));
    assert_eq!(server.requests()[1].batch_hashes(), vec![real.to_string()]);
}

/// A server whose batch answers are built by `make` from the requested hashes.
fn tampering_server(make: impl Fn(&[String]) -> Vec<u8> + Send + Sync + 'static) -> TestServer {
    TestServer::with(Config {
        archive_override: Some(Arc::new(make)),
        ..Config::default()
    })
}

/// The first requested file as a valid entry, followed by `hostile`, gzipped.
fn valid_then(hostile: Vec<u8>, with_end: bool) -> impl Fn(&[String]) -> Vec<u8> {
    move |hashes: &[String]| {
        let first = &hashes[0];
        let mut tar = tar_of(&[(first.clone(), repo_file("hello.txt"))]);
        tar.extend_from_slice(&hostile);
        if with_end {
            tar.extend(end_of_archive());
        }
        gzip(&tar)
    }
}

fn hello_and_data() -> String {
    format!(
        "{} hello.txt\n{} data.csv\n",
        hash_of(&repo_file("hello.txt")),
        hash_of(&repo_file("data.csv"))
    )
}

#[test]
fn batch_rejects_hostile_entries() {
    let data_hash = hash_of(&repo_file("data.csv"));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "parent",
            raw_entry(b"../escaped", tar::EntryType::Regular, b"", b"evil"),
        ),
        (
            "absolute",
            raw_entry(b"/tmp/oxdl-absolute", tar::EntryType::Regular, b"", b"evil"),
        ),
        (
            "symlink",
            raw_entry(
                data_hash.as_bytes(),
                tar::EntryType::Symlink,
                b"/etc/passwd",
                b"",
            ),
        ),
        (
            "directory",
            raw_entry(data_hash.as_bytes(), tar::EntryType::Directory, b"", b""),
        ),
        (
            "unrequested",
            raw_entry(
                b"0123456789abcdef0123456789abcdef",
                tar::EntryType::Regular,
                b"",
                b"x",
            ),
        ),
        (
            "long name",
            raw_entry(
                b"././@LongLink",
                tar::EntryType::GNULongName,
                b"",
                b"a-very-long-name",
            ),
        ),
    ];
    for (what, hostile) in cases {
        let server = tampering_server(valid_then(hostile, true));
        let sandbox = Sandbox::new();
        let run = batch(&sandbox, &server, &["-C", "out/inner"], &hello_and_data());
        run.expect_code(6).expect_stderr("protocol error");
        assert_eq!(
            sandbox.files(),
            vec!["out/inner/hello.txt"],
            "{what}: only the verified file before the bad entry is kept"
        );
        assert!(!std::path::Path::new("/tmp/oxdl-absolute").exists());
    }
}

#[test]
fn batch_rejects_a_duplicate_entry() {
    let server = tampering_server(|hashes: &[String]| {
        let hello = repo_file("hello.txt");
        let entries = vec![
            (hashes[0].clone(), hello.clone()),
            (hashes[0].clone(), hello),
        ];
        gzip(&tar_of(&entries))
    });
    let sandbox = Sandbox::new();
    batch(&sandbox, &server, &[], &hello_and_data())
        .expect_code(6)
        .expect_stderr("a second time");
    assert_eq!(sandbox.files(), vec!["hello.txt"]);
}

#[test]
fn batch_hash_mismatch_writes_nothing_of_that_file() {
    let server = tampering_server(|hashes: &[String]| {
        gzip(&tar_of(&[
            (hashes[0].clone(), repo_file("hello.txt")),
            (hashes[1].clone(), b"not the real data.csv".to_vec()),
        ]))
    });
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("data.csv"), b"older data").unwrap();
    let data_hash = hash_of(&repo_file("data.csv"));
    batch(&sandbox, &server, &[], &hello_and_data())
        .expect_code(6)
        .expect_stderr(&format!("the bytes sent for {data_hash} hash to"))
        .expect_stderr("(1 fetched, 0 skipped, 0 missing, 1 failed)")
        // Only the bytes of files put in place count, not those of the rejected one.
        .expect_stderr(&format!("; {} bytes written", repo_file("hello.txt").len()));
    assert_eq!(
        std::fs::read(sandbox.join("data.csv")).unwrap(),
        b"older data"
    );
    assert_eq!(
        std::fs::read(sandbox.join("hello.txt")).unwrap(),
        repo_file("hello.txt")
    );
    assert_no_temp_files(&sandbox);
}

#[test]
fn batch_truncated_gzip_fails() {
    // The chunked body ends cleanly, but the gzip stream inside it is cut short.
    let server = tampering_server(|hashes: &[String]| {
        let entries: Vec<(String, Vec<u8>)> = hashes
            .iter()
            .zip(["hello.txt", "data.csv"])
            .map(|(h, p)| (h.clone(), repo_file(p)))
            .collect();
        let full = gzip(&tar_of(&entries));
        full[..full.len() - 12].to_vec()
    });
    let sandbox = Sandbox::new();
    batch(&sandbox, &server, &["--retries", "0"], &hello_and_data())
        .expect_code(6)
        .expect_stderr("damaged or was cut short");
    assert_no_temp_files(&sandbox);
}

#[test]
fn batch_connection_cut_mid_stream_fails_and_keeps_verified_files() {
    let hello = hash_of(&repo_file("hello.txt"));
    let big: Vec<u8> = (0..3_000_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let big_hash = hash_of(&big);
    let full = gzip(&tar_of(&[
        (hello.clone(), repo_file("hello.txt")),
        (big_hash.clone(), big.clone()),
    ]));
    let server = TestServer::with(Config {
        extra_blobs: vec![big],
        cut_batch_after: Some(full.len() / 2),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let list = format!("{hello} hello.txt\n{big_hash} big.bin\n");
    batch(&sandbox, &server, &["--retries", "0"], &list)
        .expect_code(6)
        .expect_stderr("big.bin");
    assert_eq!(sandbox.files(), vec!["hello.txt"]);
}

#[test]
fn batch_missing_end_of_archive_fails() {
    let server = tampering_server(|hashes: &[String]| {
        let entries: Vec<(String, Vec<u8>)> = hashes
            .iter()
            .zip(["hello.txt", "data.csv"])
            .map(|(h, p)| (h.clone(), repo_file(p)))
            .collect();
        let tar = tar_of(&entries);
        gzip(&tar[..tar.len() - 1024])
    });
    let sandbox = Sandbox::new();
    batch(&sandbox, &server, &[], &hello_and_data())
        .expect_code(6)
        .expect_stderr("end-of-archive");
    // Both files arrived verified before the damaged end: they stay, and nothing is retried.
    assert_eq!(sandbox.files(), vec!["data.csv", "hello.txt"]);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn batch_archive_lacking_a_requested_file_fails() {
    let server = tampering_server(|hashes: &[String]| {
        let mut tar = tar_of(&[(hashes[0].clone(), repo_file("hello.txt"))]);
        tar.extend(end_of_archive());
        gzip(&tar)
    });
    let sandbox = Sandbox::new();
    batch(&sandbox, &server, &[], &hello_and_data())
        .expect_code(6)
        .expect_stderr("without 1 requested file(s)");
    assert_eq!(sandbox.files(), vec!["hello.txt"]);
}

#[test]
fn batch_not_a_tarball_fails() {
    let server = tampering_server(|_| b"<html>proxy error page</html>".to_vec());
    let sandbox = Sandbox::new();
    let run = batch(&sandbox, &server, &[], &hello_and_data());
    run.expect_code(6)
        .expect_stderr("damaged or was cut short: invalid gzip header");
    assert!(sandbox.files().is_empty());
    // Malformed data would come back the same: it is not retried, unlike a broken connection.
    assert!(!run.stderr.contains("retry"), "{}", run.stderr);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn batch_never_writes_through_a_symlink_inside_the_output_directory() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.join("out")).unwrap();
    std::fs::create_dir_all(sandbox.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(sandbox.join("elsewhere"), sandbox.join("out/link")).unwrap();
    let hello = hash_of(&repo_file("hello.txt"));
    let list = format!("{hello} fine.txt\n{hello} link/pwned.txt\n");
    // Piped and from a file: the same refusal, before anything is written.
    std::fs::write(sandbox.join("list.txt"), &list).unwrap();
    for args in [&["-C", "out"][..], &["-C", "out", "list.txt"][..]] {
        batch(&sandbox, &server, args, &list)
            .expect_code(2)
            .expect_stderr("'link/pwned.txt' leads through 'link', a symbolic link");
        assert!(
            std::fs::read_dir(sandbox.join("elsewhere"))
                .unwrap()
                .next()
                .is_none(),
            "nothing written outside the output directory"
        );
    }
    assert!(!sandbox.join("out/fine.txt").exists());
    assert!(server.requests().is_empty(), "refused before any request");
    // Deeper links are found too, and the output directory itself may be a link.
    std::os::unix::fs::symlink(sandbox.join("out"), sandbox.join("via")).unwrap();
    std::fs::create_dir_all(sandbox.join("out/real")).unwrap();
    std::os::unix::fs::symlink(sandbox.join("elsewhere"), sandbox.join("out/real/deep")).unwrap();
    batch(
        &sandbox,
        &server,
        &["-C", "via"],
        &format!("{hello} real/deep/x.txt\n"),
    )
    .expect_code(2)
    .expect_stderr("'real/deep'");
    batch(
        &sandbox,
        &server,
        &["-C", "via"],
        &format!("{hello} real/ok.txt\n"),
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("out/real/ok.txt")).unwrap(),
        repo_file("hello.txt")
    );
}

#[test]
fn batch_json_reader_closing_stdout_does_not_cut_the_download_short() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let missing = "ffffffffffffffffffffffffffffffff";
    for (list, code) in [
        (with_paths_txt(), 0),
        (format!("{}{missing} gone.bin\n", with_paths_txt()), 5),
    ] {
        let out = format!("out{code}");
        let mut command = sandbox.command(&[
            "--host",
            server.url.as_str(),
            "--json",
            "batch",
            "ox/demo",
            "-j",
            "1",
            "--batch-size",
            "1",
            "-C",
            &out,
        ]);
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::{BufRead, Write};
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(list.as_bytes()).unwrap();
        drop(stdin);
        // `| head -1`: one line read, then the pipe is closed.
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.contains("\"status\""), "{first}");
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{stderr}");
        for (_, path) in listed() {
            assert_eq!(
                std::fs::read(sandbox.join(&format!("{out}/{path}"))).unwrap(),
                repo_file(&path),
                "{path}"
            );
        }
        assert!(stderr.contains("8 fetched"), "{stderr}");
    }
}

#[test]
fn batch_says_once_that_the_server_lacks_files() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    // One missing hash in each of the two requests.
    let list = format!(
        "ffffffffffffffffffffffffffffffff a.bin\n{}eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee b.bin\n",
        with_paths_txt()
    );
    let run = batch(
        &sandbox,
        &server,
        &["-C", "out", "--batch-size", "5"],
        &list,
    );
    run.expect_code(5);
    assert_eq!(
        run.stderr.matches("the server is missing").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        server.requests().len() >= 4,
        "the hashes went in several requests"
    );
}

#[test]
fn batch_says_which_path_is_a_file_where_a_directory_is_needed() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.join("out")).unwrap();
    std::fs::write(sandbox.join("out/f"), b"a file").unwrap();
    let hello = hash_of(&repo_file("hello.txt"));
    let run = batch(
        &sandbox,
        &server,
        &["-C", "out"],
        &format!("{hello} f/x.txt\n"),
    );
    run.expect_code(1)
        .expect_stderr("out/f is a file, not a directory");
    assert!(!run.stderr.contains("File exists"), "{}", run.stderr);
    assert_eq!(std::fs::read(sandbox.join("out/f")).unwrap(), b"a file");
}

#[test]
fn batch_says_when_a_directory_stands_where_a_file_goes() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.join("out/d/inside")).unwrap();
    let hello = hash_of(&repo_file("hello.txt"));
    let run = batch(&sandbox, &server, &["-C", "out"], &format!("{hello} d\n"));
    run.expect_code(1)
        .expect_stderr("cannot write out/d: a directory is in the way");
    assert!(!run.stderr.contains("persist"), "{}", run.stderr);
    assert!(sandbox.join("out/d/inside").is_dir());
    assert_no_temp_files(&sandbox);
}

/// `--json` objects of a run, without the summary, sorted by path: comparable between runs.
fn file_statuses(stdout: &[u8]) -> Vec<(String, String)> {
    let mut statuses: Vec<(String, String)> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|v| v.get("summary").is_none())
        .map(|v| {
            (
                v["path"].as_str().unwrap().to_string(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    statuses.sort();
    statuses
}

#[test]
fn batch_never_copies_a_file_that_was_only_trusted_by_its_size() {
    let server = TestServer::start();
    let hello = repo_file("hello.txt");
    let list = format!("{} a.txt\n{0} b.txt\n", hash_of(&hello));
    let mut seen = Vec::new();
    for piped in [true, false] {
        let sandbox = Sandbox::new();
        std::fs::create_dir_all(sandbox.join("out")).unwrap();
        std::fs::write(sandbox.join("out/a.txt"), b"garbage, but not empty").unwrap();
        std::fs::write(sandbox.join("list.txt"), &list).unwrap();
        let mut args = vec!["--json", "-C", "out", "--skip-existing", "size"];
        if !piped {
            args.push("list.txt");
        }
        let run = batch(&sandbox, &server, &args, &list);
        run.expect_code(0);
        assert_eq!(
            std::fs::read(sandbox.join("out/b.txt")).unwrap(),
            hello,
            "piped: {piped}: an unchecked file was copied"
        );
        assert_eq!(std::fs::read(sandbox.join("out/a.txt")).unwrap(), hello);
        seen.push(file_statuses(&run.stdout));
    }
    assert_eq!(seen[0], seen[1], "the same statuses from a pipe and a file");
    assert_eq!(
        seen[0],
        vec![
            ("a.txt".to_string(), "fetched".to_string()),
            ("b.txt".to_string(), "fetched".to_string())
        ]
    );
}

#[test]
fn batch_a_fatal_failure_stops_the_run_whatever_failed_before() {
    use support::server::Fault;
    let denied = Fault::Status {
        status: 401,
        retry_after: None,
        body: br#"{"error":{"type":"unauthenticated","title":"Unauthorized"},"status":"error"}"#
            .to_vec(),
    };
    let mut faults = vec![Fault::Pass];
    faults.extend(std::iter::repeat_n(denied, 7));
    // The first answer has a file whose bytes lie: a failure of that request only.
    let server = TestServer::with(Config {
        archive_override: Some(Arc::new(|hashes: &[String]| {
            gzip(&tar_of(&[(hashes[0].clone(), b"not the file".to_vec())]))
        })),
        faults,
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let run = batch(
        &sandbox,
        &server,
        &["-C", "out", "--batch-size", "1"],
        &with_paths_txt(),
    );
    // The refused token decides the exit code, not the mismatch met first.
    run.expect_code(4).expect_stderr("needs a token");
    assert_eq!(
        server.requests().len(),
        2,
        "no request after the 401:\n{}",
        run.stderr
    );
}

#[test]
fn batch_stops_reading_a_pipe_after_a_fatal_failure() {
    let server = TestServer::with(Config {
        token: Some("secret".to_string()),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let mut child = sandbox
        .command(&[
            "--host",
            server.url.as_str(),
            "batch",
            "ox/demo",
            "--batch-size",
            "1",
            "-C",
            "out",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{} hello.txt\n", hash_of(&repo_file("hello.txt"))).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    // The writer keeps the pipe open, as a slow producer would: the 401 must end the run anyway.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("oxdl kept waiting for stdin after the server refused it");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(stdin);
    assert_eq!(status.code(), Some(4));
}

#[test]
fn batch_accepts_a_body_of_several_gzip_members() {
    let hello = repo_file("hello.txt");
    let data = repo_file("data.csv");
    let server = tampering_server(move |hashes: &[String]| {
        let tar = tar_of(&[
            (hashes[0].clone(), repo_file("hello.txt")),
            (hashes[1].clone(), repo_file("data.csv")),
        ]);
        // What a re-compressing proxy may send: the same stream as two gzip members, one after the other.
        let (first, second) = tar.split_at(700);
        let mut body = gzip(first);
        body.extend(gzip(second));
        body
    });
    let sandbox = Sandbox::new();
    batch(&sandbox, &server, &[], &hello_and_data()).expect_code(0);
    assert_eq!(std::fs::read(sandbox.join("hello.txt")).unwrap(), hello);
    assert_eq!(std::fs::read(sandbox.join("data.csv")).unwrap(), data);
    assert_eq!(server.requests().len(), 1, "not retried");

    // Still, the members together must end with the end-of-archive marker.
    let server = tampering_server(|hashes: &[String]| {
        let tar = tar_of(&[(hashes[0].clone(), repo_file("hello.txt"))]);
        let (first, second) = tar[..tar.len() - 1024].split_at(600);
        let mut body = gzip(first);
        body.extend(gzip(second));
        body
    });
    let sandbox = Sandbox::new();
    batch(
        &sandbox,
        &server,
        &["--retries", "0"],
        &format!("{}\n", hash_of(&repo_file("hello.txt"))),
    )
    .expect_code(6)
    .expect_stderr("end-of-archive marker");
}

#[test]
fn batch_one_blocked_destination_costs_only_its_own_request() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.join("out")).unwrap();
    std::fs::write(
        sandbox.join("out/sub"),
        b"a file where a directory is needed",
    )
    .unwrap();
    let list = format!(
        "{} sub/x.txt\n{}",
        hash_of(&repo_file("hello.txt")),
        with_paths_txt()
            .lines()
            .filter(|l| !l.ends_with("hello.txt"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    let run = batch(
        &sandbox,
        &server,
        &["-C", "out", "--batch-size", "1"],
        &list,
    );
    run.expect_code(1)
        .expect_stderr("out/sub is a file, not a directory")
        .expect_stderr("7 fetched, 0 skipped, 0 missing, 1 failed");
    for (_, path) in listed().into_iter().filter(|(_, p)| p != "hello.txt") {
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{path}"))).unwrap(),
            repo_file(&path)
        );
    }
}

#[test]
fn batch_reports_files_planned_but_never_sent_after_a_bad_line() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let lines: Vec<&str> = with_paths_txt().leak().lines().collect();
    let list = format!("{}\n{}\nnot-a-hash\n", lines[0], lines[1]);
    let run = batch(&sandbox, &server, &["--json", "-C", "out"], &list);
    run.expect_code(2);
    let statuses = file_statuses(&run.stdout);
    assert_eq!(
        statuses.len(),
        2,
        "every planned file is reported: {statuses:?}"
    );
    assert!(statuses.iter().all(|(_, s)| s == "failed"), "{statuses:?}");
}

#[test]
fn batch_summary_counts_files_not_hashes() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let hello = hash_of(&repo_file("hello.txt"));
    let run = batch(
        &sandbox,
        &server,
        &["--json", "-C", "out", "--batch-size", "1"],
        &format!("{hello} a.txt\n{hello} b.txt\n{hello} c.txt\n"),
    );
    run.expect_code(0).expect_stderr("3 fetched, 0 skipped");
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["fetched"], 3);
    assert_eq!(file_statuses(&run.stdout).len(), 3);
}

#[test]
fn batch_a_link_planted_after_planning_is_still_refused() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.join("out")).unwrap();
    std::fs::create_dir_all(sandbox.join("elsewhere")).unwrap();
    let (link, target) = (sandbox.join("out/sub"), sandbox.join("elsewhere"));
    // The server plants the link while it answers: after the list was checked, before the file is written.
    let server = tampering_server(move |hashes: &[String]| {
        let _ = std::os::unix::fs::symlink(&target, &link);
        gzip(&tar_of(&[(hashes[0].clone(), repo_file("hello.txt"))]))
    });
    let hello = hash_of(&repo_file("hello.txt"));
    batch(
        &sandbox,
        &server,
        &["-C", "out"],
        &format!("{hello} sub/x.txt\n"),
    )
    .expect_code(2)
    .expect_stderr("a symbolic link inside the output directory");
    assert!(
        std::fs::read_dir(sandbox.join("elsewhere"))
            .unwrap()
            .next()
            .is_none(),
        "nothing written outside the output directory"
    );
}

#[test]
fn batch_a_hash_met_again_far_down_a_long_list_is_fetched_again_into_every_path() {
    let server = TestServer::start();
    let hello = hash_of(&repo_file("hello.txt"));
    // More distinct hashes between the two lines than the planner remembers (32,768): the second is
    // fetched again rather than copied, and both paths end up right. The others are missing.
    let mut list = format!("{hello} first/hello.txt\n");
    for i in 0..40_000u32 {
        list.push_str(&format!(
            "{:032x} m/{i}\n",
            0xabcd_0000_0000_u64 + u64::from(i)
        ));
    }
    list.push_str(&format!(
        "{hello} last/hello.txt\n{hello} close/hello.txt\n"
    ));
    for piped in [true, false] {
        let sandbox = Sandbox::new();
        std::fs::write(sandbox.join("list.txt"), &list).unwrap();
        let before = server.requests().len();
        let mut args = vec!["-q", "-C", "out"];
        if !piped {
            args.push("list.txt");
        }
        // Nothing on stdin when the list is a file: oxdl would not read it.
        let stdin = if piped { list.as_str() } else { "" };
        batch(&sandbox, &server, &args, stdin)
            .expect_code(5)
            .expect_stderr("40000 of 40003 file(s) are missing on the server");
        for path in ["first", "last", "close"] {
            assert_eq!(
                std::fs::read(sandbox.join(&format!("out/{path}/hello.txt"))).unwrap(),
                repo_file("hello.txt"),
                "piped: {piped}"
            );
        }
        // A request holding missing hashes is answered with their list, then asked again without them:
        // the requests that carry hello and no missing hash are those answered with its bytes.
        let fetches = server.requests()[before..]
            .iter()
            .map(|r| r.batch_hashes())
            .filter(|hashes| {
                hashes.contains(&hello) && hashes.iter().all(|h| !h.starts_with("abcd"))
            })
            .count();
        assert_eq!(
            fetches, 2,
            "piped: {piped}: far apart, twice; close together, once"
        );
    }
}

#[test]
fn batch_a_list_redirected_from_a_file_is_checked_whole_before_any_request() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let mut list = with_paths_txt();
    std::fs::write(sandbox.join("good.txt"), &list).unwrap();
    list.push_str("not-a-hash\n");
    std::fs::write(sandbox.join("bad.txt"), &list).unwrap();
    let args = [
        "--host",
        server.url.as_str(),
        "batch",
        "ox/demo",
        "-C",
        "out",
        "--batch-size",
        "1",
        "-",
    ];
    // Read as it arrives, the first lines would have been fetched (a request of one file each).
    sandbox
        .run_redirected(&args, "< bad.txt")
        .expect_code(2)
        .expect_stderr("<stdin>: line 9: 'not-a-hash' is not a content hash");
    assert!(server.requests().is_empty());
    assert!(sandbox.files().iter().all(|f| !f.starts_with("out/")));
    // The same file, complete: read twice (checked, then planned), every file fetched once.
    sandbox.run_redirected(&args, "< good.txt").expect_code(0);
    for (_, path) in listed() {
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{path}"))).unwrap(),
            repo_file(&path)
        );
    }
    assert_eq!(server.requests().len(), 8);
}

#[test]
fn batch_never_copies_a_late_destination_from_a_first_that_failed() {
    // Every answer lies about the file's bytes, so the hash fails where it was first written.
    let server = tampering_server(|hashes: &[String]| {
        gzip(&tar_of(&[(hashes[0].clone(), b"not the file".to_vec())]))
    });
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.join("out")).unwrap();
    std::fs::write(sandbox.join("out/first.txt"), b"an older file").unwrap();
    let hello = hash_of(&repo_file("hello.txt"));
    // Piped with requests of one file: the hash is handed out before its second line is read.
    let list = format!("{hello} first.txt\n{hello} second.txt\n");
    let run = batch(
        &sandbox,
        &server,
        &["--json", "-C", "out", "--batch-size", "1", "--retries", "0"],
        &list,
    );
    run.expect_code(6);
    assert_eq!(
        std::fs::read(sandbox.join("out/first.txt")).unwrap(),
        b"an older file"
    );
    assert!(!sandbox.join("out/second.txt").exists());
    let mut statuses = file_statuses(&run.stdout);
    statuses.sort();
    assert_eq!(
        statuses,
        vec![
            ("first.txt".to_string(), "failed".to_string()),
            ("second.txt".to_string(), "failed".to_string())
        ]
    );
}

#[test]
fn batch_one_hash_at_thousands_of_paths_is_fetched_once_and_copied_to_all() {
    let server = TestServer::start();
    let hello = hash_of(&repo_file("hello.txt"));
    // Requests are filled by files, not hashes: the first takes 1,000 of the paths, and the others come
    // after it was handed out, to be copied from it at the end (kept on disk meanwhile).
    let list: String = (0..3000)
        .map(|i| format!("{hello} d{}/copy-{i}.txt\n", i % 7))
        .collect();
    for piped in [true, false] {
        let sandbox = Sandbox::new();
        std::fs::write(sandbox.join("list.txt"), &list).unwrap();
        let before = server.requests().len();
        let mut args = vec!["--json", "-C", "out"];
        if !piped {
            args.push("list.txt");
        }
        let run = batch(&sandbox, &server, &args, if piped { &list } else { "" });
        run.expect_code(0)
            .expect_stderr("3000 fetched, 0 skipped, 0 missing, 0 failed");
        let files = sandbox.files();
        assert_eq!(files.len(), 3001, "3000 copies and the list");
        for file in files.iter().filter(|f| f.starts_with("out/")) {
            assert_eq!(
                std::fs::read(sandbox.join(file)).unwrap(),
                repo_file("hello.txt")
            );
        }
        let asked: usize = server.requests()[before..]
            .iter()
            .map(|r| r.batch_hashes().len())
            .sum();
        assert_eq!(asked, 1, "piped: {piped}");
        let fetched = json_lines(&run.stdout)
            .iter()
            .filter(|l| l["status"] == "fetched")
            .count();
        assert_eq!(fetched, 3000);
    }
}

/// The `--json` file objects of a run by path, and its summary.
fn reports_by_path(run: &support::Run) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut lines = json_lines(&run.stdout);
    let summary = lines.pop().unwrap()["summary"].clone();
    lines.sort_by_key(|l| l["path"].as_str().unwrap().to_string());
    (lines, summary)
}

/// `(path, status, replaced)` of each file object.
fn outcomes(files: &[serde_json::Value]) -> Vec<(String, String, bool)> {
    files
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                f["replaced"] == true,
            )
        })
        .collect()
}

#[test]
fn batch_names_and_counts_the_local_files_it_replaces() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    batch(&sandbox, &server, &["-C", "out"], &with_paths_txt()).expect_code(0);
    std::fs::write(sandbox.join("out/hello.txt"), b"my own hello").unwrap();
    std::fs::write(sandbox.join("out/data.csv"), b"").unwrap();
    let run = batch(
        &sandbox,
        &server,
        &["-C", "out", "--json"],
        &with_paths_txt(),
    );
    run.expect_code(0)
        .expect_stderr("replaced: out/hello.txt (local content differed)")
        .expect_stderr("replaced: out/data.csv (local content differed)")
        .expect_stderr("2 fetched, 6 skipped, 0 missing, 0 failed, 2 replaced; ");
    let (files, summary) = reports_by_path(&run);
    let replaced: Vec<String> = outcomes(&files)
        .into_iter()
        .filter(|(_, _, replaced)| *replaced)
        .map(|(path, status, _)| format!("{path} {status}"))
        .collect();
    assert_eq!(replaced, vec!["data.csv fetched", "hello.txt fetched"]);
    assert_eq!(summary["replaced"], 2);
    assert_eq!(summary["fetched"], 2);
    assert_eq!(summary["from_cache"], 0);
    for (_, path) in listed() {
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{path}"))).unwrap(),
            repo_file(&path)
        );
    }
}

#[test]
fn batch_names_the_copies_it_makes_over_local_edits() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let hello = hash_of(&repo_file("hello.txt"));
    let two_paths = format!("{hello} a.txt\n{hello} b.txt\n");

    // One path in place, the other edited: the copy from the first replaces the edit.
    batch(&sandbox, &server, &["-C", "one"], &two_paths).expect_code(0);
    std::fs::write(sandbox.join("one/b.txt"), b"edited").unwrap();
    let run = batch(&sandbox, &server, &["-C", "one", "--json"], &two_paths);
    run.expect_code(0)
        .expect_stderr("replaced: one/b.txt (local content differed)")
        .expect_stderr("0 fetched, 2 skipped, 0 missing, 0 failed, 1 replaced; ");
    let (files, summary) = reports_by_path(&run);
    assert_eq!(
        outcomes(&files),
        vec![
            ("a.txt".to_string(), "skipped".to_string(), false),
            ("b.txt".to_string(), "skipped".to_string(), true)
        ]
    );
    assert_eq!(summary["replaced"], 1);
    assert_eq!(
        std::fs::read(sandbox.join("one/b.txt")).unwrap(),
        repo_file("hello.txt")
    );

    // A hash met again after it was handed out (one file a request): its later path, edited, is filled
    // after the fetch, and that replaces the edit.
    std::fs::create_dir_all(sandbox.join("two")).unwrap();
    std::fs::write(sandbox.join("two/b.txt"), b"edited").unwrap();
    let run = batch(
        &sandbox,
        &server,
        &["-C", "two", "--json", "--batch-size", "1"],
        &two_paths,
    );
    run.expect_code(0)
        .expect_stderr("replaced: two/b.txt (local content differed)")
        .expect_stderr("2 fetched, 0 skipped, 0 missing, 0 failed, 1 replaced; ");
    let (files, _) = reports_by_path(&run);
    assert_eq!(
        outcomes(&files),
        vec![
            ("a.txt".to_string(), "fetched".to_string(), false),
            ("b.txt".to_string(), "fetched".to_string(), true)
        ]
    );
    assert_eq!(
        std::fs::read(sandbox.join("two/b.txt")).unwrap(),
        repo_file("hello.txt")
    );

    // That later path already in place stays as it is: skipped, not copied over.
    std::fs::remove_file(sandbox.join("two/a.txt")).unwrap();
    let run = batch(
        &sandbox,
        &server,
        &["-C", "two", "--batch-size", "1"],
        &two_paths,
    );
    run.expect_code(0)
        .expect_stderr("1 fetched, 1 skipped, 0 missing, 0 failed; ");
    assert!(!run.stderr.contains("replaced"), "{}", run.stderr);
}
