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

// Runs in a page before OPEN: while \`self.holding\`, what other tabs announce (BroadcastChannel
// messages, storage events) waits, as it does in a busy tab, until \`self.release()\`.
const HOLD = `
  self.held = [];
  self.holding = false;
  const later = (f) => (e) => (self.holding ? self.held.push(() => f(e)) : f(e));
  const Channel = BroadcastChannel;
  self.BroadcastChannel = class extends Channel {
    set onmessage(f) {
      super.onmessage = later(f);
    }
  };
  const add = self.addEventListener.bind(self);
  self.addEventListener = (type, f, ...rest) => add(type, type === "storage" ? later(f) : f, ...rest);
  self.release = () => {
    self.holding = false;
    for (const f of self.held.splice(0)) f();
  };
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
  test(`one tab sets expired keys again while the other has not heard yet, then purges and writes (${backend}): every key set again survives`, async () => {
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
    await run(purger, HOLD, {});
    await Promise.all(pages.map((page) => run(page, OPEN, { name, backend, t0: T0 })));
    const keys = Array.from({ length: 40 }, (_, i) => `k:${i}`);
    await run(setter, `await kv.setMany(keys.map((k) => [k, "old"]), { ttl: 1 });`, { keys });
    await purger.waitForFunction(async (n) => (await self.kv.keys()).length === n, keys.length);
    // Both clocks pass the expiry: every key is expired in both copies.
    await Promise.all(pages.map((page) => page.evaluate((t) => (self.now = t), T0 + 2000)));
    assert.deepEqual(await run(purger, "return kv.keys();", {}), []);

    // The setter sets every key again; the purger does not hear of it yet.
    await purger.evaluate(() => (self.holding = true));
    await run(setter, `for (const k of keys) await kv.set(k, "new");`, { keys });
    // Plain writes remove up to 16 keys the purger's copy holds as expired, and a purge all
    // of them: each removal is decided against storage, so none removes a key set again.
    const removed = await run(
      purger,
      `for (let i = 0; i < 3; i++) await kv.set(\`other:\${i}\`, i);
       return kv.purge();`,
      {},
    );
    assert.equal(removed, 0, "nothing left to purge: every expired key was set again");
    assert.equal(await run(purger, `return kv.get("k:0");`, {}), "new", "the purger's copy caught up with storage");

    const fresh = await context.newPage();
    await fresh.goto(`${session.server.url}/tests/browser/blank.html`);
    await run(fresh, OPEN, { name, backend, t0: T0 + 2000 });
    const all = await run(fresh, "return kv.getAll();", {});
    const lost = keys.filter((k) => all[k] !== "new");
    assert.deepEqual(lost, [], "keys set again that storage lost");
    // Once it hears what was held, both copies end equal to storage.
    await purger.evaluate(() => self.release());
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
