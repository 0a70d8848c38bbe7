// The MV3 example extension, loaded unpacked: its service worker keeps seen IDs and pages in
// IndexedDB, its popup lists them, deletes one or clears them all, and they outlive a browser
// restart.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { build } from "../../www/extension/build.mjs";
import { artifactPath, launchProfile, serve, tempProfile } from "./browser.mjs";
// The popup shares the demo page's markup (input, list, status), so the demo's helpers drive it.
import { addId, demoReady, listedIds } from "./demo-page.mjs";

let server;
let extension;
let profile;

before(async () => {
  extension = await build();
  server = await serve();
  profile = await tempProfile();
});

after(async () => {
  await server?.close();
  await profile?.remove();
});

async function worker(context) {
  return context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", { timeout: 15_000 }));
}

async function openPopup(context, extensionId) {
  const page = await context.newPage();
  await page.goto(`chrome-extension://${extensionId}/popup.html`);
  await demoReady(page);
  return page;
}

const popupIds = async (page) => (await listedIds(page)).sort();

// Reads every record of every IndexedDB database the worker can see, whatever the package's
// layout, to show that the IDs really are in IndexedDB and not only in memory.
function dumpIndexedDB() {
  const request = (r) => new Promise((ok, fail) => ((r.onsuccess = () => ok(r.result)), (r.onerror = () => fail(r.error))));
  return (async () => {
    const out = [];
    for (const { name } of await indexedDB.databases()) {
      const db = await request(indexedDB.open(name));
      for (const store of db.objectStoreNames) {
        const tx = db.transaction(store);
        const keys = await request(tx.objectStore(store).getAllKeys());
        const values = await request(tx.objectStore(store).getAll());
        out.push(JSON.stringify({ keys, values }, (_k, v) => (v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? new TextDecoder().decode(v) : v)));
      }
      db.close();
    }
    return out.join("\n");
  })();
}

test("the extension's worker keeps seen IDs in IndexedDB, the popup lists, deletes and clears them, and they survive a restart", async () => {
  const visited = `${server.url}/www/index.html?from=extension-test`;
  let context = await launchProfile(profile.dir, { extension });
  try {
    const sw = await worker(context);
    const extensionId = new URL(sw.url()).host;
    assert.equal(await sw.evaluate(() => typeof localStorage), "undefined", "a service worker has no localStorage");

    assert.equal(await sw.evaluate(() => self.seen.remember("id-1")), true);
    assert.equal(await sw.evaluate(() => self.seen.remember("id-2")), true);
    assert.equal(await sw.evaluate(() => self.seen.remember("id-1")), false, "a second sighting is not new");

    // A page load is remembered by tabs.onUpdated, without its #fragment.
    const tab = await context.newPage();
    await tab.goto(`${visited}#section`);
    await sw.evaluate(async (url) => {
      while (!(await self.seen.list()).some((e) => e.id === url)) await new Promise((r) => setTimeout(r, 50));
    }, visited);
    await tab.close();

    const stored = await sw.evaluate(dumpIndexedDB);
    for (const id of ["id-1", "id-2", visited]) assert.ok(stored.includes(id), `${id} is in IndexedDB`);

    const popup = await openPopup(context, extensionId);
    assert.deepEqual(await popupIds(popup), [visited, "id-1", "id-2"].sort());
    await addId(popup, "from-popup");
    await popup.locator("body").screenshot({ path: await artifactPath("extension-popup.png") });

    // A row's Delete button forgets that one ID, in the worker's store too.
    await popup.click('#list li[data-id="id-2"] button.forget');
    await popup.waitForSelector('#list li[data-id="id-2"]', { state: "detached" });
    assert.deepEqual(await popupIds(popup), [visited, "from-popup", "id-1"].sort());
    assert.deepEqual((await sw.evaluate(() => self.seen.list())).map((e) => e.id).sort(), [visited, "from-popup", "id-1"].sort());
  } finally {
    await context.close();
  }

  context = await launchProfile(profile.dir, { extension });
  try {
    const sw = await worker(context);
    const extensionId = new URL(sw.url()).host;
    const popup = await openPopup(context, extensionId);
    assert.deepEqual(await popupIds(popup), [visited, "from-popup", "id-1"].sort(), "every ID kept is back after a restart, and the deleted one is not");

    await popup.click("#clear");
    await popup.waitForSelector("#list li", { state: "detached" });
    assert.deepEqual(await sw.evaluate(() => self.seen.list()), []);
  } finally {
    await context.close();
  }
});

