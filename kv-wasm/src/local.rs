//! `localStorage`: one item per key, under a prefix for the store's name.
//!
//! Store `name` keeps key `k` in the item `kv:<name>:k`, where `<name>` has `%` and `:`
//! percent-encoded so that one store's prefix is never the beginning of another's (`a` and
//! `a:b`). The item holds the value's encoded JSON. Other items on the origin are never read
//! or touched.

use kv_core::{Change, Commit, Persist, Stored};
use wasm_bindgen::prelude::*;
use web_sys::Storage;

use crate::error::BrowserError;

#[wasm_bindgen]
extern "C" {
    type Global;

    #[wasm_bindgen(method, getter, catch, js_name = localStorage)]
    fn local_storage(this: &Global) -> Result<JsValue, JsValue>;
}

/// `localStorage` storage for one store, where the host has it (a page; not a worker or a
/// service worker).
///
/// A commit of several keys is several `setItem` calls. If one fails (the quota), the items
/// already written are put back as they were, so storage holds the state before the commit;
/// but a tab killed in the middle of a commit can leave part of it written.
#[derive(Debug, Clone)]
pub struct LocalPersist {
    storage: Storage,
    prefix: String,
}

impl LocalPersist {
    /// The store named `name` in this context's `localStorage`; fails where there is none.
    pub fn open(name: &str) -> Result<Self, BrowserError> {
        let global: Global = js_sys::global().unchecked_into();
        let storage = global
            .local_storage()
            .map_err(|e| BrowserError::from_js("reaching localStorage", &e))?;
        if storage.is_undefined() || storage.is_null() {
            return Err(BrowserError::unavailable(
                "localStorage is not available in this context (workers and service workers have none); open the store with { backend: \"indexedDB\" }",
            ));
        }
        Ok(Self {
            storage: storage.unchecked_into(),
            prefix: Self::prefix(name),
        })
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

    /// The `Storage` this store's items live in.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The store key an item holds, if the item is this store's.
    pub fn key_of<'i>(&self, item: &'i str) -> Option<&'i str> {
        item.strip_prefix(self.prefix.as_str())
    }

    /// Reads every item of this store.
    pub fn load(&self) -> Result<Stored, BrowserError> {
        let fail = |e: JsValue| BrowserError::from_js("reading localStorage", &e);
        let mut records = Vec::new();
        for item in self.items().map_err(fail)? {
            if let Some(text) = self.storage.get_item(&item).map_err(fail)?
                && let Some(key) = self.key_of(&item)
            {
                records.push((key.to_owned(), text.into_bytes()));
            }
        }
        Ok(Stored::Records(records))
    }

    /// Writes `changes`, after removing every item of this store if `clear`; on failure puts
    /// back every item already changed.
    pub fn write<'c>(
        &self,
        clear: bool,
        changes: impl IntoIterator<Item = Change<'c>>,
    ) -> Result<(), BrowserError> {
        let mut undo = Vec::new();
        let result = self.apply(clear, changes, &mut undo);
        if let Err(e) = result {
            for (item, old) in undo.into_iter().rev() {
                // Best effort: each restores what was there a moment ago, in space the
                // failed commit freed.
                let _ = match old {
                    Some(old) => self.storage.set_item(&item, &old),
                    None => self.storage.remove_item(&item),
                };
            }
            return Err(BrowserError::from_js("writing to localStorage", &e));
        }
        Ok(())
    }

    /// Stores `text` under `key` as it is, bypassing the encoder: for tests that need storage
    /// holding what this version would never write.
    pub fn insert_raw(&self, key: &str, text: &str) -> Result<(), BrowserError> {
        self.storage
            .set_item(&self.item(key), text)
            .map_err(|e| BrowserError::from_js("writing to localStorage", &e))
    }

    /// Makes the changes, recording in `undo` each item's previous text as it changes it.
    fn apply<'c>(
        &self,
        clear: bool,
        changes: impl IntoIterator<Item = Change<'c>>,
        undo: &mut Vec<(String, Option<String>)>,
    ) -> Result<(), JsValue> {
        if clear {
            for item in self.items()? {
                let old = self.storage.get_item(&item)?;
                self.storage.remove_item(&item)?;
                undo.push((item, old));
            }
        }
        for change in changes {
            let item = self.item(change.key());
            let old = self.storage.get_item(&item)?;
            match change {
                Change::Put { value, .. } => {
                    // The core encodes to UTF-8 JSON, so this never replaces anything.
                    self.storage
                        .set_item(&item, &String::from_utf8_lossy(value))?;
                }
                Change::Delete { .. } => self.storage.remove_item(&item)?,
            }
            undo.push((item, old));
        }
        Ok(())
    }

    fn item(&self, key: &str) -> String {
        let mut item = String::with_capacity(self.prefix.len() + key.len());
        item.push_str(&self.prefix);
        item.push_str(key);
        item
    }

    /// The names of every item of this store, collected before any is changed.
    fn items(&self) -> Result<Vec<String>, JsValue> {
        let mut items = Vec::new();
        for i in 0..self.storage.length()? {
            if let Some(item) = self.storage.key(i)?
                && item.starts_with(self.prefix.as_str())
            {
                items.push(item);
            }
        }
        Ok(items)
    }
}

impl Persist for LocalPersist {
    type Error = BrowserError;

    async fn load(&mut self) -> Result<Stored, BrowserError> {
        LocalPersist::load(self)
    }

    async fn commit(&mut self, commit: &Commit<'_>) -> Result<(), BrowserError> {
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
