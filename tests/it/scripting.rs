//! oxdl in scripts and CI: JSON lines on stdout, a `sha256sum -c` manifest, plain progress for logs.

use crate::support;

use support::{Sandbox, TestServer, batch, get, json_lines, repo_file, sha256_hex, with_paths_txt};

#[test]
fn batch_json_has_one_object_per_file_and_a_summary() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let missing = "ffffffffffffffffffffffffffffffff";
    let list = format!("{}{missing} gone.bin\n", with_paths_txt());
    let run = batch(&sandbox, &server, &["--json", "-C", "out"], &list);
    run.expect_code(5);
    let mut lines = json_lines(&run.stdout);
    assert_eq!(lines.len(), 10, "8 fetched, 1 missing, 1 summary");
    // Each file is reported as it ends, so the missing one may come first; the summary is last.
    let gone = lines[..9]
        .iter()
        .position(|l| l["status"] == "missing")
        .expect("a missing file");
    let gone = lines.remove(gone);
    for line in &lines[..8] {
        let path = line["path"].as_str().unwrap();
        let bytes = repo_file(path);
        assert_eq!(line["status"], "fetched");
        assert_eq!(line["bytes"], bytes.len());
        assert_eq!(line["sha256"], sha256_hex(&bytes));
        assert_eq!(line["hash"], support::server::hash_of(&bytes));
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{path}"))).unwrap(),
            bytes
        );
    }
    assert_eq!(gone["hash"], missing);
    assert_eq!(gone["path"], "gone.bin");
    assert!(gone["sha256"].is_null());
    let summary = &lines[8]["summary"];
    assert_eq!(summary["fetched"], 8);
    assert_eq!(summary["missing"], 1);
    assert_eq!(summary["bytes"], 6542);
    // Logs stay on stderr.
    run.expect_stderr("8 fetched, 0 skipped, 1 missing, 0 failed");

    // A rerun reports the files as skipped, still with their checksums.
    let run = batch(
        &sandbox,
        &server,
        &["--json", "-C", "out"],
        &with_paths_txt(),
    );
    run.expect_code(0);
    let lines = json_lines(&run.stdout);
    assert!(
        lines[..8]
            .iter()
            .all(|l| l["status"] == "skipped" && l["sha256"].is_string())
    );
    assert_eq!(lines[8]["summary"]["skipped"], 8);
}

#[test]
fn get_json_reports_the_file() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = get(
        &sandbox,
        &server,
        &["--json", "main/data.csv", "-o", "d.csv"],
    );
    run.expect_code(0);
    let lines = json_lines(&run.stdout);
    let bytes = repo_file("data.csv");
    assert_eq!(lines[0]["path"], "d.csv");
    assert_eq!(lines[0]["sha256"], sha256_hex(&bytes));
    assert_eq!(lines[0]["status"], "fetched");
    assert_eq!(lines[1]["summary"]["fetched"], 1);
    get(&sandbox, &server, &["--json", "main/data.csv", "-o", "-"])
        .expect_code(2)
        .expect_stderr("--json and -o - both want stdout");
}

#[test]
fn checksums_manifest_passes_sha256sum() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    batch(
        &sandbox,
        &server,
        &["--checksums", "sums.txt", "-C", "out"],
        &with_paths_txt(),
    )
    .expect_code(0);
    let manifest = std::fs::read_to_string(sandbox.join("sums.txt")).unwrap();
    assert_eq!(manifest.lines().count(), 8);
    assert!(manifest.contains("  nested/with space.txt\n"));
    let (passed, out) = support::sha256sum_check(&sandbox.join("out"), "../sums.txt");
    assert!(passed, "{out}");
    assert_eq!(out.matches(": OK").count(), 8);

    // A damaged file fails the standard check.
    std::fs::write(sandbox.join("out/data.csv"), b"damaged").unwrap();
    let (passed, _) = support::sha256sum_check(&sandbox.join("out"), "../sums.txt");
    assert!(!passed);
}

#[test]
fn plain_progress_is_log_friendly() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = batch(
        &sandbox,
        &server,
        &["--progress", "plain", "-C", "out"],
        &with_paths_txt(),
    );
    run.expect_code(0)
        .expect_stderr("oxdl: progress: 8/8 files, 6.39 KiB");
    assert!(
        !run.stderr.chars().any(|c| c.is_control() && c != '\n'),
        "control characters in {:?}",
        run.stderr
    );
    let run = get(
        &sandbox,
        &server,
        &["--progress", "plain", "main/hello.txt"],
    );
    run.expect_code(0)
        .expect_stderr("oxdl: progress: 49 B of 49 B");
    assert!(!run.stderr.chars().any(|c| c.is_control() && c != '\n'));
}

