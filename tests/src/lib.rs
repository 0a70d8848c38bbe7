//! The behaviour every kv adapter shares, written once.
//!
//! An adapter's test file implements [`Harness`] for its storage (the cases then drive the
//! core's `Store` over it), or [`Adapter`] for a front of its own that writes another way
//! (kv-wasm's `Kv`), and expands [`conformance_tests!`]; each case in [`cases`] becomes one
//! test named for the rule it checks, once for each value representation a store can hold.
//!
//! ```ignore
//! kv_tests::conformance_tests!(sync: MyHarness::new());   // #[test] fns, for synchronous storage
//! kv_tests::conformance_tests!(wasm: MyHarness::new());   // #[wasm_bindgen_test] async fns
//! kv_tests::conformance_tests!(wasm, json_text: MyFront::new()); // JsonText stores only
//! ```

pub mod cases;
mod faulty;
mod harness;
mod subject;
mod value;

pub use faulty::{Faults, FaultyPersist, InjectedFault};
pub use harness::{Harness, MemoryHarness, SharedMemory};
pub use subject::{Adapter, Subject};
pub use value::TestValue;

#[doc(hidden)]
pub use kv_core as __kv_core;

/// Drives a future over synchronous storage to completion, for `#[test]` functions.
pub fn run_sync<F: core::future::Future>(future: F) -> F::Output {
    kv_core::block_on(future).expect("a synchronous adapter finishes on the first poll")
}

/// Expands every case in [`cases`] into one test function per value representation, each with
/// a fresh harness from `$harness` (an expression evaluated once per test): module `value` for
/// stores of [`Value`](kv_core::Value), module `json_text` for stores of
/// [`JsonText`](kv_core::JsonText).
///
/// `sync:` makes `#[test]` functions for adapters that finish on the first poll; `wasm:` makes
/// `#[wasm_bindgen_test]` async functions (the calling crate depends on `wasm-bindgen-test`).
#[macro_export]
macro_rules! conformance_tests {
    (sync: $harness:expr) => {
        $crate::__for_each_representation!($crate::__sync_case, $harness);
    };
    (wasm: $harness:expr) => {
        $crate::__for_each_representation!($crate::__wasm_case, $harness);
    };
    (wasm, json_text: $harness:expr) => {
        /// A fresh adapter, for each case.
        fn conformance_adapter() -> impl $crate::Adapter<$crate::__kv_core::JsonText> {
            $harness
        }

        /// The suite over stores of `JsonText`, the one representation this front holds.
        mod json_text {
            $crate::for_each_case!(
                $crate::__wasm_case,
                (super::conformance_adapter(), $crate::__kv_core::JsonText)
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_representation {
    ($m:path, $harness:expr) => {
        /// A fresh harness, for each case of each representation.
        fn conformance_harness() -> impl $crate::Harness {
            $harness
        }

        /// The suite over stores of `serde_json::Value`.
        mod value {
            $crate::for_each_case!($m, (super::conformance_harness(), $crate::__kv_core::Value));
        }

        /// The suite over stores of `JsonText`.
        mod json_text {
            $crate::for_each_case!(
                $m,
                (super::conformance_harness(), $crate::__kv_core::JsonText)
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __sync_case {
    (($harness:expr, $value:ty), $case:ident) => {
        #[test]
        fn $case() {
            let mut harness = $harness;
            $crate::run_sync($crate::cases::$case::<_, $value>(&mut harness));
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __wasm_case {
    (($harness:expr, $value:ty), $case:ident) => {
        #[::wasm_bindgen_test::wasm_bindgen_test]
        async fn $case() {
            let mut harness = $harness;
            $crate::cases::$case::<_, $value>(&mut harness).await;
        }
    };
}
