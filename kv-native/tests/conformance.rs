//! The conformance suite every adapter passes, run against `FilePersist` on a real file.
#![allow(clippy::unwrap_used)]

use std::fs::OpenOptions;
use std::path::PathBuf;

use kv_native::FilePersist;
use kv_tests::Harness;
use tempfile::TempDir;

/// Each fresh store is a new file in one temporary directory.
struct FileHarness {
    dir: TempDir,
    current: PathBuf,
    count: usize,
}

impl FileHarness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("store-0.json");
        Self {
            dir,
            current,
            count: 0,
        }
    }
}

impl Harness for FileHarness {
    type Persist = FilePersist;

    async fn fresh(&mut self) -> FilePersist {
        self.count += 1;
        self.current = self.dir.path().join(format!("store-{}.json", self.count));
        FilePersist::open(&self.current).unwrap()
    }

    async fn reopen(&mut self) -> FilePersist {
        FilePersist::open(&self.current).unwrap()
    }

    async fn corrupt(&mut self) {
        // A torn write: the file cut off in the middle of its JSON.
        let len = std::fs::metadata(&self.current).unwrap().len();
        let file = OpenOptions::new().write(true).open(&self.current).unwrap();
        file.set_len(len / 2).unwrap();
    }
}

kv_tests::conformance_tests!(sync: FileHarness::new());
