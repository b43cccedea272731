//! Hashes kept for the end of a run (those the server is missing, listed last), on disk once there are
//! many, so that a list of a million missing files costs no more memory than one of ten.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use anyhow::Result;

use crate::error::{Kind, KindContext};

/// How many hashes are kept in memory before they go to a temp file.
const IN_MEMORY: usize = 4096;

/// An append-only list of hashes.
#[derive(Default)]
pub(super) struct Spool {
    memory: Vec<u128>,
    /// An unnamed temp file (gone with the process, however it ends) holding the hashes before `memory`.
    disk: Option<BufWriter<File>>,
    on_disk: u64,
    /// No temp file could be made or written: everything stays in memory.
    no_disk: bool,
}

impl Spool {
    /// Adds a hash.
    pub(super) fn push(&mut self, value: u128) {
        self.memory.push(value);
        if self.memory.len() >= IN_MEMORY && !self.no_disk {
            self.spill();
        }
    }

    /// How many hashes it holds.
    #[cfg(test)]
    fn len(&self) -> u64 {
        self.on_disk + self.memory.len() as u64
    }

    /// Moves the hashes in memory to the temp file; on any failure keeps them in memory from now on.
    fn spill(&mut self) {
        if self.disk.is_none() {
            match tempfile::tempfile() {
                Ok(file) => self.disk = Some(BufWriter::new(file)),
                Err(_) => {
                    self.no_disk = true;
                    return;
                }
            }
        }
        let Some(disk) = &mut self.disk else { return };
        let written = self
            .memory
            .iter()
            .try_for_each(|value| disk.write_all(&value.to_le_bytes()));
        match written.and_then(|()| disk.flush()) {
            Ok(()) => {
                self.on_disk += self.memory.len() as u64;
                self.memory.clear();
            }
            // What reached the file before the failure is not counted, so it is never read back.
            Err(_) => self.no_disk = true,
        }
    }

    /// Calls `each` with every hash, in the order added.
    pub(super) fn for_each(&self, mut each: impl FnMut(u128)) -> Result<()> {
        if let Some(disk) = &self.disk {
            let what = "cannot read back the list of missing files from its temp file";
            let mut file = disk.get_ref().try_clone().kind_context(Kind::Other, what)?;
            file.seek(SeekFrom::Start(0))
                .kind_context(Kind::Other, what)?;
            let mut reader = BufReader::new(file);
            let mut record = [0u8; 16];
            for _ in 0..self.on_disk {
                reader
                    .read_exact(&mut record)
                    .kind_context(Kind::Other, what)?;
                each(u128::from_le_bytes(record));
            }
            // The clone shares the writer's offset: put it back where the writer left it.
            let mut file = reader.into_inner();
            file.seek(SeekFrom::Start(self.on_disk * 16))
                .kind_context(Kind::Other, what)?;
        }
        self.memory.iter().copied().for_each(each);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_back_every_hash_in_order_from_memory_and_disk() {
        let mut spool = Spool::default();
        let values: Vec<u128> = (0..10_000u128).map(|i| i * 0x1_0000_0000_0001).collect();
        for &v in &values {
            spool.push(v);
        }
        assert_eq!(spool.len(), 10_000);
        assert!(spool.disk.is_some() && spool.memory.len() < IN_MEMORY);
        for _ in 0..2 {
            let mut back = Vec::new();
            spool.for_each(|v| back.push(v)).unwrap();
            assert_eq!(back, values);
        }
    }
}
