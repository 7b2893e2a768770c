//! What the code `#[op]` generates hands the runtime, seen through a spy runtime reached
//! with `crate = "..."`: the static description of the op (source text, line, flags), the
//! `Self` type of a method, and whether a call is started at all.

use weave::op;

mod spy {
    pub mod __private_0_1_0 {
        use std::cell::{Cell, RefCell};
        pub use weave::__private_0_1_0::{
            call_out_of_line, type_name_of, CallEnding, Capture, CaptureViaDebug, CaptureViaPrimitive,
            CaptureViaSerialize, CaptureViaTypeName, ErrorViaDebug, ErrorViaDisplay, ErrorViaError, ErrorViaTypeName,
            InputsWriter, OpStatic,
        };

        pub struct OpSite(pub OpStatic);

        impl OpSite {
            pub const fn new(info: OpStatic) -> OpSite {
                OpSite(info)
            }
        }

        thread_local! {
            pub static SEEN: RefCell<Vec<(&'static OpStatic, Option<&'static str>)>> = const { RefCell::new(Vec::new()) };
            /// The spy's switch: recording on (the default) or off.
            pub static ENABLED: Cell<bool> = const { Cell::new(true) };
        }

        /// The spy records every call, unless its switch is turned off.
        pub fn is_enabled() -> bool {
            ENABLED.with(Cell::get)
        }

        pub struct Spied;

        impl Spied {
            pub fn finish<R: ?Sized>(self, _out: &R, _f: impl FnOnce(&mut CallEnding<'_>, &R)) {}
        }

        pub fn start_call(
            site: &'static OpSite,
            self_type: Option<fn() -> &'static str>,
            _inputs: impl FnOnce(&mut InputsWriter<'_>),
        ) -> Spied {
            SEEN.with(|s| s.borrow_mut().push((&site.0, self_type.map(|f| f()))));
            Spied
        }
    }

    pub fn take() -> Vec<(&'static weave::__private_0_1_0::OpStatic, Option<&'static str>)> {
        __private_0_1_0::SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }
}

const SPIED_LINE: u32 = line!() + 1;
/// Doubles a number.
#[op(crate = "spy", kind = "tool")]
fn spied(n: u32) -> u32 {
    // Comments are part of the captured source.
    n * 2
}

struct Spiedy;

impl Spiedy {
    #[op(crate = "spy", capture_code = false, sample_rate = 0.5, eager_call_start = true)]
    fn method(&self) -> u8 {
        1
    }
}

#[test]
fn op_static_holds_source_with_comments_and_the_first_line() {
    assert_eq!(spied(2), 4);
    let seen = spy::take();
    let (info, self_type) = seen[0];
    assert_eq!(self_type, None);
    assert_eq!(info.name, "spied");
    assert!(!info.name_is_explicit && !info.is_method && !info.is_async);
    assert_eq!(info.line, SPIED_LINE);
    assert_eq!(info.file, file!());
    assert_eq!(info.module_path, module_path!());
    assert_eq!(info.kind, Some("tool"));
    assert_eq!(
        info.source,
        "/// Doubles a number.\n\
         #[op(crate = \"spy\", kind = \"tool\")]\n\
         fn spied(n: u32) -> u32 {\n    \
             // Comments are part of the captured source.\n    \
             n * 2\n\
         }\n"
    );
    assert!(info.capture_code);
    assert_eq!(info.sample_rate, 1.0);
}

#[test]
fn op_static_of_a_method_is_dedented_and_carries_the_options() {
    assert_eq!(Spiedy.method(), 1);
    let seen = spy::take();
    let (info, self_type) = seen[0];
    assert!(self_type.unwrap().ends_with("Spiedy"));
    assert!(info.is_method);
    assert!(!info.capture_code && info.eager_call_start);
    assert_eq!(info.sample_rate, 0.5);
    assert!(info.source.starts_with("#[op(crate = \"spy\""), "{}", info.source);
    assert!(info.source.contains("\nfn method(&self) -> u8 {\n    1\n}\n"), "{}", info.source);
}

/// Turns the spy's switch off until dropped.
struct SwitchOff;

impl SwitchOff {
    fn new() -> SwitchOff {
        spy::__private_0_1_0::ENABLED.with(|on| on.set(false));
        SwitchOff
    }
}

impl Drop for SwitchOff {
    fn drop(&mut self) {
        spy::__private_0_1_0::ENABLED.with(|on| on.set(true));
    }
}

#[test]
fn with_the_switch_off_an_op_of_plain_parameters_runs_its_body_without_starting_a_call() {
    // Functions and `&self` methods whose parameters are plain names check the switch
    // before anything else: off, they cost the check and the body, as a plain function would.
    spy::take();
    let off = SwitchOff::new();
    assert_eq!(spied(3), 6);
    assert_eq!(Spiedy.method(), 1);
    assert!(spy::take().is_empty(), "no call started");
    drop(off);
    assert_eq!(spied(3), 6);
    assert_eq!(Spiedy.method(), 1);
    assert_eq!(spy::take().len(), 2, "switched on, both calls start");
}
