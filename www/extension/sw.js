// The extension's service worker: the only place that writes the "seen" store, so the popup
// and the tests talk to it by message instead of opening a second copy of the store.

import init, { Kv } from "./pkg/kv_wasm.js";

// MV3 delivers events only to listeners added synchronously at start-up, long before the
// wasm is compiled; so the listeners below are added now and each awaits this one promise.
const store = init().then(() => Kv.open("seen"));

store.then((kv) =>
  kv.onChange(() => {
    // Nobody may be listening (the popup is closed most of the time); that is not an error.
    chrome.runtime.sendMessage({ type: "changed" }).catch(() => {});
  }),
);

// An ID is forgotten 30 days after it was first seen (then it is new again), so the store
// stops growing.
const FORGET_AFTER = 30 * 86_400;

/** Remembers an ID or page the first time it is seen; resolves to true if it was new. */
async function remember(id) {
  if (typeof id !== "string" || id === "") throw new TypeError("an ID is a non-empty string");
  return (await store).setIfAbsent(id, undefined, { ttl: FORGET_AFTER });
}

/** The seconds until `id` is forgotten; undefined if it is not remembered. */
async function ttl(id) {
  return (await store).ttl(id);
}

/** Everything seen, newest first, as [{ id, firstSeen }] with firstSeen in unix seconds. */
async function list() {
  const all = await (await store).getAll();
  return Object.entries(all)
    .map(([id, firstSeen]) => ({ id, firstSeen }))
    .sort((a, b) => b.firstSeen - a.firstSeen || a.id.localeCompare(b.id));
}

async function forget(id) {
  return (await store).delete(id);
}

async function clear() {
  await (await store).clear();
}

// Pages are remembered without their #fragment: the same document, scrolled elsewhere.
function pageKey(url) {
  const u = new URL(url);
  u.hash = "";
  return u.href;
}

chrome.tabs.onUpdated.addListener((_tabId, change, tab) => {
  if (change.status !== "complete" || !/^https?:/.test(tab.url ?? "")) return;
  remember(pageKey(tab.url)).catch((err) => console.error("could not remember", tab.url, err));
});

const handlers = {
  remember: (msg) => remember(msg.id),
  list: () => list(),
  forget: (msg) => forget(msg.id),
  clear: () => clear(),
};

// Messages: { type: "remember", id } | { type: "list" } | { type: "forget", id } | { type: "clear" }.
// Replies: { ok: true, value } or { ok: false, error: { name, message } }.
chrome.runtime.onMessage.addListener((msg, _sender, reply) => {
  const handler = handlers[msg?.type];
  if (!handler) return false;
  handler(msg).then(
    (value) => reply({ ok: true, value }),
    (err) => reply({ ok: false, error: { name: err?.name ?? "Error", message: String(err?.message ?? err) } }),
  );
  return true; // the reply comes after an await
});

// The same operations for tools that can evaluate code in the worker (tests, DevTools), and a
// way to open another store of the extension's.
globalThis.seen = {
  remember,
  list,
  forget,
  clear,
  ttl,
  open: (name, options) => store.then(() => Kv.open(name, options)),
};
