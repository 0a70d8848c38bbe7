//! The stored format: a plain JSON object `{"key": value, ...}` (see `docs/design.md`).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use smol_str::SmolStr;

use crate::error::Corrupt;
use crate::expiry::{self, Expiries};
use crate::json::InvalidJson;
use crate::persist::Replay;
use crate::sorted::Sorted;
use crate::transaction::Staged;
use crate::value::Json;

/// The store's contents in memory. Keys are `SmolStr`: typical keys (IDs, names) fit in its
/// 24 bytes without a heap allocation of their own, which keeps a store of a hundred thousand
/// seen-IDs near the size of its file.
///
/// Natively the map is [`entries::Entries`](crate::entries): positions in a hash table, entries
/// packed in a vector, about two thirds of a `HashMap`'s memory at a million keys. The browser's
/// module keeps hashbrown's `HashMap`, which it links anyway: the packed map would add 1.5 KiB
/// gzip to a package whose size is its tighter budget. Both are plain maps with the same calls;
/// the conformance suite runs on each.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::entries::Entries;
#[cfg(target_arch = "wasm32")]
pub(crate) type Entries<V> = hashbrown::HashMap<SmolStr, V>;

/// Keys that begin with this prefix (U+0000) belong to the format, not to users: a later
/// version keeps per-key metadata under them. Writing one is rejected; finding one in
/// storage means a newer version wrote it, and loading fails rather than misreading it.
pub const RESERVED_PREFIX: &str = "\u{0}";

/// The UTF-8 encoding of U+FEFF, which some editors write at the start of a file.
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Encodes one value as stored: compact JSON, object keys in ascending byte order.
pub fn encode_value(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a serde_json::Value always serializes")
}

/// Decodes one stored value; `key` names the record in the error if it does not decode.
pub fn decode_value(key: &str, bytes: &[u8]) -> Result<Value, Corrupt> {
    <Value as crate::value::sealed::Sealed>::decode(Some(key), bytes)
}

/// The snapshot member that holds every expiry: `{"key": unix ms, ...}` (`docs/design.md`).
pub(crate) const EXPIRES_MEMBER: &str = "\u{0}expires";

/// The record that tells older versions a record store holds expiring records, which they
/// cannot read: a reserved key, which they refuse as "written by a newer version".
pub(crate) const FORMAT_KEY: &str = "\u{0}format";

/// [`FORMAT_KEY`]'s value: the format version that added expiry.
pub(crate) const FORMAT_VERSION: u64 = 2;

/// What storage holds, decoded: the values, their expiries, and whether the format marker is
/// stored.
#[derive(Debug)]
pub(crate) struct Contents<V> {
    pub(crate) map: Entries<V>,
    pub(crate) expiries: Expiries,
    pub(crate) marked: bool,
}

impl<V> Default for Contents<V> {
    fn default() -> Self {
        Self {
            map: Entries::new(),
            expiries: Expiries::default(),
            marked: false,
        }
    }
}

