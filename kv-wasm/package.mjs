// Finishes the npm package wasm-pack wrote into kv-wasm/pkg: what wasm-pack's package.json
// lacks for bundlers and for publishing. `cargo xtask package` runs it after wasm-pack:
//
//   node kv-wasm/package.mjs [kv-wasm/pkg]

import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const DEFAULT_DIR = fileURLToPath(new URL("./pkg/", import.meta.url));

/**
 * `source` without its comment lines and indentation: what a page loads is a third smaller
 * gzipped (the comments are for readers of src/, the types for readers of kv_wasm.d.ts).
 * Line by line, keeping every line break, so that no statement changes meaning (automatic
 * semicolons); sound for these files because no string or template in them spans lines
 * (checked: a line with an odd number of backticks is an error). Written here rather than
 * with a minifier, so that packaging needs nothing but node.
 */
export function stripComments(source, name = "source") {
  const out = [];
  let inBlock = false;
  for (const line of source.split("\n")) {
    const text = line.trim();
    if ((text.split("`").length - 1) % 2 === 1) {
      throw new Error(`${name}: a template literal spans lines; stripComments cannot strip it`);
    }
    if (inBlock) {
      inBlock = !text.includes("*/");
      continue;
    }
    // `/* @ts-self-types=... */` tells TypeScript and Deno where the types are.
    if (text.startsWith("/*") && !text.startsWith("/* @")) {
      inBlock = !text.includes("*/");
      continue;
    }
    if (text === "" || text.startsWith("//")) continue;
    out.push(text);
  }
  return `${out.join("\n")}\n`;
}

/** The JS files of the package at `dir`: the glue and every snippet wasm-bindgen copied. */
async function jsFiles(dir) {
  const files = [join(dir, "kv_wasm.js")];
  const snippets = join(dir, "snippets");
  for (const entry of await readdir(snippets, { recursive: true }).catch(() => [])) {
    if (entry.endsWith(".js")) files.push(join(snippets, entry));
  }
  return files;
}

/** Rewrites `dir`/package.json and strips the JS files' comments; resolves the package.json. */
export async function finish(dir = DEFAULT_DIR) {
  const path = join(dir, "package.json");
  const pkg = JSON.parse(await readFile(path, "utf8"));
  if (pkg.name !== "kv-wasm" || pkg.main !== "kv_wasm.js") {
    throw new Error(`${path} is not wasm-pack's kv-wasm package (built with --target web?)`);
  }
  const finished = {
    ...pkg,
    repository: { ...pkg.repository, directory: "kv-wasm" },
    homepage: `${pkg.repository.url}/tree/main/kv-wasm#readme`,
    // `files` as wasm-pack lists them: the glue, its types, the .wasm and the JS module the
    // glue imports (snippets/); npm adds package.json and README.md.
    files: ["kv_wasm.js", "kv_wasm.d.ts", "kv_wasm_bg.wasm", "snippets/"],
    // Named, so that a bundler can be handed the .wasm (`kv-wasm/kv_wasm_bg.wasm?url` in
    // Vite) and Node can find it (`import.meta.resolve`); with `exports`, nothing unnamed
    // can be imported.
    exports: {
      ".": { types: "./kv_wasm.d.ts", default: "./kv_wasm.js" },
      "./kv_wasm_bg.wasm": "./kv_wasm_bg.wasm",
      "./package.json": "./package.json",
    },
    // No module does anything when imported but define things (wasm-pack's "./snippets/*"
    // names none of the files inside snippets/ anyway: webpack's `*` stops at a `/`).
    sideEffects: false,
  };
  await writeFile(path, `${JSON.stringify(finished, null, 2)}\n`);
  for (const file of await jsFiles(dir)) {
    await writeFile(file, stripComments(await readFile(file, "utf8"), file));
  }
  return finished;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    await finish(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_DIR);
  } catch (err) {
    console.error(err.message);
    process.exitCode = 1;
  }
}
