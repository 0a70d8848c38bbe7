use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::convert::Infallible;

use crate::persist::{Change, Commit, Persist, Stored};
use crate::value::Json;

/// Storage in memory: nothing survives the process. For tests, and for hosts that have no
/// storage at all.
///
/// It is a record adapter, keeping each key's encoded value as committed; a closed store's
/// `MemoryPersist` (from [`Store::close`](crate::Store::close)) opens again with the same
/// contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryPersist {
    records: BTreeMap<String, Vec<u8>>,
}

impl MemoryPersist {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `bytes` under `key` as they are, bypassing the encoder: for tests that need
    /// storage holding what this version would never write.
    pub fn insert_raw(&mut self, key: impl Into<String>, bytes: Vec<u8>) {
        self.records.insert(key.into(), bytes);
    }

    /// The encoded records, in key order, as a record adapter would store them.
    pub fn records(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.records
    }
}

impl Persist for MemoryPersist {
    type Error = Infallible;

    async fn load(&mut self) -> Result<Stored, Infallible> {
        Ok(Stored::Records(
            self.records
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), Infallible> {
        if commit.clears() {
            self.records.clear();
        }
        for change in commit.changes() {
            match change {
                Change::Put { key, value } => self.records.insert(key.into(), value.into()),
                Change::Delete { key } => self.records.remove(key),
            };
        }
        Ok(())
    }
}
