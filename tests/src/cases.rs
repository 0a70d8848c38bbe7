//! One function per rule of the store. Each takes an [`Adapter`] (every [`Harness`] is
//! one) and a value representation `V`, and panics if its adapter breaks the rule for stores
//! of `V`; [`conformance_tests!`](crate::conformance_tests) makes them tests.
//!
//! [`Harness`]: crate::Harness

use std::time::Duration;

use kv_core::{Clock, Error, ErrorKind, Limit, Limits, Rejected, Ttl, Value};
use serde_json::json;

use crate::subject::{Adapter, Subject};
use crate::value::TestValue;

/// 2025-11-21T04:53:20Z, the time on every test clock unless a case moves it.
const NOW: u64 = 1_763_700_800;

/// The error of the stores `H` opens.
type StoreError<H, V> = Error<<<H as Adapter<V>>::Store as Subject<V>>::Error>;

async fn open<H: Adapter<V>, V: TestValue>(h: &mut H) -> H::Store {
    h.fresh(Limits::default(), NOW).await
}

async fn open_limited<H: Adapter<V>, V: TestValue>(h: &mut H, limits: Limits) -> H::Store {
    h.fresh(limits, NOW).await
}

async fn reopen_limited<H: Adapter<V>, V: TestValue>(h: &mut H, limits: Limits) -> H::Store {
    match h.reopen(limits, NOW).await {
        Ok(store) => store,
        Err(e) => panic!("reopening failed: {e}"),
    }
}

async fn reopen<H: Adapter<V>, V: TestValue>(h: &mut H, store: H::Store) -> H::Store {
    drop(store);
    reopen_limited(h, Limits::default()).await
}

/// The whole store as one JSON object, keys in ascending order.
fn all<V: TestValue>(store: &impl Subject<V>) -> Value {
    Value::Object(store.all())
}

/// `json!(...)` held as the store's value representation.
macro_rules! v {
    ($($json:tt)+) => {
        TestValue::from_json(json!($($json)+))
    };
}

macro_rules! ok {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => panic!("{} failed: {e}", stringify!($e)),
        }
    };
}

/// Calls `$m!($arg, case)` for every case in this module; `$arg` is one token tree.
#[doc(hidden)]
#[macro_export]
macro_rules! for_each_case {
    ($m:path, $arg:tt) => {
        $m!($arg, a_new_store_is_empty);
        $m!($arg, set_then_get_returns_the_value);
        $m!($arg, get_or_returns_the_fallback_only_for_a_missing_key);
        $m!($arg, touch_stores_the_clock_time_in_whole_unix_seconds);
        $m!($arg, delete_reports_whether_the_key_existed);
        $m!($arg, every_write_survives_reopening);
        $m!($arg, clear_erases_storage_itself);
        $m!($arg, set_many_writes_every_key);
        $m!($arg, delete_many_counts_the_keys_that_existed);
        $m!($arg, set_if_absent_keeps_the_first_value);
        $m!($arg, touch_if_absent_answers_have_i_seen_this_id);
        $m!($arg, update_reads_and_writes_in_one_step);
        $m!(
            $arg,
            a_transaction_sees_its_own_writes_and_commits_them_together
        );
        $m!($arg, a_failed_transaction_writes_nothing);
        $m!(
            $arg,
            a_key_over_the_key_limit_is_rejected_and_nothing_changes
        );
        $m!(
            $arg,
            a_value_over_the_value_limit_is_rejected_and_nothing_changes
        );
        $m!(
            $arg,
            a_value_nested_deeper_than_a_store_can_reopen_is_rejected
        );
        $m!($arg, the_entry_limit_stops_new_keys_but_not_overwrites);
        $m!($arg, a_store_over_its_limits_still_opens_whole);
        $m!($arg, reserved_keys_are_rejected);
        $m!($arg, every_json_value_round_trips);
        $m!($arg, get_all_and_the_iterators_agree);
        $m!($arg, a_failed_commit_leaves_memory_equal_to_storage);
        $m!($arg, corrupt_storage_fails_to_open_and_is_not_overwritten);
        $m!(
            $arg,
            a_key_is_absent_for_every_read_from_the_moment_it_expires
        );
        $m!($arg, an_expiry_survives_reopening_to_the_millisecond);
        $m!($arg, set_removes_an_expiry_and_update_keeps_it);
        $m!($arg, set_if_absent_claims_an_expired_key_again);
        $m!($arg, touch_with_a_ttl_is_seen_now_forget_later);
        $m!($arg, set_many_with_a_ttl_gives_every_key_the_same_expiry);
        $m!(
            $arg,
            expire_sets_or_removes_an_expiry_and_answers_whether_the_key_exists
        );
        $m!(
            $arg,
            a_ttl_the_store_cannot_hold_is_rejected_and_nothing_changes
        );
        $m!(
            $arg,
            expired_keys_leave_storage_within_writes_and_on_purge_never_on_reads
        );
        $m!(
            $arg,
            a_store_whose_expiring_keys_are_gone_snapshots_as_before
        );
        $m!($arg, clear_forgets_every_expiry);
    };
}

