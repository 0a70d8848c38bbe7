// localStorage for one store, driven from local.rs: the items under one prefix.

export class Local {
  // `null` where this context has no localStorage (a worker, a service worker); throws
  // where the browser refuses it (storage blocked for the site).
  static create(prefix) {
    const storage = globalThis.localStorage;
    return storage ? new Local(storage, prefix) : null;
  }

  constructor(storage, prefix) {
    this.storage = storage;
    this.prefix = prefix;
  }

  // The names of every item of this store, collected before any is changed.
  items() {
    const items = [];
    for (let i = 0; i < this.storage.length; i++) {
      const item = this.storage.key(i);
      if (item !== null && item.startsWith(this.prefix)) items.push(item);
    }
    return items;
  }

  // [keys, texts]: every item of this store.
  load() {
    const keys = [];
    const texts = [];
    for (const item of this.items()) {
      const text = this.storage.getItem(item);
      if (text !== null) {
        keys.push(item.slice(this.prefix.length));
        texts.push(text);
      }
    }
    return [keys, texts];
  }

  // Writes one commit, `message` as remote.rs encodes it: [clear, key, text | null, ...], as
  // JSON text. If a call fails (the quota), every item already changed is put back and the
  // error is thrown.
  write(message) {
    const parsed = JSON.parse(message);
    const undo = [];
    const change = (item, text) => {
      undo.push([item, this.storage.getItem(item)]);
      if (text === null) this.storage.removeItem(item);
      else this.storage.setItem(item, text);
    };
    try {
      if (parsed[0]) for (const item of this.items()) change(item, null);
      for (let i = 1; i < parsed.length; i += 2) change(this.prefix + parsed[i], parsed[i + 1]);
    } catch (error) {
      for (const [item, old] of undo.reverse()) {
        // Best effort: each restores what was there a moment ago, in space the failed
        // commit freed.
        try {
          if (old === null) this.storage.removeItem(item);
          else this.storage.setItem(item, old);
        } catch {}
      }
      throw error;
    }
  }

  // Stores `text` under `key` as it is: for tests that need storage holding what this
  // version would never write.
  insertRaw(key, text) {
    this.storage.setItem(this.prefix + key, text);
  }

  // Calls `apply(key, text | null)` for each change another page makes to this store's
  // items, `apply(null, null)` when it clears localStorage; returns the unsubscribe.
  listen(apply) {
    const onStorage = (event) => {
      if (event.storageArea !== this.storage) return;
      if (event.key === null) apply(null, null);
      else if (event.key.startsWith(this.prefix)) apply(event.key.slice(this.prefix.length), event.newValue);
    };
    globalThis.addEventListener("storage", onStorage);
    return () => globalThis.removeEventListener("storage", onStorage);
  }
}
