//! Bad input, table-driven: for each case an op takes (or returns) a value that is hard to
//! capture. The op must behave exactly as without `#[op]` (same return value), the call
//! must be recorded, and the value must become a clear marker (or a faithful JSON value),
//! without a crash, a hang or a memory blow-up.

use serde::ser::{Error as _, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Implements neither `Serialize` nor `Debug`.
struct Opaque(u32);

/// `Serialize` returns an error.
struct FailsToSerialize;

impl Serialize for FailsToSerialize {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom("the database handle cannot be serialized"))
    }
}

/// `Serialize` panics.
struct PanicsInSerialize;

impl Serialize for PanicsInSerialize {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("serialize exploded")
    }
}

/// A list nested `levels` deep, produced lazily (no deep value exists in memory).
struct Nested {
    levels: u32,
}

impl Serialize for Nested {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(1))?;
        if self.levels > 0 {
            seq.serialize_element(&Nested { levels: self.levels - 1 })?;
        }
        seq.end()
    }
}

/// Bytes through `serialize_bytes`, not valid UTF-8.
struct RawBytes(Vec<u8>);

impl Serialize for RawBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

/// A `Debug` that formats itself forever.
struct RecursiveDebug;

impl std::fmt::Debug for RecursiveDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "again({:?})", RecursiveDebug)
    }
}

#[derive(Serialize)]
struct Request {
    url: String,
    headers: BTreeMap<String, String>,
    nested: Vec<BTreeMap<String, Value>>,
}

#[weave::op]
fn takes_opaque(value: Opaque) -> u32 {
    value.0 + 1
}

#[weave::op]
fn takes_failing(value: FailsToSerialize) -> u32 {
    std::hint::black_box(&value);
    7
}

#[weave::op]
fn takes_panicking(value: PanicsInSerialize) -> u32 {
    std::hint::black_box(&value);
    8
}

#[weave::op]
fn returns_non_finite(x: f64) -> Vec<f64> {
    vec![x, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]
}

#[weave::op]
fn takes_huge_string(text: &str) -> usize {
    text.len()
}

#[weave::op]
fn takes_deep_nesting(value: Nested) -> u32 {
    value.levels
}

#[weave::op]
fn takes_non_utf8(bytes: RawBytes, lossy: &std::ffi::OsStr) -> usize {
    bytes.0.len() + lossy.len()
}

#[weave::op]
fn takes_non_string_keys(by_pair: HashMap<(u8, u8), u32>, by_list: BTreeMap<Vec<u8>, bool>) -> usize {
    by_pair.len() + by_list.len()
}

#[weave::op]
fn takes_recursive_debug(value: RecursiveDebug) -> u8 {
    std::hint::black_box(&value);
    9
}

#[weave::op]
fn takes_secrets(api_key: &str, request: Request) -> usize {
    api_key.len() + request.url.len()
}

/// One case: runs its op (checking the return value itself) and checks what was recorded.
struct Case {
    name: &'static str,
    op: &'static str,
    run: fn(),
    check: fn(&Value, &Value),
}

fn marker(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("expected a marker string, got {value}"))
}

