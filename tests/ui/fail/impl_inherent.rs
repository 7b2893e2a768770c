struct Agent;

#[weave::op]
impl Agent {
    fn step(&self) -> u8 {
        1
    }
}

fn main() {}
