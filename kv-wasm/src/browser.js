// The browser side of kv-wasm: every call into the browser's storage, in one module (one
// request when the package loads). Rust calls each piece a whole step at a time: load
// everything, write one commit. The store's rules stay in Rust; this module only moves
// records and checks what crosses into wasm.
//
// A commit reaches IndexedDB and localStorage as remote.rs encodes it for other contexts:
// [clear, key, text | null, ...], as JSON text.

// ---- Values and keys (json.rs) ----
//
// JSON text from JS values, refusing what JSON cannot hold instead of changing it silently
// (JSON.stringify drops functions and undefined, turns NaN into null, a Map into {}).
// Runs in JS because the engine's JSON.stringify is much faster than walking the value
// from wasm one property at a time.

function named(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

const invalid = (message) => named("InvalidValueError", message);
const invalidKey = (message) => named("InvalidKeyError", message);
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

function describe(raw) {
  switch (typeof raw) {
    case "number": return String(raw);
    case "bigint": return "a BigInt";
    case "function": return "a function";
    case "symbol": return "a symbol";
    case "undefined": return "undefined";
    default: {
      const name = raw.constructor && raw.constructor.name;
      return name ? `a ${name}` : "an object with a prototype";
    }
  }
}

function plain(raw) {
  switch (typeof raw) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(raw);
    case "object": {
      if (raw === null || Array.isArray(raw)) return true;
      const proto = Object.getPrototypeOf(raw);
      return (proto === Object.prototype || proto === null) && typeof raw.toJSON !== "function";
    }
    default:
      return false;
  }
}

// `this[key]` is the value before any toJSON ran, so a Date is seen as a Date.
function refuse(key, value) {
  const raw = this[key];
  if (plain(raw)) return value;
  const where = key === "" ? "the value is" : `${JSON.stringify(key)} holds`;
  throw invalid(
    `${where} ${describe(raw)}, which JSON cannot hold: store plain objects, arrays, strings, finite numbers, booleans and null`,
  );
}

function stringify(value, replacer) {
  try {
    return JSON.stringify(value, replacer);
  } catch (error) {
    if (error instanceof Error && error.name === "InvalidValueError") throw error;
    // A cycle, or a getter that threw.
    throw invalid(`the value cannot be written as JSON: ${messageOf(error)}`);
  }
}

export const toJson = (value) => stringify(value, refuse);

// A lone surrogate would become U+FFFD on its way into wasm: the key would change.
const LONE_SURROGATE = /\p{Surrogate}/u;

export function checkKey(key) {
  if (typeof key !== "string") {
    throw invalidKey(`keys are strings, not ${key === null ? "null" : typeof key}: convert the key with String(key) first`);
  }
  if (LONE_SURROGATE.test(key)) {
    throw invalidKey("the key holds a lone UTF-16 surrogate, which is not text: repair the key first");
  }
  return key;
}

export function ownEntries(value) {
  try {
    return value !== null && typeof value === "object" && !Array.isArray(value) && plain(value)
      ? Object.entries(value)
      : null;
  } catch (error) {
    // A getter (or a toJSON getter) that threw.
    throw invalid(`the entries cannot be read: ${messageOf(error)}`);
  }
}

// What an argument was, for a TypeError: `the number 42`, `the string "abc"`, `null`, `a Date`.
function given(value) {
  const type = typeof value;
  if (type === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (type === "number" || type === "boolean") return `the ${type} ${value}`;
  if (value === null) return "null";
  if (type === "object" && Object.getPrototypeOf(value) === Object.prototype) return "a plain object";
  return describe(value);
}

export function argumentError(message, value) {
  return new TypeError(`${message}, not ${given(value)}`);
}

// A ttl as given (`what` names it): seconds, at least 0.001 (1 ms) and at most 2^53 ms.
export function ttlOf(ttl, what) {
  if (typeof ttl !== "number") throw argumentError(`${what} is a number of seconds (at least 0.001)`, ttl);
  if (ttl >= 0.001 && ttl <= 9007199254740.991) return ttl;
  throw new RangeError(`${what} is a finite number of seconds of at least 0.001 (1 ms), not ${ttl}: nothing was written`);
}

export const ttlTooLong = (seconds) =>
  new RangeError(`a ttl of ${seconds} s ends after the latest expiry a store holds (2^53 - 1 ms after 1970): nothing was written`);

// In the terms of Kv.open's `limits` option, which is what a JS caller can change.
export function limitExceeded(option, actual, max) {
  return named(
    "LimitExceededError",
    option
      ? `${option === "maxKeyBytes" ? "the key is" : option === "maxEntries" ? "the store would hold" : "the value's JSON is"} ${actual} ${option === "maxEntries" ? "entries" : "bytes"}, over limits.${option} = ${max}: nothing was written; store less, or open the store with larger limits`
      : `the value nests arrays and objects ${actual} deep, over ${max}, the most a store can read back: nothing was written; store it flatter`,
  );
}

export const corruptMessage = (what, line, column, rest) =>
  `${what}${line ? ` at line ${line}, column ${column}` : ""}${rest}`;

export const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

export function report(error) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(error);
  else console.error(error);
}

