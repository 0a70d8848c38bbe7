//! `Kv`, the class JS sees: promise methods over an in-memory mirror of one store.

use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, Ref, RefCell, RefMut};
use core::future::Future;
use core::pin::Pin;

use js_sys::futures::{JsFuture, future_to_promise, spawn_local};
use js_sys::{Array, Function, Promise};
use kv_core::{Error, JsonText, Store, Stored, Ttl};
use wasm_bindgen::prelude::*;

use crate::args::{entries_of, key_of, keys_of, optional_value, ttl_of, write_ttl};
use crate::calls;
use crate::error::{
    BrowserError, ErrorName, argument_error, core_error, js_error, storage_error, type_error,
};
use crate::idb::{Durability, IdbPersist, Records};
use crate::json::{from_text, to_js};
use crate::local::LocalPersist;
use crate::options::{JsClock, Kind, Options, parse_options};
use crate::queue::WriteQueue;
use crate::remote::{Remote, Stale};
use crate::write::{Op, OpError};

#[wasm_bindgen(module = "/src/browser.js")]
extern "C" {
    /// `f` with its results kept in `kv` (see `memoize` in `browser.js`).
    #[wasm_bindgen(js_name = memoize)]
    fn memoize_js(
        kv: &JsValue,
        f: &Function,
        ttl: &JsValue,
        name: &JsValue,
        key: &JsValue,
        max_key_bytes: f64,
    ) -> Function;
}

/// The mirror: the core's store with no storage of its own (this module does the I/O), so
/// that reads never wait for storage.
pub(crate) type Mirror = Store<(), JsClock, JsonText>;

/// The promise of `future`. Every method's future is boxed into this one type, so the
/// promise machinery is compiled once rather than once per method (a few KB each).
fn promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let future: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(future);
    future_to_promise(future)
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
    pub(crate) shared: Rc<Shared>,
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
    /// Other pages' `storage` events that arrived before the load.
    pub(crate) early: RefCell<Option<Stale>>,
    /// Records of other contexts' commits that listeners were told of before the commit's
    /// announcement arrived, each until it does (see [`Shared::refresh`]).
    pub(crate) expected: RefCell<Vec<(String, Option<Vec<u8>>)>>,
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
            let clock = shared.mirror()?.clock().clone();
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
                clock,
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
        // One JSON object, parsed once: every live key (not the snapshot, which keeps expired
        // keys and the expiries too), in ascending order.
        self.read(|mirror| {
            let mut entries: Vec<_> = mirror.iter().collect();
            entries.sort_unstable_by_key(|(key, _)| *key);
            let mut json = String::from("{");
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                json.push_str(JsonText::string(key).as_str());
                json.push(':');
                json.push_str(value.as_str());
            }
            json.push('}');
            Ok(from_text(&json))
        })
    }

    /// Sets `key` to `value`; without a value (or with `undefined`), to the current time in
    /// whole unix seconds. With `{ ttl }` (seconds, at least 0.001) the key expires that long
    /// from now; without, it never does (an expiry it had is removed).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn set(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Json")] value: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "KvWriteOptions")] options: JsValue,
    ) -> Promise {
        let args = key_of(&key)
            .and_then(|key| Ok((key, optional_value(&value)?, write_ttl(&options, "set")?)));
        self.queue(args.map(|(key, value, ttl)| calls::set(key, value, ttl)))
    }

    /// Sets `key` to `value` (or the current time) unless it exists (an expired key does
    /// not); resolves whether it was set. With `{ ttl }` the new key expires that long from
    /// now.
    #[wasm_bindgen(js_name = setIfAbsent, unchecked_return_type = "Promise<boolean>")]
    pub fn set_if_absent(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Json")] value: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "KvWriteOptions")] options: JsValue,
    ) -> Promise {
        let args = key_of(&key).and_then(|key| {
            Ok((
                key,
                optional_value(&value)?,
                write_ttl(&options, "setIfAbsent")?,
            ))
        });
        self.queue(args.map(|(key, value, ttl)| calls::set_if_absent(key, value, ttl)))
    }

    /// Removes `key`; resolves whether it existed.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> Promise {
        self.queue(key_of(&key).map(calls::delete))
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
        #[wasm_bindgen(unchecked_optional_param_type = "KvWriteOptions")] options: JsValue,
    ) -> Promise {
        let args = write_ttl(&options, "setMany").and_then(|ttl| Ok((entries_of(&entries)?, ttl)));
        self.queue(args.map(|(entries, ttl)| calls::set_many(entries, ttl)))
    }

    /// Removes every key given, all in one write; resolves how many existed.
    #[wasm_bindgen(js_name = deleteMany, unchecked_return_type = "Promise<number>")]
    pub fn delete_many(
        &self,
        // `& object`: a string is an iterable of strings, but not of the keys meant.
        #[wasm_bindgen(unchecked_param_type = "Iterable<string> & object")] keys: JsValue,
    ) -> Promise {
        self.queue(keys_of(&keys).map(calls::delete_many))
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
        self.queue(args.map(|(key, updater)| calls::update(key, updater)))
    }

    /// The seconds `key` has left to live (fractions of a second included): `null` for a key
    /// that never expires, `undefined` for one that is absent or has expired.
    #[wasm_bindgen(unchecked_return_type = "Promise<number | null | undefined>")]
    pub fn ttl(&self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> Promise {
        self.read(move |mirror| {
            Ok(match mirror.ttl(&key_of(&key)?) {
                Ttl::Missing => JsValue::UNDEFINED,
                Ttl::Never => JsValue::NULL,
                Ttl::Left(left) => JsValue::from_f64(left.as_millis() as f64 / 1000.0),
            })
        })
    }

    /// Gives `key` an expiry `ttl` seconds from now, or (`null`) none; resolves whether the
    /// key exists. A missing or expired key stays missing.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn expire(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | null")] ttl: JsValue,
    ) -> Promise {
        let args = key_of(&key).and_then(|key| {
            let ttl = if ttl.is_null() {
                None
            } else {
                Some(ttl_of(&ttl, "expire's ttl (or null, for none)")?)
            };
            Ok((key, ttl))
        });
        self.queue(args.map(|(key, ttl)| calls::expire(key, ttl)))
    }

    /// Removes from storage every key that has expired (reads never see them, and writes
    /// remove a few each); resolves how many it removed. Listeners hear of each as deleted.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn purge(&self) -> Promise {
        self.queue(Ok(calls::purge()))
    }

    /// `f` with its results kept in this store: an async function taking the same
    /// arguments. Its TypeScript signature is in `lib.rs`.
    #[wasm_bindgen(skip_typescript)]
    pub fn memoize(&self, f: JsValue, options: JsValue) -> Result<Function, JsValue> {
        let f: Function = f
            .dyn_into()
            .map_err(|f| argument_error("memoize takes the function whose results to keep", &f))?;
        let field = |name: &str| -> Result<JsValue, JsValue> {
            if options.is_undefined() {
                return Ok(JsValue::UNDEFINED);
            }
            if !options.is_object() {
                return Err(argument_error(
                    "memoize's options are an object: { ttl, key, name }",
                    &options,
                ));
            }
            js_sys::Reflect::get(&options, &name.into())
        };
        let ttl = field("ttl")?;
        if !ttl.is_undefined() {
            ttl_of(&ttl, "memoize's options.ttl")?;
        }
        let name = field("name")?;
        if !name.is_undefined() && name.as_string().is_none_or(|name| name.is_empty()) {
            return Err(argument_error(
                "memoize's options.name is a non-empty string",
                &name,
            ));
        }
        let key = field("key")?;
        if !key.is_undefined() && !key.is_function() {
            return Err(argument_error(
                "memoize's options.key is a function: (...args) => key",
                &key,
            ));
        }
        let max_key_bytes = self.shared.mirror()?.limits().max_key_bytes;
        // A second JS object for this same store, for the function to call.
        let kv = JsValue::from(Kv {
            shared: Rc::clone(&self.shared),
        });
        Ok(memoize_js(&kv, &f, &ttl, &name, &key, max_key_bytes as f64))
    }

    /// Removes every key.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn clear(&self) -> Promise {
        self.queue(Ok(calls::clear()))
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

    /// Queues the write `op` (or rejects with its arguments' error): it runs once every
    /// earlier write has finished, and again if storage turns out to be ahead of the mirror.
    fn queue(&self, op: Result<Op, JsValue>) -> Promise {
        let shared = Rc::clone(&self.shared);
        promise(async move { shared.call(op?).await.map_err(JsValue::from) })
    }
}

