// Runs every contender through the same measurements in one page load, then draws the results
// and leaves them on window.benchResults for run.mjs.
//
// Query parameters (for quick runs in tests): sizes=1000,10000  gets=5000  sets=500  reps=7

import { contenders } from "./contenders.js";
import { BUNDLES, measureBundle } from "./bundles.js";
import { renderBundles, renderCharts, renderTable } from "./report.js";

const params = new URLSearchParams(location.search);
const intList = (name, fallback) => (params.get(name) ?? fallback).split(",").map(Number);
const CONFIG = {
  sizes: intList("sizes", "1000,10000"),
  gets: intList("gets", "5000")[0],
  // Reads from memory take a few microseconds, near the 5 µs timer step even with cross-origin
  // isolation; timing them in groups of ten keeps that step from deciding the result.
  getGroup: 10,
  sets: intList("sets", "500")[0],
  batch: 1000,
  reps: intList("reps", "7")[0],
};

const log = (text) => {
  document.getElementById("progress").textContent = text;
  console.log(text);
};

// A fixed-seed generator, so every contender reads and writes the same keys in the same order.
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const key = (i) => `id:${i}`;
const entries = (from, count, value) => Array.from({ length: count }, (_, i) => [key(from + i), value + i]);

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

// Every phase runs the contenders in turn, in small rounds, so that a slow moment of the
// machine (a GC, a disk flush) is shared out among them instead of landing on one.
async function measureSize(all, size, errors) {
  const live = new Map();
  const failed = (c, err) => {
    errors.push(`${c.label}, ${size} keys: ${err?.name ?? "Error"}: ${err?.message ?? err}`);
    live.delete(c);
  };
  const each = async (phase, fn) => {
    log(`${size.toLocaleString("en")} keys: ${phase}…`);
    for (const [c, m] of [...live]) {
      await fn(c, m).catch((err) => failed(c, err));
    }
  };

  log(`${size.toLocaleString("en")} keys: filling the stores…`);
  for (const c of all) {
    try {
      const store = await c.open(`bench-${c.id}-${size}`);
      await store.clear();
      for (let from = 0; from < size; from += CONFIG.batch) {
        await store.setMany(entries(from, Math.min(CONFIG.batch, size - from), 1_700_000_000));
      }
      live.set(c, { store, pick: random(size), batch: [], sets: [], claims: [], updates: [], gets: [], getAlls: [], opens: [] });
    } catch (err) {
      failed(c, err);
    }
  }
  const anyKey = (m) => key(Math.floor(m.pick() * size));

  // Overwrites the first 1,000 keys, so the store keeps its size from one repetition to the next.
  for (let r = 0; r < CONFIG.reps; r++) {
    await each("batch set", async (c, m) => {
      const values = entries(0, Math.min(CONFIG.batch, size), 1_800_000_000 + r * size);
      m.batch.push(await time(() => m.store.setMany(values)));
    });
  }

  const rounds = 10;
  for (let r = 0; r < rounds; r++) {
    await each("set", async (c, m) => {
      for (let i = 0; i < CONFIG.sets / rounds; i++) {
        const k = anyKey(m);
        m.sets.push(await time(() => m.store.set(k, 1_900_000_000 + i)));
      }
    });
  }

  // Calls decided against storage, for the contenders that have them: a claim of a new ID,
  // and an increment of one counter, in a store of their own (so the measured store keeps
  // exactly `size` keys), removed afterwards.
  await each("setIfAbsent and update", async (c, m) => {
    if (!m.store.setIfAbsent && !m.store.update) return;
    const store = await c.open(`bench-${c.id}-${size}-claims`);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; store.setIfAbsent && i < CONFIG.sets / rounds; i++) {
        const k = `claim:${r}:${i}`;
        m.claims.push(await time(() => store.setIfAbsent(k, 1_900_000_000 + i)));
      }
      for (let i = 0; store.update && i < CONFIG.sets / rounds; i++) {
        m.updates.push(await time(() => store.update("hits", (n) => (n ?? 0) + 1)));
      }
    }
    await store.clear();
    await store.close();
  });

  for (let r = 0; r < rounds; r++) {
    await each("get", async (c, m) => {
      for (let i = 0; i < CONFIG.gets / CONFIG.getGroup / rounds; i++) {
        const keys = Array.from({ length: CONFIG.getGroup }, () => anyKey(m));
        const took = await time(async () => {
          for (const k of keys) await m.store.get(k);
        });
        m.gets.push(took / CONFIG.getGroup);
      }
    });
  }
  // A read that finds nothing would time the wrong path; check one value made it through.
  await each("check", async (c, m) => {
    const probe = await m.store.get(key(size - 1));
    if (probe === undefined || probe === null) throw new Error(`lost ${key(size - 1)}`);
  });

  for (let r = 0; r < CONFIG.reps; r++) {
    await each("get all", async (c, m) => {
      let count = 0;
      m.getAlls.push(
        await time(async () => {
          const got = await m.store.getAll();
          count = Array.isArray(got) ? got.length : Object.keys(got).length;
        }),
      );
      if (count !== size) throw new Error(`getAll returned ${count} of ${size} keys`);
    });
  }

  await each("close", async (c, m) => {
    await m.store.close();
  });
  for (let r = 0; r < CONFIG.reps; r++) {
    await each("cold open", async (c, m) => {
      m.opens.push(
        await time(async () => {
          m.store = await c.open(`bench-${c.id}-${size}`);
          await m.store.get(key(0));
        }),
      );
      await m.store.close();
    });
  }

  // Leave nothing behind: localStorage is small and shared by the localStorage contenders.
  await each("clean up", async (c, m) => {
    const store = await c.open(`bench-${c.id}-${size}`);
    await store.clear();
    await store.close();
  });

  return [...live].map(([c, m]) => {
    const get = summary(m.gets);
    const set = summary(m.sets);
    return {
      contender: c.id,
      size,
      getMedian: get.median,
      getP99: get.p99,
      setMedian: set.median,
      setP99: set.p99,
      setIfAbsentMedian: m.claims.length ? summary(m.claims).median : undefined,
      updateMedian: m.updates.length ? summary(m.updates).median : undefined,
      batchSet: summary(m.batch).median,
      getAll: summary(m.getAlls).median,
      coldOpen: summary(m.opens).median,
    };
  });
}

