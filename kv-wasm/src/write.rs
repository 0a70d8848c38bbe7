//! The write pipeline: how one call becomes a commit in storage and then in the mirror.
//!
//! Every write is decided by the core ([`kv_core::Store::prepare`]) and applied to the
//! mirror ([`kv_core::Store::apply`]) only once storage has it. A call whose answer depends
//! on what is stored (`setIfAbsent`, `update`, `delete`, `deleteMany`: the keys
//! [`kv_core::Prepared::reads`] lists) is decided against storage at commit, not against
//! the mirror, which another tab or worker may have overtaken: inside one IndexedDB
//! `readwrite` transaction, or under the store's Web Lock for `localStorage`, the keys are
//! read again, the mirror catches up with them ([`kv_core::Store::refresh`]), and the call is
//! decided again if they differed. A blind write (`set`, `setMany`, `clear`) depends on
//! nothing stored and is written as it is: the last writer wins. But a write also removes a
//! few expired keys, and the core records each removal as a read of the expired record it
//! saw: a blind write that removes any is decided against storage too, so that it never
//! deletes a key another context has set again meanwhile (`purge`'s removals likewise).

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use hashbrown::HashSet;

use js_sys::{Array, Function};
use kv_core::{Error, JsonText, Prepared, Rejected, Transaction};
use wasm_bindgen::prelude::*;

use crate::error::{BrowserError, core_error, storage_error};
use crate::events::Batch;
use crate::idb::{Records, transaction_error};
use crate::kv::{Backend, Shared};
use crate::remote::{self, Remote, Stale};

/// Why a write call failed: the core rejected it (a limit, a reserved key, a ttl), or a JS
/// error (an `update` function that threw or returned what JSON cannot hold, storage
/// failing, the store closed), as the call's promise rejects with it.
#[derive(Debug)]
pub enum OpError {
    /// What the core refused.
    Rejected(Rejected),
    /// The error the promise rejects with.
    Js(JsValue),
}

impl From<Rejected> for OpError {
    fn from(e: Rejected) -> Self {
        Self::Rejected(e)
    }
}

impl From<OpError> for JsValue {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Rejected(e) => core_error::<BrowserError>(&Error::Rejected(e), |_| Self::NULL),
            OpError::Js(e) => e,
        }
    }
}

