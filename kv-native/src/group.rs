//! Group commit: the write calls of many threads on one store share appends and syncs.
//!
//! LevelDB's writer queue is the model. A call is decided against memory plus every commit
//! already queued or in flight ([`Store::prepare_after`]), and queued. If no write is in
//! progress, its caller becomes the leader: it takes every queued commit, writes them as one
//! journal record with one `fdatasync`, applies them to memory in order and hands each caller
//! its outcome. Calls that arrive meanwhile queue up behind it and form the next group, led
//! by one of their callers. A storage error fails its whole group, and every commit queued
//! behind it (they were decided on top of it); memory never held any of them.

use std::collections::HashMap;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

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
    /// Commits waiting for the next write, in the order they were prepared.
    queue: Vec<(u64, Prepared<JsonText>)>,
    /// Whether a leader is writing a group now.
    writing: bool,
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
            state: Mutex::new(State {
                store,
                pending: Pending::new(),
                queue: Vec::new(),
                writing: false,
                next_ticket: 0,
                outcomes: HashMap::new(),
            }),
            finished: Condvar::new(),
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
        state_ref.queue.push((ticket, prepared));
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
        // Callers the last group's end woke are about to queue their next commits: giving
        // them the processor first lets this group carry them, rather than leaving them for
        // one more sync (on a disk that syncs in a fraction of a millisecond, a group would
        // otherwise carry one or two commits).
        if disk.journaled() {
            std::thread::yield_now();
        }
        let mut state = self.state();
        // Without a journal each commit rewrites the whole file: one per write, as before.
        let take = if disk.journaled() {
            state.queue.len()
        } else {
            1
        };
        let take = take.min(state.queue.len());
        let group: Vec<(u64, Prepared<JsonText>)> = state.queue.drain(..take).collect();
        let write = if disk.journaled() {
            let mut record = Record::new();
            for (_, prepared) in &group {
                record.push(prepared.clears(), prepared.changes());
            }
            if record.is_empty() {
                Write::Nothing
            } else {
                Write::Append(record.finish())
            }
        } else {
            match group.first() {
                Some((_, prepared)) if !prepared.is_empty() => {
                    Write::Replace(state.store.commit_of(prepared).snapshot())
                }
                _ => Write::Nothing,
            }
        };
        drop(state);

        let written = match &write {
            Write::Append(record) => disk.append(record),
            Write::Replace(snapshot) => disk.replace_file(snapshot),
            Write::Nothing => Ok(()),
        };

        let mut state = self.state();
        match written {
            Ok(()) => {
                let state = &mut *state;
                for (ticket, prepared) in group {
                    state.store.apply(prepared);
                    state.outcomes.insert(ticket, Ok(()));
                }
                state.pending.clear();
                for (_, queued) in &state.queue {
                    state.pending.push(queued);
                }
            }
            Err(e) => {
                let behind = mem::take(&mut state.queue);
                let mut tickets = group.into_iter().chain(behind).map(|(ticket, _)| ticket);
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

/// One group's write.
enum Write {
    /// One journal record.
    Append(Vec<u8>),
    /// The whole file (without a journal).
    Replace(Vec<u8>),
    /// The group's calls write nothing; they only waited for the commits before them.
    Nothing,
}
