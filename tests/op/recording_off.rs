//! With recording off (no client), an op is a plain call: the same result, its parameters
//! reach the body as given, and its inputs are not captured, not even evaluated. The same
//! ops recording, for comparison.

use serde::{Serialize, Serializer};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use weave::op;
use weave::testing::capture;

/// How many times a `Counted` was serialized.
static SERIALIZED: AtomicUsize = AtomicUsize::new(0);

/// A count whose serialization is counted.
struct Counted(usize);

impl Serialize for Counted {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SERIALIZED.fetch_add(1, Ordering::SeqCst);
        serializer.serialize_u64(self.0 as u64)
    }
}

/// Plain parameter names: the body is a closure of the parameters, called behind the switch.
#[op]
fn repeat_plain(first: &str, second: &str, times: Counted) -> String {
    format!("{first}{}", second.repeat(times.0))
}

/// A destructured parameter: the body is a closure borrowing the parameters.
#[op]
fn repeat_destructured((first, second): (&str, &str), times: Counted) -> String {
    format!("{first}{}", second.repeat(times.0))
}

#[test]
fn with_recording_off_an_op_is_a_plain_call_that_captures_nothing() {
    // No client, while holding the capture lock (another test's capture would record).
    let idle = capture();
    idle.finish();
    SERIALIZED.store(0, Ordering::SeqCst);
    assert_eq!(repeat_plain("a", "b", Counted(2)), "abb");
    assert_eq!(repeat_destructured(("a", "b"), Counted(2)), "abb");
    assert_eq!(SERIALIZED.load(Ordering::SeqCst), 0, "no input was evaluated");
    assert!(idle.calls().is_empty());
    drop(idle);

    let cap = capture();
    assert_eq!(repeat_plain("a", "b", Counted(2)), "abb");
    assert_eq!(repeat_destructured(("a", "b"), Counted(2)), "abb");
    assert_eq!(SERIALIZED.load(Ordering::SeqCst), 2, "each input captured once");
    let calls = cap.calls();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call.inputs(), &json!({"first": "a", "second": "b", "times": 2}), "{}", call.op_name());
        assert_eq!(call.output(), &json!("abb"));
    }
}
