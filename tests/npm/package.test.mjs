// The npm package as published: package.json says what a registry and a bundler need, and
// `npm pack` ships exactly the files a user needs.
//
//   node --test tests/npm/package.test.mjs   (after `cargo xtask package`)

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const PKG = fileURLToPath(new URL("../../kv-wasm/pkg/", import.meta.url));
const manifest = async () => JSON.parse(await readFile(join(PKG, "package.json"), "utf8"));

test("package.json has everything publishing needs", async () => {
  const pkg = await manifest();
  assert.equal(pkg.name, "kv-wasm");
  assert.equal(pkg.type, "module");
  assert.match(pkg.description, /IndexedDB and localStorage/);
  assert.equal(pkg.license, "MIT OR Apache-2.0");
  assert.deepEqual(pkg.repository, { type: "git", url: "https://github.com/kv-rs/kv", directory: "kv-wasm" });
  assert.ok(pkg.keywords.includes("indexeddb") && pkg.keywords.includes("localstorage"), `${pkg.keywords}`);
  assert.equal(pkg.types, "kv_wasm.d.ts");
  assert.equal(pkg.sideEffects, false);
});

test("exports name the module, its types and the .wasm, and nothing else", async () => {
  assert.deepEqual((await manifest()).exports, {
    ".": { types: "./kv_wasm.d.ts", default: "./kv_wasm.js" },
    "./kv_wasm_bg.wasm": "./kv_wasm_bg.wasm",
    "./package.json": "./package.json",
  });
});

test("npm pack ships exactly the glue, its types, the .wasm, package.json and the README", async () => {
  const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json"], { cwd: PKG });
  const [{ files }] = JSON.parse(stdout);
  const paths = files.map((f) => f.path).sort();
  assert.deepEqual(paths, ["README.md", "kv_wasm.d.ts", "kv_wasm.js", "kv_wasm_bg.wasm", "package.json"]);
});

test("the glue imports no other module: a page fetches one JS file before the .wasm", async () => {
  const glue = await readFile(join(PKG, "kv_wasm.js"), "utf8");
  assert.deepEqual(glue.match(/^\s*import\b.*$/gm) ?? [], []);
  assert.deepEqual(glue.match(/\bimport\s*\(.*$/gm) ?? [], []);
});
