//! `--include` / `--exclude` with the rules of `.gitignore`, on `get -r` and `ls`, against the test
//! server with the real binary: what is kept, what is not even listed, and what is said when nothing is.

use crate::support::server::{Config, MAIN_COMMIT};
use crate::support::{Sandbox, TestServer, get};

/// The tree under `main/tree`: names that recur at several depths, a file and a directory both named
/// `build`, and a file named like a directory elsewhere (`models/nested.bin`).
const TREE: [&str; 15] = [
    "top.txt",
    "readme.md",
    "build",
    "docs/one.txt",
    "docs/two.txt",
    "docs/top.txt",
    "docs/notes.md",
    "nested/n.txt",
    "nested/deep/d.txt",
    "src/main.rs",
    "src/docs/x.txt",
    "src/nested/inner.txt",
    "models/weights.bin",
    "models/nested.bin",
    "out/build/o.bin",
];

/// The demo repository with [`TREE`] under `tree/`, each file holding its own path.
fn server() -> TestServer {
    TestServer::with(Config {
        extra_files: TREE
            .iter()
            .map(|path| (format!("tree/{path}"), format!("{path}\n").into_bytes()))
            .collect(),
        ..Config::default()
    })
}

/// Every file below `dir` of the sandbox, relative to it, sorted.
fn files_under(sandbox: &Sandbox, dir: &str) -> Vec<String> {
    sandbox
        .files()
        .into_iter()
        .filter_map(|f| f.strip_prefix(&format!("{dir}/")).map(str::to_string))
        .collect()
}

/// The files of [`TREE`] that `keep` keeps, sorted.
fn expected(keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut kept: Vec<String> = TREE
        .iter()
        .filter(|p| keep(p))
        .map(|p| p.to_string())
        .collect();
    kept.sort();
    kept
}

/// The directories below `main/tree` that requests from the `from`-th on listed, relative to it.
fn listed_dirs(server: &TestServer, from: usize) -> Vec<String> {
    let mut dirs: Vec<String> = server.requests()[from..]
        .iter()
        .filter_map(|r| {
            let path = r.target.split('?').next()?;
            let (_, rest) = path.split_once("/dir/")?;
            let rest = rest.strip_prefix(MAIN_COMMIT).unwrap_or(rest);
            let rest = rest.trim_start_matches('/');
            let below = rest
                .strip_prefix("tree")
                .or(rest.strip_prefix("main/tree"))?;
            Some(below.trim_start_matches('/').to_string())
        })
        .collect();
    dirs.sort();
    dirs
}

/// `get main/tree -r FILTERS` into a new sandbox: the files it wrote, the directories it listed and its
/// stderr; fails the test unless the run exits 0.
fn get_r(server: &TestServer, filters: &[&str]) -> (Vec<String>, Vec<String>, String) {
    let sandbox = Sandbox::new();
    let mut args = vec!["main/tree", "-r"];
    args.extend_from_slice(filters);
    let before = server.requests().len();
    let run = get(&sandbox, server, &args);
    run.expect_code(0);
    (
        files_under(&sandbox, "tree"),
        listed_dirs(server, before),
        run.stderr.clone(),
    )
}

/// `ls main/tree -r FILTERS`: the paths listed and stderr; fails the test unless it exits 0.
fn ls_r(server: &TestServer, filters: &[&str]) -> (Vec<String>, String) {
    let mut args = vec![
        "--host",
        server.url.as_str(),
        "ls",
        "ox/demo",
        "main/tree",
        "-r",
    ];
    args.extend_from_slice(filters);
    let run = Sandbox::new().run(&args);
    run.expect_code(0);
    let mut paths: Vec<String> = String::from_utf8(run.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| line.split_once(' ').unwrap().1.to_string())
        .collect();
    paths.sort();
    (paths, run.stderr.clone())
}

