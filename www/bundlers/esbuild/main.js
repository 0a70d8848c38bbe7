// esbuild leaves the glue's `new URL("kv_wasm_bg.wasm", import.meta.url)` alone and copies no
// .wasm. So import the .wasm with the `file` loader (--loader:.wasm=file), which copies it to
// the output and gives its path relative to the bundle, and hand that URL to init().
import init, { Kv } from "kv-wasm";
import wasm from "kv-wasm/kv_wasm_bg.wasm";
import { exercise } from "../shared/exercise.js";

await exercise(init, Kv, { module_or_path: new URL(wasm, import.meta.url) });
