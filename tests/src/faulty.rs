use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kv_core::{Commit, Json, Persist, StorageError, StorageErrorKind, Stored};

/// A switch, shared with a [`FaultyPersist`], that makes its next calls fail.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    commits: Arc<AtomicUsize>,
    loads: Arc<AtomicUsize>,
}

impl Faults {
    /// The next `n` commits fail without reaching storage.
    pub fn fail_commits(&self, n: usize) {
        self.commits.store(n, Ordering::SeqCst);
    }

    /// The next `n` loads fail without reaching storage.
    pub fn fail_loads(&self, n: usize) {
        self.loads.store(n, Ordering::SeqCst);
    }

    fn take(counter: &AtomicUsize) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Wraps an adapter so that chosen calls fail, as storage does when a disk fills or a browser
/// aborts a transaction. A failed call leaves the wrapped storage untouched.
#[derive(Debug)]
pub struct FaultyPersist<P> {
    inner: P,
    faults: Faults,
}

impl<P> FaultyPersist<P> {
    /// `inner`, failing whenever `faults` says so.
    pub fn new(inner: P, faults: Faults) -> Self {
        Self { inner, faults }
    }

    /// The switch that makes its calls fail.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The wrapped adapter.
    pub fn into_inner(self) -> P {
        self.inner
    }
}

impl<P: Persist> Persist for FaultyPersist<P> {
    type Error = InjectedFault<P::Error>;

    async fn load(&mut self) -> Result<Stored, Self::Error> {
        if Faults::take(&self.faults.loads) {
            return Err(InjectedFault::Injected);
        }
        self.inner.load().await.map_err(InjectedFault::Inner)
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), Self::Error> {
        if Faults::take(&self.faults.commits) {
            return Err(InjectedFault::Injected);
        }
        self.inner
            .commit(commit)
            .await
            .map_err(InjectedFault::Inner)
    }
}

/// A failure [`FaultyPersist`] made up, or one from the adapter it wraps.
#[derive(Debug)]
pub enum InjectedFault<E> {
    /// Injected by the test.
    Injected,
    /// From the wrapped adapter.
    Inner(E),
}

impl<E: fmt::Display> fmt::Display for InjectedFault<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Injected => f.write_str("injected fault"),
            Self::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: StorageError> std::error::Error for InjectedFault<E> {}

impl<E: StorageError> StorageError for InjectedFault<E> {
    fn kind(&self) -> StorageErrorKind {
        match self {
            Self::Injected => StorageErrorKind::Io,
            Self::Inner(e) => e.kind(),
        }
    }
}
