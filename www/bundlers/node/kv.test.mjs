// kv-wasm in Node.js, as a project's unit tests would use it: the memory backend, with the
// module initialised from the .wasm's bytes (Node's fetch cannot read a file: URL).
//
//   node --test www/bundlers/node/

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { before, test } from "node:test";
import init, { Kv } from "kv-wasm";

before(async () => {
  await init({ module_or_path: await readFile(new URL(import.meta.resolve("kv-wasm/kv_wasm_bg.wasm"))) });
});

test("the memory backend keeps every kind of write", async () => {
  const kv = await Kv.open("unit", { backend: "memory" });
  assert.equal(kv.backend, "memory");
  await kv.set("last_command", "ping");
  await kv.set("seen:1");
  assert.equal(await kv.get("last_command"), "ping");
  assert.equal(typeof (await kv.get("seen:1")), "number");
  assert.equal(await kv.get("absent", 0), 0);
  assert.equal(await kv.setIfAbsent("seen:1"), false);
  assert.equal(await kv.update("hits", (n) => (n ?? 0) + 1), 1);
  await kv.setMany({ a: [1, { b: null }], c: true });
  assert.equal(await kv.deleteMany(["a", "missing"]), 1);
  assert.equal(await kv.delete("c"), true);
  assert.deepEqual(await kv.keys(), ["hits", "last_command", "seen:1"]);
  assert.equal(await kv.has("hits"), true);
  const changes = [];
  const off = kv.onChange((event) => changes.push(event));
  await kv.clear();
  off();
  assert.deepEqual(await kv.getAll(), {});
  assert.deepEqual(changes, [{ origin: "local", clear: true, changes: [] }]);
  await kv.close();
  await assert.rejects(kv.get("hits"), { name: "ClosedError" });
});

test("two memory stores of one name share nothing", async () => {
  const a = await Kv.open("same", { backend: "memory" });
  const b = await Kv.open("same", { backend: "memory" });
  await a.set("k", 1);
  assert.equal(await b.has("k"), false);
});

test("IndexedDB, the default backend, is refused in Node.js with the backend to use", async () => {
  await assert.rejects(Kv.open("persisted"), {
    name: "StorageUnavailableError",
    message: /IndexedDB is not available.*backend: "memory"/,
  });
  await assert.rejects(Kv.open("persisted", { backend: "localStorage" }), {
    name: "StorageUnavailableError",
    message: /localStorage is not available/,
  });
});
