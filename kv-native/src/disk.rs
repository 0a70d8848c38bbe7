//! The one writer's side of a store on disk: the store file, replaced durably, and the journal
//! beside it, appended to and synced on every commit and reset after each compaction.
//!
//! Invariant kept by every method: what [`journal::read`] finds (the file, with the journal
//! replayed over it when the journal's header names that file) is exactly the state of every
//! commit that returned `Ok`, and a journal that does not extend the file is reset or removed
//! before the file is replaced again (so that no later file can ever match a stale header).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use kv_core::Stored;

use crate::error::{Error, FileError, Op};
use crate::fault::{Hook, Step};
use crate::journal::{self, FileId, JournalFound};
use crate::lock;
use crate::options::Options;
use crate::replace::{self, Target};

/// The store file and its journal, locked for writing.
#[derive(Debug)]
pub(crate) struct Disk {
    file: Target,
    journal: Target,
    /// Commits append to the journal (`true`) or rewrite the file (`false`).
    journaled: bool,
    /// Permission bits of files this creates.
    new_mode: u32,
    hook: Option<Hook>,
    /// The store file as it is now: what a fresh journal's header names.
    file_id: Option<FileId>,
    /// A journal longer than this and than the file is compacted.
    compact_min: u64,
    state: State,
    /// Held, never read: the lock lasts as long as this file stays open.
    _lock: File,
}

/// The journal, as the writer knows it.
#[derive(Debug)]
enum State {
    /// There is no journal file.
    Absent,
    /// The journal does not extend the file (or may not: its reset failed). It holds nothing
    /// the file lacks, and is written afresh before the next append or file replacement.
    Stale,
    /// The store does not read: nothing is ever written over it.
    Unreadable,
    /// The journal extends the file.
    Live {
        /// Open for appending, once the first append needs it.
        append: Option<File>,
        /// Bytes of header and complete records: every acknowledged commit.
        len: u64,
        /// The header's length: `len` beyond it means records to compact.
        header_len: u64,
        /// Bytes past `len` may exist (a torn record, a failed append): cut before appending.
        tail: bool,
    },
}

impl Disk {
    /// Creates the parent directories, takes the lock, removes temporary files a crashed
    /// writer left, and reads the store: the disk, locked, and what it holds or
    /// [`Error::Corrupt`] (naming the file that does not read, and where).
    pub(crate) fn open(
        path: &Path,
        options: &Options,
    ) -> Result<(Self, Result<Stored, Error>), Error> {
        let file = resolve(path)?;
        let lock = lock::acquire(&file.path, options.lock, options.mode)?;
        let journal = file.beside(&journal::journal_path(&file.path));
        file.remove_leftovers()?;
        journal.remove_leftovers()?;
        let (state, file_id, stored) = match journal::read(&file.path, true) {
            Ok(found) => (state_of(found.journal), found.file, Ok(found.stored)),
            Err(e @ Error::Corrupt { .. }) => (State::Unreadable, None, Err(e)),
            Err(e) => return Err(e),
        };
        let disk = Self {
            file,
            journal,
            journaled: options.journal,
            new_mode: options.mode,
            hook: options.hook.clone(),
            file_id,
            compact_min: options.compact_min,
            state,
            _lock: lock,
        };
        Ok((disk, stored))
    }

    /// The store file, as an absolute path.
    pub(crate) fn path(&self) -> &Path {
        &self.file.path
    }

    /// Whether commits append to the journal rather than rewrite the file.
    pub(crate) fn journaled(&self) -> bool {
        self.journaled
    }

    /// Whether the journal holds records the file lacks.
    pub(crate) fn has_records(&self) -> bool {
        matches!(self.state, State::Live { len, header_len, .. } if len > header_len)
    }

    /// Whether the journal has outgrown the file (and the minimum): time to compact.
    pub(crate) fn should_compact(&self) -> bool {
        match self.state {
            State::Live { len, .. } => {
                let file = self.file_id.map_or(0, |id| id.bytes);
                len > file.max(self.compact_min)
            }
            _ => false,
        }
    }

    /// Appends one record line and syncs it (`fdatasync`): durable when this returns `Ok`.
    /// On `Err` the journal reads as before.
    pub(crate) fn append(&mut self, record: &[u8]) -> Result<(), FileError> {
        self.readable()?;
        if !matches!(self.state, State::Live { .. }) {
            self.reset_journal()?;
        }
        let State::Live {
            append, len, tail, ..
        } = &mut self.state
        else {
            unreachable!("reset_journal leaves a live journal")
        };
        let path = &self.journal.path;
        let fail = |op| move |e: io::Error| FileError::new(op, path, e);
        let file = match append {
            Some(file) => file,
            None => {
                // The journal is part of the store: a store file the user made read-only
                // refuses writes here too, not only when it would be replaced.
                replace::check_writable(&self.file)?;
                append.insert(
                    OpenOptions::new()
                        .append(true)
                        .open(path)
                        .map_err(fail(Op::Append))?,
                )
            }
        };
        if *tail {
            file.set_len(*len).map_err(fail(Op::Append))?;
            *tail = false;
        }
        let cut_back = |file: &File| file.set_len(*len).and_then(|()| file.sync_data());
        let written = Hook::before(self.hook.as_ref(), Step::Append)
            .and_then(|()| file.write_all(record))
            .map_err(fail(Op::Append));
        let synced = written.and_then(|()| {
            Hook::before(self.hook.as_ref(), Step::SyncJournal)
                .and_then(|()| file.sync_data())
                .map_err(fail(Op::SyncJournal))
        });
        match synced {
            Ok(()) => {
                *len += record.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Whatever reached the file is cut off again; if even that fails, the next
                // append cuts it first (and a crash before then leaves a torn last record,
                // or, after a failed sync only, the unacknowledged record: see Op::SyncJournal).
                *tail = cut_back(file).is_err();
                Err(e)
            }
        }
    }

