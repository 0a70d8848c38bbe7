//! Group commit: the write calls of many threads on one store share appends and syncs.
//!
//! LevelDB's writer queue is the model. A call is decided against memory plus every commit
//! already queued or in flight ([`Store::prepare_after`]), and queued. If no write is in
//! progress, its caller becomes the leader: with a journal it first waits, briefly, for the
//! callers of the last group that write again and again (see [`Group::gather`]); calls that
//! arrive meanwhile join this group. Then it takes every queued commit, writes them as one
//! journal record with one `fdatasync`, applies them to memory in order and hands each caller
//! its outcome. Calls that arrive during the write queue up behind it and form the next
//! group, led by one of their callers. A storage error fails its whole group, and every
//! commit queued behind it (they were decided on top of it); memory never held any of them.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use kv_core::{JsonText, Pending, Prepared, Rejected, Store, Stored, Transaction};

use crate::disk::Disk;
use crate::error::{Error, FileError};
use crate::journal::{self, Record};
use crate::options::{KvClock, Options};

/// The store in memory: the core, with the I/O done here.
///
/// Values are held as their JSON text (`JsonText`): a number keeps its spelling through
/// writes of other keys (serde_json's `Value` writes `1E5` as `1e+5`), a value costs one
/// allocation or none (a short one is inline), and a load or a journal replay checks each
/// value without building a tree. A read parses the one value it returns.
pub(crate) type MemStore = Store<(), KvClock, JsonText>;

/// Memory, the queue of commits waiting to be written, and the files.
#[derive(Debug)]
pub(crate) struct Group {
    state: Mutex<State>,
    /// Wakes callers whose group finished, or who may lead the next one.
    finished: Condvar,
    /// Wakes a leader waiting for the callers of the last group to queue again.
    arrived: Condvar,
    /// The files. Held by the leader while it writes a group (and compacts); always taken
    /// before `state`, never while holding it.
    disk: Mutex<Disk>,
    /// The store file, as an absolute path.
    path: PathBuf,
}

#[derive(Debug)]
struct State {
    /// Invariant: equal to what the files hold. Changed only by a leader, after its group's
    /// write succeeded.
    store: MemStore,
    /// Every commit prepared and not yet applied, in flight or queued: what the next call is
    /// decided against.
    pending: Pending<JsonText>,
    /// Commits waiting for the next write, in the order they were prepared, with the caller
    /// of each.
    queue: Vec<Queued>,
    /// Whether a leader is writing a group now.
    writing: bool,
    /// Whether a leader is waiting on `arrived` for more commits.
    gathering: bool,
    /// The callers of the last group that also wrote in one of the two groups before it
    /// (writers that write again and again) and have queued nothing since.
    awaited: HashSet<Caller>,
    /// The callers whose commits the last group carried, and those of the group before it.
    last_callers: HashSet<Caller>,
    earlier_callers: HashSet<Caller>,
    /// How long the last group's write took.
    last_write: Duration,
    next_ticket: u64,
    /// Outcomes of written groups, until each caller takes its own.
    outcomes: HashMap<u64, Result<(), FileError>>,
}

impl Group {
    /// Locks and reads the store at `path`.
    pub(crate) fn open(path: &Path, options: &Options) -> Result<Self, Error> {
        let (mut disk, stored) = Disk::open(path, options)?;
        let store = crate::compact::decode_compacted(stored?, |stored| {
            Store::from_stored(stored, options.clock.clone(), options.limits)
        })
        .map_err(|source| Error::Corrupt {
            path: disk.path().to_path_buf(),
            source,
        })?;
        if !disk.journaled() && disk.has_records() {
            // Without a journal the file must hold every write, for other programs to read.
            disk.replace_file(&store.snapshot())?;
        }
        Ok(Self {
            state: Mutex::new(State::new(store)),
            finished: Condvar::new(),
            arrived: Condvar::new(),
            path: disk.path().to_path_buf(),
            disk: Mutex::new(disk),
        })
    }

