//! [`AppState`]: what the handlers share, the store, and how they read it.

use super::error::ApiError;
use crate::store::Store;
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<Store>,
}

impl AppState {
    /// Runs a read on a blocking thread.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| ApiError::internal(format!("a request's task failed: {e}")))?
    }
}