#[test]
fn a_name_alone_matches_at_any_depth() {
    let server = server();
    // The issue: the .bin files sit in subdirectories, and `*.bin` fetched nothing.
    let (files, _, stderr) = get_r(&server, &["--include", "*.bin"]);
    assert_eq!(files, expected(|p| p.ends_with(".bin")), "{stderr}");
    assert!(
        !stderr.contains("warning") && !stderr.contains("hash list"),
        "{stderr}"
    );
    let (files, _, _) = get_r(&server, &["--include", "*.txt"]);
    assert_eq!(files, expected(|p| p.ends_with(".txt")));
    // The listed directory of a tree whose .txt files are all one level down.
    let sandbox = Sandbox::new();
    get(
        &sandbox,
        &server,
        &["main/tree/docs", "-r", "--include", "*.txt"],
    )
    .expect_code(0);
    assert_eq!(
        files_under(&sandbox, "docs"),
        ["one.txt", "top.txt", "two.txt"]
    );
    // Several includes: a file matching any is kept.
    let (files, _, _) = get_r(&server, &["--include", "*.md", "--include", "*.rs"]);
    assert_eq!(files, ["docs/notes.md", "readme.md", "src/main.rs"]);
}

#[test]
fn a_directory_matched_by_name_covers_all_below_it_and_an_excluded_one_is_not_listed() {
    let server = server();
    let (files, listed, _) = get_r(&server, &["--exclude", "nested"]);
    let in_nested = |p: &str| p.starts_with("nested/") || p.contains("/nested/");
    assert_eq!(files, expected(|p| !in_nested(p)));
    assert!(
        files.contains(&"models/nested.bin".to_string()),
        "a file named nested.bin stays"
    );
    // Neither directory named nested is listed, at whatever depth.
    assert_eq!(
        listed,
        ["", "docs", "models", "out", "out/build", "src", "src/docs"]
    );
    let (files, _, _) = get_r(&server, &["--include", "nested"]);
    assert_eq!(files, expected(in_nested));
    // An exclude beats an include, also when it names a directory above the file.
    let (files, _, _) = get_r(&server, &["--include", "*.txt", "--exclude", "docs"]);
    assert_eq!(
        files,
        expected(|p| p.ends_with(".txt") && !p.starts_with("docs/") && !p.contains("/docs/"))
    );
    // ls keeps what get -r keeps.
    let (paths, _) = ls_r(&server, &["--exclude", "nested"]);
    assert_eq!(paths, expected(|p| !in_nested(p)));
}

#[test]
fn a_slash_anchors_the_pattern_to_the_listed_directory() {
    let server = server();
    let (files, listed, _) = get_r(&server, &["--include", "/top.txt"]);
    assert_eq!(files, ["top.txt"], "docs/top.txt is not at that place");
    // No directory below can hold it: none is listed.
    assert_eq!(listed, [""]);
    let (files, listed, _) = get_r(&server, &["--include", "docs/*.txt"]);
    assert_eq!(files, ["docs/one.txt", "docs/top.txt", "docs/two.txt"]);
    assert_eq!(listed, ["", "docs"], "src/docs is not that docs");
    let (files, _, _) = get_r(&server, &["--exclude", "/top.txt"]);
    assert_eq!(files, expected(|p| p != "top.txt"));
    // `**` spans directories as before.
    let (files, _, _) = get_r(&server, &["--include", "**/docs/*.txt"]);
    assert_eq!(
        files,
        [
            "docs/one.txt",
            "docs/top.txt",
            "docs/two.txt",
            "src/docs/x.txt"
        ]
    );
    let (files, listed, _) = get_r(&server, &["--include", "src/**"]);
    assert_eq!(files, expected(|p| p.starts_with("src/")));
    assert_eq!(listed, ["", "src", "src/docs", "src/nested"]);
    let (paths, _) = ls_r(&server, &["--include", "docs/*.txt"]);
    assert_eq!(paths, ["docs/one.txt", "docs/top.txt", "docs/two.txt"]);
}

#[test]
fn a_trailing_slash_matches_directories_only() {
    let server = server();
    let (files, listed, _) = get_r(&server, &["--exclude", "build/"]);
    assert_eq!(
        files,
        expected(|p| p != "out/build/o.bin"),
        "the file named build stays"
    );
    assert!(!listed.contains(&"out/build".to_string()), "{listed:?}");
    let (files, _, _) = get_r(&server, &["--include", "build/"]);
    assert_eq!(files, ["out/build/o.bin"]);
    // Without the slash, both the file and the directory.
    let (files, _, _) = get_r(&server, &["--include", "build"]);
    assert_eq!(files, ["build", "out/build/o.bin"]);
}

