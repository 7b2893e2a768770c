//! Tests of the capture rules.

// Autoref specialization needs the "needless" borrows: which impl is picked
// depends on them.
#![allow(clippy::needless_borrow)]

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use super::*;

fn cfg() -> CaptureConfig {
    CaptureConfig::default()
}

fn text_with<T: Serialize + ?Sized>(cfg: &CaptureConfig, v: &T) -> String {
    capture_value(cfg, |w| w.serialize(v)).as_str().to_string()
}

fn text<T: Serialize + ?Sized>(v: &T) -> String {
    text_with(&cfg(), v)
}

fn val<T: Serialize + ?Sized>(v: &T) -> Value {
    let t = text(v);
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("invalid JSON {e}: {t}"))
}

/// Validates JSON of any depth (serde_json's `RawValue` skips values
/// iteratively, without the 128-level recursion limit).
fn assert_valid(t: &str) {
    if let Err(e) = serde_json::from_str::<&serde_json::value::RawValue>(t) {
        panic!("invalid JSON ({e}): {}", &t[..t.len().min(2000)]);
    }
}

// ---- rule 1 & 7: errors and panics -------------------------------------

struct Failing;
impl Serialize for Failing {
    fn serialize<S: Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("boom"))
    }
}

struct Panicking;
impl Serialize for Panicking {
    fn serialize<S: Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
        panic!("kaboom")
    }
}

/// Fails after writing part of a sequence.
struct FailsHalfway;
impl Serialize for FailsHalfway {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        seq.serialize_element(&1)?;
        seq.serialize_element(&[1, 2, 3])?;
        Err(serde::ser::Error::custom("half"))
    }
}

#[derive(Serialize)]
struct WithBadFields {
    a: u32,
    bad: Failing,
    half: FailsHalfway,
    worse: Panicking,
    z: &'static str,
}

#[test]
fn serialize_error_becomes_marker() {
    let name = std::any::type_name::<Failing>();
    assert_eq!(val(&Failing), json!(format!("[weave: could not serialize {name}: boom]")));
}

#[test]
fn serialize_panic_is_caught() {
    let name = std::any::type_name::<Panicking>();
    assert_eq!(val(&Panicking), json!(format!("[weave: serializing {name} panicked: kaboom]")));
}

#[test]
fn failing_fields_rewind_to_their_own_start() {
    let v = val(&WithBadFields { a: 1, bad: Failing, half: FailsHalfway, worse: Panicking, z: "ok" });
    assert_eq!(v["a"], 1);
    assert_eq!(v["z"], "ok");
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    assert!(s("bad").starts_with("[weave: could not serialize") && s("bad").ends_with(": boom]"));
    assert!(s("half").contains("FailsHalfway: half]"), "{v}");
    assert!(s("worse").contains("panicked: kaboom]"), "{v}");
}

#[test]
fn failing_element_in_vec() {
    let v: Vec<Box<dyn erased::Ser>> = vec![Box::new(1u8), Box::new(Failing), Box::new("x")];
    let out = val(&v);
    assert_eq!(out[0], 1);
    assert!(out[1].as_str().unwrap_or_default().ends_with(": boom]"));
    assert_eq!(out[2], "x");
}

/// A tiny object-safe wrapper so a Vec can hold different Serialize types.
mod erased {
    pub trait Ser {
        fn ser(&self) -> Result<serde_json::Value, String>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn ser(&self) -> Result<serde_json::Value, String> {
            serde_json::to_value(self).map_err(|e| e.to_string())
        }
    }
    impl serde::Serialize for Box<dyn Ser> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match (**self).ser() {
                Ok(v) => v.serialize(s),
                Err(e) => Err(serde::ser::Error::custom(e)),
            }
        }
    }
}

// ---- rule 2: redaction --------------------------------------------------

#[derive(Serialize)]
struct Level3 {
    api_key: String,
    model: String,
}
#[derive(Serialize)]
struct Level2 {
    inner: Level3,
    headers: HashMap<String, String>,
}
#[derive(Serialize)]
struct Level1 {
    config: Level2,
    list: Vec<Level3>,
}

#[test]
fn redacts_keys_at_any_depth() {
    let mut headers = HashMap::new();
    headers.insert("Authorization".to_string(), "Bearer secret".to_string());
    headers.insert("Accept".to_string(), "json".to_string());
    let v = val(&Level1 {
        config: Level2 { inner: Level3 { api_key: "sk-secret".into(), model: "gpt".into() }, headers },
        list: vec![Level3 { api_key: "sk-2".into(), model: "m".into() }],
    });
    assert_eq!(v["config"]["inner"]["api_key"], "REDACTED");
    assert_eq!(v["config"]["inner"]["model"], "gpt");
    assert_eq!(v["config"]["headers"]["Authorization"], "REDACTED");
    assert_eq!(v["config"]["headers"]["Accept"], "json");
    assert_eq!(v["list"][0]["api_key"], "REDACTED");
    assert!(!v.to_string().contains("secret"));
}

