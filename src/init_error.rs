//! Why `weave::init` failed: [`InitError`], made by `init` and by the destination it opens.

use weave_core::project::InvalidProject;

/// Why `init` failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// The project name is not `entity/project` or `project`.
    InvalidProject(InvalidProject),
    /// No project was given and `WEAVE_PROJECT` is not set.
    NoProject,
    /// The sink could not be opened (e.g. the local store's file).
    Sink {
        /// What was being opened.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// The project has no entity and the W&B server could not say the default one.
    DefaultEntity(String),
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::InvalidProject(e) => e.fmt(f),
            InitError::NoProject => {
                f.write_str("no Weave project: pass one to weave::init(\"entity/project\") or set WEAVE_PROJECT")
            }
            InitError::Sink { what, reason } => write!(f, "could not open {what}: {reason}"),
            InitError::DefaultEntity(reason) => write!(
                f,
                "could not find the default W&B entity ({reason}); name the project \"entity/project\" or set WANDB_ENTITY"
            ),
        }
    }
}

impl std::error::Error for InitError {}
