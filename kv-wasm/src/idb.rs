//! IndexedDB: one database per store, one record per key.
//!
//! Store `name` lives in the database `kv:<name>`, in its one object store `records`: each
//! key is a record under the key itself, holding the value's encoded JSON as a string (a
//! string, not a structured clone, so that a record this store did not write is detected
//! rather than misread). A commit is one `readwrite` transaction with the store's
//! [`Durability`] (strict unless asked otherwise), and it counts as done when the transaction
//! completes, not when its requests succeed.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::futures::JsFuture;
use js_sys::{Array, Function, Object, Promise, Reflect};
use kv_core::{Change, Commit, Persist, Stored};
use wasm_bindgen::prelude::*;
use web_sys::{Event, IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransaction};

use crate::error::BrowserError;
use crate::remote;

/// The one object store in every database.
const RECORDS: &str = "records";

#[wasm_bindgen]
extern "C" {
    type Global;

    #[wasm_bindgen(method, getter, catch, js_name = indexedDB)]
    fn indexed_db(this: &Global) -> Result<JsValue, JsValue>;

    /// An `IDBDatabase`, for the `transaction` options that web-sys keeps behind its unstable
    /// APIs (durability).
    type Connection;

    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        this: &Connection,
        store: &str,
        mode: &str,
        options: &Object,
    ) -> Result<IdbTransaction, JsValue>;
}

