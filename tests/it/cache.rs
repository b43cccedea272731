//! `--cache-dir`: the content-addressed cache shared by runs, against the test server with the real binary.
//! What the server is asked is counted at the server.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::support::server::{Config, hash_of};
use crate::support::{Run, Sandbox, TestServer, listed, repo_file, temp_files, with_paths_txt};

/// Requests that download file content (batch requests and file downloads); listings and `/meta` are
/// not counted.
fn downloads(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.target.contains("/versions"))
        .map(|r| format!("{} {}", r.method, r.target))
        .collect()
}

/// `oxdl --host URL --cache-dir CACHE ARGS`.
fn oxdl(sandbox: &Sandbox, server: &TestServer, cache: &Path, args: &[&str], stdin: &str) -> Run {
    let cache = cache.to_str().unwrap();
    let mut all = vec!["--host", server.url.as_str(), "--cache-dir", cache];
    all.extend_from_slice(args);
    sandbox.run_with_stdin(&all, stdin.as_bytes())
}

/// `batch ox/demo - -C DIR ARGS` with the captured list on stdin.
fn batch_into(
    sandbox: &Sandbox,
    server: &TestServer,
    cache: &Path,
    dir: &str,
    args: &[&str],
) -> Run {
    let mut all = vec!["batch", "ox/demo", "-", "-C", dir];
    all.extend_from_slice(args);
    oxdl(sandbox, server, cache, &all, &with_paths_txt())
}

/// The cache entry for `hash`.
fn entry(cache: &Path, hash: &str) -> PathBuf {
    let name = format!("{:0>32}", hash);
    cache.join(&name[..2]).join(&name[2..4]).join(name)
}

/// Every file below `dir`, relative, sorted.
fn files_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for item in std::fs::read_dir(next).unwrap().flatten() {
            if item.path().is_dir() {
                stack.push(item.path());
            } else {
                let rel = item.path().strip_prefix(dir).unwrap().to_path_buf();
                found.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

/// Every entry of the cache holds what its name says; nothing else but the tag is there.
fn assert_cache_sound(cache: &Path) -> usize {
    let mut entries = 0;
    for rel in files_below(cache) {
        if rel == "CACHEDIR.TAG" {
            continue;
        }
        let name = Path::new(&rel)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(cache.join(&rel)).unwrap();
        assert_eq!(
            u128::from_str_radix(&name, 16).ok(),
            u128::from_str_radix(&hash_of(&bytes), 16).ok(),
            "{rel} holds other bytes than its name says"
        );
        entries += 1;
    }
    entries
}

fn assert_tree(sandbox: &Sandbox, dir: &str) {
    for (_, path) in listed() {
        assert_eq!(
            std::fs::read(sandbox.join(&format!("{dir}/{path}"))).unwrap(),
            repo_file(&path),
            "{dir}/{path}"
        );
    }
}

fn json_lines(run: &Run) -> Vec<serde_json::Value> {
    crate::support::json_lines(&run.stdout)
}

#[test]
fn a_second_batch_into_a_new_directory_downloads_nothing() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    batch_into(&sandbox, &server, &cache, "one", &[])
        .expect_code(0)
        .expect_stderr("8 fetched");
    let first = downloads(&server);
    assert!(!first.is_empty());
    assert_eq!(assert_cache_sound(&cache), 8);
    assert!(cache.join("CACHEDIR.TAG").exists());

    let run = batch_into(
        &sandbox,
        &server,
        &cache,
        "two",
        &["--json", "--checksums", "sums.txt"],
    );
    run.expect_code(0)
        .expect_stderr("8 file(s) put in place from the cache in")
        .expect_stderr("8 fetched (8 from the cache), 0 skipped, 0 missing, 0 failed");
    assert_eq!(
        downloads(&server),
        first,
        "the second run asked for no download"
    );
    assert_tree(&sandbox, "two");
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 9);
    for line in &lines[..8] {
        assert_eq!(line["status"], "cached", "{line}");
        assert!(line["sha256"].is_string(), "{line}");
    }
    assert_eq!(lines[8]["summary"]["fetched"], 8);
    assert_eq!(lines[8]["summary"]["bytes"], 6542);
    // Files from the cache are in the manifest like any other file in place.
    let sums = std::fs::read_to_string(sandbox.join("sums.txt")).unwrap();
    assert_eq!(sums.lines().count(), 8, "{sums}");
    assert!(temp_files(&cache).is_empty());
}

