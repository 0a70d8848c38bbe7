//! The conformance suite in headless Chromium: through `Kv` itself, the way its JS methods
//! write (the write queue, the IndexedDB transaction or Web Lock that reads the keys a call
//! depends on, the mirror), on IndexedDB and on localStorage; and through the core's `Store`
//! over the storage adapters `IdbPersist` and `LocalPersist`, which Rust code can use directly.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use common::unique;
use kv_core::{
    Clock, Corrupt, Error, JsonText, Limits, ManualClock, Map, StorageError, StorageErrorKind,
    Store, Stored, Transaction, Ttl, Value,
};
use kv_tests::{Adapter, Harness, Subject, TestValue};
use kv_wasm::conformance::{Front, OpError};
use kv_wasm::{IdbPersist, LocalPersist};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// IndexedDB, a fresh database per case; reopening opens a new connection.
#[derive(Debug, Default)]
struct IdbHarness {
    name: String,
}

impl Harness for IdbHarness {
    type Persist = IdbPersist;

    async fn fresh(&mut self) -> IdbPersist {
        self.name = unique("conformance-idb");
        Harness::reopen(self).await
    }

    async fn reopen(&mut self) -> IdbPersist {
        match IdbPersist::open(&self.name).await {
            Ok(persist) => persist,
            Err(e) => panic!("opening IndexedDB failed: {e}"),
        }
    }

    async fn corrupt(&mut self) {
        let persist = Harness::reopen(self).await;
        if let Err(e) = persist
            .insert_raw("broken", &"{\"unterminated".into())
            .await
        {
            panic!("writing a raw record failed: {e}");
        }
    }
}

/// `localStorage`, a fresh prefix per case.
#[derive(Debug, Default)]
struct LocalHarness {
    name: String,
}

impl Harness for LocalHarness {
    type Persist = LocalPersist;

    async fn fresh(&mut self) -> LocalPersist {
        self.name = unique("conformance-local");
        Harness::reopen(self).await
    }

    async fn reopen(&mut self) -> LocalPersist {
        match LocalPersist::open(&self.name) {
            Ok(persist) => persist,
            Err(e) => panic!("opening localStorage failed: {e}"),
        }
    }

    async fn corrupt(&mut self) {
        let persist = Harness::reopen(self).await;
        if let Err(e) = persist.insert_raw("broken", "{\"unterminated") {
            panic!("writing a raw item failed: {e}");
        }
    }
}

mod indexed_db {
    use super::IdbHarness;
    kv_tests::conformance_tests!(wasm: IdbHarness::default());
}

mod local_storage {
    use super::LocalHarness;
    kv_tests::conformance_tests!(wasm: LocalHarness::default());
}

mod kv_indexed_db {
    use super::KvAdapter;
    kv_tests::conformance_tests!(wasm, json_text: KvAdapter::new("indexedDB"));
}

mod kv_local_storage {
    use super::KvAdapter;
    kv_tests::conformance_tests!(wasm, json_text: KvAdapter::new("localStorage"));
}

/// `Kv` on one backend: each store opened with `Kv.open`'s options and written through the
/// JS methods' own calls (see `kv_wasm::conformance`).
#[derive(Debug)]
struct KvAdapter {
    backend: &'static str,
    name: String,
}

impl KvAdapter {
    fn new(backend: &'static str) -> Self {
        Self {
            backend,
            name: String::new(),
        }
    }
}

impl Adapter<JsonText> for KvAdapter {
    type Store = KvStore;

    async fn fresh(&mut self, limits: Limits, now: u64) -> KvStore {
        self.name = unique(&format!("conformance-kv-{}", self.backend));
        match self.reopen(limits, now).await {
            Ok(store) => store,
            Err(e) => panic!("Kv.open failed: {e}"),
        }
    }

    async fn reopen(&mut self, limits: Limits, now: u64) -> Result<KvStore, Error<KvFailure>> {
        let clock = Rc::new(ManualClock::new(now));
        let reads = Rc::clone(&clock);
        let clock_fn = Closure::<dyn Fn() -> f64>::new(move || reads.now_ms() as f64);
        let front = Front::open(
            &self.name,
            self.backend,
            limits,
            clock_fn.as_ref().unchecked_ref(),
        )
        .await
        .map_err(failure)?;
        Ok(KvStore {
            front,
            clock,
            _clock_fn: clock_fn,
        })
    }

    async fn corrupt(&mut self) {
        if self.backend == "indexedDB" {
            let mut harness = IdbHarness {
                name: self.name.clone(),
            };
            Harness::corrupt(&mut harness).await;
        } else {
            let mut harness = LocalHarness {
                name: self.name.clone(),
            };
            Harness::corrupt(&mut harness).await;
        }
    }
}

/// An open `Kv`; reads answer from its mirror, as the JS reads do.
#[derive(Debug)]
struct KvStore {
    front: Front,
    clock: Rc<ManualClock>,
    /// `options.clock`: reads `clock`.
    _clock_fn: Closure<dyn Fn() -> f64>,
}

