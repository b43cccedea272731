//! Large files through `/chunk`: parallel ranges, resume across runs, fallbacks; the real binary against
//! the test server, which answers `/chunk` as the captured real server did.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support;

use support::server::{Config, Fault, MAIN_COMMIT, MetaMode, fixture_body, hash_of};
use support::{Sandbox, TestServer, get};

/// Deterministic bytes that are not all alike, so a misplaced range shows.
fn pattern(len: usize) -> Vec<u8> {
    support::pattern(len, 0)
}

/// A server whose `main` also holds `big.bin` with `bytes`.
fn server_with_big(bytes: &[u8], config: Config) -> TestServer {
    TestServer::with(Config {
        extra_files: vec![("big.bin".to_string(), bytes.to_vec())],
        ..config
    })
}

/// The `(start, size)` of every `/chunk` request so far, in arrival order.
fn chunk_requests(server: &TestServer) -> Vec<(u64, u64)> {
    server
        .requests()
        .iter()
        .filter(|r| r.target.contains("/chunk/"))
        .map(|r| {
            let query = r.target.split_once('?').map_or("", |(_, q)| q);
            let number = |key: &str| {
                query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{key} in {}", r.target))
            };
            (number("chunk_start"), number("chunk_size"))
        })
        .collect()
}

/// Asserts that the requests cover `[0, size)` exactly once, none reaching past the end.
fn assert_exact_cover(mut ranges: Vec<(u64, u64)>, size: u64) {
    ranges.sort_unstable();
    let mut at = 0;
    for (start, len) in &ranges {
        assert_eq!(*start, at, "ranges {ranges:?}");
        assert!(*len > 0 && start + len <= size, "{start}+{len} past {size}");
        at = start + len;
    }
    assert_eq!(at, size, "ranges {ranges:?}");
}

/// `ARGS` for a ranged `get` of big.bin to out.bin, with small ranges so that small files have many.
fn ranged_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "main/big.bin",
        "-o",
        "out.bin",
        "--chunk-threshold",
        "0",
        "--chunk-size",
        "64K",
    ];
    args.extend_from_slice(extra);
    args
}

fn resume_files(sandbox: &Sandbox) -> (std::path::PathBuf, std::path::PathBuf) {
    (
        sandbox.join(".oxdl-resume-out.bin.part"),
        sandbox.join(".oxdl-resume-out.bin.state"),
    )
}

