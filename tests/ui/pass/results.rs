//! `Result` returns keep `?` working, whatever the alias.

use weave::op;

#[derive(Debug)]
struct AppError(String);

impl From<std::num::ParseIntError> for AppError {
    fn from(e: std::num::ParseIntError) -> Self {
        AppError(e.to_string())
    }
}

#[op]
fn parse(text: &str) -> Result<u32, AppError> {
    let n: u32 = text.trim().parse()?;
    Ok(n * 2)
}

#[op]
fn read(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[op]
fn boxed(text: &str) -> BoxResult<u32> {
    Ok(text.parse::<u32>()?)
}

mod errors {
    pub type Result<T> = std::result::Result<T, String>;
}

#[op]
fn aliased(ok: bool) -> errors::Result<u8> {
    if ok {
        Ok(1)
    } else {
        Err("no".to_string())
    }
}

/// An error with neither `Display` nor `Debug`.
struct Opaque;

#[op]
fn opaque_error() -> Result<(), Opaque> {
    Err(Opaque)
}

fn main() {
    assert_eq!(parse("21").unwrap(), 42);
    assert!(parse("x").unwrap_err().0.contains("invalid digit"));
    assert!(read("/definitely/not/here").is_err());
    assert_eq!(boxed("3").unwrap(), 3);
    assert_eq!(aliased(true), Ok(1));
    assert!(opaque_error().is_err());
}
