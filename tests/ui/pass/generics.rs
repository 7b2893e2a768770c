//! Generic functions with where-clauses, `impl Trait` arguments and returns, lifetimes.

use std::fmt::{Debug, Display};
use weave::op;

#[op]
fn largest<T>(items: &[T]) -> Option<&T>
where
    T: PartialOrd + Debug,
{
    items.iter().fold(None, |best, x| match best {
        Some(b) if b >= x => Some(b),
        _ => Some(x),
    })
}

#[op]
fn show(value: impl Display) -> String {
    value.to_string()
}

#[op]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[op]
fn words<'a>(text: &'a str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
    Box::new(text.split(' '))
}

#[op]
fn chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
}

#[op]
fn pair<const N: usize, T: Copy + Default>(x: T) -> ([T; N], Vec<impl Display>) {
    ([x; N], vec![1u8])
}

#[op]
fn first_word(text: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Borrowed(text.split(' ').next().unwrap_or_default())
}

#[op]
fn boxed(n: u8) -> Box<impl Display> {
    Box::new(n)
}

struct Wrapper<T>(T);

impl<T: Clone> Wrapper<T> {
    #[op]
    fn get(&self) -> T {
        self.0.clone()
    }
}

fn main() {
    assert_eq!(largest(&[1, 5, 3]), Some(&5));
    assert_eq!(show(4), "4");
    assert_eq!(evens(5).count(), 3);
    assert_eq!(words("a b").count(), 2);
    assert_eq!(chars("ab").count(), 2);
    assert_eq!(pair::<2, u8>(1).0, [1, 1]);
    assert_eq!(first_word("a b"), "a");
    assert_eq!(boxed(2).to_string(), "2");
    assert_eq!(Wrapper(3).get(), 3);
}
