// Expiry and memoize through the JS API, on a clock the tests set by hand (`clock` option).
// Each case is handed a store of any backend, only for its class (`kv.constructor`), and
// throws on the first wrong answer.

const BACKENDS = ["indexedDB", "localStorage", "memory"];
// 2025-11-21T04:53:20Z.
const NOW = 1_763_700_800_000;

function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e || (actual === undefined) !== (expected === undefined)) {
    throw new Error(`${what}: got ${actual === undefined ? "undefined" : a}, expected ${expected === undefined ? "undefined" : e}`);
  }
}

async function rejects(promise, name, mentions, what) {
  try {
    await promise;
  } catch (error) {
    if (error.name !== name) throw new Error(`${what}: rejected with ${error.name}: ${error.message}, expected ${name}`);
    if (mentions !== undefined && !error.message.includes(mentions)) {
      throw new Error(`${what}: the message ${JSON.stringify(error.message)} does not name ${mentions}`);
    }
    return;
  }
  throw new Error(`${what}: resolved, expected ${name}`);
}

function unique(prefix) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
}

// A clock to move by hand, and a store reading it.
async function opened(Kv, backend, name = unique(`ttl-${backend}`), clock = manual()) {
  const kv = await Kv.open(name, { backend, clock: () => clock.ms });
  return { kv, clock, name };
}