#[derive(Serialize)]
struct SecretHolder {
    #[serde(rename = "API_KEY")]
    key: Panicking,
    auth_headers: Failing,
}

#[test]
fn redacted_values_are_not_serialized() {
    let v = val(&SecretHolder { key: Panicking, auth_headers: Failing });
    assert_eq!(v, json!({"API_KEY": "REDACTED", "auth_headers": "REDACTED"}));
    let mut m = BTreeMap::new();
    m.insert("Api_Key", Panicking);
    assert_eq!(val(&m), json!({"Api_Key": "REDACTED"}));
}

#[test]
fn redacted_argument_is_not_captured() {
    let mut called = false;
    let raw = capture_inputs(&cfg(), |i| {
        i.arg("api_key", |_| called = true);
        i.arg("x", |w| w.serialize(&1));
    });
    assert!(!called);
    assert_eq!(raw.to_value(), json!({"api_key": "REDACTED", "x": 1}));
}

#[test]
fn identifier_arguments_are_written_like_named_ones() {
    let mut called = false;
    let by_ident = capture_inputs(&cfg(), |i| {
        i.ident_arg("\"api_key\":", |_| called = true);
        i.ident_arg("\"x\":", |w| w.serialize(&1));
        i.ident_arg("\"r\u{e9}sum\u{e9}\":", |w| w.serialize("ok"));
    });
    let by_name = capture_inputs(&cfg(), |i| {
        i.arg("api_key", |_| {});
        i.arg("x", |w| w.serialize(&1));
        i.arg("r\u{e9}sum\u{e9}", |w| w.serialize("ok"));
    });
    assert!(!called, "a redacted argument is not captured");
    assert_eq!(by_ident.as_str(), by_name.as_str());
    assert_eq!(by_ident.to_value(), json!({"api_key": "REDACTED", "x": 1, "r\u{e9}sum\u{e9}": "ok"}));
}

#[test]
fn is_redacted_key_is_case_insensitive() {
    let c = cfg();
    assert!(c.is_redacted_key("AUTHORIZATION"));
    assert!(c.is_redacted_key("Api_Key"));
    assert!(!c.is_redacted_key("api_keys"));
    assert!(!c.is_redacted_key(""));
}

// ---- rule 3: floats -----------------------------------------------------

#[test]
fn non_finite_floats_are_null() {
    let v = vec![1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0];
    assert_eq!(text(&v), "[1.5,null,null,null,-0.0]");
    assert_eq!(text(&f32::NAN), "null");
    assert_eq!(text(&1.25f32), "1.25");
}

#[test]
fn f32_values_keep_their_own_precision() {
    assert_eq!(text(&0.2f32), "0.2");
    assert_eq!(text(&vec![0.1f32, 0.2, 0.3, 3.4e38, f32::MIN_POSITIVE]), "[0.1,0.2,0.3,3.4e+38,1.1754944e-38]");
    let raw = capture_inputs(&cfg(), |i| {
        i.arg("a", |w| w.float32_value(0.2));
        i.arg("b", |w| w.float32_value(f32::NAN));
        i.arg("c", |w| w.float_value(0.2));
    });
    assert_eq!(raw.as_str(), r#"{"a":0.2,"b":null,"c":0.2}"#);
}

// ---- rule 4: map keys ---------------------------------------------------

#[derive(Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Color {
    Red,
}
#[derive(Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Id(u64);

