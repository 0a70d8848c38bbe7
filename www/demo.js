// The seen-IDs demo: one store named "seen" whose keys are IDs and whose values are the unix
// second each ID was first seen. The list is always redrawn from the store, never patched by
// hand, so what the page shows is exactly what a reload would show.

import init, { Kv } from "/kv-wasm/pkg/kv_wasm.js";

const STORE = "seen";
const BACKENDS = { indexedDB: "IndexedDB", localStorage: "localStorage" };

const $ = (id) => document.getElementById(id);
const ui = {
  backend: $("backend"),
  form: $("add"),
  input: $("id-input"),
  status: $("status"),
  list: $("list"),
  empty: $("empty"),
  count: $("count"),
  countNoun: $("count-noun"),
  clear: $("clear"),
  info: $("store-info"),
};

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

let kv = null;
let stopListening = () => {};
// Bumped on every backend switch so that a slow open or render for the old backend cannot
// overwrite the page after the user has moved on.
let generation = 0;

function say(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", isError);
}

function sayError(action, err) {
  const name = err?.name && err.name !== "Error" ? `${err.name}: ` : "";
  say(`Could not ${action}. ${name}${err?.message ?? err}`, true);
}

function ago(seconds) {
  const diff = Math.round(seconds - Date.now() / 1000);
  if (Math.abs(diff) < 10) return "just now";
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [30, "day"],
    [12, "month"],
    [Infinity, "year"],
  ];
  let amount = diff;
  for (const [size, unit] of steps) {
    if (Math.abs(amount) < size) return relative.format(Math.trunc(amount), unit);
    amount /= size;
  }
  return "";
}

function row(id, value, fresh) {
  const li = document.createElement("li");
  li.dataset.id = id;
  if (fresh) li.classList.add("fresh");

  const name = document.createElement("span");
  name.className = "id";
  name.textContent = id;

  const when = document.createElement("span");
  when.className = "when";
  if (typeof value === "number" && Number.isFinite(value)) {
    const date = new Date(value * 1000);
    const rel = document.createElement("time");
    rel.className = "rel";
    rel.dateTime = date.toISOString();
    rel.dataset.seconds = String(value);
    rel.textContent = ago(value);
    const abs = document.createElement("span");
    abs.className = "abs";
    abs.textContent = absolute.format(date);
    when.append(rel, abs);
  } else {
    // Another program may have stored something other than a timestamp under this key.
    when.textContent = JSON.stringify(value);
  }

  const del = document.createElement("button");
  del.type = "button";
  del.className = "delete";
  del.textContent = "×";
  del.title = `Delete ${id}`;
  del.setAttribute("aria-label", `Delete ${id}`);
  del.addEventListener("click", () => remove(id));

  li.append(name, when, del);
  return li;
}

async function render(fresh = new Set()) {
  const mine = generation;
  const all = await kv.getAll();
  if (mine !== generation) return;
  const entries = Object.entries(all).sort(
    ([a, x], [b, y]) => (Number(y) || 0) - (Number(x) || 0) || a.localeCompare(b),
  );
  ui.list.replaceChildren(...entries.map(([id, value]) => row(id, value, fresh.has(id))));
  ui.count.textContent = String(entries.length);
  ui.countNoun.textContent = entries.length === 1 ? "ID" : "IDs";
  ui.empty.hidden = entries.length > 0;
  ui.clear.disabled = entries.length === 0;
}

async function add(id) {
  try {
    const isNew = await kv.setIfAbsent(id);
    if (isNew) {
      say(`Remembered ${id}.`);
    } else {
      const first = await kv.get(id);
      say(typeof first === "number" ? `Already seen ${id}, ${ago(first)}.` : `Already seen ${id}.`);
    }
    // A second sighting changes nothing in the store, so there is nothing to redraw.
    if (isNew) await render(new Set([id]));
    return true;
  } catch (err) {
    sayError(`remember ${id}`, err);
    return false;
  }
}

async function remove(id) {
  try {
    const existed = await kv.delete(id);
    say(existed ? `Deleted ${id}.` : `${id} was already gone.`);
    await render();
  } catch (err) {
    sayError(`delete ${id}`, err);
  }
}

async function clearAll() {
  try {
    await kv.clear();
    say("Cleared every ID.");
    await render();
  } catch (err) {
    sayError("clear the store", err);
  }
}

async function use(backend) {
  const mine = ++generation;
  document.body.dataset.state = "opening";
  stopListening();
  const old = kv;
  kv = null;
  // Closing waits for the old store's pending writes; a failure there was already reported.
  await old?.close().catch(() => {});
  ui.info.textContent = `Opening ${BACKENDS[backend]}…`;
  try {
    const opened = await Kv.open(STORE, { backend });
    if (mine !== generation) {
      opened.close();
      return;
    }
    kv = opened;
  } catch (err) {
    if (mine === generation) {
      ui.info.textContent = `${BACKENDS[backend]} is not available here.`;
      sayError(`open ${BACKENDS[backend]}`, err);
    }
    return;
  }
  stopListening = kv.onChange((ev) => {
    // Our own writes redraw right after they finish; only other tabs need redrawing here.
    if (ev.origin !== "remote") return;
    const added = new Set(ev.changes.filter((c) => !c.deleted).map((c) => c.key));
    render(added).catch((err) => sayError("refresh the list", err));
  });
  ui.info.textContent = `Store “${kv.name}” in ${BACKENDS[kv.backend] ?? kv.backend}`;
  await render();
  if (mine === generation) {
    document.body.dataset.backend = backend;
    document.body.dataset.state = "ready";
  }
}

function chosenBackend() {
  const asked = new URLSearchParams(location.search).get("backend");
  return asked in BACKENDS ? asked : "indexedDB";
}

ui.form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = ui.input.value.trim();
  if (!id || !kv) return;
  if (await add(id)) ui.input.value = "";
  ui.input.focus();
});

ui.clear.addEventListener("click", clearAll);

ui.backend.addEventListener("change", (ev) => {
  const backend = ev.target.value;
  // The choice lives in the URL so that a reload reopens the same backend.
  const url = new URL(location.href);
  url.searchParams.set("backend", backend);
  history.replaceState(null, "", url);
  say("");
  use(backend).catch((err) => sayError("switch backend", err));
});

// Keep "3 minutes ago" true while the page stays open.
setInterval(() => {
  for (const t of ui.list.querySelectorAll("time[data-seconds]")) {
    t.textContent = ago(Number(t.dataset.seconds));
  }
}, 15_000);

try {
  await init();
  const backend = chosenBackend();
  ui.backend.querySelector(`input[value="${backend}"]`).checked = true;
  await use(backend);
} catch (err) {
  ui.info.textContent = "The store could not start.";
  sayError("load the kv-wasm package", err);
}
