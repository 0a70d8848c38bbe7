// kv-wasm as a web developer gets it: installed into www/bundlers from a path and from the
// `npm pack` tarball, type-checked with tsc --strict, unit-tested in Node.js, and bundled by
// Vite (build and dev server), webpack 5, esbuild and Rollup into pages that must work in
// headless Chromium.
//
//   node --test tests/npm/bundlers.test.mjs   (after `cargo xtask package`; `cargo xtask setup`
//                                              installs www/bundlers' node_modules)

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO, collectErrors, withBrowser } from "../browser/browser.mjs";

const BUNDLERS = join(REPO, "www", "bundlers");
const PKG = join(REPO, "kv-wasm", "pkg");
const EXPECTED = { backend: "indexedDB", greeting: "hello", fallback: 0, keys: ["greeting", "list", "n"] };

// Without NODE_TEST_CONTEXT, a `node --test` run from here would report to this one instead of
// failing. Colour is off: with `CI` set (as CI machines do) Vite colours its output even into a
// pipe, and the port it prints is then wrapped in escape codes.
const { NODE_TEST_CONTEXT: _, FORCE_COLOR: __, ...INHERITED } = process.env;
const ENV = { ...INHERITED, NO_COLOR: "1" };

/** How long one bundler command or server start may take before the test fails. */
const PATIENCE_MS = 180_000;

/** `text` without terminal escape sequences (colours, bold). */
const plain = (text) => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/** Runs `command` to completion in `cwd`; resolves its output, rejects with it on failure. */
function run(command, args, cwd = BUNDLERS) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), PATIENCE_MS);
    child.on("close", () => clearTimeout(timer));
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`)),
    );
  });
}

const npm = (...args) => run("npm", [...args, "--no-audit", "--no-fund"]);

/** A port no one listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `npm run dev:vite` on 127.0.0.1; resolves { url, stop } once it listens. */
async function viteDev() {
  const port = await freePort();
  const child = spawn(
    "npm",
    ["run", "dev:vite", "--", "--host", "127.0.0.1", "--port", String(port), "--strictPort"],
    { cwd: BUNDLERS, env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.on("close", resolve);
      process.kill(-child.pid, "SIGTERM");
    });
  let output = "";
  try {
    await new Promise((resolve, reject) => {
      const onData = (data) => {
        output += data;
        if (plain(output).includes(`127.0.0.1:${port}`)) resolve();
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("close", (code) => reject(new Error(`vite exited ${code} before listening:\n${output}`)));
      setTimeout(
        () => reject(new Error(`vite printed no address within ${PATIENCE_MS} ms:\n${output}`)),
        PATIENCE_MS,
      ).unref();
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `http://127.0.0.1:${port}/`, stop };
}

const session = withBrowser();

/** Opens `url` in a fresh context; resolves what the page wrote into #result. */
async function resultOf(url) {
  const context = await session.browser.newContext();
  try {
    const page = await context.newPage();
    const errors = collectErrors(page);
    await page.goto(url);
    const text = await page
      .locator("#result")
      .textContent({ timeout: 30_000 })
      .catch((e) => `no result (${e.message}); page errors: ${errors.join("; ")}`);
    try {
      return JSON.parse(text);
    } catch {
      return { error: text };
    }
  } finally {
    await context.close();
  }
}

let tarballDir;
before(async () => {
  tarballDir = await mkdtemp(join(tmpdir(), "kv-wasm-pack-"));
});
after(async () => {
  // Leave www/bundlers as `npm ci` made it.
  await npm("uninstall", "--no-save", "kv-wasm").catch(() => {});
  await rm(tarballDir, { recursive: true, force: true });
});

const installs = {
  "a path install": async () => npm("install", "--no-save", "--prefer-offline", PKG),
  "the npm pack tarball": async () => {
    await run("npm", ["pack", "--pack-destination", tarballDir], PKG);
    const [tarball] = (await readdir(tarballDir)).filter((f) => f.endsWith(".tgz"));
    return npm("install", "--no-save", "--prefer-offline", join(tarballDir, tarball));
  },
};

for (const [install, installIt] of Object.entries(installs)) {
  describe(`kv-wasm from ${install}`, () => {
    before(installIt);

    test("tsc --strict accepts the package and every call of types/check.ts, and refuses each wrong one", async () => {
      await npm("run", "types");
    });

    test("the Node.js example's unit tests pass on the memory backend", async () => {
      await npm("run", "test:node");
    });

    for (const bundler of ["vite", "webpack", "esbuild", "rollup"]) {
      test(`${bundler}'s build works in Chromium`, async () => {
        await npm("run", `build:${bundler}`);
        const page = bundler === "vite" ? "vite/dist/index.html" : `${bundler}/index.html`;
        assert.deepEqual(await resultOf(`${session.server.url}/www/bundlers/${page}`), EXPECTED);
      });
    }

    test("Vite's dev server serves a page that works in Chromium", async () => {
      const dev = await viteDev();
      try {
        assert.deepEqual(await resultOf(dev.url), EXPECTED);
      } finally {
        await dev.stop();
      }
    });
  });
}
