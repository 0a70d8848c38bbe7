// What a page loads for kv-wasm, gzipped (zlib level 9, as `cargo xtask bench` reports it):
// the .wasm, the JS glue and every snippet the glue imports. A budget in bytes, not a time.
//
//   node --test tests/npm/size.test.mjs      (after `cargo xtask package`)
//
// Issue 14 asks for 24 KiB, which is not reached. The size work took the package from 76.2 to
// 69.5 KiB; expiry (its core code, the JS calls and memoize) then added 11.8 KiB, to 81.3 KiB.
// The budget is what is shipped now, rounded up: it keeps the package from growing unnoticed.
// Lower it when the package shrinks.

import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const PKG = fileURLToPath(new URL("../../kv-wasm/pkg/", import.meta.url));
const BUDGET_KIB = 82;

async function loaded() {
  const files = ["kv_wasm_bg.wasm", "kv_wasm.js"];
  // package.mjs writes wasm-bindgen's snippets into the glue; any left would load too.
  for (const entry of await readdir(join(PKG, "snippets"), { recursive: true }).catch(() => [])) {
    if (entry.endsWith(".js")) files.push(join("snippets", entry));
  }
  return Promise.all(
    files.map(async (file) => {
      const bytes = await readFile(join(PKG, file));
      return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    }),
  );
}

test(`everything a page loads is at most ${BUDGET_KIB} KiB gzipped`, async () => {
  const files = await loaded();
  const total = files.reduce((sum, f) => sum + f.gzip, 0);
  const detail = files.map((f) => `${f.file}: ${f.raw} B raw, ${f.gzip} B gzip`).join("; ");
  assert.ok(total <= BUDGET_KIB * 1024, `${(total / 1024).toFixed(1)} KiB gzip (${detail})`);
});

test("the shipped JS has no comment lines left (package.mjs strips them)", async () => {
  for (const { file } of (await loaded()).filter((f) => f.file.endsWith(".js"))) {
    const text = await readFile(join(PKG, file), "utf8");
    assert.ok(!/^\s*\/\//m.test(text), `${file} still has comment lines`);
  }
});
