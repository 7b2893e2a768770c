//! How values are captured: floats at their own precision, non-finite floats, and values
//! with neither `Serialize` nor `Debug`.

use crate::support::only;
use serde::Serialize;
use serde_json::{json, Value};
use weave::op;
use weave::testing::capture;

// ---------------------------------------------------------------------------------------
// Floats at their own precision: an `f32` is written with the shortest digits that give it
// back as an `f32` (`0.2`), not those of its value widened to `f64` (`0.20000000298023224`).

#[derive(Serialize, Debug)]
struct Sample {
    weight: f32,
    ratio: f64,
}

#[op]
fn scale(factor: f32, by_ref: &f32, precise: f64, sample: Sample, weights: Vec<f32>, pair: (f32, u8)) -> f32 {
    let _ = (by_ref, precise, sample, weights, pair);
    factor * 2.0
}

#[test]
fn f32_values_are_captured_at_their_own_precision() {
    let cap = capture();
    let sample = Sample { weight: 0.2, ratio: 0.1 };
    assert_eq!(scale(0.2, &0.7, 0.1, sample, vec![0.2, 1.5, 3.4e38], (0.2, 1)), 0.4);
    let call = only(&cap.calls()).clone();
    let expected = json!({
        "factor": 0.2,
        "by_ref": 0.7,
        "precise": 0.1,
        "sample": {"weight": 0.2, "ratio": 0.1},
        "weights": [0.2, 1.5, 3.4e38],
        "pair": [0.2, 1],
    });
    assert_eq!(call.inputs(), &expected);
    assert_eq!(call.inputs().to_string(), expected.to_string(), "the same digits");
    assert_eq!(call.output(), &json!(0.4));
    assert!(!call.wire().to_string().contains("0000000"), "{}", call.wire());
}

#[test]
fn non_finite_f32_values_are_null() {
    let cap = capture();
    let sample = Sample { weight: f32::NEG_INFINITY, ratio: f64::NAN };
    assert!(scale(f32::NAN, &f32::INFINITY, f64::INFINITY, sample, vec![f32::NAN, 0.2], (f32::INFINITY, 1)).is_nan());
    let call = only(&cap.calls()).clone();
    assert_eq!(
        call.inputs(),
        &json!({
            "factor": null,
            "by_ref": null,
            "precise": null,
            "sample": {"weight": null, "ratio": null},
            "weights": [null, 0.2],
            "pair": [null, 1],
        })
    );
    assert_eq!(call.output(), &Value::Null);
}

// ---------------------------------------------------------------------------------------
// Values with neither `Serialize` nor `Debug`.

struct Secret(#[allow(dead_code)] u64);

#[op]
fn opaque(secret: Secret) -> Secret {
    secret
}

#[test]
fn values_without_serialize_or_debug_are_named_by_type() {
    let cap = capture();
    let _ = opaque(Secret(1));
    let call = only(&cap.calls()).clone();
    let input = call.inputs()["secret"].as_str().unwrap_or_default().to_string();
    assert!(input.contains("Secret"), "{input}");
    assert!(call.output().as_str().unwrap_or_default().contains("Secret"), "{:?}", call.output());
}
