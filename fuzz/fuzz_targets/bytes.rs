//! What the fuzz targets share: a snapshot adapter over bytes in memory.

use core::convert::Infallible;

use kv_core::{Commit, Json, Persist, Stored};

/// A snapshot adapter over bytes in memory, as a file would hold them.
pub struct Bytes(pub Vec<u8>);

impl Persist for Bytes {
    type Error = Infallible;

    async fn load(&mut self) -> Result<Stored, Infallible> {
        Ok(Stored::Snapshot(self.0.clone()))
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), Infallible> {
        self.0 = commit.snapshot();
        Ok(())
    }
}
