//! The conformance suite against both browser adapters, in headless Chromium.
#![cfg(target_arch = "wasm32")]

mod common;

use common::unique;
use kv_tests::Harness;
use kv_wasm::{IdbPersist, LocalPersist};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// IndexedDB, a fresh database per case; reopening opens a new connection.
#[derive(Debug, Default)]
struct IdbHarness {
    name: String,
}

impl Harness for IdbHarness {
    type Persist = IdbPersist;

    async fn fresh(&mut self) -> IdbPersist {
        self.name = unique("conformance-idb");
        self.reopen().await
    }

    async fn reopen(&mut self) -> IdbPersist {
        match IdbPersist::open(&self.name).await {
            Ok(persist) => persist,
            Err(e) => panic!("opening IndexedDB failed: {e}"),
        }
    }

    async fn corrupt(&mut self) {
        let persist = self.reopen().await;
        if let Err(e) = persist
            .insert_raw("broken", &"{\"unterminated".into())
            .await
        {
            panic!("writing a raw record failed: {e}");
        }
    }
}

/// `localStorage`, a fresh prefix per case.
#[derive(Debug, Default)]
struct LocalHarness {
    name: String,
}

impl Harness for LocalHarness {
    type Persist = LocalPersist;

    async fn fresh(&mut self) -> LocalPersist {
        self.name = unique("conformance-local");
        self.reopen().await
    }

    async fn reopen(&mut self) -> LocalPersist {
        match LocalPersist::open(&self.name) {
            Ok(persist) => persist,
            Err(e) => panic!("opening localStorage failed: {e}"),
        }
    }

    async fn corrupt(&mut self) {
        let persist = self.reopen().await;
        if let Err(e) = persist.insert_raw("broken", "{\"unterminated") {
            panic!("writing a raw item failed: {e}");
        }
    }
}

mod indexed_db {
    use super::IdbHarness;
    kv_tests::conformance_tests!(wasm: IdbHarness::default());
}

mod local_storage {
    use super::LocalHarness;
    kv_tests::conformance_tests!(wasm: LocalHarness::default());
}
