//! What the user and scripts see: progress on stderr, output files and stdout (`output`), and the
//! per-file reports (`--json`, `--checksums`).
//! May import `disk` (the manifest, atomic writes) and the base; never the server or the engine.

pub mod output;
pub(crate) mod progress;
pub(crate) mod report;
