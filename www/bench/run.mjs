// Runs the benchmark page in headless Chromium, prints the results as Markdown tables with
// ratios to idb-keyval, says whether each target is met, and writes target/bench-browser.json.
//
//   node www/bench/run.mjs [sizes=1000,10000] [gets=5000] [sets=500] [reps=7] [cold=7]
//
// `cold` is how many fresh pages time each contender's cold start (cold.html: load the
// library, open, first get), alternating the contenders; 0 skips it.
//
// Needs `npm ci` in www/ (the contenders) and in tests/browser/ (playwright-core), and the
// package built into kv-wasm/pkg. Exits non-zero only when something could not be measured;
// a missed target is reported, never turned into a failure.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { launchProfile, REPO, serve, tempProfile } from "../../tests/browser/browser.mjs";
import { BUNDLES, measureBundle } from "./bundles.js";
import { formatBytes, formatMs, METRICS, OURS, TARGETS, versus } from "./report.js";

const OUT = join(REPO, "target", "bench-browser.json");
const args = process.argv.slice(2).filter((a) => /^\w+=[\w,.]+$/.test(a));
const query = args.filter((a) => !a.startsWith("cold=")).join("&");
const argument = (name, fallback) => args.find((a) => a.startsWith(`${name}=`))?.split("=")[1] ?? fallback;
const COLD_REPS = Number(argument("cold", "7"));
const COLD_SIZES = argument("sizes", "1000,10000").split(",").map(Number);
const COLD = [
  { id: "kv-idb", label: "kv-wasm (IndexedDB, strict durability)", ours: true },
  { id: "kv-idb-default", label: "kv-wasm (IndexedDB, default durability)", ours: true },
  { id: "kv-ls", label: "kv-wasm (localStorage, relaxed durability)", ours: true },
  { id: "idb-keyval", label: "idb-keyval (default durability)" },
  { id: "wasm-floor", label: "floor: idb-keyval, then an empty .wasm fetched and instantiated" },
  { id: "lf-idb", label: "localForage (IndexedDB, default durability)" },
  { id: "lf-ls", label: "localForage (localStorage, relaxed durability)" },
];

// One fresh page of cold.html; resolves what it measured.
async function coldPage(context, url) {
  const page = await context.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.coldResult, null, { timeout: 120_000, polling: 20 });
    const result = await page.evaluate(() => window.coldResult);
    if (result.error) throw new Error(result.error);
    return result;
  } finally {
    await page.close();
  }
}

// Cold start of every contender at every size: fills its store, then times `COLD_REPS`
// fresh pages each, in rounds that alternate the contenders, and clears the store.
async function coldStarts(context, base) {
  const rows = [];
  for (const size of COLD_SIZES) {
    const url = (c, extra = "") => `${base}/www/bench/cold.html?c=${c.id}&size=${size}${extra}`;
    process.stderr.write(`  cold start, ${size.toLocaleString("en")} keys…\n`);
    const samples = new Map(COLD.map((c) => [c, []]));
    for (const c of COLD) await coldPage(context, url(c, "&fill=1"));
    for (let r = 0; r < COLD_REPS; r++) {
      for (const c of COLD) samples.get(c).push(await coldPage(context, url(c)));
    }
    for (const c of COLD) await coldPage(context, url(c, "&clear=1"));
    for (const [c, results] of samples) {
      const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
      const ms = results.map((r) => r.ms);
      const sorted = [...ms].sort((a, b) => a - b);
      // The median time at which each step ended (cold.js marks them), in the order taken.
      const phases = Object.keys(results[0].phases ?? {}).map((p) => [p, median(results.map((r) => r.phases[p]))]);
      rows.push({ contender: c.id, label: c.label, ours: !!c.ours, size, samples: ms, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1], phases });
    }
  }
  return rows;
}

function coldReport(rows) {
  const lines = [`\nCold start: a fresh page loads the library, opens the store and resolves one get (median, min–max over ${COLD_REPS} pages; ratio of medians to idb-keyval)`];
  for (const size of COLD_SIZES) {
    const at = rows.filter((r) => r.size === size);
    const base = at.find((r) => r.contender === "idb-keyval");
    lines.push(`\n${size.toLocaleString("en")} keys\n`);
    lines.push(
      markdown(
        ["store", "cold start, median", "min–max", "vs idb-keyval", "steps ended at (medians)"],
        at.map((r) => [
          r.label,
          formatMs(r.median),
          `${formatMs(r.min)}–${formatMs(r.max)}`,
          base && r !== base ? versus(r.median, base.median) : "",
          r.phases.map(([p, ms]) => `${p} ${formatMs(ms)}`).join(", "),
        ]),
      ),
    );
    const limit = size >= 10000 ? 1 : 1.2;
    lines.push("");
    for (const r of at.filter((r) => r.ours)) {
      const ratio = base ? r.median / base.median : NaN;
      lines.push(
        `target ${ratio <= limit ? "MET   " : "MISSED"} at ${size.toLocaleString("en")} keys: ${r.label} cold start at most ${limit}× idb-keyval's (${ratio.toFixed(2)}×; range ${(r.min / base.median).toFixed(2)}–${(r.max / base.median).toFixed(2)}× its median)`,
      );
    }
  }
  return lines.join("\n");
}

async function bundleSizes() {
  const read = (path) => readFile(join(REPO, path));
  const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;
  const out = [];
  for (const bundle of BUNDLES) {
    out.push(await measureBundle(bundle, read, gzip).catch((err) => ({ ...bundle, error: err.message })));
  }
  return out;
}

