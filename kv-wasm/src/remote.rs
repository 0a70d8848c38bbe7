//! Other contexts' commits: how they reach this context's mirror.
//!
//! IndexedDB stores announce each commit on a `BroadcastChannel` named like the database
//! (`kv:<name>`), as one array: `[clear, key, text | null, key, text | null, ...]`, where
//! `text` is the key's encoded JSON and `null` means deleted. `localStorage` stores listen to
//! the `storage` event, which the browser fires in every other page of the origin.

use js_sys::Array;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, EventTarget, MessageEvent, StorageEvent};

use crate::batch::Batch;
use crate::local::LocalPersist;

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
        channel: BroadcastChannel,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
    },
    /// A `storage` listener on the global object.
    StorageEvents {
        target: EventTarget,
        on_storage: Closure<dyn FnMut(StorageEvent)>,
    },
    /// Nothing to listen to here (memory, or a host without `BroadcastChannel`).
    Nothing,
}

impl Remote {
    /// Subscribes to the commits of other contexts on `channel_name`, handing each to `apply`.
    pub(crate) fn channel(channel_name: &str, mut apply: impl FnMut(Batch) + 'static) -> Self {
        let Ok(channel) = BroadcastChannel::new(channel_name) else {
            return Self::Nothing;
        };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(batch) = decode(&event.data()) {
                apply(batch);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Self::Channel {
            channel,
            _on_message: on_message,
        }
    }

    /// Subscribes to other pages' changes to the items of `local`, handing each to `apply`.
    pub(crate) fn storage_events(
        local: &LocalPersist,
        mut apply: impl FnMut(ItemChange) + 'static,
    ) -> Self {
        let Ok(target) = js_sys::global().dyn_into::<EventTarget>() else {
            return Self::Nothing;
        };
        let storage = local.storage().clone();
        let local = local.clone();
        let on_storage = Closure::<dyn FnMut(StorageEvent)>::new(move |event: StorageEvent| {
            if event.storage_area().as_ref() != Some(&storage) {
                return;
            }
            match event.key() {
                None => apply(ItemChange::Cleared),
                Some(item) => {
                    if let Some(key) = local.key_of(&item) {
                        apply(ItemChange::Key(key.to_owned(), event.new_value()));
                    }
                }
            }
        });
        if target
            .add_event_listener_with_callback("storage", on_storage.as_ref().unchecked_ref())
            .is_err()
        {
            return Self::Nothing;
        }
        Self::StorageEvents { target, on_storage }
    }

    /// Tells the other contexts on this channel about a commit made here.
    pub(crate) fn publish(&self, batch: &Batch) {
        if let Self::Channel { channel, .. } = self {
            let message = Array::new();
            message.push(&JsValue::from_bool(batch.clear));
            for (key, value) in &batch.changes {
                message.push(&JsValue::from_str(key));
                message.push(&match value {
                    Some(value) => JsValue::from_str(&String::from_utf8_lossy(value)),
                    None => JsValue::NULL,
                });
            }
            // A channel closed under us only means no one else hears of this commit.
            let _ = channel.post_message(&message);
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        match self {
            Self::Channel { channel, .. } => {
                channel.set_onmessage(None);
                channel.close();
            }
            Self::StorageEvents { target, on_storage } => {
                let _ = target.remove_event_listener_with_callback(
                    "storage",
                    on_storage.as_ref().unchecked_ref(),
                );
            }
            Self::Nothing => {}
        }
    }
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
