//! The code `#[op]` generates adds no warning to the function as written: a parameter the
//! op records counts as used (the trace uses it), and a `mut` parameter is mutable where
//! the body changes it, with no `unused_mut` where the op only passes it on.

#![deny(unused)]

use weave::op;

#[op]
fn kept_for_the_trace(question: &str) -> u8 {
    1
}

#[op]
fn appended(count: u64, mut text: String) -> usize {
    text.push('!');
    count as usize + text.len()
}

#[op]
fn patterns((mut n, m): (u8, u8)) -> u8 {
    n += m;
    n
}

#[op]
async fn pushed(mut bytes: Vec<u8>) -> usize {
    bytes.push(1);
    bytes.len()
}

struct Counter(u64);

impl Counter {
    #[op]
    fn add(&self, by: u64) -> u64 {
        self.0 + by
    }
}

fn main() {
    assert_eq!(kept_for_the_trace("why?"), 1);
    assert_eq!(appended(1, "ab".into()), 4);
    assert_eq!(patterns((1, 2)), 3);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(pushed(vec![0])), 2);
    assert_eq!(Counter(1).add(2), 3);
}
