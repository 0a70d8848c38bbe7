//! The size floor of a wasm engine for kv-wasm: kv-core's store (JSON text values, expiry,
//! limits, prepare and apply, refresh and observe, load and snapshot) exported through a bare
//! C ABI: no wasm-bindgen, no futures, no formatting, no error messages, lol_alloc. Every
//! export does what the package's module must do for some call, so whatever a package adds
//! (bindings, promises, messages, the JS that drives storage) comes on top of this module's
//! size. Built for wasm32-unknown-unknown only; see Cargo.toml for the command.
// A measurement, not an API: the exports trust the host's pointers and lengths.
#![allow(clippy::missing_safety_doc)]
#![no_std]
extern crate alloc;
use alloc::{string::String, vec::Vec};
use core::time::Duration;
use kv_core::{Change, Clock, JsonText, Limits, Store, Stored};

#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

extern "C" {
    fn host_now_ms() -> u64;
    fn host_out(ptr: *const u8, len: usize);
}

#[derive(Clone)]
struct HostClock;
impl Clock for HostClock {
    fn now(&self) -> u64 {
        unsafe { host_now_ms() / 1000 }
    }
    fn now_ms(&self) -> u64 {
        unsafe { host_now_ms() }
    }
}

static mut STORE: Option<Store<(), HostClock, JsonText>> = None;
static mut PREPARED: Option<kv_core::Prepared<JsonText>> = None;

#[allow(static_mut_refs)]
fn store() -> &'static mut Store<(), HostClock, JsonText> {
    unsafe { STORE.as_mut().unwrap() }
}

unsafe fn text(ptr: *const u8, len: usize) -> &'static str {
    core::str::from_utf8_unchecked(core::slice::from_raw_parts(ptr, len))
}
fn out(bytes: &[u8]) {
    unsafe { host_out(bytes.as_ptr(), bytes.len()) }
}

#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len);
    let p = v.as_mut_ptr();
    core::mem::forget(v);
    p
}

/// Records as `key \0 value \n`, or (snapshot = 1) one JSON object.
#[no_mangle]
pub unsafe extern "C" fn load(ptr: *const u8, len: usize, snapshot: u32) -> u32 {
    let bytes = core::slice::from_raw_parts(ptr, len).to_vec();
    let stored = if snapshot == 1 {
        Stored::Snapshot(bytes)
    } else {
        let mut records = Vec::new();
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let at = line.iter().position(|b| *b == 0).unwrap_or(line.len());
            records.push((
                String::from_utf8_unchecked(line[..at].to_vec()),
                line[at.min(line.len() - 1) + 1..].to_vec(),
            ));
        }
        Stored::Records(records)
    };
    match Store::from_stored(stored, HostClock, Limits::DEFAULT) {
        Ok(s) => {
            STORE = Some(s);
            0
        }
        Err(_) => 1,
    }
}

#[no_mangle]
pub unsafe extern "C" fn get(ptr: *const u8, len: usize) -> u32 {
    match store().get(text(ptr, len)) {
        Some(v) => {
            out(v.as_str().as_bytes());
            1
        }
        None => 0,
    }
}

#[no_mangle]
pub unsafe extern "C" fn ttl_ms(ptr: *const u8, len: usize) -> u64 {
    store().expires_at(text(ptr, len)).unwrap_or(0)
}

enum Fail {
    Json,
    Limit,
}
impl From<kv_core::Rejected> for Fail {
    fn from(_: kv_core::Rejected) -> Self {
        Fail::Limit
    }
}

/// op: 0 set, 1 set_if_absent, 2 delete, 3 expire, 4 clear, 5 purge, 6 touch. Prepares; the
/// host writes what `host_out` gave (the commit's changes) and calls `apply`.
#[no_mangle]
pub unsafe extern "C" fn prepare(
    op: u32,
    kp: *const u8,
    kl: usize,
    vp: *const u8,
    vl: usize,
    ttl: u64,
) -> i32 {
    let key = text(kp, kl);
    let value = text(vp, vl);
    let ttl = (ttl > 0).then(|| Duration::from_millis(ttl));
    let result = store().prepare(|tx| -> Result<u32, Fail> {
        Ok(match op {
            0 => {
                let v = JsonText::new(value).map_err(|_| Fail::Json)?;
                match ttl {
                    Some(t) => tx.set_with_ttl(key, v, t)?,
                    None => tx.set(key, v)?,
                };
                1
            }
            1 => {
                let v = JsonText::new(value).map_err(|_| Fail::Json)?;
                tx.set_if_absent(key, v)? as u32
            }
            2 => tx.delete(key) as u32,
            3 => tx.expire(key, ttl)? as u32,
            4 => {
                tx.clear();
                1
            }
            5 => tx.purge() as u32,
            _ => {
                tx.touch(key)?;
                1
            }
        })
    });
    match result {
        Ok((answer, prepared)) => {
            let mut message = Vec::new();
            message.push(prepared.clears() as u8);
            for change in prepared.changes() {
                match change {
                    Change::Put { key, value } => {
                        message.extend_from_slice(key.as_bytes());
                        message.push(0);
                        message.extend_from_slice(value);
                    }
                    Change::Delete { key } => message.extend_from_slice(key.as_bytes()),
                }
                message.push(b'\n');
            }
            for (key, read) in prepared.reads() {
                message.extend_from_slice(key.as_bytes());
                if let Some(r) = read {
                    message.extend_from_slice(r)
                }
            }
            out(&message);
            PREPARED = Some(prepared);
            answer as i32
        }
        Err(Fail::Json) => -2,
        Err(Fail::Limit) => -3,
    }
}

#[no_mangle]
#[allow(static_mut_refs)]
pub unsafe extern "C" fn apply() {
    if let Some(p) = PREPARED.take() {
        store().apply(p)
    }
}

/// Records read again from storage (`key \0 value \n`; no \0: absent): 1 if memory differed.
#[no_mangle]
pub unsafe extern "C" fn refresh(ptr: *const u8, len: usize, observe: u32) -> i32 {
    let bytes = core::slice::from_raw_parts(ptr, len);
    let mut records: Vec<(&str, Option<&[u8]>)> = Vec::new();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match line.iter().position(|b| *b == 0) {
            Some(at) => records.push((
                core::str::from_utf8_unchecked(&line[..at]),
                Some(&line[at + 1..]),
            )),
            None => records.push((core::str::from_utf8_unchecked(line), None)),
        }
    }
    if observe == 1 {
        let changes = records.iter().map(|(key, v)| match v {
            Some(value) => Change::Put { key, value },
            None => Change::Delete { key },
        });
        return match store().observe(false, changes) {
            Ok(()) => 0,
            Err(_) => -1,
        };
    }
    match store().refresh(records) {
        Ok(d) => d as i32,
        Err(_) => -1,
    }
}

#[no_mangle]
pub extern "C" fn keys() {
    let mut all = Vec::new();
    for key in store().sorted_keys() {
        all.extend_from_slice(key.as_bytes());
        all.push(b'\n');
    }
    out(&all);
}

#[no_mangle]
pub extern "C" fn snapshot() {
    out(&store().snapshot())
}
