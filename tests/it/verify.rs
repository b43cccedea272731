//! `oxdl verify`: files on disk checked against a hash list, offline; its three outcomes and exit codes.

use crate::support;

use support::server::{fixtures, hash_of};
use support::{Run, Sandbox, TestServer, batch, sha256_hex};

/// Writes `files` (path, content) below `dir` in the sandbox and returns their `HASH PATH` list, each
/// path as the list format writes it (quoted when it must be).
fn tree(sandbox: &Sandbox, dir: &str, files: &[(&str, &[u8])]) -> String {
    let mut list = String::new();
    for (path, bytes) in files {
        let target = sandbox.join(dir).join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, bytes).unwrap();
        list.push_str(&format!(
            "{} {}\n",
            hash_of(bytes),
            oxdl::disk::listfmt::quote(path)
        ));
    }
    list
}

/// Three files in `out`, one of them in a subdirectory and one named by its hash alone.
fn three(sandbox: &Sandbox) -> String {
    let mut list = tree(
        sandbox,
        "out",
        &[("a.txt", b"alpha\n"), ("sub/b.txt", b"bravo\n")],
    );
    let charlie = hash_of(b"charlie\n");
    std::fs::write(sandbox.join("out").join(&charlie), b"charlie\n").unwrap();
    list.push_str(&format!("{charlie}\n"));
    list
}

fn verify(sandbox: &Sandbox, args: &[&str], list: &str) -> Run {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    sandbox.run_with_stdin(&all, list.as_bytes())
}

fn stdout(run: &Run) -> &str {
    std::str::from_utf8(&run.stdout).unwrap()
}

fn json_lines(run: &Run) -> Vec<serde_json::Value> {
    support::json_lines(&run.stdout)
}

#[test]
fn files_that_match_exit_0_and_print_nothing() {
    let sandbox = Sandbox::new();
    let list = three(&sandbox);
    std::fs::write(sandbox.join("list.txt"), &list).unwrap();
    let run = sandbox.run(&["verify", "list.txt", "-C", "out"]);
    run.expect_code(0)
        .expect_stderr("3 ok, 0 mismatch, 0 missing; 20 bytes checked in out");
    assert_eq!(stdout(&run), "");
    let quiet = sandbox.run(&["verify", "list.txt", "-C", "out", "-q"]);
    quiet.expect_code(0);
    assert_eq!((stdout(&quiet), quiet.stderr.as_str()), ("", ""));
}

#[test]
fn what_batch_fetched_verifies() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let list = std::fs::read_to_string(fixtures().join("hashes-with-paths.txt")).unwrap();
    batch(&sandbox, &server, &["-C", "out"], &list).expect_code(0);
    let requests = server.requests().len();
    let run = verify(&sandbox, &["-C", "out", "-j", "3"], &list);
    run.expect_code(0)
        .expect_stderr("8 ok, 0 mismatch, 0 missing");
    assert_eq!(stdout(&run), "");
    assert_eq!(server.requests().len(), requests, "verify asks no server");
}

#[test]
fn a_changed_file_is_a_mismatch_exit_6() {
    let sandbox = Sandbox::new();
    let list = three(&sandbox);
    std::fs::write(sandbox.join("out/sub/b.txt"), b"bravo?\n").unwrap();
    let run = verify(&sandbox, &["-C", "out"], &list);
    run.expect_code(6)
        .expect_stderr("2 ok, 1 mismatch, 0 missing")
        .expect_stderr("1 of 3 file(s) do not match their hash");
    assert_eq!(stdout(&run), "mismatch sub/b.txt\n");
}

#[test]
fn files_only_missing_exit_5() {
    let sandbox = Sandbox::new();
    let list = three(&sandbox);
    std::fs::remove_file(sandbox.join("out/a.txt")).unwrap();
    std::fs::remove_dir_all(sandbox.join("out/sub")).unwrap();
    let run = verify(&sandbox, &["-C", "out"], &list);
    run.expect_code(5)
        .expect_stderr("1 ok, 0 mismatch, 2 missing")
        .expect_stderr("2 of 3 file(s) are missing");
    assert_eq!(stdout(&run), "missing a.txt\nmissing sub/b.txt\n");

    // A directory that does not exist holds none of the files: all missing, said once.
    let run = verify(&sandbox, &["-C", "nowhere"], &list);
    run.expect_code(5).expect_stderr("nowhere does not exist");
    assert_eq!(stdout(&run).lines().count(), 3);
}

