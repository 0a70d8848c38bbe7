// Finishes the npm package wasm-pack wrote into kv-wasm/pkg: what wasm-pack's package.json
// lacks for bundlers and for publishing. `cargo xtask package` runs it after wasm-pack:
//
//   node kv-wasm/package.mjs [kv-wasm/pkg]

import { readFile, rm, writeFile } from "node:fs/promises";
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

/**
 * The module at `path` (a snippet: ES module syntax, declarations at column 0) as an
 * expression: a function scope that runs its statements and returns its exports. Its own
 * names stay in that scope, so none can collide with the glue's. Anything this cannot rewrite
 * soundly (imports, `export {...}`, `export default`, `import.meta`) is an error.
 */
function moduleScope(source, path) {
  const names = [];
  const body = source.replace(
    /^export ((?:async )?function\*?|class|const|let|var) ([\w$]+)/gm,
    (_, kind, name) => {
      names.push(name);
      return `${kind} ${name}`;
    },
  );
  const unsupported = body.match(/^(?:export|import)\b.*$/m) ?? body.match(/\bimport\.meta\b.*$/m);
  if (unsupported) throw new Error(`${path}: cannot inline \`${unsupported[0]}\``);
  return { names, scope: `(() => {\n${body}\nreturn { ${names.join(", ")} };\n})()` };
}

/**
 * Writes the modules wasm-bindgen put in `dir`/snippets/ (our `src/browser.js`) into the glue
 * and removes them, so a page fetches one JS module before the .wasm rather than two in turn:
 * an ES module's imports are fetched only once it has been fetched and parsed, so each level
 * costs a round trip before `init()` can even start the .wasm's fetch (3-7 ms a fetch from
 * the benchmark's local server; `www/bench/cold.js` prints each phase). Bundlers merge
 * modules anyway; this is for pages and extensions that import `kv_wasm.js` as it is.
 */
async function inlineSnippets(dir) {
  const path = join(dir, "kv_wasm.js");
  const scopes = new Map();
  const lines = [];
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    const named = line.match(/^import \{([^}]*)\} from ['"](\.\/snippets\/[^'"]+)['"];?$/);
    const star = line.match(/^import \* as ([\w$]+) from ['"](\.\/snippets\/[^'"]+)['"];?$/);
    const spec = (named ?? star)?.[2];
    if (!spec) {
      if (/^import\b/.test(line)) throw new Error(`${path}: an import this cannot inline: ${line}`);
      lines.push(line);
      continue;
    }
    if (!scopes.has(spec)) {
      const snippet = join(dir, spec);
      const { names, scope } = moduleScope(await readFile(snippet, "utf8"), snippet);
      scopes.set(spec, { name: `snippet${scopes.size}`, names });
      lines.push(`const snippet${scopes.size - 1} = ${scope};`);
    }
    const { name, names } = scopes.get(spec);
    // A name the glue imports that the rewrite did not find exported would be `undefined`.
    const missing = (named?.[1].split(",") ?? []).map((n) => n.trim()).filter((n) => n && !names.includes(n));
    if (missing.length) throw new Error(`${spec}: the glue imports ${missing.join(", ")}, which it does not export as declared`);
    lines.push(named ? `const {${named[1]}} = ${name};` : `const ${star[1]} = ${name};`);
  }
  await writeFile(path, lines.join("\n"));
  await rm(join(dir, "snippets"), { recursive: true, force: true });
}

/** Rewrites `dir`/package.json, inlines the snippets and strips the glue's comments; resolves the package.json. */
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
    // The glue (with the JS module it imported written into it), its types and the .wasm;
    // npm adds package.json and README.md.
    files: ["kv_wasm.js", "kv_wasm.d.ts", "kv_wasm_bg.wasm"],
    // Named, so that a bundler can be handed the .wasm (`kv-wasm/kv_wasm_bg.wasm?url` in
    // Vite) and Node can find it (`import.meta.resolve`); with `exports`, nothing unnamed
    // can be imported.
    exports: {
      ".": { types: "./kv_wasm.d.ts", default: "./kv_wasm.js" },
      "./kv_wasm_bg.wasm": "./kv_wasm_bg.wasm",
      "./package.json": "./package.json",
    },
    // The glue does nothing when imported but define things.
    sideEffects: false,
  };
  await writeFile(path, `${JSON.stringify(finished, null, 2)}\n`);
  await inlineSnippets(dir);
  const glue = join(dir, "kv_wasm.js");
  await writeFile(glue, stripComments(await readFile(glue, "utf8"), glue));
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
