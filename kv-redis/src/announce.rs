//! The announcement a commit publishes on its store's channel, so that every other open copy
//! follows it: `[seq, clear, key₁, text₁ | null, ...]`, one JSON array, each value's JSON text
//! as a string (`null` for a deleted key), as the browser adapter announces IndexedDB commits.

use kv_core::Change;
use serde_json::Value;

/// The announcement of a commit, without its sequence number: the commit script writes
/// `[` and the number it gives the commit before this.
pub(crate) fn tail<'c>(clear: bool, changes: impl Iterator<Item = Change<'c>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(if clear { b",true" } else { b",false" });
    for change in changes {
        out.push(b',');
        push_string(&mut out, change.key());
        out.push(b',');
        match change {
            // The core's encoding is UTF-8 JSON; a lossy conversion cannot happen.
            Change::Put { value, .. } => push_string(&mut out, &String::from_utf8_lossy(value)),
            Change::Delete { .. } => out.extend_from_slice(b"null"),
        }
    }
    out.push(b']');
    out
}

fn push_string(out: &mut Vec<u8>, text: &str) {
    // Writing a string to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// A commit another handle (or this one) made, read from the channel.
#[derive(Debug, PartialEq)]
pub(crate) struct Announcement {
    pub(crate) seq: u64,
    pub(crate) clear: bool,
    /// Each key with its new JSON text, `None` if it was deleted.
    pub(crate) changes: Vec<(String, Option<String>)>,
}

impl Announcement {
    /// Reads an announcement; `None` if the payload is not one (someone else published on
    /// the channel), which the listener answers by reading the whole store again.
    pub(crate) fn parse(payload: &[u8]) -> Option<Self> {
        let Ok(Value::Array(items)) = serde_json::from_slice(payload) else {
            return None;
        };
        let mut items = items.into_iter();
        let seq = items.next()?.as_u64()?;
        let clear = items.next()?.as_bool()?;
        let mut changes = Vec::with_capacity(items.len() / 2);
        while let Some(key) = items.next() {
            let Value::String(key) = key else { return None };
            let value = match items.next()? {
                Value::String(text) => Some(text),
                Value::Null => None,
                _ => return None,
            };
            changes.push((key, value));
        }
        Some(Self {
            seq,
            clear,
            changes,
        })
    }

    /// The changes, as the core takes them.
    pub(crate) fn core_changes(&self) -> impl Iterator<Item = Change<'_>> {
        self.changes.iter().map(|(key, value)| match value {
            Some(text) => Change::Put {
                key,
                value: text.as_bytes(),
            },
            None => Change::Delete { key },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_announcement_reads_back_as_it_was_written() {
        let changes = [
            Change::Put {
                key: "seen:\"1\"",
                value: b"{\"a\":\"\\u0000\"}",
            },
            Change::Delete { key: "gone" },
            Change::Put {
                key: "n",
                value: b"null",
            },
        ];
        let mut payload = b"[42".to_vec();
        payload.extend(tail(true, changes.into_iter()));
        let announcement = Announcement::parse(&payload).unwrap();
        assert_eq!(announcement.seq, 42);
        assert!(announcement.clear);
        assert_eq!(announcement.core_changes().collect::<Vec<_>>(), changes);
        assert_eq!(Announcement::parse(b"hello"), None);
        assert_eq!(Announcement::parse(b"[1,false,\"k\"]"), None);
    }
}