#[test]
fn no_progress_when_asked_or_when_stderr_is_not_a_terminal() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    for args in [&["--progress", "none"][..], &[][..]] {
        let mut all = args.to_vec();
        all.extend(["-C", "out"]);
        let run = batch(&sandbox, &server, &all, &with_paths_txt());
        run.expect_code(0);
        assert!(!run.stderr.contains("progress"), "{}", run.stderr);
        assert!(!run.stderr.contains('\r'));
    }
    // --progress bar draws even into a pipe, as asked.
    let run = get(
        &sandbox,
        &server,
        &["--progress", "bar", "main/hello.txt", "-o", "h2.txt"],
    );
    run.expect_code(0);
    assert!(
        run.stderr.contains('\r') || run.stderr.contains("\u{1b}["),
        "{:?}",
        run.stderr
    );
}

/// `oxdl --host URL ls ox/demo ARGS`.
fn ls(sandbox: &Sandbox, server: &TestServer, args: &[&str]) -> support::Run {
    let mut all = vec!["--host", server.url.as_str(), "ls", "ox/demo"];
    all.extend_from_slice(args);
    sandbox.run(&all)
}

/// 250 small files under `many/` (three pages of 100), some in subdirectories.
fn many_files() -> Vec<(String, Vec<u8>)> {
    (0..250)
        .map(|i| {
            let path = if i % 5 == 0 {
                format!("many/sub{}/f{i:03}.txt", i % 3)
            } else {
                format!("many/f{i:03}.txt")
            };
            (path, format!("file number {i}\n").into_bytes())
        })
        .collect()
}

#[test]
fn ls_pages_through_a_large_directory() {
    let server = TestServer::with(support::server::Config {
        extra_files: many_files(),
        ..Default::default()
    });
    let sandbox = Sandbox::new();
    let run = ls(&sandbox, &server, &["main/many"]);
    run.expect_code(0);
    let text = String::from_utf8(run.stdout).unwrap();
    // Top level only: the 200 files directly in many/ (the 50 in subdirectories need -r).
    assert_eq!(text.lines().count(), 200);
    assert!(
        text.lines()
            .all(|l| l.split_once(' ').unwrap().1.starts_with('f'))
    );
    let pages: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages[2].contains("page=3"), "{pages:?}");
    // The branch is resolved once: later pages name the commit it resolved to, so a branch that moves
    // between pages cannot mix two trees.
    assert!(
        pages[0].starts_with("/api/repos/ox/demo/dir/main/many?"),
        "{pages:?}"
    );
    for later in &pages[1..] {
        assert!(
            later.starts_with(&format!(
                "/api/repos/ox/demo/dir/{}/many?",
                support::server::MAIN_COMMIT
            )),
            "{pages:?}"
        );
    }

    // A branch with a slash.
    let run = ls(&sandbox, &server, &["feature/x/many", "-r"]);
    run.expect_code(0);
    let branch_named = server
        .requests()
        .iter()
        .filter(|r| r.target.contains("/dir/feature/x"))
        .count();
    assert_eq!(branch_named, 1);
}

#[test]
fn ls_recursive_piped_into_batch_recreates_the_tree() {
    let extra = many_files();
    let server = TestServer::with(support::server::Config {
        extra_files: extra.clone(),
        ..Default::default()
    });
    let sandbox = Sandbox::new();
    let run = ls(&sandbox, &server, &["main", "-r"]);
    run.expect_code(0);
    let list = String::from_utf8(run.stdout).unwrap();
    assert_eq!(list.lines().count(), 8 + 250);
    batch(&sandbox, &server, &["-C", "copy"], &list).expect_code(0);
    let mut expected: Vec<(String, Vec<u8>)> = extra;
    for line in with_paths_txt().lines() {
        let (_, path) = line.split_once(' ').unwrap();
        expected.push((path.to_string(), repo_file(path)));
    }
    for (path, bytes) in &expected {
        assert_eq!(
            &std::fs::read(sandbox.join(&format!("copy/{path}"))).unwrap(),
            bytes,
            "{path}"
        );
    }
    assert_eq!(
        sandbox.files().len(),
        expected.len(),
        "nothing more, nothing less"
    );

    // A subdirectory lists relative to itself.
    let run = ls(&sandbox, &server, &["main/nested", "--recursive"]);
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(
        text.contains(" deeper/b.json\n") && text.contains(" with space.txt\n"),
        "{text}"
    );
}

