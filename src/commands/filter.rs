//! `--include` / `--exclude`: which listed files to keep, by pattern on the path relative to the listed
//! directory, with the rules of `.gitignore`:
//!
//! - a pattern without a slash (but for a trailing one) matches a NAME at any depth: a file's, or a
//!   directory's, which then covers everything below it (`*.bin`, `nested`);
//! - a pattern with a slash at its start or in its middle is anchored to the listed directory (`/top.txt`,
//!   `data/*.csv`; the leading `/` is dropped);
//! - a trailing slash matches directories only (`cache/`);
//! - `*` stays within one name, `**` spans any number of directories (`**/x`, `a/**`, `a/**/b`);
//! - an exclude beats an include.
//!
//! A directory below which nothing can be kept is not even listed ([`Filter::prunes`]). Each pattern
//! counts what it matched, so that the end of a listing can say which matched nothing
//! ([`Filter::messages`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use anyhow::Result;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::cli::Filters;
use crate::error::{Kind, fail};

/// The compiled patterns and what they matched; keeps everything when none were given. Shared by
/// reference between listing threads: the counts are atomic.
pub(crate) struct Filter {
    include: Side,
    exclude: Side,
    /// Files asked about ([`Filter::keeps`]).
    listed: AtomicU64,
    /// Files kept.
    kept: AtomicU64,
    /// Directories left out whole ([`Filter::prunes`]).
    pruned: AtomicU64,
}

/// The patterns of one flag.
struct Side {
    flag: &'static str,
    patterns: Vec<Pattern>,
    /// The patterns that match files (all but those ending in `/`), matched against a file's path; the
    /// pattern of each glob.
    files: GlobSet,
    file_patterns: Vec<usize>,
    /// Every pattern, matched against each directory above a file (a directory matched covers all below).
    dirs: GlobSet,
    /// The `P` of each pattern `P/**`: a directory matching `P` has all below it matched by the pattern.
    covers: GlobSet,
    cover_patterns: Vec<usize>,
}

/// One pattern as given, and how it matches.
struct Pattern {
    given: String,
    /// Ends in `/`: matches directories only.
    dir_only: bool,
    /// For a pattern anchored to the listed directory, its leading names that hold no wildcard: only a
    /// directory on that way, or below its end, can hold a match. `None` for a name matched at any depth.
    literal: Option<Vec<String>>,
    /// For an anchored pattern without `**` (or `{…}`), how many names every path it matches has: below
    /// a directory that deep, only a match of that directory or one above could keep a file.
    depth: Option<usize>,
    /// Files matched (directly or by a directory above them), plus directories left out whole by it.
    hits: AtomicU64,
}

impl Filter {
    /// Compiles the patterns; a malformed one is a usage error naming it.
    pub(crate) fn new(filters: &Filters) -> Result<Self> {
        Ok(Filter {
            include: Side::new("--include", &filters.include)?,
            exclude: Side::new("--exclude", &filters.exclude)?,
            listed: AtomicU64::new(0),
            kept: AtomicU64::new(0),
            pruned: AtomicU64::new(0),
        })
    }

    /// Whether nothing below the directory at `path` (relative, `/`-separated) can be kept, so that it
    /// need not even be listed: an exclude matches it (or a directory above it, or it is the `P` of an
    /// exclude `P/**`), or no include can match anything below it.
    pub(crate) fn prunes(&self, path: &str) -> bool {
        let mut hits = Vec::new();
        self.exclude.directory_hits(path, &mut hits);
        let pruned = if !hits.is_empty() {
            self.exclude.count(&hits);
            true
        } else {
            !self.include.patterns.is_empty() && !self.include.may_match_below(path)
        };
        if pruned {
            self.pruned.fetch_add(1, Relaxed);
        }
        pruned
    }

