//! (being written)

use std::sync::Arc;

use axum::Router;

use crate::state::AppState;

/// The routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
}
