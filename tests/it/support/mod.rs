//! Shared by the integration tests: the loopback server and a runner for the real `oxdl` binary.
#![allow(dead_code)]

pub mod proxy;
pub mod server;
pub mod tls;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[allow(unused_imports)]
pub use server::TestServer;

/// What a run of `oxdl` produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing stderr when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code; stderr:\n{}", self.stderr);
        self
    }

    /// Asserts that stderr contains `text`.
    pub fn expect_stderr(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr should contain {text:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// A sandbox for one run: a temp working directory and a temp home, so no real config leaks in.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub home: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// The working directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the working directory.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `oxdl ARGS` in the working directory, with a clean environment (no OXDL_*, OXEN_* or proxy variables).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_oxdl"));
        command.args(args);
        self.prepared(command)
    }

    /// `oxdl ARGS` started by `sh` with `redirect` applied to it (e.g. `>&-`, `1<>/dev/null`), in the
    /// same clean environment.
    pub fn run_redirected(&self, args: &[&str], redirect: &str) -> Run {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("exec \"$@\" {redirect}"))
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_oxdl"))
            .args(args);
        self.run_command(self.prepared(command), b"")
    }

    /// `command` in the working directory, with the temp home and no OXDL_*, OXEN_* or proxy variables.
    fn prepared(&self, mut command: Command) -> Command {
        command
            .current_dir(self.dir.path())
            .env("HOME", self.home.path());
        for (name, _) in std::env::vars() {
            // The machine's own proxy settings must not reach a server on loopback.
            let proxy = name.to_ascii_lowercase().ends_with("_proxy");
            if name.starts_with("OXDL_")
                || name.starts_with("OXEN_")
                || name.starts_with("SSL_CERT")
                || proxy
            {
                command.env_remove(name);
            }
        }
        command
    }

    /// Runs `oxdl ARGS` with `stdin` as its standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        self.run_command(self.command(args), stdin)
    }

    /// Runs `oxdl ARGS` with empty standard input.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, b"")
    }

    /// Runs a prepared command, feeding `stdin`.
    pub fn run_command(&self, mut command: Command, stdin: &[u8]) -> Run {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        // A run that exits before reading its stdin must not fail the test.
        let _ = input.write_all(stdin);
        drop(input);
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Every file below the working directory, relative, sorted (temp files included, so leftovers show).
    pub fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            walk(root, &entry.path(), out);
        } else {
            out.push(
                entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// A file from the captured repository.
pub fn repo_file(rel: &str) -> Vec<u8> {
    std::fs::read(server::fixtures().join("repo").join(rel)).unwrap()
}

/// `oxdl --host URL get ox/demo ARGS` against `server`.
pub fn get(sandbox: &Sandbox, server: &TestServer, args: &[&str]) -> Run {
    let mut all = vec!["--host", server.url.as_str(), "get", "ox/demo"];
    all.extend_from_slice(args);
    sandbox.run(&all)
}

/// `oxdl --host URL batch ox/demo -j 1 ARGS` against `server`, with `list` on stdin. One job, so that
/// the requests the server sees follow the list; parallel runs have tests of their own.
pub fn batch(sandbox: &Sandbox, server: &TestServer, args: &[&str], list: &str) -> Run {
    let mut all = vec!["--host", server.url.as_str(), "batch", "ox/demo", "-j", "1"];
    all.extend_from_slice(args);
    sandbox.run_with_stdin(&all, list.as_bytes())
}

/// The names of oxdl's temp files anywhere below `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(next).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else if name.starts_with(".oxdl-") {
                found.push(name);
            }
        }
    }
    found
}

/// Waits (up to 10 s) until a running oxdl has a temp file below `dir`.
pub fn wait_for_temp_file(dir: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while temp_files(dir).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no temp file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The SHA-256 of `bytes` in hex, computed here rather than by the code under test.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Deterministic bytes that are not all alike (another `seed`, other bytes), so a misplaced range shows.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    (0..len as u64)
        .map(|i| ((i + seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Every stdout line as JSON; fails the test on a line that is not.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
        })
        .collect()
}

/// The captured list: 8 files of `main` as `HASH PATH` lines.
pub fn with_paths_txt() -> String {
    std::fs::read_to_string(server::fixtures().join("hashes-with-paths.txt")).unwrap()
}

/// `(hash, path)` of every file in the captured list.
pub fn listed() -> Vec<(String, String)> {
    with_paths_txt()
        .lines()
        .map(|line| {
            let (hash, path) = line.split_once(' ').unwrap();
            (hash.to_string(), path.to_string())
        })
        .collect()
}

/// Runs `sha256sum -c --strict MANIFEST` in `dir`: whether it passed, and what it printed.
pub fn sha256sum_check(dir: &Path, manifest: &str) -> (bool, String) {
    let check = Command::new("sha256sum")
        .args(["-c", "--strict", manifest])
        .current_dir(dir)
        .output()
        .expect("sha256sum (coreutils) runs");
    (
        check.status.success(),
        String::from_utf8_lossy(&check.stdout).into_owned(),
    )
}
