//! Which ranges to ask for: the intervals already on disk, what they lack, and requests of at most
//! one range size each.

use std::ops::Range;

/// Splits the `missing` intervals into requests of at most `chunk` bytes, in file order. The last
/// request of an interval ends exactly where it does: real servers answer 500 for a range past the end.
pub(crate) fn plan(missing: &[Range<u64>], chunk: u64) -> Vec<Range<u64>> {
    let chunk = chunk.max(1);
    let mut ranges = Vec::new();
    for interval in missing {
        let mut start = interval.start;
        while start < interval.end {
            let end = interval.end.min(start.saturating_add(chunk));
            ranges.push(start..end);
            start = end;
        }
    }
    ranges
}

/// Disjoint, sorted, merged byte intervals: what is on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Intervals(Vec<Range<u64>>);

impl Intervals {
    /// Adds `range`, merging it with the intervals it touches.
    pub(crate) fn insert(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        // The first interval that ends at or after the new start may touch it.
        let first = self.0.partition_point(|r| r.end < range.start);
        let mut last = first;
        let mut merged = range;
        while last < self.0.len() && self.0[last].start <= merged.end {
            merged.start = merged.start.min(self.0[last].start);
            merged.end = merged.end.max(self.0[last].end);
            last += 1;
        }
        self.0.splice(first..last, [merged]);
    }

    /// The end of the interval holding `pos`, if one does.
    pub(super) fn end_from(&self, pos: u64) -> Option<u64> {
        let i = self.0.partition_point(|r| r.end <= pos);
        self.0.get(i).filter(|r| r.start <= pos).map(|r| r.end)
    }

    /// What `[0, size)` lacks.
    pub(crate) fn missing(&self, size: u64) -> Vec<Range<u64>> {
        let mut gaps = Vec::new();
        let mut at = 0;
        for r in &self.0 {
            if r.start > at {
                gaps.push(at..r.start.min(size));
            }
            at = at.max(r.end);
        }
        if at < size {
            gaps.push(at..size);
        }
        gaps
    }

    /// Bytes covered.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().map(|r| r.end - r.start).sum()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// From a state file's pairs: `None` unless they are sorted, disjoint, non-empty and inside `size`.
    pub(super) fn from_pairs(pairs: &[[u64; 2]], size: u64) -> Option<Self> {
        let mut at = 0;
        let mut out = Vec::with_capacity(pairs.len());
        for &[start, end] in pairs {
            if start < at || start >= end || end > size {
                return None;
            }
            out.push(start..end);
            at = end;
        }
        let mut merged = Intervals::default();
        for r in out {
            merged.insert(r);
        }
        Some(merged)
    }

    pub(super) fn pairs(&self) -> Vec<[u64; 2]> {
        self.0.iter().map(|r| [r.start, r.end]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(size: u64) -> Vec<Range<u64>> {
        Intervals::default().missing(size)
    }

    fn sizes(ranges: &[Range<u64>]) -> Vec<(u64, u64)> {
        ranges.iter().map(|r| (r.start, r.end - r.start)).collect()
    }

    #[test]
    fn ranges_end_exactly_at_the_end() {
        let k = 1024;
        // An exact multiple of the range size.
        assert_eq!(
            sizes(&plan(&whole(4 * k), k)),
            vec![(0, k), (k, k), (2 * k, k), (3 * k, k)]
        );
        // One byte over: a last range of one byte, never one past the end.
        assert_eq!(
            sizes(&plan(&whole(2 * k + 1), k)),
            vec![(0, k), (k, k), (2 * k, 1)]
        );
        // Smaller than one range.
        assert_eq!(sizes(&plan(&whole(10), k)), vec![(0, 10)]);
        // Empty: nothing to ask for.
        assert!(plan(&Intervals::default().missing(0), k).is_empty());
        // Only the gaps an earlier run left, each cut at its own end.
        let mut done = Intervals::default();
        done.insert(100..1500);
        assert_eq!(
            sizes(&plan(&done.missing(3000), k)),
            vec![(0, 100), (1500, 1024), (2524, 476)]
        );
    }

    #[test]
    fn intervals_merge_and_tell_what_is_missing() {
        let mut done = Intervals::default();
        done.insert(10..20);
        done.insert(30..40);
        done.insert(20..25);
        assert_eq!(done.0, vec![10..25, 30..40]);
        done.insert(0..0);
        done.insert(24..31);
        assert_eq!(done.0, vec![10..40]);
        done.insert(50..60);
        done.insert(0..5);
        assert_eq!(done.0, vec![0..5, 10..40, 50..60]);
        assert_eq!(done.missing(70), vec![5..10, 40..50, 60..70]);
        assert_eq!(done.total(), 45);
        assert_eq!(done.end_from(12), Some(40));
        assert_eq!(done.end_from(40), None);
        assert_eq!(done.end_from(0), Some(5));
        done.insert(0..100);
        assert_eq!(done.0, vec![0..100]);
        assert!(done.missing(100).is_empty());
    }

    #[test]
    fn a_state_is_trusted_only_when_it_makes_sense() {
        assert_eq!(
            Intervals::from_pairs(&[[0, 10], [10, 20], [30, 40]], 40).map(|d| d.0),
            Some(vec![0..20, 30..40])
        );
        for bad in [
            &[[0, 10], [5, 20]][..],
            &[[10, 20], [0, 5]],
            &[[0, 0]],
            &[[30, 50]],
        ] {
            assert!(Intervals::from_pairs(bad, 40).is_none(), "{bad:?}");
        }
    }
}
