//! oxdl in scripts and CI: JSON lines on stdout, a `sha256sum -c` manifest, plain progress for logs.

mod support;

use sha2::{Digest, Sha256};
use support::server::fixtures;
use support::{Sandbox, TestServer, batch, get, repo_file};

fn with_paths() -> String {
    std::fs::read_to_string(fixtures().join("hashes-with-paths.txt")).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every stdout line as JSON; fails the test on a line that is not.
fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
        })
        .collect()
}

#[test]
fn batch_json_has_one_object_per_file_and_a_summary() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let missing = "ffffffffffffffffffffffffffffffff";
    let list = format!("{}{missing} gone.bin\n", with_paths());
    let run = batch(&sandbox, &server, &["--json", "-C", "out"], &list);
    run.expect_code(5);
    let lines = json_lines(&run.stdout);
    assert_eq!(lines.len(), 10, "8 fetched, 1 missing, 1 summary");
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
    assert_eq!(lines[8]["status"], "missing");
    assert_eq!(lines[8]["hash"], missing);
    assert_eq!(lines[8]["path"], "gone.bin");
    assert!(lines[8]["sha256"].is_null());
    let summary = &lines[9]["summary"];
    assert_eq!(summary["fetched"], 8);
    assert_eq!(summary["missing"], 1);
    assert_eq!(summary["bytes"], 6542);
    // Logs stay on stderr.
    run.expect_stderr("8 fetched, 0 skipped, 1 missing, 0 failed");

    // A rerun reports the files as skipped, still with their checksums.
    let run = batch(&sandbox, &server, &["--json", "-C", "out"], &with_paths());
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
        &with_paths(),
    )
    .expect_code(0);
    let manifest = std::fs::read_to_string(sandbox.join("sums.txt")).unwrap();
    assert_eq!(manifest.lines().count(), 8);
    assert!(manifest.contains("  nested/with space.txt\n"));
    let check = std::process::Command::new("sha256sum")
        .args(["-c", "--strict", "../sums.txt"])
        .current_dir(sandbox.join("out"))
        .output()
        .expect("sha256sum (coreutils) runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&check.stdout)
            .matches(": OK")
            .count(),
        8
    );

    // A damaged file fails the standard check.
    std::fs::write(sandbox.join("out/data.csv"), b"damaged").unwrap();
    let check = std::process::Command::new("sha256sum")
        .args(["-c", "../sums.txt"])
        .current_dir(sandbox.join("out"))
        .output()
        .unwrap();
    assert!(!check.status.success());
}

#[test]
fn plain_progress_is_log_friendly() {
    let server = TestServer::start();
    let sandbox = Sandbox::new();
    let run = batch(
        &sandbox,
        &server,
        &["--progress", "plain", "-C", "out"],
        &with_paths(),
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
        let run = batch(&sandbox, &server, &all, &with_paths());
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
