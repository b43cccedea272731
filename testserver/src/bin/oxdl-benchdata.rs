//! `oxdl-benchdata KIND DIR`: writes the benchmark's data sets, deterministic and compressible like real
//! tabular data (about 2:1 under gzip), so that decompression costs what it costs on real repositories.
//!
//! Kinds: `small` (4,000 files of 4–64 KiB), `large` (8 files of 128 MiB), `one` (one file of 1 GiB),
//! `ranged` (one file of 512 MiB and one of 256 MiB, for ranged downloads).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// A small, fast, deterministic generator (xorshift64*): the same data on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Sixteen symbols, as in a CSV of numbers: four bits of entropy a byte.
const ALPHABET: &[u8; 16] = b"0123456789,.-\n;e";

fn write_file(path: &Path, size: u64, rng: &mut Rng) -> Result<()> {
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(path).with_context(|| path.display().to_string())?,
    );
    let mut block = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        for chunk in block[..n].chunks_mut(16) {
            let mut bits = rng.next();
            for byte in chunk {
                *byte = ALPHABET[(bits & 15) as usize];
                bits >>= 4;
            }
        }
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, dir] = args.as_slice() else {
        bail!("usage: oxdl-benchdata small|large|one|ranged DIR");
    };
    let dir = Path::new(dir);
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    match kind.as_str() {
        "small" => {
            for i in 0..4000 {
                let sub = dir.join(format!("part{:02}", i % 40));
                std::fs::create_dir_all(&sub)?;
                let size = 4096 + rng.next() % (60 * 1024 + 1);
                write_file(&sub.join(format!("rows-{i:04}.csv")), size, &mut rng)?;
            }
        }
        "large" => {
            for i in 0..8 {
                write_file(&dir.join(format!("shard-{i}.csv")), 128 << 20, &mut rng)?;
            }
        }
        "one" => write_file(&dir.join("table.csv"), 1 << 30, &mut rng)?,
        "ranged" => {
            write_file(&dir.join("wan.csv"), 512 << 20, &mut rng)?;
            write_file(&dir.join("loop.csv"), 256 << 20, &mut rng)?;
        }
        other => bail!("unknown kind '{other}': small, large, one or ranged"),
    }
    Ok(())
}