impl KvStore {
    /// What the mirror holds, as a store of its own on this clock, to read.
    fn view(&self) -> Store<(), ManualClock, JsonText> {
        let snapshot = self
            .front
            .snapshot()
            .unwrap_or_else(|e| panic!("reading the mirror failed: {}", common::describe(&e)));
        let clock = ManualClock::new(0);
        clock.set_ms(self.clock.now_ms());
        Store::from_stored(Stored::Snapshot(snapshot), clock, Limits::NONE)
            .unwrap_or_else(|e| panic!("the mirror's snapshot does not decode: {e}"))
    }

    /// The time the last write stored under `key`, as `touch` answers it.
    fn stored_time(&self, key: &str) -> u64 {
        let value = self.view().get(key).map(TestValue::to_json);
        value
            .and_then(|v| v.as_u64())
            .unwrap_or_else(|| panic!("no time stored under {key:?}"))
    }
}

/// What a `Kv` call rejected with, as the core's error.
fn failure(e: JsValue) -> Error<KvFailure> {
    let name = common::error_name(&e);
    let message = common::error_message(&e);
    if name == "CorruptDataError" {
        return Error::Corrupt(Corrupt::at(0, 0, message));
    }
    Error::Storage(KvFailure { name, message })
}

fn op_failure(e: OpError) -> Error<KvFailure> {
    match e {
        OpError::Rejected(rejected) => Error::Rejected(rejected),
        OpError::Js(e) => failure(e),
    }
}

/// A JS error a `Kv` call rejected with.
#[derive(Debug)]
struct KvFailure {
    name: String,
    message: String,
}

impl fmt::Display for KvFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for KvFailure {}

impl StorageError for KvFailure {
    fn kind(&self) -> StorageErrorKind {
        match self.name.as_str() {
            "QuotaExceededError" => StorageErrorKind::QuotaExceeded,
            "StorageUnavailableError" | "ClosedError" => StorageErrorKind::Unavailable,
            _ => StorageErrorKind::Other,
        }
    }
}

type KvResult<T> = Result<T, Error<KvFailure>>;

fn bool_of(v: JsValue) -> bool {
    v.as_bool()
        .unwrap_or_else(|| panic!("expected a boolean, got {v:?}"))
}

fn count_of(v: JsValue) -> usize {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {v:?}")) as usize
}

/// A JS value (as `update` hands it to its function) as JSON text.
fn text_of(v: &JsValue) -> Option<JsonText> {
    if v.is_undefined() {
        return None;
    }
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_else(|| panic!("not JSON: {v:?}"));
    Some(JsonText::new(&text).unwrap_or_else(|e| panic!("not JSON: {e}")))
}

impl Subject<JsonText> for KvStore {
    type Error = KvFailure;

    fn clock(&self) -> &ManualClock {
        &self.clock
    }

    fn fail_commits(&mut self, n: usize) {
        common::fail_commits(n as u32);
    }

    fn get(&self, key: &str) -> Option<JsonText> {
        self.view().get(key).cloned()
    }

    fn get_or(&self, key: &str, fallback: JsonText) -> JsonText {
        self.view().get_or(key, fallback)
    }

    fn contains(&self, key: &str) -> bool {
        self.view().contains(key)
    }

    fn ttl(&self, key: &str) -> Ttl {
        self.view().ttl(key)
    }

    fn expires_at(&self, key: &str) -> Option<u64> {
        self.view().expires_at(key)
    }

    fn len(&self) -> usize {
        self.view().len()
    }

    fn is_empty(&self) -> bool {
        self.view().is_empty()
    }

    fn stored_len(&self) -> usize {
        self.view().stored_len()
    }

    fn keys(&self) -> Vec<String> {
        self.view().keys().map(str::to_owned).collect()
    }

    fn sorted_keys(&self) -> Vec<String> {
        self.view().sorted_keys().map(str::to_owned).collect()
    }

    fn values(&self) -> Vec<JsonText> {
        self.view().values().cloned().collect()
    }

    fn entries(&self) -> Vec<(String, JsonText)> {
        let view = self.view();
        view.iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }

    fn all(&self) -> Map<String, Value> {
        let view = self.view();
        view.sorted_keys()
            .filter_map(|k| Some((k.to_owned(), view.get(k)?.to_json())))
            .collect()
    }

    fn snapshot(&self) -> Vec<u8> {
        self.front
            .snapshot()
            .unwrap_or_else(|e| panic!("reading the mirror failed: {}", common::describe(&e)))
    }

    async fn set(&mut self, key: impl Into<String>, value: JsonText) -> KvResult<()> {
        let call = self.front.set(key.into(), Some(value), None);
        call.await.map(drop).map_err(op_failure)
    }

