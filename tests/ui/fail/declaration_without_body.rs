use weave::op;

trait Tool {
    #[op]
    fn run(&self, input: &str) -> String;
}

fn main() {}
