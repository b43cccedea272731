//! A content hash: the XXH3-128 of a file's bytes, written as the server writes it (lowercase hex
//! without leading zeros), and one file wanted by its hash.

use std::path::PathBuf;

/// One file to fetch: its hash and every destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The hash as a number, to compare with the XXH3-128 of the bytes.
    pub value: u128,
    /// Destinations relative to the output directory; never empty.
    pub destinations: Vec<PathBuf>,
    /// The size, when the source says.
    pub size: Option<u64>,
    /// Indexes in `destinations` of the files found there with other content (a local edit): those
    /// are replaced, and reported so. Usually empty.
    pub replaced: Vec<usize>,
}

impl Wanted {
    /// One file wanted at `destination`; `replaced` when a file with other content is there.
    pub fn new(value: u128, destination: PathBuf, size: Option<u64>, replaced: bool) -> Self {
        Wanted {
            value,
            destinations: vec![destination],
            size,
            replaced: if replaced { vec![0] } else { Vec::new() },
        }
    }

    /// Adds a destination; `replaced` when a file with other content is there.
    pub fn add(&mut self, destination: PathBuf, replaced: bool) {
        if replaced {
            self.replaced.push(self.destinations.len());
        }
        self.destinations.push(destination);
    }

    /// Whether the destination at `index` held other content, which it replaces.
    pub fn replaces(&self, index: usize) -> bool {
        self.replaced.contains(&index)
    }

    /// The hash in the server's form: lowercase hex without leading zeros.
    pub fn hash(&self) -> String {
        hash_text(self.value)
    }
}

/// A hash in the server's form: lowercase hex without leading zeros.
pub fn hash_text(value: u128) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // By hand: `format!("{:x}")` was a tenth of the time of a dry run over a million files.
    let digits = (128 - value.leading_zeros()).div_ceil(4).max(1);
    let mut text = String::with_capacity(32);
    for at in (0..digits).rev() {
        text.push(char::from(HEX[((value >> (4 * at)) & 0xf) as usize]));
    }
    text
}

/// The value of each byte as a hex digit; 0xff for the others.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut at = 0;
    while at < 10 {
        table[b'0' as usize + at] = at as u8;
        at += 1;
    }
    let mut at = 0;
    while at < 6 {
        table[b'a' as usize + at] = 10 + at as u8;
        table[b'A' as usize + at] = 10 + at as u8;
        at += 1;
    }
    table
};

/// Parses a content hash: hex only, at most 32 digits, any case, leading zeros allowed.
pub fn parse_hash(text: &str) -> Result<u128, String> {
    let not_a_hash = || {
        format!(
            "'{}' is not a content hash (1 to 32 hex digits)",
            text.escape_debug()
        )
    };
    if text.is_empty() || text.len() > 32 {
        return Err(not_a_hash());
    }
    // By hand, in two 64-bit halves: at most 32 digits cannot overflow, and `from_str_radix` on a u128
    // took a tenth of the time to plan a list.
    let bytes = text.as_bytes();
    let split = bytes.len().saturating_sub(16);
    let half = |digits: &[u8]| {
        digits.iter().try_fold(0u64, |acc, &byte| {
            let digit = HEX_VALUE[usize::from(byte)];
            (digit < 16).then_some((acc << 4) | u64::from(digit))
        })
    };
    let (Some(high), Some(low)) = (half(&bytes[..split]), half(&bytes[split..])) else {
        return Err(not_a_hash());
    };
    let value = (u128::from(high) << 64) | u128::from(low);
    // The server's batch handler crashes on one-digit hashes, and no real file hashes that low.
    if value < 0x10 {
        return Err(format!("'{text}' is too small to be a content hash"));
    }
    Ok(value)
}

/// Parses a content hash; returns the server's form and its value.
pub fn normalise(text: &str) -> Result<(String, u128), String> {
    parse_hash(text).map(|value| (hash_text(value), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_server_form() {
        assert_eq!(
            normalise("0389F92E4837212ABE1BDB262834FC63").unwrap().0,
            "389f92e4837212abe1bdb262834fc63"
        );
        assert_eq!(normalise("00ab").unwrap(), ("ab".to_string(), 0xab));
        for value in [
            0,
            0x10,
            0xab,
            1 << 64,
            u128::MAX,
            0x0389f92e4837212abe1bdb262834fc63,
        ] {
            assert_eq!(hash_text(value), format!("{value:x}"));
            if value >= 0x10 {
                assert_eq!(parse_hash(&format!("{value:X}")), Ok(value));
            }
        }
        for bad in ["", "xyz", "0x12", "1", "0000", &"a".repeat(33), "12 34"] {
            assert!(normalise(bad).is_err(), "{bad}");
        }
    }
}
