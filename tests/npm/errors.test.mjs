// What a JS caller hears when a call is wrong, from the built package in Node.js (the memory
// backend): errors that name the argument, the option and what to do, not Rust's terms.
//
//   node --test tests/npm/errors.test.mjs      (after the package is built into kv-wasm/pkg)

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { before, test } from "node:test";
import init, { Kv } from "../../kv-wasm/pkg/kv_wasm.js";

before(async () => {
  await init({ module_or_path: await readFile(new URL("../../kv-wasm/pkg/kv_wasm_bg.wasm", import.meta.url)) });
});

const memory = (limits) => Kv.open(`errors-${Math.random()}`, { backend: "memory", limits });

test("new Kv() throws a TypeError that says to use Kv.open", () => {
  assert.throws(() => new Kv(), { name: "TypeError", message: /Kv\.open/ });
});

test("setMany and deleteMany reject arguments of the wrong shape with a TypeError naming the argument", async () => {
  const kv = await memory();
  await kv.set("kept", 1);
  const cases = [
    ["setMany", 42, /^setMany\(entries\) takes an object, a Map or an iterable of \[key, value\] pairs, not the number 42$/],
    ["setMany", null, /^setMany\(entries\) takes .*, not null$/],
    ["setMany", undefined, /^setMany\(entries\) takes .*, not undefined$/],
    ["setMany", "ab", /^setMany\(entries\) takes .*, not the string "ab"$/],
    ["setMany", new Date(0), /^setMany\(entries\) takes .*, not a Date$/],
    ["setMany", [["a", 1], 7], /^each of setMany's entries is a \[key, value\] pair, not the number 7$/],
    ["deleteMany", "abc", /^deleteMany\(keys\) takes an array \(or any iterable\) of string keys, not the string "abc"$/],
    ["deleteMany", 5, /^deleteMany\(keys\) takes .*, not the number 5$/],
    ["deleteMany", null, /^deleteMany\(keys\) takes .*, not null$/],
    ["deleteMany", { kept: true }, /^deleteMany\(keys\) takes .*, not a plain object$/],
  ];
  for (const [method, argument, message] of cases) {
    await assert.rejects(kv[method](argument), { name: "TypeError", message }, `${method}(${String(argument)})`);
  }
  assert.deepEqual(await kv.getAll(), { kept: 1 });
});

test("limit errors name the option of Kv.open that sets the limit", async () => {
  const kv = await memory({ maxKeyBytes: 4, maxValueBytes: 10, maxEntries: 2 });
  await kv.set("k", "12345678");
  await assert.rejects(kv.set("k", "123456789"), {
    name: "LimitExceededError",
    message: /^the value's JSON is 11 bytes, over limits\.maxValueBytes = 10: nothing was written; store less, or open the store with larger limits$/,
  });
  await assert.rejects(kv.set("12345", 1), {
    name: "LimitExceededError",
    message: /^the key is 5 bytes, over limits\.maxKeyBytes = 4: /,
  });
  await kv.set("k2", 1);
  await assert.rejects(kv.setMany({ k3: 1 }), {
    name: "LimitExceededError",
    message: /^the store would hold 3 entries, over limits\.maxEntries = 2: /,
  });
  assert.deepEqual(await kv.getAll(), { k: "12345678", k2: 1 });
  const deep = JSON.parse(`${"[".repeat(127)}0${"]".repeat(127)}`);
  await assert.rejects((await memory()).set("k", deep), (error) => {
    assert.equal(error.name, "LimitExceededError");
    assert.match(error.message, /127 deep, over 126/);
    assert.doesNotMatch(error.message, /MAX_NESTING|max_|_bytes|_entries/);
    return true;
  });
});

test("a backend this host does not have is refused with what to use, and no retry advice", async () => {
  for (const [backend, instead] of [
    ["indexedDB", /backend: "memory"/],
    ["localStorage", /backend: "indexedDB"/],
  ]) {
    await assert.rejects(Kv.open("absent", { backend }), (error) => {
      assert.equal(error.name, "StorageUnavailableError");
      assert.match(error.message, instead);
      assert.doesNotMatch(error.message, /retry/i);
      return true;
    });
  }
});
