//! Free functions, with the attributes they carry kept as written.

use weave::op;

/// Adds two numbers.
#[op]
#[inline]
#[must_use]
pub fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[op]
fn nothing() {}

#[op]
#[allow(clippy::needless_return)]
fn early(n: u8) -> u8 {
    if n > 3 {
        return 3;
    }
    n
}

#[op]
fn inner_attributes() -> u8 {
    #![allow(unused_variables)]
    let unused = 1;
    2
}

#[op]
unsafe fn read(p: *const u8) -> u8 {
    *p
}

#[op]
fn diverges() -> ! {
    panic!("never returns")
}

#[weave::op]
fn with_path_attribute(r#type: &str) -> usize {
    r#type.len()
}

fn main() {
    assert_eq!(add(1, 2), 3);
    nothing();
    assert_eq!(early(9), 3);
    assert_eq!(inner_attributes(), 2);
    assert_eq!(unsafe { read(&7) }, 7);
    assert_eq!(with_path_attribute("abc"), 3);
    let _ = diverges as fn() -> !;
}