#[test]
fn ls_long_and_json() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = ls(&sandbox, &server, &["main", "--long"]);
    run.expect_code(0);
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(
        text.contains("images/\n")
            && text.contains("          49  4bc6f9c6f8941bc2e3a7ebff29145cde  hello.txt\n"),
        "{text}"
    );
    let run = ls(&sandbox, &server, &["main", "-r", "--json"]);
    let lines = json_lines(&run.stdout);
    assert_eq!(lines.len(), 9);
    assert_eq!(lines[8]["summary"]["files"], 8);
    assert_eq!(lines[8]["summary"]["bytes"], 6542);
    assert!(
        lines[..8]
            .iter()
            .all(|l| l["hash"].is_string() && l["bytes"].is_u64())
    );
    ls(&sandbox, &server, &["main/nope"])
        .expect_code(3)
        .expect_stderr("cannot list main/nope in ox/demo");
}

/// The parts of a listing oxdl reads: names, kinds, paths, children, and the paging numbers.
fn listing_shape(body: &[u8]) -> serde_json::Value {
    fn entries(list: &serde_json::Value) -> serde_json::Value {
        serde_json::Value::Array(
            list.as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|e| {
                            serde_json::json!({
                                "filename": e["filename"], "is_dir": e["is_dir"], "hash": if e["is_dir"] == true { serde_json::Value::Null } else { e["hash"].clone() },
                                "size": if e["is_dir"] == true { serde_json::Value::Null } else { e["size"].clone() },
                                "path": e["resource"]["path"], "children": entries(&e["children"]),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    }
    let page: serde_json::Value = serde_json::from_slice(body).unwrap();
    serde_json::json!({
        "entries": entries(&page["entries"]), "resource": page["resource"]["path"],
        "page_size": page["page_size"], "page_number": page["page_number"],
        "total_pages": page["total_pages"], "total_entries": page["total_entries"],
    })
}

#[test]
fn the_test_servers_listings_match_the_real_servers() {
    let server = TestServer::start();
    for (query, captured) in [
        ("nested?depth=-1", "dir-nested-depth-all"),
        ("nested?page=2&page_size=2", "dir-page2-size2"),
    ] {
        let url = format!("{}/api/repos/ox/demo/dir/main/{query}", server.url);
        let mut answer = ureq::get(&url).call().unwrap();
        let ours = answer.body_mut().read_to_vec().unwrap();
        let real = support::server::fixture_body(captured);
        assert_eq!(listing_shape(&ours), listing_shape(&real), "{query}");
    }
}

#[test]
fn proxies_from_the_environment_and_the_flag() {
    let server = TestServer::start();
    let proxy = support::proxy::ConnectProxy::start();
    let sandbox = Sandbox::new();
    let target = format!("CONNECT 127.0.0.1:{} HTTP/1.1", server.port);
    let get_hello = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["--host", server.url.as_str()];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["get", "ox/demo", "main/hello.txt", "-o", "-", "--no-verify"]);
        let mut command = sandbox.command(&args);
        for (name, value) in env {
            command.env(name, value);
        }
        let run = sandbox.run_command(command, b"");
        run.expect_code(0);
        assert_eq!(run.stdout, repo_file("hello.txt"));
    };

    get_hello(&[("HTTP_PROXY", &proxy.url)], &[]);
    assert_eq!(
        proxy.seen(),
        vec![target.clone()],
        "HTTP_PROXY carries the request"
    );
    get_hello(&[("http_proxy", &proxy.url)], &[]);
    get_hello(&[("ALL_PROXY", &proxy.url)], &[]);
    assert_eq!(proxy.seen().len(), 3, "lower case and ALL_PROXY too");

    get_hello(
        &[
            ("HTTP_PROXY", &proxy.url),
            ("NO_PROXY", "localhost,127.0.0.1"),
        ],
        &[],
    );
    get_hello(&[("HTTPS_PROXY", &proxy.url)], &[]);
    assert_eq!(
        proxy.seen().len(),
        3,
        "NO_PROXY bypasses it; HTTPS_PROXY is for https only"
    );

    get_hello(&[], &["--proxy", proxy.url.as_str()]);
    assert_eq!(proxy.seen().len(), 4, "--proxy");
    assert!(proxy.seen().iter().all(|line| *line == target));
}

#[test]
fn a_self_signed_server_works_with_its_ca_and_fails_cleanly_without() {
    let server = TestServer::start();
    let front = support::tls::TlsFront::start(server.port);
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("ca.pem"), &front.cert_pem).unwrap();
    let args = |extra: &[&'static str]| {
        let mut all = vec!["--host".to_string(), front.url.clone()];
        all.extend(extra.iter().map(|s| s.to_string()));
        all.extend(["get", "ox/demo", "main/hello.txt", "-o", "-"].map(String::from));
        all
    };
    let run_with = |extra: &[&'static str], env: &[(&str, &str)]| {
        let all = args(extra);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let mut command = sandbox.command(&all);
        for (name, value) in env {
            command.env(name, value);
        }
        sandbox.run_command(command, b"")
    };

    let run = run_with(&["--cacert", "ca.pem"], &[]);
    run.expect_code(0);
    assert_eq!(run.stdout, repo_file("hello.txt"));

    let ca = sandbox.join("ca.pem");
    let run = run_with(&[], &[("SSL_CERT_FILE", ca.to_str().unwrap())]);
    run.expect_code(0);

    let run = run_with(&[], &[]);
    run.expect_code(7)
        .expect_stderr(&format!("cannot reach {}", front.url))
        .expect_stderr("certificate is not trusted")
        .expect_stderr("--cacert");
    assert!(
        !run.stderr.contains("retry"),
        "a certificate error is final: {}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    run_with(&["--cacert", "missing.pem"], &[])
        .expect_code(2)
        .expect_stderr("cannot read CA certificates from missing.pem");
}

/// Starts `oxdl batch` reading a pipe that the test writes into at its own pace.
fn piped_batch(sandbox: &Sandbox, server: &TestServer, args: &[&str]) -> std::process::Child {
    let mut all = vec!["--host", server.url.as_str(), "batch", "ox/demo", "-j", "1"];
    all.extend_from_slice(args);
    sandbox
        .command(&all)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_requests(server: &TestServer, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.requests().len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} requests",
            server.requests().len()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn batch_starts_requesting_before_a_piped_list_ends() {
    use std::io::Write;
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let lines: Vec<String> = with_paths_txt().lines().map(str::to_string).collect();
    let mut child = piped_batch(&sandbox, &server, &["--batch-size", "2", "-C", "out"]);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}\n{}", lines[0], lines[1]).unwrap();
    stdin.flush().unwrap();
    // Two files are a request's worth: it goes out while the list is still open.
    wait_for_requests(&server, 1);
    assert_eq!(server.requests()[0].batch_hashes().len(), 2);
    for line in &lines[2..] {
        writeln!(stdin, "{line}").unwrap();
    }
    // A hash again, with a new path, after its request went out: filled from the first copy.
    writeln!(
        stdin,
        "{} again/hello.txt",
        lines[1].split(' ').next().unwrap()
    )
    .unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in &lines {
        let path = line.split_once(' ').unwrap().1;
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{path}"))).unwrap(),
            repo_file(path)
        );
    }
    assert_eq!(
        std::fs::read(sandbox.join("out/again/hello.txt")).unwrap(),
        repo_file("hello.txt")
    );
    let requested: usize = server
        .requests()
        .iter()
        .map(|r| r.batch_hashes().len())
        .sum();
    assert_eq!(requested, 8, "each hash requested once");
}

#[test]
fn a_bad_line_in_a_piped_list_stops_further_requests() {
    use std::io::Write;
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let lines: Vec<String> = with_paths_txt().lines().map(str::to_string).collect();
    let mut child = piped_batch(&sandbox, &server, &["--batch-size", "2", "-C", "out"]);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}\n{}", lines[0], lines[1]).unwrap();
    stdin.flush().unwrap();
    wait_for_requests(&server, 1);
    // One write: oxdl stops reading at the bad line and may exit before a later write would land, which
    // would then fail with a broken pipe (that is the behaviour under test, not a failure of it).
    let rest = format!("{}\nnot-a-hash\n{}\n{}\n", lines[2], lines[3], lines[4]);
    let _ = stdin.write_all(rest.as_bytes());
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("<stdin>: line 4: 'not-a-hash' is not a content hash"),
        "{stderr}"
    );
    // The first request's files are complete; nothing after the bad line was asked for.
    for line in &lines[..2] {
        let path = line.split_once(' ').unwrap().1;
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{path}"))).unwrap(),
            repo_file(path)
        );
    }
    let requested: Vec<String> = server
        .requests()
        .iter()
        .flat_map(|r| r.batch_hashes())
        .collect();
    let later = lines[3].split(' ').next().unwrap().to_string();
    assert!(!requested.contains(&later), "{requested:?}");
}

