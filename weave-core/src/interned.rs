//! Values every call of a client shares for the life of the program (the SDK's attributes,
//! the run id), kept once per distinct value and never freed.
//!
//! A call holds them as plain references: copying one into a call and dropping the call
//! on the exporter's thread touch no shared reference count (with `Arc`, the application
//! thread and the exporter's thread fought over the count's cache line on every call).
//! They are made when a client is made, not per call, and a value already kept is reused,
//! so what is kept is bounded by the distinct values a program uses.
//!
//! ```
//! use weave_core::interned;
//! let a = interned::str("e/p/run-1");
//! let b = interned::str(&String::from("e/p/run-1"));
//! assert!(std::ptr::eq(a, b));
//! ```

use crate::json::JsonObject;
use parking_lot::Mutex;

/// The kept value equal to `value` (kept now if it is new).
pub fn object(value: JsonObject) -> &'static JsonObject {
    static KEPT: Mutex<Vec<&'static JsonObject>> = Mutex::new(Vec::new());
    keep(&KEPT, Box::new(value))
}

/// The kept string equal to `value` (kept now if it is new).
pub fn str(value: &str) -> &'static str {
    static KEPT: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    keep(&KEPT, value.into())
}

/// The value in `kept` equal to `value`, else `value`, leaked and added to `kept`.
fn keep<T: ?Sized + PartialEq>(kept: &Mutex<Vec<&'static T>>, value: Box<T>) -> &'static T {
    let mut kept = kept.lock();
    if let Some(found) = kept.iter().find(|k| ***k == *value) {
        return found;
    }
    let leaked: &'static T = Box::leak(value);
    kept.push(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_values_are_kept_once() {
        let make = || json!({"sdk": "weave-rs", "n": 1}).as_object().cloned().unwrap_or_default();
        let a = object(make());
        let b = object(make());
        assert!(std::ptr::eq(a, b));
        let other = object(json!({"sdk": "other"}).as_object().cloned().unwrap_or_default());
        assert!(!std::ptr::eq(a, other));
        assert_eq!(a["sdk"], "weave-rs");
    }
}
