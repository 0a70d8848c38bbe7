//! How a store holds its values in memory: parsed, as [`Value`], or as checked text, as
//! [`JsonText`]. Both hold exactly the same values and store the same format.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde_json::Value;
use smol_str::SmolStr;

use crate::codec::{self, Entries};
use crate::error::Corrupt;
use crate::json::{self, JsonText, Scanner};
use crate::limits::Limits;

/// A value representation a [`Store`](crate::Store) can hold: [`Value`] (the default) or
/// [`JsonText`].
///
/// - `Value` parses each value once, when it is loaded or written: for programs that read
///   values as data.
/// - `JsonText` keeps each value as its JSON text, checked but not parsed: for hosts that parse
///   JSON themselves (a browser's `JSON.parse`). A program holding only `JsonText` stores links
///   no JSON parser, which is what keeps the browser package small.
///
/// The store's rules, limits and stored format are the same for both. This trait is sealed.
pub trait Json: Clone + fmt::Debug + PartialEq + sealed::Sealed {}

impl Json for Value {}

impl Json for JsonText {}

pub(crate) mod sealed {
    use super::*;

    /// What the core needs of a value representation.
    pub trait Sealed: Sized {
        /// The value as stored: compact JSON for `Value`, the text as given for `JsonText`.
        fn encode(&self) -> Vec<u8>;

        /// A stored value; `key` names the record in the error if it does not decode.
        fn decode(key: Option<&str>, bytes: &[u8]) -> Result<Self, Corrupt>;

        /// The JSON integer `seconds`.
        fn from_seconds(seconds: u64) -> Self;

        /// One JSON object of `entries`, in the order given.
        fn encode_object(entries: &[(&str, &Self)]) -> Vec<u8>;

        /// The entries of one JSON object; a key given twice keeps its last value.
        fn decode_object(bytes: &[u8]) -> Result<Entries<Self>, Corrupt>;
    }
}

impl sealed::Sealed for Value {
    fn encode(&self) -> Vec<u8> {
        codec::encode_value(self)
    }

    fn decode(key: Option<&str>, bytes: &[u8]) -> Result<Self, Corrupt> {
        serde_json::from_slice(bytes).map_err(|e| Corrupt::from_json(key, &e))
    }

    fn from_seconds(seconds: u64) -> Self {
        Value::from(seconds)
    }

    fn encode_object(entries: &[(&str, &Self)]) -> Vec<u8> {
        codec::encode_sorted(entries)
    }

    fn decode_object(bytes: &[u8]) -> Result<Entries<Self>, Corrupt> {
        serde_json::from_slice(bytes).map_err(|e| {
            // serde_json does not say which member failed; the scanner finds it, and if the
            // fault is inside a value, its error names the key.
            match scan_object(bytes, |_, _| {}) {
                Err(corrupt) if corrupt.key.is_some() => corrupt,
                _ => Corrupt::from_json(None, &e),
            }
        })
    }
}

impl JsonText {
    /// `value` as its compact JSON text, exactly as a store of [`Value`] stores it.
    pub fn from_value(value: &Value) -> Self {
        let text = serde_json::to_string(value).unwrap_or_default();
        // serde_json writes only what its parser reads back, and the scanner takes what that
        // parser takes (numbers past `f64::MAX` too, when serde_json in the build does).
        Self::checked(&text)
    }

    /// The value this text holds, parsed. Every `JsonText` parses: the scanner accepts exactly
    /// what serde_json does (with the `arbitrary_precision` feature on for both, or off for
    /// both).
    pub fn value(&self) -> Value {
        let text = self.as_str();
        // The commonest values (a timestamp, a plain string, a flag) built directly, without
        // starting a parser: the same `Value` serde_json's parser gives.
        match text.as_bytes() {
            [b'0'..=b'9', digits @ ..] if digits.iter().all(u8::is_ascii_digit) => {
                if let Ok(n) = text.parse::<u64>() {
                    return Value::from(n);
                }
            }
            [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') => {
                return Value::String(String::from(&text[1..text.len() - 1]));
            }
            b"true" => return Value::Bool(true),
            b"false" => return Value::Bool(false),
            b"null" => return Value::Null,
            _ => {}
        }
        serde_json::from_str(text).unwrap_or_default()
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        Self::from_value(&value)
    }
}