/// File names a plain `HASH PATH` line cannot carry as is, each with its own content.
fn odd_names() -> Vec<(String, Vec<u8>)> {
    [
        " lead.txt",
        "trail.txt ",
        "line\nbreak.txt",
        "esc\u{1b}.txt",
        "tab\there.txt",
        "\"quoted\".txt",
        "back\\slash.txt",
        "é.txt",
    ]
    .iter()
    .map(|name| {
        (
            name.to_string(),
            format!("content of {name:?}\n").into_bytes(),
        )
    })
    .collect()
}

/// The test server with the odd names under `odd/`.
fn odd_server() -> TestServer {
    TestServer::with(support::server::Config {
        extra_files: odd_names()
            .into_iter()
            .map(|(name, bytes)| (format!("odd/{name}"), bytes))
            .collect(),
        ..Default::default()
    })
}

/// Asserts that `dir` holds exactly the odd names (nothing else, no subdirectories), byte for byte.
fn assert_odd_tree(dir: &std::path::Path) {
    let mut found: Vec<std::ffi::OsString> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    found.sort();
    let mut expected: Vec<std::ffi::OsString> = odd_names().iter().map(|(n, _)| n.into()).collect();
    expected.sort();
    assert_eq!(found, expected);
    for (name, bytes) in odd_names() {
        assert_eq!(std::fs::read(dir.join(&name)).unwrap(), bytes, "{name:?}");
    }
}