pub async fn a_new_store_is_empty<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let store = open(h).await;
    assert!(store.is_empty());
    assert_eq!(store.len(), 0);
    assert_eq!(store.get("anything"), None);
    assert!(store.all().is_empty());
}

pub async fn set_then_get_returns_the_value<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    ok!(store.set("last_command", v!("ping")).await);
    assert_eq!(store.get("last_command"), Some(v!("ping")));
    ok!(store.set("last_command", v!("pong")).await);
    assert_eq!(store.get("last_command"), Some(v!("pong")));
    assert_eq!(store.len(), 1);
    assert!(store.contains("last_command"));
}

pub async fn get_or_returns_the_fallback_only_for_a_missing_key<H: Adapter<V>, V: TestValue>(
    h: &mut H,
) {
    let mut store = open(h).await;
    assert_eq!(store.get_or("absent", v!(0)), v!(0));
    ok!(store.set("present", v!(null)).await);
    assert_eq!(store.get_or("present", v!(0)), v!(null));
    ok!(store.set("zero", v!(0)).await);
    assert_eq!(store.get_or("zero", v!(7)), v!(0));
}

pub async fn touch_stores_the_clock_time_in_whole_unix_seconds<H: Adapter<V>, V: TestValue>(
    h: &mut H,
) {
    let mut store = open(h).await;
    assert_eq!(ok!(store.touch("seen:1").await), NOW);
    assert_eq!(store.get("seen:1"), Some(v!(NOW)));
    assert!(store.get("seen:1").is_some_and(|v| v.to_json().is_u64()));
    store.clock().advance(90);
    assert_eq!(ok!(store.touch("seen:1").await), NOW + 90);
    let store = reopen(h, store).await;
    assert_eq!(store.get("seen:1"), Some(v!(NOW + 90)));
}

pub async fn delete_reports_whether_the_key_existed<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    ok!(store.set("a", v!(1)).await);
    assert!(ok!(store.delete("a").await));
    assert!(!ok!(store.delete("a").await));
    assert!(!ok!(store.delete("never").await));
    assert_eq!(store.get("a"), None);
    let store = reopen(h, store).await;
    assert_eq!(store.get("a"), None);
}

pub async fn every_write_survives_reopening<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    ok!(store.set("a", v!({"n": 1})).await);
    ok!(store.touch("b").await);
    ok!(store.set_many([("c", v!(3)), ("d", v!(4))]).await);
    ok!(store.delete("c").await);
    ok!(store.update("a", |_| Some(v!({"n": 2}))).await);
    let before = all(&store);
    let store = reopen(h, store).await;
    assert_eq!(all(&store), before);
    assert_eq!(before, json!({"a": {"n": 2}, "b": NOW, "d": 4}));
}