#[test]
fn non_string_keys_are_stringified() {
    let m: HashMap<u32, &str> = [(7, "seven")].into_iter().collect();
    assert_eq!(val(&m), json!({"7": "seven"}));
    let m: BTreeMap<i128, u8> = [(-5, 1)].into_iter().collect();
    assert_eq!(text(&m), r#"{"-5":1}"#);
    let m: BTreeMap<bool, u8> = [(true, 1)].into_iter().collect();
    assert_eq!(text(&m), r#"{"true":1}"#);
    let m: BTreeMap<char, u8> = [('"', 1)].into_iter().collect();
    assert_eq!(text(&m), r#"{"\"":1}"#);
    let m: BTreeMap<Color, u8> = [(Color::Red, 1)].into_iter().collect();
    assert_eq!(text(&m), r#"{"Red":1}"#);
    let m: BTreeMap<Id, u8> = [(Id(3), 1)].into_iter().collect();
    assert_eq!(text(&m), r#"{"3":1}"#);
    let m: BTreeMap<Option<u8>, u8> = [(None, 1), (Some(2), 2)].into_iter().collect();
    assert_eq!(text(&m), r#"{"null":1,"2":2}"#);
    let floats = [(1.5f64, 1), (f64::NAN, 2)];
    assert_eq!(text(&MapOf(&floats)), r#"{"1.5":1,"NaN":2}"#);
    let floats = [(0.2f32, 1), (f32::INFINITY, 2), (f32::NAN, 3)];
    assert_eq!(text(&MapOf(&floats)), r#"{"0.2":1,"inf":2,"NaN":3}"#);
}

#[test]
fn complex_keys_become_json_text() {
    let m: BTreeMap<Vec<u32>, u8> = [(vec![1, 2], 1)].into_iter().collect();
    assert_eq!(val(&m), json!({"[1,2]": 1}));
    let m: BTreeMap<(u8, &str), u8> = [((1, "a"), 1)].into_iter().collect();
    assert_eq!(val(&m), json!({"[1,\"a\"]": 1}));
    let inner: BTreeMap<&str, u8> = [("k", 1)].into_iter().collect();
    let pairs = [(inner, 5)];
    assert_eq!(val(&MapOf(&pairs)), json!({"{\"k\":1}": 5}));
}

/// Serializes a slice of pairs as a map (keys need not be Ord/Hash).
struct MapOf<'a, K, V>(&'a [(K, V)]);
impl<K: Serialize, V: Serialize> Serialize for MapOf<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

// ---- rule 5: depth ------------------------------------------------------

/// A value nested `0` levels deep, built without recursion.
struct Deep(usize);
impl Serialize for Deep {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 0 {
            return s.serialize_u64(0);
        }
        let mut seq = s.serialize_seq(Some(1))?;
        seq.serialize_element(&Deep(self.0 - 1))?;
        seq.end()
    }
}

/// Nested structs (objects) `0` levels deep.
struct DeepStruct(usize);
impl Serialize for DeepStruct {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("DeepStruct", 2)?;
        st.serialize_field("n", &self.0)?;
        if self.0 > 0 {
            st.serialize_field("child", &DeepStruct(self.0 - 1))?;
        }
        st.end()
    }
}

/// Newtype/Option wrappers `0` levels deep (no JSON nesting at all).
struct DeepWrap(usize);
impl Serialize for DeepWrap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            0 => s.serialize_u64(0),
            n if n % 2 == 0 => s.serialize_some(&DeepWrap(n - 1)),
            n => s.serialize_newtype_struct("W", &DeepWrap(n - 1)),
        }
    }
}

const DEPTH_MARKER: &str = "[weave: truncated: nesting deeper than 100 levels]";

#[test]
fn deep_nesting_is_cut_at_max_depth() {
    let t = text(&Deep(100_000));
    assert_valid(&t);
    assert_eq!(t.matches('[').count() - 1, 100, "{t}");
    assert!(t.contains(DEPTH_MARKER));
    // Exactly at the limit: no marker.
    let t = text(&Deep(100));
    assert!(!t.contains("weave"), "{t}");
    assert!(text(&Deep(101)).contains(DEPTH_MARKER));
}

#[test]
fn deep_structs_are_cut_at_max_depth() {
    let t = text(&DeepStruct(100_000));
    assert_valid(&t);
    assert!(t.contains(&format!("\"child\":\"{DEPTH_MARKER}\"")));
    let small = CaptureConfig { max_depth: 3, ..cfg() };
    let v: Value = serde_json::from_str(&text_with(&small, &DeepStruct(10))).unwrap_or_default();
    assert_eq!(v["child"]["child"]["child"], json!("[weave: truncated: nesting deeper than 3 levels]"));
}

#[test]
fn deep_wrappers_do_not_overflow_the_stack() {
    let t = text(&DeepWrap(100_000));
    assert_eq!(t, "\"[weave: truncated: recursion too deep]\"");
    assert_eq!(text(&DeepWrap(100)), "0");
}

#[test]
fn deep_keys_and_variants() {
    #[derive(Serialize)]
    enum E {
        N(Box<E>),
        L,
    }
    let mut e = E::L;
    for _ in 0..200 {
        e = E::N(Box::new(e));
    }
    let t = text(&e);
    assert_valid(&t);
    assert!(t.contains(DEPTH_MARKER));
    // Avoid the recursive Drop of a deep Box chain being an issue: 200 is fine.
}

// ---- rule 6: size -------------------------------------------------------

fn small(max: usize) -> CaptureConfig {
    CaptureConfig { max_value_bytes: max, ..cfg() }
}

#[test]
fn huge_string_input_is_cut_without_copying() {
    let big = "x".repeat(100 * 1024 * 1024);
    let raw = capture_inputs(&cfg(), |i| {
        i.arg("prompt", |w| w.serialize(big.as_str()));
        i.arg("n", |w| w.serialize(&3));
    });
    let t = raw.as_str();
    assert!(t.len() < (1 << 20) + 200, "{}", t.len());
    // The opening quote counts toward the limit.
    let omitted = big.len() - ((1 << 20) - 1);
    assert!(t.contains(&format!("…[weave: truncated {omitted} bytes]")));
    let v = raw.to_value();
    assert_eq!(v["n"], 3);
    // The thread-local buffer does not keep the 1 MiB it grew to.
    assert!(inputs::pooled_capacity() <= 64 * 1024);
}

#[test]
fn strings_are_cut_on_char_boundaries() {
    let s = "é".repeat(100); // 200 bytes
    let v = serde_json::from_str::<Value>(&text_with(&small(51), &s)).unwrap_or_default();
    let out = v.as_str().unwrap_or_default();
    // 1 byte of quote + 25 × 2 bytes fit in 51; 150 bytes are left out.
    assert_eq!(out, format!("{}…[weave: truncated 150 bytes]", "é".repeat(25)));
    let v = serde_json::from_str::<Value>(&text_with(&small(52), &s)).unwrap_or_default();
    assert!(v.as_str().unwrap_or_default().ends_with("é…[weave: truncated 150 bytes]"));
    // Escapes count toward the limit and are never split.
    let s = "\n".repeat(100);
    let t = text_with(&small(11), &s);
    assert_valid(&t);
    assert!(t.starts_with(r#""\n\n\n\n\n…"#), "{t}");
}

#[test]
fn overflowing_seq_closes_with_marker() {
    let v: Vec<String> = (0..100_000).map(|i| format!("item {i}")).collect();
    let t = text_with(&small(1000), &v);
    assert!(t.len() < 1100, "{}", t.len());
    let out: Value = serde_json::from_str(&t).unwrap_or_default();
    let arr = out.as_array().cloned().unwrap_or_default();
    assert!(arr.len() > 10);
    assert_eq!(arr.last(), Some(&json!("[weave: truncated: value larger than 1000 bytes]")));
}

#[test]
fn overflowing_map_closes_with_marker_key() {
    let m: BTreeMap<u32, u32> = (0..10_000).map(|i| (i, i)).collect();
    let out: Value = serde_json::from_str(&text_with(&small(200), &m)).unwrap_or_default();
    let obj = out.as_object().cloned().unwrap_or_default();
    assert!(obj.len() > 5);
    assert_eq!(obj.get("_weave_truncated"), Some(&json!("[weave: truncated: value larger than 200 bytes]")));
}

#[test]
fn overflow_closes_every_enclosing_container() {
    #[derive(Serialize)]
    struct Doc {
        title: String,
        pages: Vec<Vec<String>>,
        after: u32,
    }
    let doc = Doc { title: "t".into(), pages: vec![vec!["word".repeat(10); 100]; 100], after: 1 };
    let t = text_with(&small(2000), &doc);
    let out: Value = serde_json::from_str(&t).unwrap_or_else(|e| panic!("{e}: {t}"));
    assert_eq!(out["title"], "t");
    assert!(out["_weave_truncated"].is_string());
    assert!(out.get("after").is_none());
    let pages = out["pages"].as_array().cloned().unwrap_or_default();
    assert!(pages.last().is_some_and(Value::is_string));
    // A top-level string that is cut is still a complete value.
    let t = text_with(&small(10), &("a".repeat(50), "b".repeat(50)));
    assert_valid(&t);
}

#[test]
fn huge_bytes_and_debug_are_bounded() {
    let bytes = serde_bytes_like(vec![7u8; 10_000_000]);
    let t = text_with(&small(1000), &bytes);
    assert!(t.len() < 1100);
    assert!(t.ends_with("\"[weave: truncated: value larger than 1000 bytes]\"]"));
    let huge = vec![0u64; 1_000_000];
    let t = capture_value(&small(500), |w| w.debug(&huge));
    assert!(t.as_str().len() < 600);
    assert!(t.as_str().ends_with("…[weave: truncated]\""), "{t:?}");
}

/// Serializes through `serialize_bytes`.
struct Bytes(Vec<u8>);
fn serde_bytes_like(v: Vec<u8>) -> Bytes {
    Bytes(v)
}
impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

// ---- rule 8: shapes like serde_json ------------------------------------

#[derive(Serialize)]
struct Unit;
#[derive(Serialize)]
struct Wrapper(String);
#[derive(Serialize)]
struct Pair(u8, i8);
#[derive(Serialize)]
enum Shape {
    Empty,
    Circle(f64),
    Rect(u32, u32),
    Named { w: u32, tag: Option<&'static str> },
}
#[derive(Serialize)]
struct Everything {
    unit: (),
    unit_struct: Unit,
    wrapper: Wrapper,
    pair: Pair,
    shapes: Vec<Shape>,
    opt: Option<Option<u8>>,
    none: Option<u8>,
    text: &'static str,
    owned: String,
    chars: Vec<char>,
    tuple: (u8, &'static str, bool),
    big: i128,
    ubig: u128,
    small: i8,
    map: BTreeMap<String, Vec<u16>>,
}

#[test]
fn matches_serde_json_for_ordinary_values() {
    let e = Everything {
        unit: (),
        unit_struct: Unit,
        wrapper: Wrapper("w".into()),
        pair: Pair(1, -1),
        shapes: vec![Shape::Empty, Shape::Circle(2.5), Shape::Rect(1, 2), Shape::Named { w: 3, tag: None }],
        opt: Some(Some(3)),
        none: None,
        text: "quote \" backslash \\ tab \t nul \0 bell \x07 unicode é 漢 🎉 \u{2028}",
        owned: String::from("owned"),
        chars: vec!['a', '\n', '🎉'],
        tuple: (1, "two", true),
        big: i128::MIN,
        ubig: u128::MAX,
        small: i8::MIN,
        map: [("k".to_string(), vec![1, 2])].into_iter().collect(),
    };
    let expected = serde_json::to_string(&e).unwrap_or_default();
    assert_eq!(text(&e), expected);
}

#[test]
fn i128_and_u128() {
    assert_eq!(text(&i128::MIN), i128::MIN.to_string());
    assert_eq!(text(&u128::MAX), u128::MAX.to_string());
}

#[test]
fn bytes_and_units() {
    assert_eq!(text(&Bytes(vec![0, 255, 10])), "[0,255,10]");
    assert_eq!(text(&()), "null");
    assert_eq!(text(&Unit), "null");
    let invalid_utf8 = String::from_utf8_lossy(&[0xff, 0xfe, b'a']).into_owned();
    assert_valid(&text(&invalid_utf8));
    let os = std::ffi::OsString::from("plain");
    assert_eq!(text(&os), serde_json::to_string(&os).unwrap_or_default());
}

#[test]
fn common_input_types() {
    assert_eq!(text("a str"), r#""a str""#);
    assert_eq!(text(&String::from("s")), r#""s""#);
    assert_eq!(text(&Some(1)), "1");
    assert_eq!(text(&None::<u8>), "null");
    assert_eq!(text(&vec![1, 2]), "[1,2]");
    let m: HashMap<u32, Vec<&str>> = [(1, vec!["a"])].into_iter().collect();
    assert_eq!(text(&m), r#"{"1":["a"]}"#);
    assert_eq!(val(&json!({"a": [1, {"b": null}]})), json!({"a": [1, {"b": null}]}));
}

#[test]
fn collect_str_and_raw_values() {
    let addr = std::net::Ipv4Addr::new(127, 0, 0, 1);
    assert_eq!(text(&addr), "\"127.0.0.1\"");
    let raw = RawJson::from_value(&json!({"x": [1, 2]}));
    assert_eq!(text(&vec![raw.clone()]), r#"[{"x":[1,2]}]"#);
    let boxed = serde_json::value::RawValue::from_string("[1, 2]".to_string());
    if let Ok(boxed) = boxed {
        assert_eq!(text(&boxed), "[1, 2]");
    }
}

// ---- rule 9 & 10: Debug and type name -----------------------------------

#[derive(Debug)]
struct DebugOnly {
    #[allow(dead_code)]
    x: u8,
}

struct PanickyDebug;
impl fmt::Debug for PanickyDebug {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("debug boom")
    }
}

/// A Debug impl that recurses forever (like a cyclic graph).
struct Cyclic;
impl fmt::Debug for Cyclic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cyclic").field("next", &Cyclic).finish()
    }
}

/// A Debug impl that recurses forever and ignores formatting errors.
struct StubbornCyclic;
impl fmt::Debug for StubbornCyclic {
    #[allow(unconditional_recursion)]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f.write_str("<");
        let _ = fmt::Debug::fmt(&StubbornCyclic, f);
        Ok(())
    }
}

fn debug_text<T: fmt::Debug + ?Sized>(v: &T) -> String {
    capture_value(&cfg(), |w| w.debug(v)).as_str().to_string()
}

#[test]
fn debug_capture() {
    assert_eq!(debug_text(&DebugOnly { x: 1 }), r#""DebugOnly { x: 1 }""#);
    assert_eq!(debug_text("q\"uote"), r#""\"q\\\"uote\"""#);
    let name = std::any::type_name::<PanickyDebug>();
    assert_eq!(debug_text(&PanickyDebug), format!("\"[weave: formatting {name} with Debug panicked: debug boom]\""));
}

#[test]
fn cyclic_debug_is_stopped() {
    let t = debug_text(&Cyclic);
    assert_valid(&t);
    assert!(t.ends_with("…[weave: truncated: recursion too deep]\""), "{}", &t[t.len() - 80..]);
    // In release builds LLVM turns this recursion into a loop, so the size
    // limit (then the ignored-writes guard) stops it rather than the stack.
    let t = debug_text(&StubbornCyclic);
    assert_valid(&t);
    assert!(
        t.ends_with("…[weave: truncated: recursion too deep]\"") || t.ends_with("…[weave: truncated]\""),
        "{}",
        &t[t.len() - 80..]
    );
    // A Display/Debug that loops forever writing, ignoring errors.
    struct Looping;
    impl fmt::Debug for Looping {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            loop {
                let _ = f.write_str("ab");
            }
        }
    }
    let t = capture_value(&small(100), |w| w.debug(&Looping));
    // The opening quote and 99 bytes fit in 100.
    assert_eq!(t.as_str(), format!("\"{}a…[weave: truncated]\"", "ab".repeat(49)));
    struct LoopingDisplay;
    impl fmt::Display for LoopingDisplay {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            loop {
                let _ = f.write_str("ab");
            }
        }
    }
    struct ViaCollectStr;
    impl Serialize for ViaCollectStr {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&LoopingDisplay)
        }
    }
    let t = text_with(&small(100), &[ViaCollectStr]);
    assert_eq!(t, format!("[\"{}…[weave: truncated]\"]", "ab".repeat(49)));
}

#[test]
fn type_name_marker() {
    struct Opaque;
    let t = capture_value(&cfg(), |w| w.type_name::<Opaque>());
    let name = std::any::type_name::<Opaque>();
    assert_eq!(t.to_value(), json!(format!("[weave: {name} implements neither Serialize nor Debug]")));
}

// ---- autoref ------------------------------------------------------------

#[derive(Serialize, Debug)]
struct Both {
    n: u8,
}

struct Neither;

#[test]
fn autoref_picks_serialize_then_debug_then_type_name() {
    let c = cfg();
    let both = Both { n: 1 };
    let t = capture_value(&c, |w| (&&&&Capture(&both)).weave_capture(w));
    assert_eq!(t.as_str(), r#"{"n":1}"#);
    let d = DebugOnly { x: 2 };
    let t = capture_value(&c, |w| (&&&&Capture(&d)).weave_capture(w));
    assert_eq!(t.as_str(), r#""DebugOnly { x: 2 }""#);
    let t = capture_value(&c, |w| (&&&&Capture(&Neither)).weave_capture(w));
    assert!(t.as_str().ends_with("Neither implements neither Serialize nor Debug]\""));
    // Unsized values.
    let s: &str = "unsized";
    let t = capture_value(&c, |w| (&&&&Capture(s)).weave_capture(w));
    assert_eq!(t.as_str(), r#""unsized""#);
}

// ---- ErrorMessage -------------------------------------------------------

#[derive(Debug)]
struct Inner;
impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("disk full")
    }
}
impl std::error::Error for Inner {}

#[derive(Debug)]
struct Middle(Inner);
impl fmt::Display for Middle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("write failed")
    }
}
impl std::error::Error for Middle {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[derive(Debug)]
struct Outer(Middle);
impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("save failed")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Display-only, anyhow style: `{:#}` prints the chain.
struct AnyhowLike;
impl fmt::Display for AnyhowLike {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.write_str("outer: inner")
        } else {
            f.write_str("outer")
        }
    }
}

#[test]
fn error_message_levels() {
    assert_eq!((&&&&ErrorMessage(&Inner)).weave_error_message(), "disk full");
    assert_eq!((&&&&ErrorMessage(&Middle(Inner))).weave_error_message(), "write failed\n\nCaused by:\n    disk full");
    assert_eq!(
        (&&&&ErrorMessage(&Outer(Middle(Inner)))).weave_error_message(),
        "save failed\n\nCaused by:\n    0: write failed\n    1: disk full"
    );
    let dyn_err: &(dyn std::error::Error + Send + Sync) = &Middle(Inner);
    assert_eq!((&&&&ErrorMessage(dyn_err)).weave_error_message(), "write failed\n\nCaused by:\n    disk full");
    assert_eq!((&&&&ErrorMessage(&AnyhowLike)).weave_error_message(), "outer: inner");
    assert_eq!((&&&&ErrorMessage("plain str")).weave_error_message(), "plain str");
    assert_eq!((&&&&ErrorMessage(&DebugOnly { x: 3 })).weave_error_message(), "DebugOnly { x: 3 }");
    let m = (&&&&ErrorMessage(&Neither)).weave_error_message();
    assert!(m.ends_with("Neither implements neither Display nor Debug]"), "{m}");
}

#[test]
fn error_message_panics_are_caught() {
    let m = (&&&&ErrorMessage(&PanickyDebug)).weave_error_message();
    assert!(m.contains("panicked: debug boom"), "{m}");
}

// ---- inputs, reentrancy, RawJson -----------------------------------------

#[test]
fn inputs_object() {
    let raw = capture_inputs(&cfg(), |i| {
        i.arg("n", |w| w.serialize(&5u64));
        i.arg("s", |w| w.serialize("hi"));
        i.arg("nothing", |_| {});
        i.arg("twice", |w| {
            w.serialize(&1);
            w.serialize(&2);
        });
        i.arg("panics", |_| panic!("in closure"));
        i.arg("odd \"name\"", |w| w.raw_str("raw"));
    });
    let v = raw.to_value();
    assert_eq!(v["n"], 5);
    assert_eq!(v["s"], "hi");
    assert_eq!(v["nothing"], Value::Null);
    assert_eq!(v["twice"], 1);
    assert!(v["panics"].as_str().unwrap_or_default().contains("in closure"));
    assert_eq!(v["odd \"name\""], "raw");
    assert_eq!(capture_inputs(&cfg(), |_| {}).as_str(), "{}");
    assert_eq!(capture_value(&cfg(), |_| {}).as_str(), "null");
}

/// A Serialize impl that itself captures (like calling a traced function).
struct Reentrant;
impl Serialize for Reentrant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let inner = capture_inputs(&CaptureConfig::default(), |i| {
            i.arg("inner", |w| w.serialize(&[1, 2]));
        });
        s.serialize_str(inner.as_str())
    }
}

