//! `oxdl get -r`: a directory tree at one commit, against the test server, with the real binary.

use std::time::Duration;

use crate::support::server::{Config, FEATURE_COMMIT, Fault, MAIN_COMMIT, fixture_body, hash_of};
use crate::support::{Sandbox, TestServer, get, pattern, repo_file};

/// The files of the captured repository under `dir`, relative to it, sorted.
fn captured_under(dir: &str) -> Vec<String> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut files: Vec<String> =
        std::fs::read_to_string(crate::support::server::fixtures().join("hashes-with-paths.txt"))
            .unwrap()
            .lines()
            .filter_map(|line| line.split_once(' ').map(|(_, path)| path.to_string()))
            .filter_map(|path| path.strip_prefix(&prefix).map(str::to_string))
            .collect();
    files.sort();
    files
}

/// Every file below `dir` of the sandbox, relative to it.
fn files_under(sandbox: &Sandbox, dir: &str) -> Vec<String> {
    sandbox
        .files()
        .into_iter()
        .filter_map(|f| f.strip_prefix(&format!("{dir}/")).map(str::to_string))
        .collect()
}

fn batch_requests(server: &TestServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "QUERY" || r.method == "POST")
        .count()
}

#[test]
fn get_r_downloads_the_tree_into_the_directorys_name() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/nested", "-r"]);
    run.expect_code(0)
        .expect_stderr(&format!("main/nested: revision {MAIN_COMMIT}, into nested"))
        .expect_stderr("5 fetched, 0 skipped, 0 missing, 0 failed");
    assert_eq!(files_under(&sandbox, "nested"), captured_under("nested"));
    for rel in captured_under("nested") {
        assert_eq!(
            std::fs::read(sandbox.join(&format!("nested/{rel}"))).unwrap(),
            repo_file(&format!("nested/{rel}")),
            "{rel}"
        );
    }
    // -o names the directory.
    get(
        &sandbox,
        &server,
        &["main/nested/deeper", "-r", "-o", "elsewhere/d"],
    )
    .expect_code(0);
    assert_eq!(
        files_under(&sandbox, "elsewhere/d"),
        vec!["b.json", "c.txt"]
    );
}

#[test]
fn get_r_of_a_whole_revision_writes_into_the_repositorys_name() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main", "-r"]).expect_code(0);
    assert_eq!(files_under(&sandbox, "demo"), captured_under(""));
    // A branch with a slash, and a trailing slash, are the whole revision too.
    let other = Sandbox::new();
    get(&other, &server, &["feature/x/", "-r"])
        .expect_code(0)
        .expect_stderr(&format!("revision {FEATURE_COMMIT}"));
    assert_eq!(
        std::fs::read(other.join("demo/hello.txt")).unwrap(),
        fixture_body("get-branch-slash")
    );
}

#[test]
fn get_r_names_the_branch_in_exactly_one_request() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["feature/x", "-r", "--json"]).expect_code(0);
    let requests = server.requests();
    let naming_branch: Vec<&str> = requests
        .iter()
        .map(|r| r.target.as_str())
        .filter(|t| t.contains("feature/x") || t.contains("feature%2Fx"))
        .collect();
    assert_eq!(naming_branch.len(), 1, "{naming_branch:?}");
    let dirs: Vec<&str> = requests
        .iter()
        .map(|r| r.target.as_str())
        .filter(|t| t.contains("/dir/"))
        .collect();
    assert!(dirs.len() >= 3, "root, nested, nested/deeper...: {dirs:?}");
    for later in &dirs[1..] {
        assert!(later.contains(FEATURE_COMMIT), "{later}");
    }
}

