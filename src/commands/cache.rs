//! `oxdl cache info|prune`: how big the `--cache-dir` store is, and evicting its least recently used
//! files down to a size. Offline.

use std::io::ErrorKind;

use anyhow::Result;

use crate::cli::{CacheAction, CacheArgs, GlobalArgs};
use crate::disk::store::{Cache, Entry};
use crate::error::{Kind, fail};

/// The cache `--cache-dir` names, if any (an empty `OXDL_CACHE_DIR` names none). Nothing is created
/// until a file goes in.
pub(crate) fn store_settings(global: &GlobalArgs) -> Option<Cache> {
    let dir = global
        .cache_dir
        .as_ref()
        .filter(|d| !d.as_os_str().is_empty())?;
    Some(Cache::new(dir.clone(), global.link, global.trust_cache))
}

/// `oxdl cache info|prune`: offline, on the directory of `--cache-dir`.
pub(crate) fn run(args: &CacheArgs, global: &GlobalArgs) -> Result<()> {
    if global.checksums.is_some() {
        return Err(fail(
            Kind::Usage,
            "--checksums lists files written to disk, and cache writes none; it applies to get and batch",
        ));
    }
    let Some(cache) = store_settings(global) else {
        return Err(fail(
            Kind::Usage,
            "no cache named: give --cache-dir DIR (or set OXDL_CACHE_DIR)",
        ));
    };
    if global.json {
        crate::term::output::require_stdout("--json")?;
    }
    let dir = cache.dir();
    let exists = dir.exists();
    let mut entries = if exists {
        Cache::entries(dir)?
    } else {
        Vec::new()
    };
    let bytes = |entries: &[Entry]| entries.iter().map(|e| e.bytes).sum::<u64>();
    match args.action {
        CacheAction::Info => {
            let total = bytes(&entries);
            let line = if global.json {
                serde_json::json!({"dir": dir.to_string_lossy(), "entries": entries.len(), "bytes": total})
                    .to_string()
            } else {
                format!(
                    "{}: {} file(s), {total} bytes ({}){}",
                    dir.display(),
                    entries.len(),
                    human(total),
                    if exists {
                        ""
                    } else {
                        "; it does not exist yet"
                    }
                )
            };
            print_line(&line)
        }
        CacheAction::Prune { max_size } => {
            // The least recently used first.
            entries.sort_by_key(|e| e.used);
            let mut total = bytes(&entries);
            let (mut removed, mut removed_bytes) = (0usize, 0u64);
            let mut kept = entries.len();
            for entry in &entries {
                if total <= max_size {
                    break;
                }
                match std::fs::remove_file(&entry.path) {
                    // Gone already: another prune was here first.
                    Err(err) if err.kind() != ErrorKind::NotFound => {
                        return Err(fail(
                            Kind::Other,
                            format!(
                                "cannot remove {} from the cache: {err}; {removed} file(s) removed so far",
                                entry.path.display()
                            ),
                        ));
                    }
                    _ => {}
                }
                total -= entry.bytes;
                removed += 1;
                removed_bytes += entry.bytes;
                kept -= 1;
            }
            if exists {
                Cache::tidy(dir);
            }
            if global.json {
                print_line(
                    &serde_json::json!({
                        "dir": dir.to_string_lossy(), "removed": removed, "removed_bytes": removed_bytes,
                        "entries": kept, "bytes": total,
                    })
                    .to_string(),
                )?;
            }
            if !global.quiet {
                eprintln!(
                    "oxdl: removed {removed} file(s), {removed_bytes} bytes ({}); {kept} file(s), {total} \
                     bytes ({}) left in {}",
                    human(removed_bytes),
                    human(total),
                    dir.display()
                );
            }
            Ok(())
        }
    }
}

fn print_line(line: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|err| crate::transfer::write_failure(err, "stdout"))
}

/// Bytes for people: 512 B, 4.5 KiB, 10.0 GiB.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(4608), "4.5 KiB");
        assert_eq!(human(10 << 30), "10.0 GiB");
    }
}
