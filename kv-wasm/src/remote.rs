//! Other contexts' commits: how they reach this context's mirror.
//!
//! IndexedDB stores announce each commit on a `BroadcastChannel` named like the database
//! (`kv:<name>`), as one array: `[clear, key, text | null, key, text | null, ...]`, where
//! `text` is the key's encoded JSON and `null` means deleted. The IndexedDB adapter writes
//! a commit from that same array, so it is encoded once, as JSON text, and crosses from wasm
//! to JS once. `localStorage` stores listen to the `storage` event, which the browser fires in
//! every other page of the origin.
//!
//! Either way, what reaches the mirror is what storage holds when this context reads it, not
//! what the announcement or event said: see [`Shared::observe`].

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;

use hashbrown::HashSet;

use js_sys::futures::spawn_local;
use js_sys::{Array, Function};
use kv_core::{Change, Error, JsonText, Stored};
use wasm_bindgen::prelude::*;

use crate::error::{BrowserError, core_error, storage_error};
use crate::events::Batch;
use crate::idb::Records;
use crate::json::report;
use crate::kv::{Backend, Shared};
use crate::local::LocalPersist;

#[wasm_bindgen(module = "/src/browser.js")]
extern "C" {
    /// A `BroadcastChannel`.
    #[derive(Debug)]
    pub(crate) type Channel;

    /// The channel `name`, handing each message's data to `receive`; `null` where the host
    /// has no `BroadcastChannel`.
    #[wasm_bindgen(catch)]
    fn channel(name: &str, receive: &Function) -> Result<Option<Channel>, JsValue>;

    #[wasm_bindgen(method, catch, js_name = postMessage)]
    fn post(this: &Channel, message: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(method)]
    fn close(this: &Channel);
}

/// What another context changed in a `localStorage` store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemChange {
    /// One key now holds this text, or (`None`) was removed.
    Key(String, Option<String>),
    /// `localStorage.clear()`: every item is gone.
    Cleared,
}

/// A subscription to other contexts' commits; dropping it unsubscribes.
#[derive(Debug)]
pub(crate) enum Remote {
    /// A `BroadcastChannel` shared with every context that opened the same IndexedDB store.
    Channel {
        channel: Channel,
        _receive: Closure<dyn FnMut(JsValue)>,
    },
    /// A `storage` listener on the global object.
    StorageEvents {
        unsubscribe: Function,
        _on_storage: Closure<dyn FnMut(Option<String>, Option<String>)>,
    },
    /// Nothing to listen to here (memory, or a host without `BroadcastChannel`).
    Nothing,
}

impl Remote {
    /// Subscribes to the commits of other contexts on `channel_name`, handing each to `apply`.
    pub(crate) fn channel(channel_name: &str, mut apply: impl FnMut(Batch) + 'static) -> Self {
        let receive = Closure::<dyn FnMut(JsValue)>::new(move |data: JsValue| {
            if let Some(batch) = decode(&data) {
                apply(batch);
            }
        });
        match channel(channel_name, receive.as_ref().unchecked_ref()) {
            Ok(Some(channel)) => Self::Channel {
                channel,
                _receive: receive,
            },
            Ok(None) | Err(_) => Self::Nothing,
        }
    }

    /// Subscribes to other pages' changes to the items of `local`, handing each to `apply`.
    pub(crate) fn storage_events(
        local: &LocalPersist,
        mut apply: impl FnMut(ItemChange) + 'static,
    ) -> Self {
        let on_storage = Closure::<dyn FnMut(Option<String>, Option<String>)>::new(
            move |key: Option<String>, text: Option<String>| match key {
                None => apply(ItemChange::Cleared),
                Some(key) => apply(ItemChange::Key(key, text)),
            },
        );
        let unsubscribe = local.js().listen(on_storage.as_ref().unchecked_ref());
        Self::StorageEvents {
            unsubscribe,
            _on_storage: on_storage,
        }
    }

    /// Whether other contexts' commits are announced here.
    pub(crate) fn hears(&self) -> bool {
        !matches!(self, Self::Nothing)
    }

