//! The `weave` command line: `ui`, `calls`, `tree`, `evals` and `compare`.

mod calls;
mod compare;
mod error;
mod evals;
mod output;
mod tree;
mod ui;

pub use error::CliError;
pub use output::Format;

use crate::store::{self, Store};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// `weave`: look at the traces and evaluations in a weave-rs local store.
#[derive(Debug, Parser)]
#[command(name = "weave", version, about, long_about = None)]
pub struct Cli {
    /// The local store [default: $WEAVE_LOCAL_STORE_PATH, else .weave/weave.db]
    #[arg(long, global = true, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// At most this many entries of the call log (one exporter batch each) indexed before a
    /// command answers [default: as many as 5 seconds allow]; what is left is indexed by
    /// the next command, and stderr says how far the indexing is
    #[arg(long, global = true, value_name = "ENTRIES")]
    pub index_entries: Option<usize>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web viewer on 127.0.0.1 and print its URL
    Ui(ui::UiArgs),
    /// List calls (newest first), filtered
    Calls(calls::CallsArgs),
    /// Print a trace's call tree
    Tree(tree::TreeArgs),
    /// List evaluation runs (newest first)
    Evals(evals::EvalsArgs),
    /// Compare evaluation runs: summary metrics side by side, and their rows
    Compare(compare::CompareArgs),
}

/// Opens the store the command line names (`--store`, else `WEAVE_LOCAL_STORE_PATH`,
/// else `.weave/weave.db`), the calls logged since the last command indexed within
/// [`store::COMMAND_INDEX_BUDGET`], or `index_entries` of the log.
pub fn open_store(given: Option<&std::path::Path>, index_entries: Option<usize>) -> Result<Store, CliError> {
    let path = store::resolve_path(given);
    let mut budget = store::COMMAND_INDEX_BUDGET;
    if let Some(entries) = index_entries {
        budget.max_entries = entries;
    }
    Ok(Store::open_indexing(path, budget)?)
}

/// Runs a parsed command line, writing to stdout. A one-shot command on a store with
/// calls not indexed yet says so on stderr, after its output.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let store_path = cli.store.as_deref();
    if let Command::Ui(args) = &cli.command {
        return ui::run(store_path, args);
    }
    let store = open_store(store_path, cli.index_entries)?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Ui(_) => Ok(()), // served above
        Command::Calls(args) => calls::run(&store, &args, &mut out),
        Command::Tree(args) => tree::run(&store, &args, &mut out),
        Command::Evals(args) => evals::run(&store, &args, &mut out),
        Command::Compare(args) => compare::run(&store, &args, &mut out),
    }?;
    if let Some(note) = store.indexing_note()? {
        eprintln!("weave: {note} (run the command again to index more)");
    }
    Ok(())
}
