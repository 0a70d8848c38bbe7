//! `Kv`, the class JS sees: promise methods over an in-memory mirror of one store.

use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::{Cell, Ref, RefCell, RefMut};
use core::future::Future;
use core::pin::Pin;

use js_sys::futures::{JsFuture, future_to_promise, spawn_local};
use js_sys::{Array, Function, Promise};
use kv_core::{Error, JsonText, Store, Stored, Transaction};
use wasm_bindgen::prelude::*;

use crate::args::{entries_of, key_of, keys_of, optional_value};
use crate::error::{BrowserError, ErrorName, core_error, js_error, storage_error, type_error};
use crate::idb::{Durability, IdbPersist, Records};
use crate::json::{from_text, to_js, utf8};
use crate::local::LocalPersist;
use crate::options::{Kind, Options, parse_options};
use crate::queue::WriteQueue;
use crate::remote::{Remote, Stale};
use crate::write::{Op, OpError};

/// The mirror: the core's store with no storage of its own (this module does the I/O), so
/// that reads never wait for storage.
pub(crate) type Mirror = Store<(), fn() -> u64, JsonText>;

/// The promise of `future`. Every method's future is boxed into this one type, so the
/// promise machinery is compiled once rather than once per method (a few KB each).
fn promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let future: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    future_to_promise(future)
}

/// `Date.now()` in whole unix seconds: the time a write without a value stores.
fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

#[derive(Debug)]
pub(crate) enum Backend {
    IndexedDb(IdbPersist),
    LocalStorage(LocalPersist),
    Memory,
}

impl Backend {
    /// Reaches the storage (an IndexedDB connection); reads nothing yet.
    async fn open(kind: Kind, name: &str, durability: Durability) -> Result<Self, BrowserError> {
        Ok(match kind {
            Kind::IndexedDb => {
                Self::IndexedDb(IdbPersist::open_with_durability(name, durability).await?)
            }
            Kind::LocalStorage => {
                let local = LocalPersist::open(name)?;
                if !LocalPersist::has_locks() {
                    return Err(BrowserError::unavailable(
                        "localStorage stores need Web Locks (navigator.locks, in every current browser's secure contexts) to make setIfAbsent, update and delete atomic across tabs, and this context has none: serve the page over https or from localhost, or use { backend: \"indexedDB\" }",
                    ));
                }
                Self::LocalStorage(local)
            }
            Kind::Memory => Self::Memory,
        })
    }

    /// Everything stored.
    async fn load(&self) -> Result<Stored, BrowserError> {
        match self {
            Self::IndexedDb(idb) => idb.load().await,
            Self::LocalStorage(local) => local.load(),
            Self::Memory => Ok(Stored::Nothing),
        }
    }

    /// The records under `keys` as storage holds them now.
    async fn read(&self, keys: &Array) -> Result<Records, BrowserError> {
        match self {
            Self::IndexedDb(idb) => idb.read(keys).await,
            Self::LocalStorage(local) => local.read(keys),
            Self::Memory => Ok(Records::default()),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Self::IndexedDb(_) => Kind::IndexedDb,
            Self::LocalStorage(_) => Kind::LocalStorage,
            Self::Memory => Kind::Memory,
        }
    }

    /// Writes the commit `message` (as `remote::encode` writes it); for IndexedDB, resolves
    /// it parsed, to announce to other contexts.
    pub(crate) async fn write(&self, message: &str) -> Result<Option<JsValue>, BrowserError> {
        match self {
            Self::IndexedDb(idb) => idb.write_announced(message).await.map(Some),
            Self::LocalStorage(local) => local.write_message(message).map(|()| None),
            Self::Memory => Ok(None),
        }
    }

    /// When a resolved write of this backend is safe, as `Kv.durability` reports it.
    fn durability(&self) -> &'static str {
        match self {
            Self::IndexedDb(idb) => idb.durability().as_str(),
            // Chromium writes localStorage to disk seconds after the call, and no API
            // flushes it: a browser killed meanwhile loses the latest writes.
            Self::LocalStorage(_) => "relaxed",
            Self::Memory => "none",
        }
    }
}

