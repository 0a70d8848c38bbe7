// Cold start, as a service worker's wake or a page's first read pays it: from this module's
// start to the first `get` resolved, in a fresh page, loading nothing but the library under
// test (its JS, and for kv-wasm its .wasm, compiled and instantiated), opening the store and
// reading one key. The page's own load (HTML, this module) comes before the clock starts.
//
//   cold.html?c=ID&size=N           measures once; leaves window.coldResult = { ms } (or error)
//   cold.html?c=ID&size=N&fill=1    fills the store `cold-ID-N` first (not timed)
//   cold.html?c=ID&size=N&clear=1   clears it
//
// run.mjs opens it many times, alternating the contenders, and reports ranges.

const started = performance.now();
const params = new URLSearchParams(location.search);
const id = params.get("c");
const size = Number(params.get("size"));
const name = `cold-${id}-${size}`;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${src} did not load`));
    document.head.append(script);
  });
}

async function kvWasm(options) {
  const pkg = await import("/kv-wasm/pkg/kv_wasm.js");
  await pkg.default();
  const kv = await pkg.Kv.open(name, options);
  return { get: (k) => kv.get(k), setMany: (e) => kv.setMany(e), clear: () => kv.clear() };
}

async function idbKeyval() {
  const idb = await import("/www/node_modules/idb-keyval/dist/index.js");
  const store = idb.createStore(name, "kv");
  return { get: (k) => idb.get(k, store), setMany: (e) => idb.setMany(e, store), clear: () => idb.clear(store) };
}

async function localForage(driver) {
  await loadScript("/www/node_modules/localforage/dist/localforage.min.js");
  const lf = globalThis.localforage.createInstance({ name, storeName: "kv", driver: globalThis.localforage[driver] });
  await lf.ready();
  return {
    get: (k) => lf.getItem(k),
    setMany: (e) => Promise.all(e.map(([k, v]) => lf.setItem(k, v))),
    clear: () => lf.clear(),
  };
}

const OPEN = {
  "kv-idb": () => kvWasm({ backend: "indexedDB" }),
  "kv-idb-default": () => kvWasm({ backend: "indexedDB", durability: "default" }),
  "kv-ls": () => kvWasm({ backend: "localStorage" }),
  "idb-keyval": idbKeyval,
  "lf-idb": () => localForage("INDEXEDDB"),
  "lf-ls": () => localForage("LOCALSTORAGE"),
};

async function run() {
  const store = await OPEN[id]();
  const value = await store.get("id:0");
  const ms = performance.now() - started;
  if (params.has("fill")) {
    await store.clear();
    for (let from = 0; from < size; from += 1000) {
      await store.setMany(Array.from({ length: Math.min(1000, size - from) }, (_, i) => [`id:${from + i}`, 1_700_000_000 + from + i]));
    }
  } else if (params.has("clear")) {
    await store.clear();
  } else if (value !== 1_700_000_000) {
    throw new Error(`id:0 held ${JSON.stringify(value)}`);
  }
  return { ms };
}

run().then(
  (result) => {
    document.getElementById("status").textContent = `${result.ms.toFixed(2)} ms`;
    window.coldResult = result;
  },
  (err) => {
    window.coldResult = { error: `${err?.name ?? "Error"}: ${err?.message ?? err}` };
  },
);
