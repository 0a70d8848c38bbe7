import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { nodeResolve } from "@rollup/plugin-node-resolve";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** Copies kv-wasm's .wasm next to the bundle, where the package's init() looks for it. */
function kvWasm() {
  return {
    name: "kv-wasm",
    async generateBundle() {
      const wasm = await this.resolve("kv-wasm/kv_wasm_bg.wasm");
      this.emitFile({ type: "asset", fileName: "kv_wasm_bg.wasm", source: await readFile(wasm.id) });
    },
  };
}

export default {
  input: here("./main.js"),
  output: { dir: here("./dist"), format: "es" },
  plugins: [nodeResolve(), kvWasm()],
};
