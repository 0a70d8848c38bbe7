//! `localStorage`: one item per key, under a prefix for the store's name.
//!
//! Store `name` keeps key `k` in the item `kv:<name>:k`, where `<name>` has `%` and `:`
//! percent-encoded so that one store's prefix is never the beginning of another's (`a` and
//! `a:b`). The item holds the value's encoded JSON. Other items on the origin are never read
//! or touched.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::futures::JsFuture;
use js_sys::{Array, Function, Promise};
use kv_core::{Change, Commit, Json, Persist, Stored};
use wasm_bindgen::prelude::*;

use crate::error::BrowserError;
use crate::remote;

#[wasm_bindgen(module = "/src/browser.js")]
extern "C" {
    /// One store's items in `localStorage` (see `browser.js`).
    #[derive(Debug, Clone)]
    pub(crate) type Local;

    /// `null` where this context has no `localStorage`.
    #[wasm_bindgen(static_method_of = Local, catch)]
    fn create(prefix: &str) -> Result<Option<Local>, JsValue>;

    #[wasm_bindgen(method, catch, js_name = load)]
    fn load_all(this: &Local) -> Result<Array, JsValue>;

    #[wasm_bindgen(method, catch, js_name = write)]
    fn write_message(this: &Local, message: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = read)]
    fn read_keys(this: &Local, keys: &Array) -> Result<Array, JsValue>;

    #[wasm_bindgen(static_method_of = Local, getter)]
    fn locked() -> bool;

    #[wasm_bindgen(method, catch, js_name = atomic)]
    fn atomic_commit(this: &Local, keys: &Array, decide: &Function) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = insertRaw)]
    fn insert(this: &Local, key: &str, text: &str) -> Result<(), JsValue>;

    /// Calls `apply(key, text | null)` for other pages' changes to this store's items,
    /// `apply(null, null)` when one clears `localStorage`; returns the unsubscribe function.
    #[wasm_bindgen(method)]
    pub(crate) fn listen(this: &Local, apply: &Function) -> Function;
}

/// `localStorage` storage for one store, where the host has it (a page; not a worker or a
/// service worker).
///
/// A commit of several keys is several `setItem` calls. If one fails (the quota), the items
/// already written are put back as they were, so storage holds the state before the commit;
/// but a tab killed in the middle of a commit can leave part of it written.
#[derive(Debug, Clone)]
pub struct LocalPersist {
    js: Local,
}

impl LocalPersist {
    /// The store named `name` in this context's `localStorage`; fails where there is none.
    pub fn open(name: &str) -> Result<Self, BrowserError> {
        match Local::create(&Self::prefix(name)) {
            Ok(Some(js)) => Ok(Self { js }),
            Ok(None) => Err(BrowserError::Absent {
                message: "localStorage is not available in this context (workers and service workers have none): open the store with { backend: \"indexedDB\" }",
            }),
            Err(e) => Err(BrowserError::from_js("reaching localStorage", &e)),
        }
    }

    /// The prefix of every item of the store named `name`.
    pub fn prefix(name: &str) -> String {
        let mut prefix = String::from("kv:");
        for c in name.chars() {
            match c {
                '%' => prefix.push_str("%25"),
                ':' => prefix.push_str("%3A"),
                c => prefix.push(c),
            }
        }
        prefix.push(':');
        prefix
    }

    /// Reads every item of this store.
    pub fn load(&self) -> Result<Stored, BrowserError> {
        let loaded = self
            .js
            .load_all()
            .map_err(|e| BrowserError::from_js("reading localStorage", &e))?;
        let (keys, texts): (Array, Array) = (
            loaded.get(0).unchecked_into(),
            loaded.get(1).unchecked_into(),
        );
        let records = keys
            .iter()
            .zip(texts.iter())
            .filter_map(|(key, text)| Some((key.as_string()?, text.as_string()?.into_bytes())))
            .collect::<Vec<_>>();
        Ok(Stored::Records(records))
    }

    /// The items under `keys` now.
    pub(crate) fn read(&self, keys: &Array) -> Result<crate::idb::Records, BrowserError> {
        let read = self
            .js
            .read_keys(keys)
            .map_err(|e| BrowserError::from_js("reading localStorage", &e))?;
        crate::idb::Records::of(&read)
    }

    /// Writes `changes`, after removing every item of this store if `clear`; on failure puts
    /// back every item already changed.
    pub fn write<'c>(
        &self,
        clear: bool,
        changes: impl IntoIterator<Item = Change<'c>>,
    ) -> Result<(), BrowserError> {
        self.write_message(&remote::encode(clear, changes))
    }

    /// Writes the commit `message`, as [`remote::encode`] writes it.
    pub(crate) fn write_message(&self, message: &str) -> Result<(), BrowserError> {
        self.js
            .write_message(message)
            .map_err(|e| BrowserError::from_js("writing to localStorage", &e))
    }

    /// Whether this context has Web Locks (`navigator.locks`), which make conditional writes
    /// atomic across the origin's pages.
    pub(crate) fn has_locks() -> bool {
        Local::locked()
    }

    /// One read-decide-write under the store's Web Lock (see `Local.atomic` in `browser.js`).
    /// Resolves the commit written, parsed, or `null`.
    pub(crate) async fn atomic(&self, keys: &Array, decide: &Function) -> Result<JsValue, JsValue> {
        JsFuture::from(self.js.atomic_commit(keys, decide)?).await
    }

    /// Stores `text` under `key` as it is, bypassing the encoder: for tests that need storage
    /// holding what this version would never write.
    pub fn insert_raw(&self, key: &str, text: &str) -> Result<(), BrowserError> {
        self.js
            .insert(key, text)
            .map_err(|e| BrowserError::from_js("writing to localStorage", &e))
    }

    pub(crate) fn js(&self) -> &Local {
        &self.js
    }
}

impl Persist for LocalPersist {
    type Error = BrowserError;

    async fn load(&mut self) -> Result<Stored, BrowserError> {
        LocalPersist::load(self)
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), BrowserError> {
        self.write(commit.clears(), commit.changes())
    }
}

#[cfg(test)]
mod tests {
    use super::LocalPersist;

    #[test]
    fn one_stores_prefix_never_begins_another_stores() {
        assert_eq!(LocalPersist::prefix("seen"), "kv:seen:");
        assert_eq!(LocalPersist::prefix("a:b"), "kv:a%3Ab:");
        assert_eq!(LocalPersist::prefix("a%3Ab"), "kv:a%253Ab:");
        assert!(!LocalPersist::prefix("a:b").starts_with(&LocalPersist::prefix("a")));
    }
}
