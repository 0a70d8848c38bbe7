//! The JS API as a page sees it: every method called through the generated class.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use js_sys::futures::JsFuture;
use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const BACKENDS: [&str; 3] = [
    r#"{"backend":"indexedDB"}"#,
    r#"{"backend":"localStorage"}"#,
    r#"{"backend":"memory"}"#,
];

fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

#[wasm_bindgen_test]
async fn the_issue_example_works_on_every_backend() {
    for options in BACKENDS {
        let kv = open(&unique("example"), options).await;
        call(&kv, "set", &[s("last_command"), s("ping")]).await;
        let before = js_sys::Date::now() / 1000.0;
        call(&kv, "set", &[s("seen:123")]).await;
        let after = js_sys::Date::now() / 1000.0;
        assert_eq!(call(&kv, "get", &[s("last_command")]).await, s("ping"));
        let seen = call(&kv, "get", &[s("seen:123")]).await.as_f64();
        assert!(
            seen.is_some_and(|t| t.fract() == 0.0 && t >= before.floor() && t <= after),
            "{options}: a value-less set stores now in whole seconds, got {seen:?}"
        );
        assert_eq!(
            call(&kv, "get", &[s("absent"), JsValue::from(0)]).await,
            JsValue::from(0)
        );
        assert!(call(&kv, "get", &[s("absent")]).await.is_undefined());
        assert_eq!(
            call(&kv, "delete", &[s("last_command")]).await,
            JsValue::TRUE
        );
        assert_eq!(
            call(&kv, "delete", &[s("last_command")]).await,
            JsValue::FALSE
        );
        let all = call(&kv, "getAll", &[]).await;
        assert_eq!(
            Reflect::get(&all, &s("seen:123"))
                .ok()
                .and_then(|v| v.as_f64()),
            seen
        );
        assert_eq!(
            call(&kv, "keys", &[])
                .await
                .dyn_into::<Array>()
                .map(|a| a.length()),
            Ok(1)
        );
        call(&kv, "clear", &[]).await;
        assert_eq!(content(&kv).await, "{}", "{options}");
        call(&kv, "close", &[]).await;
    }
}

