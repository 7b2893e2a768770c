use weave::op;

#[op(skip(prompt, api_key))]
fn complete(prompt: &str, client: &str) -> usize {
    prompt.len() + client.len()
}

fn main() {}
