struct Echo;

#[weave::op]
impl std::fmt::Display for Echo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Echo")
    }
}

fn main() {}
