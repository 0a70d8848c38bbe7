// Uses every method of kv-wasm's types the way an app would, and calls each wrongly once:
// `tsc -p www/bundlers/types` must accept every line here and report every `@ts-expect-error`.

import init, { Kv, initSync } from "kv-wasm";
import type { Json, KvChangeEvent, KvErrorName, KvMemoizeOptions, KvOptions, KvWriteOptions } from "kv-wasm";

export async function everyMethod(wasm: ArrayBuffer): Promise<void> {
  await init();
  await init({ module_or_path: new URL("https://example.test/kv_wasm_bg.wasm") });
  await init({ module_or_path: wasm });
  initSync({ module: wasm });

  const options: KvOptions = {
    backend: "memory",
    durability: "relaxed",
    limits: { maxKeyBytes: 64, maxValueBytes: 4096, maxEntries: 100 },
  };
  const kv: Kv = await Kv.open("types", options);
  const name: string = kv.name;
  const backend: "indexedDB" | "localStorage" | "memory" = kv.backend;

  const value: Json | undefined = await kv.get("a");
  const orZero: Json | number = await kv.get("n", 0);
  const orDate: Json | Date = await kv.get("when", new Date());
  const has: boolean = await kv.has("a");
  const keys: string[] = await kv.keys();
  const all: Record<string, Json> = await kv.getAll();
  await kv.set("a", { nested: [1, "two", null, true] });
  await kv.set("seen:1");
  const added: boolean = await kv.setIfAbsent("seen:2");
  const existed: boolean = await kv.delete("a");
  await kv.setMany({ a: 1, b: "two" });
  await kv.setMany(new Map<string, Json>([["c", 3]]));
  await kv.setMany([["d", 4]] as const);
  const deleted: number = await kv.deleteMany(["a", "b"]);

  // Expiry.
  const hour: KvWriteOptions = { ttl: 3600 };
  await kv.set("session", { user: 1 }, hour);
  await kv.set("seen:3", undefined, { ttl: 30 * 86_400 });
  const claimed: boolean = await kv.setIfAbsent("lock", "me", { ttl: 1.5 });
  const claimedNow: boolean = await kv.setIfAbsent("seen:4", undefined, { ttl: 0.001 });
  await kv.setMany({ a: 1 }, { ttl: 60 });
  await kv.setMany([["b", 2]] as const, {});
  const left: number | null | undefined = await kv.ttl("session");
  const exists: boolean = await kv.expire("session", 60);
  const persisted: boolean = await kv.expire("session", null);
  const purged: number = await kv.purge();
  const testClock: KvOptions = { backend: "memory", clock: () => Date.now() };

  // Memoize: the same arguments, the result awaited.
  const square = kv.memoize(async (n: number) => n * n, { ttl: 60 });
  const squared: number = await square(3);
  const byUser = kv.memoize((user: { id: number }, page: string) => `${user.id}:${page}`, {
    key: (user, page) => `page:${user.id}:${page}`,
    name: "pages",
  });
  const page: string = await byUser({ id: 1 }, "home");
  const memoOptions: KvMemoizeOptions<[number]> = { ttl: 1, key: (n) => String(n) };
  void [testClock, memoOptions];
  const next: Json | undefined = await kv.update("hits", (n) => (typeof n === "number" ? n + 1 : 1));
  const off: () => void = kv.onChange((event: KvChangeEvent) => {
    const origin: "local" | "remote" = event.origin;
    for (const change of event.changes) {
      const key: string = change.key;
      const gone: boolean = change.deleted;
      const now: Json | undefined = change.value;
      void [origin, key, gone, now];
    }
  });
  off();
  await kv.clear();
  await kv.close();

  try {
    await kv.get("a");
  } catch (error) {
    const errorName: KvErrorName | "TypeError" = (error as Error).name as KvErrorName;
    void errorName;
  }
  void [name, backend, value, orZero, orDate, has, keys, all, added, existed, deleted, next];
  void [claimed, claimedNow, left, exists, persisted, purged, squared, page];
}

export async function wrongCalls(kv: Kv): Promise<void> {
  // @ts-expect-error a store is opened with Kv.open, never constructed
  new Kv();
  // @ts-expect-error keys are strings
  await kv.get(1);
  // @ts-expect-error a value is JSON: no functions
  await kv.set("f", () => 1);
  // @ts-expect-error a value is JSON: no bigint
  await kv.set("b", 1n);
  // @ts-expect-error setMany takes entries, not a number
  await kv.setMany(42);
  // @ts-expect-error setMany takes entries, not null
  await kv.setMany(null);
  // @ts-expect-error deleteMany takes a collection of keys, not one string
  await kv.deleteMany("abc");
  // @ts-expect-error deleteMany takes keys, not a number
  await kv.deleteMany(7);
  // @ts-expect-error the updater takes the current value
  await kv.update("n", "not a function");
  // @ts-expect-error an unknown backend
  await Kv.open("x", { backend: "sessionStorage" });
  // @ts-expect-error an unknown durability
  await Kv.open("x", { durability: "eventual" });
  // @ts-expect-error limits are numbers
  await Kv.open("x", { limits: { maxKeyBytes: "64" } });
  // @ts-expect-error a missing key's fallback shows in the type: this is number | Json, not number
  const n: number = await kv.get("n", 0);
  // @ts-expect-error name is read-only
  kv.name = "other";
  // @ts-expect-error a ttl is a number of seconds
  await kv.set("a", 1, { ttl: "1h" });
  // @ts-expect-error write options are an object
  await kv.set("a", 1, 60);
  // @ts-expect-error setIfAbsent's ttl is a number
  await kv.setIfAbsent("a", 1, { ttl: true });
  // @ts-expect-error setMany's ttl is a number
  await kv.setMany({ a: 1 }, { ttl: "60" });
  // @ts-expect-error ttl resolves a number, null or undefined: not only a number
  const left: number = await kv.ttl("a");
  // @ts-expect-error expire takes a ttl or null, never nothing
  await kv.expire("a");
  // @ts-expect-error expire's ttl is a number or null
  await kv.expire("a", "60");
  // @ts-expect-error purge resolves a count
  const purged: boolean = await kv.purge();
  // @ts-expect-error a clock returns a number of milliseconds
  await Kv.open("x", { clock: () => new Date() });
  // @ts-expect-error memoize takes a function
  kv.memoize("not a function");
  const square = kv.memoize((n: number) => n * n);
  // @ts-expect-error the memoized function takes the same arguments
  await square("3");
  // @ts-expect-error and resolves the same result
  const text: string = await square(3);
  // @ts-expect-error key() takes the same arguments
  kv.memoize((n: number) => n, { key: (s: string) => s });
  // @ts-expect-error a memoize ttl is a number
  kv.memoize((n: number) => n, { ttl: "1" });
  void [n, left, purged, text];
}