/// Encodes `base` with `staged` applied over it (after erasing `base` if `clear`): one JSON
/// object, keys in ascending byte order, then a newline. The same map gives the same bytes.
/// If any key has an expiry, the first member is [`EXPIRES_MEMBER`], an object of each such
/// key's expiry in unix milliseconds, keys ascending.
pub(crate) fn encode_snapshot<V: Json>(
    base: &Entries<V>,
    expiries: &Expiries,
    staged: &[(SmolStr, Staged<V>)],
    clear: bool,
) -> Vec<u8> {
    let is_staged = |key: &str| {
        staged
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .is_ok()
    };
    let kept = base
        .iter()
        .filter(|(k, _)| !clear && !is_staged(k))
        .map(|(k, v)| (k.as_str(), v));
    let set = staged
        .iter()
        .filter(|(k, _)| !k.starts_with(RESERVED_PREFIX))
        .filter_map(|(k, v)| v.as_ref().map(|put| (k.as_str(), &put.value)));
    let entries = Sorted::new(base.len() + staged.len(), kept.chain(set));

    let entries = entries.as_slice();
    let mut out = V::encode_object(entries);
    let any_staged = staged
        .iter()
        .any(|(_, v)| v.as_ref().is_some_and(|put| put.expires.is_some()));
    if (!clear && !expiries.is_empty()) || any_staged {
        // Each key's expiry, looked up in key order (the entries are sorted already).
        let expiry_of = |key: &str| match staged.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => staged[i].1.as_ref().and_then(|put| put.expires),
            Err(_) if clear => None,
            Err(_) => expiries.get(key),
        };
        let mut member = String::from("{\"\\u0000expires\":{");
        let mut any = false;
        for (key, _) in entries {
            let Some(at) = expiry_of(key) else { continue };
            if any {
                member.push(',');
            }
            any = true;
            member.push_str(crate::JsonText::string(key).as_str());
            member.push(':');
            member.push_str(crate::json::Decimal::new(at).as_str());
        }
        member.push('}');
        if any {
            if out.len() > 2 {
                member.push(',');
            }
            // `out` is `{` + members + `}`: the member goes first, since U+0000 sorts first.
            out.splice(..1, member.into_bytes());
        }
    }
    out.push(b'\n');
    out
}

/// One JSON object of `entries`, in the order given, serialized in one pass.
pub(crate) fn encode_sorted(entries: &[(&str, &Value)]) -> Vec<u8> {
    serde_json::to_vec(&Object(entries)).expect("JSON values always serialize")
}

struct Object<'a>(&'a [(&'a str, &'a Value)]);

impl Serialize for Object<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Decodes a snapshot. Anything but one JSON object, or a key in the reserved namespace other
/// than the format's own, is [`Corrupt`], with the line and column where decoding stopped.
pub(crate) fn decode_snapshot<V: Json>(bytes: &[u8]) -> Result<Contents<V>, Corrupt> {
    // A UTF-8 byte order mark (Windows editors, PowerShell's `Out-File`) is read past; the next
    // write leaves it out. Positions in errors count from after it.
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(Corrupt::new(None, "empty: no JSON object (truncated?)")),
        Some(b'{') => {}
        Some(_) => return Err(Corrupt::new(None, "the top level is not a JSON object")),
    }
    let mut map: Entries<V> = V::decode_object(bytes)?;
    let marked = map.remove(FORMAT_KEY).is_some();
    let member = map.remove(EXPIRES_MEMBER);
    reject_reserved(map.keys().map(SmolStr::as_str))?;
    let mut expiries = Expiries::default();
    if let Some(member) = member {
        let text = member.encode();
        let invalid = || {
            Corrupt::new(
                Some(EXPIRES_MEMBER),
                "not an object of whole unix milliseconds up to 2^53 - 1",
            )
        };
        if text.first() != Some(&b'{') {
            return Err(invalid());
        }
        let times: Entries<V> = V::decode_object(&text)?;
        for (key, at) in times.iter() {
            let at = expiry::parse_ms(&at.encode()).ok_or_else(invalid)?;
            // An expiry for a key the file does not hold means nothing, and is dropped.
            if map.contains_key(key) {
                expiries.set(key, Some(at));
            }
        }
    }
    Ok(Contents {
        map,
        expiries,
        marked,
    })
}

/// One record as stored: its expiry and value, or for the format marker `None`.
pub(crate) fn decode_one<V: Json>(
    key: &str,
    record: &[u8],
) -> Result<Option<(V, Option<u64>)>, Corrupt> {
    if key == FORMAT_KEY {
        return Ok(None);
    }
    reject_reserved(core::iter::once(key))?;
    let (at, value) =
        expiry::decode_record(record).map_err(|reason| Corrupt::new(Some(key), &reason))?;
    Ok(Some((V::decode(Some(key), value)?, at)))
}

