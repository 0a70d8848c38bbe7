//! Change events: what `onChange` listeners receive, for this context's writes and other
//! contexts'.

use alloc::string::String;
use alloc::vec::Vec;

use alloc::borrow::ToOwned;
use js_sys::Function;
use kv_core::{Change, Json, JsonText, Prepared, RESERVED_PREFIX, decode_record};
use wasm_bindgen::prelude::*;

use crate::json::{from_text, report, utf8};
use crate::kv::{Mirror, Shared};

/// Everything one write changes, owned: what listeners hear of, as `onChange` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    /// Whether every stored key is erased before `changes` apply.
    pub(crate) clear: bool,
    /// Each changed key with its encoded value (`None`: deleted), in ascending key order.
    pub(crate) changes: Vec<(String, Option<Vec<u8>>)>,
}

impl Batch {
    /// The owned form of `prepared`'s changes: each key's value without its expiry, and no
    /// reserved key (the format marker is nobody's data). Expired keys the write removed are
    /// deletes.
    pub(crate) fn of(prepared: &Prepared<impl Json>) -> Self {
        let changes = prepared
            .changes()
            .filter(|change| !change.key().starts_with(RESERVED_PREFIX))
            .map(|change| match change {
                Change::Put { key, value } => {
                    let value = decode_record(value).map_or(value, |(_, value)| value);
                    (key.to_owned(), Some(value.to_vec()))
                }
                Change::Delete { key } => (key.to_owned(), None),
            })
            .collect();
        Self {
            clear: prepared.clears(),
            changes,
        }
    }

    /// A batch that replaces everything with what `mirror` holds (every key that exists):
    /// how listeners hear that a mirror caught up after losing track of other contexts'
    /// commits.
    pub(crate) fn replacing(mirror: &Mirror) -> Self {
        let changes = mirror
            .sorted_keys()
            .filter_map(|key| {
                let value = mirror.get(key)?;
                Some((key.to_owned(), Some(value.as_str().as_bytes().to_vec())))
            })
            .collect();
        Self {
            clear: true,
            changes,
        }
    }
}

impl Shared {
    /// Tells every listener of `batch`, made here (`origin` "local") or elsewhere ("remote").
    pub(crate) fn notify(&self, origin: &str, batch: &Batch) {
        let listeners: Vec<Function> = self
            .listeners
            .borrow()
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        if listeners.is_empty() {
            return;
        }
        let event = change_event(origin, batch);
        for listener in listeners {
            // Each listener gets its own copy, and one that throws does not stop the others.
            if let Err(e) = listener.call1(&JsValue::UNDEFINED, &from_text(&event)) {
                report(&e);
            }
        }
    }
}

/// The JSON text of the event `onChange` listeners receive for `batch`.
fn change_event(origin: &str, batch: &Batch) -> String {
    let mut json = crate::error::concat(&[
        "{\"origin\":\"",
        origin,
        "\",\"clear\":",
        if batch.clear { "true" } else { "false" },
        ",\"changes\":[",
    ]);
    for (i, (key, value)) in batch.changes.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str("{\"key\":");
        json.push_str(JsonText::string(key).as_str());
        match value {
            Some(value) => {
                json.push_str(",\"value\":");
                json.push_str(utf8(value));
                json.push_str(",\"deleted\":false}");
            }
            None => json.push_str(",\"deleted\":true}"),
        }
    }
    json.push_str("]}");
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_event_is_json_listing_every_change() {
        let batch = Batch {
            clear: true,
            changes: alloc::vec![
                ("a\"b".into(), Some(br#"{"n":1}"#.to_vec())),
                ("gone".into(), None),
            ],
        };
        let event: serde_json::Value = serde_json::from_str(&change_event("remote", &batch))
            .unwrap_or_else(|e| panic!("not JSON: {e}"));
        assert_eq!(
            event,
            serde_json::json!({
                "origin": "remote",
                "clear": true,
                "changes": [
                    {"key": "a\"b", "value": {"n": 1}, "deleted": false},
                    {"key": "gone", "deleted": true},
                ],
            })
        );
    }
}