    /// Whether the file at `path` (relative, `/`-separated) is kept: an exclude beats an include.
    pub(crate) fn keeps(&self, path: &str) -> bool {
        self.listed.fetch_add(1, Relaxed);
        // Both sides are matched whatever the other says, so that each pattern's count is what it matched.
        let excluded = self.exclude.file_matches(path);
        let included = self.include.patterns.is_empty() || self.include.file_matches(path);
        let kept = included && !excluded;
        if kept {
            self.kept.fetch_add(1, Relaxed);
        }
        kept
    }

    /// What to say once the listing is done, one line each: why no file was kept, when the filters are
    /// why, and each pattern that matched nothing. When there was no file at all (nothing listed, nothing
    /// left out), `empty`, if given, instead.
    pub(crate) fn messages(&self, empty: Option<&str>) -> Vec<String> {
        let (listed, kept, pruned) = (
            self.listed.load(Relaxed),
            self.kept.load(Relaxed),
            self.pruned.load(Relaxed),
        );
        if listed == 0 && pruned == 0 {
            return empty.map(str::to_string).into_iter().collect();
        }
        let mut lines = Vec::new();
        // The patterns the first line names (by side and place), which need no line of their own.
        let mut named: Vec<(&str, usize)> = Vec::new();
        if kept == 0 {
            let mut seen = format!("{} listed", plural(listed, "file", "files"));
            if pruned > 0 {
                seen.push_str(&format!(
                    ", {} left out",
                    plural(pruned, "directory", "directories")
                ));
            }
            let included = self.include.matched();
            if !self.include.patterns.is_empty() && included.is_empty() {
                let all: Vec<usize> = (0..self.include.patterns.len()).collect();
                lines.push(format!(
                    "oxdl: no file matched {} ({seen})",
                    self.include.show(&all, " or ")
                ));
                named.extend(all.into_iter().map(|i| ("--include", i)));
            } else {
                let excluded = self.exclude.matched();
                let which = if included.is_empty() {
                    String::new()
                } else {
                    format!(" that {} matched", self.include.show(&included, " or "))
                };
                lines.push(format!(
                    "oxdl: no file left: {} excluded every file{which} ({seen})",
                    self.exclude.show(&excluded, " and ")
                ));
                named.extend(excluded.into_iter().map(|i| ("--exclude", i)));
                named.extend(included.into_iter().map(|i| ("--include", i)));
            }
        }
        for side in [&self.include, &self.exclude] {
            for (i, pattern) in side.patterns.iter().enumerate() {
                if pattern.hits.load(Relaxed) == 0 && !named.contains(&(side.flag, i)) {
                    let what = if pattern.dir_only {
                        "directory"
                    } else {
                        "file"
                    };
                    lines.push(format!(
                        "oxdl: warning: {} '{}' matched no {what}",
                        side.flag, pattern.given
                    ));
                }
            }
        }
        lines
    }
}

impl Side {
    fn new(flag: &'static str, given: &[String]) -> Result<Self> {
        let mut patterns = Vec::new();
        let (mut files, mut dirs, mut covers) = (
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
        );
        let (mut file_patterns, mut cover_patterns) = (Vec::new(), Vec::new());
        for text in given {
            let usage =
                |why: &dyn std::fmt::Display| fail(Kind::Usage, format!("{flag} '{text}': {why}"));
            let body = text.trim_end_matches('/');
            let dir_only = body.len() < text.len();
            let anchored = body.starts_with('/') || body.contains('/');
            let body = body.trim_start_matches('/');
            if body.is_empty() {
                return Err(usage(&"an empty pattern matches nothing"));
            }
            // A name alone matches at any depth.
            let glob_text = if anchored {
                body.to_string()
            } else {
                format!("**/{body}")
            };
            let index = patterns.len();
            let glob = compile(&glob_text).map_err(|why| usage(&why))?;
            if !dir_only {
                files.add(glob.clone());
                file_patterns.push(index);
            }
            dirs.add(glob);
            if let Some(prefix) = glob_text.strip_suffix("/**").filter(|p| !p.is_empty()) {
                covers.add(compile(prefix).map_err(|why| usage(&why))?);
                cover_patterns.push(index);
            }
            let literal = anchored.then(|| {
                body.split('/')
                    .take_while(|name| !name.contains(['*', '?', '[', ']', '{', '}', '\\']))
                    .map(str::to_string)
                    .collect()
            });
            let fixed = anchored && !body.contains("**") && !body.contains(['{', '}']);
            patterns.push(Pattern {
                given: text.clone(),
                dir_only,
                literal,
                depth: fixed.then(|| body.split('/').count()),
                hits: AtomicU64::new(0),
            });
        }
        let build = |set: GlobSetBuilder| {
            set.build()
                .map_err(|err| fail(Kind::Usage, format!("{flag}: {}", err.kind())))
        };
        Ok(Side {
            flag,
            patterns,
            files: build(files)?,
            file_patterns,
            dirs: build(dirs)?,
            covers: build(covers)?,
            cover_patterns,
        })
    }