    /// Tells the other contexts on this channel about a commit made here: `message` as
    /// [`encode`] wrote it, parsed.
    pub(crate) fn publish(&self, message: &JsValue) {
        if let Self::Channel { channel, .. } = self {
            // A channel closed under us only means no one else hears of this commit.
            let _ = channel.post(message);
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        match self {
            Self::Channel { channel, .. } => channel.close(),
            Self::StorageEvents { unsubscribe, .. } => {
                let _ = unsubscribe.call0(&JsValue::UNDEFINED);
            }
            Self::Nothing => {}
        }
    }
}

/// What other contexts announced they changed, to be read from storage again.
#[derive(Debug, Default)]
pub(crate) struct Stale {
    pub(crate) clear: bool,
    pub(crate) keys: HashSet<String>,
    /// Each key with the record an announcement gave it (`None`: deleted), oldest first.
    records: Vec<(String, Option<Vec<u8>>)>,
}

impl Stale {
    fn add(&mut self, batch: Batch) {
        self.clear |= batch.clear;
        for (key, record) in batch.changes {
            self.keys.insert(key.clone());
            self.records.push((key, record));
        }
    }

    /// Whether an announcement gave `key` the record `record`.
    pub(crate) fn announced(&self, key: &str, record: Option<&[u8]>) -> bool {
        self.records
            .iter()
            .any(|(k, r)| k == key && r.as_deref() == record)
    }
}

impl Shared {
    /// After the browser closed the IndexedDB connection (a version change, a deleted
    /// database), or a re-read of announced keys failed, reads storage again before the next
    /// write, since commits made meanwhile may not all have been followed; listeners hear of
    /// any difference as a remote change.
    pub(crate) async fn resync(&self) -> Result<(), JsValue> {
        let Backend::IndexedDb(idb) = &self.backend else {
            return Ok(());
        };
        if idb.is_connected() && !self.reload.get() {
            return Ok(());
        }
        self.replace_all(idb.load().await.map_err(|e| storage_error(&e))?, false)?;
        self.reload.set(false);
        Ok(())
    }

    /// Replaces the mirror with everything storage holds; listeners hear of any difference,
    /// or (`announced`: another context announced a clear) of the whole store even if the
    /// mirror held it already (see [`Shared::refresh`]).
    fn replace_all(&self, stored: Stored, announced: bool) -> Result<(), JsValue> {
        let batch = {
            let mut mirror = self.mirror_mut()?;
            let before = mirror.snapshot();
            mirror
                .replace_all(stored)
                .map_err(|e| core_error::<BrowserError>(&Error::Corrupt(e), |_| JsValue::NULL))?;
            (announced || mirror.snapshot() != before).then(|| Batch::replacing(&mirror))
        };
        if let Some(batch) = batch {
            // Everything is told anew: no earlier report waits for its announcement.
            self.expected.borrow_mut().clear();
            self.notify("remote", &batch);
        }
        Ok(())
    }

    /// Another context announced a commit: the keys it wrote are read from storage again
    /// (in this context's write order), since announcements of two contexts' commits can
    /// arrive in another order than the commits were made, and a mirror that applied them as
    /// they came would keep a value storage no longer holds. Before the mirror is loaded the
    /// re-read waits for the load, which may or may not have read the commit: either way the
    /// listeners hear of it once (see [`Shared::refresh`]).
    pub(crate) fn observe(self: &Rc<Self>, batch: Batch) {
        let mut stale = self.stale.borrow_mut();
        let queued = stale.is_some();
        stale.get_or_insert_with(Stale::default).add(batch);
        drop(stale);
        if queued {
            return;
        }
        let me = Rc::clone(self);
        spawn_local(async move {
            let _turn = me.queue.turn().await;
            let Some(stale) = me.stale.borrow_mut().take() else {
                return;
            };
            if let Err(e) = me.reread(stale).await {
                // Closed: nothing to mirror into. Anything else the page should hear about,
                // and the whole store is read again before the next write.
                if me.mirror.borrow().is_some() {
                    me.reload.set(true);
                    report(&e);
                }
            }
        });
    }

    async fn reread(&self, stale: Stale) -> Result<(), JsValue> {
        let Backend::IndexedDb(idb) = &self.backend else {
            return Ok(());
        };
        self.mirror()?;
        if stale.clear {
            return self.replace_all(idb.load().await.map_err(|e| storage_error(&e))?, true);
        }
        let keys: Array = stale.keys.iter().map(|k| JsValue::from_str(k)).collect();
        let records = idb.read(&keys).await.map_err(|e| storage_error(&e))?;
        self.refresh(&records, Some(&stale)).map(drop)
    }

