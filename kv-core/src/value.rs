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
        serde_json::from_slice(bytes).map_err(|e| Corrupt::from_json(None, &e))
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
        let text = utf8(None, bytes)?;
        let fail = |e| Corrupt::from_invalid(None, text, e);
        let mut scanner = Scanner::new(text);
        let mut map = Entries::new();
        scanner.whitespace();
        scanner.open_object().map_err(fail)?;
        if !scanner.eat(b'}') {
            loop {
                let mut key = String::new();
                scanner.key(Some(&mut key)).map_err(fail)?;
                // A member of the snapshot's object: the store's own bound.
                let value = scanner.value(Limits::MAX_NESTING as u32).map_err(fail)?;
                map.insert(SmolStr::from(key), Self::checked(value));
                if !scanner.next_member().map_err(fail)? {
                    break;
                }
            }
        }
        scanner.end().map_err(fail)?;
        Ok(map)
    }
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
    use super::*;
    use crate::codec::decode_snapshot;

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