/// A store opened from JS: reads answer from an in-memory mirror at once; writes go to
/// storage one at a time, in call order, and reach the mirror once storage has them.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Kv {
    shared: Rc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    name: String,
    pub(crate) backend: Backend,
    /// What storage holds, as far as this context has read or written it; `None` once
    /// closed. Borrowed only for synchronous steps, never across an `await` (a conflicting
    /// borrow would panic and abort the module); mutably only where no JS code runs.
    pub(crate) mirror: RefCell<Option<Mirror>>,
    pub(crate) queue: WriteQueue,
    pub(crate) listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: Cell<u32>,
    /// Other contexts' commits; dropped (unsubscribed) on close.
    pub(crate) remote: RefCell<Option<Remote>>,
    /// Keys other contexts announced commits of, waiting to be read again (`clear`: all).
    pub(crate) stale: RefCell<Option<Stale>>,
    /// Set when a re-read failed: the whole store is read again before the next write.
    pub(crate) reload: Cell<bool>,
    limits: kv_core::Limits,
    /// Whether the mirror holds what storage held when it was read (see [`Shared::load`]);
    /// until then `get` reads storage itself and other reads wait.
    loaded: Cell<bool>,
    /// Held by the load until it is done: what reads other than `get` wait for.
    gate: WriteQueue,
    /// Keys of other pages' `storage` events that arrived before the load.
    pub(crate) early: RefCell<Option<Stale>>,
    /// Why the load failed (a corrupt record, storage refusing the read); every call
    /// rejects with it, and nothing is ever written.
    failed: RefCell<Option<JsValue>>,
}