#[test]
fn a_mismatch_with_missing_files_exits_6_and_reports_in_list_order() {
    let sandbox = Sandbox::new();
    // Enough files that parallel workers finish out of order.
    let files: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| (format!("f{i:03}.bin"), vec![i as u8; 1000 + i * 37]))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let list = tree(&sandbox, "out", &refs);
    let mut expected = String::new();
    for i in (0..200).step_by(7) {
        let path = sandbox.join(&format!("out/f{i:03}.bin"));
        if i % 2 == 0 {
            std::fs::remove_file(path).unwrap();
            expected.push_str(&format!("missing f{i:03}.bin\n"));
        } else {
            std::fs::write(path, b"changed").unwrap();
            expected.push_str(&format!("mismatch f{i:03}.bin\n"));
        }
    }
    for jobs in ["1", "4", "16"] {
        let run = verify(&sandbox, &["-C", "out", "-j", jobs], &list);
        run.expect_code(6)
            .expect_stderr("171 ok, 14 mismatch, 15 missing");
        assert_eq!(stdout(&run), expected, "-j {jobs}");
    }
}

#[test]
fn the_list_comes_from_a_file_a_pipe_or_dash() {
    let sandbox = Sandbox::new();
    let list = three(&sandbox);
    std::fs::remove_file(sandbox.join("out/a.txt")).unwrap();
    std::fs::write(sandbox.join("list.txt"), &list).unwrap();
    let from_file = verify(&sandbox, &["list.txt", "-C", "out"], "");
    let piped = verify(&sandbox, &["-C", "out"], &list);
    let dash = verify(&sandbox, &["-", "--output-dir", "out"], &list);
    for run in [&from_file, &piped, &dash] {
        run.expect_code(5);
        assert_eq!(stdout(run), "missing a.txt\n");
    }
    // -0 reads NUL-separated records, as `ls -0` writes them.
    let nul = list.replace('\n', "\0");
    let run = verify(&sandbox, &["-0", "-C", "out"], &nul);
    run.expect_code(5);
    assert_eq!(stdout(&run), "missing a.txt\n");
}

#[test]
fn json_has_one_object_per_file_and_a_summary() {
    let sandbox = Sandbox::new();
    let mut list = three(&sandbox);
    std::fs::write(sandbox.join("out/sub/b.txt"), b"bravo?\n").unwrap();
    list.push_str(&format!("{} gone.txt\n", hash_of(b"gone")));
    let run = verify(&sandbox, &["--json", "-C", "out"], &list);
    run.expect_code(6);
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 5, "{}", stdout(&run));
    assert_eq!(lines[0]["path"], "a.txt");
    assert_eq!(lines[0]["status"], "ok");
    assert_eq!(lines[0]["hash"], hash_of(b"alpha\n"));
    assert_eq!(lines[0]["bytes"], 6);
    assert_eq!(lines[0]["sha256"], sha256_hex(b"alpha\n"));
    assert_eq!(lines[1]["path"], "sub/b.txt");
    assert_eq!(lines[1]["status"], "mismatch");
    assert_eq!(lines[1]["bytes"], 7, "the size found");
    assert!(lines[1]["sha256"].is_null());
    assert_eq!(lines[2]["status"], "ok");
    assert_eq!(lines[2]["path"], hash_of(b"charlie\n"));
    assert_eq!(lines[3]["path"], "gone.txt");
    assert_eq!(lines[3]["status"], "missing");
    assert!(lines[3]["bytes"].is_null());
    assert_eq!(
        lines[4]["summary"],
        serde_json::json!({"files": 4, "ok": 2, "mismatch": 1, "missing": 1, "bytes": 21})
    );
}

#[test]
fn checksums_of_the_files_that_match_pass_sha256sum() {
    let sandbox = Sandbox::new();
    let mut list = three(&sandbox);
    list.push_str(&tree(&sandbox, "out", &[("with space.txt", b"space\n")]));
    std::fs::write(sandbox.join("out/a.txt"), b"changed").unwrap();
    let run = verify(&sandbox, &["--checksums", "sums.txt", "-C", "out"], &list);
    run.expect_code(6);
    let manifest = std::fs::read_to_string(sandbox.join("sums.txt")).unwrap();
    assert_eq!(manifest.lines().count(), 3, "{manifest}");
    assert!(!manifest.contains("a.txt"), "a mismatch is not listed");
    assert!(manifest.contains(&format!("{}  with space.txt\n", sha256_hex(b"space\n"))));
    let (passed, out) = crate::support::sha256sum_check(&sandbox.join("out"), "../sums.txt");
    assert!(passed, "{out}");
}

