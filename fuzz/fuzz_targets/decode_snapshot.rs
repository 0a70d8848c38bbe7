//! Any bytes a file can hold either open as a store or fail as `Corrupt`, never panic; a store
//! that opens encodes to a snapshot that opens to the same store and encodes to the same bytes.
#![no_main]

use core::convert::Infallible;

use kv_core::{Commit, Json, ErrorKind, ManualClock, Persist, Store, Stored, block_on};
use libfuzzer_sys::fuzz_target;

/// A snapshot adapter over bytes in memory.
struct Bytes(Vec<u8>);

impl Persist for Bytes {
    type Error = Infallible;

    async fn load(&mut self) -> Result<Stored, Infallible> {
        Ok(Stored::Snapshot(self.0.clone()))
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), Infallible> {
        self.0 = commit.snapshot();
        Ok(())
    }
}

fn open(bytes: Vec<u8>) -> Result<Store<Bytes, ManualClock>, kv_core::Error<Infallible>> {
    block_on(Store::open(Bytes(bytes), ManualClock::new(0))).expect("memory is synchronous")
}

fuzz_target!(|data: &[u8]| {
    let store = match open(data.to_vec()) {
        Ok(store) => store,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
            return;
        }
    };
    let encoded = store.snapshot();
    let again = open(encoded.clone()).expect("a snapshot the store wrote opens");
    assert_eq!(again.get_all(), store.get_all());
    assert_eq!(again.snapshot(), encoded, "encoding is deterministic");
});
