use weave::op;

#[op]
fn count(text: &str) -> usize {
    let n: u32 = text;
    n as usize
}

#[op]
fn wrong_tail(text: &str) -> usize {
    text
}

#[op]
async fn wrong_async_tail(text: &str) -> usize {
    text
}

#[derive(Debug)]
struct MyError;

#[op]
fn wrong_question_mark(text: &str) -> Result<u32, MyError> {
    let n: u32 = text.parse()?;
    Ok(n)
}

fn main() {}
