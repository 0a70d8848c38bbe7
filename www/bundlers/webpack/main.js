// webpack 5: nothing to configure. It sees the glue's `new URL("kv_wasm_bg.wasm",
// import.meta.url)`, emits the .wasm as an asset and points the URL at it, so init() finds it.
import init, { Kv } from "kv-wasm";
import { exercise } from "../shared/exercise.js";

await exercise(init, Kv);
