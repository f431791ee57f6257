//! (being written)

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;

use crate::state::AppState;

/// The routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
}

#[derive(OpenApi)]
#[openapi()]
struct Doc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
