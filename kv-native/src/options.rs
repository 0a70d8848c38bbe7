use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kv_core::{Clock, Limits, SystemClock};

use crate::error::Error;
use crate::fault::{Hook, Step};
use crate::file::FilePersist;
use crate::kv::Kv;

/// How to open a store: its limits, what to do if another handle holds it, the permission
/// bits of a file it creates, and whether it keeps a journal.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// use kv_native::{Kv, Limits, Lock};
///
/// let kv = Kv::options()
///     .limits(Limits::DEFAULT.max_entries(10_000))
///     .lock(Lock::Wait)
///     .mode(0o640)
///     .open(dir.path().join("state.json"))?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) clock: KvClock,
    pub(crate) limits: Limits,
    pub(crate) lock: Lock,
    pub(crate) mode: u32,
    pub(crate) hook: Option<Hook>,
    pub(crate) journal: bool,
    pub(crate) compact_min: u64,
}

/// What opening a store does when another handle holds it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lock {
    /// Fail at once with [`Error::Locked`].
    #[default]
    Fail,
    /// Wait until the other handle is closed.
    Wait,
    /// Wait until the other handle is closed, but fail with [`Error::Locked`] if it still holds
    /// the store after this long.
    WaitUpTo(Duration),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: KvClock::System,
            limits: Limits::DEFAULT,
            lock: Lock::Fail,
            mode: 0o600,
            hook: None,
            journal: true,
            compact_min: COMPACT_MIN,
        }
    }
}

/// The journal is compacted once it is longer than the store file and than this: small
/// stores are not rewritten every few commits.
const COMPACT_MIN: u64 = 64 * 1024;

impl Options {
    /// The defaults: [`Limits::DEFAULT`], [`Lock::Fail`], mode `0o600`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes are checked against `limits`. A file that already holds more still opens whole.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The clock the store reads: for a value-less write (the unix time it stores) and for
    /// expiry. [`SystemClock`] by default; a shared [`ManualClock`](kv_core::ManualClock)
    /// lets a test move time by hand instead of sleeping.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use kv_native::{Kv, ManualClock};
    ///
    /// let clock = Arc::new(ManualClock::new(1_763_700_000));
    /// let kv = Kv::options().clock(clock.clone()).open(dir.path().join("kv.json"))?;
    /// kv.set_with_ttl("token", "abc", Duration::from_secs(60))?;
    /// clock.advance(60);
    /// assert_eq!(kv.get("token"), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock + Send + Sync>) -> Self {
        self.clock = KvClock::Shared(clock);
        self
    }

    /// What to do when another handle holds the store.
    #[must_use]
    pub fn lock(mut self, lock: Lock) -> Self {
        self.lock = lock;
        self
    }

    /// The permission bits of a store file (and lock file) this creates; an existing file
    /// keeps its own. Unix only: ignored elsewhere.
    #[must_use]
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode & 0o7777;
        self
    }

    /// Whether commits append to a journal beside the file (`true`, the default) or rewrite
    /// the whole file (`false`).
    ///
    /// With the journal, a commit appends one record to `<file>.journal` and syncs it: its
    /// cost does not grow with the store. The file itself is brought up to date (compacted)
    /// when the journal outgrows it, on [`Kv::compact`], and when the store is closed. Choose
    /// `false` when another program reads the file while the store is open: then the file
    /// always holds every acknowledged write, at the cost of rewriting it on every commit.
    #[must_use]
    pub fn journal(mut self, journal: bool) -> Self {
        self.journal = journal;
        self
    }

    /// Compacts once the journal is longer than `bytes` (and than the file): for tests that
    /// need compactions often. Not part of the supported API.
    #[doc(hidden)]
    #[must_use]
    pub fn compact_min(mut self, bytes: u64) -> Self {
        self.compact_min = bytes;
        self
    }

    /// Calls `hook` before each step of every write, failing the step if it fails: for tests
    /// that need a write, an fsync or a rename to fail. Not part of the supported API.
    #[doc(hidden)]
    #[must_use]
    pub fn fault_hook(
        mut self,
        hook: impl Fn(Step) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Hook::new(hook));
        self
    }

    /// Opens (or creates) the store at `path`.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Kv, Error> {
        Kv::open_with(path.as_ref(), self)
    }

    /// Opens the storage adapter alone, locked, for use with [`kv_core::Store`].
    pub fn open_persist(&self, path: impl AsRef<Path>) -> Result<FilePersist, Error> {
        FilePersist::open_with(path.as_ref(), self)
    }
}

/// The clock a `Kv` reads: the system's, or one the caller shares ([`Options::clock`]).
#[derive(Clone, Default)]
pub(crate) enum KvClock {
    #[default]
    System,
    Shared(Arc<dyn Clock + Send + Sync>),
}

impl Clock for KvClock {
    fn now(&self) -> u64 {
        match self {
            Self::System => SystemClock.now(),
            Self::Shared(clock) => clock.now(),
        }
    }

    fn now_ms(&self) -> u64 {
        match self {
            Self::System => SystemClock.now_ms(),
            Self::Shared(clock) => clock.now_ms(),
        }
    }
}

impl fmt::Debug for KvClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("SystemClock"),
            Self::Shared(_) => f.write_str("Shared"),
        }
    }
}
