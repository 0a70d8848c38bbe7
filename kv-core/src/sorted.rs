//! Key order: how a commit's changes, a snapshot and [`Store::sorted_keys`] come out sorted.
//!
//! [`Store::sorted_keys`]: crate::Store::sorted_keys

use alloc::vec::Vec;

/// Borrowed items in ascending byte order of their keys.
///
/// Every sort in the core goes through here, on pairs of a key and a reference: each sort the
/// standard library instantiates costs the browser build a few KB, and sorts of such pairs
/// compile to the same code whatever the item type, so the compiler keeps one.
#[derive(Debug)]
pub(crate) struct Sorted<'a, T> {
    /// Invariant: sorted by key, no key twice.
    pairs: Vec<(&'a str, &'a T)>,
}

impl<'a, T> Sorted<'a, T> {
    /// `pairs` sorted by key; each key must appear once. `capacity` is how many there are, or
    /// more.
    pub(crate) fn new(capacity: usize, pairs: impl Iterator<Item = (&'a str, &'a T)>) -> Self {
        let mut sorted = Vec::with_capacity(capacity);
        sorted.extend(pairs);
        sort(&mut sorted);
        Self { pairs: sorted }
    }

    /// Every key with its item, in ascending key order.
    pub(crate) fn as_slice(&self) -> &[(&'a str, &'a T)] {
        &self.pairs
    }

    /// Every key, in ascending order.
    pub(crate) fn into_keys(self) -> impl ExactSizeIterator<Item = &'a str> {
        self.pairs.into_iter().map(|(key, _)| key)
    }
}

/// The one sort: by key, in ascending byte order.
fn sort<T>(pairs: &mut [(&str, &T)]) {
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
}
