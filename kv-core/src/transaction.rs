use alloc::string::String;
use alloc::vec::Vec;

use hashbrown::HashMap;
use serde_json::Value;
use smol_str::SmolStr;

use crate::codec::{Entries, RESERVED_PREFIX};
use crate::error::Rejected;
use crate::limits::Limits;
use crate::value::Json;

/// One key's staged change: `Some((value, encoded))` to set, `None` to delete. Each value is
/// encoded once, when staged, so limits are checked on the exact bytes that storage receives.
pub(crate) type Staged<V> = Option<(V, Vec<u8>)>;

/// Several changes that commit together, or not at all: see
/// [`Store::transaction`](crate::Store::transaction).
///
/// Reads through a transaction see its own staged writes. Every write is checked against the
/// store's limits as it is staged; the entry count is checked once, at commit.
#[derive(Debug)]
pub struct Transaction<'a, V = Value> {
    base: &'a Entries<V>,
    limits: &'a Limits,
    now: u64,
    pub(crate) clear: bool,
    /// Sorted once, when the transaction commits (a commit hands out its changes in key order).
    pub(crate) staged: HashMap<SmolStr, Staged<V>>,
}

impl<'a, V: Json> Transaction<'a, V> {
    pub(crate) fn new(base: &'a Entries<V>, limits: &'a Limits, now: u64) -> Self {
        Self {
            base,
            limits,
            now,
            clear: false,
            staged: HashMap::new(),
        }
    }

    /// The value under `key`, as this transaction leaves it.
    pub fn get(&self, key: &str) -> Option<&V> {
        match self.staged.get(key) {
            Some(staged) => staged.as_ref().map(|(value, _)| value),
            None if self.clear => None,
            None => self.base.get(key),
        }
    }

    /// Whether `key` exists, as this transaction leaves it.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The time a value-less write in this transaction stores, in unix seconds. Read once per
    /// transaction, so every key touched together gets the same time.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<V>) -> Result<(), Rejected> {
        let (key, value) = (key.into(), value.into());
        if key.starts_with(RESERVED_PREFIX) {
            return Err(Rejected::ReservedKey(key));
        }
        self.limits.check_key(&key)?;
        let encoded = value.encode();
        self.limits.check_value(&encoded)?;
        self.limits.check_nesting(&encoded)?;
        self.staged.insert(key.into(), Some((value, encoded)));
        Ok(())
    }

    /// Sets `key` to the current time in whole unix seconds, and returns that time.
    pub fn touch(&mut self, key: impl Into<String>) -> Result<u64, Rejected> {
        self.set(key, V::from_seconds(self.now))?;
        Ok(self.now)
    }

    /// Sets `key` to `value` unless it exists; returns whether it was set.
    pub fn set_if_absent(&mut self, key: impl Into<String>, value: V) -> Result<bool, Rejected> {
        let key = key.into();
        if self.contains(&key) {
            return Ok(false);
        }
        self.set(key, value)?;
        Ok(true)
    }

    /// Removes `key`; returns whether it existed.
    pub fn delete(&mut self, key: &str) -> bool {
        if !self.contains(key) {
            return false;
        }
        if !self.clear && self.base.contains_key(key) {
            self.staged.insert(key.into(), None);
        } else {
            self.staged.remove(key);
        }
        true
    }

    /// Removes every key, erasing storage itself at commit.
    pub fn clear(&mut self) {
        self.clear = true;
        self.staged.clear();
    }

    pub(crate) fn is_empty(&self) -> bool {
        !self.clear && self.staged.is_empty()
    }
}
