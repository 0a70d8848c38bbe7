//! `JsonText` holds exactly the values `serde_json::Value` holds: its scanner accepts exactly
//! the text serde_json accepts, meaning the same value, and a store of `JsonText` decodes any
//! snapshot to the same keys and values as a store of `Value`, or fails as `Corrupt` with it.
#![no_main]

mod bytes;

use core::convert::Infallible;

use kv_core::{ErrorKind, Json, JsonText, ManualClock, Store, Value, block_on};
use libfuzzer_sys::fuzz_target;

use crate::bytes::Bytes;

type Opened<V> = Result<Store<Bytes, ManualClock, V>, kv_core::Error<Infallible>>;

fn open<V: Json>(bytes: Vec<u8>) -> Opened<V> {
    block_on(Store::open(Bytes(bytes), ManualClock::new(0))).expect("memory is synchronous")
}

fn parse(text: &JsonText) -> Value {
    serde_json::from_str(text.as_str()).expect("serde_json parses what JsonText accepted")
}

/// The bytes as one JSON value: `JsonText::new` and serde_json agree on whether they are one,
/// and on which.
fn check_value(text: &str) {
    match (JsonText::new(text), serde_json::from_str::<Value>(text)) {
        (Ok(ours), Ok(theirs)) => assert_eq!(parse(&ours), theirs, "{text:?}"),
        (Err(_), Err(_)) => {}
        (ours, theirs) => panic!("disagree on {text:?}: JsonText {ours:?}, serde_json {theirs:?}"),
    }
    assert_eq!(
        JsonText::string(text).as_str(),
        serde_json::to_string(text).expect("a str serializes"),
        "escaping {text:?}"
    );
}

/// The bytes as a snapshot: both representations open it the same, or both refuse it.
fn check_snapshot(data: &[u8]) {
    let (values, texts) = match (
        open::<Value>(data.to_vec()),
        open::<JsonText>(data.to_vec()),
    ) {
        (Ok(values), Ok(texts)) => (values, texts),
        (Err(a), Err(b)) => {
            assert_eq!(a.kind(), ErrorKind::Corrupt, "Value: {a}");
            assert_eq!(b.kind(), ErrorKind::Corrupt, "JsonText: {b}");
            return;
        }
        (values, texts) => panic!(
            "disagree on {data:?}: Value {:?}, JsonText {:?}",
            values.map(|s| s.get_all()),
            texts.map(|s| s.snapshot()),
        ),
    };
    assert_eq!(texts.len(), values.len());
    for (key, value) in values.iter() {
        let text = texts
            .get(key)
            .unwrap_or_else(|| panic!("JsonText lost {key:?}"));
        assert_eq!(&parse(text), value, "under {key:?}");
    }

    let encoded = texts.snapshot();
    let again = open::<JsonText>(encoded.clone()).expect("a snapshot the store wrote opens");
    assert_eq!(again.snapshot(), encoded, "encoding is deterministic");
    let as_values = open::<Value>(encoded).expect("a JsonText snapshot opens as Value");
    assert_eq!(as_values.snapshot(), values.snapshot(), "one stored format");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = core::str::from_utf8(data) {
        check_value(text);
    }
    check_snapshot(data);
});
