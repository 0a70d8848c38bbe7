// One IndexedDB commit per call from wasm. Written in JS because a commit touches every
// record it changes: from wasm each `put` is a call plus two strings copied across, while
// here the whole commit crosses once, as one JSON text.

// `message` is the commit as other contexts hear of it (see remote.rs):
// [clear, key, text | null, ...]. Resolves to that array, parsed, once `tx` completes; rejects
// with the transaction's error (null if it was aborted without one).
export function commit(tx, message) {
  const parsed = JSON.parse(message);
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(parsed);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
  try {
    const records = tx.objectStore("records");
    if (parsed[0]) records.clear();
    for (let i = 1; i < parsed.length; i += 2) {
      const text = parsed[i + 1];
      if (text === null) records.delete(parsed[i]);
      else records.put(text, parsed[i]);
    }
    // Every request is made: commit now rather than when this task ends, which can be well
    // after, behind the wasm and promise work that follows (measured: ~80 µs a write).
    if (tx.commit) tx.commit();
  } catch (error) {
    // Nothing of an aborted transaction is written; the caller hears of the first error,
    // not of an abort that fails because the browser already ended the transaction.
    done.catch(() => {});
    try {
      tx.abort();
    } catch {}
    throw error;
  }
  return done;
}