    /// Mirrors another page's change to a `localStorage` item (its text as storage holds it
    /// now). Before the load it waits for the load, which reads the item (see
    /// [`Shared::settle_early`]).
    pub(crate) fn observe_item(&self, change: ItemChange) {
        if !self.is_loaded() {
            let batch = match change {
                ItemChange::Key(key, text) => Batch {
                    clear: false,
                    changes: alloc::vec![(key, text.map(String::into_bytes))],
                },
                ItemChange::Cleared => Batch {
                    clear: true,
                    changes: Vec::new(),
                },
            };
            self.early
                .borrow_mut()
                .get_or_insert_with(Stale::default)
                .add(batch);
            return;
        }
        let result = match change {
            ItemChange::Key(key, text) => {
                let mut announced = Stale::default();
                announced.add(Batch {
                    clear: false,
                    changes: alloc::vec![(key.clone(), text.clone().map(String::into_bytes))],
                });
                self.refresh(&Records(alloc::vec![(key, text)]), Some(&announced))
                    .map(drop)
            }
            ItemChange::Cleared => match &self.backend {
                Backend::LocalStorage(local) => local
                    .load()
                    .map_err(|e| storage_error(&e))
                    .and_then(|stored| self.replace_all(stored, true)),
                _ => Ok(()),
            },
        };
        if let Err(e) = result
            && self.mirror.borrow().is_some()
        {
            report(&e);
        }
    }

    /// Once the load is done: the `localStorage` changes of other pages that arrived before
    /// it, read again and told as [`Shared::refresh`] tells them.
    pub(crate) fn settle_early(&self) -> Result<(), JsValue> {
        let Some(early) = self.early.borrow_mut().take() else {
            return Ok(());
        };
        let Backend::LocalStorage(local) = &self.backend else {
            return Ok(());
        };
        if early.clear {
            return self.replace_all(local.load().map_err(|e| storage_error(&e))?, true);
        }
        let keys: Array = early.keys.iter().map(|k| JsValue::from_str(k)).collect();
        let records = local.read(&keys).map_err(|e| storage_error(&e))?;
        self.refresh(&records, Some(&early)).map(drop)
    }
}

/// The channel message for a commit, as JSON text: `[clear, key, text | null, ...]`.
pub(crate) fn encode<'c>(clear: bool, changes: impl IntoIterator<Item = Change<'c>>) -> String {
    let mut message = String::from(if clear { "[true" } else { "[false" });
    for change in changes {
        message.push(',');
        push_string(&mut message, change.key());
        message.push(',');
        match change {
            Change::Put { value, .. } => push_string(&mut message, crate::json::utf8(value)),
            Change::Delete { .. } => message.push_str("null"),
        }
    }
    message.push(']');
    message
}

/// Appends `text` as a JSON string.
fn push_string(out: &mut String, text: &str) {
    out.push_str(JsonText::string(text).as_str());
}

/// The batch a channel message carries, or `None` if the message is not one.
fn decode(data: &JsValue) -> Option<Batch> {
    let message = data.dyn_ref::<Array>()?;
    let clear = message.get(0).as_bool()?;
    let length = message.length();
    if length % 2 != 1 {
        return None;
    }
    let mut changes = Vec::with_capacity((length / 2) as usize);
    for i in (1..length).step_by(2) {
        let key = message.get(i).as_string()?;
        let value = message.get(i + 1);
        let value = if value.is_null() {
            None
        } else {
            Some(value.as_string()?.into_bytes())
        };
        changes.push((key, value));
    }
    Some(Batch { clear, changes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_is_announced_as_clear_then_key_text_pairs() {
        let changes = [
            Change::Put {
                key: "a\"b",
                value: br#"{"n":"x\ny"}"#,
            },
            Change::Delete { key: "gone" },
        ];
        let message: serde_json::Value = serde_json::from_str(&encode(true, changes))
            .unwrap_or_else(|e| panic!("not JSON: {e}"));
        assert_eq!(
            message,
            serde_json::json!([true, "a\"b", r#"{"n":"x\ny"}"#, "gone", null])
        );
        assert_eq!(encode(false, []), "[false]");
    }
}
