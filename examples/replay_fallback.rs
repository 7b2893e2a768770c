//! Replays the fallback file (items that could not be delivered) to where `weave::init`
//! sends calls now: the Weave trace server when `WANDB_API_KEY` (or `~/.netrc`) gives a
//! key, else the local store.
//!
//! Run: `cargo run --example replay_fallback -- [PATH]` (default
//! `./.weave_client_dropped_items_log.jsonl`). Exits with 1 when some items could not be
//! replayed. The file is kept: remove it once everything is replayed.

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| weave::DEFAULT_FALLBACK_PATH.to_string());
    match weave::replay_fallback(&path) {
        Ok(report) => {
            println!(
                "{path}: {} lines, {} replayed, {} skipped (unreadable), {} failed",
                report.lines, report.replayed, report.skipped, report.failed
            );
            if let Some(error) = &report.last_error {
                eprintln!("last error: {error}");
            }
            if report.failed > 0 {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("weave: {e}");
            std::process::exit(2);
        }
    }
}