pub async fn clear_erases_storage_itself<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    ok!(store.set_many([("a", v!(1)), ("b", v!(2))]).await);
    ok!(store.clear().await);
    assert!(store.is_empty());
    let mut store = reopen(h, store).await;
    assert!(store.is_empty());
    ok!(store.set("c", v!(3)).await);
    let store = reopen(h, store).await;
    assert_eq!(all(&store), json!({"c": 3}));
}

pub async fn set_many_writes_every_key<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    let entries: Vec<(String, V)> = (0..100).map(|i| (format!("k{i}"), v!(i))).collect();
    ok!(store.set_many(entries.clone()).await);
    assert_eq!(store.len(), 100);
    let store = reopen(h, store).await;
    for (key, value) in &entries {
        assert_eq!(store.get(key), Some(value.clone()));
    }
}

pub async fn delete_many_counts_the_keys_that_existed<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    ok!(store
        .set_many([("a", v!(1)), ("b", v!(2)), ("c", v!(3))])
        .await);
    assert_eq!(ok!(store.delete_many(["a", "c", "x", "a"]).await), 2);
    let store = reopen(h, store).await;
    assert_eq!(all(&store), json!({"b": 2}));
}

pub async fn set_if_absent_keeps_the_first_value<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    assert!(ok!(store.set_if_absent("k", v!("first")).await));
    assert!(!ok!(store.set_if_absent("k", v!("second")).await));
    let store = reopen(h, store).await;
    assert_eq!(store.get("k"), Some(v!("first")));
}

pub async fn touch_if_absent_answers_have_i_seen_this_id<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    assert!(ok!(store.touch_if_absent("seen:42").await));
    store.clock().advance(60);
    assert!(!ok!(store.touch_if_absent("seen:42").await));
    let store = reopen(h, store).await;
    assert_eq!(store.get("seen:42"), Some(v!(NOW)), "first sighting kept");
}

pub async fn update_reads_and_writes_in_one_step<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    let bump = |v: Option<&V>| {
        let hits = v.and_then(|v| v.to_json().as_u64()).unwrap_or(0);
        Some(v!(hits + 1))
    };
    assert_eq!(ok!(store.update("hits", bump).await), Some(v!(1)));
    assert_eq!(ok!(store.update("hits", bump).await), Some(v!(2)));
    assert_eq!(ok!(store.update("hits", |_| None).await), None);
    assert!(!store.contains("hits"));
    assert_eq!(ok!(store.update("missing", |_| None).await), None);
    ok!(store.update("hits", bump).await);
    let store = reopen(h, store).await;
    assert_eq!(store.get("hits"), Some(v!(1)));
}

pub async fn a_transaction_sees_its_own_writes_and_commits_them_together<
    H: Adapter<V>,
    V: TestValue,
>(
    h: &mut H,
) {
    let mut store = open(h).await;
    ok!(store
        .set_many([("queue:a", v!(["t"])), ("stale", v!(1))])
        .await);
    let moved = store
        .transaction(|tx| {
            let token = tx.get("queue:a").cloned();
            tx.delete("queue:a");
            assert!(!tx.contains("queue:a"));
            tx.set("queue:b", token.clone().unwrap_or_else(|| v!(null)))?;
            assert_eq!(tx.get("queue:b"), token.as_ref());
            tx.clear();
            assert!(!tx.contains("stale"));
            tx.set("queue:b", V::from_json(json!(["t"])))?;
            Ok::<_, StoreError<H, V>>(token.is_some())
        })
        .await;
    assert!(ok!(moved));
    let store = reopen(h, store).await;
    assert_eq!(all(&store), json!({"queue:b": ["t"]}));
}