/// Decodes one record per key.
pub(crate) fn decode_records<V: Json>(
    records: Vec<(String, Vec<u8>)>,
) -> Result<Contents<V>, Corrupt> {
    reject_reserved(
        records
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| *k != FORMAT_KEY),
    )?;
    let mut contents = Contents::default();
    contents.map.reserve(records.len());
    for (key, bytes) in records {
        match decode_one(&key, &bytes)? {
            None => contents.marked = true,
            Some((value, at)) => {
                contents.expiries.set(&key, at);
                contents.map.insert(key.into(), value);
            }
        }
    }
    Ok(contents)
}

/// Applies journaled `changes` over `contents`, in order. A key in the reserved namespace
/// other than the format's own, or a value that does not decode, is [`Corrupt`] naming the
/// key.
pub(crate) fn replay<V: Json>(
    mut contents: Contents<V>,
    changes: Vec<Replay>,
) -> Result<Contents<V>, Corrupt> {
    // Room for every key the changes put, made once rather than by doubling as they come
    // (each doubling moves every entry); given back below if most of them were overwrites.
    // Only journals replay many changes, and only kv-native's files have journals: the
    // browser's module goes without this code.
    #[cfg(not(target_arch = "wasm32"))]
    contents.map.reserve(
        changes
            .iter()
            .filter(|change| matches!(change, Replay::Put { .. }))
            .count(),
    );
    for change in changes {
        match change {
            Replay::Clear => contents = Contents::default(),
            Replay::Put { key, value } => match decode_one(&key, &value)? {
                None => contents.marked = true,
                Some((value, at)) => {
                    contents.expiries.set(&key, at);
                    contents.map.insert(key.into(), value);
                }
            },
            Replay::Delete { key } => {
                contents.map.remove(key.as_str());
                contents.expiries.set(&key, None);
            }
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    if contents.map.capacity() > 2 * contents.map.len().max(16) {
        contents.map.shrink_to_fit();
    }
    Ok(contents)
}

pub(crate) fn reject_reserved<'a>(mut keys: impl Iterator<Item = &'a str>) -> Result<(), Corrupt> {
    match keys.find(|k| k.starts_with(RESERVED_PREFIX)) {
        Some(key) => Err(Corrupt::new(
            Some(key),
            "key is in the reserved namespace: written by a newer version of this format",
        )),
        None => Ok(()),
    }
}

impl Corrupt {
    /// Stored data that does not decode at `line` and `column` (from 1) of a text an adapter
    /// reads itself (kv-native's journal), for `reason`.
    pub fn at(line: usize, column: usize, reason: impl Into<String>) -> Self {
        Self {
            key: None,
            line,
            column,
            reason: reason.into(),
        }
    }

    pub(crate) fn new(key: Option<&str>, reason: &str) -> Self {
        Self {
            key: key.map(ToString::to_string),
            line: 0,
            column: 0,
            reason: reason.to_string(),
        }
    }

    /// Text the JSON scanner refused, at the line and column of `error.offset` in `text`.
    pub(crate) fn from_invalid(key: Option<&str>, text: &str, error: InvalidJson) -> Self {
        let before = &text.as_bytes()[..error.offset.min(text.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.len()
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
        Self {
            key: key.map(ToString::to_string),
            line,
            column: column + 1,
            // Concatenated rather than `format!`ed: no `core::fmt` in a browser's module.
            reason: if error.eof {
                [error.reason, " (truncated?)"].concat()
            } else {
                error.reason.to_string()
            },
        }
    }

    pub(crate) fn from_json(key: Option<&str>, error: &serde_json::Error) -> Self {
        let message = error.to_string();
        // serde_json appends the position to its message; it is kept in fields instead.
        let reason = match message.rsplit_once(" at line ") {
            Some((reason, _)) => reason.to_string(),
            None => message,
        };
        let reason = if error.is_eof() {
            alloc::format!("{reason} (truncated?)")
        } else {
            reason
        };
        Self {
            key: key.map(ToString::to_string),
            line: error.line(),
            column: error.column(),
            reason,
        }
    }
}
