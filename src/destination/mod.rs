//! Where calls go when code gives no sink: the choice (`choice`, pure), and the sink opened
//! for it, with what `init` keeps of it (`opened`). The trace server (`server`) and the
//! local store (`local_store`) are compiled in with their cargo features; without one, its
//! target type is `Infallible`, so the code here has no feature switches of its own.

mod choice;
mod local_store;
mod opened;
mod server;

use crate::init_error::InitError;
use std::path::Path;
use weave_core::settings::Settings;
use weave_exporter::{JsonlSink, Sink};

pub(crate) use choice::Choice;
pub(crate) use opened::{CallLink, Destination};
pub(crate) use server::default_entity;

/// Where calls go in this build: the trace server's configuration (`server` feature), the
/// local store's file (`local-store` feature), or a JSON lines file.
pub(crate) type Target = Choice<server::ServerTarget, local_store::StoreTarget>;

/// Where the settings (the environment applied) and the environment send calls. A sink
/// asked for whose feature is off is reported on stderr, naming the feature.
pub(crate) fn from_env(settings: &Settings) -> Target {
    let (target, missing) = choice::choose(settings, local_store::target, server::lookup);
    if let Some(missing) = missing {
        weave_core::warn!("{missing}");
    }
    target
}

/// The link to a root call, when `target` is a server.
pub(crate) fn call_link(target: &Target, project: &weave_core::project::ProjectId) -> Option<CallLink> {
    match target {
        Choice::Server(server) => Some(server::call_link(server, project)),
        Choice::LocalStore(_) | Choice::Jsonl(_) => None,
    }
}

/// Opens the sink for `target`, writing into `project` (`entity/project`).
pub(crate) fn open(target: Target, project: &str) -> Result<(Box<dyn Sink>, Destination), InitError> {
    match target {
        Choice::Server(server) => Ok(server::open(server, project)),
        Choice::LocalStore(store) => local_store::open(store, project),
        Choice::Jsonl(path) => open_jsonl(&path, project),
    }
}

fn open_jsonl(path: &Path, project: &str) -> Result<(Box<dyn Sink>, Destination), InitError> {
    let sink = if path.as_os_str() == "-" {
        JsonlSink::stdout(project)
    } else {
        JsonlSink::file(path, project).map_err(|e| InitError::Sink {
            what: format!("the JSONL file {}", path.display()),
            reason: e.to_string(),
        })?
    };
    Ok((Box::new(sink), Destination::other(format!("JSON lines in {}", path.display()))))
}
