//! What the server serves: commits of files, branches pointing at them, and blobs by content hash.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use xxhash_rust::xxh3::Xxh3;

/// File content, in memory or on disk (streamed when served, never read whole).
#[derive(Clone, Debug)]
pub enum Blob {
    Memory(Arc<[u8]>),
    Disk { path: PathBuf, size: u64 },
}

impl Blob {
    /// Content held in memory.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Blob {
        Blob::Memory(Arc::from(bytes.into()))
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Blob::Memory(bytes) => bytes.len() as u64,
            Blob::Disk { size, .. } => *size,
        }
    }

    /// A reader over the content.
    pub fn reader(&self) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Blob::Memory(bytes) => Box::new(io::Cursor::new(bytes.clone())),
            Blob::Disk { path, .. } => Box::new(File::open(path)?),
        })
    }

    /// A reader over `len` bytes from `start` (which the caller has checked lie inside the content).
    pub fn range_reader(&self, start: u64, len: u64) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Blob::Memory(bytes) => {
                let mut cursor = io::Cursor::new(bytes.clone());
                cursor.set_position(start);
                Box::new(cursor.take(len))
            }
            Blob::Disk { path, .. } => {
                let mut file = File::open(path)?;
                io::Seek::seek(&mut file, io::SeekFrom::Start(start))?;
                Box::new(file.take(len))
            }
        })
    }

    /// The Oxen content hash: XXH3-128 as lowercase hex without leading zeros.
    pub fn hash(&self) -> io::Result<String> {
        let mut hasher = Xxh3::new();
        let mut reader = self.reader()?;
        let mut buf = vec![0; 256 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(format!("{:x}", hasher.digest128()))
    }
}

/// A directory's contents: subdirectory names, and files as (name, content, hash).
pub type Listing = (Vec<String>, Vec<(String, Blob, String)>);

