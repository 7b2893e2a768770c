//! JSON values: the object type the records and items use ([`JsonObject`]), and values to
//! JSON at their own precision. `serde_json::to_value` widens an `f32` to `f64`
//! (`0.2f32` becomes `0.20000000298023224`); serde_json's text writer prints an `f32`'s
//! shortest digits (`0.2`), and its parser (with `float_roundtrip`) reads every `f64` back
//! exactly, so going through text keeps each float as written.

use serde::Serialize;
use serde_json::{Map, Value};

/// A JSON object.
pub type JsonObject = Map<String, Value>;

/// `value` as a JSON value, its `f32`s at their own precision.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Value> {
    serde_json::from_slice(&serde_json::to_vec(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_keep_their_own_precision() {
        #[derive(Serialize)]
        struct Score {
            confidence: f32,
            exact: f64,
        }
        let value = to_value(&Score { confidence: 0.2, exact: 0.1 + 0.2 }).unwrap();
        assert_eq!(value, json!({"confidence": 0.2, "exact": 0.30000000000000004}));
        assert_eq!(to_value(&vec![0.7f32, f32::MAX]).unwrap(), json!([0.7, 3.4028235e38]));
        assert_eq!(to_value(&f64::NAN).unwrap(), Value::Null);
        // Every f64 comes back exactly.
        for x in [1e-310, 5e-324, 0.1, 1.0 / 3.0, 123_456_789.123_456_79, f64::MAX, -2.2250738585072014e-308] {
            assert_eq!(to_value(&x).unwrap().as_f64().unwrap().to_bits(), x.to_bits(), "{x:e}");
        }
    }
}