const HUGE: usize = 100 * 1024 * 1024;

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a type with neither Serialize nor Debug",
            op: "takes_opaque",
            run: || assert_eq!(takes_opaque(Opaque(41)), 42),
            check: |inputs, _| {
                let m = marker(&inputs["value"]);
                assert!(
                    m.starts_with("[weave: ") && m.ends_with("Opaque implements neither Serialize nor Debug]"),
                    "{m}"
                );
            },
        },
        Case {
            name: "a Serialize impl that returns an error",
            op: "takes_failing",
            run: || assert_eq!(takes_failing(FailsToSerialize), 7),
            check: |inputs, _| {
                let m = marker(&inputs["value"]);
                assert!(m.starts_with("[weave: could not serialize"), "{m}");
                assert!(m.contains("the database handle cannot be serialized"), "{m}");
            },
        },
        Case {
            name: "a Serialize impl that panics",
            op: "takes_panicking",
            run: || assert_eq!(takes_panicking(PanicsInSerialize), 8),
            check: |inputs, _| {
                let m = marker(&inputs["value"]);
                assert!(m.contains("panicked") && m.contains("serialize exploded"), "{m}");
            },
        },
        Case {
            name: "NaN and infinities",
            op: "returns_non_finite",
            run: || {
                let out = returns_non_finite(f64::NAN);
                assert!(out[0].is_nan() && out[1].is_nan() && out[2] == f64::INFINITY && out[3] == f64::NEG_INFINITY);
            },
            check: |inputs, output| {
                assert_eq!(inputs["x"], Value::Null);
                assert_eq!(*output, json!([null, null, null, null]));
            },
        },
        Case {
            name: "a 100 MB string",
            op: "takes_huge_string",
            run: || assert_eq!(takes_huge_string(&"x".repeat(HUGE)), HUGE),
            check: |inputs, _| {
                let text = marker(&inputs["text"]);
                assert!(text.len() <= 1024 * 1024 + 64, "cut to the 1 MiB limit, got {} bytes", text.len());
                assert!(text.ends_with(&format!("…[weave: truncated {} bytes]", HUGE - text.find('…').unwrap_or(0))));
            },
        },
        Case {
            name: "a value nested 100,000 levels deep",
            op: "takes_deep_nesting",
            run: || assert_eq!(takes_deep_nesting(Nested { levels: 100_000 }), 100_000),
            check: |inputs, _| {
                let text = inputs["value"].to_string();
                assert!(text.contains("[weave: truncated: nesting deeper than 100 levels]"), "{inputs}");
            },
        },
        Case {
            name: "bytes that are not UTF-8",
            op: "takes_non_utf8",
            run: || {
                use std::os::unix::ffi::OsStrExt;
                let os = std::ffi::OsStr::from_bytes(b"caf\xe9");
                assert_eq!(takes_non_utf8(RawBytes(vec![0xff, 0xfe, 0x00, 0x80]), os), 8);
            },
            check: |inputs, _| {
                assert_eq!(inputs["bytes"], json!([255, 254, 0, 128]));
                assert!(!inputs["lossy"].is_null(), "{inputs}");
            },
        },
        Case {
            name: "map keys that are not strings",
            op: "takes_non_string_keys",
            run: || {
                let by_pair = HashMap::from([((1, 2), 3)]);
                let by_list = BTreeMap::from([(vec![1u8, 2], true)]);
                assert_eq!(takes_non_string_keys(by_pair, by_list), 2);
            },
            check: |inputs, _| {
                assert_eq!(inputs["by_pair"], json!({"[1,2]": 3}));
                assert_eq!(inputs["by_list"], json!({"[1,2]": true}));
            },
        },
        Case {
            name: "a Debug impl that recurses forever",
            op: "takes_recursive_debug",
            run: || assert_eq!(takes_recursive_debug(RecursiveDebug), 9),
            check: |inputs, _| {
                let m = marker(&inputs["value"]);
                assert!(m.starts_with("again(again(") && m.ends_with("[weave: truncated: recursion too deep]"), "{m}");
            },
        },
        Case {
            name: "secrets at any depth",
            op: "takes_secrets",
            run: || {
                let request = Request {
                    url: "https://api.example.com".into(),
                    headers: BTreeMap::from([("Authorization".into(), "Bearer sk-live-123".into())]),
                    nested: vec![BTreeMap::from([("deeper".into(), json!({"API_KEY": "sk-live-456", "ok": 1}))])],
                };
                assert_eq!(takes_secrets("sk-live-789", request), 34);
            },
            check: |inputs, _| {
                assert_eq!(inputs["api_key"], "REDACTED");
                assert_eq!(inputs["request"]["headers"]["Authorization"], "REDACTED");
                assert_eq!(inputs["request"]["nested"][0]["deeper"], json!({"API_KEY": "REDACTED", "ok": 1}));
                assert!(!inputs.to_string().contains("sk-live"), "{inputs}");
            },
        },
    ]
}

#[test]
fn every_bad_input_is_recorded_with_a_clear_marker_and_the_op_behaves_as_without_op() {
    let capture = weave::testing::capture();
    for case in cases() {
        capture.clear();
        (case.run)();
        let calls = capture.calls_of(case.op);
        assert_eq!(calls.len(), 1, "{}: the call is recorded once", case.name);
        let call = &calls[0];
        assert!(call.exception().is_none(), "{}: the op did not fail", case.name);
        (case.check)(call.inputs(), call.output());
    }
}