#[test]
fn a_hash_listed_twice_comes_from_the_cache_to_both_paths() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    let hello = &listed()[1];
    let list = format!("{0} a.txt\n{0} sub/b.txt\n", hello.0);
    oxdl(
        &sandbox,
        &server,
        &cache,
        &["batch", "ox/demo", "-", "-C", "one"],
        &list,
    )
    .expect_code(0);
    let before = downloads(&server);
    oxdl(
        &sandbox,
        &server,
        &cache,
        &["batch", "ox/demo", "-", "-C", "two"],
        &list,
    )
    .expect_code(0);
    assert_eq!(downloads(&server), before);
    for path in ["two/a.txt", "two/sub/b.txt"] {
        assert_eq!(
            std::fs::read(sandbox.join(path)).unwrap(),
            repo_file("hello.txt")
        );
    }
}

#[test]
fn get_and_get_r_take_files_from_the_cache() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    // batch fills the cache; get, by path, finds the same content there.
    batch_into(&sandbox, &server, &cache, "one", &[]).expect_code(0);
    let before = downloads(&server);
    let run = oxdl(
        &sandbox,
        &server,
        &cache,
        &[
            "--json",
            "get",
            "ox/demo",
            "main/data.csv",
            "-o",
            "data.csv",
        ],
        "",
    );
    run.expect_code(0).expect_stderr("bytes from the cache in");
    assert_eq!(downloads(&server), before, "get asked only for /meta");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.target.contains("/meta/"))
    );
    assert_eq!(
        std::fs::read(sandbox.join("data.csv")).unwrap(),
        repo_file("data.csv")
    );
    let lines = json_lines(&run);
    assert_eq!(lines[0]["status"], "cached");
    assert_eq!(lines[1]["summary"]["fetched"], 1);
    assert_eq!(
        lines[1]["summary"]["revision"],
        crate::support::server::MAIN_COMMIT
    );

    oxdl(
        &sandbox,
        &server,
        &cache,
        &["get", "ox/demo", "main/nested", "-r", "-o", "tree"],
        "",
    )
    .expect_code(0)
    .expect_stderr("5 file(s) put in place from the cache");
    assert_eq!(downloads(&server), before, "get -r asked only for listings");
    assert_eq!(
        std::fs::read(sandbox.join("tree/deeper/b.json")).unwrap(),
        repo_file("nested/deeper/b.json")
    );
}

#[test]
fn get_fills_the_cache_and_a_stream_is_still_downloaded() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    oxdl(
        &sandbox,
        &server,
        &cache,
        &["get", "ox/demo", "main/hello.txt"],
        "",
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read(entry(&cache, &hash_of(&repo_file("hello.txt")))).unwrap(),
        repo_file("hello.txt")
    );
    let before = downloads(&server).len();
    oxdl(
        &sandbox,
        &server,
        &cache,
        &["get", "ox/demo", "main/hello.txt", "-o", "b.txt"],
        "",
    )
    .expect_code(0);
    assert_eq!(downloads(&server).len(), before);
    // Bytes on stdout could not be taken back after a failed check, so stdout is always downloaded.
    let run = oxdl(
        &sandbox,
        &server,
        &cache,
        &["get", "ox/demo", "main/hello.txt", "-o", "-"],
        "",
    );
    run.expect_code(0);
    assert_eq!(run.stdout, repo_file("hello.txt"));
    assert_eq!(downloads(&server).len(), before + 1);
}