#[test]
fn ls_piped_into_batch_keeps_every_file_name() {
    let server = odd_server();
    let sandbox = Sandbox::new();
    let run = ls(&sandbox, &server, &["main/odd", "-r"]);
    run.expect_code(0);
    // Nothing that could move a terminal's cursor or end a line early.
    assert!(
        run.stdout
            .iter()
            .all(|&b| b == b'\n' || (b >= 0x20 && b != 0x7f)),
        "{:?}",
        String::from_utf8_lossy(&run.stdout)
    );
    let list = String::from_utf8(run.stdout).unwrap();
    assert_eq!(list.lines().count(), 8, "{list}");
    for line in [
        "\" lead.txt\"",
        "\"trail.txt \"",
        "\"line\\nbreak.txt\"",
        "\"esc\\x1b.txt\"",
        "\"tab\\there.txt\"",
        "\"\\\"quoted\\\".txt\"",
        " back\\slash.txt",
        " é.txt",
    ] {
        assert!(
            list.lines().any(|l| l.ends_with(line)),
            "{line} in:\n{list}"
        );
    }
    batch(&sandbox, &server, &["-C", "copy"], &list).expect_code(0);
    assert_odd_tree(&sandbox.join("copy"));

    // The same list from a file (read whole before any request).
    std::fs::write(sandbox.join("list.txt"), &list).unwrap();
    let all = [
        "--host",
        server.url.as_str(),
        "batch",
        "ox/demo",
        "list.txt",
        "-C",
        "from-file",
    ];
    sandbox.run(&all).expect_code(0);
    assert_odd_tree(&sandbox.join("from-file"));

    // --long, for people, escapes the same way.
    let run = ls(&sandbox, &server, &["main/odd", "--long"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .iter()
            .all(|&b| b == b'\n' || (b >= 0x20 && b != 0x7f))
    );
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.contains("  \"esc\\x1b.txt\"\n"), "{text}");
}

#[test]
fn ls_and_batch_with_nul_separators_keep_every_file_name() {
    let server = odd_server();
    let sandbox = Sandbox::new();
    let run = ls(&sandbox, &server, &["main/odd", "-r", "-0"]);
    run.expect_code(0);
    let records: Vec<&[u8]> = run.stdout.split(|&b| b == 0).collect();
    assert_eq!(records.len(), 9, "eight records, each ending with NUL");
    assert!(records[8].is_empty());
    // Names as they are: the newline and the escape byte are in the name itself.
    for (name, bytes) in odd_names() {
        let record = format!("{} {name}", support::server::hash_of(&bytes));
        assert!(records.contains(&record.as_bytes()), "{record:?}");
    }
    let mut all = vec![
        "--host",
        server.url.as_str(),
        "batch",
        "ox/demo",
        "-j",
        "1",
        "--null",
        "-C",
        "copy",
    ];
    sandbox.run_with_stdin(&all, &run.stdout).expect_code(0);
    assert_odd_tree(&sandbox.join("copy"));

    // Without -0, the same bytes are not a list.
    all.retain(|a| *a != "--null");
    sandbox.run_with_stdin(&all, &run.stdout).expect_code(2);

    ls(&sandbox, &server, &["main", "-0", "--json"])
        .expect_code(2)
        .expect_stderr("--null and --json");
    ls(&sandbox, &server, &["main", "-0", "--long"]).expect_code(2);
}

