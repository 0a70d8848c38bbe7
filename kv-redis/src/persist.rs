//! [`RedisPersist`]: a store's hash as a kv-core record adapter, for [`kv_core::Store`].

use std::sync::Arc;

use kv_core::{Commit, Json, Persist, StorageErrorKind, Stored};

use crate::address::Address;
use crate::error::{Error, RedisError};
use crate::layout::Layout;
use crate::link::{Link, Outcome};

/// One store's hash in Redis, as the storage of a [`kv_core::Store`]: `load` reads every
/// record, `commit` writes a commit's changes and announces it in one atomic script.
///
/// A commit through `Persist` is blind: it writes what the core decided against this
/// handle's memory, and nothing updates that memory with other processes' commits. For a
/// store that several processes write, use [`Kv`](crate::Kv), which decides each call against
/// what Redis holds at commit and follows the others' announcements.
///
/// One deviation from the [`Persist`] contract, shared by every networked store: when the
/// connection is lost after a commit was sent, `commit` fails as `Unavailable` although
/// Redis may have applied it. [`Store::reload`](kv_core::Store::reload) then brings memory
/// back to what Redis holds.
#[derive(Debug)]
pub struct RedisPersist {
    link: Link,
    layout: Layout,
}

impl RedisPersist {
    /// Connects to the Redis at `url` for the store named `name`. Fails with a clear error
    /// naming the URL (password redacted) if the URL is not one or Redis cannot be reached.
    pub fn open(url: &str, name: &str) -> Result<Self, Error> {
        let address = Arc::new(Address::parse(url).map_err(Error::Invalid)?);
        let layout = Layout::new(name).map_err(Error::Invalid)?;
        let mut link = Link::new(address);
        link.connect()?;
        Ok(Self { link, layout })
    }
}

impl Persist for RedisPersist {
    type Error = RedisError;

    async fn load(&mut self) -> Result<Stored, RedisError> {
        let loaded = self.link.load(&self.layout)?;
        Ok(Stored::Records(loaded.records))
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), RedisError> {
        let changes: Vec<_> = commit.changes().collect();
        match self
            .link
            .commit(&self.layout, &[], commit.clears(), &changes)?
        {
            Outcome::Committed(_) | Outcome::Unchanged => Ok(()),
            Outcome::Stale { .. } => Err(RedisError::with_kind(
                self.link.address(),
                StorageErrorKind::Other,
                "a commit without reads was reported stale",
            )),
        }
    }
}
