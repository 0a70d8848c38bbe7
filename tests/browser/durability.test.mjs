// What an acknowledged write survives: the whole browser killed (SIGKILL) while a page writes,
// then the same profile opened again. IndexedDB at strict durability must keep every write
// whose promise resolved; localStorage is "relaxed" (Chromium writes it to disk seconds
// later), and the test reports what it lost without requiring anything of it.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";
import { launchProfile, serve, tempProfile } from "./browser.mjs";

const KILLS = 3;

let server;
before(async () => {
  server = await serve();
});
after(async () => {
  await server?.close();
});

// Opens the store in a fresh tab of `context`; resolves the page.
async function opened(context, backend, durability) {
  const page = await context.newPage();
  await page.goto(`${server.url}/tests/browser/blank.html`);
  await page.evaluate(
    async ([backend, durability]) => {
      const { default: init, Kv } = await import("/kv-wasm/pkg/kv_wasm.js");
      await init();
      self.kv = await Kv.open("durable", durability ? { backend, durability } : { backend });
    },
    [backend, durability],
  );
  return page;
}

// Every Chromium process of the profile `dir`, killed at once.
function killBrowser(dir) {
  const pids = execFileSync("pgrep", ["-f", "--", `user-data-dir=${dir}`], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
  return pids.length;
}

for (const [backend, durability] of [
  ["indexedDB", "strict"],
  ["localStorage", undefined],
]) {
  test(`the browser killed mid-write ${KILLS} times: ${backend} keeps every acknowledged write (localStorage: reports what it lost)`, async () => {
    const profile = await tempProfile();
    const acknowledged = new Set();
    let lost = 0;
    try {
      for (let round = 0; round < KILLS; round++) {
        const context = await launchProfile(profile.dir);
        const page = await opened(context, backend, durability);
        assert.equal(await page.evaluate(() => self.kv.durability), durability ?? "relaxed");
        // Each write's key reaches the test once its promise resolved.
        await page.exposeFunction("ack", (key) => acknowledged.add(key));
        page
          .evaluate(async (round) => {
            for (let i = 0; ; i++) {
              const key = `r${round}:${i}`;
              await self.kv.set(key, i);
              await self.ack(key);
            }
          }, round)
          .catch(() => {});
        const floor = acknowledged.size + 100;
        for (let waited = 0; acknowledged.size < floor; waited++) {
          assert.ok(waited < 6000, `only ${acknowledged.size} writes acknowledged in two minutes`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.ok(killBrowser(profile.dir) > 0, "found the browser's processes");
        await context.close().catch(() => {});

        const reopened = await launchProfile(profile.dir);
        const check = await opened(reopened, backend, durability);
        const keys = new Set(await check.evaluate(() => self.kv.keys()));
        lost = [...acknowledged].filter((key) => !keys.has(key)).length;
        await reopened.close();
        if (backend === "indexedDB") {
          assert.equal(lost, 0, `round ${round}: ${lost} of ${acknowledged.size} acknowledged writes lost`);
        }
      }
      console.log(`${backend}: ${lost} of ${acknowledged.size} acknowledged writes lost after ${KILLS} kills`);
    } finally {
      await profile.remove();
    }
  });
}
