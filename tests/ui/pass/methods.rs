//! Methods with every receiver, associated functions, and a method returning a reference
//! into `self`.

use weave::op;

#[derive(Debug, Default, Clone)]
pub struct Memory {
    items: Vec<String>,
}

impl Memory {
    #[op]
    pub fn new() -> Self {
        Memory::default()
    }

    #[op]
    pub fn with_capacity(n: usize) -> Memory {
        Memory { items: Vec::with_capacity(n) }
    }

    #[op]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[op]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[op]
    pub fn push(&mut self, item: String) {
        self.items.push(item);
    }

    #[op]
    pub fn items_mut(&mut self) -> &mut Vec<String> {
        &mut self.items
    }

    #[op]
    pub fn first(&self) -> Option<&String> {
        self.items.first()
    }

    #[op]
    pub fn into_items(self) -> Vec<String> {
        self.items
    }

    #[op]
    pub fn rename(mut self, item: String) -> Self {
        self.items.push(item);
        self
    }

    #[op]
    #[allow(clippy::boxed_local)]
    pub fn boxed(self: Box<Self>) -> usize {
        self.items.len()
    }

    #[op]
    pub async fn len_async(&self) -> usize {
        self.items.len()
    }

    #[op]
    pub async fn push_async(&mut self, item: String) -> &mut Self {
        self.items.push(item);
        self
    }
}

fn main() {
    let mut memory = Memory::new();
    memory.push("a".into());
    memory.items_mut().push("b".into());
    assert_eq!(memory.len(), 2);
    assert!(!memory.is_empty());
    assert_eq!(memory.first().map(String::as_str), Some("a"));
    let memory = memory.rename("c".into());
    assert_eq!(Box::new(memory.clone()).boxed(), 3);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut copy = memory.clone();
    assert_eq!(rt.block_on(copy.push_async("d".into())).len(), 4);
    assert_eq!(rt.block_on(memory.len_async()), 3);
    assert_eq!(memory.into_items(), ["a", "b", "c"]);
    assert_eq!(Memory::with_capacity(4).len(), 0);
}
