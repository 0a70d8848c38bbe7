//! `Kv`, the class JS sees: promise methods over an in-memory mirror of one store.

use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;

use js_sys::futures::future_to_promise;
use js_sys::{Array, Function, Promise, Reflect};
use kv_core::{Error, JsonText, Limits, Rejected, Store, Stored, Transaction, block_on};
use wasm_bindgen::prelude::*;

use crate::batch::{Batch, Stage, Staged};
use crate::error::{
    BrowserError, ErrorName, argument_error, core_error, js_error, storage_error, type_error,
};
use crate::idb::{Durability, IdbPersist};
use crate::json::{from_text, own_entries, report, to_js, to_value, utf8};
use crate::local::LocalPersist;
use crate::queue::WriteQueue;
use crate::remote::{self, ItemChange, Remote};

/// The mirror: the core's store over a [`Stage`], so that reads never wait for storage.
type Mirror = Store<Stage, fn() -> u64, JsonText>;

/// One write's changes, staged in a transaction; what it returns is what the promise resolves.
type Op = Box<dyn FnOnce(&mut Transaction<'_, JsonText>) -> Result<JsValue, Rejected>>;

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

/// Where a store keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    IndexedDb,
    LocalStorage,
    Memory,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::IndexedDb => "indexedDB",
            Self::LocalStorage => "localStorage",
            Self::Memory => "memory",
        }
    }
}

#[derive(Debug)]
enum Backend {
    IndexedDb(IdbPersist),
    LocalStorage(LocalPersist),
    Memory,
}

impl Backend {
    async fn open(
        kind: Kind,
        name: &str,
        durability: Durability,
    ) -> Result<(Self, Stored), BrowserError> {
        Ok(match kind {
            Kind::IndexedDb => {
                let idb = IdbPersist::open_with_durability(name, durability).await?;
                let stored = idb.load().await?;
                (Self::IndexedDb(idb), stored)
            }
            Kind::LocalStorage => {
                let local = LocalPersist::open(name)?;
                let stored = local.load()?;
                (Self::LocalStorage(local), stored)
            }
            Kind::Memory => (Self::Memory, Stored::Nothing),
        })
    }

    fn kind(&self) -> Kind {
        match self {
            Self::IndexedDb(_) => Kind::IndexedDb,
            Self::LocalStorage(_) => Kind::LocalStorage,
            Self::Memory => Kind::Memory,
        }
    }

