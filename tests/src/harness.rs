use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use kv_core::{Commit, Json, MemoryPersist, Persist, Stored};

/// How the conformance suite reaches one adapter's storage.
///
/// The suite drops every handle on a store before it calls [`reopen`](Self::reopen) or
/// [`corrupt`](Self::corrupt), as a process that exits does, so adapters that lock their
/// storage can be opened again.
pub trait Harness {
    /// The adapter under test.
    type Persist: Persist;

    /// Storage for a new, empty store, distinct from every earlier call's. It becomes the
    /// harness's current storage.
    fn fresh(&mut self) -> impl Future<Output = Self::Persist>;

    /// The current storage, opened again as a new process would find it.
    fn reopen(&mut self) -> impl Future<Output = Self::Persist>;

    /// Damages what the current storage holds, as this medium can be damaged (a truncated
    /// file, a record that is not JSON).
    fn corrupt(&mut self) -> impl Future<Output = ()>;
}

/// The suite's harness for [`MemoryPersist`], shared so that a store can be reopened.
#[derive(Debug, Default)]
pub struct MemoryHarness {
    current: SharedMemory,
}

impl Harness for MemoryHarness {
    type Persist = SharedMemory;

    async fn fresh(&mut self) -> SharedMemory {
        self.current = SharedMemory::default();
        self.current.clone()
    }

    async fn reopen(&mut self) -> SharedMemory {
        self.current.clone()
    }

    async fn corrupt(&mut self) {
        self.current
            .lock()
            .insert_raw("broken", b"{\"unterminated".to_vec());
    }
}

/// A [`MemoryPersist`] that several handles share, as a file is shared by the processes
/// that open it.
#[derive(Debug, Default, Clone)]
pub struct SharedMemory(Arc<Mutex<MemoryPersist>>);

impl SharedMemory {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryPersist> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Persist for SharedMemory {
    type Error = std::convert::Infallible;

    async fn load(&mut self) -> Result<Stored, Self::Error> {
        crate::run_sync(self.lock().load())
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), Self::Error> {
        crate::run_sync(self.lock().commit(commit))
    }
}