#[test]
fn a_list_may_start_with_a_byte_order_mark() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let list = format!("\u{feff}{}", with_paths_txt().replace('\n', "\r\n"));
    batch(&sandbox, &server, &["-C", "out"], &list).expect_code(0);
    for line in with_paths_txt().lines() {
        let path = line.split_once(' ').unwrap().1;
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{path}"))).unwrap(),
            repo_file(path)
        );
    }
}

#[test]
fn a_path_ending_with_a_slash_is_refused() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let hello = support::server::hash_of(&repo_file("hello.txt"));
    batch(
        &sandbox,
        &server,
        &["-C", "out"],
        &format!("{hello} hello.txt\n{hello} dir/\n"),
    )
    .expect_code(2)
    .expect_stderr("<stdin>: line 2: path 'dir/' ends with '/'");
    std::fs::write(sandbox.join("list.txt"), format!("{hello} \"dir/\"\n")).unwrap();
    let all = [
        "--host",
        server.url.as_str(),
        "batch",
        "ox/demo",
        "list.txt",
        "-C",
        "out",
    ];
    sandbox
        .run(&all)
        .expect_code(2)
        .expect_stderr("list.txt: line 1: path 'dir/' ends with '/'");
    assert_eq!(
        sandbox.files(),
        vec!["list.txt".to_string()],
        "nothing written"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.batch_hashes().is_empty()),
        "nothing requested"
    );
}

#[test]
fn ls_of_a_file_lists_that_file() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    // The assumption the fallback rests on: /dir answers a file path as it answers a missing one.
    // (The real server's answer is not captured; see `single_file` in src/commands/ls.rs.)
    let answer = |path: &str| {
        let url = format!("{}/api/repos/ox/demo/dir/main/{path}", server.url);
        let mut answer = ureq::get(&url)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap();
        let body: serde_json::Value =
            serde_json::from_slice(&answer.body_mut().read_to_vec().unwrap()).unwrap();
        (answer.status().as_u16(), body["error"]["title"].clone())
    };
    let file = answer("nested/a.txt");
    assert_eq!(file, (404, serde_json::json!("Path does not exist")));
    assert_eq!(file, answer("nested/nope.txt"));

    let run = ls(&sandbox, &server, &["main/nested/a.txt"]);
    run.expect_code(0)
        .expect_stderr("main/nested/a.txt is a file, not a directory");
    let hash = support::server::hash_of(&repo_file("nested/a.txt"));
    assert_eq!(
        String::from_utf8(run.stdout).unwrap(),
        format!("{hash} a.txt\n")
    );

    let run = ls(&sandbox, &server, &["feature/x/hello.txt", "--long", "-q"]);
    run.expect_code(0);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let bytes = support::server::fixture_body("get-branch-slash");
    assert_eq!(
        String::from_utf8(run.stdout).unwrap(),
        format!(
            "{:>12}  {:32}  hello.txt\n",
            bytes.len(),
            support::server::hash_of(&bytes)
        )
    );

    let run = ls(&sandbox, &server, &["main/data.csv", "--json"]);
    let lines = json_lines(&run.stdout);
    assert_eq!(lines[0]["path"], "data.csv");
    assert_eq!(lines[1]["summary"]["files"], 1);

    // A missing path is still not found, and so is a file when the server has no metadata route.
    ls(&sandbox, &server, &["main/nested/nope.txt"])
        .expect_code(3)
        .expect_stderr("cannot list main/nested/nope.txt in ox/demo")
        .expect_stderr("Path does not exist");
    let no_meta = TestServer::with(support::server::Config {
        meta: support::server::MetaMode::Absent,
        ..Default::default()
    });
    ls(&sandbox, &no_meta, &["main/hello.txt"])
        .expect_code(3)
        .expect_stderr("cannot list main/hello.txt in ox/demo");
}
