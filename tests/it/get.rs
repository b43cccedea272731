//! `oxdl get` against the loopback server: the real binary, real HTTP.

use crate::support;

use support::server::{Config, FEATURE_COMMIT, MAIN_COMMIT, fixture_body};
use support::{Sandbox, TestServer, get, repo_file};

#[test]
fn get_to_file_by_default_name_reports_revision() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/hello.txt"]);
    run.expect_code(0).expect_stderr(&format!(
        "hello.txt: 49 bytes, revision {MAIN_COMMIT}, verified"
    ));
    assert!(
        run.stdout.is_empty(),
        "nothing on stdout when writing a file"
    );
    assert_eq!(
        std::fs::read(sandbox.join("hello.txt")).unwrap(),
        fixture_body("get-hello")
    );
    assert_eq!(sandbox.files(), vec!["hello.txt"]);
    // The metadata and the body are asked for at once (so in either order), the body by the revision
    // as given: its `oxen-revision-id` tells whether it is the version the metadata describes.
    let requests = server.requests();
    let mut targets: Vec<&str> = requests.iter().map(|r| r.target.as_str()).collect();
    targets.sort();
    assert_eq!(
        targets,
        vec![
            "/api/repos/ox/demo/meta/main/hello.txt",
            "/api/repos/ox/demo/versions/main/hello.txt"
        ]
    );
    let request = requests
        .iter()
        .find(|r| r.target.contains("/versions/"))
        .unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.header("user-agent"),
        Some(concat!("oxdl/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(request.header("authorization"), None);
}

#[test]
fn get_to_stdout_writes_only_the_bytes() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/data.csv", "-o", "-"]);
    run.expect_code(0).expect_stderr(MAIN_COMMIT);
    assert_eq!(run.stdout, fixture_body("get-commit"));
    assert!(sandbox.files().is_empty());
}

#[test]
fn get_quiet_prints_nothing() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["-q", "main/data.csv", "-o", "-"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout, repo_file("data.csv"));
}

#[test]
fn get_by_commit_and_by_branch_with_slash() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(
        &sandbox,
        &server,
        &[&format!("{MAIN_COMMIT}/data.csv"), "-o", "c.csv"],
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("c.csv")).unwrap(),
        fixture_body("get-commit")
    );
    get(&sandbox, &server, &["feature/x/hello.txt", "-o", "out/"])
        .expect_code(0)
        .expect_stderr(FEATURE_COMMIT);
    assert_eq!(
        std::fs::read(sandbox.join("out/hello.txt")).unwrap(),
        fixture_body("get-branch-slash")
    );
}

#[test]
fn get_into_existing_directory_and_nested_path() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.join("dir")).unwrap();
    get(
        &sandbox,
        &server,
        &["main/nested/deeper/c.txt", "-o", "dir"],
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("dir/c.txt")).unwrap(),
        repo_file("nested/deeper/c.txt")
    );
    get(
        &sandbox,
        &server,
        &["main/nested/a.txt", "-o", "new/sub/a.txt"],
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("new/sub/a.txt")).unwrap(),
        repo_file("nested/a.txt")
    );
}

#[test]
fn get_percent_encodes_each_segment() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/nested/with space.txt"]).expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("with space.txt")).unwrap(),
        fixture_body("get-space")
    );
    // Odd names that are not in the repository still show how they are sent.
    get(&sandbox, &server, &["main/we#ird?/50%+1.txt", "-o", "-"]).expect_code(3);
    // Metadata and body go out at once, so their order is not fixed.
    let mut targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    targets.sort();
    assert_eq!(
        targets,
        vec![
            "/api/repos/ox/demo/meta/main/nested/with%20space.txt",
            "/api/repos/ox/demo/meta/main/we%23ird%3F/50%25%2B1.txt",
            "/api/repos/ox/demo/versions/main/nested/with%20space.txt",
            "/api/repos/ox/demo/versions/main/we%23ird%3F/50%25%2B1.txt",
        ]
    );
    get(
        &sandbox,
        &server,
        &["--no-verify", "main/we#ird?/50%+1.txt", "-o", "-"],
    )
    .expect_code(3);
    assert_eq!(
        server.requests().last().unwrap().target,
        "/api/repos/ox/demo/versions/main/we%23ird%3F/50%25%2B1.txt"
    );
}

#[test]
fn get_empty_file() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/nested/empty.txt"]).expect_code(0);
    assert_eq!(std::fs::read(sandbox.join("empty.txt")).unwrap(), b"");
}