#[test]
fn names_are_read_and_written_with_the_list_quoting() {
    let sandbox = Sandbox::new();
    let list = tree(
        &sandbox,
        "out",
        &[
            (" lead.txt", b"1"),
            ("line\nbreak.txt", b"2"),
            ("esc\u{1b}.txt", b"3"),
            ("plain \"inner\".txt", b"4"),
        ],
    );
    assert!(list.contains("\"line\\nbreak.txt\""), "{list}");
    verify(&sandbox, &["-C", "out"], &list).expect_code(0);
    for name in [
        " lead.txt",
        "line\nbreak.txt",
        "esc\u{1b}.txt",
        "plain \"inner\".txt",
    ] {
        std::fs::write(sandbox.join("out").join(name), b"changed").unwrap();
    }
    let run = verify(&sandbox, &["-C", "out"], &list);
    run.expect_code(6);
    assert_eq!(
        stdout(&run),
        "mismatch \" lead.txt\"\nmismatch \"line\\nbreak.txt\"\nmismatch \"esc\\x1b.txt\"\n\
         mismatch plain \"inner\".txt\n"
    );
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn verify_needs_no_server_token_or_config() {
    let sandbox = Sandbox::new();
    let list = three(&sandbox);
    let config = sandbox.join("cfg");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("auth_config.toml"), "this is [not toml").unwrap();
    let closed = format!("http://127.0.0.1:{}", closed_port());
    // Each of these settings fails a command that talks to a server (checked with `ls` below): a closed
    // port, a malformed auth_config.toml (code 2 once read), a proxy that is no URL, a --host that
    // cannot be parsed.
    let traps: [&[&str]; 4] = [
        &["--host", &closed],
        &["--host", &closed, "--config-dir", config.to_str().unwrap()],
        &["--host", &closed, "--proxy", "::not a proxy::"],
        &["--host", "http://[::1"],
    ];
    for trap in traps {
        let online = sandbox.run(&[trap, &["--retries", "0", "ls", "ox/demo", "main"]].concat());
        assert_ne!(
            online.code, 0,
            "{trap:?} must fail a command that needs the server"
        );
        let run =
            sandbox.run_with_stdin(&[trap, &["verify", "-C", "out"]].concat(), list.as_bytes());
        run.expect_code(0)
            .expect_stderr("3 ok, 0 mismatch, 0 missing");
        assert!(!run.stderr.contains("warning"), "{trap:?}: {}", run.stderr);
    }
    // The same through the environment, which sets the global options.
    let mut command = sandbox.command(&["verify", "-C", "out"]);
    command
        .env("OXDL_HOST", "http://[::1")
        .env("OXDL_TOKEN", "secret")
        .env("OXEN_CONFIG_DIR", &config)
        .env("HTTPS_PROXY", "::not a proxy::");
    sandbox.run_command(command, list.as_bytes()).expect_code(0);
}

#[cfg(unix)]
#[test]
fn a_directory_link_or_special_file_in_place_of_a_file_is_a_mismatch() {
    let sandbox = Sandbox::new();
    let list = tree(
        &sandbox,
        "out",
        &[("dir", b"d"), ("link", b"l"), ("fifo", b"f"), ("ok", b"o")],
    );
    let out = sandbox.join("out");
    for name in ["dir", "link", "fifo"] {
        std::fs::remove_file(out.join(name)).unwrap();
    }
    std::fs::create_dir(out.join("dir")).unwrap();
    // A link to the right content: batch would replace the link, not trust it.
    std::fs::write(out.join("target"), b"l").unwrap();
    std::os::unix::fs::symlink("target", out.join("link")).unwrap();
    let mkfifo = std::process::Command::new("mkfifo")
        .arg(out.join("fifo"))
        .status()
        .unwrap();
    assert!(mkfifo.success());
    // A FIFO is never opened, so this cannot hang.
    let run = verify(&sandbox, &["-C", "out"], &list);
    run.expect_code(6)
        .expect_stderr("oxdl: dir is a directory, not a file")
        .expect_stderr("oxdl: link is a symbolic link, not a file")
        .expect_stderr("oxdl: fifo is a FIFO, not a regular file");
    assert_eq!(stdout(&run), "mismatch dir\nmismatch link\nmismatch fifo\n");
    let json = verify(&sandbox, &["-C", "out", "--json", "-q"], &list);
    assert_eq!(
        json.stderr.lines().count(),
        1,
        "only the error: {}",
        json.stderr
    );
    let lines = json_lines(&json);
    assert_eq!(lines[0]["error"], "is a directory, not a file");
    assert_eq!(lines[3]["status"], "ok");
}

