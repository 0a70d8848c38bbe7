//! Errors as JS sees them: `Error` objects whose `name` tells them apart.

use alloc::string::String;
use core::fmt;

use kv_core::{Error, ErrorKind, JsonText, Limit, Rejected, StorageError, StorageErrorKind};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen(module = "/src/browser.js")]
extern "C" {
    /// A `TypeError`: `message`, then what was given instead.
    #[wasm_bindgen(js_name = argumentError)]
    pub(crate) fn argument_error(message: &str, given: &JsValue) -> JsValue;

    /// A `LimitExceededError` naming the `Kv.open` option `option` (`""`: the fixed nesting
    /// depth), the size the write would have had and the limit.
    #[wasm_bindgen(js_name = limitExceeded)]
    fn limit_exceeded(option: &str, actual: f64, max: f64) -> JsValue;

    /// The message of a stored record (or data) that does not decode: `what`, then the line
    /// and column if `line` is not 0, then `rest`. Numbers are written in JS, so that the
    /// module links no integer formatting.
    /// The `RangeError` for a ttl of `seconds` that ends after the latest expiry a store holds
    /// (the arguments' own check refuses every other bad ttl).
    #[wasm_bindgen(js_name = ttlTooLong)]
    fn ttl_too_long(seconds: f64) -> JsValue;

    #[wasm_bindgen(js_name = corruptMessage)]
    fn corrupt_message(what: &str, line: f64, column: f64, rest: &str) -> String;
}

/// `parts`, concatenated: messages are assembled without `core::fmt`, whose machinery
/// (`Formatter`, padding, `write!`) would be several KB of the module.
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// The `name` of every error a `Kv` rejects with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorName {
    QuotaExceeded,
    StorageUnavailable,
    CorruptData,
    LimitExceeded,
    InvalidValue,
    InvalidKey,
    Closed,
}

impl ErrorName {
    fn as_str(self) -> &'static str {
        match self {
            Self::QuotaExceeded => "QuotaExceededError",
            Self::StorageUnavailable => "StorageUnavailableError",
            Self::CorruptData => "CorruptDataError",
            Self::LimitExceeded => "LimitExceededError",
            Self::InvalidValue => "InvalidValueError",
            Self::InvalidKey => "InvalidKeyError",
            Self::Closed => "ClosedError",
        }
    }
}

/// A JS `Error` named `name`.
pub(crate) fn js_error(name: ErrorName, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name(name.as_str());
    error.into()
}

/// A JS `TypeError`, for arguments of the wrong shape (not a string, an unknown option).
pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// Why browser storage failed, classified as the core expects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrowserError {
    /// The browser refused or failed the call.
    Failed {
        /// What kind of failure it is.
        kind: StorageErrorKind,
        /// What failed, and the browser's own name and message for it.
        message: String,
    },
    /// The backend does not exist in this context (no `localStorage` in a worker, no
    /// IndexedDB in Node.js): retrying cannot help, another backend can.
    Absent {
        /// What is missing, and which backend to use instead.
        message: &'static str,
    },
    /// A stored record is not text, so this store did not write it.
    NotText {
        /// The record's key, or a description of a key that is not a string.
        key: String,
    },
}

impl BrowserError {
    /// A failure of `what`, from the exception the browser threw or the error it reported.
    pub(crate) fn from_js(what: &str, error: &JsValue) -> Self {
        let (name, message) = match error.dyn_ref::<js_sys::Error>() {
            Some(e) => (String::from(e.name()), String::from(e.message())),
            None => match error.dyn_ref::<web_sys::DomException>() {
                Some(e) => (e.name(), e.message()),
                None => (String::new(), error.as_string().unwrap_or_default()),
            },
        };
        let kind = match name.as_str() {
            "QuotaExceededError" | "NS_ERROR_DOM_QUOTA_REACHED" => StorageErrorKind::QuotaExceeded,
            "InvalidStateError" | "SecurityError" | "NotAllowedError" | "NotFoundError"
            | "VersionError" => StorageErrorKind::Unavailable,
            "UnknownError" | "AbortError" | "DataError" | "ReadOnlyError" => StorageErrorKind::Io,
            _ => StorageErrorKind::Other,
        };
        Self::Failed {
            kind,
            message: concat(&[what, ": ", &name, ": ", &message]),
        }
    }