pub async fn a_failed_transaction_writes_nothing<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    ok!(store.set("kept", v!(1)).await);
    let result = store
        .transaction(|tx| {
            tx.set("new", V::from_json(json!(2)))?;
            tx.delete("kept");
            Err(Abort::ChangedMyMind)
        })
        .await;
    assert!(matches!(result, Err::<(), _>(Abort::ChangedMyMind)));
    assert_eq!(all(&store), json!({"kept": 1}));
    let store = reopen(h, store).await;
    assert_eq!(all(&store), json!({"kept": 1}));
}

/// A caller's own error type, aborting a transaction.
enum Abort {
    ChangedMyMind,
    Store,
}

impl<E> From<Error<E>> for Abort {
    fn from(_: Error<E>) -> Self {
        Self::Store
    }
}

impl From<Rejected> for Abort {
    fn from(_: Rejected) -> Self {
        Self::Store
    }
}

fn rejected_limit<E: kv_core::StorageError>(result: Result<(), Error<E>>) -> Limit {
    match result {
        Err(Error::Rejected(Rejected::Limit(e))) => e.limit,
        Err(e) => panic!("expected a limit error, got {e} ({:?})", e.kind()),
        Ok(()) => panic!("expected a limit error, the write succeeded"),
    }
}

pub async fn a_key_over_the_key_limit_is_rejected_and_nothing_changes<
    H: Adapter<V>,
    V: TestValue,
>(
    h: &mut H,
) {
    let mut store = open_limited(h, Limits::DEFAULT.max_key_bytes(8)).await;
    ok!(store.set("12345678", v!(1)).await);
    let long = rejected_limit(store.set("123456789", v!(1)).await);
    assert_eq!(long, Limit::KeyBytes);
    // Counted in UTF-8 bytes: four two-byte characters are eight bytes, five are ten.
    ok!(store.set("éééé", v!(1)).await);
    assert_eq!(
        rejected_limit(store.set("ééééé", v!(1)).await),
        Limit::KeyBytes
    );
    let batch = store
        .set_many([("ok", v!(1)), ("much-too-long", v!(2))])
        .await;
    assert_eq!(rejected_limit(batch), Limit::KeyBytes);
    let store = reopen(h, store).await;
    assert_eq!(all(&store), json!({"12345678": 1, "éééé": 1}));
}

pub async fn a_value_over_the_value_limit_is_rejected_and_nothing_changes<
    H: Adapter<V>,
    V: TestValue,
>(
    h: &mut H,
) {
    let limits = Limits::DEFAULT.max_value_bytes(10);
    let mut store = open_limited(h, limits).await;
    // Encoded sizes: "12345678" with its quotes is 10 bytes, one more character is 11.
    ok!(store.set("k", v!("12345678")).await);
    let e = store.set("k", v!("123456789")).await;
    assert_eq!(rejected_limit(e), Limit::ValueBytes);
    let e = store
        .update("k", |_| Some(v!([1, 2, 3, 4, 5])))
        .await
        .map(drop);
    assert_eq!(rejected_limit(e), Limit::ValueBytes);
    assert_eq!(store.get("k"), Some(v!("12345678")));
    let store = reopen(h, store).await;
    assert_eq!(store.get("k"), Some(v!("12345678")));
}

/// `depth` arrays, one inside the other, around `0`.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(0), |inner, _| json!([inner]))
}

pub async fn a_value_nested_deeper_than_a_store_can_reopen_is_rejected<
    H: Adapter<V>,
    V: TestValue,
>(
    h: &mut H,
) {
    let mut store = open(h).await;
    let deepest = V::from_json(nested(Limits::MAX_NESTING));
    ok!(store.set("deep", deepest.clone()).await);
    let e = store
        .set("deeper", V::from_json(nested(Limits::MAX_NESTING + 1)))
        .await;
    assert_eq!(rejected_limit(e), Limit::Nesting);
    assert!(!store.contains("deeper"));
    let store = reopen(h, store).await;
    assert_eq!(store.get("deep"), Some(deepest));
    assert_eq!(store.len(), 1);
}

