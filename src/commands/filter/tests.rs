//! The rules of `--include`/`--exclude`, pruning, and the messages, on paths alone.

use super::*;

fn filter(include: &[&str], exclude: &[&str]) -> Filter {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    Filter::new(&Filters {
        include: owned(include),
        exclude: owned(exclude),
    })
    .unwrap()
}

fn error(include: &str) -> String {
    let given = Filters {
        include: vec![include.to_string()],
        exclude: Vec::new(),
    };
    Filter::new(&given).err().unwrap().to_string()
}

#[test]
fn includes_excludes_and_double_stars() {
    let all = filter(&[], &[]);
    assert!(all.keeps("a/b.txt"));
    let deep = filter(&["**/*.csv"], &[]);
    assert!(deep.keeps("data.csv") && deep.keeps("a/b/data.csv"));
    let both = filter(&["images/**"], &["**/*.tmp"]);
    assert!(both.keeps("images/a/x.png"));
    assert!(!both.keeps("images/x.tmp"), "an exclude beats an include");
    assert!(!both.keeps("other/x.png"));
    let between = filter(&["a/**/b"], &[]);
    for (path, kept) in [
        ("a/b", true),
        ("a/x/y/b", true),
        ("a/b/under", true),
        ("x/a/b", false),
    ] {
        assert_eq!(between.keeps(path), kept, "{path}");
    }
}

#[test]
fn a_name_alone_matches_at_any_depth_and_a_slash_anchors() {
    let name = filter(&["*.txt"], &[]);
    for (path, kept) in [
        ("top.txt", true),
        ("a/b/c.txt", true),
        ("a.txt/inside.bin", true),
        ("a/txt", false),
        ("a.txt.bak", false),
    ] {
        assert_eq!(name.keeps(path), kept, "{path}");
    }
    let top = filter(&["/top.txt"], &[]);
    assert!(top.keeps("top.txt") && !top.keeps("a/top.txt"));
    let middle = filter(&["dir/*.txt"], &[]);
    assert!(middle.keeps("dir/x.txt") && !middle.keeps("a/dir/x.txt"));
    assert!(!middle.keeps("dir/sub/x.txt"), "* stays within one name");
    assert!(!middle.keeps("x.txt"));
}

#[test]
fn a_directory_matched_covers_everything_below_it() {
    let out = filter(&[], &["nested"]);
    for (path, kept) in [
        ("nested", false),
        ("nested/a.txt", false),
        ("x/nested/deep/b.txt", false),
        ("nestedx/a.txt", true),
        ("a/nested.txt", true),
    ] {
        assert_eq!(out.keeps(path), kept, "{path}");
    }
    let only = filter(&["nested"], &[]);
    assert!(only.keeps("x/nested/a/b.txt") && only.keeps("nested"));
    assert!(!only.keeps("x/a.txt"));
    // A trailing slash: directories only.
    let dirs = filter(&[], &["build/"]);
    assert!(
        dirs.keeps("build") && dirs.keeps("x/build"),
        "files named build"
    );
    assert!(!dirs.keeps("build/a.o") && !dirs.keeps("x/build/y/a.o"));
    let anchored_dir = filter(&["/data/"], &[]);
    assert!(anchored_dir.keeps("data/a.csv") && !anchored_dir.keeps("x/data/a.csv"));
    assert!(
        !anchored_dir.keeps("data"),
        "a file named data is no directory"
    );
}

#[test]
fn malformed_and_empty_patterns_are_usage_errors() {
    let message = error("a[");
    assert!(message.starts_with("--include 'a[': "), "{message}");
    assert!(!message.contains("**/"), "the pattern as given: {message}");
    for empty in ["", "/", "//"] {
        assert_eq!(
            error(empty),
            format!("--include '{empty}': an empty pattern matches nothing")
        );
    }
}

#[test]
fn a_directory_is_pruned_only_when_nothing_below_it_can_be_kept() {
    let f = filter(
        &[],
        &[
            "scratch/**",
            "**/cache/**",
            "*.tmp",
            "logs/*",
            "nested",
            "out/",
        ],
    );
    for dir in [
        "scratch",
        "a/cache",
        "cache",
        "a/b/cache",
        "nested",
        "a/b/nested",
        "a/out",
        "x.tmp",
    ] {
        assert!(f.prunes(dir), "{dir}");
        assert!(
            !f.keeps(&format!("{dir}/x/y.txt")),
            "{dir}: pruning agrees with keeps"
        );
    }
    // logs/* matches what is directly in logs, so a directory there too, but not logs itself;
    // scratch/** is anchored, so a/scratch is not covered.
    for dir in ["scratch2", "a/scratch", "logs", "a", "cachex", "nestedx"] {
        assert!(!f.prunes(dir), "{dir}");
    }
    assert!(f.prunes("logs/sub") && !f.keeps("logs/sub/x.txt"));
    // Includes prune the directories off their literal way, or as deep as their paths, and only
    // those.
    let inc = filter(&["/images/*.png", "data/train/**"], &[]);
    for (dir, pruned) in [
        ("images", false),
        ("images/sub", true),
        ("images/x.png", false),
        ("data", false),
        ("data/train", false),
        ("data/train/deep", false),
        ("data/test", true),
        ("other", true),
        ("a/images", true),
    ] {
        assert_eq!(inc.prunes(dir), pruned, "{dir}");
    }
    // A name at any depth, or a wildcard first, may be anywhere (less deep than the pattern).
    for include in ["*.png", "**/images/*", "[id]*/x", "nested"] {
        let f = filter(&[include], &[]);
        assert!(!f.prunes("a") && !f.prunes("other"), "{include}");
    }
    assert!(!filter(&["**/images/*"], &[]).prunes("a/b/c"));
    assert!(filter(&["[id]*/x"], &[]).prunes("i/b"));
    // An include matching a directory above keeps all below it.
    assert!(!filter(&["/a/b"], &[]).prunes("a/b/c/d"));
    assert!(filter(&["/a/b"], &[]).prunes("a/c"));
    let f = filter(&["/a/*/c", "x/{y/z,w}"], &[]);
    for dir in ["a", "a/b", "x/y", "x/y/z", "x/w"] {
        assert!(!f.prunes(dir), "{dir}");
    }
    assert!(!f.prunes("a/b/c/d"), "below a directory it matches");
    for dir in ["a/b/d", "a/b/d/e", "b"] {
        assert!(f.prunes(dir), "{dir}");
    }
    assert!(f.keeps("a/b/c/d/e") && !f.keeps("a/b/d/c"));
}