#[test]
fn an_output_edited_in_place_leaves_the_cache_intact() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    batch_into(&sandbox, &server, &cache, "one", &[]).expect_code(0);
    // Filled from the cache too: the case where a shared inode would do harm.
    batch_into(&sandbox, &server, &cache, "two", &[]).expect_code(0);
    for dir in ["one", "two"] {
        // Written through the same inode, as an editor saving in place or `>>` does.
        let path = sandbox.join(&format!("{dir}/hello.txt"));
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::io::Write::write_all(&mut file, b"EDITED").unwrap();
    }
    assert_eq!(assert_cache_sound(&cache), 8);
    let before = downloads(&server);
    batch_into(&sandbox, &server, &cache, "three", &[]).expect_code(0);
    assert_eq!(downloads(&server), before);
    assert_tree(&sandbox, "three");
}

#[test]
fn link_hard_shares_the_read_only_entry() {
    use std::os::unix::fs::MetadataExt;
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    batch_into(&sandbox, &server, &cache, "one", &["--link", "hard"]).expect_code(0);
    batch_into(&sandbox, &server, &cache, "two", &["--link", "hard"]).expect_code(0);
    assert_tree(&sandbox, "two");
    let hello = entry(&cache, &listed()[1].0);
    let output = std::fs::metadata(sandbox.join("two/hello.txt")).unwrap();
    assert_eq!(output.ino(), std::fs::metadata(&hello).unwrap().ino());
    assert!(
        output.permissions().readonly(),
        "an edit in place fails instead of editing the cache"
    );
    // The default never shares: the output is a file of its own, writable as usual.
    batch_into(&sandbox, &server, &cache, "three", &[]).expect_code(0);
    let own = std::fs::metadata(sandbox.join("three/hello.txt")).unwrap();
    assert_ne!(own.ino(), output.ino());
    assert!(!own.permissions().readonly());
}

/// Overwrites the cache entry for `hash` with other bytes of the same length.
fn damage(cache: &Path, hash: &str) {
    let path = entry(cache, hash);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0xff;
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&path, permissions).unwrap();
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn a_damaged_cache_entry_is_fetched_again() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    batch_into(&sandbox, &server, &cache, "one", &[]).expect_code(0);
    let hello = listed()[1].0.clone();
    damage(&cache, &hello);
    let before = server.requests().len();
    let run = batch_into(
        &sandbox,
        &server,
        &cache,
        "two",
        &["--json", "--checksums", "sums.txt"],
    );
    run.expect_code(0)
        .expect_stderr(&format!("the cache's copy of {hello}"))
        .expect_stderr("is damaged; removed, fetching the file again");
    assert_tree(&sandbox, "two");
    // Exactly the damaged file was requested.
    let asked: Vec<String> = server.requests()[before..]
        .iter()
        .filter(|r| r.method == "QUERY" || r.method == "POST")
        .flat_map(|r| r.batch_hashes())
        .collect();
    assert_eq!(asked, vec![hello.clone()]);
    let statuses: Vec<(String, String)> = json_lines(&run)[..8]
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(statuses.contains(&("hello.txt".to_string(), "fetched".to_string())));
    assert_eq!(statuses.iter().filter(|(_, s)| s == "cached").count(), 7);
    // The download put the right bytes back.
    assert_eq!(assert_cache_sound(&cache), 8);

    // get too: the damaged entry never reaches the output.
    damage(&cache, &hello);
    let before = downloads(&server).len();
    oxdl(
        &sandbox,
        &server,
        &cache,
        &["get", "ox/demo", "main/hello.txt", "-o", "g.txt"],
        "",
    )
    .expect_code(0)
    .expect_stderr("is damaged");
    assert_eq!(
        std::fs::read(sandbox.join("g.txt")).unwrap(),
        repo_file("hello.txt")
    );
    assert_eq!(downloads(&server).len(), before + 1);
    assert_eq!(assert_cache_sound(&cache), 8);
}

