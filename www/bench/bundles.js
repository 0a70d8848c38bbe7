// The files a user ships for each library, as paths from the repository root, minified where
// the library ships a minified build. Shared by the page and by run.mjs.
export const BUNDLES = [
  { library: "kv-wasm", files: ["/kv-wasm/pkg/kv_wasm.js", "/kv-wasm/pkg/kv_wasm_bg.wasm"] },
  { library: "idb-keyval", files: ["/www/node_modules/idb-keyval/dist/umd.js"] },
  { library: "localforage", files: ["/www/node_modules/localforage/dist/localforage.min.js"] },
];

/**
 * Sizes one bundle: its files plus every module they import by a relative path (wasm-bindgen
 * puts inline JS in snippets/ under a hashed name, so the list cannot be written down).
 * `read(path)` resolves to a Uint8Array; `gzip(bytes)` to the compressed length. Each file's
 * own sizes are in `parts`, so the .wasm and the JS glue can be told apart.
 */
export async function measureBundle({ library, files }, read, gzip) {
  const seen = new Set();
  const queue = [...files];
  const parts = [];
  while (queue.length) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    seen.add(path);
    const bytes = await read(path);
    parts.push({ file: path, raw: bytes.byteLength, gzip: await gzip(bytes) });
    if (path.endsWith(".js")) {
      const text = new TextDecoder().decode(bytes);
      for (const [, spec] of text.matchAll(/(?:from|import)\s*["'](\.{1,2}\/[^"']+)["']/g)) {
        queue.push(new URL(spec, `http://x${path}`).pathname);
      }
    }
  }
  const sum = (key) => parts.reduce((total, part) => total + part[key], 0);
  return { library, files: [...seen], raw: sum("raw"), gzip: sum("gzip"), parts };
}
