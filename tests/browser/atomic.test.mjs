// Calls whose answer depends on what is stored are decided against storage, across tabs and
// workers of one origin: each ID is claimed once, no increment is lost, and every copy ends
// equal to storage after two tabs write one key at once.

import assert from "node:assert/strict";
import { test } from "node:test";
import { collectErrors, withBrowser } from "./browser.mjs";

const session = withBrowser();

// Runs in a page or a worker: opens the store with the package from the repository.
const OPEN = `
  const { default: init, Kv } = await import(new URL("/kv-wasm/pkg/kv_wasm.js", self.origin));
  await init();
  self.kv = await Kv.open(name, { backend });
`;

// Each context claims every ID; resolves how many it claimed.
const CLAIM = `
  const claimed = await Promise.all(ids.map((id) => kv.setIfAbsent(id, who)));
  return claimed.filter(Boolean).length;
`;

// Each context increments one counter `times` times, each call waiting for the last.
const INCREMENT = `
  for (let i = 0; i < times; i++) await kv.update("hits", (n) => (n ?? 0) + 1);
  return true;
`;

async function tabs(n) {
  const context = await session.browser.newContext();
  const pages = [];
  for (let i = 0; i < n; i++) {
    const page = await context.newPage();
    await page.goto(`${session.server.url}/tests/browser/blank.html`);
    pages.push(page);
  }
  return { context, pages, errors: pages.flatMap(collectErrors) };
}

// Evaluates `body` (an async function body over `args` and the global `kv`) in `page`.
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
  test(`two tabs x 300 setIfAbsent on the same IDs (${backend}): each ID is claimed once`, async () => {
    const { context, pages, errors } = await tabs(2);
    const name = `claims-${backend}`;
    await Promise.all(pages.map((page) => run(page, OPEN, { name, backend })));
    const ids = Array.from({ length: 300 }, (_, i) => `seen:${i}`);
    const claimed = await Promise.all(pages.map((page, who) => run(page, CLAIM, { ids, who })));
    assert.equal(claimed[0] + claimed[1], 300, `claimed ${claimed}`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`two tabs x 100 update increments of one key (${backend}): the store ends at 200`, async () => {
    const { context, pages, errors } = await tabs(2);
    const name = `hits-${backend}`;
    await Promise.all(pages.map((page) => run(page, OPEN, { name, backend })));
    await Promise.all(pages.map((page) => run(page, INCREMENT, { times: 100 })));
    for (const page of pages) {
      // The last increment was decided against storage, so each copy read 200 from it, or
      // hears of it; a fresh read from storage must say 200 too.
      await page.waitForFunction(async () => (await self.kv.get("hits")) === 200, null, {
        timeout: 10_000,
      });
    }
    const fresh = await context.newPage();
    await fresh.goto(`${session.server.url}/tests/browser/blank.html`);
    await run(fresh, OPEN, { name, backend });
    assert.equal(await run(fresh, `return kv.get("hits");`, {}), 200);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`two tabs writing one key 200 times (${backend}): both copies end equal to storage`, async () => {
    const { context, pages, errors } = await tabs(2);
    const name = `race-${backend}`;
    await Promise.all(pages.map((page) => run(page, OPEN, { name, backend })));
    const write = `
      for (let i = 0; i < 200; i++) {
        const pending = kv.set("k", who + i);
        if (turns) await pending;
      }
      await kv.set("k", who + "end");
      return true;
    `;
    for (const turns of [true, false]) {
      await Promise.all(["A", "B"].map((who, i) => run(pages[i], write, { who, turns })));
      const fresh = await context.newPage();
      await fresh.goto(`${session.server.url}/tests/browser/blank.html`);
      await run(fresh, OPEN, { name, backend });
      const stored = await run(fresh, `return kv.get("k");`, {});
      assert.match(stored, /^[AB]end$/);
      for (const page of pages) {
        await page.waitForFunction(async (stored) => (await self.kv.get("k")) === stored, stored, {
          timeout: 10_000,
        });
      }
      await fresh.close();
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test("a tab and a dedicated worker on one IndexedDB store claim each ID once and lose no increment", async () => {
  const { context, pages, errors } = await tabs(1);
  const [page] = pages;
  const name = "tab-and-worker";
  const backend = "indexedDB";
  await run(page, OPEN, { name, backend });
  const ids = Array.from({ length: 300 }, (_, i) => `seen:${i}`);
  const [inPage, inWorker] = await page.evaluate(
    async ([OPEN, CLAIM, INCREMENT, name, backend, ids]) => {
      const source = `
        self.onmessage = async ({ data: [name, backend, ids] }) => {
          try {
            ${OPEN}
            const who = "worker";
            const claimed = await (async () => { ${CLAIM} })();
            const times = 100;
            await (async () => { ${INCREMENT} })();
            postMessage(claimed);
          } catch (error) {
            postMessage(String(error));
          }
        };
      `;
      const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      const worker = new Worker(url, { type: "module" });
      const fromWorker = new Promise((resolve) => (worker.onmessage = ({ data }) => resolve(data)));
      worker.postMessage([name, backend, ids]);
      const who = "page";
      const times = 100;
      const inPage = (async () => {
        const claimed = await Promise.all(ids.map((id) => self.kv.setIfAbsent(id, who)));
        for (let i = 0; i < times; i++) await self.kv.update("hits", (n) => (n ?? 0) + 1);
        return claimed.filter(Boolean).length;
      })();
      return Promise.all([inPage, fromWorker]);
    },
    [OPEN, CLAIM, INCREMENT, name, backend, ids],
  );
  assert.equal(typeof inWorker, "number", `the worker failed: ${inWorker}`);
  assert.equal(inPage + inWorker, 300);
  await page.waitForFunction(async () => (await self.kv.get("hits")) === 200, null, {
    timeout: 10_000,
  });
  assert.deepEqual(errors, []);
  await context.close();
});
