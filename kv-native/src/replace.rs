//! Durable atomic replacement of the store file, and the temporary files it leaves.
//!
//! Written by hand, on std alone, rather than with a crate: `tempfile` neither keeps the
//! target's permission bits nor syncs the directory after `persist`, and `atomic-write-file`
//! (the closest fit) hides its steps, so neither lets a test fail exactly one of them, nor
//! names its temporaries in a pattern that a later open can recognise and sweep. The whole
//! protocol is below.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{FileError, Op};
use crate::fault::{Hook, Step};

/// Where the store file lives: its path, its directory and its name.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) path: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) name: OsString,
}

impl Target {
    /// The target at `path`, a file in the same directory as this one.
    pub(crate) fn beside(&self, path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            dir: self.dir.clone(),
            name: path.file_name().unwrap_or_default().to_os_string(),
        }
    }

    /// Whether `candidate` is a temporary file name [`replace`] makes for this target:
    /// `.<name>.<pid>.<unique>.tmp`, with decimal pid and hexadecimal unique part.
    pub(crate) fn is_temp_name(&self, candidate: &OsStr) -> bool {
        let (Some(candidate), Some(name)) = (candidate.to_str(), self.name.to_str()) else {
            return false;
        };
        let Some(rest) = candidate
            .strip_prefix('.')
            .and_then(|c| c.strip_prefix(name))
            .and_then(|c| c.strip_prefix('.'))
            .and_then(|c| c.strip_suffix(".tmp"))
        else {
            return false;
        };
        match rest.split_once('.') {
            Some((pid, unique)) => {
                !pid.is_empty()
                    && pid.bytes().all(|b| b.is_ascii_digit())
                    && !unique.is_empty()
                    && unique.bytes().all(|b| b.is_ascii_hexdigit())
            }
            None => false,
        }
    }

    fn temp_path(&self) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = OsString::from(".");
        name.push(&self.name);
        name.push(format!(".{}.{unique:x}{nanos:08x}.tmp", std::process::id()));
        self.dir.join(name)
    }

    /// Removes every temporary file a crashed writer left next to the store file. Their contents are never looked at: an unfinished write is not promoted.
    ///
    /// Only the lock holder calls this, so no live writer's temporary file is removed.
    pub(crate) fn remove_leftovers(&self) -> Result<(), FileError> {
        let entries = fs::read_dir(&self.dir)
            .map_err(|e| FileError::new(Op::RemoveLeftover, &self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| FileError::new(Op::RemoveLeftover, &self.dir, e))?;
            if self.is_temp_name(&entry.file_name()) {
                let path = entry.path();
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(FileError::new(Op::RemoveLeftover, path, e)),
                }
            }
        }
        Ok(())
    }
}

/// Replaces the target's contents with `bytes`, durably: when this returns `Ok` the new
/// contents survive a crash or power loss; when it returns `Err` the target holds exactly what
/// it held before, and no temporary file remains.
///
/// A new file gets `new_mode` as its permission bits; an existing one keeps its own, and its
/// owner and group where this process may set them (root may). An existing file that is
/// read-only, or that this user may not write, is refused rather than replaced.
pub(crate) fn replace(
    target: &Target,
    bytes: &[u8],
    new_mode: u32,
    hook: Option<&Hook>,
) -> Result<(), FileError> {
    // Kept open so that, if the rename cannot be made durable, the old contents can be put back.
    // Opened for writing too, though never written through: the rename below would replace a
    // file this user may not write, so the permission is asked of the file itself first.
    let old = match OpenOptions::new().read(true).write(true).open(&target.path) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Err(not_writable(target, "this user may not write it"));
        }
        Err(e) => return Err(FileError::new(Op::Read, &target.path, e)),
    };
    let read = |e| FileError::new(Op::Read, &target.path, e);
    let (mode, owner) = match &old {
        Some(file) => {
            let metadata = file.metadata().map_err(read)?;
            // Root may write anything, so a file marked read-only is refused by its bits.
            if metadata.permissions().readonly() {
                return Err(not_writable(
                    target,
                    "it is read-only (no write permission bits)",
                ));
            }
            (mode_of(file).map_err(read)?, owner_of(&metadata))
        }
        None => (new_mode, None),
    };
    write_and_rename(target, bytes, mode, owner, hook)?;
    match sync_dir(&target.dir, hook) {
        Ok(()) => Ok(()),
        Err(e) => {
            let failed = FileError::new(Op::SyncDir, &target.path, e);
            restore(target, old, mode, owner)
                .map_err(|e| FileError::new(Op::Restore, &target.path, e))?;
            Err(failed)
        }
    }
}

