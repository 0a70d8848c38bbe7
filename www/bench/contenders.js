// The stores under test, each behind the same small interface so that bench.js times every one
// with the same code:
//
//   open(name) -> handle;  handle.get(key), .set(key, value), .setMany([[key, value], ...]),
//   .getAll(), .clear(), .close(), and where the library has them: .setIfAbsent(key, value)
//   (resolves whether it wrote) and .update(key, f); kv-wasm's also .setWithTtl(key, value,
//   ttl), .setManyWithTtl(entries, ttl) and .keys(), for the expiry measurements
//
// Each adapter uses the library the way its README recommends, and its fastest documented
// call for each operation: a user would pick those.
//
// Durability: a write counts as done when its IndexedDB transaction completes, and how long
// that takes depends on the durability the transaction asks for. kv-wasm asks for "strict"
// unless opened otherwise (a write resolves once it is on disk); idb-keyval and localForage
// ask for nothing, which is the browser's "default" (relaxed in Chromium). So kv-wasm and the
// raw floor run twice, once at each, and like is compared with like.

/* global localforage */

import * as idbKeyval from "/www/node_modules/idb-keyval/dist/index.js";

const request = (r) =>
  new Promise((ok, fail) => {
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });

const committed = (tx) =>
  new Promise((ok, fail) => {
    tx.oncomplete = () => ok();
    tx.onerror = tx.onabort = () => fail(tx.error);
  });

function kvWasm(Kv, options) {
  return {
    async open(name) {
      const kv = await Kv.open(name, options);
      return {
        get: (k) => kv.get(k),
        set: (k, v) => kv.set(k, v),
        setWithTtl: (k, v, ttl) => kv.set(k, v, { ttl }),
        setManyWithTtl: (entries, ttl) => kv.setMany(entries, { ttl }),
        keys: () => kv.keys(),
        setIfAbsent: (k, v) => kv.setIfAbsent(k, v),
        update: (k, f) => kv.update(k, f),
        setMany: (entries) => kv.setMany(entries),
        getAll: () => kv.getAll(),
        clear: () => kv.clear(),
        close: () => kv.close(),
      };
    },
  };
}

const idbKeyvalAdapter = {
  async open(name) {
    // createStore opens lazily; the first get below is what pays for the open.
    const store = idbKeyval.createStore(name, "kv");
    return {
      get: (k) => idbKeyval.get(k, store),
      set: (k, v) => idbKeyval.set(k, v, store),
      // idb-keyval has no set-if-absent; its update is one readwrite transaction.
      update: (k, f) => idbKeyval.update(k, f, store),
      setMany: (entries) => idbKeyval.setMany(entries, store),
      getAll: () => idbKeyval.entries(store),
      clear: () => idbKeyval.clear(store),
      // idb-keyval never closes its connection; neither does a page that uses it.
      close: () => {},
    };
  },
};

function localForage(driver) {
  return {
    async open(name) {
      const lf = localforage.createInstance({ name, storeName: "kv", driver });
      await lf.ready();
      return {
        get: (k) => lf.getItem(k),
        set: (k, v) => lf.setItem(k, v),
        // localForage has no batch write; concurrent setItem calls are its fastest way.
        setMany: (entries) => Promise.all(entries.map(([k, v]) => lf.setItem(k, v))),
        getAll: async () => {
          const all = {};
          await lf.iterate((v, k) => {
            all[k] = v;
          });
          return all;
        },
        clear: () => lf.clear(),
        close: () => {},
      };
    },
  };
}

// The floor under every IndexedDB store: one transaction per call, nothing else; writes ask for
// `durability` (undefined: the browser's default).
const rawIndexedDB = (durability) => ({
  async open(name) {
    const opening = indexedDB.open(name);
    opening.onupgradeneeded = () => opening.result.createObjectStore("kv");
    const db = await request(opening);
    const options = durability ? { durability } : {};
    const store = (mode) => db.transaction("kv", mode, mode === "readwrite" ? options : {}).objectStore("kv");
    return {
      get: (k) => request(store("readonly").get(k)),
      async set(k, v) {
        const s = store("readwrite");
        s.put(v, k);
        await committed(s.transaction);
      },
      // A read and a write in one readwrite transaction.
      async setIfAbsent(k, v) {
        const s = store("readwrite");
        const done = committed(s.transaction);
        const absent = (await request(s.getKey(k))) === undefined;
        if (absent) s.put(v, k);
        await done;
        return absent;
      },
      async update(k, f) {
        const s = store("readwrite");
        const done = committed(s.transaction);
        s.put(f(await request(s.get(k))), k);
        await done;
      },
      async setMany(entries) {
        const s = store("readwrite");
        for (const [k, v] of entries) s.put(v, k);
        await committed(s.transaction);
      },
      async getAll() {
        const s = store("readonly");
        const [keys, values] = await Promise.all([request(s.getAllKeys()), request(s.getAll())]);
        return keys.map((k, i) => [k, values[i]]);
      },
      async clear() {
        const s = store("readwrite");
        s.clear();
        await committed(s.transaction);
      },
      close: () => db.close(),
    };
  },
});

/** Every contender; `Kv` is null when the kv-wasm package could not be loaded. */
export function contenders(Kv) {
  const list = [];
  if (Kv) {
    list.push(
      { id: "kv-idb", label: "kv-wasm (IndexedDB, strict durability)", library: "kv-wasm", ...kvWasm(Kv, { backend: "indexedDB" }) },
      {
        id: "kv-idb-default",
        label: "kv-wasm (IndexedDB, default durability)",
        library: "kv-wasm",
        ...kvWasm(Kv, { backend: "indexedDB", durability: "default" }),
      },
      { id: "kv-ls", label: "kv-wasm (localStorage, relaxed durability)", library: "kv-wasm", ...kvWasm(Kv, { backend: "localStorage" }) },
    );
  }
  list.push(
    { id: "idb-keyval", label: "idb-keyval (default durability)", library: "idb-keyval", ...idbKeyvalAdapter },
    { id: "lf-idb", label: "localForage (IndexedDB, default durability)", library: "localforage", ...localForage(localforage.INDEXEDDB) },
    { id: "lf-ls", label: "localForage (localStorage, relaxed durability)", library: "localforage", ...localForage(localforage.LOCALSTORAGE) },
    { id: "raw-idb", label: "raw IndexedDB (floor, default durability)", library: null, ...rawIndexedDB(undefined) },
    { id: "raw-idb-strict", label: "raw IndexedDB (floor, strict durability)", library: null, ...rawIndexedDB("strict") },
  );
  return list;
}