#[wasm_bindgen_test]
async fn every_method_keeps_its_promise_on_every_backend() {
    for options in BACKENDS {
        let kv = open(&unique("methods"), options).await;
        assert_eq!(call(&kv, "has", &[s("a")]).await, JsValue::FALSE);
        assert_eq!(
            call(&kv, "setIfAbsent", &[s("a"), s("first")]).await,
            JsValue::TRUE
        );
        assert_eq!(
            call(&kv, "setIfAbsent", &[s("a"), s("second")]).await,
            JsValue::FALSE
        );
        assert_eq!(call(&kv, "has", &[s("a")]).await, JsValue::TRUE);
        assert_eq!(call(&kv, "get", &[s("a")]).await, s("first"));
        call(
            &kv,
            "setMany",
            &[json(r#"{"b": [1, {"c": null}], "c": true}"#)],
        )
        .await;
        call(&kv, "setMany", &[json(r#"[["d", 4], ["e", "five"]]"#)]).await;
        let map = js_sys::Map::new();
        map.set(&s("f"), &json(r#"{"six": 6}"#));
        call(&kv, "setMany", &[map.into()]).await;
        assert_eq!(
            content(&kv).await,
            r#"{"a":"first","b":[1,{"c":null}],"c":true,"d":4,"e":"five","f":{"six":6}}"#
        );
        let keys = call(&kv, "keys", &[]).await;
        assert_eq!(canonical(&keys), r#"["a","b","c","d","e","f"]"#);
        let deleted = call(&kv, "deleteMany", &[json(r#"["a", "c", "x", "a"]"#)]).await;
        assert_eq!(deleted.as_f64(), Some(2.0), "{options}");
        let bump = js_sys::Function::new_with_args("n", "return (n ?? 0) + 1");
        assert_eq!(
            call(&kv, "update", &[s("n"), bump.clone().into()])
                .await
                .as_f64(),
            Some(1.0)
        );
        assert_eq!(
            call(&kv, "update", &[s("n"), bump.into()]).await.as_f64(),
            Some(2.0)
        );
        let remove = js_sys::Function::new_no_args("return undefined");
        assert!(
            call(&kv, "update", &[s("n"), remove.into()])
                .await
                .is_undefined()
        );
        assert_eq!(call(&kv, "has", &[s("n")]).await, JsValue::FALSE);
        assert_eq!(
            Reflect::get(&kv, &s("backend"))
                .ok()
                .and_then(|b| b.as_string()),
            json(options)
                .dyn_into::<js_sys::Object>()
                .ok()
                .and_then(|o| Reflect::get(&o, &s("backend")).ok())
                .and_then(|b| b.as_string())
        );
        call(&kv, "close", &[]).await;
    }
}

#[wasm_bindgen_test]
async fn writes_survive_closing_and_opening_again() {
    for options in &BACKENDS[..2] {
        let name = unique("reopen");
        let kv = open(&name, options).await;
        call(
            &kv,
            "setMany",
            &[json(r#"{"a": 1, "b": {"nested": ["x"]}}"#)],
        )
        .await;
        call(&kv, "delete", &[s("a")]).await;
        call(&kv, "close", &[]).await;
        let kv = open(&name, options).await;
        assert_eq!(content(&kv).await, r#"{"b":{"nested":["x"]}}"#, "{options}");
        call(&kv, "close", &[]).await;
    }
}

#[wasm_bindgen_test]
async fn a_closed_store_rejects_every_call_with_closed_error() {
    let kv = open(&unique("closed"), BACKENDS[0]).await;
    let pending = start(&kv, "set", &[s("queued"), s("before close")]);
    let closing = start(&kv, "close", &[]);
    let (written, closed) = futures_join(pending, closing).await;
    assert!(closed.is_ok());
    assert!(
        written.is_ok(),
        "a write called before close still completes"
    );
    for (method, args) in [
        ("get", vec![s("a")]),
        ("has", vec![s("a")]),
        ("keys", vec![]),
        ("getAll", vec![]),
        ("set", vec![s("a"), s("b")]),
        ("delete", vec![s("a")]),
        ("clear", vec![]),
    ] {
        assert_eq!(
            rejection(&kv, method, &args).await,
            "ClosedError",
            "{method}"
        );
    }
    call(&kv, "close", &[]).await;
}

/// Both futures, run together.
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let a = std::pin::pin!(a);
    let b = std::pin::pin!(b);
    let mut a = Some(a);
    let mut b = Some(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if let Some(f) = a.as_mut()
            && let std::task::Poll::Ready(v) = f.as_mut().poll(cx)
        {
            ra = Some(v);
            a = None;
        }
        if let Some(f) = b.as_mut()
            && let std::task::Poll::Ready(v) = f.as_mut().poll(cx)
        {
            rb = Some(v);
            b = None;
        }
        if a.is_none() && b.is_none() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    match (ra, rb) {
        (Some(a), Some(b)) => (a, b),
        _ => unreachable!("both futures finished"),
    }
}

#[wasm_bindgen_test]
async fn values_json_cannot_hold_are_rejected_and_nothing_changes() {
    for options in BACKENDS {
        let kv = open(&unique("unstorable"), options).await;
        call(&kv, "set", &[s("kept"), s("as it was")]).await;
        for case in unstorable().iter() {
            let case: Array = case.into();
            let what = case.get(0).as_string().unwrap_or_default();
            let value = case.get(1);
            let error = try_call(&kv, "set", &[s("kept"), value.clone()]).await;
            let error = error.expect_err(&format!("{options}: set accepted {what}"));
            assert_eq!(
                error_name(&error),
                "InvalidValueError",
                "{what}: {}",
                describe(&error)
            );
            assert!(!error_message(&error).is_empty());
            let entries = Array::of1(&Array::of2(&s("other"), &value));
            assert_eq!(
                rejection(&kv, "setMany", &[entries.into()]).await,
                "InvalidValueError",
                "setMany with {what}"
            );
        }
        assert_eq!(content(&kv).await, r#"{"kept":"as it was"}"#, "{options}");
        call(&kv, "close", &[]).await;
    }
}

#[wasm_bindgen_test]
async fn an_invalid_value_error_names_the_property_and_what_it_holds() {
    let kv = open(&unique("invalid-message"), BACKENDS[2]).await;
    let value = json(r#"{"nested": {"fine": 1}}"#);
    let nested = Reflect::get(&value, &s("nested")).expect("nested");
    let _ = Reflect::set(
        &nested,
        &s("bad"),
        &js_sys::Function::new_no_args("return 1"),
    );
    let error = try_call(&kv, "set", &[s("k"), value])
        .await
        .expect_err("accepted a function");
    let message = error_message(&error);
    assert!(message.contains(r#""bad" holds a function"#), "{message}");
}

#[wasm_bindgen_test]
async fn an_update_that_returns_what_json_cannot_hold_changes_nothing() {
    let kv = open(&unique("update-invalid"), BACKENDS[2]).await;
    call(&kv, "set", &[s("n"), JsValue::from(1)]).await;
    let to_function = js_sys::Function::new_no_args("return () => 1");
    assert_eq!(
        rejection(&kv, "update", &[s("n"), to_function.into()]).await,
        "InvalidValueError"
    );
    let to_promise = js_sys::Function::new_no_args("return Promise.resolve(2)");
    assert_eq!(
        rejection(&kv, "update", &[s("n"), to_promise.into()]).await,
        "InvalidValueError"
    );
    let throws = js_sys::Function::new_no_args("throw new RangeError('mine')");
    assert_eq!(
        rejection(&kv, "update", &[s("n"), throws.into()]).await,
        "RangeError",
        "the function's own error comes through"
    );
    assert_eq!(content(&kv).await, r#"{"n":1}"#);
}

#[wasm_bindgen_test]
async fn keys_that_are_not_text_or_are_reserved_are_rejected() {
    let kv = open(&unique("keys"), BACKENDS[0]).await;
    for key in [
        JsValue::from(1),
        JsValue::NULL,
        JsValue::UNDEFINED,
        json("{}"),
    ] {
        assert_eq!(
            rejection(&kv, "set", &[key.clone(), s("v")]).await,
            "InvalidKeyError"
        );
        assert_eq!(rejection(&kv, "get", &[key]).await, "InvalidKeyError");
    }
    assert_eq!(
        rejection(&kv, "set", &[s("\u{0}meta"), s("v")]).await,
        "InvalidKeyError"
    );
    let lone_surrogate = js_sys::JSON::parse(r#""\ud800""#).unwrap_or(JsValue::NULL);
    assert_eq!(
        rejection(&kv, "set", &[lone_surrogate, s("v")]).await,
        "InvalidKeyError"
    );
    assert_eq!(
        rejection(&kv, "deleteMany", &[json("[\"a\", 2]")]).await,
        "InvalidKeyError"
    );
    assert_eq!(content(&kv).await, "{}");
}

#[wasm_bindgen_test]
async fn limits_from_the_options_reject_writes_over_them() {
    let options = r#"{"backend":"localStorage","limits":{"maxKeyBytes":4,"maxValueBytes":10,"maxEntries":2}}"#;
    let kv = open(&unique("limits"), options).await;
    call(&kv, "set", &[s("k"), s("12345678")]).await;
    assert_eq!(
        rejection(&kv, "set", &[s("k"), s("123456789")]).await,
        "LimitExceededError"
    );
    assert_eq!(
        rejection(&kv, "set", &[s("12345"), s("v")]).await,
        "LimitExceededError"
    );
    call(&kv, "set", &[s("k2"), s("v")]).await;
    assert_eq!(
        rejection(&kv, "set", &[s("k3"), s("v")]).await,
        "LimitExceededError"
    );
    assert_eq!(content(&kv).await, r#"{"k":"12345678","k2":"v"}"#);
}

#[wasm_bindgen_test]
async fn values_nested_deeper_than_a_store_can_read_back_are_rejected() {
    let kv = open(&unique("nesting"), r#"{"backend":"indexedDB"}"#).await;
    let nested = |depth: usize| json(&format!("{}0{}", "[".repeat(depth), "]".repeat(depth)));
    call(&kv, "set", &[s("deepest"), nested(126)]).await;
    // One level more: over the store's limit. Far more: past what the JSON scanner reads.
    for depth in [127, 500] {
        assert_eq!(
            rejection(&kv, "set", &[s("deeper"), nested(depth)]).await,
            "LimitExceededError",
            "{depth} levels"
        );
    }
    // A getter that throws is the rejection of setMany, not an exception out of it.
    let throwing = js_sys::Function::new_no_args("return { get a() { throw new Error('boom'); } }")
        .call0(&JsValue::UNDEFINED)
        .expect("an object");
    let set_many: js_sys::Function = Reflect::get(&kv, &s("setMany")).expect("setMany").into();
    let returned = set_many
        .call1(&kv, &throwing)
        .expect("setMany returns a promise, it does not throw");
    let rejected = JsFuture::from(js_sys::Promise::from(returned))
        .await
        .expect_err("setMany of an unreadable object rejects");
    assert_eq!(error_name(&rejected), "InvalidValueError");
    assert_eq!(
        call(&kv, "keys", &[])
            .await
            .dyn_into::<Array>()
            .map(|a| a.length()),
        Ok(1)
    );
}

#[wasm_bindgen_test]
async fn malformed_options_are_a_type_error() {
    for options in [
        r#"{"backend":"sessionStorage"}"#,
        r#"{"limits":{"maxEntries":-1}}"#,
        r#"{"durability":"fast"}"#,
        r#"{"durability":true}"#,
        r#"{"backend":"localStorage","durability":"Strict"}"#,
        r#""indexedDB""#,
    ] {
        let error = try_open(&unique("options"), options)
            .await
            .expect_err(options);
        assert_eq!(error_name(&error), "TypeError", "{options}");
    }
    let error = JsFuture::from(kv_wasm::Kv::open(JsValue::from(1), JsValue::UNDEFINED)).await;
    assert_eq!(error.map_err(|e| error_name(&e)), Err("TypeError".into()));
}

#[wasm_bindgen_test]
async fn indexed_db_writes_use_the_durability_asked_for_strict_by_default() {
    for (options, expected) in [
        ("{}", "strict"),
        (r#"{"durability":"strict"}"#, "strict"),
        (r#"{"durability":"relaxed"}"#, "relaxed"),
        (r#"{"durability":"default"}"#, "default"),
    ] {
        let name = unique("durability");
        let kv = open(&name, options).await;
        let recorder = record_durability();
        let written = try_call(&kv, "set", &[s("k"), s("v")]).await;
        let stop: js_sys::Function = Reflect::get(&recorder, &s("stop"))
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .expect("stop");
        let _ = stop.call0(&recorder);
        written.unwrap_or_else(|e| panic!("{options}: set failed: {}", describe(&e)));
        let seen = Reflect::get(&recorder, &s("seen")).expect("seen");
        assert_eq!(canonical(&seen), format!("[\"{expected}\"]"), "{options}");
        call(&kv, "close", &[]).await;
        let again = open(&name, options).await;
        assert_eq!(call(&again, "get", &[s("k")]).await, s("v"), "{options}");
        call(&again, "close", &[]).await;
    }
}

#[wasm_bindgen_test]
async fn other_backends_accept_a_durability_and_keep_writing() {
    for options in [
        r#"{"backend":"localStorage","durability":"relaxed"}"#,
        r#"{"backend":"memory","durability":"default"}"#,
    ] {
        let kv = open(&unique("durability-other"), options).await;
        call(&kv, "set", &[s("k"), s("v")]).await;
        assert_eq!(call(&kv, "get", &[s("k")]).await, s("v"), "{options}");
        call(&kv, "clear", &[]).await;
        call(&kv, "close", &[]).await;
    }
}

#[wasm_bindgen_test]
async fn writes_called_together_apply_in_call_order() {
    for options in BACKENDS {
        let name = unique("order");
        let kv = open(&name, options).await;
        let bump = js_sys::Function::new_with_args("n", "return (n ?? 0) + 1");
        let mut promises = Vec::new();
        for i in 0..20 {
            promises.push(start(&kv, "set", &[s("last"), JsValue::from(i)]));
            promises.push(start(&kv, "update", &[s("count"), bump.clone().into()]));
        }
        for promise in promises {
            assert!(promise.await.is_ok());
        }
        assert_eq!(content(&kv).await, r#"{"count":20,"last":19}"#, "{options}");
    }
}

#[wasm_bindgen_test]
async fn reads_answer_from_memory_while_a_write_is_in_flight() {
    let kv = open(&unique("in-flight"), BACKENDS[0]).await;
    call(&kv, "set", &[s("k"), s("old")]).await;
    let write = start(&kv, "set", &[s("k"), s("new")]);
    // The IndexedDB transaction has not completed: the mirror still holds what storage does.
    assert_eq!(call(&kv, "get", &[s("k")]).await, s("old"));
    write.await.expect("the write completes");
    assert_eq!(call(&kv, "get", &[s("k")]).await, s("new"));
}

#[wasm_bindgen_test]
async fn on_change_reports_local_writes_until_unsubscribed() {
    let kv = open(&unique("on-change"), BACKENDS[2]).await;
    let next = next_change(&kv);
    call(&kv, "setMany", &[json(r#"{"a": 1, "b": {"c": [2]}}"#)]).await;
    let event = JsFuture::from(next).await.expect("an event");
    assert_eq!(
        canonical(&event),
        r#"{"changes":[{"deleted":false,"key":"a","value":1},{"deleted":false,"key":"b","value":{"c":[2]}}],"clear":false,"origin":"local"}"#
    );
    let next = next_change(&kv);
    call(&kv, "clear", &[]).await;
    let event = JsFuture::from(next).await.expect("an event");
    assert_eq!(
        canonical(&event),
        r#"{"changes":[],"clear":true,"origin":"local"}"#
    );

    let seen = Array::new();
    let listener = js_sys::Function::new_with_args("seen, event", "seen.push(event)")
        .bind1(&JsValue::NULL, &seen);
    let unsubscribe: js_sys::Function = call(&kv, "onChange", &[listener.into()]).await.into();
    call(&kv, "set", &[s("x"), JsValue::from(1)]).await;
    let _ = unsubscribe.call0(&JsValue::NULL);
    let _ = unsubscribe.call0(&JsValue::NULL);
    call(&kv, "set", &[s("x"), JsValue::from(2)]).await;
    assert_eq!(
        seen.length(),
        1,
        "one event before unsubscribing, none after"
    );
}

#[wasm_bindgen_test]
async fn two_contexts_on_one_indexed_db_store_lose_nothing_and_see_each_other() {
    let name = unique("two-contexts");
    let first = open(&name, BACKENDS[0]).await;
    let second = open(&name, BACKENDS[0]).await;
    // Only `first` writes this key, so `second` can hear of it only as a remote change (its
    // own writes, racing these, may be heard before it).
    let heard = change_to(&second, "first:9");
    // Different keys, written at the same time from both.
    let mut writes = Vec::new();
    for i in 0..10 {
        writes.push(start(
            &first,
            "set",
            &[s(&format!("first:{i}")), JsValue::from(i)],
        ));
        writes.push(start(
            &second,
            "set",
            &[s(&format!("second:{i}")), JsValue::from(i)],
        ));
    }
    for write in writes {
        assert!(write.await.is_ok());
    }
    let event = JsFuture::from(heard).await.expect("an event");
    assert_eq!(
        Reflect::get(&event, &s("origin"))
            .ok()
            .and_then(|o| o.as_string())
            .as_deref(),
        Some("remote")
    );
    // A channel delivers in order: once each hears the other's last write, it has heard all.
    let first_heard = change_to(&first, "last:second");
    let second_heard = change_to(&second, "last:first");
    call(&second, "set", &[s("last:second"), JsValue::TRUE]).await;
    call(&first, "set", &[s("last:first"), JsValue::TRUE]).await;
    JsFuture::from(first_heard).await.expect("an event");
    JsFuture::from(second_heard).await.expect("an event");
    let expected = content(&open(&name, BACKENDS[0]).await).await;
    let keys = call(&first, "keys", &[]).await;
    assert_eq!(
        keys.unchecked_into::<Array>().length(),
        22,
        "storage holds every key: {expected}"
    );
    assert_eq!(content(&first).await, expected);
    assert_eq!(content(&second).await, expected);
}

/// Two handles on one store each claim the same IDs and increment one counter, all at once:
/// every answer is decided against storage, so each ID is claimed once and no increment is
/// lost, on both backends that share storage across contexts.
#[wasm_bindgen_test]
async fn two_handles_claim_each_id_once_and_lose_no_increment() {
    for options in &BACKENDS[..2] {
        let name = unique("claims");
        let handles = [open(&name, options).await, open(&name, options).await];
        let mut claims = Vec::new();
        for i in 0..150 {
            for kv in &handles {
                claims.push(start(
                    kv,
                    "setIfAbsent",
                    &[s(&format!("seen:{i}")), JsValue::TRUE],
                ));
            }
        }
        let mut claimed = 0;
        for claim in claims {
            if claim.await.expect("a claim resolves") == JsValue::TRUE {
                claimed += 1;
            }
        }
        assert_eq!(claimed, 150, "{options}: each ID claimed once");

        let increment = js_sys::Function::new_with_args("n", "return (n ?? 0) + 1");
        let mut updates = Vec::new();
        for _ in 0..50 {
            for kv in &handles {
                updates.push(start(kv, "update", &[s("hits"), increment.clone().into()]));
            }
        }
        for update in updates {
            update.await.expect("an update resolves");
        }
        let fresh = open(&name, options).await;
        assert_eq!(
            call(&fresh, "get", &[s("hits")]).await,
            JsValue::from(100),
            "{options}: no increment lost"
        );
    }
}

/// A handle whose copy is behind storage (another handle just wrote, and its announcement
/// has not arrived) decides against storage: on IndexedDB the commit decided against the copy
/// is requested behind the reads, and put back when storage disagrees.
#[wasm_bindgen_test]
async fn a_handle_behind_storage_decides_against_storage_and_puts_back_what_it_guessed() {
    for options in &BACKENDS[..2] {
        let name = unique("behind");
        let (behind, ahead) = (open(&name, options).await, open(&name, options).await);
        call(&behind, "keys", &[]).await;
        call(&ahead, "setMany", &[json(r#"[["k",1],["n",5]]"#)]).await;
        // Both called before this task ends, so before the announcement is heard.
        let claim = start(&behind, "setIfAbsent", &[s("k"), JsValue::from(2)]);
        let increment = js_sys::Function::new_with_args("n", "return (n ?? 0) + 1");
        let update = start(&behind, "update", &[s("n"), increment.into()]);
        assert_eq!(
            claim.await.expect("a claim resolves"),
            JsValue::FALSE,
            "{options}"
        );
        update.await.expect("an update resolves");
        let fresh = open(&name, options).await;
        assert_eq!(
            content(&fresh).await,
            r#"{"k":1,"n":6}"#,
            "{options}: storage"
        );
        assert_eq!(
            content(&behind).await,
            r#"{"k":1,"n":6}"#,
            "{options}: the copy"
        );
    }
}

/// An `update` whose function throws writes nothing, and the next call on the store works:
/// no transaction or lock is left held.
#[wasm_bindgen_test]
async fn a_throwing_update_leaves_no_transaction_or_lock_held() {
    for options in &BACKENDS[..2] {
        let kv = open(&unique("throwing"), options).await;
        call(&kv, "set", &[s("n"), JsValue::from(1)]).await;
        let throws = js_sys::Function::new_no_args("throw new RangeError('mine')");
        assert_eq!(
            rejection(&kv, "update", &[s("n"), throws.into()]).await,
            "RangeError"
        );
        let claimed = call(&kv, "setIfAbsent", &[s("m"), JsValue::from(2)]).await;
        assert_eq!(claimed, JsValue::TRUE, "{options}");
        assert_eq!(content(&kv).await, r#"{"m":2,"n":1}"#, "{options}");
    }
}

#[wasm_bindgen_test]
async fn a_local_storage_store_follows_storage_events_from_other_pages() {
    let name = unique("storage-event");
    let kv = open(&name, BACKENDS[1]).await;
    let item = format!("{}k", kv_wasm::LocalPersist::prefix(&name));
    let storage = web_local_storage();
    // What another page's write looks like here: the item changes, then the event arrives.
    let heard = next_change(&kv);
    Reflect::apply(
        &Reflect::get(&storage, &s("setItem"))
            .expect("setItem")
            .into(),
        &storage,
        &Array::of2(&s(&item), &s("[1,2]")),
    )
    .expect("setItem");
    dispatch_storage_event(Some(&item), Some("[1,2]"), &storage);
    let event = JsFuture::from(heard).await.expect("an event");
    assert_eq!(
        canonical(&event),
        r#"{"changes":[{"deleted":false,"key":"k","value":[1,2]}],"clear":false,"origin":"remote"}"#
    );
    assert_eq!(content(&kv).await, r#"{"k":[1,2]}"#);
    // Another store's items are not this store's business.
    dispatch_storage_event(Some("kv:other:k"), Some("1"), &storage);
    assert_eq!(content(&kv).await, r#"{"k":[1,2]}"#);
}

#[wasm_bindgen_test]
async fn a_local_storage_store_reloads_when_another_page_clears_local_storage() {
    let name = unique("storage-cleared");
    let kv = open(&name, BACKENDS[1]).await;
    call(&kv, "setMany", &[json(r#"{"gone": 1, "kept": 2}"#)]).await;
    let storage = web_local_storage();
    let item = format!("{}gone", kv_wasm::LocalPersist::prefix(&name));
    let remove: js_sys::Function = Reflect::get(&storage, &s("removeItem"))
        .expect("removeItem")
        .into();
    remove.call1(&storage, &s(&item)).expect("removeItem");
    // `localStorage.clear()` in another page arrives as an event without a key; what is left
    // of this store (here "kept", as if another page wrote it again since) is read again.
    let heard = next_change(&kv);
    dispatch_storage_event(None, None, &storage);
    let event = JsFuture::from(heard).await.expect("an event");
    assert_eq!(
        canonical(&event),
        r#"{"changes":[{"deleted":false,"key":"kept","value":2}],"clear":true,"origin":"remote"}"#
    );
    assert_eq!(content(&kv).await, r#"{"kept":2}"#);
}

fn web_local_storage() -> JsValue {
    Reflect::get(&js_sys::global(), &s("localStorage")).expect("localStorage")
}

fn dispatch_storage_event(key: Option<&str>, new_value: Option<&str>, storage: &JsValue) {
    let init = js_sys::Object::new();
    let _ = Reflect::set(&init, &s("key"), &key.map_or(JsValue::NULL, s));
    let _ = Reflect::set(&init, &s("newValue"), &new_value.map_or(JsValue::NULL, s));
    let _ = Reflect::set(&init, &s("storageArea"), storage);
    let constructor: js_sys::Function = Reflect::get(&js_sys::global(), &s("StorageEvent"))
        .expect("StorageEvent")
        .into();
    let event = Reflect::construct(&constructor, &Array::of2(&s("storage"), &init))
        .expect("new StorageEvent");
    let dispatch: js_sys::Function = Reflect::get(&js_sys::global(), &s("dispatchEvent"))
        .expect("dispatchEvent")
        .into();
    dispatch
        .call1(&js_sys::global(), &event)
        .expect("dispatchEvent");
}

#[wasm_bindgen_test]
async fn an_indexed_db_store_makes_way_for_a_version_change_then_reconnects_and_rereads() {
    let name = unique("versionchange");
    let kv = open(&name, BACKENDS[0]).await;
    call(&kv, "set", &[s("before"), JsValue::from(1)]).await;
    // Would be blocked (and reject) if the store kept its connection open.
    JsFuture::from(bump_version(&kv_wasm::IdbPersist::database_name(&name)))
        .await
        .unwrap_or_else(|e| panic!("the version change was blocked: {}", describe(&e)));
    // A write no channel announced, made while the store had no connection.
    let other = kv_wasm::IdbPersist::open(&name).await.expect("open");
    other
        .insert_raw("unannounced", &s("3"))
        .await
        .expect("raw write");
    drop(other);
    let heard = change_to(&kv, "unannounced");
    call(&kv, "set", &[s("after"), JsValue::from(2)]).await;
    let event = JsFuture::from(heard).await.expect("an event");
    assert_eq!(
        Reflect::get(&event, &s("origin"))
            .ok()
            .and_then(|o| o.as_string())
            .as_deref(),
        Some("remote")
    );
    let expected = r#"{"after":2,"before":1,"unannounced":3}"#;
    assert_eq!(
        content(&kv).await,
        expected,
        "the mirror read storage again on reconnecting"
    );
    call(&kv, "close", &[]).await;
    let kv = open(&name, BACKENDS[0]).await;
    assert_eq!(content(&kv).await, expected);
}

/// The error a store opened on corrupt storage rejects with, which must be
/// `CorruptDataError`: `Kv.open` resolves before the whole store is read, so the first call
/// that needs it (here `keys`) rejects, as does every later one, and nothing is written.
async fn corrupt_open(name: &str, options: &str) -> JsValue {
    let kv = open(name, options).await;
    let error = try_call(&kv, "keys", &[])
        .await
        .expect_err("read corrupt storage");
    let write = try_call(&kv, "set", &[JsValue::from("k"), JsValue::from(1)])
        .await
        .expect_err("wrote over corrupt storage");
    assert_eq!(
        error_name(&write),
        "CorruptDataError",
        "{}",
        describe(&write)
    );
    assert_eq!(
        error_name(&error),
        "CorruptDataError",
        "{}",
        describe(&error)
    );
    error
}

#[wasm_bindgen_test]
async fn corrupt_records_fail_to_open_with_corrupt_data_error() {
    let name = unique("corrupt-idb");
    let idb = kv_wasm::IdbPersist::open(&name).await.expect("open");
    idb.insert_raw("not-text", &JsValue::from(42))
        .await
        .expect("raw write");
    drop(idb);
    corrupt_open(&name, BACKENDS[0]).await;

    let name = unique("corrupt-local");
    let local = kv_wasm::LocalPersist::open(&name).expect("open");
    local
        .insert_raw("broken", "{\"unterminated")
        .expect("raw write");
    let error = corrupt_open(&name, BACKENDS[1]).await;
    assert!(
        error_message(&error).contains("broken"),
        "{}",
        describe(&error)
    );
}
