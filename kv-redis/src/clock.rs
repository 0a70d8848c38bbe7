use std::time::{SystemTime, UNIX_EPOCH};

use kv_core::Clock;

/// The system's wall clock, in whole unix seconds (0 for any time before 1970).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}
