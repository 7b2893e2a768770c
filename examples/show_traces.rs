//! Prints the latest traces recorded in the local store as trees.
//!
//! Run: `cargo run --example show_traces [N]` (N traces, default 3). The store is
//! `WEAVE_LOCAL_STORE_PATH`, else `.weave/weave.db`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(3);
    let path = std::env::var("WEAVE_LOCAL_STORE_PATH").unwrap_or_else(|_| ".weave/weave.db".to_string());
    if !std::path::Path::new(&path).exists() {
        println!("no local store at {path}: run `cargo run --example quickstart` first");
        return Ok(());
    }
    let store = weave::store::LocalStore::open(&path)?;
    let mut roots = store.calls(&weave::store::CallQuery { roots_only: true, ..Default::default() })?;
    roots.sort_by_key(|c| std::cmp::Reverse(c.started_at));
    for root in roots.into_iter().take(count) {
        println!("trace {} in {} (started {})", root.trace_id, root.project_id, root.started_at);
        print!("{}", store.render_tree(&root.trace_id)?);
        println!();
    }
    Ok(())
}
