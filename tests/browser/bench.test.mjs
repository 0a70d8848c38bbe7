// The benchmark page, on tiny stores: every contender is measured, nothing fails, and the
// results are drawn. Only that it works is checked here; how fast is for `cargo xtask bench`.

import assert from "node:assert/strict";
import { test } from "node:test";
import { collectErrors, withBrowser } from "./browser.mjs";

const session = withBrowser();

test("the benchmark page measures every contender at every size and draws the results", async () => {
  const page = await session.browser.newPage();
  const errors = collectErrors(page);
  await page.goto(`${session.server.url}/www/bench/?sizes=50,120&gets=40&sets=20&reps=2`);
  await page.waitForFunction(() => window.benchResults, null, { timeout: 60_000 });
  const results = await page.evaluate(() => window.benchResults);

  assert.equal(results.failed, undefined);
  assert.deepEqual(results.errors, []);
  assert.equal(results.crossOriginIsolated, true, "served cross-origin isolated, for fine timers");
  const ids = results.contenders.map((c) => c.id);
  for (const id of ["kv-idb", "kv-idb-default", "kv-ls", "idb-keyval", "lf-idb", "lf-ls", "raw-idb", "raw-idb-strict"]) assert.ok(ids.includes(id), `${id} runs`);
  for (const size of [50, 120]) {
    for (const id of ids) {
      const row = results.rows.find((r) => r.contender === id && r.size === size);
      assert.ok(row, `${id} has results at ${size} keys`);
      for (const metric of ["getMedian", "getP99", "setMedian", "setP99", "batchSet", "getAll", "coldOpen"]) {
        assert.ok(Number.isFinite(row[metric]) && row[metric] >= 0, `${id} ${metric} at ${size} is a time`);
      }
    }
  }
  for (const bundle of results.bundles) {
    assert.equal(bundle.error, undefined);
    assert.ok(bundle.gzip > 0 && bundle.gzip < bundle.raw, `${bundle.library} compresses`);
  }
  assert.ok((await page.$$("#charts svg rect")).length > 0, "the charts have bars");
  assert.ok((await page.$$("#table table")).length === 2, "one table per size");
  assert.deepEqual(errors, []);
  await page.close();
});
