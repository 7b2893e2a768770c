//! What `init` keeps of the destination it opened: how the `Weave` guard reports it
//! ([`Destination`]) and, for a server, the link printed for each root call ([`CallLink`]).

use std::path::PathBuf;
use weave_core::ids::Id;

/// A root call's link, printed as `🍩 <link>` (server sinks).
pub(crate) type CallLink = Box<dyn Fn(&Id) -> Option<String> + Send + Sync>;

/// Where calls are written, as the `Weave` guard reports it.
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    /// In words.
    pub(crate) description: String,
    /// The local store's file, when calls go there.
    pub(crate) local_store: Option<PathBuf>,
    /// True for the trace server.
    pub(crate) server: bool,
}

impl Destination {
    /// Calls are not recorded.
    pub(crate) fn disabled() -> Destination {
        Destination::other("nowhere (WEAVE_DISABLED is set)".to_string())
    }

    /// A sink described by `description`.
    pub(crate) fn other(description: String) -> Destination {
        Destination { description, local_store: None, server: false }
    }
}
