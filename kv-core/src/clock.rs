use core::sync::atomic::{AtomicU64, Ordering};

/// A source of the current time since the unix epoch.
///
/// The core never reads a clock of its own: native hosts pass the system clock, browsers
/// `Date.now()`, tests a [`ManualClock`]. Any `Fn() -> u64` giving whole seconds is a clock
/// (its milliseconds are those seconds times 1,000).
pub trait Clock {
    /// Seconds since 1970-01-01T00:00:00Z, rounded down: what a value-less write stores.
    fn now(&self) -> u64;

    /// Milliseconds since 1970-01-01T00:00:00Z, rounded down: what expiry is measured in.
    /// By default [`now`](Self::now) times 1,000; a clock that knows better says so.
    fn now_ms(&self) -> u64 {
        self.now().saturating_mul(1000)
    }
}

impl<F: Fn() -> u64> Clock for F {
    fn now(&self) -> u64 {
        self()
    }
}

/// The system's wall clock (0 for any time before 1970): the clock of every native host
/// (feature `std`).
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(feature = "std")]
impl Clock for SystemClock {
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }

    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that stands still until it is set or advanced by hand, to the millisecond.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicU64,
}

impl ManualClock {
    /// A clock showing `now`, in whole unix seconds.
    pub const fn new(now: u64) -> Self {
        Self {
            now_ms: AtomicU64::new(now.saturating_mul(1000)),
        }
    }

    /// Shows `now` (whole unix seconds) from here on.
    pub fn set(&self, now: u64) {
        self.set_ms(now.saturating_mul(1000));
    }

    /// Shows `now_ms` (unix milliseconds) from here on.
    pub fn set_ms(&self, now_ms: u64) {
        self.now_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.advance_ms(seconds.saturating_mul(1000));
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: u64) {
        self.now_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }

    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Relaxed)
    }
}