#[test]
fn the_test_server_answers_chunk_requests_as_the_real_one() {
    let source =
        std::fs::read(support::server::fixtures().join("responses/chunk-source-data.csv")).unwrap();
    let server = TestServer::with(Config {
        extra_files: vec![("chunked/data.csv".to_string(), source.clone())],
        token: Some("secret".to_string()),
        ..Config::default()
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let ask = |path_and_query: &str, token: bool| {
        let url = format!("{}/api/repos/ox/demo/chunk/{path_and_query}", server.url);
        let mut request = agent.get(&url);
        if token {
            request = request.header("Authorization", "Bearer secret");
        }
        let mut answer = request.call().unwrap();
        let length = answer
            .headers()
            .get("content-length")
            .map(|v| v.to_str().unwrap().to_string());
        let status = answer.status().as_u16();
        (status, length, answer.body_mut().read_to_vec().unwrap())
    };
    for (name, query) in [
        (
            "chunk-first-10",
            "main/chunked/data.csv?chunk_start=0&chunk_size=10",
        ),
        (
            "chunk-rest-exact",
            "main/chunked/data.csv?chunk_start=10&chunk_size=21",
        ),
        (
            "chunk-whole",
            "main/chunked/data.csv?chunk_start=0&chunk_size=31",
        ),
        (
            "chunk-one-past-end",
            "main/chunked/data.csv?chunk_start=0&chunk_size=32",
        ),
        (
            "chunk-start-at-end",
            "main/chunked/data.csv?chunk_start=31&chunk_size=1",
        ),
        ("chunk-default-size", "main/chunked/data.csv"),
        (
            "chunk-path-missing",
            "main/nope.csv?chunk_start=0&chunk_size=1",
        ),
        ("chunk-directory", "main/nested?chunk_start=0&chunk_size=1"),
        (
            "chunk-bad-start",
            "main/chunked/data.csv?chunk_start=abc&chunk_size=1",
        ),
    ] {
        let headers = std::fs::read_to_string(
            support::server::fixtures().join(format!("responses/{name}.headers")),
        )
        .unwrap();
        let status: u16 = headers.split(' ').nth(1).unwrap().parse().unwrap();
        let (got_status, length, body) = ask(query, true);
        assert_eq!(got_status, status, "{name}");
        assert_eq!(body, fixture_body(name), "{name}");
        assert!(
            headers.contains(&format!("content-length: {}\n", body.len())),
            "{name}: {length:?}"
        );
    }
    // Branch names with a slash work (this repository's feature/x has its own hello.txt).
    let (status, length, body) = ask("feature/x/hello.txt?chunk_start=0&chunk_size=5", true);
    assert_eq!((status, length.as_deref()), (200, Some("5")));
    assert_eq!(body, fixture_body("get-branch-slash")[..5]);
    let (status, _, body) = ask("main/chunked/data.csv?chunk_start=0&chunk_size=10", false);
    assert_eq!((status, body), (401, fixture_body("chunk-no-token")));
}

#[test]
fn ranges_cover_the_file_exactly_whatever_its_size() {
    // An exact multiple of the range size, one byte over, less than one range, and empty.
    for size in [4 * 65536, 4 * 65536 + 1, 1000, 0] {
        let bytes = pattern(size);
        let server = server_with_big(&bytes, Config::default());
        let sandbox = Sandbox::new();
        let run = get(&sandbox, &server, &ranged_args(&[]));
        run.expect_code(0).expect_stderr("verified");
        assert_eq!(std::fs::read(sandbox.join("out.bin")).unwrap(), bytes);
        assert_eq!(
            sandbox.files(),
            vec!["out.bin"],
            "size {size}: nothing left"
        );
        let ranges = chunk_requests(&server);
        assert_eq!(ranges.len(), size.div_ceil(65536), "size {size}");
        // So the server's 500 for a range past the end is never met.
        assert_exact_cover(ranges, size as u64);
        // The body asked for by branch beside the metadata is dropped unread once the size says
        // ranges; the single stream (the fallback without /chunk) would name the commit.
        assert!(
            !server
                .requests()
                .iter()
                .any(|r| r.target.contains(&format!("/versions/{MAIN_COMMIT}/"))),
            "no single stream"
        );
    }
}

#[test]
fn a_cut_range_is_asked_again_from_where_it_was_cut() {
    let bytes = pattern(300_000);
    // The first range cut after 100,000 bytes.
    let server = server_with_big(
        &bytes,
        Config {
            faults: vec![Fault::Cut(100_000)],
            faults_for: Some("/chunk/".to_string()),
            ..Config::default()
        },
    );
    let sandbox = Sandbox::new();
    let run = get(
        &sandbox,
        &server,
        &[
            "main/big.bin",
            "-o",
            "out.bin",
            "--chunk-threshold",
            "0",
            "--chunk-size",
            "1M",
            "--connections",
            "1",
        ],
    );
    run.expect_code(0).expect_stderr("retry 1 of");
    assert_eq!(std::fs::read(sandbox.join("out.bin")).unwrap(), bytes);
    assert_eq!(
        chunk_requests(&server),
        vec![(0, 300_000), (100_000, 200_000)]
    );
}

#[test]
fn bytes_that_do_not_match_fail_with_6_and_leave_the_older_file() {
    let bytes = pattern(200_000);
    let server = server_with_big(
        &bytes,
        Config {
            meta: MetaMode::WrongHash,
            ..Config::default()
        },
    );
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("out.bin"), b"older").unwrap();
    let run = get(&sandbox, &server, &ranged_args(&[]));
    run.expect_code(6)
        .expect_stderr("do not match the server's metadata");
    assert_eq!(std::fs::read(sandbox.join("out.bin")).unwrap(), b"older");
    assert_eq!(sandbox.files(), vec!["out.bin"], "no part or state kept");
    // Without an older file, nothing appears at all.
    std::fs::remove_file(sandbox.join("out.bin")).unwrap();
    get(&sandbox, &server, &ranged_args(&[])).expect_code(6);
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
}

/// Starts a ranged download of big.bin from a paced server, to be interrupted.
fn start_slow_download(sandbox: &Sandbox, server: &TestServer, extra: &[&str]) -> Child {
    let mut args = vec!["--host", server.url.as_str(), "get", "ox/demo"];
    args.extend([
        "main/big.bin",
        "-o",
        "out.bin",
        "--chunk-threshold",
        "0",
        "--chunk-size",
        "256K",
        "--connections",
        "4",
    ]);
    args.extend_from_slice(extra);
    sandbox
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The bytes a state file says are done.
fn done_in_state(state: &Path) -> u64 {
    let Ok(text) = std::fs::read(state) else {
        return 0;
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&text) else {
        return 0;
    };
    json["done"]
        .as_array()
        .map(|pairs| {
            pairs
                .iter()
                .map(|p| p[1].as_u64().unwrap() - p[0].as_u64().unwrap())
                .sum()
        })
        .unwrap_or(0)
}

/// Waits until the state file records at least `bytes`.
fn wait_for_progress(state: &Path, bytes: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while done_in_state(state) < bytes {
        assert!(Instant::now() < deadline, "no progress recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server pacing each connection to 1 MB/s, serving 4 MiB: about a second with 4 connections.
fn slow_server(bytes: &[u8]) -> TestServer {
    server_with_big(
        bytes,
        Config {
            rate: Some(1_000_000),
            ..Config::default()
        },
    )
}

#[test]
fn a_run_killed_outright_is_resumed_where_it_stopped() {
    let bytes = pattern(4 << 20);
    let server = slow_server(&bytes);
    let sandbox = Sandbox::new();
    let (part, state) = resume_files(&sandbox);
    let mut child = start_slow_download(&sandbox, &server, &[]);
    wait_for_progress(&state, 1 << 20);
    child.kill().unwrap();
    child.wait().unwrap();
    let saved = done_in_state(&state);
    assert!(part.exists() && saved >= 1 << 20);
    assert!(!sandbox.join("out.bin").exists());
    let before = chunk_requests(&server).len();

    let run = get(&sandbox, &server, &ranged_args(&[]));
    run.expect_code(0).expect_stderr("resuming out.bin");
    assert_eq!(std::fs::read(sandbox.join("out.bin")).unwrap(), bytes);
    assert_eq!(sandbox.files(), vec!["out.bin"], "part and state are gone");
    // The rerun asks only for what the state did not have.
    let asked: u64 = chunk_requests(&server)[before..]
        .iter()
        .map(|(_, len)| len)
        .sum();
    assert_eq!(asked, bytes.len() as u64 - saved, "saved {saved}");
}

#[test]
fn ctrl_c_keeps_the_part_and_says_so_and_no_resume_starts_over() {
    let bytes = pattern(4 << 20);
    let server = slow_server(&bytes);
    let sandbox = Sandbox::new();
    let (part, state) = resume_files(&sandbox);
    let child = start_slow_download(&sandbox, &server, &[]);
    wait_for_progress(&state, 512 << 10);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("kept so that the same command resumes")
            && stderr.contains(".oxdl-resume-out.bin.part"),
        "{stderr}"
    );
    assert!(part.exists() && state.exists());
    assert!(done_in_state(&state) >= 512 << 10);

    // --no-resume throws that away and fetches every byte again.
    let before = chunk_requests(&server).len();
    let run = get(&sandbox, &server, &ranged_args(&["--no-resume"]));
    run.expect_code(0);
    assert!(!run.stderr.contains("resuming"), "{}", run.stderr);
    assert_eq!(std::fs::read(sandbox.join("out.bin")).unwrap(), bytes);
    assert_exact_cover(
        chunk_requests(&server)[before..].to_vec(),
        bytes.len() as u64,
    );
    assert_eq!(sandbox.files(), vec!["out.bin"]);
}

#[test]
fn a_state_for_other_content_or_a_damaged_one_is_discarded() {
    let bytes = pattern(300_000);
    let server = server_with_big(&bytes, Config::default());
    let other = serde_json::json!({
        "oxdl_resume": 1, "commit": MAIN_COMMIT, "resource": format!("{MAIN_COMMIT}/big.bin"),
        "hash": hash_of(b"other content"), "size": 300_000, "done": [[0, 300_000]],
    });
    for (state_text, why) in [
        (other.to_string(), "it was for other content"),
        (
            "{\"oxdl_resume\": 1, \"done\": [[".to_string(),
            "its state file is damaged",
        ),
    ] {
        let sandbox = Sandbox::new();
        let (part, state) = resume_files(&sandbox);
        // A part full of other bytes: were it trusted, the file would be wrong.
        std::fs::write(&part, vec![0xAA; 300_000]).unwrap();
        std::fs::write(&state, state_text).unwrap();
        let run = get(&sandbox, &server, &ranged_args(&[]));
        run.expect_code(0).expect_stderr(&format!(
            "discarded an unfinished download of out.bin: {why}"
        ));
        assert_eq!(std::fs::read(sandbox.join("out.bin")).unwrap(), bytes);
        assert_eq!(sandbox.files(), vec!["out.bin"]);
    }
}

#[test]
fn a_resumed_part_that_does_not_check_out_is_fetched_again_from_the_start() {
    let bytes = pattern(300_000);
    let server = server_with_big(&bytes, Config::default());
    let sandbox = Sandbox::new();
    let (part, state) = resume_files(&sandbox);
    // The right content named, but the bytes on disk damaged (as after a power cut).
    std::fs::write(&part, vec![0xAA; 300_000]).unwrap();
    let claim = serde_json::json!({
        "oxdl_resume": 1, "commit": MAIN_COMMIT, "resource": format!("{MAIN_COMMIT}/big.bin"),
        "hash": hash_of(&bytes), "size": 300_000, "done": [[0, 100_000]],
    });
    std::fs::write(&state, claim.to_string()).unwrap();
    let run = get(&sandbox, &server, &ranged_args(&[]));
    run.expect_code(0)
        .expect_stderr("resuming out.bin: 100000 of 300000 bytes")
        .expect_stderr("again from the start");
    assert_eq!(std::fs::read(sandbox.join("out.bin")).unwrap(), bytes);
    assert_eq!(sandbox.files(), vec!["out.bin"]);
}

#[test]
fn without_the_chunk_route_the_file_comes_in_one_stream() {
    let bytes = pattern(300_000);
    let server = server_with_big(
        &bytes,
        Config {
            chunk_route: false,
            ..Config::default()
        },
    );
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &ranged_args(&[]));
    run.expect_code(0)
        .expect_stderr("does not serve byte ranges (/chunk); downloading in one stream")
        .expect_stderr("verified");
    assert_eq!(std::fs::read(sandbox.join("out.bin")).unwrap(), bytes);
    assert_eq!(sandbox.files(), vec!["out.bin"], "no part or state left");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.target == format!("/api/repos/ox/demo/versions/{MAIN_COMMIT}/big.bin"))
    );
}

#[test]
fn small_files_resized_images_and_streams_take_one_stream() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    // Below the default threshold.
    get(&sandbox, &server, &["main/hello.txt"]).expect_code(0);
    // Resized: not the stored bytes, so not ranges of them.
    get(
        &sandbox,
        &server,
        &[
            "main/images/gradient.png",
            "--width",
            "16",
            "--chunk-threshold",
            "0",
        ],
    )
    .expect_code(0);
    // Stdout cannot take positioned writes.
    let run = get(
        &sandbox,
        &server,
        &["main/data.csv", "-o", "-", "--chunk-threshold", "0"],
    );
    run.expect_code(0);
    assert_eq!(run.stdout, support::repo_file("data.csv"));
    assert!(chunk_requests(&server).is_empty());
}

