//! Parsers for the values of options: sizes, shards, seconds, repository names.

use crate::engine::batch::Shard;
use crate::server::remote::RepoName;

/// Parses a byte size: a whole number, optionally followed by K, M, G or T (binary multiples; a trailing
/// `iB` or `B` is allowed, in either case), e.g. `512K`, `10M`, `1G`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("expected a size such as 1048576, 512K, 10M or 1G, got '{text}'");
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    let unit_start = upper
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(upper.len());
    let (digits, unit) = upper.split_at(unit_start);
    let multiple = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(unit);
    let shift = match multiple {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(bad()),
    };
    // "B" alone means bytes; "iB" alone means nothing.
    if unit == "IB" {
        return Err(bad());
    }
    let number: u64 = digits.parse().map_err(|_| bad())?;
    number.checked_mul(1u64 << shift).ok_or_else(bad)
}

/// Parses a cache size: bytes, or a number with K, M, G or T (powers of 1024; a trailing B or iB is allowed).
pub(super) fn parse_max_size(text: &str) -> Result<u64, String> {
    let bad = || {
        format!("expected a size such as 500M or 10G (K, M, G, T: powers of 1024), got '{text}'")
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(&unit);
    let scale: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(bad()),
    };
    if number.is_empty() {
        return Err(bad());
    }
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(scale).ok_or_else(bad);
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = value * scale as f64;
    if bytes.is_finite() && bytes < u64::MAX as f64 {
        Ok(bytes as u64)
    } else {
        Err(bad())
    }
}

/// Parses a range size: at least 64 KiB (smaller ranges cost a request each for little data) and at most
/// 1 GiB.
pub(super) fn parse_chunk_size(text: &str) -> Result<u64, String> {
    let size = parse_size(text)?;
    if !(64 * 1024..=1 << 30).contains(&size) {
        return Err(format!(
            "a range size must be between 64K and 1G, got '{text}'"
        ));
    }
    Ok(size)
}

/// Parses K/N with 0 <= K < N.
pub(super) fn parse_shard(text: &str) -> Result<Shard, String> {
    let bad = || {
        format!("expected K/N with 0 <= K < N, e.g. 0/4 (or $JOB_COMPLETION_INDEX/4), got '{text}'")
    };
    let (index, count) = text.split_once('/').ok_or_else(bad)?;
    let index: u64 = index.trim().parse().map_err(|_| bad())?;
    let count: u64 = count.trim().parse().map_err(|_| bad())?;
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// Parses a positive number of seconds.
pub(super) fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() && secs < 1e9 => Ok(secs),
        _ => Err(format!(
            "expected a positive number of seconds, got '{text}'"
        )),
    }
}

/// Parses NAMESPACE/NAME, rejecting anything with more or fewer parts.
pub fn parse_repo(text: &str) -> Result<RepoName, String> {
    match text.split_once('/') {
        Some((namespace, name))
            if !namespace.is_empty() && !name.is_empty() && !name.contains('/') =>
        {
            Ok(RepoName {
                namespace: namespace.to_string(),
                name: name.to_string(),
            })
        }
        _ => Err(format!(
            "expected NAMESPACE/REPO (for example ox/demo), got '{text}'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_sizes() {
        assert_eq!(parse_max_size("0"), Ok(0));
        assert_eq!(parse_max_size("4096"), Ok(4096));
        assert_eq!(parse_max_size("500M"), Ok(500 << 20));
        assert_eq!(parse_max_size("10G"), Ok(10 << 30));
        assert_eq!(parse_max_size("10g"), Ok(10 << 30));
        assert_eq!(parse_max_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_max_size("2 KB"), Ok(2048));
        assert_eq!(parse_max_size("1.5K"), Ok(1536));
        assert_eq!(parse_max_size("1T"), Ok(1 << 40));
        for bad in ["", "G", "10X", "-1G", "1.2.3M", "99999999999T", "M10"] {
            assert!(parse_max_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        for (text, bytes) in [
            ("0", 0),
            ("1048576", 1 << 20),
            ("512K", 512 << 10),
            ("10M", 10 << 20),
            ("10m", 10 << 20),
            ("1G", 1 << 30),
            ("1GiB", 1 << 30),
            ("2MB", 2 << 20),
            ("7B", 7),
            ("1T", 1 << 40),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for bad in ["", "M", "1.5M", "-1", "10X", "1MM", "1iB", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_chunk_size("1K").is_err());
        assert_eq!(parse_chunk_size("64K"), Ok(64 << 10));
        assert!(parse_chunk_size("2G").is_err());
    }

    #[test]
    fn shards() {
        assert_eq!(parse_shard("1/4"), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "0/0", "1", "a/b", "-1/3", "1/"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for value in [0u128, 1, 2, 77, u128::MAX] {
            assert_eq!(shards.iter().filter(|s| s.keeps(value)).count(), 1);
        }
    }

    #[test]
    fn repo_names() {
        assert_eq!(parse_repo("ox/demo").unwrap().to_string(), "ox/demo");
        for bad in ["ox", "ox/", "/demo", "a/b/c", ""] {
            assert!(parse_repo(bad).is_err(), "{bad}");
        }
    }
}