test("the extension's service worker and its popup claim each ID once and lose no increment", async () => {
  const context = await launchProfile(profile.dir, { extension });
  try {
    const sw = await worker(context);
    const extensionId = new URL(sw.url()).host;
    const popup = await openPopup(context, extensionId);
    const ids = Array.from({ length: 300 }, (_, i) => `seen:${i}`);
    // Both open the store "claims" themselves, then claim every ID and increment one counter
    // 100 times, at the same time. (The extension's CSP forbids eval, so each side spells out
    // the same steps.)
    const [inWorker, inPopup] = await Promise.all([
      sw.evaluate(async (ids) => {
        const kv = await self.seen.open("claims");
        const claimed = (await Promise.all(ids.map((id) => kv.setIfAbsent(id)))).filter(Boolean).length;
        for (let i = 0; i < 100; i++) await kv.update("hits", (n) => (n ?? 0) + 1);
        return claimed;
      }, ids),
      popup.evaluate(async (ids) => {
        const { default: init, Kv } = await import("./pkg/kv_wasm.js");
        await init();
        const kv = await Kv.open("claims");
        const claimed = (await Promise.all(ids.map((id) => kv.setIfAbsent(id)))).filter(Boolean).length;
        for (let i = 0; i < 100; i++) await kv.update("hits", (n) => (n ?? 0) + 1);
        return claimed;
      }, ids),
    ]);
    assert.equal(inWorker + inPopup, 300, `the worker claimed ${inWorker}, the popup ${inPopup}`);
    const hits = await sw.evaluate(async () => (await self.seen.open("claims")).get("hits"));
    assert.equal(hits, 200);
  } finally {
    await context.close();
  }
});

test("the extension's worker remembers IDs for 30 days, and the expiry survives a browser restart", async () => {
  const MONTH = 30 * 86_400;
  // A hand-set clock for a store of the worker's own, so that expiry is seen without waiting.
  const T0 = 1_763_700_800_000;
  let context = await launchProfile(profile.dir, { extension });
  let leftBefore;
  try {
    const sw = await worker(context);
    assert.equal(await sw.evaluate(() => self.seen.remember("ttl-1")), true);
    leftBefore = await sw.evaluate(() => self.seen.ttl("ttl-1"));
    assert.ok(leftBefore > MONTH - 60 && leftBefore <= MONTH, `remembered for 30 days: ${leftBefore} s left`);
    const claimed = await sw.evaluate(
      async ([t0, month]) => {
        const kv = await self.seen.open("seen-clock", { clock: () => t0 });
        const claimed = await kv.setIfAbsent("id-1", undefined, { ttl: month });
        await kv.close();
        return claimed;
      },
      [T0, MONTH],
    );
    assert.equal(claimed, true);
  } finally {
    await context.close();
  }

  context = await launchProfile(profile.dir, { extension });
  try {
    const sw = await worker(context);
    const left = await sw.evaluate(() => self.seen.ttl("ttl-1"));
    assert.ok(left > MONTH - 600 && left < leftBefore, `the same expiry after the restart: ${left} s left, ${leftBefore} before`);
    assert.ok((await sw.evaluate(() => self.seen.list())).some((e) => e.id === "ttl-1"));
    assert.equal(await sw.evaluate(() => self.seen.remember("ttl-1")), false, "still seen");
    const [before, after] = await sw.evaluate(
      async ([t0, month]) => {
        let now = t0 + month * 1000 - 1;
        const kv = await self.seen.open("seen-clock", { clock: () => now });
        const before = [await kv.has("id-1"), await kv.ttl("id-1"), await kv.setIfAbsent("id-1", undefined, { ttl: month })];
        now += 1;
        const after = [await kv.has("id-1"), await kv.ttl("id-1"), await kv.setIfAbsent("id-1", undefined, { ttl: month })];
        await kv.close();
        return [before, after];
      },
      [T0, MONTH],
    );
    assert.deepEqual(before, [true, 0.001, false], "1 ms before the 30 days end, the ID is still seen");
    assert.deepEqual(after, [false, undefined, true], "from the moment they end, it is new again");
  } finally {
    await context.close();
  }
});
