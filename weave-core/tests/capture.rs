//! Allocation behaviour of value capture. A separate test binary because it
//! installs a counting global allocator.

// Autoref specialization needs the "needless" borrows.
#![allow(clippy::needless_borrow)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use weave_core::capture::{
    capture_inputs, capture_value, Capture, CaptureConfig, CaptureViaDebug, CaptureViaPrimitive, CaptureViaSerialize,
};

/// Counts allocations made by the current thread (so tests running in
/// parallel do not disturb each other).
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to the system allocator; the only
// addition is a counter in a `const`-initialized thread-local (which does
// not allocate, so there is no recursion).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn inputs_capture_allocates_only_the_result() {
    let cfg = CaptureConfig::default();
    let n: u64 = 42;
    let s: &str = "hello \"world\"";
    let run = || {
        let raw = capture_inputs(&cfg, |i| {
            i.arg("n", |w| (&&&&Capture(&n)).weave_capture(w));
            i.arg("s", |w| (&&&&Capture(&s)).weave_capture(w));
        });
        assert_eq!(raw.as_str(), r#"{"n":42,"s":"hello \"world\""}"#);
        drop(raw);
    };
    run(); // warms the thread-local buffer
    assert_eq!(allocations(run), 0, "small captures are stored inline");
    let long = "x".repeat(200);
    let run_long = || {
        let raw = capture_inputs(&cfg, |i| i.arg("s", |w| (&&&&Capture(&long)).weave_capture(w)));
        assert_eq!(raw.as_str().len(), 208);
    };
    run_long();
    assert_eq!(allocations(run_long), 1, "only the final Box<str>");
}

#[test]
fn value_capture_allocates_only_the_result() {
    #[derive(serde::Serialize)]
    struct Msg<'a> {
        role: &'a str,
        content: &'a str,
        tokens: Vec<u32>,
        score: f64,
    }
    let cfg = CaptureConfig::default();
    let m = Msg { role: "user", content: "hi", tokens: vec![1, 2, 3], score: 0.5 };
    let run = || drop(capture_value(&cfg, |w| (&&&&Capture(&m)).weave_capture(w)));
    run();
    assert_eq!(allocations(run), 1, "over the inline size: only the final Box<str>");
    #[derive(Debug)]
    struct D(#[allow(dead_code)] u8);
    let run = || drop(capture_value(&cfg, |w| (&&&&Capture(&D(1))).weave_capture(w)));
    run();
    assert_eq!(allocations(run), 0, "a short Debug text is stored inline");
}
