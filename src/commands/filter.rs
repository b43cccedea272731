//! `--include` / `--exclude`: which listed files to keep, by glob on the path relative to the listed
//! directory.

use anyhow::Result;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::cli::Filters;
use crate::error::{Kind, fail};

/// The compiled globs; keeps everything when none were given.
pub(crate) struct Filter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    /// The `P` of each exclude `P/**`: a directory matching one holds nothing that is kept.
    pruned: Option<GlobSet>,
}

impl Filter {
    /// Compiles the globs; a malformed one is a usage error naming it.
    pub(crate) fn new(filters: &Filters) -> Result<Self> {
        let pruned: Vec<String> = filters
            .exclude
            .iter()
            .filter_map(|glob| glob.strip_suffix("/**"))
            .filter(|prefix| !prefix.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Filter {
            include: compile(&filters.include, "--include")?,
            exclude: compile(&filters.exclude, "--exclude")?,
            pruned: compile(&pruned, "--exclude")?,
        })
    }

    /// Whether nothing below the directory at `path` can be kept (an `--exclude 'DIR/**'` covers it), so
    /// that it need not even be listed.
    pub(crate) fn prunes(&self, path: &str) -> bool {
        self.pruned.as_ref().is_some_and(|set| set.is_match(path))
    }

    /// Whether the file at `path` (relative, `/`-separated) is kept: an exclude beats an include.
    pub(crate) fn keeps(&self, path: &str) -> bool {
        if self.exclude.as_ref().is_some_and(|set| set.is_match(path)) {
            return false;
        }
        self.include.as_ref().is_none_or(|set| set.is_match(path))
    }
}

fn compile(globs: &[String], flag: &str) -> Result<Option<GlobSet>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        // `*` stays within one directory; `**` spans any number of them.
        let compiled = GlobBuilder::new(glob)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|err| fail(Kind::Usage, format!("{flag} '{glob}': {err}")))?;
        set.add(compiled);
    }
    set.build()
        .map(Some)
        .map_err(|err| fail(Kind::Usage, format!("{flag}: {err}")))
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

    #[test]
    fn includes_excludes_and_double_stars() {
        let all = filter(&[], &[]);
        assert!(all.keeps("a/b.txt"));
        let csv = filter(&["*.csv"], &[]);
        assert!(csv.keeps("data.csv") && !csv.keeps("sub/data.csv") && !csv.keeps("a.txt"));
        let deep = filter(&["**/*.csv"], &[]);
        assert!(deep.keeps("data.csv") && deep.keeps("a/b/data.csv"));
        let both = filter(&["images/**"], &["**/*.tmp"]);
        assert!(both.keeps("images/a/x.png"));
        assert!(!both.keeps("images/x.tmp"), "an exclude beats an include");
        assert!(!both.keeps("other/x.png"));
        assert!(
            Filter::new(&Filters {
                include: vec!["a[".to_string()],
                exclude: Vec::new()
            })
            .is_err()
        );
    }

    #[test]
    fn a_directory_is_pruned_only_when_everything_below_it_is_excluded() {
        let f = filter(&[], &["scratch/**", "**/cache/**", "*.tmp", "logs/*"]);
        for dir in ["scratch", "a/cache", "cache", "a/b/cache"] {
            assert!(f.prunes(dir), "{dir}");
            assert!(
                !f.keeps(&format!("{dir}/x/y.txt")),
                "{dir}: pruning agrees with keeps"
            );
        }
        // logs/* excludes only files directly in logs; logs/sub/x is kept.
        for dir in ["scratch2", "a/scratch", "logs", "a", "cachex"] {
            assert!(!f.prunes(dir), "{dir}");
        }
        assert!(f.keeps("logs/sub/x.txt"));
    }
}