pub async fn the_entry_limit_stops_new_keys_but_not_overwrites<H: Adapter<V>, V: TestValue>(
    h: &mut H,
) {
    let mut store = open_limited(h, Limits::DEFAULT.max_entries(2)).await;
    ok!(store.set_many([("a", v!(1)), ("b", v!(2))]).await);
    assert_eq!(rejected_limit(store.set("c", v!(3)).await), Limit::Entries);
    ok!(store.set("a", v!(10)).await);
    // A batch that deletes one and adds one stays within the limit.
    ok!(store
        .transaction(|tx| {
            tx.delete("b");
            tx.set("c", V::from_json(json!(3)))?;
            Ok::<_, StoreError<H, V>>(())
        })
        .await);
    let store = reopen(h, store).await;
    assert_eq!(all(&store), json!({"a": 10, "c": 3}));
}

pub async fn a_store_over_its_limits_still_opens_whole<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open_limited(h, Limits::NONE).await;
    ok!(store
        .set_many((0..5).map(|i| (format!("key-{i}"), v!("a long value"))))
        .await);
    drop(store);
    let tight = Limits::DEFAULT
        .max_entries(2)
        .max_key_bytes(1)
        .max_value_bytes(1);
    let mut store = reopen_limited(h, tight).await;
    assert_eq!(store.len(), 5, "nothing stored is dropped on open");
    ok!(store.delete("key-0").await);
    assert_eq!(store.len(), 4);
}

pub async fn reserved_keys_are_rejected<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    match store.set("\u{0}meta", v!(1)).await {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ReservedKey),
        Ok(()) => panic!("a key beginning with U+0000 was accepted"),
    }
    ok!(store.set("a\u{0}b", v!(1)).await);
    assert!(!store.contains("\u{0}meta"));
}

pub async fn every_json_value_round_trips<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let values: [V; 15] = [
        v!(null),
        v!(true),
        v!(false),
        v!(0),
        v!(-1),
        v!(u64::MAX),
        v!(i64::MIN),
        v!(1.5),
        v!(-0.000_123_4),
        v!(""),
        v!("quotes \" and \\ and \n and \u{1F600} and \u{0}"),
        v!([]),
        v!({}),
        v!([1, "two", [3], {"four": 4}]),
        v!({"z": 1, "a": {"nested": [null, true]}, "é": "ü"}),
    ];
    let mut store = open(h).await;
    for (i, value) in values.iter().enumerate() {
        ok!(store.set(format!("v{i}"), value.clone()).await);
    }
    ok!(store.set("ключ 🔑", v!("unicode key")).await);
    ok!(store.set("", v!("empty key")).await);
    let store = reopen(h, store).await;
    for (i, value) in values.iter().enumerate() {
        assert_eq!(
            store.get(&format!("v{i}")),
            Some(value.clone()),
            "value {i}"
        );
    }
    assert_eq!(store.get("ключ 🔑"), Some(v!("unicode key")));
    assert_eq!(store.get(""), Some(v!("empty key")));
}

pub async fn get_all_and_the_iterators_agree<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    ok!(store
        .set_many([("b", v!(2)), ("a", v!(1)), ("c", v!(3))])
        .await);
    let all = store.all();
    assert_eq!(all.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    let mut keys = store.keys();
    keys.sort_unstable();
    assert_eq!(keys, ["a", "b", "c"]);
    assert_eq!(store.sorted_keys(), ["a", "b", "c"]);
    let mut values = store.values();
    values.sort_by_key(|v| v.to_json().as_u64());
    assert_eq!(values, [v!(1), v!(2), v!(3)]);
    let entries = store.entries();
    assert_eq!(entries.len(), 3);
    assert!(
        entries
            .iter()
            .all(|(k, v)| all.get(k) == Some(&v.to_json()))
    );
}

