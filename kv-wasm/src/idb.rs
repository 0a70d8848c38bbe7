//! IndexedDB: one database per store, one record per key.
//!
//! Store `name` lives in the database `kv:<name>`, in its one object store `records`: each
//! key is a record under the key itself, holding the value's encoded JSON as a string (a
//! string, not a structured clone, so that a record this store did not write is detected
//! rather than misread). A commit is one `readwrite` transaction with the store's
//! [`Durability`] (strict unless asked otherwise), and it counts as done when the transaction
//! completes, not when its requests succeed.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::futures::JsFuture;
use js_sys::{Array, Function, Promise};
use kv_core::{Change, Commit, Json, JsonText, Persist, Stored};
use wasm_bindgen::prelude::*;

use crate::error::BrowserError;
use crate::remote;

#[wasm_bindgen(module = "/src/browser.js")]
extern "C" {
    /// One store's database, its connection and its transactions (see `browser.js`).
    #[derive(Debug)]
    type Idb;

    /// `null` where this context has no IndexedDB.
    #[wasm_bindgen(static_method_of = Idb, catch)]
    fn create(database: &str, durability: &str) -> Result<Option<Idb>, JsValue>;

    #[wasm_bindgen(method, getter)]
    fn connected(this: &Idb) -> bool;

    #[wasm_bindgen(method)]
    fn connect(this: &Idb) -> Promise;

    #[wasm_bindgen(method, js_name = close)]
    fn disconnect(this: &Idb);

    #[wasm_bindgen(method, js_name = load)]
    fn load_all(this: &Idb) -> Promise;

    #[wasm_bindgen(method, js_name = commit)]
    fn commit_message(this: &Idb, message: &str) -> Promise;

    #[wasm_bindgen(method, js_name = read)]
    fn read_keys(this: &Idb, keys: &Array) -> Promise;

    #[wasm_bindgen(method, js_name = atomic)]
    fn atomic_commit(this: &Idb, keys: &Array, decide: &Function) -> Promise;

    #[wasm_bindgen(method, js_name = insertRaw)]
    fn insert(this: &Idb, key: &str, value: &JsValue) -> Promise;
}

/// When a write to IndexedDB counts as done: the `durability` of its transaction.
///
/// Every level keeps a write that completed across a closed tab or a browser restart, and
/// none of them leaves part of a transaction written. They differ only when the operating
/// system itself stops (a power loss, a kernel crash) in the moments after a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `"strict"`: done once the browser has flushed the commit to the disk, so it survives
    /// a power loss. The default: a resolved write is on disk.
    #[default]
    Strict,
    /// `"relaxed"`: done once the browser has handed the commit to the operating system, not
    /// waiting for the disk; a power loss or OS crash shortly after can lose the latest
    /// writes (never half of one).
    Relaxed,
    /// `"default"`: whatever the browser does when not asked (Chromium: relaxed).
    Default,
}

impl Durability {
    /// The name IndexedDB gives this level.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Relaxed => "relaxed",
            Self::Default => "default",
        }
    }
}

/// IndexedDB storage for one store, in any context that has IndexedDB: a page, a worker, an
/// extension's service worker.
///
/// The connection is opened lazily and again after the browser closes it, or after another
/// context asks for a version change (which this connection then makes way for).
#[derive(Debug)]
pub struct IdbPersist {
    js: Idb,
    durability: Durability,
}

impl IdbPersist {
    /// Opens (creating if need be) the database of the store named `name`, writing with
    /// strict durability.
    pub async fn open(name: &str) -> Result<Self, BrowserError> {
        Self::open_with_durability(name, Durability::Strict).await
    }

    /// Opens (creating if need be) the database of the store named `name`, writing with
    /// `durability`.
    pub async fn open_with_durability(
        name: &str,
        durability: Durability,
    ) -> Result<Self, BrowserError> {
        let created = Idb::create(&database_name(name), durability.as_str())
            .map_err(|e| BrowserError::from_js("reaching IndexedDB", &e))?;
        let Some(js) = created else {
            return Err(BrowserError::Absent {
                message: "IndexedDB is not available in this context (Node.js has none): open the store with { backend: \"memory\" }, or { backend: \"localStorage\" } in a page",
            });
        };
        let persist = Self { js, durability };
        JsFuture::from(persist.js.connect())
            .await
            .map_err(|e| BrowserError::from_js("opening the IndexedDB database", &e))?;
        Ok(persist)
    }

    /// The database that holds the store named `name`.
    pub fn database_name(name: &str) -> String {
        database_name(name)
    }

    /// When a write counts as done.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Whether a connection is open now; a write or load opens one if not.
    pub fn is_connected(&self) -> bool {
        self.js.connected()
    }

    /// Closes the connection; the next call opens a new one.
    pub fn close(&self) {
        self.js.disconnect();
    }

