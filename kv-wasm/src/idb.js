// IndexedDB for one store, driven from idb.rs. Written in JS because every step is a call
// into the browser and an event back: from wasm each is a binding, a closure and a future,
// here a line. The store's rules stay in Rust; this file only moves records.

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
    const records = tx.objectStore(RECORDS);
    if (parsed[0]) records.clear();
    for (let i = 1; i < parsed.length; i += 2) {
      const text = parsed[i + 1];
      if (text === null) records.delete(parsed[i]);
      else records.put(text, parsed[i]);
    }
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

function completion(tx, result) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}
