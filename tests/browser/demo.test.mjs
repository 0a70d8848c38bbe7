// The seen-IDs demo page, driven like a person would: type, press Enter, click, reload.

import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { describe, test } from "node:test";
import { artifactPath, collectErrors, withBrowser } from "./browser.mjs";
import { addId, demoReady as ready, listedIds } from "./demo-page.mjs";

const session = withBrowser();

/** Opens the demo in a fresh context (empty storage) and waits until its store is open. */
async function openDemo(query = "") {
  const context = await session.browser.newContext({ viewport: { width: 900, height: 760 } });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${session.server.url}/www/${query}`);
  await ready(page);
  return { context, page, errors };
}

describe("demo page", () => {
  test("an added ID is listed with the time it was first seen and survives a reload", async () => {
    const { context, page, errors } = await openDemo();
    const before = Math.floor(Date.now() / 1000);
    await addId(page, "order-1042");
    const after = Math.ceil(Date.now() / 1000);
    assert.equal(await page.inputValue("#id-input"), "", "Enter submits and empties the input");

    await page.reload();
    await ready(page, "indexedDB");
    assert.deepEqual(await listedIds(page), ["order-1042"]);
    const seen = Number(await page.getAttribute('#list li[data-id="order-1042"] time', "data-seconds"));
    assert.ok(seen >= before && seen <= after, `first seen ${seen} lies in [${before}, ${after}]`);
    assert.match(await page.textContent('#list li[data-id="order-1042"] .rel'), /now|second/);
    assert.equal(await page.textContent("#count"), "1");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("adding an ID twice keeps its first-seen time and says so", async () => {
    const { context, page } = await openDemo();
    await addId(page, "dup");
    const first = await page.getAttribute('#list li[data-id="dup"] time', "data-seconds");
    await page.fill("#id-input", "dup");
    await page.press("#id-input", "Enter");
    await page.waitForFunction(() => /Already seen dup/.test(document.getElementById("status").textContent));
    assert.equal(await page.getAttribute('#list li[data-id="dup"] time', "data-seconds"), first);
    assert.deepEqual(await listedIds(page), ["dup"]);
    await context.close();
  });

  test("deleting one ID removes only that one, and it stays deleted after a reload", async () => {
    const { context, page, errors } = await openDemo();
    for (const id of ["a-1", "b-2", "c-3"]) await addId(page, id);
    await page.click('#list li[data-id="b-2"] button.delete');
    await page.waitForSelector('#list li[data-id="b-2"]', { state: "detached" });

    await page.reload();
    await ready(page);
    assert.deepEqual((await listedIds(page)).sort(), ["a-1", "c-3"]);
    assert.equal(await page.textContent("#count"), "2");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("clear all empties the list, and it stays empty after a reload", async () => {
    const { context, page, errors } = await openDemo();
    for (const id of ["x", "y"]) await addId(page, id);
    await page.click("#clear");
    await page.waitForSelector("#list li", { state: "detached" });
    assert.equal(await page.isVisible("#empty"), true);

    await page.reload();
    await ready(page);
    assert.deepEqual(await listedIds(page), []);
    assert.equal(await page.textContent("#count"), "0");
    assert.equal(await page.isDisabled("#clear"), true);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("each backend keeps its own list, and both survive a reload", async () => {
    const { context, page, errors } = await openDemo();
    await addId(page, "in-idb");

    await page.click('label:has(input[value="localStorage"])');
    await ready(page, "localStorage");
    assert.deepEqual(await listedIds(page), [], "the localStorage store starts empty");
    await addId(page, "in-ls");
    assert.ok(
      await page.evaluate(() => Object.keys(localStorage).some((k) => k.includes("in-ls"))),
      "the ID is written to localStorage",
    );

    await page.reload();
    await ready(page, "localStorage");
    assert.deepEqual(await listedIds(page), ["in-ls"]);

    await page.click('label:has(input[value="indexedDB"])');
    await ready(page, "indexedDB");
    assert.deepEqual(await listedIds(page), ["in-idb"]);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a screenshot of a populated list is saved as an artifact", async () => {
    const { context, page } = await openDemo();
    for (const id of ["user:7f3a", "order-1042", "msg-88123", "session/alpha"]) await addId(page, id);
    // Settle the highlight animation so the screenshot shows the resting look.
    await page.evaluate(() => document.getAnimations().forEach((a) => a.finish()));
    const file = await artifactPath("demo.png");
    await page.screenshot({ path: file, fullPage: true });
    assert.ok((await stat(file)).size > 5_000, "the screenshot has content");
    await context.close();
  });
});