// Expiry, for the stores that have it (kv-wasm): a set with a ttl against one without, in
// alternating calls on one store; and get on a store where half the keys have expired against
// one where none has (no key has an expiry), the two stores read in alternating rounds.
async function measureExpiry(all, size, errors) {
  const rows = [];
  for (const c of all.filter((c) => c.library === "kv-wasm")) {
    log(`${size.toLocaleString("en")} keys: expiry, ${c.label}…`);
    try {
      const fill = async (store, ttl) => {
        await store.clear();
        for (let from = 0; from < size; from += CONFIG.batch) {
          const batch = entries(from, Math.min(CONFIG.batch, size - from), 1_700_000_000);
          // Every other key expires, after `ttl` seconds; the others never.
          const expiring = ttl ? batch.filter((_, i) => i % 2 === 0) : [];
          await store.setMany(ttl ? batch.filter((_, i) => i % 2 === 1) : batch);
          if (expiring.length) await store.setManyWithTtl(expiring, ttl);
        }
      };
      const plain = await c.open(`bench-${c.id}-${size}-plain`);
      const half = await c.open(`bench-${c.id}-${size}-half`);
      await fill(plain, 0);
      await fill(half, 0.001);
      // Past the 1 ms: half the keys of `half` have expired (no write follows that would
      // remove them).
      await new Promise((resolve) => setTimeout(resolve, 20));
      const pick = random(size);
      const anyKey = () => key(Math.floor(pick() * size));
      const sets = [];
      const ttlSets = [];
      for (let i = 0; i < CONFIG.sets; i++) {
        // The same keys in both, alternating which goes first; overwritten with a ttl of a day,
        // so none expires during the run.
        const k = key(i % Math.min(size, 1000));
        const plainSet = () => time(() => plain.set(k, i));
        const ttlSet = () => time(() => plain.setWithTtl(k, i, 86_400));
        if (i % 2) {
          sets.push(await plainSet());
          ttlSets.push(await ttlSet());
        } else {
          ttlSets.push(await ttlSet());
          sets.push(await plainSet());
        }
      }
      // `plain` now holds keys with a ttl (the ttl sets): filled again without, for the gets.
      await fill(plain, 0);
      const gets = { plain: [], half: [] };
      // Groups of 100 reads: the two differ by less than the timer's step over ten.
      const group = 100;
      const readGroup = async (store, into) => {
        const keys = Array.from({ length: group }, anyKey);
        const took = await time(async () => {
          for (const k of keys) await store.get(k);
        });
        into.push(took / group);
      };
      for (let i = 0; i < Math.max(10, CONFIG.gets / group); i++) {
        await readGroup(plain, gets.plain);
        await readGroup(half, gets.half);
      }
      const live = (await half.keys()).length;
      if (live !== size / 2) throw new Error(`${live} of ${size} keys live in the half-expired store`);
      for (const store of [plain, half]) {
        await store.clear();
        await store.close();
      }
      const median = (samples) => summary(samples).median;
      rows.push(
        { contender: c.id, size, condition: "set, no ttl", median: median(sets) },
        { contender: c.id, size, condition: "set, ttl 1 day", median: median(ttlSets), versus: median(sets), target: 1.1 },
        { contender: c.id, size, condition: "get, no key has expired (none has a ttl)", median: median(gets.plain) },
        {
          contender: c.id,
          size,
          condition: "get, half the keys have expired",
          median: median(gets.half),
          versus: median(gets.plain),
          target: 1.2,
        },
      );
    } catch (err) {
      errors.push(`${c.label}, ${size} keys, expiry: ${err?.name ?? "Error"}: ${err?.message ?? err}`);
    }
  }
  return rows;
}