    /// Storage that does not exist in this context.
    pub(crate) fn unavailable(message: &str) -> Self {
        Self::Failed {
            kind: StorageErrorKind::Unavailable,
            message: message.into(),
        }
    }

    /// What [`Display`](fmt::Display) writes, assembled without `core::fmt`.
    fn message(&self) -> String {
        match self {
            Self::Failed { message, .. } => message.clone(),
            Self::Absent { message } => (*message).into(),
            Self::NotText { key } => concat(&[
                "stored record ",
                key,
                " is not JSON text: something other than this store wrote it",
            ]),
        }
    }
}

impl fmt::Display for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for BrowserError {}

impl StorageError for BrowserError {
    fn kind(&self) -> StorageErrorKind {
        match self {
            Self::Failed { kind, .. } => *kind,
            Self::Absent { .. } => StorageErrorKind::Unavailable,
            Self::NotText { .. } => StorageErrorKind::Other,
        }
    }
}

/// The JS error for a failure of browser storage.
pub(crate) fn storage_error(error: &BrowserError) -> JsValue {
    let name = match error {
        // Its message says what to do instead.
        BrowserError::Absent { message } => {
            return js_error(ErrorName::StorageUnavailable, message);
        }
        BrowserError::NotText { .. } => ErrorName::CorruptData,
        BrowserError::Failed { kind, .. } => match kind {
            StorageErrorKind::QuotaExceeded => ErrorName::QuotaExceeded,
            _ => ErrorName::StorageUnavailable,
        },
    };
    let advice = match name {
        ErrorName::QuotaExceeded => {
            "nothing was written; free space (delete keys, clear stores) or store less, then retry"
        }
        ErrorName::CorruptData => "nothing was written; repair or clear the stored data",
        _ => "nothing was written; retry, or use another backend if this one cannot work here",
    };
    js_error(name, &concat(&[&error.message(), ": ", advice]))
}

/// The JS error for a failure the core reports; storage failures become [`storage_error`].
pub(crate) fn core_error<E: StorageError>(
    error: &Error<E>,
    storage: impl FnOnce(&E) -> JsValue,
) -> JsValue {
    match error {
        Error::Storage(e) => storage(e),
        // In the terms of `Kv.open`'s options, not of kv-core's `Limits` fields.
        Error::Rejected(Rejected::Limit(e)) => {
            let option = match e.limit {
                Limit::KeyBytes => "maxKeyBytes",
                Limit::ValueBytes => "maxValueBytes",
                Limit::Entries => "maxEntries",
                _ => "",
            };
            limit_exceeded(option, e.actual as f64, e.max as f64)
        }
        // A ttl ending past the latest expiry a store holds (the arguments' own check catches
        // the rest): a number out of range, as JS calls it.
        Error::Rejected(Rejected::Ttl(e)) => ttl_too_long(e.ttl.as_millis() as f64 / 1000.0),
        _ => {
            let name = match error.kind() {
                ErrorKind::Corrupt => ErrorName::CorruptData,
                ErrorKind::LimitExceeded => ErrorName::LimitExceeded,
                ErrorKind::ReservedKey => ErrorName::InvalidKey,
                _ => ErrorName::StorageUnavailable,
            };
            let advice = match name {
                ErrorName::CorruptData => {
                    "the store was not opened and nothing was written; repair or clear it"
                }
                ErrorName::LimitExceeded => {
                    "nothing was written; store less, or open the store with larger limits"
                }
                _ => "nothing was written",
            };
            let message = match error {
                Error::Corrupt(c) => {
                    let what = match &c.key {
                        Some(key) => concat(&[
                            "stored record ",
                            JsonText::string(key).as_str(),
                            " does not decode",
                        ]),
                        None => "stored data does not decode".into(),
                    };
                    let rest = concat(&[": ", &c.reason, ": ", advice]);
                    corrupt_message(&what, c.line as f64, c.column as f64, &rest)
                }
                Error::Rejected(Rejected::ReservedKey(key)) => concat(&[
                    "key ",
                    JsonText::string(key).as_str(),
                    " begins with U+0000, which is reserved for the store's format: ",
                    advice,
                ]),
                // Storage errors and limits are handled above.
                _ => advice.into(),
            };
            js_error(name, &message)
        }
    }
}