#[cfg(unix)]
#[test]
fn a_path_through_a_linked_directory_is_refused_as_batch_refuses_it() {
    let sandbox = Sandbox::new();
    let list = tree(&sandbox, "elsewhere", &[("x.txt", b"x")]);
    let list = format!(
        "{}{}",
        tree(&sandbox, "out", &[("a.txt", b"a")]),
        list.replace(" x", " link/x")
    );
    std::os::unix::fs::symlink("../elsewhere", sandbox.join("out/link")).unwrap();
    std::fs::write(sandbox.join("list.txt"), &list).unwrap();
    // From a file, the list is checked whole before any file is: nothing on stdout.
    let run = verify(&sandbox, &["list.txt", "-C", "out"], "");
    run.expect_code(2)
        .expect_stderr(
            "'link/x.txt' leads through 'link', a symbolic link inside the output directory",
        )
        .expect_stderr("batch refuses this path");
    assert_eq!(stdout(&run), "");
    let piped = verify(&sandbox, &["-C", "out"], &list);
    piped.expect_code(2);
    // The directory itself may be a link, as for batch.
    std::os::unix::fs::symlink("out", sandbox.join("out-link")).unwrap();
    let first_line = list.lines().next().unwrap();
    verify(&sandbox, &["-C", "out-link"], first_line).expect_code(0);
}

#[cfg(target_os = "linux")]
#[test]
fn an_unreadable_file_is_reported_and_exits_1_after_the_others() {
    // /proc/self/mem is a regular file whose read at offset 0 fails (EIO), for root as well; the
    // process reading it is oxdl itself. Its neighbours give a mismatch and a missing file.
    let sandbox = Sandbox::new();
    let any = hash_of(b"anything");
    let list = format!("{any} mem\n{any} cmdline\n{any} no-such-file\n");
    let run = verify(&sandbox, &["-C", "/proc/self"], &list);
    run.expect_code(1)
        .expect_stderr("oxdl: error: mem cannot be read: Input/output error")
        .expect_stderr("0 ok, 2 mismatch, 1 missing")
        .expect_stderr("1 file(s) could not be read");
    assert_eq!(
        stdout(&run),
        "mismatch mem\nmismatch cmdline\nmissing no-such-file\n"
    );
    // Quiet keeps the error.
    let quiet = verify(&sandbox, &["-C", "/proc/self", "-q", "--json"], &list);
    quiet.expect_code(1).expect_stderr("mem cannot be read");
    let lines = json_lines(&quiet);
    assert_eq!(lines[0]["status"], "mismatch");
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot be read: Input/output error"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["status"], "mismatch");
    assert_eq!(lines[2]["status"], "missing");
}

#[test]
fn bad_input_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let list = three(&sandbox);
    let bad = format!("{list}not-a-hash x\n");
    std::fs::write(sandbox.join("bad.txt"), &bad).unwrap();
    let run = verify(&sandbox, &["bad.txt", "-C", "out"], "");
    run.expect_code(2).expect_stderr("bad.txt: line 4");
    assert_eq!(stdout(&run), "", "a list from a file is checked first");
    verify(&sandbox, &["-C", "out/a.txt"], &list)
        .expect_code(2)
        .expect_stderr("out/a.txt is not a directory");
    verify(&sandbox, &["missing-list.txt"], "")
        .expect_code(2)
        .expect_stderr("cannot open hash list missing-list.txt");
    let empty = verify(&sandbox, &["-C", "out"], "# nothing\n");
    empty.expect_code(0).expect_stderr("the hash list is empty");
    // A piped list is checked as it arrives: the files before the bad line are reported.
    std::fs::remove_file(sandbox.join("out/a.txt")).unwrap();
    let piped = verify(&sandbox, &["-C", "out"], &bad);
    piped.expect_code(2).expect_stderr("<stdin>: line 4");
    assert_eq!(stdout(&piped), "missing a.txt\n");
}