    /// Reads every record.
    pub async fn load(&self) -> Result<Stored, BrowserError> {
        let loaded = JsFuture::from(self.js.load_all())
            .await
            .map_err(|e| BrowserError::from_js("reading IndexedDB", &e))?;
        let loaded: Array = loaded.unchecked_into();
        let (keys, values): (Array, Array) = (
            loaded.get(0).unchecked_into(),
            loaded.get(1).unchecked_into(),
        );
        let mut stored = Vec::with_capacity(keys.length() as usize);
        for (key, value) in keys.iter().zip(values.iter()) {
            let Some(key) = key.as_string() else {
                return Err(BrowserError::NotText {
                    key: "with a key that is not a string".into(),
                });
            };
            let Some(value) = value.as_string() else {
                return Err(BrowserError::NotText {
                    key: String::from(JsonText::string(&key).as_str()),
                });
            };
            stored.push((key, value.into_bytes()));
        }
        Ok(Stored::Records(stored))
    }

    /// Writes `changes` in one transaction, after erasing every record if `clear`; done
    /// when the transaction completes, and then as durable as the store's [`Durability`].
    pub async fn write<'c>(
        &self,
        clear: bool,
        changes: impl IntoIterator<Item = Change<'c>>,
    ) -> Result<(), BrowserError> {
        self.write_announced(&remote::encode(clear, changes))
            .await
            .map(drop)
    }

    /// Writes the commit `message` (as [`remote::encode`] writes it) in one transaction;
    /// resolves that message as a JS array, ready to announce to other contexts.
    pub(crate) async fn write_announced(&self, message: &str) -> Result<JsValue, BrowserError> {
        JsFuture::from(self.js.commit_message(message))
            .await
            .map_err(|e| transaction_error("writing to IndexedDB", &e))
    }

    /// Reads the records under `keys` (`None`: missing) in one transaction, so after every
    /// commit that completed before the call.
    pub(crate) async fn read(&self, keys: &Array) -> Result<Records, BrowserError> {
        let read = JsFuture::from(self.js.read_keys(keys))
            .await
            .map_err(|e| BrowserError::from_js("reading IndexedDB", &e))?;
        Records::of(&read.unchecked_into())
    }

    /// One read-decide-write in one `readwrite` transaction (see `Idb.atomic` in
    /// `browser.js`): reads `keys`, hands them to `decide`, writes the commit it returns.
    /// Resolves the commit written, parsed, or `null`.
    pub(crate) async fn atomic(&self, keys: &Array, decide: &Function) -> Result<JsValue, JsValue> {
        JsFuture::from(self.js.atomic_commit(keys, decide)).await
    }

    /// Stores `value` under `key` as it is, bypassing the encoder: for tests that need
    /// storage holding what this version would never write.
    pub async fn insert_raw(&self, key: &str, value: &JsValue) -> Result<(), BrowserError> {
        JsFuture::from(self.js.insert(key, value))
            .await
            .map(drop)
            .map_err(|e| transaction_error("writing to IndexedDB", &e))
    }
}

impl Drop for IdbPersist {
    fn drop(&mut self) {
        self.close();
    }
}

impl Persist for IdbPersist {
    type Error = BrowserError;

    async fn load(&mut self) -> Result<Stored, BrowserError> {
        IdbPersist::load(self).await
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), BrowserError> {
        self.write(commit.clears(), commit.changes()).await
    }
}

/// Records read under a list of keys: `(key, text)`, `None` where a key has none.
#[derive(Debug, Default)]
pub(crate) struct Records(pub(crate) Vec<(String, Option<String>)>);

impl Records {
    /// The records in `[keys, texts]` as `browser.js` hands them over; a record that is not
    /// a string was not written by this store.
    pub(crate) fn of(read: &Array) -> Result<Self, BrowserError> {
        let (keys, texts): (Array, Array) =
            (read.get(0).unchecked_into(), read.get(1).unchecked_into());
        let mut records = Vec::with_capacity(keys.length() as usize);
        for (key, text) in keys.iter().zip(texts.iter()) {
            let Some(key) = key.as_string() else {
                return Err(BrowserError::NotText {
                    key: "with a key that is not a string".into(),
                });
            };
            let text = if text.is_null() {
                None
            } else {
                let Some(text) = text.as_string() else {
                    return Err(BrowserError::NotText {
                        key: String::from(JsonText::string(&key).as_str()),
                    });
                };
                Some(text)
            };
            records.push((key, text));
        }
        Ok(Self(records))
    }
}

fn database_name(name: &str) -> String {
    let mut database = String::from("kv:");
    database.push_str(name);
    database
}

/// A transaction's failure: its error, or `null` if it was aborted without one.
pub(crate) fn transaction_error(what: &str, error: &JsValue) -> BrowserError {
    if error.is_null() {
        BrowserError::unavailable("IndexedDB: the transaction was aborted")
    } else {
        BrowserError::from_js(what, error)
    }
}
