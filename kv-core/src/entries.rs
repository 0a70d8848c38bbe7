//! [`Entries`]: the map a store holds, its entries in one vector and a hash table of their
//! positions.
//!
//! A `HashMap<SmolStr, V>` keeps each entry in its table's slots, and the table has a power
//! of two of them, at most seven eighths full: a million entries of 48 bytes take 2²¹ slots,
//! about 100 MB, four times the file they were read from. Here the table holds only positions
//! (8 bytes a slot) and the entries sit packed in a vector: about 67 MB for the same million.
//! (The `indexmap` crate has this layout, but keeps each entry's hash beside it, 8 bytes more
//! an entry, and a second set of instantiations in the browser's module; what a store needs of
//! it is the few calls below.)

use alloc::vec::Vec;
use core::fmt;
use core::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};
use smol_str::SmolStr;

/// Keys to values, in no particular order (removing one moves the last entry into its place).
///
/// `pub` only so that the sealed [`Json`](crate::Json) trait may name it; its module is private.
#[derive(Clone)]
pub struct Entries<V> {
    /// Positions in `entries`, found by the hash of the key there.
    slots: HashTable<usize>,
    entries: Vec<(SmolStr, V)>,
    hasher: DefaultHashBuilder,
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Entries<V> {
    pub(crate) fn new() -> Self {
        Self {
            slots: HashTable::new(),
            entries: Vec::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many entries fit before the table grows.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Makes room for `additional` more entries.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let Self {
            slots,
            entries,
            hasher,
        } = self;
        slots.reserve(additional, rehash(hasher, entries));
        entries.reserve(additional);
    }

    /// Gives back room beyond what the entries need.
    pub(crate) fn shrink_to_fit(&mut self) {
        let Self {
            slots,
            entries,
            hasher,
        } = self;
        slots.shrink_to_fit(rehash(hasher, entries));
        entries.shrink_to_fit();
    }

    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.entries.clear();
    }

    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The position of `key`'s entry.
    fn position(&self, key: &str) -> Option<usize> {
        let entries = &self.entries;
        self.slots
            .find(self.hash(key), holds(entries, key))
            .copied()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        let at = self.position(key)?;
        self.entries.get(at).map(|(_, value)| value)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub(crate) fn insert(&mut self, key: SmolStr, value: V) -> Option<V> {
        let hash = self.hash(&key);
        let Self {
            slots,
            entries,
            hasher,
        } = self;
        if let Some(&at) = slots.find(hash, holds(entries, &key)) {
            return entries
                .get_mut(at)
                .map(|(_, held)| core::mem::replace(held, value));
        }
        let at = entries.len();
        entries.push((key, value));
        slots.insert_unique(hash, at, rehash(hasher, entries));
        None
    }

    /// Removes `key`; returns its value.
    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let hash = self.hash(key);
        let Self {
            slots,
            entries,
            hasher,
        } = self;
        let (at, _) = slots.find_entry(hash, holds(entries, key)).ok()?.remove();
        let last = entries.len().checked_sub(1)?;
        if at >= entries.len() {
            return None;
        }
        let (_, value) = entries.swap_remove(at);
        if at != last {
            // The entry that was last now sits at `at`: its slot must say so.
            let moved = hash_at(hasher, entries, at);
            if let Some(slot) = slots.find_mut(moved, |&held| held == last) {
                *slot = at;
            }
        }
        Some(value)
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = (&SmolStr, &V)> + Clone + '_ {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    pub(crate) fn keys(&self) -> impl ExactSizeIterator<Item = &SmolStr> + '_ {
        self.entries.iter().map(|(key, _)| key)
    }
}

// One closure type for every call that finds or rehashes: each closure type given to
// `HashTable` is another copy of its probing or resizing code in the browser's module.

/// Whether the entry at a position has `key`.
fn holds<'a, V>(entries: &'a [(SmolStr, V)], key: &'a str) -> impl Fn(&usize) -> bool + 'a {
    move |&at| entries.get(at).is_some_and(|(held, _)| held == key)
}

/// The hash of the key at a position.
fn rehash<'a, V>(
    hasher: &'a DefaultHashBuilder,
    entries: &'a [(SmolStr, V)],
) -> impl Fn(&usize) -> u64 + 'a {
    move |&at| hash_at(hasher, entries, at)
}

/// The hash of the key of the entry at `at`.
fn hash_at<V>(hasher: &DefaultHashBuilder, entries: &[(SmolStr, V)], at: usize) -> u64 {
    entries
        .get(at)
        .map_or(0, |(key, _)| hasher.hash_one(key.as_str()))
}

impl<V: fmt::Debug> fmt::Debug for Entries<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: PartialEq> PartialEq for Entries<V> {
    /// The same keys with equal values, in whatever order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(key, value)| other.get(key) == Some(value))
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Entries<V> {
    /// A JSON object; a key given twice keeps its last value.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members<V>(core::marker::PhantomData<V>);

        impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Members<V> {
            type Value = Entries<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<Entries<V>, A::Error> {
                let mut entries = Entries::new();
                entries.reserve(access.size_hint().unwrap_or(0));
                while let Some((key, value)) = access.next_entry::<SmolStr, V>()? {
                    entries.insert(key, value);
                }
                Ok(entries)
            }
        }

        deserializer.deserialize_map(Members(core::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;

    use super::Entries;

    /// Against a `BTreeMap`, through inserts, overwrites and removals in a mixed order,
    /// removals of the last entry and of others (which move the last one).
    #[test]
    fn holds_what_a_btreemap_holds() {
        let mut entries = Entries::new();
        let mut model = BTreeMap::new();
        let mut state = 7u64;
        for step in 0..20_000u64 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let key = ((state >> 33) % 500).to_string();
            if (state >> 20).is_multiple_of(3) {
                assert_eq!(entries.remove(&key), model.remove(&key), "remove {key}");
            } else {
                assert_eq!(
                    entries.insert(key.as_str().into(), step),
                    model.insert(key.clone(), step),
                    "insert {key}"
                );
            }
            assert_eq!(entries.len(), model.len());
        }
        for (key, value) in &model {
            assert_eq!(entries.get(key), Some(value));
        }
        let mut seen: alloc::vec::Vec<_> =
            entries.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        seen.sort();
        assert_eq!(seen, model.into_iter().collect::<alloc::vec::Vec<_>>());
        assert!(!entries.contains_key("500"));
        entries.shrink_to_fit();
        entries.clear();
        assert!(entries.len() == 0 && entries.get("1").is_none());
    }
}