#[test]
fn get_resize_reaches_the_server() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(
        &sandbox,
        &server,
        &[
            "main/images/gradient.png",
            "--width",
            "32",
            "--height",
            "32",
        ],
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("gradient.png")).unwrap(),
        fixture_body("get-resize-32x32")
    );
    get(
        &sandbox,
        &server,
        &["main/images/gradient.png", "--width", "16", "-o", "w16.png"],
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("w16.png")).unwrap(),
        fixture_body("get-resize-w16")
    );
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        vec![
            "/api/repos/ox/demo/versions/main/images/gradient.png?width=32&height=32",
            "/api/repos/ox/demo/versions/main/images/gradient.png?width=16",
        ]
    );
    // Not a number: clap refuses before any request.
    get(
        &sandbox,
        &server,
        &["main/images/gradient.png", "--width", "abc"],
    )
    .expect_code(2)
    .expect_stderr("--width");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn get_root_file_named_metadata_uses_the_file_route() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(
        &sandbox,
        &server,
        &["main/metadata", "--no-verify", "-o", "-"],
    )
    .expect_code(3);
    assert_eq!(
        server.requests()[0].target,
        "/api/repos/ox/demo/file/main/metadata"
    );
}

#[test]
fn get_missing_path_revision_directory_and_repo() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/nope.txt"])
        .expect_code(3)
        .expect_stderr("oxdl: error: cannot download main/nope.txt from ox/demo: Path does not exist: Could not find path: nope.txt (HTTP 404)");
    get(&sandbox, &server, &["nobranch/hello.txt"])
        .expect_code(3)
        .expect_stderr("Could not find path: nobranch/hello.txt (HTTP 404)");
    get(&sandbox, &server, &["main/nested"])
        .expect_code(3)
        .expect_stderr("main/nested is a directory, not a file");
    let run = sandbox.run(&["--host", &server.url, "get", "ox/nope", "main/hello.txt"]);
    run.expect_code(3)
        .expect_stderr("Repository 'ox/nope' not found (HTTP 404)");
    assert!(
        sandbox.files().is_empty(),
        "nothing written: {:?}",
        sandbox.files()
    );
}

#[test]
fn get_bad_arguments_are_usage_errors() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["hello.txt"])
        .expect_code(2)
        .expect_stderr("REVISION/PATH");
    sandbox
        .run(&["--host", &server.url, "get", "demo", "main/hello.txt"])
        .expect_code(2)
        .expect_stderr("NAMESPACE/REPO");
    sandbox
        .run(&[
            "--host",
            "ftp://example.com",
            "get",
            "ox/demo",
            "main/hello.txt",
        ])
        .expect_code(2)
        .expect_stderr("unsupported scheme");
    assert!(server.requests().is_empty());
}

#[test]
fn get_unreachable_server_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let sandbox = Sandbox::new();
    sandbox
        .run(&[
            "--host",
            &format!("127.0.0.1:{port}"),
            "get",
            "ox/demo",
            "main/hello.txt",
            "--retries",
            "0",
        ])
        .expect_code(7)
        .expect_stderr(&format!("cannot reach http://127.0.0.1:{port}"));
}

#[test]
fn get_cut_short_keeps_the_older_file_and_leaves_no_temp() {
    let server = TestServer::with(Config {
        cut_get_after: Some(10),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("hello.txt"), b"older version").unwrap();
    get(&sandbox, &server, &["main/hello.txt", "--retries", "1"])
        .expect_code(6)
        .expect_stderr("the stream broke after 10 bytes of hello.txt")
        .expect_stderr("retry 1 of 1")
        .expect_stderr("cannot download main/hello.txt from ox/demo");
    assert_eq!(
        std::fs::read(sandbox.join("hello.txt")).unwrap(),
        b"older version"
    );
    assert_eq!(
        sandbox.files(),
        vec!["hello.txt"],
        "no temp file left behind"
    );
}

#[test]
fn get_failure_before_the_body_keeps_the_older_file() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("nope.txt"), b"mine").unwrap();
    get(&sandbox, &server, &["main/nope.txt"]).expect_code(3);
    assert_eq!(std::fs::read(sandbox.join("nope.txt")).unwrap(), b"mine");
    assert_eq!(sandbox.files(), vec!["nope.txt"]);
}

#[test]
fn get_unwritable_destination_names_the_path() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("file"), b"x").unwrap();
    // A regular file where a directory is needed.
    get(
        &sandbox,
        &server,
        &["main/hello.txt", "-o", "file/sub/hello.txt"],
    )
    .expect_code(1)
    .expect_stderr("file/sub");
    assert_eq!(sandbox.files(), vec!["file"]);
}