/// The hash of in-memory bytes.
pub fn hash_of(bytes: &[u8]) -> String {
    format!("{:x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// A repository: commits (path → blob), branches (name → commit), and every blob by hash.
#[derive(Clone, Debug)]
pub struct Repo {
    pub namespace: String,
    pub name: String,
    commits: HashMap<String, BTreeMap<String, (Blob, String)>>,
    branches: Vec<(String, String)>,
    /// The commit that last changed each path, per commit (for `oxen-revision-id`).
    changed_in: HashMap<(String, String), String>,
    blobs: HashMap<String, Blob>,
}

impl Repo {
    /// An empty repository `namespace/name`.
    pub fn new(namespace: &str, name: &str) -> Repo {
        Repo {
            namespace: namespace.to_string(),
            name: name.to_string(),
            commits: HashMap::new(),
            branches: Vec::new(),
            changed_in: HashMap::new(),
            blobs: HashMap::new(),
        }
    }

    /// Adds a commit holding `files`; `changed` maps paths whose last change was an earlier commit.
    pub fn add_commit(
        &mut self,
        id: &str,
        files: Vec<(String, Blob)>,
        changed: &[(&str, &str)],
    ) -> io::Result<()> {
        let mut tree = BTreeMap::new();
        for (path, blob) in files {
            let hash = blob.hash()?;
            self.blobs.insert(hash.clone(), blob.clone());
            tree.insert(path, (blob, hash));
        }
        for (path, commit) in changed {
            self.changed_in
                .insert((id.to_string(), path.to_string()), commit.to_string());
        }
        self.commits.insert(id.to_string(), tree);
        Ok(())
    }

    /// Points branch `name` (which may contain `/`) at `commit`.
    pub fn add_branch(&mut self, name: &str, commit: &str) {
        self.branches.push((name.to_string(), commit.to_string()));
    }

    /// Makes a blob servable by hash without any path; returns its hash.
    pub fn add_blob(&mut self, blob: Blob) -> io::Result<String> {
        let hash = blob.hash()?;
        self.blobs.insert(hash.clone(), blob);
        Ok(hash)
    }

    /// A blob by hash.
    pub fn blob(&self, hash: &str) -> Option<&Blob> {
        self.blobs.get(hash)
    }

    /// Every `(hash, path)` of a commit, in path order.
    pub fn listing(&self, commit: &str) -> Vec<(String, String)> {
        self.commits
            .get(commit)
            .map(|tree| {
                tree.iter()
                    .map(|(p, (_, h))| (h.clone(), p.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Resolves `{revision}/{path}` segments as the server does: a commit id, else the longest branch
    /// name. Returns the commit and the path, or `None` when no revision matches.
    pub fn resolve(&self, resource: &[&str]) -> Option<(String, String)> {
        if self.commits.contains_key(resource[0]) {
            return Some((resource[0].to_string(), resource[1..].join("/")));
        }
        (1..resource.len()).rev().find_map(|take| {
            let name = resource[..take].join("/");
            self.branches
                .iter()
                .find(|(branch, _)| *branch == name)
                .map(|(_, commit)| (commit.clone(), resource[take..].join("/")))
        })
    }

    /// The file at `path` in `commit`, with its hash.
    pub fn file(&self, commit: &str, path: &str) -> Option<&(Blob, String)> {
        self.commits.get(commit)?.get(path)
    }

    /// Whether `path` is a directory in `commit`.
    pub fn is_dir(&self, commit: &str, path: &str) -> bool {
        let prefix = format!("{path}/");
        // Keys are sorted: everything below `path/` follows it directly.
        self.commits.get(commit).is_some_and(|tree| {
            tree.range(prefix.clone()..)
                .next()
                .is_some_and(|(p, _)| p.starts_with(&prefix))
        })
    }

    /// The directories and files directly inside `dir` ("" for the root) of `commit`, each sorted by
    /// name; `None` when `dir` is not a directory there.
    pub fn children(&self, commit: &str, dir: &str) -> Option<Listing> {
        let tree = self.commits.get(commit)?;
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut dirs = std::collections::BTreeSet::new();
        let mut files = Vec::new();
        let mut any = false;
        for (path, (blob, hash)) in tree.range(prefix.clone()..) {
            let Some(rest) = path.strip_prefix(&prefix) else {
                break;
            };
            any = true;
            match rest.split_once('/') {
                Some((sub, _)) => {
                    dirs.insert(sub.to_string());
                }
                None => files.push((rest.to_string(), blob.clone(), hash.clone())),
            }
        }
        (any || dir.is_empty()).then(|| (dirs.into_iter().collect(), files))
    }

    /// The total size of the files below `dir` in `commit`.
    pub fn dir_size(&self, commit: &str, dir: &str) -> u64 {
        let prefix = format!("{dir}/");
        self.commits.get(commit).map_or(0, |tree| {
            tree.range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .map(|(_, (b, _))| b.size())
                .sum()
        })
    }

    /// The commit that last changed `path` as of `commit`.
    pub fn changed_in(&self, commit: &str, path: &str) -> String {
        self.changed_in
            .get(&(commit.to_string(), path.to_string()))
            .cloned()
            .unwrap_or_else(|| commit.to_string())
    }

    /// A repository of every file below `dir` (hashed at start-up, served from disk) at branch `main`.
    pub fn from_dir(namespace: &str, name: &str, dir: &Path) -> Result<Repo> {
        Self::from_dir_and_generated(namespace, name, dir, 0)
    }

    /// The files of `dir`, plus `generated` small files under `generated/` in a wide and deep tree (50
    /// directories of 40 subdirectories each, the files spread over them), for listings and downloads at
    /// dataset scale without fixtures on disk.
    pub fn from_dir_and_generated(
        namespace: &str,
        name: &str,
        dir: &Path,
        generated: usize,
    ) -> Result<Repo> {
        let mut files = Vec::new();
        collect(dir, "", &mut files).with_context(|| format!("cannot read {}", dir.display()))?;
        files.extend((0..generated).map(|i| {
            (
                format!("generated/t{:02}/u{:02}/f{i:07}.txt", i % 50, (i / 50) % 40),
                Blob::bytes(format!("generated file {i}\n").into_bytes()),
            )
        }));
        let mut repo = Repo::new(namespace, name);
        // A stable commit id derived from the content, so reruns see the same revision.
        let mut ids = Xxh3::new();
        for (path, blob) in &files {
            ids.update(path.as_bytes());
            ids.update(&blob.size().to_le_bytes());
        }
        let commit = format!("{:032x}", ids.digest128());
        repo.add_commit(&commit, files, &[])
            .with_context(|| format!("cannot hash the files of {}", dir.display()))?;
        repo.add_branch("main", &commit);
        Ok(repo)
    }
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, Blob)>) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(&entry.path(), &rel, out)?;
        } else if kind.is_file() {
            let size = entry.metadata()?.len();
            out.push((
                rel,
                Blob::Disk {
                    path: entry.path(),
                    size,
                },
            ));
        }
    }
    Ok(())
}
