//! The `weave` binary: see [`weave_cli::cli`].

use clap::Parser;

fn main() {
    let cli = weave_cli::cli::Cli::parse();
    if let Err(e) = weave_cli::cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(e.code);
    }
}
