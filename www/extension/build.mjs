// Copies the built kv-wasm package into this extension, because an extension can only load
// files from inside its own directory. Run after `cargo xtask package`:
//
//   node www/extension/build.mjs

import { cp, mkdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const FROM = fileURLToPath(new URL("../../kv-wasm/pkg/", import.meta.url));
const TO = join(HERE, "pkg");
const FILES = ["kv_wasm.js", "kv_wasm_bg.wasm"];
// The JS modules kv_wasm.js imports, when the crate has inline JS (wasm-bindgen's snippets).
const OPTIONAL = ["snippets"];

/** Copies the package into www/extension/pkg/; resolves to that extension's directory. */
export async function build() {
  for (const file of FILES) {
    if (!(await stat(join(FROM, file)).catch(() => null))) {
      throw new Error(
        `${join(FROM, file)} is missing: build the package first ` +
          "(cargo xtask package)",
      );
    }
  }
  // Start empty, so that no snippet of an older build lingers under its old hashed name.
  await rm(TO, { recursive: true, force: true });
  await mkdir(TO, { recursive: true });
  for (const file of FILES) await cp(join(FROM, file), join(TO, file));
  for (const dir of OPTIONAL) {
    if (await stat(join(FROM, dir)).catch(() => null)) {
      await cp(join(FROM, dir), join(TO, dir), { recursive: true });
    }
  }
  return HERE;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    const dir = await build();
    console.log(`Extension ready to load unpacked from ${dir}`);
  } catch (err) {
    console.error(err.message);
    process.exitCode = 1;
  }
}
