//! The conformance suite every adapter passes, run against `FilePersist` on a real file: with
//! its journal (module `journaled`) and rewriting the file on every commit (`rewrite`).
#![allow(clippy::unwrap_used)]

use std::fs::OpenOptions;
use std::path::PathBuf;

use kv_native::{FilePersist, Kv};
use kv_tests::Harness;
use tempfile::TempDir;

/// Each fresh store is a new file in one temporary directory.
struct FileHarness {
    dir: TempDir,
    current: PathBuf,
    count: usize,
    journal: bool,
}

impl FileHarness {
    fn new(journal: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("store-0.json");
        Self {
            dir,
            current,
            count: 0,
            journal,
        }
    }
}

impl FileHarness {
    fn open(&self) -> FilePersist {
        Kv::options()
            .journal(self.journal)
            .open_persist(&self.current)
            .unwrap()
    }
}

impl Harness for FileHarness {
    type Persist = FilePersist;

    async fn fresh(&mut self) -> FilePersist {
        self.count += 1;
        self.current = self.dir.path().join(format!("store-{}.json", self.count));
        self.open()
    }

    async fn reopen(&mut self) -> FilePersist {
        self.open()
    }

    async fn corrupt(&mut self) {
        let journal = PathBuf::from(format!("{}.journal", self.current.display()));
        if self.journal {
            // A flipped byte in the journal's header (its records are all in the journal).
            let mut bytes = std::fs::read(&journal).unwrap();
            bytes[12] ^= 0x01;
            std::fs::write(&journal, bytes).unwrap();
            return;
        }
        // A torn write: the file cut off in the middle of its JSON.
        let len = std::fs::metadata(&self.current).unwrap().len();
        let file = OpenOptions::new().write(true).open(&self.current).unwrap();
        file.set_len(len / 2).unwrap();
    }
}

mod journaled {
    use super::*;
    kv_tests::conformance_tests!(sync: FileHarness::new(true));
}

mod rewrite {
    use super::*;
    kv_tests::conformance_tests!(sync: FileHarness::new(false));
}
