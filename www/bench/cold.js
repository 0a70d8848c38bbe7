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

// Where kv-wasm's cold start goes: milliseconds since `started` at the end of each step.
const phases = {};
const mark = (phase) => (phases[phase] = performance.now() - started);

async function kvWasm(options) {
  const pkg = await import("/kv-wasm/pkg/kv_wasm.js");
  mark("imported");
  await pkg.default();
  mark("instantiated");
  const kv = await pkg.Kv.open(name, options);
  mark("opened");
  return { get: (k) => kv.get(k), setMany: (e) => kv.setMany(e), clear: () => kv.clear() };
}

async function idbKeyval() {
  const idb = await import("/www/node_modules/idb-keyval/dist/index.js");
  mark("imported");
  const store = idb.createStore(name, "kv");
  return { get: (k) => idb.get(k, store), setMany: (e) => idb.setMany(e, store), clear: () => idb.clear(store) };
}

// The floor of any package that ships a .wasm: idb-keyval, and after its JS an empty module
// (`empty.wasm`: the 8-byte header `\0asm` version 1, no sections) fetched and instantiated as
// wasm-bindgen's `init()` does, so one more file in turn and nothing to compile.
async function wasmFloor() {
  const store = await idbKeyval();
  await WebAssembly.instantiateStreaming(fetch("/www/bench/empty.wasm"), {});
  mark("instantiated");
  return store;
}

async function localForage(driver) {
  await loadScript("/www/node_modules/localforage/dist/localforage.min.js");
  mark("imported");
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
  "wasm-floor": wasmFloor,
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
  return { ms, phases };
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
