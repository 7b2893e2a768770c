//! Destructured, `mut`, `ref` and `_` parameters.

use weave::op;

struct Point {
    x: i32,
    y: i32,
}

#[op]
fn tuple((a, b): (u8, u8)) -> u8 {
    a + b
}

#[op]
fn structure(Point { x, y: height }: Point) -> i32 {
    x + height
}

#[op]
fn mutable(mut list: Vec<u8>, (mut n, m): (u8, u8)) -> Vec<u8> {
    n += m;
    list.push(n);
    list
}

#[op]
fn ignored(_: u8, _unused: u8, [first, ..]: [u8; 3]) -> u8 {
    first
}

#[op]
#[allow(clippy::toplevel_ref_arg)]
fn by_ref(ref text: String) -> usize {
    text.len()
}

#[op]
async fn async_patterns(mut list: Vec<u8>, (mut n, _): (u8, u8), _: String) -> Vec<u8> {
    n += 1;
    list.push(n);
    list
}

fn main() {
    assert_eq!(tuple((1, 2)), 3);
    assert_eq!(structure(Point { x: 1, y: 2 }), 3);
    assert_eq!(mutable(vec![], (1, 2)), [3]);
    assert_eq!(ignored(0, 0, [4, 5, 6]), 4);
    assert_eq!(by_ref("ab".into()), 2);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(async_patterns(vec![], (1, 2), String::new())), [2]);
}