impl sealed::Sealed for JsonText {
    fn encode(&self) -> Vec<u8> {
        self.as_str().as_bytes().to_vec()
    }

    fn decode(key: Option<&str>, bytes: &[u8]) -> Result<Self, Corrupt> {
        let text = utf8(key, bytes)?;
        let value =
            json::check(text, json::MAX_DEPTH).map_err(|e| Corrupt::from_invalid(key, text, e))?;
        Ok(Self::checked(value))
    }

    fn from_seconds(seconds: u64) -> Self {
        Self::from(seconds)
    }

    fn encode_object(entries: &[(&str, &Self)]) -> Vec<u8> {
        let size = entries
            .iter()
            .map(|(k, v)| k.len() + v.as_str().len() + 4)
            .sum::<usize>();
        let mut out = Vec::with_capacity(size + 2);
        out.push(b'{');
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_string(&mut out, key);
            out.push(b':');
            out.extend_from_slice(value.as_str().as_bytes());
        }
        out.push(b'}');
        out
    }

    fn decode_object(bytes: &[u8]) -> Result<Entries<Self>, Corrupt> {
        let mut map = Entries::new();
        scan_object(bytes, |key, value| {
            map.insert(key, Self::checked(value));
        })?;
        Ok(map)
    }
}

/// Scans one JSON object, calling `member` with each key and the text of its value. An error
/// inside a value names its key.
fn scan_object(bytes: &[u8], mut member: impl FnMut(SmolStr, &str)) -> Result<(), Corrupt> {
    let text = utf8(None, bytes)?;
    let fail = |e| Corrupt::from_invalid(None, text, e);
    let mut scanner = Scanner::new(text);
    scanner.whitespace();
    scanner.open_object().map_err(fail)?;
    if !scanner.eat(b'}') {
        loop {
            let mut key = String::new();
            scanner.key(Some(&mut key)).map_err(fail)?;
            // A member of the snapshot's object: the store's own bound.
            let value = scanner
                .value(Limits::MAX_NESTING as u32)
                .map_err(|e| Corrupt::from_invalid(Some(&key), text, e))?;
            member(SmolStr::from(key), value);
            if !scanner.next_member().map_err(fail)? {
                break;
            }
        }
    }
    scanner.end().map_err(fail)
}

fn utf8<'b>(key: Option<&str>, bytes: &'b [u8]) -> Result<&'b str, Corrupt> {
    core::str::from_utf8(bytes).map_err(|e| {
        let invalid = json::InvalidJson {
            offset: e.valid_up_to(),
            reason: "invalid UTF-8",
            eof: e.error_len().is_none(),
            kind: json::InvalidJsonKind::Syntax,
        };
        // Only the valid part can be shown; the position is in it or just after it.
        let valid = core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        Corrupt::from_invalid(key, valid, invalid)
    })
}

#[cfg(test)]
mod tests {
    use core::convert::Infallible;

    use super::*;
    use crate::codec::decode_snapshot;
    use crate::persist::{Commit, Persist, Stored};
    use crate::{ManualClock, Store, block_on};

    /// One snapshot in memory, as a file adapter keeps it.
    struct Snapshot(Vec<u8>);

    impl Persist for Snapshot {
        type Error = Infallible;

        async fn load(&mut self) -> Result<Stored, Infallible> {
            Ok(Stored::Snapshot(self.0.clone()))
        }

