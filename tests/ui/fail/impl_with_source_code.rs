use serde::Serialize;
use weave::eval::{BoxError, Model, Row};

#[derive(Serialize)]
struct QaModel;

#[weave::op]
impl Model for QaModel {
    type Output = String;

    async fn predict(&self, _input: &Row) -> Result<String, BoxError> {
        Ok(String::new())
    }

    fn source_code(&self) -> Option<&'static str> {
        Some("mine")
    }
}

fn main() {}
