//! Any records a record store can hold (IndexedDB, localStorage, Redis: one key and one record
//! each, expiring records and the format marker among them) either open as a store or fail as
//! `Corrupt`, never panic. A record that reads re-encodes to the same bytes, and a store that
//! opens keeps every value and expiry through its snapshot.
#![no_main]

mod bytes;

use core::convert::Infallible;

use kv_core::{
    ErrorKind, ManualClock, Store, Stored, block_on, decode_record, encode_record,
};
use libfuzzer_sys::fuzz_target;

use crate::bytes::Bytes;

/// Lines of `key=record`; a line without `=` is a key with an empty record.
fn records(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    data.split(|&b| b == b'\n')
        .map(|line| {
            let (key, record) = match line.iter().position(|&b| b == b'=') {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, &[][..]),
            };
            (String::from_utf8_lossy(key).into_owned(), record.to_vec())
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let records = records(data);
    for (_, record) in &records {
        if let Ok((at, value)) = decode_record(record) {
            assert_eq!(&encode_record(value, at), record, "a record re-encodes as it was");
        }
    }
    // The clock at the first expiry in the input, if any: some keys have expired, some not.
    let now = records
        .iter()
        .find_map(|(_, r)| decode_record(r).ok()?.0)
        .unwrap_or(0);
    let opened: Result<Store<(), ManualClock>, _> =
        Store::from_stored(Stored::Records(records), ManualClock::new(0), Default::default());
    let store = match opened {
        Ok(store) => store,
        Err(corrupt) => {
            let e = kv_core::Error::<Infallible>::Corrupt(corrupt);
            assert_eq!(e.kind(), ErrorKind::Corrupt);
            return;
        }
    };
    store.clock().set_ms(now);
    let snapshot = store.snapshot();
    let again: Store<Bytes, ManualClock> =
        block_on(Store::open(Bytes(snapshot.clone()), ManualClock::new(0)))
            .expect("memory is synchronous")
            .expect("a snapshot the store wrote opens");
    again.clock().set_ms(now);
    assert_eq!(again.get_all(), store.get_all());
    assert_eq!(again.stored_len(), store.stored_len());
    for key in store.sorted_keys() {
        assert_eq!(again.expires_at(key), store.expires_at(key), "{key:?}");
    }
    assert_eq!(again.snapshot(), snapshot, "encoding is deterministic");
});
