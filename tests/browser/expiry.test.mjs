// Expiry across tabs of one origin: a tab whose copy holds a key as expired never removes it
// from storage once another tab has set it again, whether it purges or removes expired keys
// within its own writes.

import assert from "node:assert/strict";
import { test } from "node:test";
import { collectErrors, withBrowser } from "./browser.mjs";

const session = withBrowser();

// 2025-11-21T04:53:20Z, on every tab's hand-set clock (`self.now`).
const T0 = 1_763_700_800_000;

// Runs in a page: opens the store with the package from the repository, on the clock `self.now`.
const OPEN = `
  const { default: init, Kv } = await import(new URL("/kv-wasm/pkg/kv_wasm.js", self.origin));
  await init();
  self.now = t0;
  self.kv = await Kv.open(name, { backend, clock: () => self.now });
`;

function run(page, body, args) {
  return page.evaluate(
    async ([body, args]) => {
      const f = new Function(...Object.keys(args), `return (async () => { ${body} })();`);
      return f(...Object.values(args));
    },
    [body, args],
  );
}

for (const backend of ["indexedDB", "localStorage"]) {
  test(`one tab sets expired keys again while the other purges and writes (${backend}): every key set again survives`, async () => {
    const context = await session.browser.newContext();
    const pages = [];
    for (let i = 0; i < 2; i++) {
      const page = await context.newPage();
      await page.goto(`${session.server.url}/tests/browser/blank.html`);
      pages.push(page);
    }
    const errors = pages.flatMap(collectErrors);
    const [setter, purger] = pages;
    const name = `expiry-race-${backend}`;
    await Promise.all(pages.map((page) => run(page, OPEN, { name, backend, t0: T0 })));
    const keys = Array.from({ length: 60 }, (_, i) => `k:${i}`);
    await run(setter, `await kv.setMany(keys.map((k) => [k, "old"]), { ttl: 1 });`, { keys });
    await purger.waitForFunction(async (n) => (await self.kv.keys()).length === n, keys.length);
    // Both clocks pass the expiry: every key is expired in both copies.
    await Promise.all(pages.map((page) => page.evaluate((t) => (self.now = t), T0 + 2000)));
    assert.deepEqual(await run(purger, "return kv.keys();", {}), []);

    const [, removed] = await Promise.all([
      // One key at a time, each set again without a ttl.
      run(setter, `for (const k of keys) await kv.set(k, "new"); return true;`, { keys }),
      // Meanwhile the other tab purges, and makes plain writes, each of which removes up to 16
      // keys its copy holds as expired: decided against storage, so never a key set again.
      run(
        purger,
        `let removed = 0;
         for (let i = 0; i < 60; i++) {
           if (i % 3 === 0) removed += await kv.purge();
           else await kv.set(\`other:\${i % 5}\`, i);
         }
         return removed;`,
        {},
      ),
    ]);

    const fresh = await context.newPage();
    await fresh.goto(`${session.server.url}/tests/browser/blank.html`);
    await run(fresh, OPEN, { name, backend, t0: T0 + 2000 });
    const all = await run(fresh, "return kv.getAll();", {});
    const lost = keys.filter((k) => all[k] !== "new");
    assert.deepEqual(lost, [], `keys set again that storage lost (the purger removed ${removed} by purge)`);
    // Both copies end equal to storage.
    for (const page of pages) {
      await page.waitForFunction(
        async (expected) => JSON.stringify(await self.kv.getAll()) === expected,
        JSON.stringify(all),
        { timeout: 10_000 },
      );
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
}
