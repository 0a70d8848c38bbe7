//! Expiry: when keys stop existing (see `docs/design.md`, "Expiry").
//!
//! A key may carry an absolute expiry time, in unix milliseconds. From that moment it is absent
//! for every read; storage keeps it until a later write, or [`purge`](crate::Store::purge),
//! removes it. Keys without an expiry cost nothing here.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use hashbrown::HashMap;
use smol_str::SmolStr;

use crate::json::Decimal;

/// The latest expiry a store holds: 2^53 − 1 ms after 1970 (the year 287,396), the largest
/// integer every host's clock arithmetic holds exactly (a JavaScript number), so that every
/// process and browser context agrees on it.
pub const MAX_EXPIRY_MS: u64 = (1 << 53) - 1;

/// How many expired keys one write removes from storage besides its own changes: the work is
/// bounded per write, and a store written to keeps shrinking back to its live keys.
pub(crate) const REMOVED_PER_WRITE: usize = 16;

/// What a key's time to live is now ([`Store::ttl`](crate::Store::ttl)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ttl {
    /// The key is absent, or has expired.
    Missing,
    /// The key exists and never expires.
    Never,
    /// The key exists and expires after this long (at least 1 ms).
    Left(Duration),
}

/// A time to live the store refuses: shorter than 1 ms, or ending after [`MAX_EXPIRY_MS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTtl {
    /// The time to live asked for.
    pub ttl: Duration,
    /// Why it was refused.
    pub reason: TtlProblem,
}

/// Why a time to live was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TtlProblem {
    /// Under 1 ms: an expiry must be a moment after now.
    TooShort,
    /// Now plus the time to live is past [`MAX_EXPIRY_MS`].
    TooLong,
}

impl fmt::Display for InvalidTtl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Milliseconds with the microseconds as three decimals when there are any: "0.999 ms".
        let micros = self.ttl.as_micros();
        let whole = u64::try_from(micros / 1000).unwrap_or(u64::MAX);
        write!(f, "ttl of {}", Decimal::new(whole))?;
        let fraction = (micros % 1000) as u64;
        if fraction != 0 {
            let digits = Decimal::new(1000 + fraction);
            let decimals = digits.as_str()[1..].trim_end_matches('0');
            write!(f, ".{decimals}")?;
        }
        match self.reason {
            TtlProblem::TooShort => f.write_str(" ms is under the shortest time to live, 1 ms"),
            TtlProblem::TooLong => f.write_str(
                " ms ends after the latest expiry a store holds (2^53 - 1 ms after 1970)",
            ),
        }
    }
}

impl core::error::Error for InvalidTtl {}

/// The expiry time of a write made at `now_ms` with `ttl`: rounded to the nearest millisecond.
pub(crate) fn expiry_after(now_ms: u64, ttl: Duration) -> Result<u64, InvalidTtl> {
    let invalid = |reason| InvalidTtl { ttl, reason };
    if ttl < Duration::from_millis(1) {
        return Err(invalid(TtlProblem::TooShort));
    }
    let ms = (ttl.as_micros() + 500) / 1000;
    u64::try_from(ms)
        .ok()
        .and_then(|ms| now_ms.checked_add(ms))
        .filter(|&at| at <= MAX_EXPIRY_MS)
        .ok_or(invalid(TtlProblem::TooLong))
}

/// Every key that has an expiry, by key and by time.
///
/// By time is a binary min-heap written here rather than a `BTreeSet`: it needs only push,
/// pop and a walk of its top, and in the browser's module a B-tree's code is several
/// kilobytes. An entry is current while its key's expiry still carries the entry's
/// generation; entries left behind by a changed or removed expiry are skipped, popped once
/// they reach the top, and all dropped when they outnumber the current ones.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expiries {
    /// Each key's expiry and the generation of its heap entry.
    at: HashMap<SmolStr, (u64, u64)>,
    /// `(expiry, generation, key)`; the children of entry `i` are `2i + 1` and `2i + 2`, and
    /// none expires before its parent.
    heap: Vec<(u64, u64, SmolStr)>,
    /// The generation of the next entry pushed.
    next: u64,
}

impl Expiries {
    pub(crate) fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    pub(crate) fn get(&self, key: &str) -> Option<u64> {
        self.at.get(key).map(|&(at, _)| at)
    }