#[test]
fn pruning_never_leaves_out_a_file_that_would_be_kept() {
    let names = ["a", "b", "x.png", "data"];
    let mut paths = vec![String::new()];
    for _ in 0..3 {
        let longer: Vec<String> = paths
            .iter()
            .flat_map(|p| names.iter().map(move |n| format!("{p}/{n}")))
            .collect();
        paths.extend(longer);
    }
    let paths: Vec<&str> = paths.iter().map(|p| p.trim_start_matches('/')).collect();
    let patterns = [
        "a",
        "/a",
        "a/",
        "/a/b",
        "a/*",
        "a/**",
        "**/b",
        "a/**/b",
        "*.png",
        "/*.png",
        "data/*.png",
        "[ab]/x.png",
        "*/b/",
        "/data/**/*.png",
        "{a,b}/x.png",
        "a/**/",
        "*/**/",
        "**/a/**/",
    ];
    let mut pruned = 0;
    for include in patterns
        .iter()
        .map(|p| vec![*p])
        .chain([vec![], vec!["a", "/b/x.png"]])
    {
        for exclude in patterns.iter().map(|p| vec![*p]).chain([vec![]]) {
            let f = filter(&include, &exclude);
            for dir in paths.iter().filter(|p| !p.is_empty()) {
                if !f.prunes(dir) {
                    continue;
                }
                pruned += 1;
                let below = format!("{dir}/");
                for path in paths.iter().filter(|p| p.starts_with(&below)) {
                    assert!(
                        !f.keeps(path),
                        "{include:?} {exclude:?}: {dir} pruned, {path} kept"
                    );
                }
            }
        }
    }
    assert!(pruned > 1000, "{pruned}");
}

#[test]
fn messages_name_the_patterns_that_matched_nothing() {
    let f = filter(&["*.bin"], &[]);
    for path in ["a.txt", "nested/b.txt"] {
        assert!(!f.keeps(path));
    }
    assert_eq!(
        f.messages(Some("empty")),
        ["oxdl: no file matched --include '*.bin' (2 files listed)"]
    );
    let f = filter(&["*.bin", "*.pt"], &["tmp", "cache/"]);
    assert!(!f.keeps("a.txt"));
    assert_eq!(
        f.messages(None),
        [
            "oxdl: no file matched --include '*.bin' or --include '*.pt' (1 file listed)",
            "oxdl: warning: --exclude 'tmp' matched no file",
            "oxdl: warning: --exclude 'cache/' matched no directory",
        ]
    );
    let f = filter(&["*.txt", "typo*"], &["nested", "*.tmp"]);
    assert!(f.prunes("nested") && !f.keeps("x/nested/a.txt") && !f.keeps("b.bin"));
    assert_eq!(
        f.messages(None),
        [
            "oxdl: no file left: --exclude 'nested' excluded every file that --include '*.txt' \
             matched (2 files listed, 1 directory left out)",
            "oxdl: warning: --include 'typo*' matched no file",
            "oxdl: warning: --exclude '*.tmp' matched no file",
        ]
    );
    let f = filter(&["a", "b", "c"], &[]);
    assert!(!f.keeps("d"));
    assert_eq!(
        f.messages(None),
        ["oxdl: no file matched --include 'a', --include 'b' or --include 'c' (1 file listed)"]
    );
    let f = filter(&[], &["nested", "*.txt"]);
    assert!(f.prunes("nested"));
    assert_eq!(
        f.messages(None),
        [
            "oxdl: no file left: --exclude 'nested' excluded every file (0 files listed, 1 \
             directory left out)",
            "oxdl: warning: --exclude '*.txt' matched no file",
        ]
    );
    // Something kept: only the patterns that matched nothing.
    let f = filter(&["*.txt", "typo*"], &[]);
    assert!(f.keeps("a.txt"));
    assert_eq!(
        f.messages(None),
        ["oxdl: warning: --include 'typo*' matched no file"]
    );
    // Nothing at all: the caller's words, or nothing.
    let f = filter(&["*.txt"], &[]);
    assert_eq!(f.messages(Some("empty")), ["empty"]);
    assert!(f.messages(None).is_empty());
    let none = filter(&[], &[]);
    assert!(none.keeps("a") && none.messages(None).is_empty());
}