#[test]
fn trust_cache_places_without_hashing() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    batch_into(&sandbox, &server, &cache, "one", &[]).expect_code(0);
    let hello = listed()[1].0.clone();
    damage(&cache, &hello);
    let before = downloads(&server);
    // The damage goes unnoticed: that is the price of --trust-cache, and why it is not the default.
    batch_into(&sandbox, &server, &cache, "two", &["--trust-cache"]).expect_code(0);
    assert_eq!(downloads(&server), before);
    assert_ne!(
        std::fs::read(sandbox.join("two/hello.txt")).unwrap(),
        repo_file("hello.txt")
    );
    // With --json the bytes are read for their SHA-256 anyway, and then checked.
    batch_into(
        &sandbox,
        &server,
        &cache,
        "three",
        &["--trust-cache", "--json"],
    )
    .expect_code(0)
    .expect_stderr("is damaged");
    assert_tree(&sandbox, "three");
}

/// Sets the last use of every entry to an hour ago.
fn age_entries(cache: &Path) {
    let old = SystemTime::now() - Duration::from_secs(3600);
    for rel in files_below(cache) {
        if rel != "CACHEDIR.TAG" {
            let file = std::fs::File::open(cache.join(rel)).unwrap();
            file.set_modified(old).unwrap();
        }
    }
}

#[test]
fn prune_evicts_the_least_recently_used_down_to_the_size() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    let run_cache = |args: &[&str]| oxdl(&sandbox, &server, &cache, args, "");
    batch_into(&sandbox, &server, &cache, "one", &[]).expect_code(0);
    let info = run_cache(&["--json", "cache", "info"]);
    info.expect_code(0);
    assert_eq!(json_lines(&info)[0]["entries"], 8);
    assert_eq!(json_lines(&info)[0]["bytes"], 6542);

    // Used an hour ago, but data.csv and hello.txt just now.
    age_entries(&cache);
    run_cache(&["get", "ox/demo", "main/data.csv"]).expect_code(0);
    run_cache(&["get", "ox/demo", "main/hello.txt"]).expect_code(0);
    let kept = repo_file("data.csv").len() + repo_file("hello.txt").len();

    run_cache(&["cache", "prune", "--max-size", "10G"])
        .expect_code(0)
        .expect_stderr("removed 0 file(s)");
    assert_eq!(assert_cache_sound(&cache), 8);
    let run = run_cache(&["cache", "prune", "--max-size", &kept.to_string()]);
    run.expect_code(0)
        .expect_stderr(&format!("removed 6 file(s), {} bytes", 6542 - kept))
        .expect_stderr(&format!("2 file(s), {kept} bytes"));
    assert_eq!(assert_cache_sound(&cache), 2);
    assert!(entry(&cache, &hash_of(&repo_file("data.csv"))).exists());
    assert!(entry(&cache, &hash_of(&repo_file("hello.txt"))).exists());
    let info = run_cache(&["cache", "info"]);
    info.expect_code(0);
    let text = String::from_utf8(info.stdout.clone()).unwrap();
    assert!(text.contains(&format!("2 file(s), {kept} bytes")), "{text}");

    run_cache(&["--json", "cache", "prune", "--max-size", "0"]).expect_code(0);
    assert_eq!(assert_cache_sound(&cache), 0);
    // Empty fan-out directories go too; the tag stays.
    assert_eq!(files_below(&cache), vec!["CACHEDIR.TAG"]);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
}

#[test]
fn cache_commands_need_a_cache_and_no_server() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&["cache", "info"])
        .expect_code(2)
        .expect_stderr("--cache-dir DIR (or set OXDL_CACHE_DIR)");
    sandbox
        .run(&["--cache-dir", "c", "cache", "prune", "--max-size", "10X"])
        .expect_code(2)
        .expect_stderr("expected a size such as 500M or 10G");
    // No server is asked: this host does not exist.
    let mut command = sandbox.command(&["--host", "http://nowhere.invalid", "cache", "info"]);
    command.env("OXDL_CACHE_DIR", sandbox.join("fresh"));
    let run = sandbox.run_command(command, b"");
    run.expect_code(0);
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(
        text.contains("0 file(s), 0 bytes (0 B); it does not exist yet"),
        "{text}"
    );
    sandbox
        .run(&["--cache-dir", "fresh", "cache", "prune", "--max-size", "1G"])
        .expect_code(0);
    assert!(
        !sandbox.join("fresh").exists(),
        "nothing to prune, nothing made"
    );
    // Set but empty, as a CI variable without a value: no cache, and a run goes on without one.
    let server = TestServer::start();
    let mut command = sandbox.command(&["--host", &server.url, "get", "ox/demo", "main/hello.txt"]);
    command.env("OXDL_CACHE_DIR", "");
    sandbox.run_command(command, b"").expect_code(0);
    assert_eq!(sandbox.files(), vec!["hello.txt"]);
}