#[wasm_bindgen]
impl Kv {
    /// Not how a store is made: throws a `TypeError` saying to use `Kv.open`. (Its parameter
    /// is typed `never` so that TypeScript refuses `new Kv()` too.)
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "never")] _use_kv_open: JsValue,
    ) -> Result<Kv, JsValue> {
        Err(type_error(
            "new Kv() makes no store: open one with `await Kv.open(name, options)`",
        ))
    }

    /// Opens the store `name`, loading it into memory: IndexedDB unless `options.backend`
    /// says otherwise.
    #[wasm_bindgen(unchecked_return_type = "Promise<Kv>")]
    pub fn open(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "KvOptions")] options: JsValue,
    ) -> Promise {
        promise(async move { Ok(open(&name, &options).await?.into()) })
    }

    /// The store's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.shared.name.clone()
    }

    /// Where the store keeps its data.
    #[wasm_bindgen(getter, unchecked_return_type = "KvBackend")]
    pub fn backend(&self) -> String {
        self.shared.backend.kind().as_str().into()
    }

    /// What a resolved write survives: `"strict"` (IndexedDB's default: a power loss),
    /// `"relaxed"` or `"default"` (a closed tab or a browser restart, not an OS crash in the
    /// moments after it; localStorage is `"relaxed"` and loses the last seconds if the browser
    /// itself is killed), `"none"` (memory).
    #[wasm_bindgen(getter, unchecked_return_type = "KvDurability | \"none\"")]
    pub fn durability(&self) -> String {
        self.shared.backend.durability().into()
    }

    /// The value under `key`, or `fallback` (by default `undefined`) if there is none. Its
    /// TypeScript signature, generic over the fallback's type, is in `lib.rs`.
    #[wasm_bindgen(skip_typescript)]
    pub fn get(&self, key: JsValue, fallback: JsValue) -> Promise {
        if self.shared.loaded.get() || self.shared.failed.borrow().is_some() {
            return self.read(move |mirror| {
                let key = key_of(&key)?;
                Ok(mirror.get(&key).map_or(fallback, to_js))
            });
        }
        // The mirror is still loading: this one key is read from storage, in a transaction
        // of its own (made before the load's, if this is the first call), and decoded as
        // the load would decode it.
        let shared = Rc::clone(&self.shared);
        promise(async move {
            let key = key_of(&key)?;
            let keys = Array::of1(&JsValue::from_str(&key));
            let records = shared
                .backend
                .read(&keys)
                .await
                .map_err(|e| storage_error(&e))?;
            let stored = records
                .0
                .into_iter()
                .filter_map(|(key, text)| Some((key, text?.into_bytes())))
                .collect();
            let one = Store::<(), _, JsonText>::from_stored(
                Stored::Records(stored),
                now as fn() -> u64,
                kv_core::Limits::DEFAULT,
            )
            .map_err(|e| core_error::<BrowserError>(&Error::Corrupt(e), |_| JsValue::NULL))?;
            shared.mirror()?;
            Ok(one.get(&key).map_or(fallback, to_js))
        })
    }

    /// Whether `key` exists.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn has(&self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> Promise {
        self.read(move |mirror| Ok(mirror.contains(&key_of(&key)?).into()))
    }

    /// Every key, in ascending order (of UTF-8 bytes).
    #[wasm_bindgen(unchecked_return_type = "Promise<string[]>")]
    pub fn keys(&self) -> Promise {
        self.read(|mirror| {
            Ok(mirror
                .sorted_keys()
                .map(JsValue::from_str)
                .collect::<Array>()
                .into())
        })
    }

    /// Every key with its value, as one object.
    #[wasm_bindgen(js_name = getAll, unchecked_return_type = "Promise<Record<string, Json>>")]
    pub fn get_all(&self) -> Promise {
        // The core's snapshot is the whole store as one JSON object, encoded without first
        // copying the map.
        self.read(|mirror| Ok(from_text(utf8(&mirror.snapshot()))))
    }

    /// Sets `key` to `value`; without a value (or with `undefined`), to the current time in
    /// whole unix seconds.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn set(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Json")] value: JsValue,
    ) -> Promise {
        let args = key_of(&key).and_then(|key| Ok((key, optional_value(&value)?)));
        self.write(args, |(key, value), tx| {
            match value {
                Some(value) => tx.set(key.clone(), value.clone())?,
                None => {
                    tx.touch(key.clone())?;
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Sets `key` to `value` (or the current time) unless it exists; resolves whether it
    /// was set.
    #[wasm_bindgen(js_name = setIfAbsent, unchecked_return_type = "Promise<boolean>")]
    pub fn set_if_absent(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Json")] value: JsValue,
    ) -> Promise {
        let args = key_of(&key).and_then(|key| Ok((key, optional_value(&value)?)));
        self.write_reading(
            args,
            |(key, _)| Some(vec![key.clone()]),
            |(key, value), tx| {
                let value = value.clone().unwrap_or_else(|| JsonText::from(tx.now()));
                Ok(tx.set_if_absent(key.clone(), value)?.into())
            },
        )
    }

    /// Removes `key`; resolves whether it existed.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> Promise {
        self.write_reading(
            key_of(&key),
            |key| Some(vec![key.clone()]),
            |key, tx| Ok(tx.delete(key).into()),
        )
    }

    /// Sets every key to its value, all of them or none: from an object, a `Map`, or any
    /// iterable of `[key, value]` pairs.
    #[wasm_bindgen(js_name = setMany, unchecked_return_type = "Promise<void>")]
    pub fn set_many(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "Record<string, Json> | Iterable<readonly [string, Json]>"
        )]
        entries: JsValue,
    ) -> Promise {
        self.write(entries_of(&entries), |entries, tx| {
            for (key, value) in entries {
                tx.set(key.clone(), value.clone())?;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Removes every key given, all in one write; resolves how many existed.
    #[wasm_bindgen(js_name = deleteMany, unchecked_return_type = "Promise<number>")]
    pub fn delete_many(
        &self,
        // `& object`: a string is an iterable of strings, but not of the keys meant.
        #[wasm_bindgen(unchecked_param_type = "Iterable<string> & object")] keys: JsValue,
    ) -> Promise {
        self.write_reading(
            keys_of(&keys),
            |keys| Some(keys.clone()),
            |keys, tx| {
                let existed = keys.iter().filter(|key| tx.delete(key)).count();
                Ok(JsValue::from_f64(existed as f64))
            },
        )
    }

    /// Replaces the value under `key` with `updater(current)`, with no other write to the key
    /// in between, from this context or any other: a value sets it, `undefined` deletes it.
    /// Resolves the new value. `updater` runs once the key has been read from storage, and
    /// again only if a key it reads differs there; so it should compute its result and nothing
    /// else.
    #[wasm_bindgen(unchecked_return_type = "Promise<Json | undefined>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(current: Json | undefined) => Json | undefined")]
        updater: JsValue,
    ) -> Promise {
        let args = key_of(&key).and_then(|key| {
            let updater: Function = updater
                .dyn_into()
                .map_err(|_| type_error("update takes a function: (current) => next"))?;
            Ok((key, updater))
        });
        self.write_reading(
            args,
            |(key, _)| Some(vec![key.clone()]),
            |(key, updater), tx| {
                // The mirror is only read while the function runs, so it may read this store.
                let current = tx.get(key).map_or(JsValue::UNDEFINED, to_js);
                let next = updater
                    .call1(&JsValue::UNDEFINED, &current)
                    .map_err(OpError::Js)?;
                if next.has_type::<Promise>() {
                    return Err(OpError::Js(js_error(
                        ErrorName::InvalidValue,
                        "update's function returned a Promise: it must return the new value itself",
                    )));
                }
                match optional_value(&next).map_err(OpError::Js)? {
                    Some(value) => {
                        tx.set(key.clone(), value.clone())?;
                        Ok(to_js(&value))
                    }
                    None => {
                        tx.delete(key);
                        Ok(JsValue::UNDEFINED)
                    }
                }
            },
        )
    }

    /// Removes every key.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn clear(&self) -> Promise {
        self.write(Ok(()), |(), tx| {
            tx.clear();
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Calls `callback` after every change to the store, made here (`origin: "local"`) or
    /// in another context (`"remote"`); returns a function that unsubscribes it.
    #[wasm_bindgen(js_name = onChange, unchecked_return_type = "() => void")]
    pub fn on_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: KvChangeEvent) => void")] callback: JsValue,
    ) -> Result<JsValue, JsValue> {
        let callback: Function = callback
            .dyn_into()
            .map_err(|_| type_error("onChange takes a function: (event) => void"))?;
        self.shared.mirror()?;
        let id = self.shared.next_listener.get();
        self.shared.next_listener.set(id.wrapping_add(1));
        self.shared.listeners.borrow_mut().push((id, callback));
        let shared = Rc::downgrade(&self.shared);
        let unsubscribe = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = Weak::upgrade(&shared) {
                shared.listeners.borrow_mut().retain(|(i, _)| *i != id);
            }
        });
        Ok(unsubscribe.into_js_value())
    }

    /// Waits for the writes already called, then closes the store: later calls reject with
    /// `ClosedError`, and other contexts' changes are no longer followed.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let shared = Rc::clone(&self.shared);
        promise(async move {
            let _turn = shared.queue.turn().await;
            shared.close();
            Ok(JsValue::UNDEFINED)
        })
    }
}

impl Kv {
    /// Answers a read from the mirror: now, or once it is loaded.
    fn read(&self, f: impl FnOnce(&Mirror) -> Result<JsValue, JsValue> + 'static) -> Promise {
        if !self.shared.loaded.get() && self.shared.failed.borrow().is_none() {
            let shared = Rc::clone(&self.shared);
            return promise(async move {
                drop(shared.gate.turn().await);
                shared.loaded()?;
                shared.mirror().and_then(|mirror| f(&mirror))
            });
        }
        match self
            .shared
            .loaded()
            .and_then(|()| self.shared.mirror())
            .and_then(|mirror| f(&mirror))
        {
            Ok(value) => Promise::resolve(&value),
            Err(error) => Promise::reject(&error),
        }
    }

    /// Queues a write of `args` (or rejects with their error): `f` stages it once every
    /// earlier write has finished, and again if storage turns out to be ahead of the mirror.
    fn write<A: 'static>(
        &self,
        args: Result<A, JsValue>,
        f: impl Fn(&A, &mut Transaction<'_, JsonText>) -> Result<JsValue, OpError> + 'static,
    ) -> Promise {
        self.write_reading(args, |_| None, f)
    }

    /// As [`write`](Self::write), for a call decided by what storage holds under the keys
    /// `reads` names.
    fn write_reading<A: 'static>(
        &self,
        args: Result<A, JsValue>,
        reads: impl FnOnce(&A) -> Option<Vec<String>>,
        f: impl Fn(&A, &mut Transaction<'_, JsonText>) -> Result<JsValue, OpError> + 'static,
    ) -> Promise {
        self.queue(args.map(|args| Op {
            reads: reads(&args),
            run: Box::new(move |tx: &mut Transaction<'_, JsonText>| f(&args, tx)),
        }))
    }

    fn queue(&self, op: Result<Op, JsValue>) -> Promise {
        let shared = Rc::clone(&self.shared);
        promise(async move {
            let op = op?;
            let _turn = shared.queue.turn().await;
            shared.loaded()?;
            shared.write_now(op).await
        })
    }
}

impl Shared {
    /// Whether the mirror was loaded (or its load failed).
    pub(crate) fn is_loaded(&self) -> bool {
        self.loaded.get()
    }

    /// `Ok` once the mirror is loaded; the load's error if it failed.
    pub(crate) fn loaded(&self) -> Result<(), JsValue> {
        match &*self.failed.borrow() {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Loads the mirror: the first turn of the write queue (every write, re-read and close
    /// waits for it) and of the gate (every read but `get` waits for it). It starts after
    /// the current task, so that the `get`s called as soon as `Kv.open` resolves are
    /// requested before it and answered without waiting for the whole store.
    async fn load(&self) {
        let _ = JsFuture::from(crate::json::next_task()).await;
        let loaded = match self.backend.load().await {
            Ok(stored) => Store::from_stored(stored, now as fn() -> u64, self.limits)
                .map_err(|e| core_error::<BrowserError>(&Error::Corrupt(e), |_| JsValue::NULL)),
            Err(e) => Err(storage_error(&e)),
        };
        match loaded {
            Ok(mirror) => {
                if let Ok(mut slot) = self.mirror_mut() {
                    *slot = mirror;
                }
                // Other pages' changes that arrived before the load: it read them; the
                // listeners hear of them as they would have had the mirror been loaded.
                if let Some(early) = self.early.borrow_mut().take()
                    && let Ok(mirror) = self.mirror()
                {
                    let keys: Vec<&str> = if early.clear {
                        mirror.sorted_keys().collect()
                    } else {
                        early.keys.iter().map(String::as_str).collect()
                    };
                    let batch = crate::events::Batch {
                        clear: early.clear,
                        changes: keys
                            .into_iter()
                            .map(|k| (k.into(), mirror.get(k).map(|v| v.as_str().into())))
                            .collect(),
                    };
                    drop(mirror);
                    self.notify("remote", &batch);
                }
            }
            Err(error) => *self.failed.borrow_mut() = Some(error),
        }
        self.loaded.set(true);
        self.gate.release();
        self.queue.release();
    }

    /// The mirror, to read; an error if the store is closed or being changed.
    pub(crate) fn mirror(&self) -> Result<Ref<'_, Mirror>, JsValue> {
        let mirror = self.mirror.try_borrow().map_err(|_| in_use())?;
        Ref::filter_map(mirror, Option::as_ref).map_err(|_| closed())
    }

    /// The mirror, to change; never held while JS code runs.
    pub(crate) fn mirror_mut(&self) -> Result<RefMut<'_, Mirror>, JsValue> {
        let mirror = self.mirror.try_borrow_mut().map_err(|_| in_use())?;
        RefMut::filter_map(mirror, Option::as_mut).map_err(|_| closed())
    }

    fn close(&self) {
        self.mirror.borrow_mut().take();
        self.remote.borrow_mut().take();
        self.listeners.borrow_mut().clear();
        if let Backend::IndexedDb(idb) = &self.backend {
            idb.close();
        }
    }
}

fn in_use() -> JsValue {
    js_error(
        ErrorName::StorageUnavailable,
        "the store was used from inside its own operation",
    )
}

fn closed() -> JsValue {
    js_error(
        ErrorName::Closed,
        "the store is closed: open it again with Kv.open",
    )
}

async fn open(name: &JsValue, options: &JsValue) -> Result<Kv, JsValue> {
    let name = name
        .as_string()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| type_error("a store's name is a non-empty string"))?;
    let Options {
        kind,
        limits,
        durability,
    } = parse_options(options)?;
    let backend = Backend::open(kind, &name, durability)
        .await
        .map_err(|e| storage_error(&e))?;
    let mirror = Store::from_stored(Stored::Nothing, now as fn() -> u64, limits)
        .map_err(|e| core_error::<BrowserError>(&Error::Corrupt(e), |_| JsValue::NULL))?;
    let shared = Rc::new_cyclic(|me: &Weak<Shared>| {
        let remote = match &backend {
            Backend::IndexedDb(_) => {
                let me = Weak::clone(me);
                Remote::channel(&IdbPersist::database_name(&name), move |batch| {
                    if let Some(shared) = me.upgrade() {
                        shared.observe(batch);
                    }
                })
            }
            Backend::LocalStorage(local) => {
                let me = Weak::clone(me);
                Remote::storage_events(local, move |change| {
                    if let Some(shared) = me.upgrade() {
                        shared.observe_item(change);
                    }
                })
            }
            Backend::Memory => Remote::Nothing,
        };
        Shared {
            name,
            backend,
            mirror: RefCell::new(Some(mirror)),
            queue: WriteQueue::default(),
            listeners: RefCell::new(Vec::new()),
            next_listener: Cell::new(0),
            remote: RefCell::new(Some(remote)),
            stale: RefCell::new(None),
            reload: Cell::new(false),
            loaded: Cell::new(false),
            gate: WriteQueue::default(),
            failed: RefCell::new(None),
            early: RefCell::new(None),
            limits,
        }
    });
    if matches!(shared.backend, Backend::Memory) {
        shared.loaded.set(true);
    } else {
        // Both are held from now, before any call can queue behind them.
        shared.queue.hold();
        shared.gate.hold();
        let loader = Rc::clone(&shared);
        spawn_local(async move { loader.load().await });
    }
    Ok(Kv { shared })
}