#[test]
fn get_r_filters_by_glob() {
    let server = TestServer::start();
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--include", "**/*.txt"],
            &["a.txt", "deeper/c.txt", "empty.txt", "with space.txt"],
        ),
        (
            &["--exclude", "deeper/**"],
            &["a.txt", "empty.txt", "with space.txt"],
        ),
        // A leading slash anchors: '*.txt' alone would match at any depth (tests/it/filters.rs).
        (
            &["--include", "**/*.txt", "--exclude", "/*.txt"],
            &["deeper/c.txt"],
        ),
        (&["--include", "/*.json"], &[]),
    ];
    for (filters, expected) in cases {
        let sandbox = Sandbox::new();
        let mut args = vec!["main/nested", "-r"];
        args.extend_from_slice(filters);
        let before = server.requests().len();
        get(&sandbox, &server, &args).expect_code(0);
        assert_eq!(files_under(&sandbox, "nested"), expected, "{filters:?}");
        // A directory excluded whole is not even listed, nor one no include can reach into.
        let listed_deeper = server.requests()[before..]
            .iter()
            .any(|r| r.target.contains("/dir/") && r.target.contains("deeper"));
        assert_eq!(
            listed_deeper,
            filters != ["--exclude", "deeper/**"] && filters != ["--include", "/*.json"],
            "{filters:?}"
        );
    }
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/nested", "-r", "--include", "a["])
        .expect_code(2)
        .expect_stderr("--include 'a['");
    get(&sandbox, &server, &["main/hello.txt", "--include", "*"])
        .expect_code(2)
        .expect_stderr("add -r");
}

#[test]
fn get_r_starts_downloading_while_the_listing_goes_on() {
    let many: Vec<(String, Vec<u8>)> = (0..400)
        .map(|i| {
            (
                format!("many/d{:02}/f{i:03}.txt", i / 10),
                format!("file {i}\n").into_bytes(),
            )
        })
        .collect();
    // Every listing after the root's and one directory's waits for a batch request: a walk that
    // downloads only once it has listed everything would hold them all until the limit.
    let server = TestServer::with(Config {
        extra_files: many,
        hold_listings_after: Some(2),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    get(
        &sandbox,
        &server,
        &["main/many", "-r", "--batch-size", "10", "-j", "1"],
    )
    .expect_code(0);
    assert_eq!(files_under(&sandbox, "many").len(), 400);
    assert_eq!(
        server.listings_held_to_the_limit(),
        0,
        "listings waited for a batch request that came only after the listing"
    );
}

#[test]
fn get_r_dry_run_and_rerun_send_no_download_request() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/nested", "-r", "--dry-run"]);
    run.expect_code(0)
        .expect_stderr("dry run: 5 file(s) to fetch (67 bytes known), 0 already in place");
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(
        text.lines().any(|l| l
            == format!(
                "{} \"with space.txt\" 30",
                hash_of(&repo_file("nested/with space.txt"))
            )
            || l == format!(
                "{} with space.txt 30",
                hash_of(&repo_file("nested/with space.txt"))
            )),
        "{text}"
    );
    assert_eq!(text.lines().count(), 5, "{text}");
    assert_eq!(batch_requests(&server), 0);
    assert!(sandbox.files().is_empty(), "a dry run writes nothing");

    get(&sandbox, &server, &["main/nested", "-r"]).expect_code(0);
    let before = batch_requests(&server);
    get(&sandbox, &server, &["main/nested", "-r"])
        .expect_code(0)
        .expect_stderr("0 fetched, 5 skipped");
    assert_eq!(batch_requests(&server), before, "a rerun fetches nothing");

    let run = get(
        &sandbox,
        &server,
        &["main/nested", "-r", "--dry-run", "--json"],
    );
    run.expect_code(0);
    let lines: Vec<serde_json::Value> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines[..5].iter().all(|l| l["status"] == "skipped"));
    assert_eq!(lines[5]["summary"]["dry_run"], true);
    assert_eq!(lines[5]["summary"]["files"], 0);
    assert_eq!(lines[5]["summary"]["revision"], MAIN_COMMIT);
}

#[test]
fn get_r_json_reports_each_file_and_the_revision() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/nested/deeper", "-r", "--json"]);
    run.expect_code(0);
    let lines: Vec<serde_json::Value> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[..2].iter().all(|l| l["status"] == "fetched"));
    assert_eq!(lines[2]["summary"]["fetched"], 2);
    assert_eq!(lines[2]["summary"]["revision"], MAIN_COMMIT);
}

#[test]
fn get_r_size_check_uses_the_listed_sizes() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.join("deeper")).unwrap();
    // Same size as the real file (12 bytes), other content: trusted by size.
    std::fs::write(sandbox.join("deeper/c.txt"), b"twelve bytes").unwrap();
    // Other size: fetched again.
    std::fs::write(sandbox.join("deeper/b.json"), b"{}").unwrap();
    get(
        &sandbox,
        &server,
        &["main/nested/deeper", "-r", "--skip-existing", "size"],
    )
    .expect_code(0)
    .expect_stderr("1 fetched, 1 skipped");
    assert_eq!(
        std::fs::read(sandbox.join("deeper/c.txt")).unwrap(),
        b"twelve bytes"
    );
    assert_eq!(
        std::fs::read(sandbox.join("deeper/b.json")).unwrap(),
        repo_file("nested/deeper/b.json")
    );
}

#[test]
fn get_on_a_directory_without_r_hints_at_it() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/nested"])
        .expect_code(3)
        .expect_stderr("add -r to download the tree");
    get(&sandbox, &server, &["main/hello.txt", "-r"])
        .expect_code(2)
        .expect_stderr("is a file, not a directory: drop -r");
    get(&sandbox, &server, &["main/nested", "-r", "-o", "-"]).expect_code(2);
    assert!(sandbox.files().is_empty());
    // After a tree download, the directory exists here: the same hint, not "cannot write".
    get(&sandbox, &server, &["main/nested", "-r"]).expect_code(0);
    get(&sandbox, &server, &["main/nested"])
        .expect_code(2)
        .expect_stderr("add -r");
}

/// 240 small files under `many/`, for splitting.
fn many() -> Vec<(String, Vec<u8>)> {
    (0..240)
        .map(|i| {
            (
                format!("many/f{i:03}.txt"),
                format!("file {i}\n").into_bytes(),
            )
        })
        .collect()
}

/// Runs `shards` shards of the same download, each into its own directory; the files each got.
fn split(
    run_shard: impl Fn(&Sandbox, &str) -> crate::support::Run,
    shards: u64,
) -> Vec<Vec<String>> {
    (0..shards)
        .map(|k| {
            let sandbox = Sandbox::new();
            run_shard(&sandbox, &format!("{k}/{shards}")).expect_code(0);
            let mut files = sandbox.files();
            files.sort();
            files
        })
        .collect()
}

fn assert_disjoint_complete_balanced(parts: &[Vec<String>], all: &[String]) {
    let mut union: Vec<String> = parts.iter().flatten().cloned().collect();
    union.sort();
    let total = union.len();
    union.dedup();
    assert_eq!(union.len(), total, "shards are disjoint");
    let mut all = all.to_vec();
    all.sort();
    assert_eq!(union, all, "shards together make the whole");
    let fair = all.len() / parts.len();
    for part in parts {
        assert!(
            part.len() * 4 >= fair * 3 && part.len() * 4 <= fair * 5,
            "balanced: {} files against {fair} each",
            part.len()
        );
    }
}

#[test]
fn shards_of_a_tree_are_disjoint_complete_and_balanced() {
    let server = TestServer::with(Config {
        extra_files: many(),
        ..Config::default()
    });
    let parts = split(
        |sandbox, shard| get(sandbox, &server, &["main/many", "-r", "--shard", shard]),
        3,
    );
    let all: Vec<String> = many().into_iter().map(|(p, _)| p).collect();
    assert_disjoint_complete_balanced(&parts, &all);
}

#[test]
fn shards_of_a_batch_list_are_disjoint_complete_and_balanced() {
    let server = TestServer::with(Config {
        extra_files: many(),
        ..Config::default()
    });
    let list: String = many()
        .iter()
        .map(|(path, bytes)| format!("{} {path}\n", hash_of(bytes)))
        .collect();
    // The order of the list does not matter: a shard is chosen by hash.
    let reversed: String = list.lines().rev().map(|l| format!("{l}\n")).collect();
    for text in [&list, &reversed] {
        let parts = split(
            |sandbox, shard| crate::support::batch(sandbox, &server, &["--shard", shard], text),
            4,
        );
        let all: Vec<String> = many().into_iter().map(|(p, _)| p).collect();
        assert_disjoint_complete_balanced(&parts, &all);
    }
    let sandbox = Sandbox::new();
    crate::support::batch(&sandbox, &server, &["--shard", "4/4"], &list)
        .expect_code(2)
        .expect_stderr("0 <= K < N");
}

#[test]
fn get_r_dry_run_lists_every_destination_even_of_repeated_content() {
    // Three files with one content, seen in three listing pages' worth of requests.
    let same = b"same bytes\n".to_vec();
    let server = TestServer::with(Config {
        extra_files: vec![
            ("dup/a.txt".to_string(), same.clone()),
            ("dup/b.txt".to_string(), same.clone()),
            ("dup/c.txt".to_string(), b"other\n".to_vec()),
        ],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let run = get(
        &sandbox,
        &server,
        &["main/dup", "-r", "--dry-run", "--batch-size", "1"],
    );
    run.expect_code(0)
        .expect_stderr("dry run: 3 file(s) to fetch (28 bytes known)");
    assert_eq!(String::from_utf8(run.stdout).unwrap().lines().count(), 3);
    // And for real: every destination is counted and reported.
    let run = get(
        &sandbox,
        &server,
        &["main/dup", "-r", "--json", "--batch-size", "1"],
    );
    run.expect_code(0).expect_stderr("3 fetched, 0 skipped");
    let text = String::from_utf8(run.stdout).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.lines().last().unwrap().contains("\"fetched\":3"),
        "{text}"
    );
    assert_eq!(std::fs::read(sandbox.join("dup/b.txt")).unwrap(), same);
}

/// `get main/big -r ARGS`, with ranges for files of 100 KiB and more, 64 KiB each.
fn get_large(sandbox: &Sandbox, server: &TestServer, args: &[&str]) -> crate::support::Run {
    let mut all = vec![
        "main/big",
        "-r",
        "--chunk-threshold",
        "100K",
        "--chunk-size",
        "64K",
    ];
    all.extend_from_slice(args);
    get(sandbox, server, &all)
}

/// A server whose `main` also holds two large files under `big/` (one of them twice) and a small one.
fn server_with_large_files(chunk_route: bool) -> (TestServer, Vec<(&'static str, Vec<u8>)>) {
    let large = vec![
        ("big/a.bin", pattern(300_000, 1)),
        ("big/b.bin", pattern(200_001, 2)),
        ("big/copy-of-a.bin", pattern(300_000, 1)),
        ("big/small.txt", b"small\n".to_vec()),
    ];
    let server = TestServer::with(Config {
        extra_files: large
            .iter()
            .map(|(path, bytes)| (path.to_string(), bytes.clone()))
            .collect(),
        chunk_route,
        ..Config::default()
    });
    (server, large)
}

#[test]
fn get_r_fetches_large_files_by_ranges_and_the_rest_in_batch_requests() {
    let (server, files) = server_with_large_files(true);
    let sandbox = Sandbox::new();
    let run = get_large(
        &sandbox,
        &server,
        &["--json", "--connections", "3", "-j", "2"],
    );
    run.expect_code(0);
    for (path, bytes) in &files {
        let rel = path.strip_prefix("big/").unwrap();
        assert_eq!(
            &std::fs::read(sandbox.join(&format!("big/{rel}"))).unwrap(),
            bytes,
            "{path}"
        );
    }
    assert!(
        files_under(&sandbox, "big")
            .iter()
            .all(|f| !f.contains(".oxdl-")),
        "no part or state file stays: {:?}",
        sandbox.files()
    );
    // Each large content once, by ranges of its path at the listed commit, covering it exactly.
    let requests = server.requests();
    let chunks: Vec<&str> = requests
        .iter()
        .map(|r| r.target.as_str())
        .filter(|t| t.contains("/chunk/"))
        .collect();
    let a = chunks
        .iter()
        .filter(|t| t.contains(&format!("/chunk/{MAIN_COMMIT}/big/a.bin?")))
        .count();
    let b = chunks
        .iter()
        .filter(|t| t.contains(&format!("/chunk/{MAIN_COMMIT}/big/b.bin?")))
        .count();
    assert_eq!((a, b, chunks.len()), (5, 4, 9), "{chunks:#?}");
    // The small file came in a batch request, without the large ones.
    let asked: Vec<String> = requests
        .iter()
        .filter(|r| r.method == "QUERY" || r.method == "POST")
        .flat_map(|r| r.batch_hashes())
        .collect();
    assert_eq!(asked, vec![hash_of(b"small\n")]);
    let statuses: Vec<String> = crate::support::json_lines(&run.stdout)
        .iter()
        .filter_map(|l| l["status"].as_str().map(str::to_string))
        .collect();
    assert_eq!(statuses, vec!["fetched"; 4]);
}

#[test]
fn get_r_without_the_chunk_route_fetches_large_files_in_batch_requests() {
    let (server, files) = server_with_large_files(false);
    let sandbox = Sandbox::new();
    get_large(&sandbox, &server, &["-j", "1", "--connections", "1"]).expect_code(0);
    for (path, bytes) in &files {
        assert_eq!(&std::fs::read(sandbox.join(path)).unwrap(), bytes, "{path}");
    }
    assert_eq!(files_under(&sandbox, "big").len(), 4);
    // One probe of the route, then every large content in a batch request.
    let requests = server.requests();
    let probes = requests
        .iter()
        .filter(|r| r.target.contains("/chunk/"))
        .count();
    assert_eq!(probes, 1);
    let asked: Vec<String> = requests
        .iter()
        .filter(|r| r.method == "QUERY" || r.method == "POST")
        .flat_map(|r| r.batch_hashes())
        .collect();
    for (path, bytes) in &files[..2] {
        assert!(asked.contains(&hash_of(bytes)), "{path} in a batch request");
    }
}

#[test]
fn get_r_a_large_file_the_ranges_cannot_find_does_not_stop_the_run() {
    // The first range request is answered as a server that lost the content answers; the run asks for
    // the file in a batch request instead (which would list it as missing), and goes on.
    let lost = br#"{"error":{"type":"version_blob_missing","title":"Version blob missing"},"status":"error","status_message":"internal_server_error"}"#;
    let server = TestServer::with(Config {
        extra_files: vec![
            ("big/a.bin".to_string(), pattern(300_000, 1)),
            ("big/s.txt".to_string(), b"s\n".to_vec()),
        ],
        faults: vec![Fault::Status {
            status: 500,
            retry_after: None,
            body: lost.to_vec(),
        }],
        faults_for: Some("/chunk/".to_string()),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    get_large(&sandbox, &server, &["-j", "1", "--connections", "1"])
        .expect_code(0)
        .expect_stderr("2 fetched, 0 skipped, 0 missing, 0 failed");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.target.contains("/chunk/"))
    );
    assert_eq!(
        std::fs::read(sandbox.join("big/a.bin")).unwrap(),
        pattern(300_000, 1)
    );
    assert_eq!(
        files_under(&sandbox, "big"),
        vec!["a.bin", "s.txt"],
        "no part left"
    );
}

#[test]
fn get_r_never_writes_through_a_link_planted_at_a_part_files_name() {
    let server = TestServer::with(Config {
        extra_files: vec![("big/a.bin".to_string(), pattern(300_000, 1))],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.join("big")).unwrap();
    std::fs::write(sandbox.join("outside.txt"), b"precious").unwrap();
    std::os::unix::fs::symlink(
        "../outside.txt",
        sandbox.join("big/.oxdl-resume-a.bin.part"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../outside.txt",
        sandbox.join("big/.oxdl-resume-a.bin.state.new"),
    )
    .unwrap();
    get_large(&sandbox, &server, &[]).expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("outside.txt")).unwrap(),
        b"precious"
    );
    let published = std::fs::symlink_metadata(sandbox.join("big/a.bin")).unwrap();
    assert!(published.is_file());
    assert_eq!(
        std::fs::read(sandbox.join("big/a.bin")).unwrap(),
        pattern(300_000, 1)
    );
}

#[test]
fn get_r_keeps_every_connection_within_one_budget() {
    // Two large files (by ranges, up to --connections each) and small ones (batch requests, one
    // connection each), with bodies paced so that transfers overlap. Without a shared budget two
    // workers would open 3 + 3 range connections at once.
    let mut extra = vec![
        ("big/a.bin".to_string(), pattern(400_000, 3)),
        ("big/b.bin".to_string(), pattern(400_000, 4)),
    ];
    for i in 0..6 {
        extra.push((
            format!("big/small-{i}.txt"),
            format!("small {i}\n").into_bytes(),
        ));
    }
    let server = TestServer::with(Config {
        extra_files: extra.clone(),
        rate: Some(2_000_000),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    get_large(
        &sandbox,
        &server,
        &["--connections", "3", "-j", "2", "--batch-size", "1"],
    )
    .expect_code(0);
    for (path, bytes) in &extra {
        assert_eq!(&std::fs::read(sandbox.join(path)).unwrap(), bytes, "{path}");
    }
    // The budget is max(-j, --connections) = 3; the listing is outside it (this tree is one page), and
    // an answer whose last byte the client has read may not yet be counted as done on the server's side
    // when the next request arrives. Requests in flight, not connections open: kept-alive connections
    // idle in the client's pool are not busy. Without the budget, this run had 7 connections open at once
    // (counted by hand).
    let most = server.max_in_flight();
    assert!((2..=5).contains(&most), "{most} requests in flight at once");
}

#[test]
fn get_r_lists_many_directories_at_once() {
    // Twenty directories, each listing answered late: one listing at a time would keep one connection
    // busy; listings in parallel overlap.
    let files: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("wide/d{i:02}/f.txt"), format!("{i}\n").into_bytes()))
        .collect();
    let server = TestServer::with(Config {
        extra_files: files,
        dir_delay: Some(Duration::from_millis(500)),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/wide", "-r", "--dry-run"])
        .expect_code(0)
        .expect_stderr("dry run: 20 file(s) to fetch");
    let listings = server
        .requests()
        .iter()
        .filter(|r| r.target.contains("/dir/"))
        .count();
    assert_eq!(listings, 21, "the root and each directory, once");
    // A dry run sends nothing but listings.
    assert!(
        server.max_dir_in_flight() >= 8,
        "listings at once: {}",
        server.max_dir_in_flight()
    );
}

/// The `--json` lines of a run: the file objects by path, and the summary.
fn reports(run: &crate::support::Run) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut lines = crate::support::json_lines(&run.stdout);
    let summary = lines.pop().unwrap()["summary"].clone();
    lines.sort_by_key(|l| l["path"].as_str().unwrap().to_string());
    (lines, summary)
}

#[test]
fn get_r_names_and_counts_the_local_files_it_replaces() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/nested", "-r"]).expect_code(0);
    // A local edit of the same size, one of another size, and a file removed (nothing to replace).
    let mut edited = repo_file("nested/a.txt");
    edited[0] ^= 1;
    std::fs::write(sandbox.join("nested/a.txt"), &edited).unwrap();
    std::fs::write(sandbox.join("nested/deeper/b.json"), b"{}").unwrap();
    std::fs::remove_file(sandbox.join("nested/empty.txt")).unwrap();

    // A dry run says what it would replace, and replaces nothing.
    let run = get(
        &sandbox,
        &server,
        &["main/nested", "-r", "--dry-run", "--json"],
    );
    run.expect_code(0)
        .expect_stderr("would replace: nested/a.txt (local content differs)")
        .expect_stderr("would replace: nested/deeper/b.json (local content differs)")
        .expect_stderr(
            "dry run: 3 file(s) to fetch (25 bytes known), 2 already in place; 2 would replace a \
             local file with other content; nothing was downloaded",
        );
    let (files, summary) = reports(&run);
    let flagged: Vec<&str> = files
        .iter()
        .filter(|f| f["replaced"] == true)
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, vec!["a.txt", "deeper/b.json"]);
    assert_eq!(summary["replaced"], 2);
    assert_eq!(std::fs::read(sandbox.join("nested/a.txt")).unwrap(), edited);

    let run = get(&sandbox, &server, &["main/nested", "-r", "--json"]);
    run.expect_code(0)
        .expect_stderr("replaced: nested/a.txt (local content differed)")
        .expect_stderr("replaced: nested/deeper/b.json (local content differed)")
        .expect_stderr("3 fetched, 2 skipped, 0 missing, 0 failed, 2 replaced; ");
    assert!(!run.stderr.contains("empty.txt"), "{}", run.stderr);
    let (files, summary) = reports(&run);
    for file in &files {
        let path = file["path"].as_str().unwrap();
        let (status, replaced) = match path {
            "a.txt" | "deeper/b.json" => ("fetched", serde_json::json!(true)),
            "empty.txt" => ("fetched", serde_json::Value::Null),
            _ => ("skipped", serde_json::Value::Null),
        };
        assert_eq!(
            (file["status"].as_str(), &file["replaced"]),
            (Some(status), &replaced),
            "{file}"
        );
    }
    assert_eq!(
        (
            summary["fetched"].clone(),
            summary["replaced"].clone(),
            summary["from_cache"].clone()
        ),
        (3.into(), 2.into(), 0.into())
    );
    for rel in captured_under("nested") {
        assert_eq!(
            std::fs::read(sandbox.join(&format!("nested/{rel}"))).unwrap(),
            repo_file(&format!("nested/{rel}")),
            "{rel}"
        );
    }
    // Once in place, nothing is replaced.
    let run = get(&sandbox, &server, &["main/nested", "-r"]);
    run.expect_code(0)
        .expect_stderr("0 fetched, 5 skipped, 0 missing, 0 failed; ");
    assert!(!run.stderr.contains("replaced"), "{}", run.stderr);

    // By size: the edit of the same size is trusted, the other size replaced.
    std::fs::write(sandbox.join("nested/a.txt"), &edited).unwrap();
    std::fs::write(sandbox.join("nested/deeper/b.json"), b"{}").unwrap();
    get(
        &sandbox,
        &server,
        &["main/nested", "-r", "--skip-existing", "size"],
    )
    .expect_code(0)
    .expect_stderr("replaced: nested/deeper/b.json (local content differed)")
    .expect_stderr("1 fetched, 4 skipped, 0 missing, 0 failed, 1 replaced; ");
    assert_eq!(std::fs::read(sandbox.join("nested/a.txt")).unwrap(), edited);

    // Never: everything is fetched over whatever is there, unchecked, so nothing counts as replaced.
    let run = get(
        &sandbox,
        &server,
        &["main/nested", "-r", "--skip-existing", "never"],
    );
    run.expect_code(0)
        .expect_stderr("5 fetched, 0 skipped, 0 missing, 0 failed; ");
    assert!(!run.stderr.contains("replaced"), "{}", run.stderr);
    assert_eq!(
        std::fs::read(sandbox.join("nested/a.txt")).unwrap(),
        repo_file("nested/a.txt")
    );
}

#[test]
fn get_r_names_a_large_file_it_replaces_by_ranges() {
    let (server, files) = server_with_large_files(true);
    let sandbox = Sandbox::new();
    get_large(&sandbox, &server, &[]).expect_code(0);
    std::fs::write(sandbox.join("big/b.bin"), b"not the 200,001 bytes").unwrap();
    let run = get_large(&sandbox, &server, &["--json"]);
    run.expect_code(0)
        .expect_stderr("replaced: big/b.bin (local content differed)")
        .expect_stderr("1 fetched, 3 skipped, 0 missing, 0 failed, 1 replaced; ");
    let (reported, summary) = reports(&run);
    let b = reported.iter().find(|f| f["path"] == "b.bin").unwrap();
    assert_eq!(
        (b["status"].as_str(), &b["replaced"]),
        (Some("fetched"), &serde_json::json!(true))
    );
    assert_eq!(summary["replaced"], 1);
    assert_eq!(
        std::fs::read(sandbox.join("big/b.bin")).unwrap(),
        files[1].1
    );
}

#[test]
fn get_r_lists_every_page_of_a_large_directory_once() {
    // 34 pages of 1,000: the first page queues the next 32, and page 2 queues the 34th.
    let files: Vec<(String, Vec<u8>)> = (0..33_500)
        .map(|i| (format!("huge/f{i:05}"), format!("{i}\n").into_bytes()))
        .collect();
    let server = TestServer::with(Config {
        extra_files: files,
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/huge", "-r", "--dry-run", "-q"]);
    run.expect_code(0);
    assert_eq!(String::from_utf8_lossy(&run.stdout).lines().count(), 33_500);
    let mut pages: Vec<u64> = server
        .requests()
        .iter()
        .filter(|r| r.target.contains("/dir/"))
        .map(|r| {
            let page = r.target.split("page=").nth(1).unwrap();
            page.split('&').next().unwrap().parse().unwrap()
        })
        .collect();
    pages.sort();
    assert_eq!(pages, (1..=34).collect::<Vec<u64>>());
}