    /// Whether some pattern matches the file at `path`, itself or by a directory above it; counts a hit
    /// for each pattern that does.
    fn file_matches(&self, path: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let mut hits: Vec<usize> = self
            .files
            .matches(path)
            .into_iter()
            .map(|i| self.file_patterns[i])
            .collect();
        for dir in ancestors(path) {
            hits.extend(self.dirs.matches(dir));
        }
        self.count(&hits)
    }

    /// Into `hits`, the patterns that cover everything below the directory at `path`: they match it or a
    /// directory above it, or it is the `P` of their `P/**`.
    fn directory_hits(&self, path: &str, hits: &mut Vec<usize>) {
        if self.patterns.is_empty() {
            return;
        }
        for dir in ancestors(path).chain([path]) {
            hits.extend(self.dirs.matches(dir));
            hits.extend(
                self.covers
                    .matches(dir)
                    .into_iter()
                    .map(|i| self.cover_patterns[i]),
            );
        }
    }

    /// Whether some pattern may match a file below the directory at `path`.
    fn may_match_below(&self, path: &str) -> bool {
        let mut hits = Vec::new();
        self.directory_hits(path, &mut hits);
        if !hits.is_empty() {
            return true;
        }
        let names: Vec<&str> = path.split('/').collect();
        self.patterns.iter().any(|pattern| match &pattern.literal {
            None => true,
            // Below a directory off the pattern's literal way, or as deep as its paths, nothing can
            // match it (the directory itself, or one above, did not).
            Some(literal) => {
                names.iter().zip(literal).all(|(name, lit)| name == lit)
                    && pattern.depth.is_none_or(|depth| names.len() < depth)
            }
        })
    }

    /// Counts one hit for each pattern in `hits` (repeats counted once); whether there was any.
    fn count(&self, hits: &[usize]) -> bool {
        let mut seen = vec![false; self.patterns.len()];
        for &i in hits {
            if !std::mem::replace(&mut seen[i], true) {
                self.patterns[i].hits.fetch_add(1, Relaxed);
            }
        }
        !hits.is_empty()
    }

    /// The patterns that matched something, by place.
    fn matched(&self) -> Vec<usize> {
        (0..self.patterns.len())
            .filter(|&i| self.patterns[i].hits.load(Relaxed) > 0)
            .collect()
    }

    /// `--flag 'a', --flag 'b' or --flag 'c'` for the patterns at `places`, `last` joining the last two.
    fn show(&self, places: &[usize], last: &str) -> String {
        let mut shown = String::new();
        for (n, &i) in places.iter().enumerate() {
            if n > 0 {
                shown.push_str(if n + 1 == places.len() { last } else { ", " });
            }
            shown.push_str(&format!("{} '{}'", self.flag, self.patterns[i].given));
        }
        shown
    }
}

/// `*` stays within one name; `**` spans any number of them; `\` escapes.
fn compile(glob: &str) -> Result<globset::Glob, globset::ErrorKind> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|err| err.kind().clone())
}

/// The directories above `path`, outermost first: `a`, `a/b` for `a/b/c`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(at, _)| &path[..at])
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
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
}
