export function unstorable() {
  const cycle = { name: "cycle" };
  cycle.self = cycle;
  return [
    ["a function", () => 1],
    ["a cycle", cycle],
    ["a BigInt", 10n],
    ["undefined inside an array", [1, undefined]],
    ["a hole in an array", [1, , 2]],
    ["undefined inside an object", { a: undefined }],
    ["NaN", NaN],
    ["Infinity", { deep: [-Infinity] }],
    ["a Date", new Date(0)],
    ["a Map", new Map([["a", 1]])],
    ["a symbol", Symbol("s")],
    ["an object with toJSON", { toJSON: () => "changed" }],
  ];
}

export function nextChange(kv) {
  return new Promise((resolve) => {
    const off = kv.onChange((event) => {
      off();
      resolve(event);
    });
  });
}

function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]));
  }
  return value;
}

export function canonical(value) {
  return value === undefined ? "undefined" : JSON.stringify(sorted(value));
}

export function fillLocalStorage(reserve) {
  const names = [];
  let size = 1 << 20;
  let i = 0;
  while (size >= 1) {
    const name = `filler:${i++}`;
    try {
      localStorage.setItem(name, "x".repeat(size));
      names.push(name);
    } catch {
      size = Math.floor(size / 2);
    }
  }
  // Full to the last character: free at least `reserve`, smallest fillers first.
  let freed = 0;
  while (freed < reserve && names.length > 0) {
    const name = names.pop();
    freed += localStorage.getItem(name).length + name.length;
    localStorage.removeItem(name);
  }
  return names;
}

export function bumpVersion(name) {
  return new Promise((resolve, reject) => {
    const probe = indexedDB.open(name);
    probe.onerror = () => reject(probe.error);
    probe.onsuccess = () => {
      const version = probe.result.version;
      probe.result.close();
      const request = indexedDB.open(name, version + 1);
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error("blocked: the store kept its connection open"));
      request.onsuccess = () => {
        request.result.close();
        resolve(version + 1);
      };
    };
  });
}

export function changeTo(kv, key) {
  return new Promise((resolve) => {
    const off = kv.onChange((event) => {
      if (event.changes.some((change) => change.key === key)) {
        off();
        resolve(event);
      }
    });
  });
}

// Records the durability of every readwrite IndexedDB transaction begun until `stop()` is
// called: what the browser was asked for, as it reports it (`IDBTransaction.durability`).
export function recordDurability() {
  const begin = IDBDatabase.prototype.transaction;
  const seen = [];
  IDBDatabase.prototype.transaction = function (...args) {
    const tx = begin.apply(this, args);
    if (tx.mode === "readwrite") seen.push(tx.durability);
    return tx;
  };
  return {
    seen,
    stop() {
      IDBDatabase.prototype.transaction = begin;
    },
  };
}

// Makes the next `n` commits of this page fail as storage fails them, whatever made them:
// IndexedDB `readwrite` transactions abort where they would commit (after their requests),
// and localStorage commits throw a QuotaExceededError at their last step (a store's commit
// counter, `kv-seq:`), after writing their items, so that they are undone.
let failing = 0;
export function failCommits(n) {
  failing = n;
  if (globalThis.__kvFaultsInstalled) return;
  globalThis.__kvFaultsInstalled = true;
  const commit = IDBTransaction.prototype.commit;
  IDBTransaction.prototype.commit = function () {
    if (this.mode === "readwrite" && failing > 0) {
      failing -= 1;
      return this.abort();
    }
    return commit.call(this);
  };
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (item, text) {
    if (String(item).startsWith("kv-seq:") && failing > 0) {
      failing -= 1;
      throw new DOMException("injected by a test", "QuotaExceededError");
    }
    return setItem.call(this, item, text);
  };
}
