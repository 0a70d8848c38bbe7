//! What a file holds comes back as it was: every number, through a read and an unrelated
//! write; a byte order mark; a lone surrogate refused with the key, the position and why.
#![allow(clippy::unwrap_used)]

use std::fs;

use kv_native::{Error, Kv, Lock};

/// Numbers as Python's `json.dump` writes them (2**64, -2**63-1, 10**30, 1.0, 1e16, 1e-7,
/// 12.50 from a Decimal), as JavaScript does (-0), and as people write them by hand (`1E5`,
/// `1e5`, `2.5E-3`: serde_json's `Value` writes each of them another way), and 10**400, past
/// what an `f64` holds.
const FILE: &str = r#"{"a": 18446744073709551616, "b": -9223372036854775809, "c": 1000000000000000000000000000000, "d": 1.0, "e": 1e+16, "f": 1e-07, "g": 12.50, "h": -0, "i": [0.1, 1.5e+300], "j": 1E5, "k": 1e5, "l": [1E+2, {"m": 2.5E-3}], "n": 1e400}"#;

const NUMBERS: [(&str, &str); 13] = [
    ("a", "18446744073709551616"),
    ("b", "-9223372036854775809"),
    ("c", "1000000000000000000000000000000"),
    ("d", "1.0"),
    ("e", "1e+16"),
    ("f", "1e-07"),
    ("g", "12.50"),
    ("h", "-0"),
    ("i", "[0.1,1.5e+300]"),
    ("j", "1E5"),
    ("k", "1e5"),
    ("l", "[1E+2,{\"m\":2.5E-3}]"),
    ("n", "1e400"),
];

#[test]
fn every_number_survives_a_read_and_an_unrelated_write_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    fs::write(&path, FILE).unwrap();
    let kv = Kv::open(&path).unwrap();
    for (key, text) in NUMBERS {
        assert_eq!(kv.get_text(key).unwrap().as_str(), text, "{key}");
    }
    // A `Value` holds every number's digits (serde_json's `arbitrary_precision`).
    assert_eq!(
        kv.get("c").unwrap().to_string(),
        "1000000000000000000000000000000"
    );
    assert_eq!(kv.get_as::<f64>("k").unwrap(), Some(1e5));
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
    // Waits: another test of this file spawns `kv` at the same time, and a child between
    // its fork and its exec holds a copy of every descriptor, this store's lock file too.
    let kv = Kv::options().lock(Lock::Wait).open(&path).unwrap();
    assert_eq!(kv.get_as::<u128>("a").unwrap(), Some(1 << 64));
    for (key, text) in NUMBERS {
        assert_eq!(kv.get_text(key).unwrap().as_str(), text, "{key} reopened");
    }
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

/// What `kv get` and `kv list` print: each number as the file spells it.
#[test]
fn the_kv_command_prints_every_number_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    fs::write(&path, FILE).unwrap();
    let kv = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kv"))
            .arg("--file")
            .arg(&path)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    for (key, text) in NUMBERS {
        assert_eq!(kv(&["get", key]), format!("{text}\n"), "{key}");
    }
    kv(&["set", "o", "2E+7"]);
    assert_eq!(kv(&["get", "o"]), "2E+7\n");
    let list = kv(&["list"]);
    for needle in [
        "\"j\": 1E5,",
        "\"k\": 1e5,",
        "\"m\": 2.5E-3",
        "\"n\": 1e400,",
        "\"o\": 2E+7",
    ] {
        assert!(list.contains(needle), "{needle}: {list}");
    }
    assert!(fs::read_to_string(&path).unwrap().contains("\"o\":2E+7"));
}
