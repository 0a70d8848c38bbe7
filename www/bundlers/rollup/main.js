// Rollup keeps the glue's `new URL("kv_wasm_bg.wasm", import.meta.url)`: with the .wasm
// copied next to the bundle (rollup.config.mjs does it), init() finds it.
import init, { Kv } from "kv-wasm";
import { exercise } from "../shared/exercise.js";

await exercise(init, Kv);