async function gzipSize(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

async function fetchBytes(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function bundleSizes() {
  const out = [];
  for (const bundle of BUNDLES) {
    out.push(await measureBundle(bundle, fetchBytes, gzipSize).catch((err) => ({ ...bundle, error: String(err) })));
  }
  return out;
}

async function loadKv() {
  try {
    const pkg = await import("/kv-wasm/pkg/kv_wasm.js");
    await pkg.default();
    return { Kv: pkg.Kv, error: null };
  } catch (err) {
    return { Kv: null, error: `kv-wasm could not be loaded: ${err}` };
  }
}

async function run() {
  const { Kv, error } = await loadKv();
  const all = contenders(Kv);
  const results = {
    config: CONFIG,
    userAgent: navigator.userAgent,
    crossOriginIsolated,
    contenders: all.map(({ id, label, library }) => ({ id, label, library })),
    rows: [],
    expiry: [],
    errors: error ? [error] : [],
    bundles: [],
  };
  for (const size of CONFIG.sizes) {
    results.rows.push(...(await measureSize(all, size, results.errors)));
    results.expiry.push(...(await measureExpiry(all, size, results.errors)));
  }
  log("Bundle sizes…");
  results.bundles = await bundleSizes();
  return results;
}

const started = performance.now();
run()
  .then((results) => {
    results.seconds = (performance.now() - started) / 1000;
    renderTable(document.getElementById("table"), results);
    renderCharts(document.getElementById("charts"), results);
    renderBundles(document.getElementById("bundles"), results);
    const problems = results.errors.length ? ` ${results.errors.length} problem(s): ${results.errors.join("; ")}` : "";
    log(`Done in ${results.seconds.toFixed(1)} s.${problems}`);
    window.benchResults = results;
  })
  .catch((err) => {
    log(`The benchmark failed: ${err}`);
    window.benchResults = { failed: String(err) };
  });
