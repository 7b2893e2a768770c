//! Methods in trait impls, native `async fn` in traits, default trait methods.

use weave::op;

trait Tool {
    fn name(&self) -> String;

    async fn run(&self, input: String) -> String;

    #[op]
    fn describe(&self) -> String {
        format!("tool {}", self.name())
    }
}

struct Echo;

impl Tool for Echo {
    #[op]
    fn name(&self) -> String {
        "echo".into()
    }

    #[op]
    async fn run(&self, input: String) -> String {
        input
    }
}

impl std::fmt::Display for Echo {
    #[op]
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Echo")
    }
}

fn main() {
    assert_eq!(Echo.name(), "echo");
    assert_eq!(Echo.describe(), "tool echo");
    assert_eq!(Echo.to_string(), "Echo");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(Echo.run("hi".into())), "hi");
}
