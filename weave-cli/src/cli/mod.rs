//! The `weave` command line: `ui`, `calls`, `tree`, `evals` and `compare`.

mod calls;
mod compare;
mod evals;
mod output;
mod tree;
mod ui;

use crate::store::{self, Store};
use clap::{Parser, Subcommand, ValueEnum};
use std::fmt;
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

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns, for people.
    #[default]
    Table,
    /// JSON, for scripts.
    Json,
    /// CSV with a header line.
    Csv,
}

/// Why a command failed: a message for stderr and the exit code.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong.
    pub message: String,
    /// The process's exit code.
    pub code: i32,
}

impl CliError {
    /// An error with exit code 1.
    pub fn new(message: impl Into<String>) -> CliError {
        CliError { message: message.into(), code: 1 }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError { message: message.into(), code: 2 }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<store::Error> for CliError {
    fn from(e: store::Error) -> Self {
        CliError::new(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new(format!("could not write the output: {e}"))
    }
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