/// Makes a FIFO at `path` with mkfifo(1).
fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo failed");
}

#[test]
fn get_writes_through_a_fifo_instead_of_replacing_it() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let fifo = sandbox.join("pipe");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    get(&sandbox, &server, &["main/hello.txt", "-o", "pipe"]).expect_code(0);
    assert_eq!(reader.join().unwrap(), fixture_body("get-hello"));
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO is still a FIFO");
    assert_eq!(sandbox.files(), vec!["pipe"], "no temp file left behind");
}

#[test]
fn get_writes_through_a_character_device() {
    let sandbox = Sandbox::new();
    let device = sandbox.join("null");
    // A copy of /dev/null (major 1, minor 3) made here, so the real one is never at risk.
    let made = std::process::Command::new("mknod")
        .arg(&device)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("skipped: mknod needs root (CAP_MKNOD) to make a character device");
        return;
    }
    let server = TestServer::start();
    get(&sandbox, &server, &["main/hello.txt", "-o", "null"])
        .expect_code(0)
        .expect_stderr("verified");
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::symlink_metadata(&device).unwrap().file_type();
    assert!(kind.is_char_device(), "the device was replaced by a file");
    assert_eq!(sandbox.files(), vec!["null"]);
}

#[test]
fn get_through_a_symlink_replaces_the_file_it_names_and_keeps_the_link() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.join("real")).unwrap();
    std::fs::write(sandbox.join("real/hello.txt"), b"older").unwrap();
    std::os::unix::fs::symlink("real/hello.txt", sandbox.join("link.txt")).unwrap();
    get(&sandbox, &server, &["main/hello.txt", "-o", "link.txt"]).expect_code(0);
    let link = std::fs::symlink_metadata(sandbox.join("link.txt")).unwrap();
    assert!(link.file_type().is_symlink(), "the link stays a link");
    assert_eq!(
        std::fs::read(sandbox.join("real/hello.txt")).unwrap(),
        fixture_body("get-hello")
    );
}

#[test]
fn get_to_dev_stdout_and_a_descriptor_writes_through() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/hello.txt", "-o", "/dev/stdout"]);
    run.expect_code(0);
    assert_eq!(run.stdout, fixture_body("get-hello"));
    let run = get(&sandbox, &server, &["main/hello.txt", "-o", "/dev/fd/1"]);
    run.expect_code(0);
    assert_eq!(run.stdout, fixture_body("get-hello"));
    assert!(sandbox.files().is_empty());
}

#[test]
fn get_to_a_closed_stdout_fails() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    // `>&-`: the child starts with descriptor 1 closed.
    let run = sandbox.run_redirected(
        &[
            "--host",
            server.url.as_str(),
            "get",
            "ox/demo",
            "main/hello.txt",
            "-o",
            "-",
        ],
        ">&-",
    );
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert!(run.stderr.contains("stdout"), "{}", run.stderr);
    assert!(!run.stderr.contains("verified"), "{}", run.stderr);
}

#[test]
fn get_to_dev_stdout_when_stdout_was_closed_fails() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = sandbox.run_redirected(
        &[
            "--host",
            server.url.as_str(),
            "get",
            "ox/demo",
            "main/hello.txt",
            "-o",
            "/dev/stdout",
        ],
        ">&-",
    );
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert!(run.stderr.contains("stdout was closed"), "{}", run.stderr);
}

#[test]
fn a_stdout_on_dev_null_opened_read_write_is_a_real_output() {
    // What Python's subprocess.DEVNULL and daemon(3) give: /dev/null opened read-write, not closed.
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    for args in [
        &["get", "ox/demo", "main/hello.txt", "-o", "-"][..],
        &["--json", "get", "ox/demo", "main/hello.txt", "-o", "h.txt"][..],
        &["ls", "ox/demo", "main"][..],
    ] {
        let mut all = vec!["--host", server.url.as_str()];
        all.extend_from_slice(args);
        sandbox.run_redirected(&all, "1<>/dev/null").expect_code(0);
    }
}

