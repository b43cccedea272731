//! Flaky networks, interruptions and reruns: the real binary against a loopback server that misbehaves.

use crate::support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::server::{Config, Fault, MetaMode, fixture_body, hash_of};
use support::{
    Sandbox, TestServer, batch, get, repo_file, temp_files, wait_for_temp_file, with_paths_txt,
};

fn server_with(faults: Vec<Fault>) -> TestServer {
    TestServer::with(Config {
        faults,
        ..Config::default()
    })
}

fn status(status: u16, retry_after: Option<&str>, body: &str) -> Fault {
    Fault::Status {
        status,
        retry_after: retry_after.map(str::to_string),
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn get_retries_a_503_after_its_retry_after_then_succeeds() {
    let server = server_with(vec![status(503, Some("1"), "maintenance")]);
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let run = get(
        &sandbox,
        &server,
        &["main/hello.txt", "--no-verify", "-o", "-"],
    );
    run.expect_code(0)
        .expect_stderr("oxdl: the server answered: maintenance (HTTP 503); retry 1 of 5 in 1.0s");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(run.stdout, fixture_body("get-hello"));
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn retry_after_as_an_http_date() {
    let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    let server = server_with(vec![status(503, Some(&soon), "busy")]);
    let sandbox = Sandbox::new();
    let started = Instant::now();
    get(
        &sandbox,
        &server,
        &["main/hello.txt", "--no-verify", "-o", "-"],
    )
    .expect_code(0);
    // The date has one-second resolution, so the wait is between one and two seconds.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_429_is_retried_and_so_is_a_500_with_a_text_body() {
    let server = server_with(vec![
        status(429, Some("0"), "slow down"),
        status(500, None, "<html>upstream crashed</html>"),
    ]);
    let sandbox = Sandbox::new();
    let run = get(
        &sandbox,
        &server,
        &["main/hello.txt", "--no-verify", "-o", "-"],
    );
    run.expect_code(0)
        .expect_stderr("slow down (HTTP 429); retry 1 of 5")
        .expect_stderr("<html>upstream crashed</html> (HTTP 500); retry 2 of 5");
    assert_eq!(run.stdout, fixture_body("get-hello"));
}

#[test]
fn retries_are_bounded_and_reported() {
    let failures = (0..3)
        .map(|_| status(502, Some("0"), "bad gateway"))
        .collect();
    let server = server_with(failures);
    let sandbox = Sandbox::new();
    let run = get(
        &sandbox,
        &server,
        &["main/hello.txt", "--no-verify", "--retries", "2"],
    );
    run.expect_code(7)
        .expect_stderr("retry 1 of 2")
        .expect_stderr("retry 2 of 2")
        .expect_stderr("oxdl: error: cannot download main/hello.txt from ox/demo: the server answered: bad gateway (HTTP 502)");
    assert_eq!(server.requests().len(), 3);
    assert!(sandbox.files().is_empty());
}

#[test]
fn retries_come_from_the_environment_too() {
    let server = server_with(vec![
        status(503, Some("0"), "busy"),
        status(503, Some("0"), "busy"),
    ]);
    let sandbox = Sandbox::new();
    let mut command = sandbox.command(&[
        "--host",
        &server.url,
        "get",
        "ox/demo",
        "main/hello.txt",
        "--no-verify",
    ]);
    command.env("OXDL_RETRIES", "1");
    sandbox
        .run_command(command, b"")
        .expect_code(7)
        .expect_stderr("retry 1 of 1");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn other_4xx_and_missing_blobs_are_never_retried() {
    let server = server_with(vec![status(400, None, "bad request")]);
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/hello.txt", "--no-verify"]);
    run.expect_code(7).expect_stderr("bad request (HTTP 400)");
    assert!(!run.stderr.contains("retry"));
    assert_eq!(server.requests().len(), 1);

    let server = TestServer::start();
    let run = batch(&sandbox, &server, &[], "ffffffffffffffffffffffffffffffff\n");
    run.expect_code(5);
    assert!(!run.stderr.contains("retry"));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn get_connection_reset_mid_body_is_retried_whole() {
    // The body, cut short (the metadata, asked for at the same time, is answered whole).
    let server = TestServer::with(Config {
        faults: vec![Fault::Cut(20)],
        faults_for: Some("/versions/".to_string()),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("hello.txt"), b"older").unwrap();
    let run = get(&sandbox, &server, &["main/hello.txt"]);
    run.expect_code(0)
        .expect_stderr("the stream broke after 20 bytes of hello.txt")
        .expect_stderr("retry 1 of 5");
    assert_eq!(
        std::fs::read(sandbox.join("hello.txt")).unwrap(),
        repo_file("hello.txt")
    );
    assert_eq!(sandbox.files(), vec!["hello.txt"]);
}

#[test]
fn a_stall_past_the_read_timeout_fails_the_attempt_then_succeeds() {
    let server = server_with(vec![Fault::Stall(Duration::from_secs(60))]);
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let run = get(
        &sandbox,
        &server,
        &["main/hello.txt", "--no-verify", "--timeout", "0.5"],
    );
    run.expect_code(0)
        .expect_stderr("no data from the server for 0.5s (--timeout)")
        .expect_stderr("retry 1 of 5");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the stall was cut short by the timeout"
    );
    assert_eq!(
        std::fs::read(sandbox.join("hello.txt")).unwrap(),
        repo_file("hello.txt")
    );
}

#[test]
fn a_stall_that_never_ends_is_a_network_failure() {
    let stalls = (0..2)
        .map(|_| Fault::Stall(Duration::from_secs(3)))
        .collect();
    let server = server_with(stalls);
    let sandbox = Sandbox::new();
    get(
        &sandbox,
        &server,
        &[
            "main/hello.txt",
            "--no-verify",
            "--timeout",
            "0.3",
            "--retries",
            "1",
        ],
    )
    .expect_code(7)
    .expect_stderr("no data from the server for 0.3s");
    assert!(sandbox.files().is_empty());
}

#[test]
fn get_verifies_against_the_metadata() {
    let server = TestServer::with(Config {
        meta: MetaMode::WrongHash,
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.join("hello.txt"), b"older").unwrap();
    let run = get(&sandbox, &server, &["main/hello.txt"]);
    run.expect_code(6)
        .expect_stderr("do not match the server's metadata")
        .expect_stderr("nothing was written");
    assert!(!run.stderr.contains("retry"), "a mismatch is final");
    assert_eq!(std::fs::read(sandbox.join("hello.txt")).unwrap(), b"older");
    assert_eq!(sandbox.files(), vec!["hello.txt"]);
    // --no-verify takes the bytes as they come.
    get(&sandbox, &server, &["main/hello.txt", "--no-verify"]).expect_code(0);
    assert_eq!(
        std::fs::read(sandbox.join("hello.txt")).unwrap(),
        repo_file("hello.txt")
    );
}

#[test]
fn get_without_a_metadata_route_still_downloads_with_a_warning() {
    let server = TestServer::with(Config {
        meta: MetaMode::Absent,
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/hello.txt"]);
    run.expect_code(0)
        .expect_stderr("warning: cannot verify main/hello.txt")
        .expect_stderr("downloading without verification");
    assert_eq!(
        std::fs::read(sandbox.join("hello.txt")).unwrap(),
        repo_file("hello.txt")
    );
}

#[test]
fn resized_images_are_not_checked_against_the_original() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    get(
        &sandbox,
        &server,
        &["main/images/gradient.png", "--width", "16"],
    )
    .expect_code(0);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.target.contains("/meta/"))
    );
}

/// A batch list with one large file in the middle, so a cut lands inside the stream.
fn big_list() -> (Vec<(String, Vec<u8>)>, String) {
    let big: Vec<u8> = (0..600_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let files = vec![
        ("hello.txt".to_string(), repo_file("hello.txt")),
        ("data.csv".to_string(), repo_file("data.csv")),
        ("big.bin".to_string(), big),
        ("nested/a.txt".to_string(), repo_file("nested/a.txt")),
    ];
    let list = files
        .iter()
        .map(|(path, bytes)| format!("{} {path}\n", hash_of(bytes)))
        .collect();
    (files, list)
}

#[test]
fn batch_resumes_with_only_the_files_not_yet_written() {
    let (files, list) = big_list();
    let server = TestServer::with(Config {
        extra_blobs: vec![files[2].1.clone()],
        faults: vec![Fault::Cut(200_000)],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let run = batch(&sandbox, &server, &[], &list);
    run.expect_code(0).expect_stderr("retry 1 of 5");
    for (path, bytes) in &files {
        assert_eq!(&std::fs::read(sandbox.join(path)).unwrap(), bytes, "{path}");
    }
    // The bytes of the cut attempt are not counted: the total is what is on disk.
    let on_disk: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    run.expect_stderr(&format!("; {on_disk} bytes written"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let second: Vec<String> = files[2..].iter().map(|(_, b)| hash_of(b)).collect();
    assert_eq!(
        requests[1].batch_hashes(),
        second,
        "only the unwritten files are asked again"
    );
    assert!(temp_files(sandbox.path()).is_empty());
}

#[test]
fn batch_splits_long_lists_into_bounded_requests() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    batch(
        &sandbox,
        &server,
        &["--batch-size", "3", "-C", "out"],
        &with_paths_txt(),
    )
    .expect_code(0)
    .expect_stderr("8 fetched, 0 skipped, 0 missing, 0 failed");
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .map(|r| r.batch_hashes().len())
        .collect();
    assert_eq!(sizes, vec![3, 3, 2]);
}

#[test]
fn one_failed_request_costs_only_its_own_files() {
    // The first request of three fails for good; the other two still land.
    let failures = (0..2).map(|_| status(500, None, "broken")).collect();
    let server = server_with(failures);
    let sandbox = Sandbox::new();
    let run = batch(
        &sandbox,
        &server,
        &["--batch-size", "3", "--retries", "1", "-C", "out"],
        &with_paths_txt(),
    );
    run.expect_code(7)
        .expect_stderr("5 fetched, 0 skipped, 0 missing, 3 failed")
        .expect_stderr("broken (HTTP 500)");
    assert_eq!(sandbox.files().len(), 5);
}

#[test]
fn rerunning_fetches_nothing_and_repairs_what_changed() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    batch(&sandbox, &server, &[], &with_paths_txt()).expect_code(0);
    assert_eq!(server.requests().len(), 1);

    batch(&sandbox, &server, &[], &with_paths_txt())
        .expect_code(0)
        .expect_stderr("0 fetched, 8 skipped, 0 missing, 0 failed");
    assert_eq!(
        server.requests().len(),
        1,
        "nothing requested the second time"
    );

    // A damaged file is fetched again under the hash check, and trusted under the size check.
    std::fs::write(sandbox.join("data.csv"), b"damaged").unwrap();
    batch(
        &sandbox,
        &server,
        &["--skip-existing", "size"],
        &with_paths_txt(),
    )
    .expect_code(0)
    .expect_stderr("0 fetched, 8 skipped");
    assert_eq!(std::fs::read(sandbox.join("data.csv")).unwrap(), b"damaged");
    batch(&sandbox, &server, &[], &with_paths_txt())
        .expect_code(0)
        .expect_stderr("1 fetched, 7 skipped");
    assert_eq!(
        std::fs::read(sandbox.join("data.csv")).unwrap(),
        repo_file("data.csv")
    );
    assert_eq!(
        server.requests().last().unwrap().batch_hashes(),
        vec![hash_of(&repo_file("data.csv"))]
    );

    // --skip-existing never fetches everything again.
    batch(
        &sandbox,
        &server,
        &["--skip-existing", "never"],
        &with_paths_txt(),
    )
    .expect_code(0)
    .expect_stderr("8 fetched, 0 skipped");
}

#[test]
fn a_second_destination_is_filled_locally() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let hello = hash_of(&repo_file("hello.txt"));
    batch(&sandbox, &server, &[], &format!("{hello} a.txt\n")).expect_code(0);
    batch(
        &sandbox,
        &server,
        &[],
        &format!("{hello} a.txt\n{hello} b.txt\n"),
    )
    .expect_code(0)
    // The summary counts files: a.txt was in place, b.txt was copied from it; neither was downloaded.
    .expect_stderr("0 fetched, 2 skipped");
    assert_eq!(
        std::fs::read(sandbox.join("b.txt")).unwrap(),
        repo_file("hello.txt")
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_token_does_not_follow_a_redirect_to_another_host() {
    // Tokens are filed per host and port: even the same address on another port is elsewhere.
    let elsewhere = TestServer::start();
    let redirect_to = elsewhere.url.clone();
    let server = TestServer::with(Config {
        token: Some("tok".into()),
        faults: vec![Fault::Redirect(redirect_to)],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let run = get(
        &sandbox,
        &server,
        &["--token", "tok", "--no-verify", "main/hello.txt", "-o", "-"],
    );
    run.expect_code(0);
    assert_eq!(run.stdout, fixture_body("get-hello"));
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer tok")
    );
    let followed = elsewhere.requests();
    assert_eq!(followed.len(), 1);
    assert_eq!(
        followed[0].target,
        "/api/repos/ox/demo/versions/main/hello.txt"
    );
    assert_eq!(
        followed[0].header("authorization"),
        None,
        "the token stayed home"
    );
}

#[test]
fn verbose_shows_requests_but_never_the_token() {
    let server = TestServer::with(Config {
        token: Some("s3cret".into()),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let run = get(
        &sandbox,
        &server,
        &["-v", "--token", "s3cret", "main/hello.txt", "-o", "-"],
    );
    run.expect_code(0)
        .expect_stderr(&format!(
            "> GET {}/api/repos/ox/demo/versions/main/hello.txt (authorization: Bearer <redacted>)",
            server.url
        ))
        .expect_stderr("< 200 OK after ")
        .expect_stderr("< body: 49 bytes received");
    assert!(!run.stderr.contains("s3cret"));
}

#[test]
fn verbose_logs_the_bytes_that_arrived_not_the_announced_length() {
    let server = TestServer::with(Config {
        cut_get_after: Some(10),
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let run = get(
        &sandbox,
        &server,
        &["-v", "--retries", "0", "main/hello.txt", "-o", "x.txt"],
    );
    run.expect_code(6)
        .expect_stderr("content-length: 49")
        .expect_stderr("< body: 10 bytes received, then: ");
}

#[test]
fn a_token_over_plain_http_to_another_host_is_warned_about() {
    let sandbox = Sandbox::new();
    // Nothing listens on this port of this machine's non-loopback-looking name; the warning comes first.
    let run = sandbox.run(&[
        "--host",
        "http://oxdl-test.invalid",
        "--token",
        "t",
        "--retries",
        "0",
        "get",
        "ox/demo",
        "main/x.txt",
    ]);
    run.expect_stderr(
        "warning: sending the token in clear over plain http to http://oxdl-test.invalid",
    );
    assert_ne!(run.code, 0);
}

/// Starts `oxdl get` on a file whose body stalls, and waits until its temp file exists.
fn start_stalled_download(sandbox: &Sandbox, server: &TestServer) -> Child {
    let mut command = sandbox.command(&[
        "--host",
        &server.url,
        "get",
        "ox/demo",
        "main/hello.txt",
        "--no-verify",
    ]);
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_temp_file(sandbox.path());
    child
}

fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigint_sigterm_and_sighup_remove_the_partial_file() {
    for (name, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let server = server_with(vec![Fault::Stall(Duration::from_secs(30))]);
        let sandbox = Sandbox::new();
        std::fs::write(sandbox.join("hello.txt"), b"older").unwrap();
        let child = start_stalled_download(&sandbox, &server);
        signal(&child, name);
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(code), "SIG{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("interrupted by SIG{name}")),
            "SIG{name}: {stderr}"
        );
        assert_eq!(
            sandbox.files(),
            vec!["hello.txt"],
            "SIG{name}: temp file removed"
        );
        assert_eq!(std::fs::read(sandbox.join("hello.txt")).unwrap(), b"older");
    }
}

#[test]
fn a_temp_file_that_another_machine_is_writing_is_left_alone() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    // As a run on another machine sharing this disk leaves them: a process id that means nothing here
    // (above any Linux pid_max), one file locked by its live writer and one whose writer is gone.
    let live = sandbox.join(".oxdl-4194399-live.part");
    let writer = std::fs::File::create(&live).unwrap();
    writer.lock().unwrap();
    let dead = sandbox.join(".oxdl-4194399-dead.part");
    std::fs::File::create(&dead).unwrap();
    get(&sandbox, &server, &["main/hello.txt"]).expect_code(0);
    assert!(live.exists(), "a locked temp file is somebody's download");
    assert!(
        !dead.exists(),
        "an unlocked one whose owner is gone is swept"
    );
    drop(writer);
}

#[test]
fn a_killed_runs_temp_file_is_swept_by_the_next_run() {
    let server = server_with(vec![Fault::Stall(Duration::from_secs(30))]);
    let sandbox = Sandbox::new();
    let mut child = start_stalled_download(&sandbox, &server);
    signal(&child, "KILL");
    child.wait().unwrap();
    let left = temp_files(sandbox.path());
    assert_eq!(left.len(), 1, "SIGKILL leaves the temp file: {left:?}");
    assert!(
        !sandbox.join("hello.txt").exists(),
        "but never a partial file at the final path"
    );
    get(&sandbox, &server, &["main/hello.txt"]).expect_code(0);
    assert_eq!(
        sandbox.files(),
        vec!["hello.txt"],
        "the stale temp file is gone"
    );
}

#[test]
fn a_live_runs_temp_file_is_left_alone() {
    let sandbox = Sandbox::new();
    // A temp file owned by this (running) test process.
    let mine = format!(".oxdl-{}-abcdef.part", std::process::id());
    std::fs::write(sandbox.join(&mine), b"in progress").unwrap();
    let server = TestServer::start();
    get(&sandbox, &server, &["main/hello.txt"]).expect_code(0);
    assert!(sandbox.join(&mine).exists());
}

#[test]
fn an_unwritable_destination_names_the_path() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    // Not even root can create files in /proc.
    get(
        &sandbox,
        &server,
        &["main/hello.txt", "-o", "/proc/oxdl-test/hello.txt"],
    )
    .expect_code(1)
    .expect_stderr("cannot create directory /proc/oxdl-test");
}

/// Runs a shell script in a private mount namespace with a 64 KiB tmpfs at `$FULL`, so writes there
/// run out of space; returns its stdout.
fn with_tiny_disk(sandbox: &Sandbox, script: &str) -> String {
    let full = sandbox.join("full");
    std::fs::create_dir(&full).unwrap();
    let output = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size=64k tmpfs \"$FULL\" && {script}"
        ))
        .env("FULL", &full)
        .env("OXDL", env!("CARGO_BIN_EXE_oxdl"))
        .current_dir(sandbox.path())
        .output()
        .expect("unshare (util-linux) runs the disk-full test");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn a_full_disk_is_a_clear_error_and_leaves_nothing_half_written() {
    let big: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let big_hash = hash_of(&big);
    let server = TestServer::with(Config {
        extra_files: vec![("big.bin".to_string(), big)],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let hello = hash_of(&repo_file("hello.txt"));
    std::fs::write(
        sandbox.join("list"),
        format!("{hello} hello.txt\n{big_hash} big.bin\n"),
    )
    .unwrap();
    let script = format!(
        "printf older > \"$FULL/big.bin\"; \
         \"$OXDL\" --host {url} get ox/demo main/big.bin -o \"$FULL/big.bin\" 2>&1; echo \"get=$?\"; \
         \"$OXDL\" --host {url} --retries 0 batch ox/demo list -C \"$FULL/out\" 2>&1; echo \"batch=$?\"; \
         ls -A \"$FULL\" \"$FULL/out\"; cat \"$FULL/big.bin\"",
        url = server.url
    );
    let out = with_tiny_disk(&sandbox, &script);
    assert!(out.contains("get=1"), "{out}");
    assert!(out.contains("batch=1"), "{out}");
    assert!(out.contains("No space left on device"), "{out}");
    assert!(
        out.contains("full/big.bin"),
        "the error names the path: {out}"
    );
    assert!(!out.contains(".oxdl-"), "no temp file left: {out}");
    assert!(out.ends_with("older"), "the older file survives: {out}");
    assert!(
        out.contains("hello.txt"),
        "files verified before the failure stay: {out}"
    );
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let big: Vec<u8> = (0..2_000_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let server = TestServer::with(Config {
        extra_files: vec![("big.bin".to_string(), big)],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let mut child = sandbox
        .command(&[
            "--host",
            &server.url,
            "get",
            "ox/demo",
            "main/big.bin",
            "-o",
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn parallel_jobs_split_the_list_and_write_everything() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let all = vec![
        "--host",
        server.url.as_str(),
        "batch",
        "ox/demo",
        "-C",
        "out",
    ];
    sandbox
        .run_with_stdin(&all, with_paths_txt().as_bytes())
        .expect_code(0)
        .expect_stderr("8 fetched, 0 skipped, 0 missing, 0 failed");
    for line in with_paths_txt().lines() {
        let (_, path) = line.split_once(' ').unwrap();
        assert_eq!(
            std::fs::read(sandbox.join(&format!("out/{path}"))).unwrap(),
            repo_file(path)
        );
    }
    // The default four jobs: four requests of two files each, together the whole list once.
    let mut requested: Vec<Vec<String>> =
        server.requests().iter().map(|r| r.batch_hashes()).collect();
    assert!(
        requested.iter().all(|hashes| hashes.len() == 2),
        "{requested:?}"
    );
    let mut all_hashes: Vec<String> = requested.drain(..).flatten().collect();
    all_hashes.sort();
    let mut expected: Vec<String> = with_paths_txt()
        .lines()
        .map(|l| l[..l.find(' ').unwrap()].to_string())
        .collect();
    expected.sort();
    assert_eq!(all_hashes, expected);
}

#[test]
fn parallel_jobs_resume_after_a_cut() {
    let (files, list) = big_list();
    let server = TestServer::with(Config {
        extra_blobs: vec![files[2].1.clone()],
        faults: vec![Fault::Cut(100_000), Fault::Cut(50)],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let all = vec![
        "--host",
        server.url.as_str(),
        "batch",
        "ox/demo",
        "--jobs",
        "2",
    ];
    sandbox
        .run_with_stdin(&all, list.as_bytes())
        .expect_code(0)
        .expect_stderr("retry 1 of 5");
    for (path, bytes) in &files {
        assert_eq!(&std::fs::read(sandbox.join(path)).unwrap(), bytes, "{path}");
    }
    assert!(temp_files(sandbox.path()).is_empty());
}

#[test]
fn get_to_stdout_is_not_retried_once_bytes_went_out() {
    let server = server_with(vec![Fault::Cut(20)]);
    let sandbox = Sandbox::new();
    let run = get(
        &sandbox,
        &server,
        &["main/hello.txt", "--no-verify", "-o", "-"],
    );
    run.expect_code(6)
        .expect_stderr("20 bytes had already gone to stdout, so the download was not retried");
    assert_eq!(
        run.stdout,
        &fixture_body("get-hello")[..20],
        "no byte repeated"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_missing_blob_behind_a_file_is_not_retried() {
    let body = r#"{"error":{"type":"version_blob_missing","title":"Version blob missing","detail":"no blob"},"status":"error","status_message":"internal_server_error"}"#;
    let server = server_with(vec![status(500, None, body)]);
    let sandbox = Sandbox::new();
    let run = get(&sandbox, &server, &["main/hello.txt", "--no-verify"]);
    run.expect_code(3)
        .expect_stderr("the server lacks the file's content");
    assert!(!run.stderr.contains("retry"));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_thousand_missing_hashes_are_still_understood() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let mut list: String = (0..1000u32)
        .map(|i| {
            format!(
                "{:032x}\n",
                0xabcd_0000_0000_0000_0000_0000_0000_0000u128 + i as u128
            )
        })
        .collect();
    list.push_str(&format!("{} hello.txt\n", hash_of(&repo_file("hello.txt"))));
    let run = batch(&sandbox, &server, &["-q"], &list);
    run.expect_code(5)
        .expect_stderr("1000 of 1001 file(s) are missing on the server");
    assert_eq!(run.stderr.matches("missing: abcd").count(), 1000);
    assert_eq!(
        std::fs::read(sandbox.join("hello.txt")).unwrap(),
        repo_file("hello.txt")
    );
}

#[test]
fn an_unreachable_server_is_given_up_on_once_not_per_request() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let sandbox = Sandbox::new();
    let host = format!("127.0.0.1:{port}");
    let args = [
        "--host",
        &host,
        "--retries",
        "1",
        "batch",
        "ox/demo",
        "-j",
        "1",
        "--batch-size",
        "2",
    ];
    let run = sandbox.run_with_stdin(&args, with_paths_txt().as_bytes());
    run.expect_code(7)
        .expect_stderr("0 fetched, 0 skipped, 0 missing, 8 failed")
        .expect_stderr("cannot reach");
    assert_eq!(
        run.stderr.matches("retry 1 of 1").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn a_signal_ends_the_run_even_when_stderr_is_closed() {
    let server = server_with(vec![Fault::Stall(Duration::from_secs(30))]);
    let sandbox = Sandbox::new();
    let mut command = sandbox.command(&[
        "--host",
        &server.url,
        "get",
        "ox/demo",
        "main/hello.txt",
        "--no-verify",
    ]);
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    wait_for_temp_file(sandbox.path());
    signal(&child, "TERM");
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(temp_files(sandbox.path()).is_empty());
}

#[test]
fn sigint_during_a_batch_removes_the_partial_files() {
    let (files, list) = big_list();
    let server = TestServer::with(Config {
        extra_blobs: vec![files[2].1.clone()],
        faults: vec![Fault::Stall(Duration::from_secs(30))],
        ..Config::default()
    });
    let sandbox = Sandbox::new();
    let mut command = sandbox.command(&[
        "--host",
        &server.url,
        "batch",
        "ox/demo",
        "-j",
        "1",
        "-C",
        "out",
    ]);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), list.as_bytes()).unwrap();
    wait_for_temp_file(sandbox.path());
    signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert!(temp_files(sandbox.path()).is_empty());
    // Whatever is at a final path is complete and verified.
    for (path, bytes) in &files {
        if let Ok(found) = std::fs::read(sandbox.join(&format!("out/{path}"))) {
            assert_eq!(&found, bytes, "{path}");
        }
    }
}
