// The popup only displays; the service worker owns the store (see sw.js).

const $ = (id) => document.getElementById(id);
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

async function ask(message) {
  const reply = await chrome.runtime.sendMessage(message);
  if (!reply?.ok) {
    const err = new Error(reply?.error?.message ?? "no reply from the service worker");
    err.name = reply?.error?.name ?? "Error";
    throw err;
  }
  return reply.value;
}

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function item({ id, firstSeen }) {
  const li = document.createElement("li");
  li.dataset.id = id;
  const text = document.createElement("div");
  const name = document.createElement("span");
  name.className = "id";
  name.textContent = id;
  const when = document.createElement("time");
  const date = new Date(firstSeen * 1000);
  when.dateTime = date.toISOString();
  when.textContent = `first seen ${absolute.format(date)}`;
  text.append(name, when);
  const forget = document.createElement("button");
  forget.type = "button";
  forget.className = "forget";
  forget.textContent = "Delete";
  forget.setAttribute("aria-label", `Delete ${id}`);
  forget.addEventListener("click", () => {
    forget.disabled = true;
    ask({ type: "forget", id })
      .then((existed) => {
        say(existed ? `Deleted ${id}.` : `${id} was already gone.`);
        // A delete that found nothing changes nothing, so no "changed" message will redraw
        // this stale row: redraw here.
        if (!existed) return refresh();
      })
      .catch((err) => {
        forget.disabled = false;
        report(`delete ${id}`)(err);
      });
  });
  li.append(text, forget);
  return li;
}

async function refresh() {
  const entries = await ask({ type: "list" });
  $("list").replaceChildren(...entries.map(item));
  $("count").textContent = String(entries.length);
  $("empty").hidden = entries.length > 0;
  $("clear").disabled = entries.length === 0;
  document.body.dataset.state = "ready";
}

const report = (action) => (err) => say(`Could not ${action}: ${err.name}: ${err.message}`, true);

$("add").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const id = $("id-input").value.trim();
  if (!id) return;
  ask({ type: "remember", id })
    .then((isNew) => {
      say(isNew ? `Remembered ${id}.` : `Already seen ${id}.`);
      $("id-input").value = "";
    })
    .catch(report(`remember ${id}`));
});

$("clear").addEventListener("click", () => {
  ask({ type: "clear" })
    .then(() => {
      say("Cleared.");
    })
    .catch(report("clear"));
});

// The worker announces every change to its store, this popup's own requests included: the
// one place the list is redrawn after a change.
chrome.runtime.onMessage.addListener((msg) => {
  if (msg?.type === "changed") refresh().catch(report("refresh"));
});

refresh().catch(report("list what was seen"));