#[test]
fn the_token_goes_with_every_range_request() {
    let bytes = pattern(300_000);
    let server = server_with_big(
        &bytes,
        Config {
            token: Some("sekrit".to_string()),
            ..Config::default()
        },
    );
    let sandbox = Sandbox::new();
    let mut args = vec!["--token", "sekrit"];
    args.extend(ranged_args(&[]));
    get(&sandbox, &server, &args).expect_code(0);
    let chunks: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.target.contains("/chunk/"))
        .collect();
    assert_eq!(chunks.len(), 5);
    for request in chunks {
        assert_eq!(request.header("authorization"), Some("Bearer sekrit"));
    }
}

#[test]
fn one_progress_count_for_all_connections() {
    let bytes = pattern(1 << 20);
    let server = server_with_big(&bytes, Config::default());
    let sandbox = Sandbox::new();
    let mut args = vec!["--progress", "plain"];
    args.extend(ranged_args(&[]));
    let run = get(&sandbox, &server, &args);
    run.expect_code(0)
        .expect_stderr("oxdl: progress: 1.00 MiB of 1.00 MiB");
    // Resumed bytes count toward the total too.
    let (part, state) = resume_files(&sandbox);
    std::fs::write(&part, &bytes).unwrap();
    let claim = serde_json::json!({
        "oxdl_resume": 1, "commit": MAIN_COMMIT, "resource": format!("{MAIN_COMMIT}/big.bin"),
        "hash": hash_of(&bytes), "size": bytes.len(), "done": [[0, 524288]],
    });
    std::fs::write(&state, claim.to_string()).unwrap();
    let run = get(&sandbox, &server, &args);
    run.expect_code(0)
        .expect_stderr("oxdl: progress: 1.00 MiB of 1.00 MiB")
        .expect_stderr("524288 bytes resumed");
}

