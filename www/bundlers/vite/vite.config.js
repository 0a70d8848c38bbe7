import { fileURLToPath } from "node:url";

export default {
  root: fileURLToPath(new URL(".", import.meta.url)),
  // Relative asset URLs, so that dist/ works from any directory it is served from.
  base: "./",
  build: { outDir: "dist", emptyOutDir: true },
};
