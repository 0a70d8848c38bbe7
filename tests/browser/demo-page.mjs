// How the tests drive the demo page: wait for its store, add an ID, read the list.

/**
 * Waits until the page's store is open (on `backend`, if given). Fails at once with the
 * page's own message when the page reports an error, such as a package that will not load.
 */
export async function demoReady(page, backend) {
  const which = backend ? `[data-backend="${backend}"]` : "";
  const ready = `body[data-state="ready"]${which}`;
  await page.waitForSelector(`${ready}, #status.error`, { timeout: 15_000 });
  if (!(await page.$(ready))) throw new Error(`the demo reported: ${await page.textContent("#status")}`);
}

/** Types `id` and presses Enter, then waits for its row. */
export async function addId(page, id) {
  await page.fill("#id-input", id);
  await page.press("#id-input", "Enter");
  await page.waitForSelector(`#list li[data-id="${id}"]`);
}

/** The IDs the list shows, in its order. */
export function listedIds(page) {
  return page.$$eval("#list li", (lis) => lis.map((li) => li.dataset.id));
}
