//! The local store as a destination, with the `local-store` feature; without it, the
//! target type is `Infallible` and no file is ever the local store's.

pub(crate) use imp::{open, target, StoreTarget};

#[cfg(feature = "local-store")]
mod imp {
    use super::super::opened::Destination;
    use crate::init_error::InitError;
    use std::path::PathBuf;
    use weave_exporter::local_store::LocalStore;
    use weave_exporter::Sink;

    /// The store's file.
    pub(crate) type StoreTarget = PathBuf;

    /// The local store at `path`.
    pub(crate) fn target(path: PathBuf) -> Option<PathBuf> {
        Some(path)
    }

    /// Opens (creates) the store at `path` for `project`.
    pub(crate) fn open(path: PathBuf, project: &str) -> Result<(Box<dyn Sink>, Destination), InitError> {
        let store = LocalStore::create(&path, project).map_err(|e| InitError::Sink {
            what: format!("the local store {}", path.display()),
            reason: e.to_string(),
        })?;
        let description = format!("the local store {}", path.display());
        Ok((Box::new(store), Destination { description, local_store: Some(path), server: false }))
    }
}

#[cfg(not(feature = "local-store"))]
mod imp {
    use super::super::opened::Destination;
    use crate::init_error::InitError;
    use std::convert::Infallible;
    use std::path::PathBuf;
    use weave_exporter::Sink;

    /// No local store in this build.
    pub(crate) type StoreTarget = Infallible;

    /// Never a local store.
    pub(crate) fn target(_path: PathBuf) -> Option<Infallible> {
        None
    }

    pub(crate) fn open(store: Infallible, _project: &str) -> Result<(Box<dyn Sink>, Destination), InitError> {
        match store {}
    }
}