/// Stages one write call's changes in a transaction and returns what the promise resolves.
pub(crate) type Run = Box<dyn FnMut(&mut Transaction<'_, JsonText>) -> Result<JsValue, OpError>>;

/// One write call.
pub(crate) struct Op {
    pub(crate) run: Run,
    /// The keys whose stored state decides the call (`setIfAbsent`'s, `update`'s, `delete`'s
    /// and `deleteMany`'s keys), read from storage before it first runs; `None` for a blind
    /// write. `run` runs again only if it then reads a key storage held something else for.
    pub(crate) reads: Option<Vec<String>>,
}

/// One call being decided inside a storage transaction.
struct Attempt {
    run: Run,
    /// The call's latest decision.
    decided: Option<(JsValue, Prepared<JsonText>)>,
    /// Keys read in this transaction: the mirror holds what storage holds for each.
    verified: HashSet<String>,
    /// An error of the call's own (a limit, a throwing `update` function), as opposed to one
    /// of storage.
    failed: Option<OpError>,
}

impl Shared {
    /// Writes `op`'s changes and mirrors them, then tells the listeners. The caller holds the
    /// write queue's turn.
    pub(crate) async fn write_now(self: &Rc<Self>, mut op: Op) -> Result<JsValue, OpError> {
        self.resync().await.map_err(OpError::Js)?;
        let reads = match (&self.backend, op.reads.take()) {
            // A blind IndexedDB write depends on nothing stored: last writer wins.
            (Backend::IndexedDb(_), None) => None,
            // Every localStorage commit takes the store's lock and counts itself (see
            // `Local.atomic`), so a conditional call in another tab waits to see it.
            (Backend::LocalStorage(_), reads) => Some(reads.unwrap_or_default()),
            (Backend::IndexedDb(_), Some(reads)) => Some(reads),
            // This context alone holds a memory store.
            (Backend::Memory, _) => None,
        };
        if let Some(reads) = reads {
            let reads: Array = reads.iter().map(|key| JsValue::from_str(key)).collect();
            return self.write_atomic(op.run, reads).await;
        }
        let (result, prepared) = self.prepare(&mut op.run)?;
        if matches!(self.backend, Backend::IndexedDb(_)) && prepared.reads().next().is_some() {
            // It removes expired keys: decided against storage (see the module's docs).
            let reads: Array = prepared
                .reads()
                .map(|(key, _)| JsValue::from_str(key))
                .collect();
            return self.write_atomic(op.run, reads).await;
        }
        if !prepared.is_empty() {
            let message = remote::encode(prepared.clears(), prepared.changes());
            let written = self
                .backend
                .write(&message)
                .await
                .map_err(|e| OpError::Js(storage_error(&e)))?;
            self.applied(prepared, written);
        }
        Ok(result)
    }

    /// Decides `op` against storage inside one storage transaction (see the module's docs).
    async fn write_atomic(self: &Rc<Self>, run: Run, reads: Array) -> Result<JsValue, OpError> {
        let attempt = Rc::new(RefCell::new(Attempt {
            run,
            decided: None,
            verified: HashSet::new(),
            failed: None,
        }));
        let me = Rc::clone(self);
        let state = Rc::clone(&attempt);
        let decide = Closure::<dyn FnMut(Array, Array) -> Result<JsValue, JsValue>>::new(
            move |keys: Array, texts: Array| {
                let decided = me.decide(&mut state.borrow_mut(), &keys, &texts);
                decided.map_err(|e| {
                    state.borrow_mut().failed = Some(e);
                    JsValue::NULL
                })
            },
        );
        let decide_fn: &Function = decide.as_ref().unchecked_ref();
        let written = match &self.backend {
            Backend::IndexedDb(idb) => idb.atomic(&reads, decide_fn).await,
            Backend::LocalStorage(local) => local.atomic(&reads, decide_fn).await,
            Backend::Memory => unreachable!("memory writes decide against the mirror"),
        };
        drop(decide);
        let mut attempt = attempt.borrow_mut();
        if let Some(failed) = attempt.failed.take() {
            return Err(failed);
        }
        let written = written.map_err(|e| {
            OpError::Js(storage_error(&match &self.backend {
                Backend::LocalStorage(_) => BrowserError::from_js("writing to localStorage", &e),
                _ => transaction_error("writing to IndexedDB", &e),
            }))
        })?;
        let Some((result, prepared)) = attempt.decided.take() else {
            return Err(OpError::Js(storage_error(&BrowserError::unavailable(
                "the write was never decided: nothing was written",
            ))));
        };
        if !written.is_null() {
            self.applied(prepared, Some(written));
        }
        Ok(result)
    }

    /// One step inside the storage transaction: the records under `keys` were just read.
    /// Returns more keys to read (an array), the commit to write (a message), or `null`.
    ///
    /// Called without records (`keys` undefined, IndexedDB only), it guesses: decides against
    /// the mirror and returns that commit (or `null` if it fails or writes nothing), which
    /// `Idb.atomic` requests behind its reads and puts back if storage disagrees. The
    /// decision stands unless the reads differ from the mirror.
    fn decide(
        &self,
        attempt: &mut Attempt,
        keys: &Array,
        texts: &Array,
    ) -> Result<JsValue, OpError> {
        if keys.is_undefined() {
            attempt.decided = self.prepare(&mut attempt.run).ok();
            return Ok(match &attempt.decided {
                Some((_, prepared)) if !prepared.clears() && !prepared.is_empty() => {
                    remote::encode(false, prepared.changes()).into()
                }
                _ => JsValue::NULL,
            });
        }
        let read = Array::of2(keys, texts);
        let records = Records::of(&read).map_err(|e| OpError::Js(storage_error(&e)))?;
        let changed = self.refresh(&records, None).map_err(OpError::Js)?;
        attempt
            .verified
            .extend(records.0.into_iter().map(|(key, _)| key));
        if changed || attempt.decided.is_none() {
            attempt.decided = None;
            attempt.decided = Some(self.prepare(&mut attempt.run)?);
        }
        let Some((_, prepared)) = &attempt.decided else {
            return Ok(JsValue::NULL);
        };
        let missing: Array = prepared
            .reads()
            .filter(|(key, _)| !attempt.verified.contains(*key))
            .map(|(key, _)| JsValue::from_str(key))
            .collect();
        if missing.length() > 0 {
            return Ok(missing.into());
        }
        if prepared.is_empty() {
            return Ok(JsValue::NULL);
        }
        Ok(remote::encode(prepared.clears(), prepared.changes()).into())
    }

    /// Runs `op` against the mirror, changing nothing. The mirror is only borrowed to read
    /// while `op` runs, so an `update` function may read this store.
    fn prepare(&self, run: &mut Run) -> Result<(JsValue, Prepared<JsonText>), OpError> {
        let mirror = self.mirror().map_err(OpError::Js)?;
        mirror.prepare(|tx| run(tx))
    }

    /// Brings the mirror up to date with records just read from storage, and tells the
    /// listeners of another context's commits. Returns whether the mirror differed, in which
    /// case a call decided against it must be decided again.
    ///
    /// A key is told when its value or expiry is another now, or its record is gone (an
    /// expired key another context removed: a delete). It is told too when the mirror held
    /// the record already but `announced` gave it that record: the announcement of a commit
    /// that the load read (the load is lazy, and an announcement can arrive after it), or of
    /// a write of the value the key had. A key told for a difference an announcement did not
    /// explain (a record read inside this context's own write, before the commit's
    /// announcement arrived) is remembered, so that its announcement is not told again:
    /// every commit of another context is heard once.
    pub(crate) fn refresh(
        &self,
        records: &Records,
        announced: Option<&Stale>,
    ) -> Result<bool, JsValue> {
        let before: Vec<_> = {
            let mirror = self.mirror()?;
            records
                .0
                .iter()
                .map(|(key, _)| held(&mirror, key))
                .collect()
        };
        let changed = self
            .mirror_mut()?
            .refresh(
                records
                    .0
                    .iter()
                    .map(|(key, text)| (key.as_str(), text.as_deref().map(str::as_bytes))),
            )
            .map_err(|e| core_error::<BrowserError>(&Error::Corrupt(e), |_| JsValue::NULL))?;
        let hears = self.remote.borrow().as_ref().is_some_and(Remote::hears);
        let told = {
            let mirror = self.mirror()?;
            let mut expected = self.expected.borrow_mut();
            let mut changes = Vec::new();
            for ((key, text), before) in records.0.iter().zip(before) {
                if key.starts_with(kv_core::RESERVED_PREFIX) {
                    continue;
                }
                let record = text.as_deref().map(str::as_bytes);
                let explained = announced.is_some_and(|a| a.announced(key, record));
                let after = held(&mirror, key);
                if before != after {
                    if !explained && hears {
                        expected.push((key.clone(), record.map(<[u8]>::to_vec)));
                    }
                } else if !explained || take_expected(&mut expected, key, record) {
                    continue;
                }
                changes.push((key.clone(), after.0.map(String::into_bytes)));
            }
            Batch {
                clear: false,
                changes,
            }
        };
        if !told.changes.is_empty() {
            self.notify("remote", &told);
        }
        Ok(changed)
    }

    /// Mirrors a commit this context just made, announces it, and tells the listeners.
    fn applied(&self, prepared: Prepared<JsonText>, announcement: Option<JsValue>) {
        let batch = Batch::of(&prepared);
        if let Ok(mut mirror) = self.mirror_mut() {
            mirror.apply(prepared);
        }
        if let (Some(remote), Some(message)) = (self.remote.borrow().as_ref(), &announcement) {
            remote.publish(message);
        }
        self.notify("local", &batch);
    }
}

/// Whether `record` of `key` was told before its announcement arrived; forgets it if so.
fn take_expected(
    expected: &mut Vec<(String, Option<Vec<u8>>)>,
    key: &str,
    record: Option<&[u8]>,
) -> bool {
    let found = expected
        .iter()
        .position(|(k, r)| k == key && r.as_deref() == record);
    found.map(|i| expected.swap_remove(i)).is_some()
}

/// What the mirror holds for `key`, as listeners see it: its value's text if it exists (has
/// not expired), and its expiry (an expired key's too, until its record is removed). Reserved
/// keys (the format marker) are nobody's data.
fn held(mirror: &crate::kv::Mirror, key: &str) -> (Option<String>, Option<u64>) {
    if key.starts_with(kv_core::RESERVED_PREFIX) {
        return (None, None);
    }
    let value = mirror.get(key).map(|value| String::from(value.as_str()));
    (value, mirror.expires_at(key))
}
