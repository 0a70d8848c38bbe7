// What every browser test shares: Debian's Chromium driven by playwright-core, the repository
// served by www/serve.mjs, and a directory for artifacts.
//
// Nothing here downloads a browser; the tests use the one installed at /usr/bin/chromium
// (override with CHROMIUM=/path/to/chrome).

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { start } from "../../www/serve.mjs";

export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const ARTIFACTS = join(REPO, "target", "browser-artifacts");
const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";

// Quiet and self-contained: no sandbox (we run as root in a container), no GPU, and none of
// the background traffic a fresh profile would otherwise try to send off the machine.
const FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A headless Chromium; close it when done. */
export function launch() {
  return chromium.launch({ executablePath: EXECUTABLE, args: FLAGS });
}

/** A Chromium with a profile on disk and, optionally, an unpacked extension loaded. */
export function launchProfile(userDataDir, { extension } = {}) {
  const args = [...FLAGS];
  if (extension) {
    args.push(`--disable-extensions-except=${extension}`, `--load-extension=${extension}`);
  }
  // headless: false stops playwright-core adding its own --headless; ours is in FLAGS.
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: EXECUTABLE,
    headless: false,
    args,
  });
}

/** Serves the repository on a free port; resolves to { url, close }. */
export function serve() {
  return start({ port: 0 });
}

export async function artifactPath(name) {
  await mkdir(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** A fresh profile directory, removed by the returned cleanup function. */
export async function tempProfile() {
  const dir = await mkdtemp(join(tmpdir(), "kv-browser-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Fails the test with the page's own errors, which say more than a timeout does. */
export function collectErrors(page) {
  const errors = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
  });
  return errors;
}

/**
 * Serves the repository and launches Chromium before a test file's tests, and stops both
 * after them. The returned object's `server` and `browser` are set once the tests run.
 */
export function withBrowser() {
  const session = {};
  before(async () => {
    session.server = await serve();
    session.browser = await launch();
  });
  after(async () => {
    await session.browser?.close();
    await session.server?.close();
  });
  return session;
}
