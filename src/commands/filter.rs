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
            let excluded = self.exclude.matched();
            if !self.include.patterns.is_empty() && included.is_empty() {
                let all: Vec<usize> = (0..self.include.patterns.len()).collect();
                // Directories the excludes left out were never looked into: the includes may have
                // matched there, so the excludes are named too.
                let left_out = if excluded.is_empty() {
                    String::new()
                } else {
                    format!(
                        " outside what {} left out",
                        self.exclude.show(&excluded, " and ")
                    )
                };
                lines.push(format!(
                    "oxdl: no file matched {}{left_out} ({seen})",
                    self.include.show(&all, " or ")
                ));
                named.extend(all.into_iter().map(|i| ("--include", i)));
                named.extend(excluded.into_iter().map(|i| ("--exclude", i)));
            } else {
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
            // `P/**/` names only the directories below P: files directly in P are kept, so P is not
            // covered (its subdirectories are pruned by `dirs`).
            if let Some(prefix) = glob_text
                .strip_suffix("/**")
                .filter(|p| !p.is_empty() && !dir_only)
            {
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
mod tests;
