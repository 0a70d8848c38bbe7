//! What a file holds comes back as it was: every number, through a read and an unrelated
//! write; a byte order mark; a lone surrogate refused with the key, the position and why.
#![allow(clippy::unwrap_used)]

use std::fs;

use kv_native::{Error, Kv};

/// Numbers as Python's `json.dump` writes them (2**64, -2**63-1, 10**30, 1.0, 1e16, 1e-7,
/// 12.50 from a Decimal) and as JavaScript does (-0).
const FILE: &str = r#"{"a": 18446744073709551616, "b": -9223372036854775809, "c": 1000000000000000000000000000000, "d": 1.0, "e": 1e+16, "f": 1e-07, "g": 12.50, "h": -0, "i": [0.1, 1.5e+300]}"#;

const NUMBERS: [(&str, &str); 9] = [
    ("a", "18446744073709551616"),
    ("b", "-9223372036854775809"),
    ("c", "1000000000000000000000000000000"),
    ("d", "1.0"),
    ("e", "1e+16"),
    ("f", "1e-07"),
    ("g", "12.50"),
    ("h", "-0"),
    ("i", "[0.1,1.5e+300]"),
];

#[test]
fn every_number_survives_a_read_and_an_unrelated_write_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    fs::write(&path, FILE).unwrap();
    let kv = Kv::open(&path).unwrap();
    for (key, text) in NUMBERS {
        assert_eq!(kv.get(key).unwrap().to_string(), text, "{key}");
    }
    kv.set("unrelated", "x").unwrap();
    // The write went to the journal; closing folds it into the file, re-encoding every value.
    drop(kv);
    let written = fs::read_to_string(&path).unwrap();
    assert!(written.contains("\"unrelated\":\"x\""), "{written}");
    for (key, text) in NUMBERS {
        assert!(
            written.contains(&format!("\"{key}\":{text}")),
            "{key}: {written}"
        );
    }
    let kv = Kv::open(&path).unwrap();
    assert_eq!(kv.get_as::<u128>("a").unwrap(), Some(1 << 64));
}

#[test]
fn a_file_with_a_byte_order_mark_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    fs::write(&path, "\u{feff}{\"k\": 1}\n").unwrap();
    assert_eq!(Kv::open(&path).unwrap().get("k"), Some(1.into()));
}

#[test]
fn a_lone_surrogate_is_refused_naming_the_key_the_position_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    // json.dump({"ok": 1, "bad": "\ud800"}) in Python.
    let file = "{\"ok\": 1, \"bad\": \"\\ud800\"}";
    fs::write(&path, file).unwrap();
    let Err(e @ Error::Corrupt { .. }) = Kv::open(&path) else {
        panic!("a lone surrogate opened");
    };
    let message = e.to_string();
    for needle in ["\"bad\"", "line 1, column 25", "lone leading surrogate"] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), file);
}
