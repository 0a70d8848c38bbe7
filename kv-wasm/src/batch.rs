//! One write, owned: what the mirror stages and the backend then writes.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use kv_core::{Change, Commit, Json, Persist, StorageError, StorageErrorKind, Stored};

/// Everything one write changes, as [`Commit`] hands it over, but owned: it outlives the
/// borrow of the store that staged it, so storage can be written with no borrow held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    /// Whether every stored key is erased before `changes` apply.
    pub(crate) clear: bool,
    /// Each changed key with its encoded value (`None`: deleted), in ascending key order.
    pub(crate) changes: Vec<(String, Option<Vec<u8>>)>,
}

impl Batch {
    /// The owned form of `commit`.
    pub(crate) fn of(commit: &Commit<'_, impl Json>) -> Self {
        let changes = commit
            .changes()
            .map(|change| match change {
                Change::Put { key, value } => (key.to_owned(), Some(value.to_vec())),
                Change::Delete { key } => (key.to_owned(), None),
            })
            .collect();
        Self {
            clear: commit.clears(),
            changes,
        }
    }

    /// A batch that replaces everything with what storage holds: how a mirror catches up
    /// after losing track of other contexts' commits.
    pub(crate) fn replacing(stored: Stored) -> Self {
        let changes = match stored {
            Stored::Records(records) => records.into_iter().map(|(k, v)| (k, Some(v))).collect(),
            Stored::Nothing
            | Stored::Snapshot(_)
            | Stored::Journaled { .. }
            | Stored::Corrupt(_) => Vec::new(),
        };
        Self {
            clear: true,
            changes,
        }
    }

    /// The changes as [`Persist`] adapters and [`kv_core::Store::observe`] take them.
    pub(crate) fn changes(&self) -> impl ExactSizeIterator<Item = Change<'_>> + Clone + '_ {
        self.changes.iter().map(|(key, value)| match value {
            Some(value) => Change::Put { key, value },
            None => Change::Delete { key },
        })
    }
}

/// The storage the in-memory mirror is opened over: it hands over what the real backend
/// loaded, once, and answers every commit with [`Staged`] instead of writing it.
///
/// `Store::transaction` holds `&mut Store` until its commit finishes; over IndexedDB that is
/// a whole transaction, during which reads must go on. So a `Kv` lets the core check and
/// stage each write here, writes the staged [`Batch`] with no borrow held, and then mirrors
/// it with `Store::observe`, the same way it mirrors other contexts' commits.
#[derive(Debug)]
pub(crate) struct Stage {
    loaded: Option<Stored>,
}

impl Stage {
    /// A stage whose first load returns `loaded`.
    pub(crate) fn new(loaded: Stored) -> Self {
        Self {
            loaded: Some(loaded),
        }
    }
}

impl Persist for Stage {
    type Error = Staged;

    async fn load(&mut self) -> Result<Stored, Staged> {
        Ok(self.loaded.take().unwrap_or(Stored::Nothing))
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), Staged> {
        Err(Staged(Batch::of(commit)))
    }
}

/// A commit [`Stage`] held back for the caller to write: not a failure, the way the staged
/// batch leaves `Store::transaction` without the store applying it.
#[derive(Debug)]
pub(crate) struct Staged(pub(crate) Batch);

impl fmt::Display for Staged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a staged commit, not yet written")
    }
}

impl core::error::Error for Staged {}

impl StorageError for Staged {
    fn kind(&self) -> StorageErrorKind {
        StorageErrorKind::Other
    }
}