    /// Whether `key` has expired at `now_ms`.
    pub(crate) fn expired(&self, key: &str, now_ms: u64) -> bool {
        !self.at.is_empty() && self.get(key).is_some_and(|at| at <= now_ms)
    }

    /// Gives `key` the expiry `at` (`None`: none).
    pub(crate) fn set(&mut self, key: &str, at: Option<u64>) {
        match at {
            // Most stores have no expiring key: no hash to compute.
            None if self.at.is_empty() => return,
            None => {
                if self.at.remove(key).is_none() {
                    return;
                }
            }
            Some(at) => {
                if self.get(key) == Some(at) {
                    return;
                }
                let generation = self.next;
                self.next += 1;
                self.at.insert(key.into(), (at, generation));
                self.heap.push((at, generation, key.into()));
                self.sift_up(self.heap.len() - 1);
            }
        }
        while self.heap.first().is_some_and(|top| !self.current(top)) {
            let last = self.heap.len() - 1;
            self.heap.swap(0, last);
            self.heap.pop();
            self.sift_down(0);
        }
        if self.heap.len() > 2 * self.at.len() + 16 {
            self.rebuild();
        }
    }

    fn current(&self, (at, generation, key): &(u64, u64, SmolStr)) -> bool {
        self.at.get(key) == Some(&(*at, *generation))
    }

    fn rebuild(&mut self) {
        self.heap = self
            .at
            .iter()
            .map(|(key, &(at, generation))| (at, generation, key.clone()))
            .collect();
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[i].0 >= self.heap[parent].0 {
                break;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let mut first = i;
            for child in [2 * i + 1, 2 * i + 2] {
                if child < self.heap.len() && self.heap[child].0 < self.heap[first].0 {
                    first = child;
                }
            }
            if first == i {
                break;
            }
            self.heap.swap(i, first);
            i = first;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.at.clear();
        self.heap.clear();
    }

    /// How many keys have expired at `now_ms`.
    pub(crate) fn count_expired(&self, now_ms: u64) -> usize {
        self.expired_keys(now_ms).count()
    }

    /// The keys expired at `now_ms`, each once, in no particular order: a walk of the heap's
    /// top, down every entry that expired by then (no child expires before its parent), so the
    /// work is proportional to what has expired, not to the store.
    pub(crate) fn expired_keys(&self, now_ms: u64) -> impl Iterator<Item = &str> + '_ {
        let mut stack = Vec::new();
        if self.heap.first().is_some_and(|top| top.0 <= now_ms) {
            stack.push(0);
        }
        core::iter::from_fn(move || {
            while let Some(i) = stack.pop() {
                for child in [2 * i + 1, 2 * i + 2] {
                    if self.heap.get(child).is_some_and(|e| e.0 <= now_ms) {
                        stack.push(child);
                    }
                }
                let entry = &self.heap[i];
                if self.current(entry) {
                    return Some(entry.2.as_str());
                }
            }
            None
        })
    }
}

/// The first byte of a record that carries an expiry: U+0000, which no JSON text begins with.
const EXPIRING: u8 = 0;

/// A key's record: its value's encoding, preceded for a key with an expiry by U+0000, the
/// expiry in unix milliseconds as decimal digits, and one space (`docs/design.md`,
/// "Records").
pub fn encode_record(value: &[u8], expires: Option<u64>) -> Vec<u8> {
    match expires {
        None => value.to_vec(),
        Some(at) => {
            let digits = Decimal::new(at);
            let digits = digits.as_str();
            let mut out = Vec::with_capacity(digits.len() + 2 + value.len());
            out.push(EXPIRING);
            out.extend_from_slice(digits.as_bytes());
            out.push(b' ');
            out.extend_from_slice(value);
            out
        }
    }
}

/// A record split into its expiry and its value's encoding; `Err` says why its expiry does
/// not read.
pub fn decode_record(record: &[u8]) -> Result<(Option<u64>, &[u8]), String> {
    let Some(rest) = record.strip_prefix(&[EXPIRING]) else {
        return Ok((None, record));
    };
    let Some(space) = rest.iter().position(|&b| b == b' ') else {
        return Err("an expiring record has no space after its expiry".into());
    };
    let digits = &rest[..space];
    match parse_ms(digits) {
        Some(at) => Ok((Some(at), &rest[space + 1..])),
        None => {
            // Concatenated, not `format!`ed: the browser's module links no Debug formatting.
            let mut reason = String::from("the expiry ");
            let digits = core::str::from_utf8(digits).unwrap_or("(not UTF-8)");
            reason.push_str(crate::JsonText::string(digits).as_str());
            reason.push_str(
                " of an expiring record is not a whole number of milliseconds up to 2^53 - 1",
            );
            Err(reason)
        }
    }
}