function markdown(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function report(results) {
  const label = Object.fromEntries(results.contenders.map((c) => [c.id, c.label]));
  const sizes = [...new Set(results.rows.map((r) => r.size))];
  const lines = [];
  for (const size of sizes) {
    const rows = results.rows.filter((r) => r.size === size);
    const base = rows.find((r) => r.contender === "idb-keyval");
    lines.push(`\n${size.toLocaleString("en")} keys (times per call; ratio to idb-keyval)\n`);
    lines.push(
      markdown(
        ["store", ...METRICS.map((m) => m.label)],
        rows.map((r) => [
          label[r.contender],
          ...METRICS.map((m) => {
            const ratio = base && r !== base ? versus(r[m.key], base[m.key]) : "";
            return ratio ? `${formatMs(r[m.key])} (${ratio})` : formatMs(r[m.key]);
          }),
        ]),
      ),
    );
    for (const { id, floor, durability } of OURS) {
      const ours = rows.find((r) => r.contender === id);
      if (!ours || !base) continue;
      const under = rows.find((r) => r.contender === floor);
      lines.push("");
      for (const t of TARGETS) {
        const met = t.met(ours[t.metric], base[t.against ?? t.metric]);
        const overFloor = under ? `; ${versus(ours[t.metric], under[t.metric])} than the ${durability} floor` : "";
        lines.push(
          `target ${met ? "MET   " : "MISSED"} at ${durability} durability: ${t.text} (kv-wasm is ${versus(ours[t.metric], base[t.against ?? t.metric])}${overFloor})`,
        );
      }
    }
  }
  if (results.expiry?.length) {
    lines.push("\nExpiry (kv-wasm; times per call; ratio to the row above it)\n");
    lines.push(
      markdown(
        ["store", "keys", "condition", "median", "ratio", "target"],
        results.expiry.map((r) => {
          const ratio = r.versus ? r.median / r.versus : undefined;
          return [
            label[r.contender],
            r.size.toLocaleString("en"),
            r.condition,
            formatMs(r.median),
            ratio ? `${ratio.toFixed(2)}×` : "",
            r.target ? `${ratio <= r.target ? "MET" : "MISSED"}: at most ${r.target}×` : "",
          ];
        }),
      ),
    );
  }
  lines.push("\nBundle size (gzip: zlib level 9)\n");
  lines.push(
    markdown(
      ["library", "raw", "gzip", "files"],
      results.bundles.map((b) => [
        b.library,
        b.error ? `missing: ${b.error}` : formatBytes(b.raw),
        b.error ? "–" : formatBytes(b.gzip),
        b.files.map((f) => f.split("/").pop()).join(" + "),
      ]),
    ),
  );
  for (const bundle of results.bundles.filter((b) => b.parts?.length > 1)) {
    lines.push(`\n${bundle.library} by file\n`);
    lines.push(
      markdown(
        ["file", "raw", "gzip"],
        bundle.parts.map((p) => [p.file.split("/").pop(), formatBytes(p.raw), formatBytes(p.gzip)]),
      ),
    );
  }
  return lines.join("\n");
}

// A profile on disk, as users' browsers have: in an off-the-record context (chromium.launch()
// with newPage()) Chromium keeps IndexedDB in memory, and no write would touch the disk.
const server = await serve();
const profile = await tempProfile();
const context = await launchProfile(profile.dir);
const browser = { version: () => context.browser()?.version() ?? "Chromium", close: () => context.close() };
let failed = false;
try {
  const page = await context.newPage();
  let last = "";
  page.on("console", (msg) => {
    // Progress lines repeat once per round; show each phase once.
    if (msg.type() !== "log" || !msg.text().endsWith("…") || msg.text() === last) return;
    last = msg.text();
    process.stderr.write(`  ${last}\n`);
  });
  page.on("pageerror", (err) => process.stderr.write(`page error: ${err.message}\n`));
  const cold = COLD_REPS > 0 ? await coldStarts(context, server.url) : [];
  const url = `${server.url}/www/bench/${query ? `?${query}` : ""}`;
  process.stderr.write(`Benchmarking in ${browser.version()} at ${url}, profile on disk at ${profile.dir}\n`);
  await page.goto(url);
  await page.waitForFunction(() => window.benchResults, null, { timeout: 10 * 60_000, polling: 500 });
  const results = await page.evaluate(() => window.benchResults);
  if (results.failed) throw new Error(results.failed);

  results.coldStart = cold;
  results.browserBundles = results.bundles;
  results.bundles = await bundleSizes();
  results.browser = browser.version();
  results.profile = `persistent, on disk (${profile.dir})`;
  results.date = new Date().toISOString();
  await mkdir(join(REPO, "target"), { recursive: true });
  await writeFile(OUT, JSON.stringify(results, null, 2) + "\n");

  console.log(`Chromium profile: ${results.profile}; IndexedDB and localStorage write to that disk.`);
  console.log(report(results));
  if (cold.length) console.log(coldReport(cold));
  if (!results.crossOriginIsolated) console.log("\nwarning: the page was not cross-origin isolated; timers were coarse (100 µs)");
  for (const e of results.errors) console.log(`\nproblem: ${e}`);
  console.log(`\nRun took ${results.seconds.toFixed(1)} s; results in ${OUT}`);
  failed = results.errors.length > 0 || results.bundles.some((b) => b.error);
} catch (err) {
  console.error(`The benchmark could not run: ${err.message}`);
  failed = true;
} finally {
  await browser.close();
  await server.close();
  await profile.remove();
}
process.exitCode = failed ? 1 : 0;
