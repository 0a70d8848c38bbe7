//! Browser adapter: placeholder until the IndexedDB and localStorage adapters land.
