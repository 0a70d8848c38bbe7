use kv_core::{Clock, Json, JsonText, Map, Persist, Store, Value};

/// A value representation the suite runs against: built from, and read back as, a
/// [`Value`], so each case is written once with `json!` and runs for both.
pub trait TestValue: Json {
    /// `value`, held in this representation.
    fn from_json(value: Value) -> Self;

    /// The value this holds.
    fn to_json(&self) -> Value;

    /// Every key of `store` with its value, keys in ascending order: the store's own
    /// `get_all` where it has one, its `iter` otherwise.
    fn all<P: Persist, C: Clock>(store: &Store<P, C, Self>) -> Map<String, Value> {
        store
            .iter()
            .map(|(key, value)| (key.to_owned(), value.to_json()))
            .collect()
    }
}

impl TestValue for Value {
    fn from_json(value: Value) -> Self {
        value
    }

    fn to_json(&self) -> Value {
        self.clone()
    }

    fn all<P: Persist, C: Clock>(store: &Store<P, C, Self>) -> Map<String, Value> {
        store.get_all()
    }
}

impl TestValue for JsonText {
    /// Compact text, as serde_json writes it, so it equals what a `Value` store would write.
    fn from_json(value: Value) -> Self {
        JsonText::new(&value.to_string()).expect("serde_json writes valid JSON")
    }

    fn to_json(&self) -> Value {
        serde_json::from_str(self.as_str()).expect("JsonText holds valid JSON")
    }
}
