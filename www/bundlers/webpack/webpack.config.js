import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

export default {
  mode: "production",
  entry: here("./main.js"),
  // An ES module bundle (the page loads it with type="module"), since main.js awaits at top level.
  experiments: { outputModule: true },
  output: { path: here("./dist"), filename: "main.js", module: true, clean: true },
};