// ---- IndexedDB (idb.rs): one store's database, its connection and its transactions ----

const RECORDS = "records";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// Opens `database` at `version` (its current one if undefined), creating the object store
// if an upgrade runs; a failure in the upgrade aborts it, and the request reports it.
function openAt(database, version) {
  const req = globalThis.indexedDB.open(database, version);
  req.onupgradeneeded = () => {
    if (!req.result.objectStoreNames.contains(RECORDS)) req.result.createObjectStore(RECORDS);
  };
  return request(req);
}

function forget(db) {
  db.onversionchange = db.onclose = null;
  db.close();
}

export class Idb {
  // `null` where this context has no IndexedDB.
  static create(database, durability) {
    return globalThis.indexedDB ? new Idb(database, durability) : null;
  }

  constructor(database, durability) {
    this.database = database;
    this.options = { durability };
    this.db = null;
  }

  get connected() {
    return this.db !== null;
  }

  // The open connection, or a new one: at whatever version the database has (another
  // program may have raised it), upgraded once more only if the object store is missing.
  // A connection makes way for another context's version change, and is forgotten when the
  // browser closes it.
  async connect() {
    if (this.db) return this.db;
    let db = await openAt(this.database);
    if (!db.objectStoreNames.contains(RECORDS)) {
      const next = db.version + 1;
      db.close();
      db = await openAt(this.database, next);
    }
    db.onversionchange = db.onclose = () => {
      db.close();
      if (this.db === db) this.db = null;
    };
    if (this.db) forget(this.db);
    this.db = db;
    return db;
  }

  close() {
    if (this.db) forget(this.db);
    this.db = null;
  }

  // A transaction over the records on the open connection; null if there is none, or the
  // browser closed it since it was last used (then it is forgotten).
  begin(mode) {
    if (!this.db) return null;
    try {
      return this.on(this.db, mode);
    } catch {
      this.close();
      return null;
    }
  }

  // A transaction over the records, on a new connection if need be.
  async transaction(mode) {
    return this.begin(mode) ?? this.on(await this.connect(), mode);
  }

  on(db, mode) {
    return db.transaction(RECORDS, mode, mode === "readwrite" ? this.options : undefined);
  }

  // Resolves [keys, values], every record.
  async load() {
    const records = (await this.transaction("readonly")).objectStore(RECORDS);
    // Both requests are made before either is awaited: the transaction ends once it has no
    // requests left.
    const keys = request(records.getAllKeys());
    const values = request(records.getAll());
    return [await keys, await values];
  }

  // Resolves [keys, texts]: the records under `keys` now (`null` where there is none), read
  // in one transaction, so after every commit that completed before this call.
  async read(keys) {
    const records = (await this.transaction("readonly")).objectStore(RECORDS);
    const texts = keys.map((key) => request(records.get(key)));
    return [keys, (await Promise.all(texts)).map((text) => (text === undefined ? null : text))];
  }

