//! One writer per store: an exclusive lock on a sidecar file next to it.
//!
//! The lock is on `<store file>.lock`, not on the store file itself, because the store file
//! is replaced by a rename on every write, and a lock on a replaced inode protects nothing.
//! The lock file is never removed: removing it would let two writers lock two different files.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, FileError, Op};
use crate::options::Lock;

/// The lock file that guards the store file at `path`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock guarding the store file at `path`, held until the returned file
/// is dropped. Locks are per open file, so a second open in this same process conflicts too.
pub(crate) fn acquire(path: &Path, how: Lock, mode: u32) -> Result<File, Error> {
    let lock_path = lock_path(path);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let file = options
        .open(&lock_path)
        .map_err(|e| FileError::new(Op::Lock, &lock_path, e))?;
    let locked = match how {
        Lock::Fail => file.try_lock(),
        Lock::Wait => file.lock().map_err(TryLockError::Error),
        Lock::WaitUpTo(limit) => lock_within(&file, limit),
    };
    match locked {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::Locked {
            path: path.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(FileError::new(Op::Lock, lock_path, e).into()),
    }
}

/// Takes the lock if it comes free within `limit`. Polled: std offers no lock call with a
/// timeout, and a blocking `lock()` on another thread could not be called off, so it would take
/// the lock after the caller had given up.
fn lock_within(file: &File, limit: Duration) -> Result<(), TryLockError> {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) => {}
            done => return done,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TryLockError::WouldBlock);
        }
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