impl Shared {
    /// Runs the write `op` once every earlier write has finished.
    pub(crate) async fn call(self: &Rc<Self>, op: Op) -> Result<JsValue, OpError> {
        let _turn = self.queue.turn().await;
        self.loaded().map_err(OpError::Js)?;
        self.write_now(op).await
    }

    /// Waits for the load; its error if it failed.
    pub(crate) async fn ready(&self) -> Result<(), JsValue> {
        if !self.loaded.get() {
            drop(self.gate.turn().await);
        }
        self.loaded()
    }

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
        let clock = self
            .mirror()
            .map_or(JsClock::Date, |mirror| mirror.clock().clone());
        let loaded = match self.backend.load().await {
            Ok(stored) => Store::from_stored(stored, clock, self.limits)
                .map_err(|e| core_error::<BrowserError>(&Error::Corrupt(e), |_| JsValue::NULL)),
            Err(e) => Err(storage_error(&e)),
        };
        match loaded {
            Ok(mirror) => {
                if let Ok(mut slot) = self.mirror_mut() {
                    *slot = mirror;
                }
                self.loaded.set(true);
                // Other pages' localStorage changes that arrived before the load: it read
                // them, and the listeners hear of them now. (IndexedDB announcements wait in
                // the write queue, behind the load.)
                if let Err(e) = self.settle_early() {
                    crate::json::report(&e);
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

    pub(crate) fn close(&self) {
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

pub(crate) async fn open(name: &JsValue, options: &JsValue) -> Result<Kv, JsValue> {
    let name = name
        .as_string()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| type_error("a store's name is a non-empty string"))?;
    let Options {
        kind,
        limits,
        durability,
        clock,
    } = parse_options(options)?;
    let backend = Backend::open(kind, &name, durability)
        .await
        .map_err(|e| storage_error(&e))?;
    let mirror = Store::from_stored(Stored::Nothing, clock, limits)
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
            expected: RefCell::new(Vec::new()),
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