    /// The store file, as an absolute path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on memory, waiting for it.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&MemStore) -> T) -> T {
        f(&self.state().store)
    }

    /// Runs `f` on memory if no other call holds it now; `None` if one does.
    #[cfg(feature = "tokio")]
    pub(crate) fn try_read<T>(&self, f: impl FnOnce(&MemStore) -> T) -> Option<T> {
        match self.state.try_lock() {
            Ok(state) => Some(f(&state.store)),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                Some(f(&poisoned.into_inner().store))
            }
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Decides `f` and makes what it staged durable, sharing the write with the calls that
    /// arrive while another is in flight; returns `f`'s answer once its commit is durable and
    /// in memory.
    pub(crate) fn commit<R, E>(
        &self,
        f: impl FnOnce(&mut Transaction<'_, JsonText>) -> Result<R, E>,
    ) -> Result<R, E>
    where
        E: From<Rejected> + From<Error>,
    {
        let mut state = self.state();
        let state_ref = &mut *state;
        let (answer, prepared) = state_ref.store.prepare_after(&state_ref.pending, f)?;
        if prepared.is_empty() && state_ref.pending.is_empty() {
            return Ok(answer);
        }
        // A call that writes nothing still waits when its answer was read over pending
        // commits: it holds only if they become durable.
        state_ref.pending.push(&prepared);
        let ticket = state_ref.next_ticket;
        state_ref.next_ticket += 1;
        let caller = Caller::current();
        state_ref.queue.push(Queued {
            ticket,
            caller,
            prepared,
        });
        if state_ref.awaited.remove(&caller) && state_ref.gathering && state_ref.awaited.is_empty()
        {
            self.arrived.notify_one();
        }
        loop {
            if let Some(outcome) = state.outcomes.remove(&ticket) {
                return match outcome {
                    Ok(()) => Ok(answer),
                    Err(e) => Err(Error::Io(e).into()),
                };
            }
            if state.writing {
                state = self
                    .finished
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            } else {
                state = self.lead(state);
            }
        }
    }

    /// Writes the queued commits as one group, as the leader, and records every outcome.
    fn lead<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        state.writing = true;
        drop(state);
        let mut disk = self.disk();
        let mut state = self.state();
        if disk.journaled() {
            state = self.gather(state);
        }
        // Without a journal each commit rewrites the whole file: one per write, as before.
        let take = if disk.journaled() {
            state.queue.len()
        } else {
            1
        };
        let take = take.min(state.queue.len());
        let group: Vec<Queued> = state.queue.drain(..take).collect();
        if disk.journaled() {
            state.await_repeat_writers(&group);
        }
        let write = if disk.journaled() {
            let mut record = Record::new();
            for queued in &group {
                record.push(queued.prepared.clears(), queued.prepared.changes());
            }
            if record.is_empty() {
                Write::Nothing
            } else {
                Write::Append(record.finish())
            }
        } else {
            match group.first() {
                Some(queued) if !queued.prepared.is_empty() => {
                    Write::Replace(state.store.commit_of(&queued.prepared).snapshot())
                }
                _ => Write::Nothing,
            }
        };
        drop(state);

        let started = Instant::now();
        let written = match &write {
            Write::Append(record) => disk.append(record),
            Write::Replace(snapshot) => disk.replace_file(snapshot),
            Write::Nothing => Ok(()),
        };
        let took = started.elapsed();

        let mut state = self.state();
        if !matches!(write, Write::Nothing) {
            state.last_write = took;
        }
        match written {
            Ok(()) => {
                let state = &mut *state;
                for queued in group {
                    state.store.apply(queued.prepared);
                    state.outcomes.insert(queued.ticket, Ok(()));
                }
                state.pending.clear();
                for queued in &state.queue {
                    state.pending.push(&queued.prepared);
                }
            }
            Err(e) => {
                let behind = mem::take(&mut state.queue);
                let mut tickets = group.into_iter().chain(behind).map(|queued| queued.ticket);
                let first = tickets.next();
                for ticket in tickets {
                    state.outcomes.insert(ticket, Err(e.duplicate()));
                }
                if let Some(first) = first {
                    state.outcomes.insert(first, Err(e));
                }
                state.pending.clear();
            }
        }
        let snapshot = disk.should_compact().then(|| state.store.snapshot());
        state.writing = false;
        self.finished.notify_all();
        drop(state);
        if let Some(snapshot) = snapshot {
            // Every commit of the group is durable in the journal already; a compaction that
            // fails leaves the journal as it is, for a later one.
            let _ = disk.replace_file(&snapshot);
        }
        drop(disk);
        self.state()
    }

    /// Before a leader takes the queue: waits, briefly, for the callers of the last group to
    /// queue their next commits, so that this group carries them too.
    ///
    /// When a group's write ends, its callers are woken and the next group starts at once
    /// with the commits that queued during the write: without a wait, writers split into two
    /// halves that take turns, each group carrying half of them. The leader waits while some
    /// caller of the last group that writes again and again (it wrote in one of the two
    /// groups before that too) has not queued again, and the last one back wakes it; it waits
    /// at most a quarter of the last write's time, and never more than [`MAX_GATHER`]. A sync
    /// costs the same for one commit or eight, so on a busy store the short wait raises the
    /// commits per sync, and a lone writer never waits (the last group was its own commit, or
    /// a caller seen once). A writer that stops costs one wait. PostgreSQL's `commit_delay`
    /// with `commit_siblings` is the same idea with fixed settings; here the callers that
    /// wrote last are the siblings and the disk's own time sets the wait.
    fn gather<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let limit = (state.last_write / 4).min(MAX_GATHER);
        let deadline = Instant::now() + limit;
        while !state.awaited.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state.gathering = true;
            state = self
                .arrived
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            state.gathering = false;
        }
        state
    }

    /// Folds the journal into the file now; with nothing in it to fold, does nothing.
    pub(crate) fn compact(&self) -> Result<(), FileError> {
        let mut disk = self.disk();
        if !disk.has_records() {
            return Ok(());
        }
        let snapshot = self.state().store.snapshot();
        disk.replace_file(&snapshot)
    }

    /// Reads the files again, replacing memory; on error, memory is unchanged.
    pub(crate) fn reload(&self) -> Result<(), Error> {
        let disk = self.disk();
        let stored: Stored = journal::read(disk.path(), true)?.stored;
        let mut state = self.state();
        crate::compact::decode_compacted(stored, |stored| state.store.replace_all(stored)).map_err(
            |source| Error::Corrupt {
                path: disk.path().to_path_buf(),
                source,
            },
        )
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic in a caller's closure poisons the mutex without breaking it: the store
        // applies nothing before its commit is durable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Group {
    /// A clean close compacts: the file alone then holds the whole store.
    fn drop(&mut self) {
        let disk = self.disk.get_mut().unwrap_or_else(PoisonError::into_inner);
        if disk.has_records() {
            let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
            let _ = disk.replace_file(&state.store.snapshot());
        }
    }
}