  // One read-decide-write in one readwrite transaction, which IndexedDB runs alone among the
  // transactions of every context that overlap it: reads `keys`, then calls
  // `decide(keys, texts)` (`null` for a missing record), which returns more keys to read (an
  // array), the commit to write (a message as for `commit`), or null for nothing to write.
  // Resolves the parsed commit, or null, once the transaction completes; rejects with the
  // first error (one `decide` throws aborts the transaction: nothing is written).
  //
  // `decide()` first guesses the commit from this context's copy (or null): requested right
  // behind the reads (no second round trip if storage agrees) when it writes only `keys`,
  // put back as read if `decide` then returns another.
  atomic(keys, decide) {
    const run = (tx) =>
      new Promise((resolve, reject) => {
        let parsed = null;
        tx.oncomplete = () => resolve(parsed);
        tx.onerror = (event) => reject(event.target.error ?? tx.error);
        tx.onabort = () => reject(tx.error);
        const records = tx.objectStore(RECORDS);
        const fail = (error) => {
          tx.oncomplete = tx.onerror = tx.onabort = null;
          try {
            tx.abort();
          } catch {}
          reject(error);
        };
        const step = (keys, texts) => {
          try {
            const next = decide(keys, texts);
            if (Array.isArray(next)) return read(next);
            if (guess !== null && next === guess) parsed = guessed;
            else {
              if (guess !== null) {
                for (let i = 1; i < guessed.length; i += 2) guessed[i + 1] = first[guessed[i]];
                requestAll(records, guessed);
              }
              if (next !== null) {
                parsed = JSON.parse(next);
                requestAll(records, parsed);
              }
            }
            if (tx.commit) tx.commit();
          } catch (error) {
            fail(error);
          }
        };
        const read = (keys) => {
          const texts = new Array(keys.length);
          let left = keys.length;
          if (left === 0) return step(keys, texts);
          keys.forEach((key, i) => {
            const req = records.get(key);
            req.onsuccess = () => {
              texts[i] = first[key] = req.result === undefined ? null : req.result;
              if (--left === 0) step(keys, texts);
            };
          });
        };
        let guess, guessed;
        const first = Object.create(null);
        try {
          guess = decide();
          read(keys);
          if (guess !== null) {
            guessed = JSON.parse(guess);
            for (let i = 1; i < guessed.length; i += 2) if (!keys.includes(guessed[i])) guess = null;
          }
          if (guess !== null) requestAll(records, guessed);
        } catch (error) {
          fail(error);
        }
      });
    try {
      const tx = this.begin("readwrite");
      return tx ? run(tx) : this.transaction("readwrite").then(run);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // Writes one commit, `message` as remote.rs encodes it: [clear, key, text | null, ...], as
  // JSON text. Resolves that array, parsed, once the transaction completes; rejects with the
  // transaction's error (null if it was aborted without one). On an open connection the
  // transaction begins in this call.
  commit(message) {
    const parsed = JSON.parse(message);
    const tx = this.begin("readwrite");
    return tx ? write(tx, parsed) : this.transaction("readwrite").then((tx) => write(tx, parsed));
  }

  // Stores `value` under `key` as it is: for tests that need storage holding what this
  // version would never write.
  async insertRaw(key, value) {
    const tx = await this.transaction("readwrite");
    const done = completion(tx);
    tx.objectStore(RECORDS).put(value, key);
    return done;
  }
}

// Requests every change of `parsed` in `tx` and commits it; never throws: a failure is the
// returned promise's rejection.
function write(tx, parsed) {
  const done = completion(tx, parsed);
  try {
    requestAll(tx.objectStore(RECORDS), parsed);
    // Every request is made: commit now rather than when this task ends, which can be well
    // after, behind the wasm and promise work that follows (measured: ~80 µs a write).
    if (tx.commit) tx.commit();
  } catch (error) {
    // Nothing of an aborted transaction is written; the caller hears of the first error,
    // not of an abort that fails because the browser already ended the transaction.
    done.catch(() => {});
    try {
      tx.abort();
    } catch {}
    return Promise.reject(error);
  }
  return done;
}

// Requests every change of the parsed commit `parsed` on `records`.
function requestAll(records, parsed) {
  if (parsed[0]) records.clear();
  for (let i = 1; i < parsed.length; i += 2) {
    const text = parsed[i + 1];
    if (text === null) records.delete(parsed[i]);
    else records.put(text, parsed[i]);
  }
}

function completion(tx, result) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(result);
    // A failed request's error reaches onerror before the transaction has one of its own.
    tx.onerror = (event) => reject(event.target.error ?? tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

// ---- localStorage (local.rs): one store's items, under its prefix ----

export class Local {
  // `null` where this context has no localStorage (a worker, a service worker); throws
  // where the browser refuses it (storage blocked for the site).
  static create(prefix) {
    const storage = globalThis.localStorage;
    return storage ? new Local(storage, prefix) : null;
  }

  // Whether this context has Web Locks, which atomic() needs.
  static get locked() {
    return typeof globalThis.navigator?.locks?.request === "function";
  }

  constructor(storage, prefix) {
    this.storage = storage;
    this.prefix = prefix;
  }

  // The names of every item of this store, collected before any is changed.
  items() {
    const items = [];
    for (let i = 0; i < this.storage.length; i++) {
      const item = this.storage.key(i);
      if (item !== null && item.startsWith(this.prefix)) items.push(item);
    }
    return items;
  }

  // [keys, texts]: every item of this store.
  load() {
    const keys = [];
    const texts = [];
    for (const item of this.items()) {
      const text = this.storage.getItem(item);
      if (text !== null) {
        keys.push(item.slice(this.prefix.length));
        texts.push(text);
      }
    }
    return [keys, texts];
  }

  // Writes one commit, `message` as remote.rs encodes it: [clear, key, text | null, ...], as
  // JSON text, and the count `seq` of a conditional one (see atomic). If a call fails (the
  // quota), every item already changed is put back and the error is thrown.
  write(message, seq) {
    const parsed = JSON.parse(message);
    const undo = [];
    const change = (item, text) => {
      undo.push([item, this.storage.getItem(item)]);
      if (text === null) this.storage.removeItem(item);
      else this.storage.setItem(item, text);
    };
    try {
      if (parsed[0]) for (const item of this.items()) change(item, null);
      for (let i = 1; i < parsed.length; i += 2) change(this.prefix + parsed[i], parsed[i + 1]);
      if (seq !== undefined) change(this.seqItem, String(seq));
    } catch (error) {
      for (const [item, old] of undo.reverse()) {
        // Best effort: each restores what was there a moment ago, in space the failed
        // commit freed.
        try {
          if (old === null) this.storage.removeItem(item);
          else this.storage.setItem(item, old);
        } catch {}
      }
      throw error;
    }
  }

  // [keys, texts]: the items under `keys` now (`null` where there is none).
  read(keys) {
    return [keys, keys.map((key) => this.storage.getItem(this.prefix + key))];
  }

  // One read-decide-write under the Web Lock named for this store, which every context of
  // the origin that writes this store conditionally takes too: reads `keys`, calls
  // `decide(keys, texts)` as Idb.atomic does, writes the commit it returns. Resolves the
  // parsed commit, or null; rejects with the first error, having written nothing.
  //
  // The lock alone is not enough: Chromium answers getItem from a copy of localStorage in
  // each tab, which another tab's setItem reaches some time after that tab released the
  // lock (measured: 13 of 200 increments lost under contention). So every conditional
  // commit also counts itself in the item `kv-seq:NAME:` and, before releasing the lock,
  // takes a lock named for that count. The next holder asks the lock manager, which granted
  // it the lock after that name was taken, for the highest count, and waits until its own
  // copy of localStorage shows it: then it holds every item written before.
  atomic(keys, decide) {
    const locks = globalThis.navigator.locks;
    return locks.request(this.prefix, async () => {
      const counted = await this.caughtUp(locks);
      for (let next = keys; ; ) {
        const decided = decide(...this.read(next));
        if (Array.isArray(decided)) {
          next = decided;
          continue;
        }
        if (decided === null) return null;
        // Past the highest count known, even if this tab's copy lost some (site data cleared).
        const seq = Math.max(this.seq(), counted) + 1;
        this.write(decided, seq);
        this.announce(locks, seq);
        return JSON.parse(decided);
      }
    });
  }

  get seqItem() {
    return `kv-seq:${this.prefix.slice(3)}`;
  }

  seq() {
    return Number(this.storage.getItem(this.seqItem)) || 0;
  }

  // Resolves once this tab's copy of localStorage holds every conditional commit the lock
  // manager knows of (or after a second, should a count have been lost with its items: a
  // browser killed before writing localStorage to disk, site data cleared); resolves the
  // highest count known.
  async caughtUp(locks) {
    const tag = `${this.seqItem}#`;
    let wanted = 0;
    for (const lock of (await locks.query()).held ?? []) {
      if (lock.name.startsWith(tag)) wanted = Math.max(wanted, Number(lock.name.slice(tag.length)));
    }
    if (this.seq() >= wanted) return wanted;
    await new Promise((resolve) => {
      const done = () => {
        globalThis.removeEventListener("storage", onStorage);
        clearTimeout(timer);
        resolve();
      };
      const onStorage = (event) => {
        if (event.key === this.seqItem && this.seq() >= wanted) done();
      };
      globalThis.addEventListener("storage", onStorage);
      const timer = setTimeout(done, 1000);
    });
    return wanted;
  }

  // Holds a shared lock named for the count `seq` until this tab commits the next one.
  announce(locks, seq) {
    if (this.release) this.release();
    const held = new Promise((resolve) => (this.release = resolve));
    locks.request(`${this.seqItem}#${seq}`, { mode: "shared" }, () => held).catch(() => {});
  }

  // Stores `text` under `key` as it is: for tests that need storage holding what this
  // version would never write.
  insertRaw(key, text) {
    this.storage.setItem(this.prefix + key, text);
  }

  // Calls `apply(key, text | null)` for each change another page makes to this store's
  // items, `apply(null, null)` when it clears localStorage; returns the unsubscribe. The text
  // is the item's as storage holds it now, not the event's `newValue`: events of two pages
  // writing one key at once can arrive after this page's own later write, and a copy that
  // applied them would keep a value storage no longer holds.
  listen(apply) {
    const onStorage = (event) => {
      if (event.storageArea !== this.storage) return;
      if (event.key === null) apply(null, null);
      else if (event.key.startsWith(this.prefix)) {
        apply(event.key.slice(this.prefix.length), this.storage.getItem(event.key));
      }
    };
    globalThis.addEventListener("storage", onStorage);
    return () => globalThis.removeEventListener("storage", onStorage);
  }
}

// ---- Other contexts (remote.rs) ----

// The BroadcastChannel `name`, handing each message's data to `receive`; `null` where the
// host has none.
export function channel(name, receive) {
  if (typeof BroadcastChannel !== "function") return null;
  const channel = new BroadcastChannel(name);
  channel.onmessage = (event) => receive(event.data);
  return channel;
}

// ---- memoize (kv.rs): a function's results kept in the store ----

// As refuse, and every object's keys sorted: equal arguments give one key however built.
function sorted(key, value) {
  value = refuse.call(this, key, value);
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const out = {};
  for (const k of Object.keys(value).sort()) out[k] = value[k];
  return out;
}

async function sha256(text) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw named(
      "StorageUnavailableError",
      "memoize hashes long keys and anonymous functions with crypto.subtle, which this context lacks (serve it over https or from localhost): give options.key and options.name",
    );
  }
  const digest = new Uint8Array(await subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// `fn` with its results kept in `kv` under `name:[args as JSON]` (hashed if longer than
// `maxKeyBytes`), or `key(...args)`; `ttl` (seconds, checked in kv.rs) or undefined. A result
// of undefined and a rejection are not kept; concurrent calls with one key share one call.
export function memoize(kv, fn, ttl, name, key, maxKeyBytes) {
  const options = ttl === undefined ? undefined : { ttl };
  const calls = new Map();
  // A bound anonymous function is named "bound ", and its source reads "[native code]" like
  // every other bound function's: nothing tells it apart, so it needs a name.
  if (name === undefined && key === undefined && /^bound (bound )*$/.test(fn.name)) {
    throw new TypeError("memoize cannot name a bound anonymous function (its source text is hidden): give options.name or options.key");
  }
  let base = name ?? (fn.name || undefined);
  const keyOf = async (args) => {
    base ??= `anonymous:${(await sha256(String(fn))).slice(0, 32)}`;
    let json;
    try {
      json = stringify(args, sorted);
    } catch (error) {
      throw invalid(`a memoized function's arguments make its key, as JSON, but ${error.message}; or give options.key`);
    }
    const full = `${base}:${json}`;
    const fits = (k) => new TextEncoder().encode(k).length <= maxKeyBytes;
    if (fits(full)) return full;
    const hashed = `${base}:sha256:${await sha256(full)}`;
    if (fits(hashed)) return hashed;
    // A name too long to keep: the whole key is hashed.
    const whole = `sha256:${await sha256(full)}`;
    if (fits(whole)) return whole;
    throw new RangeError(`memoize needs keys of at least ${whole.length} bytes, over limits.maxKeyBytes = ${maxKeyBytes}: give options.key`);
  };
  return function memoized(...args) {
    return (async () => {
      const k = key ? key(...args) : await keyOf(args);
      let call = calls.get(k);
      if (!call) {
        call = (async () => {
          const kept = await kv.get(k);
          if (kept !== undefined) return kept;
          const result = await fn.apply(this, args);
          if (result !== undefined) await kv.set(k, result, options);
          return result;
        })();
        calls.set(k, call);
        const done = () => calls.get(k) === call && calls.delete(k);
        call.then(done, done);
      }
      return call;
    })();
  };
}
