// Uses every method of kv-wasm's types the way an app would, and calls each wrongly once:
// `tsc -p www/bundlers/types` must accept every line here and report every `@ts-expect-error`.

import init, { Kv, initSync } from "kv-wasm";
import type { Json, KvChangeEvent, KvErrorName, KvOptions } from "kv-wasm";

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
  void n;
}
