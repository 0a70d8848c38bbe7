//! Any bytes a file can hold either open as a store or fail as `Corrupt`, never panic; a store
//! that opens (expiries in its `\u0000expires` member included) encodes to a snapshot that opens
//! to the same store and encodes to the same bytes.
#![no_main]

mod bytes;

use core::convert::Infallible;

use kv_core::{ErrorKind, ManualClock, Store, block_on};
use libfuzzer_sys::fuzz_target;

use crate::bytes::Bytes;

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
    for key in store.sorted_keys() {
        assert_eq!(again.expires_at(key), store.expires_at(key), "{key:?}");
    }
    assert_eq!(again.snapshot(), encoded, "encoding is deterministic");
});