#[test]
fn when_nothing_is_kept_the_filters_that_matched_nothing_are_named() {
    let server = server();
    let listed = TREE.len();
    // get -r: exit 0, no word of a hash list, the directory's own summary.
    let (files, _, stderr) = get_r(&server, &["--include", "*.pt"]);
    assert!(files.is_empty());
    assert_eq!(
        stderr,
        format!(
            "main/tree: revision {MAIN_COMMIT}, into tree\n\
             oxdl: no file matched --include '*.pt' ({listed} files listed)\n\
             0 fetched, 0 skipped, 0 missing, 0 failed; 0 bytes written to tree\n"
        )
    );
    let (paths, stderr) = ls_r(&server, &["--include", "*.pt"]);
    assert!(paths.is_empty());
    assert_eq!(
        stderr,
        format!("oxdl: no file matched --include '*.pt' ({listed} files listed)\n")
    );
    // Several patterns: the first line says why, then each one that matched nothing on its own.
    let filters = [
        "--include",
        "*.pt",
        "--include",
        "*.ckpt",
        "--exclude",
        "docs",
        "--exclude",
        "tmp/",
    ];
    let (_, stderr) = ls_r(&server, &filters);
    assert_eq!(
        stderr,
        format!(
            "oxdl: no file matched --include '*.pt' or --include '*.ckpt' outside what --exclude \
             'docs' left out ({} files listed, 2 directories left out)\n\
             oxdl: warning: --exclude 'tmp/' matched no directory\n",
            listed - 5
        )
    );
    // Files matched, then all excluded: the excludes are named.
    let filters = [
        "--include",
        "*.md",
        "--exclude",
        "docs",
        "--exclude",
        "readme.md",
    ];
    let expected_line = format!(
        "oxdl: no file left: --exclude 'docs' and --exclude 'readme.md' excluded every file that \
         --include '*.md' matched ({} files listed, 2 directories left out)\n",
        listed - 5
    );
    let (files, _, stderr) = get_r(&server, &filters);
    assert!(files.is_empty());
    assert!(stderr.contains(&expected_line), "{stderr}");
    let (_, stderr) = ls_r(&server, &filters);
    assert_eq!(stderr, expected_line);
    // -q: nothing said.
    let (_, stderr) = ls_r(&server, &["--include", "*.pt", "-q"]);
    assert_eq!(stderr, "");
}

#[test]
fn a_pattern_that_matched_nothing_is_named_when_other_files_are_kept() {
    let server = server();
    let (files, _, stderr) = get_r(
        &server,
        &[
            "--include",
            "*.txt",
            "--include",
            "typo*",
            "--exclude",
            "*.tmp",
        ],
    );
    assert_eq!(files, expected(|p| p.ends_with(".txt")));
    assert_eq!(
        stderr,
        format!(
            "main/tree: revision {MAIN_COMMIT}, into tree\n\
             oxdl: warning: --include 'typo*' matched no file\n\
             oxdl: warning: --exclude '*.tmp' matched no file\n\
             {} fetched, 0 skipped, 0 missing, 0 failed; {} bytes written to tree\n",
            files.len(),
            files.iter().map(|p| p.len() + 1).sum::<usize>()
        )
    );
    let (paths, stderr) = ls_r(&server, &["--include", "*.txt", "--include", "typo*"]);
    assert_eq!(paths, files);
    assert_eq!(stderr, "oxdl: warning: --include 'typo*' matched no file\n");
}

#[test]
fn an_empty_pattern_is_refused() {
    let server = server();
    let sandbox = Sandbox::new();
    get(&sandbox, &server, &["main/tree", "-r", "--exclude", "/"])
        .expect_code(2)
        .expect_stderr("--exclude '/': an empty pattern matches nothing");
    assert!(server.requests().is_empty(), "refused before any request");
}
