//! `#[weave_macros::keep_source(NAME)]`, as weave-eval's built-in ops use it: the item is
//! kept as written and `NAME` holds its source text, comments included, without the
//! attribute's own line; on a method, `NAME` is an associated constant of its impl block
//! (lifetimes of the block included).

/// Adds two numbers.
#[weave_macros::keep_source(ADD_SOURCE)]
fn add(a: u32, b: u32) -> u32 {
    // A comment inside the function.
    a + b
}

struct Counter(u32);

mod nested {
    use super::Counter;

    #[weave_macros::keep_source(COUNTER_SOURCE)]
    impl Counter {
        /* Counts up. */
        pub(crate) fn bump(&mut self) -> u32 {
            self.0 += 1;
            self.0
        }
    }

    pub(crate) fn counter_source() -> &'static str {
        COUNTER_SOURCE
    }
}

#[test]
fn the_constant_holds_the_functions_text() {
    assert_eq!(add(2, 3), 5);
    assert_eq!(
        ADD_SOURCE,
        "/// Adds two numbers.\n\
         fn add(a: u32, b: u32) -> u32 {\n    \
             // A comment inside the function.\n    \
             a + b\n\
         }\n"
    );
}

#[test]
fn the_constant_holds_the_impl_blocks_text_dedented() {
    let mut counter = Counter(0);
    assert_eq!(counter.bump(), 1);
    assert_eq!(
        nested::counter_source(),
        "impl Counter {\n    \
             /* Counts up. */\n    \
             pub(crate) fn bump(&mut self) -> u32 {\n        \
                 self.0 += 1;\n        \
                 self.0\n    \
             }\n\
         }\n"
    );
}

struct Borrowed<'a>(&'a str);

impl<'a> Borrowed<'a> {
    #[weave_macros::keep_source(LEN_SOURCE)]
    fn len(&self) -> usize {
        self.0.len()
    }
}

#[test]
fn on_a_method_the_constant_belongs_to_its_impl_block_lifetimes_included() {
    assert_eq!(Borrowed("ab").len(), 2);
    assert_eq!(Borrowed::LEN_SOURCE, "fn len(&self) -> usize {\n    self.0.len()\n}\n");
}