    /// Replaces the store file with `snapshot` (the whole state) and resets the journal to
    /// extend it: a compaction, or, without a journal, a commit. On `Err` storage reads as
    /// before, or (when only the journal's reset failed) as `snapshot`, which is the same state.
    pub(crate) fn replace_file(&mut self, snapshot: &[u8]) -> Result<(), FileError> {
        self.readable()?;
        if matches!(self.state, State::Stale) {
            self.reset_journal()?;
        }
        replace::replace(&self.file, snapshot, self.new_mode, self.hook.as_ref())?;
        self.file_id = Some(FileId::of(snapshot));
        if !matches!(self.state, State::Absent) {
            self.state = State::Stale;
        }
        if self.journaled || matches!(self.state, State::Stale) {
            self.reset_journal()?;
        }
        Ok(())
    }

    fn readable(&self) -> Result<(), FileError> {
        match self.state {
            State::Unreadable => Err(FileError::new(
                Op::Read,
                &self.file.path,
                io::Error::new(io::ErrorKind::InvalidData, "the store does not read"),
            )),
            _ => Ok(()),
        }
    }

    /// Makes the journal extend the file as it is now: a fresh journal of one header line,
    /// put in place by a durable replace; without a journal, removes it.
    fn reset_journal(&mut self) -> Result<(), FileError> {
        let path = &self.journal.path;
        let fail = move |e: io::Error| FileError::new(Op::ResetJournal, path, e);
        Hook::before(self.hook.as_ref(), Step::ResetJournal).map_err(fail)?;
        if self.journaled {
            let header = journal::header(self.file_id);
            // A new journal is as readable as the store file it extends (else `new_mode`).
            let mode = replace::mode_of_path(&self.file.path).unwrap_or(self.new_mode);
            replace::replace(&self.journal, &header, mode, None).map_err(|e| fail(e.into_io()))?;
            self.state = State::Live {
                append: None,
                len: header.len() as u64,
                header_len: header.len() as u64,
                tail: false,
            };
        } else {
            match fs::remove_file(path) {
                Ok(()) => replace::sync_dir(&self.journal.dir, None).map_err(fail)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(fail(e)),
            }
            self.state = State::Absent;
        }
        Ok(())
    }
}

/// The writer's view of the journal it found.
fn state_of(found: JournalFound) -> State {
    match found {
        JournalFound::Absent => State::Absent,
        JournalFound::Stale => State::Stale,
        JournalFound::Live {
            good_len,
            len,
            header_len,
        } => State::Live {
            append: None,
            len: good_len,
            header_len,
            tail: len > good_len,
        },
    }
}

/// Makes `path` absolute, through symbolic links, so that a rename replaces the file the user
/// meant rather than a link to it, and so that a later change of directory changes nothing.
fn resolve(path: &Path) -> Result<Target, Error> {
    let dir = parent_dir(path);
    let name = crate::path::file_name(path)?;
    create_dirs(dir)?;
    let path = match fs::canonicalize(path) {
        Ok(path) => path,
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::canonicalize(dir)
            .map_err(|e| FileError::new(Op::CreateDir, dir, e))?
            .join(name),
        Err(e) => return Err(FileError::new(Op::Read, path, e).into()),
    };
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => Ok(Target {
            dir: dir.to_path_buf(),
            name: name.to_os_string(),
            path: path.clone(),
        }),
        _ => {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file");
            Err(FileError::new(Op::Read, path, e).into())
        }
    }
}

/// Creates `dir` and any missing parents, durably: each new directory's entry is synced in
/// its parent, so a store written into it cannot vanish with it after a power loss.
fn create_dirs(dir: &Path) -> Result<(), FileError> {
    // A relative path's ancestors end in "", which is "." and exists: stop there, so that
    // "." is synced once, as the parent of the first missing directory.
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| FileError::new(Op::CreateDir, dir, e))?;
    for created in missing.iter().rev() {
        replace::sync_dir(parent_dir(created), None)
            .map_err(|e| FileError::new(Op::CreateDir, *created, e))?;
    }
    Ok(())
}

/// The directory `path` is in: its parent, or "." for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}
