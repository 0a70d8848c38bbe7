// Vite: import the .wasm's URL (`?url`) and hand it to init(). The dev server then serves the
// file even when kv-wasm is linked from outside the project (a path install), and the build
// emits it under a hashed name.
import init, { Kv } from "kv-wasm";
import wasm from "kv-wasm/kv_wasm_bg.wasm?url";
import { exercise } from "../shared/exercise.js";

await exercise(init, Kv, { module_or_path: wasm });