pub async fn a_failed_commit_leaves_memory_equal_to_storage<H: Adapter<V>, V: TestValue>(
    h: &mut H,
) {
    let mut store = open(h).await;
    ok!(store.set_many([("a", v!(1)), ("b", v!(2))]).await);

    store.fail_commits(1);
    assert!(store.set("a", v!(100)).await.is_err());
    store.fail_commits(1);
    assert!(store.delete("b").await.is_err());
    store.fail_commits(1);
    assert!(store.clear().await.is_err());
    store.fail_commits(1);
    assert!(store.set_many([("c", v!(3)), ("d", v!(4))]).await.is_err());
    store.fail_commits(1);
    assert!(store.touch_if_absent("e").await.is_err());

    let expected = json!({"a": 1, "b": 2});
    assert_eq!(all(&store), expected, "memory");
    drop(store);
    let store = reopen_limited(h, Limits::default()).await;
    assert_eq!(all(&store), expected, "storage");
}

pub async fn corrupt_storage_fails_to_open_and_is_not_overwritten<H: Adapter<V>, V: TestValue>(
    h: &mut H,
) {
    let mut store = open(h).await;
    ok!(store.set("a", v!(1)).await);
    drop(store);
    h.corrupt().await;
    // Twice: a first open that "repaired" or emptied the storage would let the second pass.
    for attempt in ["first", "second"] {
        match h.reopen(Limits::default(), NOW).await {
            Err(e) => assert_eq!(e.kind(), ErrorKind::Corrupt, "{attempt} open: {e}"),
            Ok(_) => panic!("{attempt} open of corrupt storage succeeded"),
        }
    }
}

/// Reopens the store as [`reopen`] does, with the clock where `store`'s showed.
async fn reopen_keeping_time<H: Adapter<V>, V: TestValue>(h: &mut H, store: H::Store) -> H::Store {
    let now = store.clock().now_ms();
    let store = reopen(h, store).await;
    store.clock().set_ms(now);
    store
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub async fn a_key_is_absent_for_every_read_from_the_moment_it_expires<
    H: Adapter<V>,
    V: TestValue,
>(
    h: &mut H,
) {
    let mut store = open(h).await;
    ok!(store.set_with_ttl("a", v!(1), secs(90)).await);
    ok!(store.set("b", v!(2)).await);
    store.clock().advance_ms(89_999);
    assert_eq!(store.get("a"), Some(v!(1)));
    assert_eq!(store.ttl("a"), Ttl::Left(Duration::from_millis(1)));
    assert_eq!(store.len(), 2);
    store.clock().advance_ms(1);
    assert_eq!(store.get("a"), None);
    assert_eq!(store.get_or("a", v!(0)), v!(0));
    assert!(!store.contains("a"));
    assert_eq!(store.ttl("a"), Ttl::Missing);
    assert_eq!(store.len(), 1);
    assert!(!store.is_empty());
    assert_eq!(store.keys(), ["b"]);
    assert_eq!(store.sorted_keys(), ["b"]);
    assert_eq!(store.values().len(), 1);
    assert_eq!(store.entries().len(), 1);
    assert_eq!(all(&store), json!({"b": 2}));
    assert_eq!(store.ttl("b"), Ttl::Never);
    // Deleting it finds nothing to delete.
    assert!(!ok!(store.delete("a").await));
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(all(&store), json!({"b": 2}));
}

pub async fn an_expiry_survives_reopening_to_the_millisecond<H: Adapter<V>, V: TestValue>(
    h: &mut H,
) {
    let mut store = open(h).await;
    ok!(store
        .set_with_ttl("a", v!({"n": 1}), Duration::from_millis(1500))
        .await);
    let at = store.expires_at("a");
    assert_eq!(at, Some(NOW * 1000 + 1500));
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(store.expires_at("a"), at);
    assert_eq!(store.get("a"), Some(v!({"n": 1})));
    store.clock().advance_ms(1500);
    assert_eq!(store.get("a"), None);
}

pub async fn set_removes_an_expiry_and_update_keeps_it<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    ok!(store.set_with_ttl("a", v!(1), secs(10)).await);
    ok!(store.set("a", v!(2)).await);
    assert_eq!(store.ttl("a"), Ttl::Never);
    ok!(store.set_with_ttl("a", v!(3), secs(10)).await);
    store.clock().advance(4);
    ok!(store
        .update("a", |n| Some(v!(n
            .map_or(0, |n| n.to_json().as_u64().unwrap_or(0))
            + 1)))
        .await);
    assert_eq!(store.get("a"), Some(v!(4)));
    assert_eq!(store.ttl("a"), Ttl::Left(secs(6)));
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(store.ttl("a"), Ttl::Left(secs(6)));
    store.clock().advance(6);
    assert_eq!(store.get("a"), None);
}

