//! Files on this machine: atomic writes (`fsio`), the `--cache-dir` store, reading hash lists (`lists`,
//! `listfmt`, `fingerprints`), the spool of records kept for the end of a run, the `--checksums` manifest.
//! May import only the base (`error`, `transfer`, `sync`, `hash`).

pub(crate) mod claims;
pub(crate) mod fingerprints;
pub(crate) mod fsio;
pub mod hashlist;
pub mod listfmt;
pub(crate) mod lists;
pub(crate) mod manifest;
pub(crate) mod spool;
pub(crate) mod store;
