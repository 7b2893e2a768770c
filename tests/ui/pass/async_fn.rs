//! `async fn` ops: the future keeps its output type and stays `Send`.

use weave::op;

#[op]
async fn fetch(url: String) -> usize {
    tokio::task::yield_now().await;
    url.len()
}

#[op]
pub async fn fan_out(urls: Vec<String>) -> usize {
    let mut total = 0;
    for url in urls {
        total += fetch(url).await;
    }
    total
}

#[op]
async fn nothing() {}

#[op]
async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = text.parse()?;
    Ok(n)
}

#[op]
async fn displayable() -> impl std::fmt::Display {
    5
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    assert_send(fetch(String::new()));
    assert_send(fan_out(Vec::new()));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(fan_out(vec!["a".into(), "bc".into()])), 3);
    rt.block_on(nothing());
    assert_eq!(rt.block_on(parse("12")), Ok(12));
    assert!(rt.block_on(parse("x")).is_err());
    assert_eq!(rt.block_on(displayable()).to_string(), "5");
}