pub async fn set_if_absent_claims_an_expired_key_again<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    assert!(ok!(store
        .set_if_absent_with_ttl("seen:1", v!(1), secs(1))
        .await));
    assert!(!ok!(store
        .set_if_absent_with_ttl("seen:1", v!(2), secs(1))
        .await));
    assert!(!ok!(store.set_if_absent("seen:1", v!(2)).await));
    store.clock().advance(1);
    assert!(ok!(store.set_if_absent("seen:1", v!(3)).await));
    assert_eq!(store.get("seen:1"), Some(v!(3)));
    assert_eq!(store.ttl("seen:1"), Ttl::Never);
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(store.get("seen:1"), Some(v!(3)));
    assert_eq!(store.ttl("seen:1"), Ttl::Never);
}

pub async fn touch_with_a_ttl_is_seen_now_forget_later<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    let thirty_days = secs(30 * 86_400);
    assert_eq!(ok!(store.touch_with_ttl("seen:1", thirty_days).await), NOW);
    assert_eq!(store.get("seen:1"), Some(v!(NOW)));
    assert_eq!(store.ttl("seen:1"), Ttl::Left(thirty_days));
    store.clock().advance(30 * 86_400 - 1);
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(store.get("seen:1"), Some(v!(NOW)));
    store.clock().advance(1);
    assert_eq!(store.get("seen:1"), None);
}

pub async fn set_many_with_a_ttl_gives_every_key_the_same_expiry<H: Adapter<V>, V: TestValue>(
    h: &mut H,
) {
    let mut store = open(h).await;
    ok!(store.set("kept", v!(0)).await);
    ok!(store
        .set_many_with_ttl([("a", v!(1)), ("b", v!(2))], secs(5))
        .await);
    assert_eq!(store.expires_at("a"), store.expires_at("b"));
    assert_eq!(store.ttl("b"), Ttl::Left(secs(5)));
    store.clock().advance(5);
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(all(&store), json!({"kept": 0}));
}

pub async fn expire_sets_or_removes_an_expiry_and_answers_whether_the_key_exists<
    H: Adapter<V>,
    V: TestValue,
>(
    h: &mut H,
) {
    let mut store = open(h).await;
    assert!(!ok!(store.expire("missing", Some(secs(10))).await));
    assert_eq!(store.get("missing"), None);
    ok!(store.set("a", v!(1)).await);
    assert!(ok!(store.expire("a", Some(secs(10))).await));
    assert_eq!(store.ttl("a"), Ttl::Left(secs(10)));
    let mut store = reopen_keeping_time(h, store).await;
    assert_eq!(store.ttl("a"), Ttl::Left(secs(10)));
    assert!(ok!(store.expire("a", None).await));
    assert_eq!(store.ttl("a"), Ttl::Never);
    let mut store = reopen_keeping_time(h, store).await;
    assert_eq!(store.ttl("a"), Ttl::Never);
    assert!(ok!(store.expire("a", Some(secs(1))).await));
    store.clock().advance(1);
    assert!(!ok!(store.expire("a", None).await));
    assert_eq!(store.get("a"), None);
}