function manual() {
  return { ms: NOW, advance(seconds) { this.ms += Math.round(seconds * 1000); } };
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

export async function theJsSurface(any) {
  const Kv = any.constructor;
  for (const backend of BACKENDS) {
    const at = (what) => `${backend}: ${what}`;
    const { kv, clock } = await opened(Kv, backend);
    await kv.set("session", { user: 1 }, { ttl: 90 });
    eq(await kv.ttl("session"), 90, at("ttl right after set"));
    clock.advance(0.25);
    eq(await kv.ttl("session"), 89.75, at("ttl in fractions of a second"));
    await kv.set("plain", 1);
    eq(await kv.ttl("plain"), null, at("a key without expiry"));
    eq(await kv.ttl("absent"), undefined, at("a missing key"));

    // The value-less set: "seen now, forget in 30 days".
    await kv.set("seen:1", undefined, { ttl: 30 * 86_400 });
    eq(await kv.get("seen:1"), Math.floor(clock.ms / 1000), at("a value-less set stores now, in seconds"));
    eq(await kv.ttl("seen:1"), 30 * 86_400, at("its ttl"));

    clock.advance(89.75 - 0.001);
    eq(await kv.get("session"), { user: 1 }, at("1 ms before expiry"));
    clock.advance(0.001);
    eq(await kv.get("session"), undefined, at("get from the moment it expires"));
    eq(await kv.get("session", "fallback"), "fallback", at("get with a fallback"));
    eq(await kv.has("session"), false, at("has"));
    eq(await kv.ttl("session"), undefined, at("ttl of an expired key"));
    eq(await kv.keys(), ["plain", "seen:1"], at("keys"));
    eq(await kv.getAll(), { plain: 1, "seen:1": Math.floor(NOW / 1000) }, at("getAll"));

    eq(await kv.setIfAbsent("session", "again", { ttl: 0.5 }), true, at("setIfAbsent claims an expired key"));
    eq(await kv.setIfAbsent("session", "third", { ttl: 9 }), false, at("setIfAbsent on a live key"));
    eq(await kv.ttl("session"), 0.5, at("setIfAbsent's ttl"));
    eq(await kv.update("session", (v) => `${v}!`), "again!", at("update"));
    eq(await kv.ttl("session"), 0.5, at("update keeps the expiry"));
    await kv.set("session", "forever");
    eq(await kv.ttl("session"), null, at("set without a ttl removes the expiry"));

    eq(await kv.expire("session", 2.5), true, at("expire on a live key"));
    eq(await kv.ttl("session"), 2.5, at("expire's ttl"));
    eq(await kv.expire("session", null), true, at("expire(key, null)"));
    eq(await kv.ttl("session"), null, at("expire(key, null) removes the expiry"));
    eq(await kv.expire("absent", 10), false, at("expire on a missing key"));
    eq(await kv.has("absent"), false, at("expire leaves a missing key missing"));

    await kv.setMany({ a: 1, b: 2 }, { ttl: 5 });
    await kv.setMany([["c", 3]]);
    eq([await kv.ttl("a"), await kv.ttl("b"), await kv.ttl("c")], [5, 5, null], at("setMany's ttl"));
    clock.advance(5);
    eq(await kv.purge(), 2, at("purge counts the keys it removed"));
    eq(await kv.purge(), 0, at("a second purge removes nothing"));
    eq(await kv.keys(), ["c", "plain", "seen:1", "session"], at("keys after purge"));

    // Reopened: the expiries were stored with the records.
    await kv.set("short", true, { ttl: 3 });
    await kv.close();
    if (backend !== "memory") {
      const again = await Kv.open(kv.name, { backend, clock: () => clock.ms });
      // Called at once, before the store has loaded: read from storage, by the store's clock
      // (by the real one, a year on, the key would have expired).
      eq(await again.get("short"), true, at("a get before the load"));
      eq(await again.ttl("short"), 3, at("an expiry survives reopening"));
      eq(await again.ttl("seen:1"), 30 * 86_400 - 94.75, at("so does the other"));
      clock.advance(3);
      eq(await again.has("short"), false, at("and expires on time"));
      await again.close();
      const third = await Kv.open(kv.name, { backend, clock: () => clock.ms });
      eq(await third.get("short", "gone"), "gone", at("a get before the load of an expired key"));
      await third.close();
    }
  }
}

export async function badTtlsAreErrorsNamingTheValue(any) {
  const Kv = any.constructor;
  for (const backend of BACKENDS) {
    const at = (what) => `${backend}: ${what}`;
    const { kv } = await opened(Kv, backend);
    await kv.set("k", "kept", { ttl: 60 });
    const before = JSON.stringify(await kv.getAll());
    const cases = [
      [0, "RangeError", "not 0"],
      [-1, "RangeError", "not -1"],
      [0.0005, "RangeError", "not 0.0005"],
      [NaN, "RangeError", "not NaN"],
      [Infinity, "RangeError", "not Infinity"],
      ["10", "TypeError", 'the string "10"'],
      [null, "TypeError", "not null"],
      [1e13, "RangeError", "not 10000000000000"],
    ];
    for (const [ttl, name, mentions] of cases) {
      const label = at(`ttl ${String(ttl)}`);
      await rejects(kv.set("k", "changed", { ttl }), name, mentions, `${label} in set`);
      await rejects(kv.set("new", undefined, { ttl }), name, mentions, `${label} in a value-less set`);
      await rejects(kv.setIfAbsent("new", 1, { ttl }), name, mentions, `${label} in setIfAbsent`);
      await rejects(kv.setMany({ k: 2, n: 3 }, { ttl }), name, mentions, `${label} in setMany`);
      if (ttl !== null) await rejects(kv.expire("k", ttl), name, mentions, `${label} in expire`);
    }
    // Past the latest expiry a store holds (2^53 - 1 ms after 1970), counted from now.
    await rejects(kv.set("k", 1, { ttl: 9_007_199_254_740 }), "RangeError", "latest expiry", at("a ttl ending too late"));
    await rejects(kv.expire("k"), "TypeError", "not undefined", at("expire without a ttl"));
    await rejects(kv.set("k", 1, 60), "TypeError", "the number 60", at("options that are not an object"));
    eq(JSON.stringify(await kv.getAll()), before, at("nothing changed"));
    eq(await kv.ttl("k"), 60, at("nor the expiry"));
    // The smallest ttl, and fractions, are fine; `{}` is no ttl.
    await kv.set("ms", 1, { ttl: 0.001 });
    eq(await kv.ttl("ms"), 0.001, at("1 ms"));
    await kv.set("none", 1, {});
    eq(await kv.ttl("none"), null, at("{} is no ttl"));
    await kv.close();
  }
  await rejects(Kv.open(unique("bad-clock"), { backend: "memory", clock: 5 }), "TypeError", "options.clock", "a clock that is not a function");
}

// Removals, automatic ones inside writes and purge's, are deletes to listeners.
export async function removalsAreReportedAsDeletes(any) {
  const Kv = any.constructor;
  for (const backend of BACKENDS) {
    const at = (what) => `${backend}: ${what}`;
    const { kv, clock } = await opened(Kv, backend);
    await kv.setMany({ a: 1, b: 2 }, { ttl: 1 });
    await kv.set("c", 3, { ttl: 10 });
    const events = [];
    kv.onChange((event) => events.push(event));
    await kv.set("d", { v: 4 }, { ttl: 1 });
    eq(events.pop().changes, [{ key: "d", value: { v: 4 }, deleted: false }], at("a put with a ttl reports the value alone"));
    clock.advance(1);
    await kv.set("e", 5);
    eq(events.pop().changes, [
      { key: "a", deleted: true },
      { key: "b", deleted: true },
      { key: "d", deleted: true },
      { key: "e", value: 5, deleted: false },
    ], at("a write removes the expired keys, as deletes"));
    clock.advance(10);
    eq(await kv.purge(), 1, at("purge"));
    eq(events.pop(), { origin: "local", clear: false, changes: [{ key: "c", deleted: true }] }, at("purge's removals"));
    eq(await kv.purge(), 0, at("nothing left"));
    eq(events.length, 0, at("a purge that removes nothing reports nothing"));
    await kv.close();
  }
}

// What another context holds for `key` now, written straight to storage with no
// announcement: as if another tab set it again and this one has not heard yet.
async function writeBehindItsBack(backend, name, key, text) {
  if (backend === "localStorage") {
    localStorage.setItem(`kv:${name}:${key}`, text);
    return;
  }
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open(`kv:${name}`);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("records", "readwrite");
    tx.objectStore("records").put(text, key);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

// One context's copy holds `k` expired; another sets `k` again meanwhile. Neither a purge nor
// a plain write of another key (which removes expired keys) may delete the new `k`.
export async function aRemovalNeverDeletesAKeySetAgainElsewhere(any) {
  const Kv = any.constructor;
  for (const backend of BACKENDS.slice(0, 2)) {
    for (const call of ["purge", "set", "setMany", "delete", "update"]) {
      const at = (what) => `${backend}, ${call}: ${what}`;
      const { kv, clock, name } = await opened(Kv, backend);
      await kv.set("x", 0);
      await kv.set("k", "old", { ttl: 1 });
      clock.advance(2);
      await writeBehindItsBack(backend, name, "k", '"new"');
      const events = [];
      kv.onChange((event) => events.push(event));
      if (call === "purge") eq(await kv.purge(), 0, at("purge removes nothing"));
      else if (call === "set") await kv.set("other", 1);
      else if (call === "setMany") await kv.setMany({ other: 1 });
      else if (call === "delete") eq(await kv.delete("x"), true, at("delete"));
      else eq(await kv.update("x", (n) => n + 1), 1, at("update"));
      eq(await kv.get("k"), "new", at("this copy follows storage"));
      eq(await kv.ttl("k"), null, at("with storage's expiry"));
      const fresh = await Kv.open(name, { backend, clock: () => clock.ms });
      eq(await fresh.get("k"), "new", at("storage keeps the key set again"));
      eq(events[0]?.origin, "remote", at("listeners hear of the other context's value"));
      eq(events[0]?.changes, [{ key: "k", value: "new", deleted: false }], at("as a remote put"));
      await fresh.close();
      await kv.close();
    }
  }
}

// Other contexts learn expiries from the records: an expiry set in one copy shows in the other.
export async function anotherContextLearnsExpiries(any) {
  const Kv = any.constructor;
  const backend = "indexedDB";
  const clock = manual();
  const name = unique("ttl-contexts");
  const { kv: first } = await opened(Kv, backend, name, clock);
  const { kv: second } = await opened(Kv, backend, name, clock);
  // Listening at once, while both copies still load: the first announcement can arrive
  // before second's load, during it or after it, and is heard all the same.
  const heard = (key) =>
    new Promise((resolve) => {
      const off = second.onChange((event) => {
        if (event.changes.some((c) => c.key === key)) {
          off();
          resolve(event);
        }
      });
    });
  let next = heard("k");
  await first.set("k", 1, { ttl: 10 });
  await next;
  eq(await second.ttl("k"), 10, "the other copy learns the expiry");
  next = heard("k");
  await first.expire("k", null);
  await next;
  eq(await second.ttl("k"), null, "and its removal");
  next = heard("j");
  await first.set("j", 1, { ttl: 1 });
  await next;
  clock.advance(1);
  eq(await second.has("j"), false, "an expired key is absent in both");
  next = heard("j");
  eq(await first.purge(), 1, "purged in one");
  eq((await next).changes, [{ key: "j", deleted: true }], "the other hears of the removal as a delete");
  await first.close();
  await second.close();
}

// Makes every BroadcastChannel created until `restore()` hold the messages it receives
// until `release()`, and deliver them at once after: an announcement that reaches a context
// as late as the test wants.
function holdAnnouncements() {
  const Real = globalThis.BroadcastChannel;
  const held = [];
  let holding = true;
  globalThis.BroadcastChannel = class extends Real {
    set onmessage(receive) {
      super.onmessage = (event) => (holding ? held.push(() => receive(event)) : receive(event));
    }
  };
  return {
    restore: () => (globalThis.BroadcastChannel = Real),
    release() {
      holding = false;
      for (const deliver of held.splice(0)) deliver();
    },
  };
}

// Opens store `name` twice: `first` loaded, `second` with its announcements held (`hold`).
async function openHeldPair(Kv, name) {
  const first = await Kv.open(name);
  await first.keys();
  const hold = holdAnnouncements();
  try {
    return { first, second: await Kv.open(name), hold };
  } finally {
    hold.restore();
  }
}

// Resolves the events `kv` delivers until one changes `key`.
function until(kv, key) {
  const events = [];
  return new Promise((resolve) => {
    const off = kv.onChange((event) => {
      events.push(event);
      if (event.changes.some((c) => c.key === key)) {
        off();
        resolve(events);
      }
    });
  });
}

const changesOf = (events, key) =>
  events.flatMap((event) => event.changes.filter((c) => c.key === key).map((c) => [event.origin, c]));

// Another context commits after a listener was added and before the lazy load reads (so the
// load reads the commit), and its announcement arrives only after the load: the listener
// hears of it once. (It was never heard: the re-read found the copy already up to date.)
export async function aCommitTheLoadReadIsHeardOnceItsAnnouncementArrives(any) {
  const Kv = any.constructor;
  const name = unique("announced-late");
  const { first, second, hold } = await openHeldPair(Kv, name);
  const all = [];
  second.onChange((event) => all.push(event));
  // first is loaded, so its commit's transaction begins in this task, before second's load
  // (which starts in a later task) begins its own: IndexedDB runs the load after the commit.
  await first.set("k", 1);
  await second.keys();
  eq(await second.get("k"), 1, "the load read the commit");
  eq(all, [], "nothing heard before the announcement");
  const heard = until(second, "z");
  hold.release();
  // Announced after k's, by the same channel: heard after k's has been handled.
  await first.set("z", 2);
  await heard;
  eq(changesOf(all, "k"), [["remote", { key: "k", value: 1, deleted: false }]], "k heard once");
  eq(changesOf(all, "z"), [["remote", { key: "z", value: 2, deleted: false }]], "z heard once");
  await first.close();
  await second.close();
}

// A conditional write reads another context's commit from storage before that commit's
// announcement arrives: the listener hears of it then, and not again when the announcement
// comes.
export async function aCommitToldBeforeItsAnnouncementIsHeardOnce(any) {
  const Kv = any.constructor;
  const name = unique("announced-after-read");
  const { first, second, hold } = await openHeldPair(Kv, name);
  await second.keys();
  const all = [];
  second.onChange((event) => all.push(event));
  await first.set("k", 1);
  eq(await second.setIfAbsent("k", 2), false, "decided against storage");
  eq(changesOf(all, "k"), [["remote", { key: "k", value: 1, deleted: false }]], "heard when read");
  const heard = until(second, "z");
  hold.release();
  await first.set("z", 2);
  await heard;
  eq(changesOf(all, "k"), [["remote", { key: "k", value: 1, deleted: false }]], "k heard once");
  await first.close();
  await second.close();
}

// The same with localStorage: another tab's item is written before the load reads it, and its
// storage event arrives after the load.
export async function anItemTheLoadReadIsHeardOnceItsStorageEventArrives(any) {
  const Kv = any.constructor;
  const name = unique("stored-late");
  const kv = await Kv.open(name, { backend: "localStorage" });
  const all = [];
  kv.onChange((event) => all.push(event));
  const item = `kv:${name}:k`;
  localStorage.setItem(item, "1");
  await kv.keys();
  eq(await kv.get("k"), 1, "the load read the item");
  eq(all, [], "nothing heard before the event");
  dispatchEvent(new StorageEvent("storage", { key: item, newValue: "1", storageArea: localStorage }));
  eq(changesOf(all, "k"), [["remote", { key: "k", value: 1, deleted: false }]], "k heard once");
  await kv.close();
}

export async function memoizeKeepsResults(any) {
  const Kv = any.constructor;
  const { kv, clock } = await opened(Kv, "memory");
  let calls = 0;
  const gate = deferred();
  async function square(n) {
    calls += 1;
    await gate.promise;
    return n * n;
  }
  const memo = kv.memoize(square, { ttl: 60 });
  // Concurrent calls with one key share one call.
  const both = Promise.all([memo(3), memo(3)]);
  await new Promise((r) => setTimeout(r, 0));
  gate.resolve();
  eq(await both, [9, 9], "both calls resolve the result");
  eq(calls, 1, "one call for concurrent calls with one key");
  eq(await memo(3), 9, "a kept result");
  eq(calls, 1, "is not computed again");
  eq(await memo(4), 16, "another argument");
  eq(calls, 2, "is another call");
  eq(await kv.keys(), ["square:[3]", "square:[4]"], "keys: the name, then the arguments as JSON");
  eq(await kv.ttl("square:[3]"), 60, "kept with the ttl");
  clock.advance(60);
  eq(await memo(3), 9, "after the ttl");
  eq(calls, 3, "the result is computed again");

  // Object arguments: keys sorted, so equal arguments share a key.
  const seen = [];
  const echo = kv.memoize((query) => (seen.push(query), query.b), { name: "echo" });
  eq(await echo({ b: 2, a: [1, { z: 0, y: 1 }] }), 2, "echo");
  eq(await echo({ a: [1, { y: 1, z: 0 }], b: 2 }), 2, "echo again");
  eq(seen.length, 1, "the same arguments built in another order");
  eq(await kv.has('echo:[{"a":[1,{"y":1,"z":0}],"b":2}]'), true, "a canonical key");

  // undefined and rejections are not kept.
  let misses = 0;
  const nothing = kv.memoize(async function nothing() { misses += 1; });
  eq(await nothing(), undefined, "undefined");
  eq(await nothing(), undefined, "undefined again");
  eq(misses, 2, "undefined is not kept");
  let failures = 0;
  const failing = kv.memoize(async function failing() { failures += 1; throw new Error("boom"); });
  await rejects(failing(), "Error", "boom", "a rejection");
  await rejects(failing(), "Error", "boom", "a rejection again");
  eq(failures, 2, "a rejection is not kept");
  eq(await kv.has("nothing:[]") || await kv.has("failing:[]"), false, "nothing stored for either");
  const unstorable = kv.memoize(function when() { return new Date(0); });
  await rejects(unstorable(), "InvalidValueError", "Date", "a result JSON cannot hold");
  await rejects(kv.memoize((f) => 1, { name: "args" })(() => 2), "InvalidValueError", "options.key", "arguments JSON cannot hold");

  // key(), anonymous functions and long keys.
  const byId = kv.memoize((user) => user.id * 2, { key: (user) => `user:${user.id}` });
  eq(await byId({ id: 21, session: {} }), 42, "key()");
  eq(await kv.get("user:21"), 42, "kept under key()'s key");
  await kv.memoize((n) => n + 1)(1);
  const anonymous = (await kv.keys()).find((k) => k.startsWith("anonymous:"));
  if (!/^anonymous:[0-9a-f]{32}:\[1\]$/.test(anonymous ?? "")) throw new Error(`an anonymous function's key: ${anonymous}`);
  const long = kv.memoize(function long(text) { return text.length; });
  eq(await long("x".repeat(2000)), 2000, "a long argument");
  const hashed = (await kv.keys()).find((k) => k.startsWith("long:"));
  if (!/^long:sha256:[0-9a-f]{64}$/.test(hashed ?? "")) throw new Error(`a key past the limit is hashed: ${hashed}`);
  eq(await long("x".repeat(2000)), 2000, "found again under its hash");
  // A bound anonymous function (named "bound ", its source hidden) cannot be told from
  // another: refused without a name, and with one each keeps its own results.
  try {
    kv.memoize(((x) => x + 1).bind(null));
    throw new Error("memoize accepted a bound anonymous function without a name");
  } catch (error) {
    eq(error.name, "TypeError", "a bound anonymous function without a name");
  }
  eq(await kv.memoize(((x) => x + 1).bind(null), { name: "plus1" })(1), 2, "named, bound");
  eq(await kv.memoize(((x) => x + 2).bind(null), { name: "plus2" })(1), 3, "another name");
  // A name too long for the key limit even with the arguments hashed: the whole key is hashed.
  let longNameCalls = 0;
  const longName = kv.memoize(() => (longNameCalls += 1), { name: "n".repeat(1100) });
  eq(await longName(), 1, "a name past the key limit");
  eq(await longName(), 1, "found again under the hash of the whole key");

  // Options are checked when memoize is called.
  for (const [options, name] of [
    [{ ttl: 0 }, "RangeError"],
    [{ ttl: "1" }, "TypeError"],
    [{ key: "k" }, "TypeError"],
    [{ name: "" }, "TypeError"],
    [7, "TypeError"],
  ]) {
    try {
      kv.memoize(square, options);
      throw new Error(`memoize accepted ${JSON.stringify(options)}`);
    } catch (error) {
      eq(error.name, name, `memoize(fn, ${JSON.stringify(options)})`);
    }
  }
  try {
    kv.memoize("not a function");
    throw new Error("memoize accepted a string");
  } catch (error) {
    eq(error.name, "TypeError", "memoize of a string");
  }
  await kv.close();
  await rejects(memo(5), "ClosedError", undefined, "a memoized function of a closed store");
}
