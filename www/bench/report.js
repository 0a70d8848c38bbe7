// Draws benchmark results: a table per store size, a bar chart per measurement (inline SVG,
// log scale, since the contenders differ by orders of magnitude), and the bundle sizes.

export const METRICS = [
  { key: "getMedian", label: "get, median", chart: true },
  { key: "getP99", label: "get, p99" },
  { key: "setMedian", label: "set, median", chart: true },
  { key: "setP99", label: "set, p99" },
  { key: "setIfAbsentMedian", label: "setIfAbsent, median" },
  { key: "updateMedian", label: "update, median" },
  { key: "batchSet", label: "batch set of 1,000", chart: true },
  { key: "getAll", label: "get all", chart: true },
  { key: "coldOpen", label: "cold open", chart: true },
];

/**
 * kv-wasm's IndexedDB contenders, each with the floor of the same durability: the targets are
 * checked for both, and the cost over the floor is shown beside them.
 */
export const OURS = [
  { id: "kv-idb", floor: "raw-idb-strict", durability: "strict" },
  { id: "kv-idb-default", floor: "raw-idb", durability: "default" },
];

/**
 * The targets for kv-wasm on IndexedDB, each as a ratio to idb-keyval's `against` metric
 * (the same metric if absent). idb-keyval asks for the browser's default durability, so only
 * kv-wasm's "default" row compares like with like; the "strict" row is printed beside it.
 */
export const TARGETS = [
  { metric: "getMedian", text: "get at least 20× faster than idb-keyval", met: (kv, idb) => idb / kv >= 20 },
  { metric: "setMedian", text: "single set no slower than 1.1× idb-keyval's set", met: (kv, idb) => kv / idb <= 1.1 },
  {
    metric: "setIfAbsentMedian",
    against: "setMedian",
    text: "setIfAbsent no slower than 1.1× idb-keyval's set",
    met: (kv, idb) => kv / idb <= 1.1,
  },
  {
    metric: "updateMedian",
    against: "setMedian",
    text: "update no slower than 1.1× idb-keyval's set",
    met: (kv, idb) => kv / idb <= 1.1,
  },
  { metric: "batchSet", text: "batch set faster than idb-keyval setMany", met: (kv, idb) => kv < idb },
];

export function formatMs(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return "–";
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.01 ? 2 : ms < 0.1 ? 1 : 0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function formatBytes(n) {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

/** "12× faster" or "1.3× slower" than the baseline; lower times are better. */
export function versus(ms, baseline) {
  if (!(ms > 0) || !(baseline > 0)) return "";
  const ratio = ms <= baseline ? baseline / ms : ms / baseline;
  return `${ratio.toFixed(ratio < 2 ? 2 : 1)}× ${ms <= baseline ? "faster" : "slower"}`;
}

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
};

const row = (results, size, id) => results.rows.find((r) => r.size === size && r.contender === id);

export function renderTable(host, results) {
  const sizes = [...new Set(results.rows.map((r) => r.size))];
  for (const size of sizes) {
    const baseline = row(results, size, "idb-keyval");
    const head = el("tr", {}, el("th", { scope: "col" }, "Store"), ...METRICS.map((m) => el("th", { scope: "col" }, m.label)));
    const body = results.contenders
      .map((c) => [c, row(results, size, c.id)])
      .filter(([, r]) => r)
      .map(([c, r]) =>
        el(
          "tr",
          { class: c.library === "kv-wasm" ? "ours" : "" },
          el("th", { scope: "row" }, c.label),
          ...METRICS.map((m) => {
            const cell = el("td", {}, formatMs(r[m.key]));
            if (baseline && c.id !== "idb-keyval") cell.append(el("small", {}, versus(r[m.key], baseline[m.key])));
            return cell;
          }),
        ),
      );
    host.append(
      el("h3", {}, `${size.toLocaleString("en")} keys`),
      el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...body))),
    );
    for (const { id, floor, durability } of OURS) {
      const ours = row(results, size, id);
      if (!ours || !baseline) continue;
      const under = row(results, size, floor);
      host.append(
        el(
          "ul",
          { class: "targets" },
          ...TARGETS.map((t) => {
            const met = t.met(ours[t.metric], baseline[t.against ?? t.metric]);
            const overFloor = under ? `; ${versus(ours[t.metric], under[t.metric])} than the floor at ${durability} durability` : "";
            return el(
              "li",
              { class: met ? "met" : "missed" },
              `${met ? "✓ met" : "✗ missed"} at ${durability} durability: ${t.text} (${versus(ours[t.metric], baseline[t.against ?? t.metric])}${overFloor})`,
            );
          }),
        ),
      );
    }
  }
  if (results.errors.length) {
    host.append(el("ul", { class: "errors" }, ...results.errors.map((e) => el("li", {}, e))));
  }
}

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, text) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
};