        async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), Infallible> {
            self.0 = commit.snapshot();
            Ok(())
        }
    }

    /// Opens `file` as a store of `V`, sets one unrelated key, and returns the new snapshot.
    fn after_an_unrelated_write<V: Json + From<u64>>(file: &str) -> String {
        let outcome = block_on(async {
            let persist = Snapshot(file.as_bytes().to_vec());
            let mut store: Store<_, _, V> = Store::open(persist, ManualClock::new(0)).await?;
            store.set("unrelated", V::from(1)).await?;
            Ok::<_, crate::Error<Infallible>>(store.close().0)
        });
        let bytes = outcome
            .expect("memory storage completes at once")
            .expect("the snapshot opens");
        String::from_utf8(bytes).expect("snapshots are UTF-8")
    }

    /// Numbers Python's `json.dump` and JavaScript's `JSON.stringify` write, and a few by hand.
    const NUMBERS: &str = r#"{"a":18446744073709551616,"b":-9223372036854775809,"c":1000000000000000000000000000000,"d":1.0,"e":1e+16,"f":1e-07,"g":-0,"h":12.50,"i":0.1,"j":1e5,"k":1E5}"#;

    #[test]
    fn json_text_keeps_every_number_byte_for_byte_through_an_unrelated_write() {
        let after = after_an_unrelated_write::<JsonText>(NUMBERS);
        let expected = alloc::format!("{},\"unrelated\":1}}\n", &NUMBERS[..NUMBERS.len() - 1]);
        assert_eq!(after, expected);
    }

    #[test]
    fn a_byte_order_mark_before_the_object_is_read_past() {
        let file = "\u{feff}{\"k\": 1}\n";
        assert_eq!(
            after_an_unrelated_write::<JsonText>(file),
            "{\"k\":1,\"unrelated\":1}\n"
        );
        assert_eq!(
            after_an_unrelated_write::<Value>(file),
            "{\"k\":1,\"unrelated\":1}\n"
        );
    }

    #[test]
    fn a_lone_surrogate_escape_is_refused_naming_the_key_the_position_and_the_reason() {
        // What Python's json.dump writes for the string "\ud800".
        let file = "{\"ok\": 1,\n \"bad\": \"x\\ud800\"}";
        for corrupt in [
            decode_snapshot::<Value>(file.as_bytes()).expect_err("a lone surrogate"),
            decode_snapshot::<JsonText>(file.as_bytes()).expect_err("a lone surrogate"),
        ] {
            assert_eq!(corrupt.key.as_deref(), Some("bad"));
            assert_eq!(
                (corrupt.line, corrupt.column),
                (2, 17),
                "just after the escape"
            );
            assert!(corrupt.reason.contains("surrogate"), "{corrupt}");
        }
    }

    #[test]
    fn a_text_parses_to_what_serde_json_parses() {
        for text in [
            "0",
            "7",
            "1763700000",
            "18446744073709551615",
            "18446744073709551616",
            "-0",
            "-5",
            "1.0",
            "1e5",
            "\"\"",
            "\"plain\"",
            "\"esc\\n\"",
            "\"\\u00e9\"",
            "true",
            "false",
            "null",
            "[1,\"a\"]",
            "{\"k\":[true]}",
        ] {
            let parsed: Value = serde_json::from_str(text).expect("valid JSON");
            let held = JsonText::new(text).expect("valid JSON");
            assert_eq!(held.value(), parsed, "{text}");
            assert_eq!(
                JsonText::from_value(&held.value()),
                JsonText::from_value(&parsed),
                "{text}"
            );
        }
    }

    #[test]
    fn values_in_a_snapshot_nest_as_deep_as_serde_json_allows() {
        // The snapshot's own object is one of the 127 levels serde_json allows.
        for depth in [126, 127] {
            let bytes = alloc::format!("{{\"k\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
            let value = decode_snapshot::<Value>(bytes.as_bytes()).is_ok();
            assert_eq!(value, depth < 127, "Value, depth {depth}");
            let text = decode_snapshot::<JsonText>(bytes.as_bytes()).is_ok();
            assert_eq!(text, value, "JsonText, depth {depth}");
        }
    }
}