/// Refuses a write to the store at `target` if its file exists and is read-only, or this user
/// may not write it, as [`replace`] does: for writes that append to the journal instead.
pub(crate) fn check_writable(target: &Target) -> Result<(), FileError> {
    match OpenOptions::new().read(true).write(true).open(&target.path) {
        Ok(file) => {
            let metadata = file
                .metadata()
                .map_err(|e| FileError::new(Op::Read, &target.path, e))?;
            if metadata.permissions().readonly() {
                return Err(not_writable(
                    target,
                    "it is read-only (no write permission bits)",
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            Err(not_writable(target, "this user may not write it"))
        }
        Err(e) => Err(FileError::new(Op::Read, &target.path, e)),
    }
}

/// Writes `bytes` to a new temporary file and renames it over the target. On error the
/// temporary file is removed and the target is untouched.
fn write_and_rename(
    target: &Target,
    bytes: &[u8],
    mode: u32,
    owner: Option<Owner>,
    hook: Option<&Hook>,
) -> Result<(), FileError> {
    let fail = |op| move |e: io::Error| FileError::new(op, &target.path, e);
    Hook::before(hook, Step::CreateTemp).map_err(fail(Op::CreateTemp))?;
    let (mut file, temp) = create_temp(target, mode, owner).map_err(fail(Op::CreateTemp))?;
    Hook::before(hook, Step::Write).map_err(fail(Op::Write))?;
    file.write_all(bytes).map_err(fail(Op::Write))?;
    Hook::before(hook, Step::Sync).map_err(fail(Op::Sync))?;
    file.sync_all().map_err(fail(Op::Sync))?;
    drop(file);
    Hook::before(hook, Step::Rename).map_err(fail(Op::Rename))?;
    fs::rename(&temp.0, &target.path).map_err(fail(Op::Rename))?;
    temp.disarm();
    Ok(())
}

/// Creates a temporary file next to the target, with a name no other file has (`O_EXCL`),
/// readable by the owner alone until its permission bits are set to `mode` (and its owner and
/// group to `owner`, where this process may).
fn create_temp(target: &Target, mode: u32, owner: Option<Owner>) -> io::Result<(File, TempGuard)> {
    loop {
        let path = target.temp_path();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => {
                let guard = TempGuard(path);
                // Before the mode: changing the owner clears set-user-ID and set-group-ID bits.
                set_owner(&file, owner)?;
                set_mode(&file, mode)?;
                return Ok((file, guard));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

/// Puts the contents of `old` (or no file, if there was none) back in place of the target.
fn restore(target: &Target, old: Option<File>, mode: u32, owner: Option<Owner>) -> io::Result<()> {
    match old {
        Some(mut file) => {
            let mut bytes = Vec::new();
            file.rewind()?;
            file.read_to_end(&mut bytes)?;
            write_and_rename(target, &bytes, mode, owner, None).map_err(|e| e.into_io())?;
        }
        None => fs::remove_file(&target.path)?,
    }
    sync_dir(&target.dir, None)
}

/// Syncs a directory, making the renames and removals in it durable.
pub(crate) fn sync_dir(dir: &Path, hook: Option<&Hook>) -> io::Result<()> {
    Hook::before(hook, Step::SyncDir)?;
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    // Elsewhere std cannot open a directory to sync it; NTFS journals the rename itself.
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes the temporary file when dropped, unless it was renamed into place.
struct TempGuard(PathBuf);

impl TempGuard {
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        // Best effort: a temporary file that cannot be removed is swept at the next open.
        let _ = fs::remove_file(&self.0);
    }
}

/// The refusal to replace a store file this write may not replace.
fn not_writable(target: &Target, why: &str) -> FileError {
    let e = io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{why}; make it writable (chmod u+w) to write to the store"),
    );
    FileError::new(Op::Replace, &target.path, e)
}

/// A file's owner and group: user and group IDs.
type Owner = (u32, u32);

#[cfg(unix)]
fn owner_of(metadata: &fs::Metadata) -> Option<Owner> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.uid(), metadata.gid()))
}

/// Gives `file` the owner and group `owner`, if it lacks them and this process may set them:
/// root may, and an owner may change the group to one of its own. Anyone else's write makes
/// the file theirs, as an editor's save does.
#[cfg(unix)]
fn set_owner(file: &File, owner: Option<Owner>) -> io::Result<()> {
    let Some(owner) = owner else { return Ok(()) };
    if owner_of(&file.metadata()?) == Some(owner) {
        return Ok(());
    }
    match std::os::unix::fs::fchown(file, Some(owner.0), Some(owner.1)) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        done => done,
    }
}

#[cfg(not(unix))]
fn owner_of(_: &fs::Metadata) -> Option<Owner> {
    None
}

#[cfg(not(unix))]
fn set_owner(_: &File, _: Option<Owner>) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn mode_of(file: &File) -> io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(file.metadata()?.permissions().mode() & 0o7777)
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Set on the open file, so the umask does not narrow the bits the target had.
    file.set_permissions(fs::Permissions::from_mode(mode))
}

/// The permission bits of the file at `path`, if it exists.
#[cfg(unix)]
pub(crate) fn mode_of_path(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(fs::metadata(path).ok()?.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
pub(crate) fn mode_of_path(_: &std::path::Path) -> Option<u32> {
    None
}

#[cfg(not(unix))]
fn mode_of(_: &File) -> io::Result<u32> {
    Ok(0)
}

#[cfg(not(unix))]
fn set_mode(_: &File, _: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            path: PathBuf::from("/data/kv.json"),
            dir: PathBuf::from("/data"),
            name: OsString::from("kv.json"),
        }
    }

    #[test]
    fn temporary_names_are_recognised_as_leftovers() {
        let target = target();
        for _ in 0..3 {
            let temp = target.temp_path();
            let name = temp.file_name().unwrap_or_default();
            assert!(target.is_temp_name(name), "{temp:?}");
        }
    }

    #[test]
    fn other_files_are_not_taken_for_leftovers() {
        let target = target();
        for name in [
            "kv.json",
            "kv.json.lock",
            ".kv.json.tmp",
            ".kv.json.12.tmp",
            ".kv.json.12.zz.tmp",
            ".kv.json.x1.ab.tmp",
            ".other.json.12.ab.tmp",
            ".kv.json.12.ab.tmp.bak",
        ] {
            assert!(!target.is_temp_name(OsStr::new(name)), "{name}");
        }
        assert!(target.is_temp_name(OsStr::new(".kv.json.12.ab.tmp")));
    }
}
