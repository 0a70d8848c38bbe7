//! The key-value store in the browser: IndexedDB or `localStorage`, from pages, workers and
//! extension service workers, as a promise API for JS.
//!
//! JS uses [`Kv`]; Rust code running in a browser can also use the storage adapters
//! [`IdbPersist`] and [`LocalPersist`] directly with `kv_core::Store`.
//!
//! The crate is `no_std` (with `alloc`). With the feature `standalone` it is a whole program,
//! as in the npm package: it brings its own allocator and a panic handler that aborts, so the
//! module links no part of `std` (whose panic machinery alone would be a third of its size).
//! A crate that uses kv-wasm from Rust leaves `standalone` off; then kv-wasm links `std` on
//! wasm32, whose allocator and panic handler a program needs anyway, so that a plain
//! `wasm-pack build kv-wasm` also makes a working (larger) package.
#![cfg_attr(not(test), no_std)]

extern crate alloc;
#[cfg(all(target_arch = "wasm32", not(feature = "standalone"), not(test)))]
extern crate std;

mod args;
mod calls;
#[doc(hidden)]
pub mod conformance;
mod error;
mod events;
mod idb;
mod json;
mod kv;
mod local;
mod options;
mod queue;
mod remote;
mod write;

pub use error::BrowserError;
pub use idb::{Durability, IdbPersist};
pub use kv::Kv;
pub use local::LocalPersist;

#[cfg(all(feature = "standalone", target_arch = "wasm32", not(test)))]
mod standalone {
    use lol_alloc::{AssumeSingleThreaded, FreeListAllocator};

    // SAFETY: wasm32-unknown-unknown without the atomics feature has one thread: nothing can
    // call the allocator concurrently.
    #[allow(unsafe_code)]
    #[global_allocator]
    static ALLOCATOR: AssumeSingleThreaded<FreeListAllocator> =
        unsafe { AssumeSingleThreaded::new(FreeListAllocator::new()) };

    /// A panic is a bug: the module stops (the call throws a `RuntimeError: unreachable`)
    /// without formatting a message nobody would read.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }
}

#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Any value JSON can hold: what a store keeps under a key. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Where a store keeps its data. */
export type KvBackend = "indexedDB" | "localStorage" | "memory";

/** Bounds on what one store accepts; a write over any of them rejects with `LimitExceededError`. */
export interface KvLimits {
  /** Longest key, in UTF-8 bytes (default 1024). */
  maxKeyBytes?: number;
  /** Largest value, in bytes of its JSON encoding (default 1 MiB). */
  maxValueBytes?: number;
  /** Most keys the store holds at once (default 1,000,000). */
  maxEntries?: number;
}

/**
 * When an IndexedDB write counts as done, and its promise resolves: the durability of its
 * transaction. Every level keeps a resolved write across a closed tab or a browser restart,
 * and never keeps half of one; they differ only when the operating system stops (a power
 * loss, a kernel crash) just after a write.
 *
 * - `"strict"` (the default): once the browser has flushed the write to disk; it survives a
 *   power loss. Each write waits for the disk.
 * - `"relaxed"`: once the browser has handed the write to the operating system; a power loss
 *   or OS crash in the next moments can lose the latest writes.
 * - `"default"`: whatever the browser does when not asked (Chromium: relaxed);
 *   what idb-keyval and localForage get.
 */
export type KvDurability = "strict" | "relaxed" | "default";

/** How `Kv.open` opens a store. */
export interface KvOptions {
  /** Where the store keeps its data (default `"indexedDB"`). */
  backend?: KvBackend;
  /** Bounds on writes (defaults above). */
  limits?: KvLimits;
  /** When an IndexedDB write resolves (default `"strict"`: once it is on disk); other backends ignore it. */
  durability?: KvDurability;
  /**
   * The time the store goes by, in milliseconds since 1970 (default `Date.now`): when keys
   * expire, and what a value-less write stores. For tests, to move time by hand.
   */
  clock?: () => number;
}

/** Options of `set`, `setIfAbsent` and `setMany`. */
export interface KvWriteOptions {
  /**
   * Seconds until the keys written expire (fractions allowed, at least 0.001); without it they
   * never do, and `set` removes an expiry the key had.
   */
  ttl?: number;
}

/** How `memoize` keeps results. */
export interface KvMemoizeOptions<A extends unknown[]> {
  /** Seconds each result is kept (at least 0.001); without it, until deleted. */
  ttl?: number;
  /**
   * The store key of a call (default: `name`, then the arguments as JSON with object keys
   * sorted, hashed with SHA-256 if the key would pass `limits.maxKeyBytes`).
   */
  key?: (...args: A) => string;
  /** What keys begin with (default: the function's name; for an anonymous one, a hash of its source). */
  name?: string;
}

/** One key changed: set to `value`, or deleted. */
export interface KvChange {
  key: string;
  /** The new value; absent when `deleted`. */
  value?: Json;
  deleted: boolean;
}

/** What `onChange` listeners receive after each write. */
export interface KvChangeEvent {
  /** `"local"`: made through this `Kv`; `"remote"`: by another tab, worker or `Kv`. */
  origin: "local" | "remote";
  /** Every key was erased before `changes` applied. */
  clear: boolean;
  changes: KvChange[];
}

export interface Kv {
  /** The value under `key`, or `undefined` if there is none. */
  get(key: string): Promise<Json | undefined>;
  /** The value under `key`, or `fallback` if there is none (`null` is a value). */
  get<F>(key: string, fallback: F): Promise<Json | F>;
  /**
   * `fn` with its results kept in this store: an async function taking the same arguments,
   * which resolves the kept result if there is one and otherwise calls `fn` and keeps what it
   * resolves. A result of `undefined` and a rejection are not kept; a result JSON cannot hold
   * rejects with `InvalidValueError`. Concurrent calls with one key share one call of `fn`.
   */
  memoize<A extends unknown[], R>(
    fn: (...args: A) => R,
    options?: KvMemoizeOptions<A>,
  ): (...args: A) => Promise<Awaited<R>>;
}

// `Kv` has wasm-bindgen's `[Symbol.dispose]()` (its `free()`); this declares the symbol
// for projects whose `lib` predates it (ES2022), the way @types/node does.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** The `name` of every `Error` a `Kv` rejects with (besides `TypeError` for malformed arguments). */
export type KvErrorName =
  | "QuotaExceededError"
  | "StorageUnavailableError"
  | "CorruptDataError"
  | "LimitExceededError"
  | "InvalidValueError"
  | "InvalidKeyError"
  | "ClosedError";
"#;
