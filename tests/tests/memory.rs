//! The conformance suite against `MemoryPersist`.

kv_tests::conformance_tests!(sync: kv_tests::MemoryHarness::default());