/// The longest a leader waits for the last group's callers to queue again.
const MAX_GATHER: Duration = Duration::from_micros(500);

/// A commit waiting for the next write.
#[derive(Debug)]
struct Queued {
    ticket: u64,
    caller: Caller,
    prepared: Prepared<JsonText>,
}

impl State {
    fn new(store: MemStore) -> Self {
        Self {
            store,
            pending: Pending::new(),
            queue: Vec::new(),
            writing: false,
            gathering: false,
            awaited: HashSet::new(),
            last_callers: HashSet::new(),
            earlier_callers: HashSet::new(),
            last_write: Duration::ZERO,
            next_ticket: 0,
            outcomes: HashMap::new(),
        }
    }

    /// Records the callers of `group`, about to be written, and awaits those of them that
    /// also wrote in one of the two groups before it. A caller seen once (a task or a thread
    /// per request) is not awaited, nor one whose call writes nothing; two halves of the
    /// writers taking turns are (each half was in the group before last).
    fn await_repeat_writers(&mut self, group: &[Queued]) {
        let writers = group.iter().filter(|queued| !queued.prepared.is_empty());
        self.awaited.clear();
        for queued in writers.clone() {
            if self.last_callers.contains(&queued.caller)
                || self.earlier_callers.contains(&queued.caller)
            {
                self.awaited.insert(queued.caller);
            }
        }
        mem::swap(&mut self.last_callers, &mut self.earlier_callers);
        self.last_callers.clear();
        self.last_callers
            .extend(writers.map(|queued| queued.caller));
    }
}

/// Who made a commit: the thread that called, or for [`AsyncKv`](crate::AsyncKv) the task
/// (its calls run on whichever blocking-pool thread is free).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Caller {
    Thread(ThreadId),
    #[cfg(feature = "tokio")]
    Task(tokio::task::Id),
}

thread_local! {
    /// The caller this thread acts for, when it is not itself the caller.
    static ACTING_FOR: Cell<Option<Caller>> = const { Cell::new(None) };
}