pub async fn a_ttl_the_store_cannot_hold_is_rejected_and_nothing_changes<
    H: Adapter<V>,
    V: TestValue,
>(
    h: &mut H,
) {
    let mut store = open(h).await;
    ok!(store.set("a", v!(1)).await);
    for ttl in [
        Duration::ZERO,
        Duration::from_micros(999),
        Duration::from_secs(u64::MAX),
    ] {
        let e = store
            .set_with_ttl("a", v!(2), ttl)
            .await
            .expect_err("a ttl the store cannot hold");
        assert_eq!(e.kind(), ErrorKind::InvalidTtl, "{ttl:?}");
        assert!(matches!(e, Error::Rejected(Rejected::Ttl(_))), "{e}");
        assert!(e.to_string().starts_with("ttl of "), "{e}");
        assert!(store.set_if_absent_with_ttl("b", v!(2), ttl).await.is_err());
        assert!(store.expire("a", Some(ttl)).await.is_err());
        assert!(store.touch_with_ttl("b", ttl).await.is_err());
    }
    assert_eq!(store.ttl("a"), Ttl::Never);
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(all(&store), json!({"a": 1}));
    assert_eq!(store.ttl("a"), Ttl::Never);
}

pub async fn expired_keys_leave_storage_within_writes_and_on_purge_never_on_reads<
    H: Adapter<V>,
    V: TestValue,
>(
    h: &mut H,
) {
    let mut store = open(h).await;
    let entries: Vec<(String, V)> = (0..40).map(|i| (format!("k{i:02}"), v!(i))).collect();
    ok!(store.set_many_with_ttl(entries, secs(1)).await);
    store.clock().advance(1);
    for i in 0..40 {
        assert_eq!(store.get(&format!("k{i:02}")), None);
    }
    assert_eq!(store.len(), 0);
    let mut store = reopen_keeping_time(h, store).await;
    assert_eq!(store.stored_len(), 40, "reads removed nothing");
    assert!(store.is_empty());
    // Each write removes some expired keys (a bounded number), in the same commit.
    ok!(store.set("x", v!(1)).await);
    let after_one = store.stored_len();
    assert!(after_one < 41 && after_one > 1, "{after_one}");
    let mut store = reopen_keeping_time(h, store).await;
    assert_eq!(store.stored_len(), after_one);
    assert_eq!(ok!(store.purge().await), after_one - 1);
    assert_eq!(ok!(store.purge().await), 0);
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(store.stored_len(), 1);
    assert_eq!(all(&store), json!({"x": 1}));
}

pub async fn a_store_whose_expiring_keys_are_gone_snapshots_as_before<
    H: Adapter<V>,
    V: TestValue,
>(
    h: &mut H,
) {
    let mut store = open(h).await;
    ok!(store.set("a", v!(1)).await);
    let plain = store.snapshot();
    ok!(store.set_with_ttl("b", v!(2), secs(1)).await);
    let with_expiry = String::from_utf8(store.snapshot()).expect("snapshots are UTF-8");
    assert!(
        with_expiry.starts_with(&format!(
            "{{\"\\u0000expires\":{{\"b\":{}}},",
            NOW * 1000 + 1000
        )),
        "{with_expiry}"
    );
    ok!(store.delete("b").await);
    assert_eq!(store.snapshot(), plain);
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(store.snapshot(), plain);
}

pub async fn clear_forgets_every_expiry<H: Adapter<V>, V: TestValue>(h: &mut H) {
    let mut store = open(h).await;
    ok!(store.set_with_ttl("a", v!(1), secs(1)).await);
    ok!(store.clear().await);
    ok!(store.set("a", v!(2)).await);
    store.clock().advance(1);
    let store = reopen_keeping_time(h, store).await;
    assert_eq!(store.ttl("a"), Ttl::Never);
    assert_eq!(all(&store), json!({"a": 2}));
}
