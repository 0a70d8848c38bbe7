// Two tabs of the demo on one origin share a store: writes to different keys from each tab
// must all survive, and each tab must show the other's writes without a reload.

import assert from "node:assert/strict";
import { test } from "node:test";
import { collectErrors, withBrowser } from "./browser.mjs";
import { addId, demoReady, listedIds } from "./demo-page.mjs";

const session = withBrowser();

for (const backend of ["indexedDB", "localStorage"]) {
  test(`two tabs writing different keys to ${backend} both keep their writes and see each other's live`, async () => {
    const context = await session.browser.newContext();
    const [left, right] = [await context.newPage(), await context.newPage()];
    const errors = [...collectErrors(left), ...collectErrors(right)];
    for (const page of [left, right]) {
      await page.goto(`${session.server.url}/www/?backend=${backend}`);
      await demoReady(page, backend);
    }

    // Interleave the writes so that neither tab's view of the store is a stale snapshot.
    await addId(left, "left-1");
    await right.waitForSelector('#list li[data-id="left-1"]', { timeout: 10_000 });
    await addId(right, "right-1");
    await left.waitForSelector('#list li[data-id="right-1"]', { timeout: 10_000 });
    await Promise.all([addId(left, "left-2"), addId(right, "right-2")]);
    const all = ["left-1", "left-2", "right-1", "right-2"];
    for (const page of [left, right]) {
      await page.waitForFunction(
        (n) => document.querySelectorAll("#list li").length === n,
        all.length,
        { timeout: 10_000 },
      );
      assert.deepEqual((await listedIds(page)).sort(), all);
    }

    // A delete in one tab disappears from the other, too.
    await left.click('#list li[data-id="right-2"] button.delete');
    await right.waitForSelector('#list li[data-id="right-2"]', { state: "detached", timeout: 10_000 });

    // What storage holds, as a third page reads it fresh.
    const fresh = await context.newPage();
    await fresh.goto(`${session.server.url}/www/?backend=${backend}`);
    await demoReady(fresh, backend);
    assert.deepEqual((await listedIds(fresh)).sort(), ["left-1", "left-2", "right-1"]);
    assert.deepEqual(errors, []);
    await context.close();
  });
}
