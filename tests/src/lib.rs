//! The behaviour every kv adapter shares, written once.
//!
//! An adapter's test file implements [`Harness`] for its storage and expands
//! [`conformance_tests!`]; each case in [`cases`] becomes one test named for the rule it checks.
//!
//! ```ignore
//! kv_tests::conformance_tests!(sync: MyHarness::new());   // #[test] fns, for synchronous storage
//! kv_tests::conformance_tests!(wasm: MyHarness::new());   // #[wasm_bindgen_test] async fns
//! ```

pub mod cases;
mod faulty;
mod harness;

pub use faulty::{Faults, FaultyPersist, InjectedFault};
pub use harness::{Harness, MemoryHarness, SharedMemory};

/// Drives a future over synchronous storage to completion, for `#[test]` functions.
pub fn run_sync<F: core::future::Future>(future: F) -> F::Output {
    kv_core::block_on(future).expect("a synchronous adapter finishes on the first poll")
}

/// Expands every case in [`cases`] into one test function, each with a fresh harness from
/// `$harness` (an expression evaluated once per test).
///
/// `sync:` makes `#[test]` functions for adapters that finish on the first poll; `wasm:` makes
/// `#[wasm_bindgen_test]` async functions (the calling crate depends on `wasm-bindgen-test`).
#[macro_export]
macro_rules! conformance_tests {
    (sync: $harness:expr) => {
        $crate::for_each_case!($crate::__sync_case, $harness);
    };
    (wasm: $harness:expr) => {
        $crate::for_each_case!($crate::__wasm_case, $harness);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __sync_case {
    ($harness:expr, $case:ident) => {
        #[test]
        fn $case() {
            let mut harness = $harness;
            $crate::run_sync($crate::cases::$case(&mut harness));
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __wasm_case {
    ($harness:expr, $case:ident) => {
        #[::wasm_bindgen_test::wasm_bindgen_test]
        async fn $case() {
            let mut harness = $harness;
            $crate::cases::$case(&mut harness).await;
        }
    };
}