    /// Writes `batch`; for IndexedDB, resolves the message that announces it to other
    /// contexts.
    async fn write(&self, batch: &Batch) -> Result<Option<JsValue>, BrowserError> {
        match self {
            Self::IndexedDb(idb) => {
                let message = remote::encode(batch.clear, batch.changes());
                idb.write_announced(&message).await.map(Some)
            }
            Self::LocalStorage(local) => local.write(batch.clear, batch.changes()).map(|()| None),
            Self::Memory => Ok(None),
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
struct Shared {
    name: String,
    backend: Backend,
    /// Equal to what storage holds; `None` once closed. Borrowed only for synchronous steps,
    /// never across an `await` (a second borrow would panic and abort the module).
    mirror: RefCell<Option<Mirror>>,
    queue: WriteQueue,
    listeners: RefCell<Vec<(u32, Function)>>,
    next_listener: Cell<u32>,
    /// Other contexts' commits; dropped (unsubscribed) on close.
    remote: RefCell<Option<Remote>>,
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

    /// The value under `key`, or `fallback` (by default `undefined`) if there is none. Its
    /// TypeScript signature, generic over the fallback's type, is in `lib.rs`.
    #[wasm_bindgen(skip_typescript)]
    pub fn get(&self, key: JsValue, fallback: JsValue) -> Promise {
        self.read(|mirror| {
            let key = key_of(&key)?;
            Ok(mirror.get(&key).map_or(fallback, to_js))
        })
    }

    /// Whether `key` exists.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn has(&self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> Promise {
        self.read(|mirror| Ok(mirror.contains(&key_of(&key)?).into()))
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
                Some(value) => tx.set(key, value)?,
                None => {
                    tx.touch(key)?;
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
        self.write(args, |(key, value), tx| {
            let value = value.unwrap_or_else(|| JsonText::from(tx.now()));
            Ok(tx.set_if_absent(key, value)?.into())
        })
    }

    /// Removes `key`; resolves whether it existed.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue) -> Promise {
        self.write(key_of(&key), |key, tx| Ok(tx.delete(&key).into()))
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
                tx.set(key, value)?;
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
        self.write(keys_of(&keys), |keys, tx| {
            let existed = keys.iter().filter(|key| tx.delete(key)).count();
            Ok(JsValue::from_f64(existed as f64))
        })
    }

    /// Replaces the value under `key` with `updater(current)`, with no other write of this `Kv`
    /// in between: a value sets it, `undefined` deletes it. Resolves the new value.
    #[wasm_bindgen(unchecked_return_type = "Promise<Json | undefined>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(current: Json | undefined) => Json | undefined")]
        updater: JsValue,
    ) -> Promise {
        let shared = Rc::clone(&self.shared);
        promise(async move {
            let key = key_of(&key)?;
            let updater: Function = updater
                .dyn_into()
                .map_err(|_| type_error("update takes a function: (current) => next"))?;
            let _turn = shared.queue.turn().await;
            // Read, call and write all in this turn; the function runs with no borrow held,
            // so it may read this store.
            let current = shared.with_mirror(|mirror| Ok(mirror.get(&key).map(to_js)))?;
            let next =
                updater.call1(&JsValue::UNDEFINED, &current.unwrap_or(JsValue::UNDEFINED))?;
            if next.has_type::<Promise>() {
                return Err(js_error(
                    ErrorName::InvalidValue,
                    "update's function returned a Promise: it must return the new value itself",
                ));
            }
            let next = optional_value(&next)?;
            shared
                .write_now(Box::new(move |tx| match next {
                    Some(value) => {
                        tx.set(key, value.clone())?;
                        Ok(to_js(&value))
                    }
                    None => {
                        tx.delete(&key);
                        Ok(JsValue::UNDEFINED)
                    }
                }))
                .await
        })
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
        self.shared.with_mirror(|_| Ok(()))?;
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
    /// Answers a read from the mirror, now.
    fn read(&self, f: impl FnOnce(&Mirror) -> Result<JsValue, JsValue>) -> Promise {
        match self.shared.with_mirror(|mirror| f(mirror)) {
            Ok(value) => Promise::resolve(&value),
            Err(error) => Promise::reject(&error),
        }
    }

    /// Queues a write of `args` (or rejects with their error): `f` stages it once every
    /// earlier write has finished.
    fn write<A: 'static>(
        &self,
        args: Result<A, JsValue>,
        f: impl FnOnce(A, &mut Transaction<'_, JsonText>) -> Result<JsValue, Rejected> + 'static,
    ) -> Promise {
        self.queue(
            args.map(|args| Box::new(move |tx: &mut Transaction<'_, JsonText>| f(args, tx)) as Op),
        )
    }

    fn queue(&self, op: Result<Op, JsValue>) -> Promise {
        let shared = Rc::clone(&self.shared);
        promise(async move {
            let op = op?;
            let _turn = shared.queue.turn().await;
            shared.write_now(op).await
        })
    }
}

impl Shared {
    fn with_mirror<R>(
        &self,
        f: impl FnOnce(&mut Mirror) -> Result<R, JsValue>,
    ) -> Result<R, JsValue> {
        let mut mirror = self.mirror.try_borrow_mut().map_err(|_| {
            js_error(
                ErrorName::StorageUnavailable,
                "the store was used from inside its own operation",
            )
        })?;
        match mirror.as_mut() {
            Some(mirror) => f(mirror),
            None => Err(js_error(
                ErrorName::Closed,
                "the store is closed: open it again with Kv.open",
            )),
        }
    }

    /// Stages a write in the mirror, writes it to storage, then mirrors it and tells the
    /// listeners. The caller holds the write queue's turn.
    async fn write_now(&self, op: Op) -> Result<JsValue, JsValue> {
        self.resync().await?;
        let (result, batch) = self.with_mirror(|mirror| stage(mirror, op))?;
        let Some(batch) = batch else {
            return Ok(result);
        };
        let announcement = self
            .backend
            .write(&batch)
            .await
            .map_err(|e| storage_error(&e))?;
        self.with_mirror(|mirror| mirror_batch(mirror, &batch))?;
        if let (Some(remote), Some(message)) = (self.remote.borrow().as_ref(), &announcement) {
            remote.publish(message);
        }
        self.notify("local", &batch);
        Ok(result)
    }

    /// After the browser closed the IndexedDB connection (a version change, a deleted
    /// database), reads storage again before the next write, since commits made meanwhile
    /// may not all have been announced; listeners hear of any difference as a remote change.
    async fn resync(&self) -> Result<(), JsValue> {
        let Backend::IndexedDb(idb) = &self.backend else {
            return Ok(());
        };
        if idb.is_connected() {
            return Ok(());
        }
        let batch = Batch::replacing(idb.load().await.map_err(|e| storage_error(&e))?);
        let changed = self.with_mirror(|mirror| {
            let before = mirror.snapshot();
            mirror_batch(mirror, &batch)?;
            Ok(mirror.snapshot() != before)
        })?;
        if changed {
            self.notify("remote", &batch);
        }
        Ok(())
    }

    /// Mirrors a commit another context made, and tells the listeners.
    fn observe(&self, batch: Batch) {
        let mirrored = self.with_mirror(|mirror| mirror_batch(mirror, &batch));
        match mirrored {
            Ok(()) => self.notify("remote", &batch),
            // Closed: nothing to mirror into. Anything else the page should hear about.
            Err(e) if self.mirror.borrow().is_some() => report(&e),
            Err(_) => {}
        }
    }

    /// Mirrors another page's change to a `localStorage` item.
    fn observe_item(&self, change: ItemChange) {
        let batch = match change {
            ItemChange::Key(key, text) => Batch {
                clear: false,
                changes: alloc::vec![(key, text.map(String::into_bytes))],
            },
            ItemChange::Cleared => {
                let Backend::LocalStorage(local) = &self.backend else {
                    return;
                };
                match local.load() {
                    Ok(stored) => Batch::replacing(stored),
                    Err(e) => return report(&storage_error(&e)),
                }
            }
        };
        self.observe(batch);
    }

    fn notify(&self, origin: &str, batch: &Batch) {
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

    fn close(&self) {
        self.mirror.borrow_mut().take();
        self.remote.borrow_mut().take();
        self.listeners.borrow_mut().clear();
        if let Backend::IndexedDb(idb) = &self.backend {
            idb.close();
        }
    }
}

/// Applies a commit already in storage (made here or by another context) to the mirror.
fn mirror_batch(mirror: &mut Mirror, batch: &Batch) -> Result<(), JsValue> {
    mirror
        .observe(batch.clear, batch.changes())
        .map_err(|e| core_error::<BrowserError>(&Error::Corrupt(e), |_| JsValue::NULL))
}

/// Runs `f` through the core's rules and returns its result with the batch it staged
/// (`None`: nothing to write), without changing the mirror.
fn stage(mirror: &mut Mirror, op: Op) -> Result<(JsValue, Option<Batch>), JsValue> {
    let mut result = None;
    let staged = block_on(mirror.transaction(|tx| {
        result = Some(op(tx)?);
        Ok::<(), Error<Staged>>(())
    }));
    // `Stage` answers on the first poll, so `block_on` never reports `NotReady`; if it did,
    // the write is refused rather than lost.
    let batch = match staged {
        Ok(Ok(())) => None,
        Ok(Err(Error::Storage(Staged(batch)))) => Some(batch),
        Ok(Err(e)) => return Err(core_error(&e, |_| JsValue::NULL)),
        Err(_) => return Err(not_run()),
    };
    result.map(|result| (result, batch)).ok_or_else(not_run)
}

fn not_run() -> JsValue {
    js_error(
        ErrorName::StorageUnavailable,
        "the write did not run: nothing was written",
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
    let (backend, stored) = Backend::open(kind, &name, durability)
        .await
        .map_err(|e| storage_error(&e))?;
    let mirror = block_on(Store::open_with_limits(
        Stage::new(stored),
        now as fn() -> u64,
        limits,
    ))
    .map_err(|_| js_error(ErrorName::StorageUnavailable, "the store did not open"))?
    .map_err(|e| core_error(&e, |_| JsValue::NULL))?;
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
        }
    });
    Ok(Kv { shared })
}

/// What `Kv.open`'s options ask for.
struct Options {
    kind: Kind,
    limits: Limits,
    durability: Durability,
}

fn parse_options(options: &JsValue) -> Result<Options, JsValue> {
    let mut parsed = Options {
        kind: Kind::IndexedDb,
        limits: Limits::DEFAULT,
        durability: Durability::Strict,
    };
    if options.is_undefined() || options.is_null() {
        return Ok(parsed);
    }
    if !options.is_object() {
        return Err(type_error(
            "Kv.open's options are an object: { backend, limits, durability }",
        ));
    }
    parsed.kind = choice(
        options,
        "backend",
        &[
            ("indexedDB", Kind::IndexedDb),
            ("localStorage", Kind::LocalStorage),
            ("memory", Kind::Memory),
        ],
        "options.backend is \"indexedDB\", \"localStorage\" or \"memory\"",
    )?;
    parsed.durability = choice(
        options,
        "durability",
        &[
            ("strict", Durability::Strict),
            ("relaxed", Durability::Relaxed),
            ("default", Durability::Default),
        ],
        "options.durability is \"strict\", \"relaxed\" or \"default\"",
    )?;
    let limits = Reflect::get(options, &"limits".into())?;
    if limits.is_undefined() {
        return Ok(parsed);
    }
    if !limits.is_object() {
        return Err(type_error(
            "options.limits is an object: { maxKeyBytes, maxValueBytes, maxEntries }",
        ));
    }
    if let Some(n) = limit(&limits, "maxKeyBytes")? {
        parsed.limits = parsed.limits.max_key_bytes(n);
    }
    if let Some(n) = limit(&limits, "maxValueBytes")? {
        parsed.limits = parsed.limits.max_value_bytes(n);
    }
    if let Some(n) = limit(&limits, "maxEntries")? {
        parsed.limits = parsed.limits.max_entries(n);
    }
    Ok(parsed)
}

/// The option `field` of `options`, one of `choices` by name; the first choice if it is absent.
fn choice<T: Copy>(
    options: &JsValue,
    field: &str,
    choices: &[(&str, T)],
    expected: &str,
) -> Result<T, JsValue> {
    let value = Reflect::get(options, &field.into())?;
    if value.is_undefined() {
        return Ok(choices[0].1);
    }
    let name = value.as_string();
    choices
        .iter()
        .find(|(n, _)| name.as_deref() == Some(*n))
        .map(|(_, choice)| *choice)
        .ok_or_else(|| type_error(expected))
}

fn limit(limits: &JsValue, field: &str) -> Result<Option<usize>, JsValue> {
    let value = Reflect::get(limits, &field.into())?;
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if (0.0..=9_007_199_254_740_991.0).contains(&n) && n == (n as u64) as f64 => {
            Ok(Some(n as usize))
        }
        _ => Err(type_error(&alloc::format!(
            "options.limits.{field} is a whole number of at least 0"
        ))),
    }
}

/// A key as given by JS: a string that is valid UTF-16 (else it could not be kept as is).
fn key_of(key: &JsValue) -> Result<String, JsValue> {
    crate::json::check_key(key)
}

/// A value as given by JS; `undefined` is none.
fn optional_value(value: &JsValue) -> Result<Option<JsonText>, JsValue> {
    if value.is_undefined() {
        Ok(None)
    } else {
        to_value(value).map(Some)
    }
}

/// The entries `setMany` was given: `[key, value]` pairs from an iterable, or an object's
/// own properties.
fn entries_of(entries: &JsValue) -> Result<Vec<(String, JsonText)>, JsValue> {
    let shape = || {
        argument_error(
            "setMany(entries) takes an object, a Map or an iterable of [key, value] pairs",
            entries,
        )
    };
    // `try_iter` asks `Reflect.get`, which throws on anything but an object.
    if !entries.is_object() {
        return Err(shape());
    }
    let pairs = match js_sys::try_iter(entries)? {
        Some(pairs) => pairs,
        None => match own_entries(entries)? {
            own if own.is_object() => js_sys::try_iter(&own)?.ok_or_else(shape)?,
            _ => return Err(shape()),
        },
    };
    let mut out = Vec::new();
    for pair in pairs {
        let pair = pair?;
        if !Array::is_array(&pair) {
            return Err(argument_error(
                "each of setMany's entries is a [key, value] pair",
                &pair,
            ));
        }
        let pair: Array = pair.unchecked_into();
        let key = key_of(&pair.get(0))?;
        let value = to_value(&pair.get(1))?;
        out.push((key, value));
    }
    Ok(out)
}

/// The keys `deleteMany` was given.
fn keys_of(keys: &JsValue) -> Result<Vec<String>, JsValue> {
    let shape = || {
        argument_error(
            "deleteMany(keys) takes an array (or any iterable) of string keys",
            keys,
        )
    };
    // A string is iterable, but its characters are not the keys anyone meant.
    if !keys.is_object() {
        return Err(shape());
    }
    let Some(iter) = js_sys::try_iter(keys)? else {
        return Err(shape());
    };
    iter.map(|key| key_of(&key?)).collect()
}

/// The JSON text of the event `onChange` listeners receive for `batch`.
fn change_event(origin: &str, batch: &Batch) -> String {
    let mut json = alloc::format!(
        "{{\"origin\":\"{origin}\",\"clear\":{},\"changes\":[",
        batch.clear
    );
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