#[test]
fn the_json_report_and_checksums_of_a_ranged_download() {
    let bytes = pattern(300_000);
    let server = server_with_big(&bytes, Config::default());
    let sandbox = Sandbox::new();
    let mut args = vec!["--json", "--checksums", "sums.txt"];
    args.extend(ranged_args(&[]));
    let run = get(&sandbox, &server, &args);
    run.expect_code(0);
    let stdout = String::from_utf8(run.stdout.clone()).unwrap();
    assert!(
        stdout.contains(&format!("\"hash\":\"{}\"", hash_of(&bytes))),
        "{stdout}"
    );
    let sums = std::fs::read_to_string(sandbox.join("sums.txt")).unwrap();
    let sha = sha2_hex(&bytes);
    assert_eq!(sums, format!("{sha}  out.bin\n"));
}

fn sha2_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_fresh_resumable_part_survives_another_run_in_its_directory() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let (part, state) = resume_files(&sandbox);
    std::fs::write(&part, b"partial").unwrap();
    std::fs::write(&state, b"{}").unwrap();
    let old_part = sandbox.join(".oxdl-resume-old.bin.part");
    let old_state = sandbox.join(".oxdl-resume-old.bin.state");
    for old in [&old_part, &old_state] {
        let file = std::fs::File::create(old).unwrap();
        file.set_modified(std::time::SystemTime::now() - Duration::from_secs(8 * 24 * 3600))
            .unwrap();
    }
    // A ranged download in the directory sweeps it (a single-stream one too, through its temp file).
    get(&sandbox, &server, &["main/hello.txt"]).expect_code(0);
    assert!(
        part.exists() && state.exists(),
        "fresh: kept for the next run"
    );
    assert!(
        !old_part.exists() && !old_state.exists(),
        "a week old: swept"
    );
}

