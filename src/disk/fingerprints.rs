//! A compact map from 64-bit fingerprints to 64-bit values: 16 bytes a slot, for the claims of lists with
//! millions of lines (see `hashes`), where a map of owned paths would cost hundreds of bytes an entry.

/// Fingerprints are spread over this many tables (the top bits choose), so that growing one copies only a
/// small part of the whole and peak memory stays close to what the entries need.
const SHARD_BITS: u32 = 6;
/// Slots a table starts with.
const FIRST_CAPACITY: usize = 64;

/// Fingerprints and their values; inserted once, never removed.
pub(crate) struct FingerprintMap {
    shards: Vec<Table>,
}

/// One open-addressed table with linear probing; a key of 0 marks a free slot.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    len: usize,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    key: u64,
    value: u64,
}

impl Default for FingerprintMap {
    fn default() -> Self {
        FingerprintMap::new()
    }
}

impl FingerprintMap {
    /// An empty map.
    pub(crate) fn new() -> Self {
        FingerprintMap {
            shards: (0..1 << SHARD_BITS).map(|_| Table::default()).collect(),
        }
    }

    /// The value stored for `key`.
    pub(crate) fn get(&self, key: u64) -> Option<u64> {
        let key = key.max(1);
        self.shards[shard_of(key)].find(key).map(|(_, value)| value)
    }

    /// Stores `value` for `key` unless the key is there already; returns the value already there.
    pub(crate) fn insert(&mut self, key: u64, value: u64) -> Option<u64> {
        let key = key.max(1);
        self.shards[shard_of(key)].insert(key, value)
    }

    /// How many keys are stored.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|t| t.len).sum()
    }
}

fn shard_of(key: u64) -> usize {
    (key >> (64 - SHARD_BITS)) as usize
}

impl Table {
    /// The slot holding `key`, or the free slot where it would go; with the value when found.
    fn find(&self, key: u64) -> Option<(usize, u64)> {
        if self.slots.is_empty() {
            return None;
        }
        let mut at = self.home(key);
        loop {
            let slot = self.slots[at];
            if slot.key == key {
                return Some((at, slot.value));
            }
            if slot.key == 0 {
                return None;
            }
            at = self.next(at);
        }
    }

    fn insert(&mut self, key: u64, value: u64) -> Option<u64> {
        // At most 85% full, where linear probing still finds a key in a few neighbouring slots (of one or
        // two cache lines). Growing by half keeps the table 57–85% full, against 44–87% for a doubling
        // table with twice the transient.
        if (self.len + 1) * 20 > self.slots.len() * 17 {
            self.grow();
        }
        let mut at = self.home(key);
        loop {
            let slot = &mut self.slots[at];
            if slot.key == key {
                return Some(slot.value);
            }
            if slot.key == 0 {
                *slot = Slot { key, value };
                self.len += 1;
                return None;
            }
            at = self.next(at);
        }
    }

    /// Where probing for `key` starts: the bits below the shard's, scaled to the table's size.
    fn home(&self, key: u64) -> usize {
        (((key << SHARD_BITS) as u128 * self.slots.len() as u128) >> 64) as usize
    }

    fn next(&self, at: usize) -> usize {
        if at + 1 == self.slots.len() {
            0
        } else {
            at + 1
        }
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() + self.slots.len() / 2).max(FIRST_CAPACITY);
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); capacity]);
        self.len = 0;
        for slot in old.into_iter().filter(|slot| slot.key != 0) {
            self.insert(slot.key, slot.value);
        }
    }
}

/// Hashes content hashes for std's maps: a folded multiply with a key chosen per process. Content hashes
/// are uniform already, and the key keeps a hostile list or listing from aiming at one bucket; SipHash
/// (std's default) cost a tenth of the planning time of a million-line list.
#[derive(Clone, Copy)]
pub(crate) struct ValueState([u64; 2]);

/// A map keyed by content hash.
pub(crate) type ValueMap<V> = std::collections::HashMap<u128, V, ValueState>;
/// A set of content hashes.
pub(crate) type ValueSet = std::collections::HashSet<u128, ValueState>;

impl Default for ValueState {
    fn default() -> Self {
        use std::hash::BuildHasher;
        let random = std::collections::hash_map::RandomState::new();
        ValueState([random.hash_one(1u8), random.hash_one(2u8)])
    }
}

impl std::hash::BuildHasher for ValueState {
    type Hasher = ValueHasher;

    fn build_hasher(&self) -> ValueHasher {
        ValueHasher {
            key: self.0,
            state: 0,
        }
    }
}

/// See [`ValueState`].
pub(crate) struct ValueHasher {
    key: [u64; 2],
    state: u64,
}

impl std::hash::Hasher for ValueHasher {
    fn write_u128(&mut self, value: u128) {
        let product = u128::from((value as u64) ^ self.key[0])
            * u128::from(((value >> 64) as u64) ^ self.key[1] ^ self.state);
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(16) {
            let mut block = [0u8; 16];
            block[..chunk.len()].copy_from_slice(chunk);
            self.write_u128(u128::from_le_bytes(block));
        }
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_each_key_once_and_finds_it_again() {
        let mut map = FingerprintMap::new();
        let keys: Vec<u64> = (0..100_000u64)
            .map(|i| xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes()))
            .collect();
        for (i, &key) in keys.iter().enumerate() {
            assert_eq!(map.insert(key, i as u64), None);
        }
        for (i, &key) in keys.iter().enumerate() {
            assert_eq!(map.insert(key, 7), Some(i as u64), "the first value stays");
            assert_eq!(map.get(key), Some(i as u64));
        }
        assert_eq!(map.len(), keys.len());
        assert_eq!(map.get(12345), None);
        // Keys alike in their top bits (one shard) and keys 0 and 1 (stored as one).
        let mut map = FingerprintMap::new();
        for i in 0..1000u64 {
            assert_eq!(map.insert(i, i), if i == 1 { Some(0) } else { None });
        }
        assert_eq!(map.get(999), Some(999));
        assert_eq!(map.get(0), Some(0));
    }

    #[test]
    fn content_hashes_spread_over_buckets() {
        use std::hash::BuildHasher;
        let state = ValueState::default();
        // Values alike but for one bit: their hashes differ in their top bits (hashbrown's tags) and in
        // their low bits (its bucket index).
        let hashes: Vec<u64> = (0..128).map(|bit| state.hash_one(1u128 << bit)).collect();
        let tops: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        let lows: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 1023).collect();
        assert!(
            tops.len() > 64 && lows.len() > 100,
            "{} {}",
            tops.len(),
            lows.len()
        );
    }
}
