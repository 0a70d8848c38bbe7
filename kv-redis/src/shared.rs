//! What a [`Kv`](crate::Kv) and its listener thread share: the copy, and where it lives.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::address::Address;
use crate::copy::Copy;
use crate::error::Error;
use crate::layout::Layout;
use crate::link::Link;

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) address: Arc<Address>,
    pub(crate) layout: Layout,
    /// A panic in a caller's transaction poisons this without breaking it: the copy changes
    /// only after a commit succeeded, so the poison is ignored.
    copy: Mutex<Copy>,
    /// Notified whenever `copy.seq` moves.
    advanced: Condvar,
    /// Set when the `Kv` is dropped: the listener thread returns.
    pub(crate) stop: AtomicBool,
}

impl Shared {
    pub(crate) fn new(address: Arc<Address>, layout: Layout, copy: Copy) -> Self {
        Self {
            address,
            layout,
            copy: Mutex::new(copy),
            advanced: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }

    pub(crate) fn copy(&self) -> MutexGuard<'_, Copy> {
        self.copy.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits on `copy` until it moves or `timeout` passes; whether it timed out.
    pub(crate) fn wait<'a>(
        &self,
        copy: MutexGuard<'a, Copy>,
        timeout: std::time::Duration,
    ) -> (MutexGuard<'a, Copy>, bool) {
        let (copy, result) = self
            .advanced
            .wait_timeout(copy, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        (copy, result.timed_out())
    }

    /// Tells waiters that the copy moved.
    pub(crate) fn advanced(&self) {
        self.advanced.notify_all();
    }

    /// Reads the whole store through `link` and replaces the copy with it.
    pub(crate) fn reload(&self, link: &mut Link) -> Result<(), Error> {
        let loaded = link.load(&self.layout)?;
        self.copy()
            .replace(loaded)
            .map_err(|e| Error::corrupt(&self.address, &self.layout.name, e))?;
        self.advanced();
        Ok(())
    }
}