function chart(results, metric) {
  const sizes = [...new Set(results.rows.map((r) => r.size))];
  const bars = results.contenders.flatMap((c) =>
    sizes.map((size, s) => ({ c, s, size, value: row(results, size, c.id)?.[metric.key] })),
  );
  const values = bars.map((b) => b.value).filter((v) => v > 0);
  if (!values.length) return null;
  const lo = Math.log10(Math.min(...values)) - 0.3;
  const hi = Math.log10(Math.max(...values)) + 0.05;

  const labelWidth = 270;
  const plotWidth = 330;
  const valueWidth = 70;
  const bar = 11;
  const group = sizes.length * (bar + 2) + 8;
  const height = results.contenders.length * group + 20;
  const x = (v) => ((Math.log10(v) - lo) / (hi - lo)) * plotWidth;

  const root = svg("svg", {
    viewBox: `0 0 ${labelWidth + plotWidth + valueWidth} ${height}`,
    role: "img",
    "aria-label": `${metric.label}, log scale, shorter is faster`,
  });
  results.contenders.forEach((c, i) => {
    const top = i * group + 4;
    root.append(svg("text", { x: labelWidth - 8, y: top + group / 2 - 2, "text-anchor": "end", class: "label" }, c.label));
    sizes.forEach((size, s) => {
      const v = row(results, size, c.id)?.[metric.key];
      if (!(v > 0)) return;
      const y = top + s * (bar + 2);
      root.append(
        svg("rect", { x: labelWidth, y, width: Math.max(1, x(v)), height: bar, rx: 2, class: `bar s${s}${c.library === "kv-wasm" ? " ours" : ""}` }),
        svg("text", { x: labelWidth + Math.max(1, x(v)) + 4, y: y + bar - 2, class: "value" }, formatMs(v)),
      );
    });
  });
  // Legend: one swatch per store size.
  sizes.forEach((size, s) => {
    const lx = labelWidth + s * 110;
    root.append(
      svg("rect", { x: lx, y: height - 12, width: 10, height: 10, rx: 2, class: `bar s${s}` }),
      svg("text", { x: lx + 14, y: height - 3, class: "value" }, `${size.toLocaleString("en")} keys`),
    );
  });
  return root;
}

export function renderCharts(host, results) {
  for (const metric of METRICS.filter((m) => m.chart)) {
    const drawn = chart(results, metric);
    if (drawn) host.append(el("figure", {}, el("figcaption", {}, `${metric.label} (log scale, shorter is faster)`), drawn));
  }
}

export function renderBundles(host, results) {
  const body = results.bundles.map((b) =>
    el(
      "tr",
      {},
      el("th", { scope: "row" }, b.library),
      el("td", {}, b.error ?? formatBytes(b.raw)),
      el("td", {}, b.error ? "–" : formatBytes(b.gzip)),
      el("td", {}, el("code", {}, b.files.map((f) => f.split("/").pop()).join(" + "))),
    ),
  );
  host.append(
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ...["Library", "raw", "gzip", "files"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...body),
    ),
  );
}