#[test]
fn nested_capture_is_reentrant() {
    let raw = capture_inputs(&cfg(), |i| {
        i.arg("a", |w| w.serialize(&Reentrant));
        i.arg("b", |w| w.serialize(&2));
    });
    assert_eq!(raw.to_value(), json!({"a": "{\"inner\":[1,2]}", "b": 2}));
}

#[test]
fn raw_json_api() {
    let raw = RawJson::from_value(&json!({"api_key": 1, "b": "c"}));
    assert_eq!(raw.as_str(), r#"{"api_key":1,"b":"c"}"#);
    assert!(raw.contains_key_text("api_key"));
    assert!(raw.contains_key_text("b"));
    assert!(!raw.contains_key_text("api"));
    assert_eq!(raw.to_value(), json!({"api_key": 1, "b": "c"}));
    assert_eq!(format!("{raw:?}"), raw.as_str());
    assert_eq!(RawJson::null().as_str(), "null");
    assert_eq!(serde_json::to_string(&vec![raw.clone()]).unwrap_or_default(), r#"[{"api_key":1,"b":"c"}]"#);
    assert_eq!(raw.clone(), raw);
}

#[test]
fn a_capture_buffer_becomes_the_same_text_whatever_its_spare_room_holds() {
    for text in
        ["", "1", r#"{"a":1,"b":"hello"}"#, &"x".repeat(46), &"y".repeat(47), "\"h\u{e9}llo\"", &"\u{e9}".repeat(23)]
    {
        // A buffer with no spare room, and one whose spare room holds earlier, longer text.
        let mut tight = Vec::with_capacity(text.len());
        tight.extend_from_slice(text.as_bytes());
        let mut roomy = Vec::with_capacity(4096);
        roomy.extend_from_slice(&[b'z'; 200]);
        roomy.clear();
        roomy.extend_from_slice(text.as_bytes());
        for buf in [&mut tight, &mut roomy] {
            let raw = RawJson::from_buffer(buf);
            assert_eq!(raw.as_str(), text);
            assert_eq!(raw.clone().as_str(), text);
        }
    }
    let invalid = vec![b'"', 0xff, b'"'];
    assert_eq!(RawJson::from_buffer(&invalid).as_str(), "\"[weave: capture produced invalid UTF-8]\"");
}

#[test]
fn every_output_is_valid_json_under_small_limits() {
    let doc = Everything {
        unit: (),
        unit_struct: Unit,
        wrapper: Wrapper("w".repeat(40)),
        pair: Pair(1, -1),
        shapes: vec![Shape::Named { w: 3, tag: Some("tag tag tag") }, Shape::Rect(1, 2)],
        opt: Some(Some(3)),
        none: None,
        text: "é\n\"漢🎉",
        owned: "o".repeat(30),
        chars: vec!['a'; 30],
        tuple: (1, "two", true),
        big: 1,
        ubig: 2,
        small: 3,
        map: [("k".to_string(), vec![1; 20])].into_iter().collect(),
    };
    let full = text(&doc).len();
    for max in 0..full + 5 {
        let t = text_with(&small(max), &doc);
        assert_valid(&t);
        let mut keys = BTreeMap::new();
        keys.insert(vec![max as u8; 8], "v".repeat(max));
        assert_valid(&text_with(&small(max), &keys));
        assert_valid(&text_with(&small(max), &DeepStruct(20)));
    }
}

#[test]
fn primitives_take_the_fast_path_with_the_same_json() {
    use super::CaptureViaPrimitive as _;
    let c = CaptureConfig { max_value_bytes: 16, ..CaptureConfig::default() };
    let cap = |f: &dyn Fn(&mut ValueWriter<'_>)| capture_value(&c, f).as_str().to_string();
    assert_eq!(cap(&|w| (&&&&Capture(&7u8)).weave_capture(w)), "7");
    assert_eq!(cap(&|w| (&&&&Capture(&-7i64)).weave_capture(w)), "-7");
    assert_eq!(cap(&|w| (&&&&Capture(&1.5f64)).weave_capture(w)), "1.5");
    assert_eq!(cap(&|w| (&&&&Capture(&1.0f32)).weave_capture(w)), "1.0");
    assert_eq!(cap(&|w| (&&&&Capture(&f64::NAN)).weave_capture(w)), "null");
    assert_eq!(cap(&|w| (&&&&Capture(&f64::INFINITY)).weave_capture(w)), "null");
    assert_eq!(cap(&|w| (&&&&Capture(&true)).weave_capture(w)), "true");
    assert_eq!(cap(&|w| (&&&&Capture(&&"a\"b")).weave_capture(w)), r#""a\"b""#);
    let long = "x".repeat(100);
    let text = cap(&|w| (&&&&Capture(&long)).weave_capture(w));
    assert!(text.len() < 64 && text.contains("truncated"), "{text}");
    // A struct still goes through Serialize.
    #[derive(serde::Serialize)]
    struct P {
        a: u8,
    }
    assert_eq!(cap(&|w| (&&&&Capture(&P { a: 1 })).weave_capture(w)), r#"{"a":1}"#);
}

#[test]
fn integers_are_written_as_rust_formats_them() {
    let mut unsigned = vec![0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12_345, u64::MAX, u64::MAX - 1];
    unsigned.extend((1..20).map(|p| 10u64.pow(p)));
    unsigned.extend((1..20).map(|p| 10u64.pow(p) - 1));
    for v in unsigned {
        let mut buf = b"[".to_vec();
        write::uint(&mut buf, v);
        assert_eq!(String::from_utf8(buf).expect("utf-8"), format!("[{v}"));
    }
    for v in [0, -1, 7, -10, 123_456, -123_456, i64::MAX, i64::MIN] {
        let mut buf = Vec::new();
        write::int(&mut buf, v);
        assert_eq!(String::from_utf8(buf).expect("utf-8"), v.to_string());
    }
}

#[test]
fn short_raw_strings_are_written_whole_at_every_length() {
    let source: String = (0..40u8).map(|i| char::from(b'a' + i % 26)).collect();
    for n in 0..=source.len() {
        let s = &source[..n];
        assert_eq!(capture_value(&cfg(), |w| w.raw_str(s)).as_str(), format!("\"{s}\""));
    }
}