#[test]
fn two_runs_at_once_share_one_cache_safely() {
    // Enough files that the runs overlap: each inserts while the other looks up and inserts the same.
    let extra: Vec<(String, Vec<u8>)> = (0..200u32)
        .map(|i| {
            let bytes: Vec<u8> = (0..20_000u32)
                .map(|j| (j.wrapping_mul(31) ^ i) as u8)
                .collect();
            (format!("many/f{i:03}.bin"), bytes)
        })
        .collect();
    let list: String = extra
        .iter()
        .map(|(path, bytes)| format!("{} {path}\n", hash_of(bytes)))
        .collect();
    let server = TestServer::with(Config {
        extra_files: extra.clone(),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    let spawn = |dir: &str| {
        let mut command = sandbox.command(&[
            "--host",
            server.url.as_str(),
            "--cache-dir",
            cache.to_str().unwrap(),
            "batch",
            "ox/demo",
            "-",
            "-C",
            dir,
            "--batch-size",
            "10",
        ]);
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let list = list.clone();
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, list.as_bytes()));
        child
    };
    let runs = [spawn("a"), spawn("b")];
    for child in runs {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for dir in ["a", "b"] {
        for (path, bytes) in &extra {
            assert_eq!(
                &std::fs::read(sandbox.join(&format!("{dir}/{path}"))).unwrap(),
                bytes
            );
        }
    }
    assert_eq!(assert_cache_sound(&cache), 200);
    assert!(temp_files(&cache).is_empty(), "{:?}", temp_files(&cache));
    // And what they left serves a third run whole.
    let before = downloads(&server);
    oxdl(
        &sandbox,
        &server,
        &cache,
        &["batch", "ox/demo", "-", "-C", "c"],
        &list,
    )
    .expect_code(0);
    assert_eq!(downloads(&server), before);
}

/// The status of each file in `--json` lines, by path, and the summary.
fn statuses_and_summary(run: &Run) -> (Vec<(String, String)>, serde_json::Value) {
    let mut lines = json_lines(run);
    let summary = lines.pop().unwrap()["summary"].clone();
    let mut statuses: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["path"].as_str().unwrap().to_string(),
                l["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    statuses.sort();
    (statuses, summary)
}

#[test]
fn with_a_warm_cache_get_r_counts_the_files_it_took_from_the_cache() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    let get_r = |into: &str| {
        let args = ["--json", "get", "ox/demo", "main/nested", "-r", "-o", into];
        oxdl(&sandbox, &server, &cache, &args, "")
    };
    // Cold: every file downloaded, none from the cache.
    let run = get_r("one");
    run.expect_code(0)
        .expect_stderr("5 fetched, 0 skipped, 0 missing, 0 failed; 67 bytes written to one");
    assert!(!run.stderr.contains("from the cache"), "{}", run.stderr);
    let (statuses, summary) = statuses_and_summary(&run);
    assert!(statuses.iter().all(|(_, s)| s == "fetched"), "{statuses:?}");
    assert_eq!(
        (summary["fetched"].clone(), summary["from_cache"].clone()),
        (5.into(), 0.into())
    );

    // One entry gone: four files from the cache, one downloaded; `fetched` counts both.
    std::fs::remove_file(entry(&cache, &hash_of(&repo_file("nested/a.txt")))).unwrap();
    let run = get_r("two");
    run.expect_code(0).expect_stderr(
        "5 fetched (4 from the cache), 0 skipped, 0 missing, 0 failed; 67 bytes written to two",
    );
    let (statuses, summary) = statuses_and_summary(&run);
    for (path, status) in &statuses {
        let expected = if path == "a.txt" { "fetched" } else { "cached" };
        assert_eq!(status, expected, "{path}");
    }
    assert_eq!(summary["fetched"], 5);
    assert_eq!(summary["from_cache"], 4);
    assert_eq!(summary["bytes"], 67);

    // All of it from the cache.
    let run = get_r("three");
    run.expect_code(0)
        .expect_stderr("5 fetched (5 from the cache), 0 skipped, 0 missing, 0 failed");
    let (_, summary) = statuses_and_summary(&run);
    assert_eq!(
        (summary["fetched"].clone(), summary["from_cache"].clone()),
        (5.into(), 5.into())
    );

    // A local edit replaced from the cache: a file from the cache, and a replaced one.
    std::fs::write(sandbox.join("three/a.txt"), b"edited here").unwrap();
    let run = get_r("three");
    run.expect_code(0)
        .expect_stderr("replaced: three/a.txt (local content differed)")
        .expect_stderr("1 fetched (1 from the cache), 4 skipped, 0 missing, 0 failed, 1 replaced");
    let lines = json_lines(&run);
    let a = lines.iter().find(|l| l["path"] == "a.txt").unwrap();
    assert_eq!(
        (a["status"].clone(), a["replaced"].clone()),
        ("cached".into(), true.into())
    );
    assert_eq!(lines.last().unwrap()["summary"]["replaced"], 1);
    assert_eq!(
        std::fs::read(sandbox.join("three/a.txt")).unwrap(),
        repo_file("nested/a.txt")
    );
}

#[test]
fn with_a_warm_cache_batch_counts_the_files_it_took_from_the_cache() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let cache = sandbox.join("cache");
    let run = batch_into(&sandbox, &server, &cache, "one", &["--json"]);
    run.expect_code(0)
        .expect_stderr("8 fetched, 0 skipped, 0 missing, 0 failed");
    let (_, summary) = statuses_and_summary(&run);
    assert_eq!(
        (summary["fetched"].clone(), summary["from_cache"].clone()),
        (8.into(), 0.into())
    );
    assert_eq!(summary["replaced"], 0);

    let run = batch_into(&sandbox, &server, &cache, "two", &["--json"]);
    run.expect_code(0)
        .expect_stderr("8 fetched (8 from the cache), 0 skipped, 0 missing, 0 failed");
    let (statuses, summary) = statuses_and_summary(&run);
    assert!(statuses.iter().all(|(_, s)| s == "cached"), "{statuses:?}");
    assert_eq!(
        (summary["fetched"].clone(), summary["from_cache"].clone()),
        (8.into(), 8.into())
    );

    // A hash met again after it was handed out (one file a request): its later path is filled from
    // the first after the fetch, and that came from the cache too.
    let hello = hash_of(&repo_file("hello.txt"));
    let list = format!("{hello} a.txt\n{hello} b.txt\n");
    let args = [
        "--json",
        "batch",
        "ox/demo",
        "-",
        "-C",
        "three",
        "--batch-size",
        "1",
    ];
    let run = oxdl(&sandbox, &server, &cache, &args, &list);
    run.expect_code(0)
        .expect_stderr("2 file(s) put in place from the cache")
        .expect_stderr("2 fetched (2 from the cache), 0 skipped");
    let (statuses, summary) = statuses_and_summary(&run);
    assert_eq!(
        statuses,
        vec![
            ("a.txt".to_string(), "cached".to_string()),
            ("b.txt".to_string(), "cached".to_string())
        ]
    );
    assert_eq!(summary["from_cache"], 2);

    // One file by path: its summary says where the bytes came from too.
    let args = [
        "--json",
        "get",
        "ox/demo",
        "main/hello.txt",
        "-o",
        "four.txt",
    ];
    let run = oxdl(&sandbox, &server, &cache, &args, "");
    run.expect_code(0);
    assert_eq!(json_lines(&run)[1]["summary"]["from_cache"], 1);
}