impl Caller {
    /// The caller of a commit made on this thread now.
    fn current() -> Self {
        ACTING_FOR.get().unwrap_or_else(Self::this_thread)
    }

    fn this_thread() -> Self {
        Self::Thread(thread::current().id())
    }

    /// The async task running now (or, outside any task, as under `block_on`, this thread).
    #[cfg(feature = "tokio")]
    pub(crate) fn task() -> Self {
        tokio::task::try_id().map_or_else(Self::this_thread, Self::Task)
    }

    /// Runs `f` with the commits it makes on this thread counted as this caller's.
    #[cfg(feature = "tokio")]
    pub(crate) fn acting<T>(self, f: impl FnOnce() -> T) -> T {
        /// Puts back what the thread acted for, even if `f` panics.
        struct Restore(Option<Caller>);
        impl Drop for Restore {
            fn drop(&mut self) {
                ACTING_FOR.set(self.0);
            }
        }
        let _restore = Restore(ACTING_FOR.replace(Some(self)));
        f()
    }
}

/// One group's write.
enum Write {
    /// One journal record.
    Append(Vec<u8>),
    /// The whole file (without a journal).
    Replace(Vec<u8>),
    /// The group's calls write nothing; they only waited for the commits before them.
    Nothing,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn empty_store() -> MemStore {
        let empty = Stored::Records(Vec::new());
        Store::from_stored(empty, KvClock::System, kv_core::Limits::DEFAULT).unwrap()
    }

    /// A commit of `caller` that writes (`writes`) or only waits.
    fn queued(caller: Caller, writes: bool) -> Queued {
        let (_, prepared) = empty_store()
            .prepare(|tx| {
                if writes {
                    tx.set("k", JsonText::from(serde_json::json!(1)))?;
                }
                Ok::<_, Rejected>(())
            })
            .unwrap();
        assert_eq!(prepared.is_empty(), !writes);
        Queued {
            ticket: 0,
            caller,
            prepared,
        }
    }

    /// Four callers, each another thread's.
    fn callers() -> [Caller; 4] {
        [(); 4].map(|()| std::thread::spawn(Caller::current).join().unwrap())
    }

    #[test]
    fn a_leader_awaits_only_callers_that_write_again_and_again() {
        let [a, b, c, d] = callers();
        let mut state = State::new(empty_store());
        let awaited = |state: &mut State, group: &[Queued]| {
            state.await_repeat_writers(group);
            let mut awaited: Vec<Caller> = state.awaited.iter().copied().collect();
            awaited.sort_by_key(|caller| format!("{caller:?}"));
            awaited
        };
        // A caller per request: none is awaited.
        assert!(awaited(&mut state, &[queued(a, true)]).is_empty());
        assert!(awaited(&mut state, &[queued(b, true)]).is_empty());
        assert!(awaited(&mut state, &[queued(c, true)]).is_empty());
        // One writer again and again: awaited (it queues again at once, so never waited for).
        assert_eq!(awaited(&mut state, &[queued(c, true)]), [c]);
        // Two halves taking turns: each half was in the group before last.
        assert_eq!(awaited(&mut state, &[queued(a, true), queued(b, true)]), []);
        assert_eq!(
            awaited(&mut state, &[queued(c, true), queued(d, true)]),
            [c]
        );
        assert_eq!(
            awaited(&mut state, &[queued(a, true), queued(b, true)]).len(),
            2
        );
        // A call that writes nothing is not a writer.
        assert!(awaited(&mut state, &[queued(c, false), queued(d, false)]).is_empty());
        assert!(awaited(&mut state, &[queued(c, true)]).is_empty());
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn a_thread_acts_for_a_caller_only_inside_the_call_even_if_it_panics() {
        let me = Caller::current();
        assert_eq!(
            me,
            Caller::task(),
            "outside a task, the task is this thread"
        );
        let other = std::thread::spawn(Caller::current).join().unwrap_or(me);
        assert_ne!(other, me);
        assert_eq!(other.acting(Caller::current), other);
        assert_eq!(Caller::current(), me);
        let panicked = std::panic::catch_unwind(|| other.acting(|| panic!("in the call")));
        assert!(panicked.is_err());
        assert_eq!(ACTING_FOR.get(), None);
        assert_eq!(Caller::current(), me);
    }
}
