//! The Weave trace server as a destination, with the `server` feature; without it, the
//! target type is `Infallible` and the environment is only checked for an API key, so that
//! `init` can say the feature is missing.

pub(crate) use imp::{call_link, default_entity, lookup, open, ServerTarget};

#[cfg(feature = "server")]
mod imp {
    use super::super::choice::ServerLookup;
    use super::super::opened::{CallLink, Destination};
    use weave_core::project::ProjectId;
    use weave_exporter::http::{ServerConfig, WeaveServerSink};
    use weave_exporter::Sink;

    /// The server's configuration.
    pub(crate) type ServerTarget = ServerConfig;

    /// The server the environment names, when an API key is found (`WANDB_API_KEY`, or a
    /// netrc entry for the W&B host).
    pub(crate) fn lookup() -> ServerLookup<ServerConfig> {
        ServerConfig::from_env().map_or(ServerLookup::NoKey, ServerLookup::Found)
    }

    /// The server sink for `project`.
    pub(crate) fn open(server: ServerConfig, project: &str) -> (Box<dyn Sink>, Destination) {
        let description = format!("the Weave trace server at {} (project {project})", server.trace_url);
        let sink = WeaveServerSink::new(server, project.to_string());
        (Box::new(sink), Destination { description, local_store: None, server: true })
    }

    /// Links to root calls in the W&B app.
    pub(crate) fn call_link(server: &ServerConfig, project: &ProjectId) -> CallLink {
        let link = server.clone();
        let (entity, name) = (project.entity().to_string(), project.project().to_string());
        Box::new(move |id| Some(link.call_link(&entity, &name, &id.to_string())))
    }

    /// Asks W&B for the API key's default entity, on a thread of its own (the blocking
    /// HTTP client must not run on an async runtime's thread).
    pub(crate) fn default_entity(server: &ServerConfig) -> Result<String, String> {
        let server = server.clone();
        std::thread::Builder::new()
            .name("weave-init".to_string())
            .spawn(move || weave_exporter::http::default_entity(&server))
            .map_err(|e| format!("could not start a thread: {e}"))?
            .join()
            .unwrap_or_else(|_| Err("the look-up panicked".to_string()))
    }
}

#[cfg(not(feature = "server"))]
mod imp {
    use super::super::choice::ServerLookup;
    use super::super::opened::{CallLink, Destination};
    use std::convert::Infallible;
    use weave_core::project::ProjectId;
    use weave_core::settings::ServerSettings;
    use weave_exporter::Sink;

    /// No server in this build.
    pub(crate) type ServerTarget = Infallible;

    /// `NotCompiled` when `WANDB_API_KEY` is set (netrc files are not read without the
    /// feature).
    pub(crate) fn lookup() -> ServerLookup<Infallible> {
        match ServerSettings::from_env().0.api_key {
            Some(_) => ServerLookup::NotCompiled,
            None => ServerLookup::NoKey,
        }
    }

    pub(crate) fn open(server: Infallible, _project: &str) -> (Box<dyn Sink>, Destination) {
        match server {}
    }

    pub(crate) fn call_link(server: &Infallible, _project: &ProjectId) -> CallLink {
        match *server {}
    }

    pub(crate) fn default_entity(server: &Infallible) -> Result<String, String> {
        match *server {}
    }
}