/// Decimal digits with no sign, no leading zero and at most [`MAX_EXPIRY_MS`].
pub(crate) fn parse_ms(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 || (digits[0] == b'0' && digits.len() > 1) {
        return None;
    }
    let mut at: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        at = at * 10 + u64::from(d - b'0');
    }
    (at <= MAX_EXPIRY_MS).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_with_an_expiry_round_trips_and_one_without_is_its_value() {
        assert_eq!(encode_record(b"true", None), b"true");
        let record = encode_record(b"[1,2]", Some(1_763_786_400_000));
        assert_eq!(record, b"\x001763786400000 [1,2]");
        assert_eq!(
            decode_record(&record),
            Ok((Some(1_763_786_400_000), &b"[1,2]"[..]))
        );
        assert_eq!(decode_record(b"{\"a\":1}"), Ok((None, &b"{\"a\":1}"[..])));
        for bad in [
            &b"\x00"[..],
            b"\x00 1",
            b"\x0012",
            b"\x00-1 1",
            b"\x0001 1",
            b"\x009007199254740992 1",
        ] {
            assert!(decode_record(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_ttl_is_at_least_a_millisecond_and_ends_by_the_latest_expiry() {
        assert_eq!(expiry_after(1000, Duration::from_millis(1)), Ok(1001));
        assert_eq!(expiry_after(1000, Duration::from_micros(1500)), Ok(1002));
        assert_eq!(expiry_after(0, Duration::from_secs(90)), Ok(90_000));
        let short = expiry_after(1000, Duration::from_micros(999)).expect_err("under 1 ms");
        assert_eq!(short.reason, TtlProblem::TooShort);
        assert_eq!(
            alloc::string::ToString::to_string(&short),
            "ttl of 0.999 ms is under the shortest time to live, 1 ms"
        );
        let long = expiry_after(MAX_EXPIRY_MS, Duration::from_millis(1)).expect_err("too late");
        assert_eq!(long.reason, TtlProblem::TooLong);
        assert!(expiry_after(0, Duration::MAX).is_err());
    }

    #[test]
    fn expired_keys_are_found_once_each_and_a_new_expiry_replaces_the_old() {
        let mut e = Expiries::default();
        e.set("b", Some(20));
        e.set("a", Some(10));
        e.set("c", Some(30));
        e.set("c", Some(5));
        e.set("d", Some(40));
        e.set("d", Some(50));
        e.set("d", Some(40));
        fn sorted(e: &Expiries, now: u64) -> Vec<&str> {
            let mut keys: Vec<_> = e.expired_keys(now).collect();
            keys.sort_unstable();
            keys
        }
        assert_eq!(sorted(&e, 20), ["a", "b", "c"]);
        assert_eq!(sorted(&e, 45), ["a", "b", "c", "d"]);
        e.set("a", None);
        assert_eq!(sorted(&e, 20), ["b", "c"]);
        assert_eq!(e.count_expired(19), 1);
        assert!(e.expired("b", 20) && !e.expired("b", 19) && !e.expired("a", 99));
        e.clear();
        assert_eq!(e.count_expired(u64::MAX), 0);
    }

    #[test]
    fn the_heap_stays_small_and_finds_every_expired_key_through_many_changes() {
        let mut e = Expiries::default();
        for round in 0..50u64 {
            for k in 0..20u64 {
                let key = Decimal::new(k);
                let at = (k * 7 + round * 13) % 100;
                e.set(key.as_str(), (at % 5 != 0).then_some(at));
            }
            assert!(e.heap.len() <= 2 * e.at.len() + 17, "{}", e.heap.len());
            for now in [0, 30, 60, 99] {
                let mut found: Vec<_> = e.expired_keys(now).collect();
                found.sort_unstable();
                let mut expected: Vec<_> =
                    e.at.iter()
                        .filter(|(_, (at, _))| *at <= now)
                        .map(|(k, _)| k.as_str())
                        .collect();
                expected.sort_unstable();
                assert_eq!(found, expected, "round {round}, now {now}");
            }
        }
    }
}