#[test]
fn a_server_on_this_machine_gets_one_stream_unless_ranges_are_asked_for() {
    // 17 MiB: above the 16 MiB default threshold that applies to servers elsewhere.
    let bytes = pattern(17 << 20);
    let server = server_with_big(&bytes, Config::default());
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/big.bin", "-o", "one.bin"]).expect_code(0);
    assert!(
        chunk_requests(&server).is_empty(),
        "loopback: one stream by default"
    );
    assert_eq!(std::fs::read(sandbox.join("one.bin")).unwrap(), bytes);
    get(
        &sandbox,
        &server,
        &[
            "main/big.bin",
            "-o",
            "ranged.bin",
            "--chunk-threshold",
            "16M",
        ],
    )
    .expect_code(0);
    assert_eq!(chunk_requests(&server).len(), 3, "8 + 8 + 1 MiB");
    assert_eq!(std::fs::read(sandbox.join("ranged.bin")).unwrap(), bytes);
}

/// The `[start, end)` intervals a state file names, if it parses.
fn intervals_in_state(state: &Path) -> Vec<(u64, u64)> {
    let Ok(text) = std::fs::read(state) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    json["done"]
        .as_array()
        .map(|pairs| {
            pairs
                .iter()
                .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

/// The ranges of `chunk` bytes of a file of `size` that `intervals` cover whole, by start.
fn whole_ranges(intervals: &[(u64, u64)], chunk: u64, size: u64) -> Vec<u64> {
    (0..size.div_ceil(chunk))
        .map(|k| k * chunk)
        .filter(|&start| {
            let end = (start + chunk).min(size);
            intervals.iter().any(|&(a, b)| a <= start && end <= b)
        })
        .collect()
}

/// The ranges of `chunk` bytes whose last bytes are in the part file already (a range is written in
/// order, so its last bytes there mean all of it is), by start.
fn ranges_in_part(part: &Path, bytes: &[u8], chunk: usize) -> Vec<usize> {
    let Ok(on_disk) = std::fs::read(part) else {
        return Vec::new();
    };
    if on_disk.len() != bytes.len() {
        return Vec::new();
    }
    (0..bytes.len().div_ceil(chunk))
        .map(|k| k * chunk)
        .filter(|&start| {
            let end = (start + chunk).min(bytes.len());
            on_disk[end - 16..end] == bytes[end - 16..end]
        })
        .collect()
}

#[test]
fn a_run_killed_in_its_first_half_second_keeps_the_ranges_it_finished() {
    // 32 ranges of 64 KiB, two connections, each paced to 512 kB/s: a range is in after about 100 ms
    // (its first 16 KiB at once, the rest in three more slices 32 ms apart), the whole file after about
    // 2 s. The kill comes in the first half second, before any timed save, with most ranges to come.
    const CHUNK: usize = 64 << 10;
    let bytes = pattern(2 << 20);
    let size = bytes.len() as u64;
    let paced = server_with_big(
        &bytes,
        Config {
            rate: Some(512_000),
            ..Config::default()
        },
    );
    let args = ranged_args(&["--connections", "2"]);
    // A machine too busy to finish a range within the half second makes an attempt say nothing: it is
    // made again, and only a range seen finished long before the kill, yet not named, fails the test.
    for attempt in 1..=5 {
        let sandbox = Sandbox::new();
        let (part, state) = resume_files(&sandbox);
        let started = Instant::now();
        let mut command = vec!["--host", paced.url.as_str(), "get", "ox/demo"];
        command.extend(&args);
        let mut child = sandbox
            .command(&command)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first_seen: Option<Instant> = None;
        loop {
            if !whole_ranges(&intervals_in_state(&state), CHUNK as u64, size).is_empty() {
                break;
            }
            if first_seen.is_none() && !ranges_in_part(&part, &bytes, CHUNK).is_empty() {
                first_seen = Some(Instant::now());
            }
            let waited = first_seen.is_some_and(|t| t.elapsed() >= Duration::from_millis(150));
            if waited || started.elapsed() >= Duration::from_millis(450) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap();
        let killed_at = started.elapsed();
        child.wait().unwrap();
        let saved = intervals_in_state(&state);
        let named = whole_ranges(&saved, CHUNK as u64, size);
        let in_part = ranges_in_part(&part, &bytes, CHUNK);
        if named.is_empty() {
            let unnamed_for = first_seen.map(|t| t.elapsed());
            let long_enough = unnamed_for.is_some_and(|d| d >= Duration::from_millis(100));
            assert!(
                !long_enough || killed_at >= Duration::from_millis(500),
                "attempt {attempt}: {} range(s) were in the part file, the first seen {:?} before \
                 the kill at {killed_at:?}, but the state names none: {saved:?}",
                in_part.len(),
                unnamed_for.unwrap(),
            );
            eprintln!("attempt {attempt}: no range finished in time (killed at {killed_at:?})");
            continue;
        }
        // Killed while most ranges were still to come.
        assert!(named.len() < 16, "named {named:?}");
        // Whatever the state names is in the part file, byte for byte.
        let on_disk = std::fs::read(&part).unwrap();
        for &(start, end) in &saved {
            let (start, end) = (start as usize, end as usize);
            assert!(on_disk[start..end] == bytes[start..end], "{start}..{end}");
        }
        assert!(!sandbox.join("out.bin").exists());

        // The rerun (from a server that does not pace) asks for what the state did not name, only.
        let fast = server_with_big(&bytes, Config::default());
        let rerun = get(&sandbox, &fast, &args);
        let kept: u64 = saved.iter().map(|(a, b)| b - a).sum();
        rerun
            .expect_code(0)
            .expect_stderr(&format!("resuming out.bin: {kept} of {size} bytes"));
        assert_eq!(std::fs::read(sandbox.join("out.bin")).unwrap(), bytes);
        assert_eq!(sandbox.files(), vec!["out.bin"]);
        let asked = chunk_requests(&fast);
        for &(start, len) in &asked {
            assert!(
                saved.iter().all(|&(a, b)| start + len <= a || b <= start),
                "asked {start}+{len} again, though the state named {saved:?}"
            );
        }
        assert_eq!(asked.iter().map(|(_, len)| len).sum::<u64>(), size - kept);
        return;
    }
    panic!("no attempt finished a range within its first half second");
}