    async fn touch(&mut self, key: impl Into<String>) -> KvResult<u64> {
        let key = key.into();
        let call = self.front.set(key.clone(), None, None);
        call.await.map_err(op_failure)?;
        Ok(self.stored_time(&key))
    }

    async fn set_if_absent(&mut self, key: impl Into<String>, value: JsonText) -> KvResult<bool> {
        let call = self.front.set_if_absent(key.into(), Some(value), None);
        call.await.map(bool_of).map_err(op_failure)
    }

    async fn touch_if_absent(&mut self, key: impl Into<String>) -> KvResult<bool> {
        let call = self.front.set_if_absent(key.into(), None, None);
        call.await.map(bool_of).map_err(op_failure)
    }

    async fn set_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: JsonText,
        ttl: Duration,
    ) -> KvResult<()> {
        let call = self.front.set(key.into(), Some(value), Some(ttl));
        call.await.map(drop).map_err(op_failure)
    }

    async fn touch_with_ttl(&mut self, key: impl Into<String>, ttl: Duration) -> KvResult<u64> {
        let key = key.into();
        let call = self.front.set(key.clone(), None, Some(ttl));
        call.await.map_err(op_failure)?;
        Ok(self.stored_time(&key))
    }

    async fn set_if_absent_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: JsonText,
        ttl: Duration,
    ) -> KvResult<bool> {
        let call = self.front.set_if_absent(key.into(), Some(value), Some(ttl));
        call.await.map(bool_of).map_err(op_failure)
    }

    async fn set_many<K: Into<String>>(
        &mut self,
        entries: impl IntoIterator<Item = (K, JsonText)>,
    ) -> KvResult<()> {
        let entries = entries.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let call = self.front.set_many(entries, None);
        call.await.map(drop).map_err(op_failure)
    }

    async fn set_many_with_ttl<K: Into<String>>(
        &mut self,
        entries: impl IntoIterator<Item = (K, JsonText)>,
        ttl: Duration,
    ) -> KvResult<()> {
        let entries = entries.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let call = self.front.set_many(entries, Some(ttl));
        call.await.map(drop).map_err(op_failure)
    }

    async fn expire(&mut self, key: &str, ttl: Option<Duration>) -> KvResult<bool> {
        let call = self.front.expire(key.to_owned(), ttl);
        call.await.map(bool_of).map_err(op_failure)
    }

    async fn purge(&mut self) -> KvResult<usize> {
        self.front.purge().await.map(count_of).map_err(op_failure)
    }

    async fn delete(&mut self, key: &str) -> KvResult<bool> {
        let call = self.front.delete(key.to_owned());
        call.await.map(bool_of).map_err(op_failure)
    }

    async fn clear(&mut self) -> KvResult<()> {
        self.front.clear().await.map(drop).map_err(op_failure)
    }

    async fn delete_many<'k>(
        &mut self,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> KvResult<usize> {
        let keys = keys.into_iter().map(str::to_owned).collect();
        let call = self.front.delete_many(keys);
        call.await.map(count_of).map_err(op_failure)
    }

    /// Through `update`'s own call, with `f` as the JS function it is given.
    async fn update(
        &mut self,
        key: impl Into<String>,
        mut f: impl FnMut(Option<&JsonText>) -> Option<JsonText> + 'static,
    ) -> KvResult<Option<JsonText>> {
        let updater =
            Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |current: JsValue| {
                match f(text_of(&current).as_ref()) {
                    Some(next) => js_sys::JSON::parse(next.as_str())
                        .unwrap_or_else(|e| panic!("not JSON: {e:?}")),
                    None => JsValue::UNDEFINED,
                }
            });
        let function: js_sys::Function =
            updater.as_ref().unchecked_ref::<js_sys::Function>().clone();
        let result = self.front.update(key.into(), function).await;
        drop(updater);
        result.map(|v| text_of(&v)).map_err(op_failure)
    }

    async fn transaction<R: 'static, E: From<Error<KvFailure>> + 'static>(
        &mut self,
        mut f: impl FnMut(&mut Transaction<'_, JsonText>) -> Result<R, E> + 'static,
    ) -> Result<R, E> {
        let out: Rc<RefCell<Option<Result<R, E>>>> = Rc::default();
        let decided = Rc::clone(&out);
        let result = self
            .front
            .transaction(move |tx| {
                let result = f(tx);
                let failed = result.is_err();
                *decided.borrow_mut() = Some(result);
                if failed {
                    // The caller's own error, kept in `out`: nothing is written.
                    Err(OpError::Js(JsValue::NULL))
                } else {
                    Ok(())
                }
            })
            .await;
        let decided = out.borrow_mut().take();
        match (result, decided) {
            (Ok(()), Some(Ok(r))) => Ok(r),
            (Err(OpError::Js(e)), Some(Err(caller))) if e.is_null() => Err(caller),
            (Err(e), _) => Err(E::from(op_failure(e))),
            (Ok(()), _) => panic!("a transaction that committed left no result"),
        }
    }
}