#[wasm_bindgen(module = "/src/idb.js")]
extern "C" {
    /// Requests every change of `message` (a commit as [`remote`] announces it, as JSON text)
    /// in `tx`; the promise resolves to the parsed message once `tx` completes.
    #[wasm_bindgen(catch)]
    fn commit(tx: &IdbTransaction, message: &str) -> Result<Promise, JsValue>;
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
    database: String,
    /// The options every `readwrite` transaction is begun with: its durability.
    write_options: Object,
    /// The open connection, `None` until one is needed or after it was lost.
    connection: Rc<RefCell<Option<IdbDatabase>>>,
    /// Forgets a connection on its `versionchange` and `close` events.
    on_lost: Closure<dyn FnMut(Event)>,
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
        let write_options = Object::new();
        Reflect::set(
            &write_options,
            &"durability".into(),
            &durability.as_str().into(),
        )
        .map_err(|e| BrowserError::from_js("opening the IndexedDB database", &e))?;
        let connection = Rc::new(RefCell::new(None::<IdbDatabase>));
        let lost = Rc::clone(&connection);
        let on_lost = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let Some(db) = event
                .target()
                .and_then(|t| t.dyn_into::<IdbDatabase>().ok())
            else {
                return;
            };
            db.close();
            if let Ok(mut current) = lost.try_borrow_mut()
                && current.as_ref() == Some(&db)
            {
                *current = None;
            }
        });
        let persist = Self {
            database: database_name(name),
            write_options,
            connection,
            on_lost,
        };
        persist.connection().await?;
        Ok(persist)
    }

    /// The database that holds the store named `name`.
    pub fn database_name(name: &str) -> String {
        database_name(name)
    }

    /// Whether a connection is open now; a write or load opens one if not.
    pub fn is_connected(&self) -> bool {
        self.connection.borrow().is_some()
    }

    /// Closes the connection; the next call opens a new one.
    pub fn close(&self) {
        if let Some(db) = self.connection.borrow_mut().take() {
            forget(&db);
        }
    }

    /// Reads every record.
    pub async fn load(&self) -> Result<Stored, BrowserError> {
        let tx = self.transaction("readonly").await?;
        let records = tx
            .object_store(RECORDS)
            .map_err(|e| BrowserError::from_js("reading IndexedDB", &e))?;
        let keys = records
            .get_all_keys()
            .map_err(|e| BrowserError::from_js("reading IndexedDB", &e))?;
        let values = records
            .get_all()
            .map_err(|e| BrowserError::from_js("reading IndexedDB", &e))?;
        // Both requests are made before either is awaited: the transaction ends once it has
        // no requests left.
        let (keys, values) = (settle(&keys), settle(&values));
        let keys: Array = keys.await?.unchecked_into();
        let values: Array = values.await?.unchecked_into();
        let mut stored = Vec::with_capacity(keys.length() as usize);
        for (key, value) in keys.iter().zip(values.iter()) {
            let Some(key) = key.as_string() else {
                return Err(BrowserError::NotText {
                    key: "with a key that is not a string".into(),
                });
            };
            let Some(value) = value.as_string() else {
                return Err(BrowserError::NotText {
                    key: format!("{key:?}"),
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
        let tx = self.transaction("readwrite").await?;
        let done =
            commit(&tx, message).map_err(|e| BrowserError::from_js("writing to IndexedDB", &e))?;
        JsFuture::from(done).await.map_err(|e| {
            if e.is_null() {
                BrowserError::unavailable("IndexedDB: the transaction was aborted")
            } else {
                BrowserError::from_js("IndexedDB", &e)
            }
        })
    }

    /// Stores `value` under `key` as it is, bypassing the encoder: for tests that need
    /// storage holding what this version would never write.
    pub async fn insert_raw(&self, key: &str, value: &JsValue) -> Result<(), BrowserError> {
        let tx = self.transaction("readwrite").await?;
        let done = completion(&tx);
        tx.object_store(RECORDS)
            .and_then(|records| records.put_with_key(value, &JsValue::from_str(key)))
            .map_err(|e| BrowserError::from_js("writing to IndexedDB", &e))?;
        done.await
    }

    /// A transaction over the records, opening a connection if there is none, and once more
    /// if the browser closed the current one since it was last used.
    async fn transaction(&self, mode: &str) -> Result<IdbTransaction, BrowserError> {
        let db = self.connection().await?;
        match self.begin(&db, mode) {
            Ok(tx) => Ok(tx),
            Err(_) => {
                self.close();
                let db = self.connection().await?;
                self.begin(&db, mode)
                    .map_err(|e| BrowserError::from_js("starting an IndexedDB transaction", &e))
            }
        }
    }

    fn begin(&self, db: &IdbDatabase, mode: &str) -> Result<IdbTransaction, JsValue> {
        if mode == "readwrite" {
            db.unchecked_ref::<Connection>().transaction_with_options(
                RECORDS,
                mode,
                &self.write_options,
            )
        } else {
            db.transaction_with_str(RECORDS)
        }
    }

    async fn connection(&self) -> Result<IdbDatabase, BrowserError> {
        if let Some(db) = self.connection.borrow().as_ref() {
            return Ok(db.clone());
        }
        let db = connect(&self.database).await?;
        let lost: &Function = self.on_lost.as_ref().unchecked_ref();
        db.set_onversionchange(Some(lost));
        db.set_onclose(Some(lost));
        if let Some(old) = self.connection.borrow_mut().replace(db.clone()) {
            forget(&old);
        }
        Ok(db)
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

    async fn commit(&mut self, commit: &Commit<'_>) -> Result<(), BrowserError> {
        self.write(commit.clears(), commit.changes()).await
    }
}

fn database_name(name: &str) -> String {
    format!("kv:{name}")
}

/// Closes `db` and detaches this adapter's handlers from it.
fn forget(db: &IdbDatabase) {
    db.set_onversionchange(None);
    db.set_onclose(None);
    db.close();
}

fn factory() -> Result<IdbFactory, BrowserError> {
    let global: Global = js_sys::global().unchecked_into();
    match global.indexed_db() {
        Ok(factory) if !factory.is_undefined() && !factory.is_null() => {
            Ok(factory.unchecked_into())
        }
        Ok(_) => Err(BrowserError::unavailable(
            "IndexedDB is not available in this context",
        )),
        Err(e) => Err(BrowserError::from_js("reaching IndexedDB", &e)),
    }
}

async fn connect(database: &str) -> Result<IdbDatabase, BrowserError> {
    // Opened at whatever version it has (another program may have raised it), and upgraded
    // once more only if the object store is missing.
    let db = open_at(database, None).await?;
    if db.object_store_names().contains(RECORDS) {
        return Ok(db);
    }
    let next = db.version() as u32 + 1;
    db.close();
    open_at(database, Some(next)).await
}

async fn open_at(database: &str, version: Option<u32>) -> Result<IdbDatabase, BrowserError> {
    let fail = |e: &JsValue| BrowserError::from_js("opening the IndexedDB database", e);
    let factory = factory()?;
    let request = match version {
        Some(version) => factory.open_with_u32(database, version),
        None => factory.open(database),
    }
    .map_err(|e| fail(&e))?;
    let upgrade = Closure::<dyn FnMut(Event)>::new(|event: Event| {
        let Some(request) = event
            .target()
            .and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok())
        else {
            return;
        };
        if let Ok(db) = request.result() {
            let db: IdbDatabase = db.unchecked_into();
            if !db.object_store_names().contains(RECORDS) {
                // A failure here aborts the upgrade, and the open request reports it.
                let _ = db.create_object_store(RECORDS);
            }
        }
    });
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let opened = settle(&request).await;
    request.set_onupgradeneeded(None);
    Ok(opened?.unchecked_into())
}

/// Waits for `request` to succeed and returns its result. The handlers are attached now,
/// before anything is awaited, so no event is missed.
fn settle(request: &IdbRequest) -> impl Future<Output = Result<JsValue, BrowserError>> + use<> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let request = request.clone();
    async move {
        match JsFuture::from(promise).await {
            Ok(_) => request
                .result()
                .map_err(|e| BrowserError::from_js("IndexedDB request", &e)),
            Err(_) => Err(request_error(request.error())),
        }
    }
}

/// Waits for `tx` to complete. The handlers are attached now, before any request is made.
fn completion(tx: &IdbTransaction) -> impl Future<Output = Result<(), BrowserError>> + use<> {
    let promise = Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onerror(Some(&reject));
        tx.set_onabort(Some(&reject));
    });
    let tx = tx.clone();
    async move {
        match JsFuture::from(promise).await {
            Ok(_) => Ok(()),
            Err(_) => Err(request_error(Ok(tx.error()))),
        }
    }
}

fn request_error(error: Result<Option<web_sys::DomException>, JsValue>) -> BrowserError {
    match error {
        Ok(Some(e)) => BrowserError::from_js("IndexedDB", &e),
        Ok(None) => BrowserError::unavailable("IndexedDB: the transaction was aborted"),
        Err(e) => BrowserError::from_js("IndexedDB", &e),
    }
}