#[test]
fn get_mismatch_on_stdout_says_the_output_is_not_to_be_trusted() {
    let server = TestServer::with(Config {
        meta: support::server::MetaMode::WrongHash,
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/hello.txt", "-o", "-"]);
    run.expect_code(6)
        .expect_stderr("already written to stdout are not to be trusted");
    assert!(
        !run.stderr.contains("nothing was written"),
        "{}",
        run.stderr
    );
}

#[test]
fn get_json_reports_a_failure_on_stdout() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["--json", "main/nope.txt"]);
    run.expect_code(3);
    let text = String::from_utf8(run.stdout.clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["status"], "failed");
    assert_eq!(lines[0]["path"], "nope.txt");
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot download main/nope.txt"),
        "{text}"
    );
    assert_eq!(lines[1]["summary"]["failed"], 1);
    assert_eq!(lines[1]["summary"]["fetched"], 0);
    assert_eq!(lines[1]["summary"]["bytes"], 0);

    // A mismatch: the hash the file should have had is known.
    let server = TestServer::with(Config {
        meta: support::server::MetaMode::WrongHash,
        ..Config::default()
    });
    let run = get(&sandbox, &server, &["--json", "main/hello.txt"]);
    run.expect_code(6);
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&run.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["status"], "failed");
    assert!(first["hash"].is_string());
}

#[test]
fn flags_that_would_do_nothing_are_refused() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(
        &sandbox,
        &server,
        &["--checksums", "sums.txt", "main/hello.txt", "-o", "-"],
    )
    .expect_code(2)
    .expect_stderr("--checksums");
    sandbox
        .run(&[
            "--host",
            server.url.as_str(),
            "--checksums",
            "sums.txt",
            "ls",
            "ox/demo",
            "main",
        ])
        .expect_code(2)
        .expect_stderr("--checksums");
    assert!(sandbox.files().is_empty());
    assert!(server.requests().is_empty(), "refused before any request");
}

#[test]
fn get_checksums_into_a_fifo_is_written_through() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let fifo = sandbox.join("sums");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    get(
        &sandbox,
        &server,
        &["--checksums", "sums", "main/hello.txt"],
    )
    .expect_code(0);
    let text = reader.join().unwrap();
    assert!(text.ends_with("  hello.txt\n"), "{text:?}");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn get_refuses_a_zero_resize() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    for flag in ["--width", "--height"] {
        get(&sandbox, &server, &["main/images/gradient.png", flag, "0"])
            .expect_code(2)
            .expect_stderr(flag);
    }
    assert!(server.requests().is_empty());
    assert!(sandbox.files().is_empty());
}

#[test]
fn get_asks_for_the_metadata_and_the_body_at_once() {
    // Answered late, so that two requests sent one after the other could not overlap.
    let server = TestServer::with(Config {
        latency: Some(std::time::Duration::from_millis(150)),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/hello.txt"])
        .expect_code(0)
        .expect_stderr(&format!(
            "hello.txt: 49 bytes, revision {MAIN_COMMIT}, verified"
        ));
    assert_eq!(
        std::fs::read(sandbox.join("hello.txt")).unwrap(),
        fixture_body("get-hello")
    );
    assert_eq!(server.requests().len(), 2, "the metadata and the body");
    assert_eq!(server.max_in_flight(), 2, "both in flight at once");
}

#[test]
fn get_asks_again_by_commit_when_the_branch_moved_between_its_two_requests() {
    // The metadata sees `main` at the feature commit; the body asked for by branch is still main's.
    // Without a revision id on the body, it cannot be told apart: it is asked for again all the same.
    for no_revision_header in [false, true] {
        let server = TestServer::with(Config {
            meta: support::server::MetaMode::Moved {
                branch: "main".to_string(),
                to: FEATURE_COMMIT.to_string(),
            },
            no_revision_header,
            ..Config::default()
        });
        let sandbox = Sandbox::new();
        get(&sandbox, &server, &["main/hello.txt"])
            .expect_code(0)
            .expect_stderr("bytes, revision ");
        // The bytes the metadata describes, not the ones first sent.
        assert_eq!(
            std::fs::read(sandbox.join("hello.txt")).unwrap(),
            fixture_body("get-branch-slash"),
            "no_revision_header: {no_revision_header}"
        );
        assert!(
            server
                .requests()
                .iter()
                .any(|r| r.target
                    == format!("/api/repos/ox/demo/versions/{FEATURE_COMMIT}/hello.txt")),
            "asked again by the metadata's commit"
        );
        // To stdout too: nothing of the old version goes out.
        let run = get(&sandbox, &server, &["main/hello.txt", "-o", "-"]);
        run.expect_code(0);
        assert_eq!(run.stdout, fixture_body("get-branch-slash"));
    }
}

#[test]
fn get_without_verification_sends_one_request() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/hello.txt", "--no-verify"]).expect_code(0);
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, vec!["/api/repos/ox/demo/versions/main/hello.txt"]);
}
